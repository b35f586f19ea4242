package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/web"
)

// readmeListener is the one-line listener the README's embed section
// gives course pages: it sizes each seqd iframe to the height it posts.
func readmeListener(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^<script>addEventListener\('message'.*</script>$`).Find(b)
	if m == nil {
		t.Fatal("README.md has no one-line <script>addEventListener('message', …)</script> listener for embeds")
	}
	return string(m)
}

// TestEmbedBrowserSizesToItsContent puts two embeds of a finished session
// (one with code=1) and a <seq-diagram session=… server=…> on a course
// page served from another origin, with the README's listener: each
// iframe's height follows what it shows (the height the same embed has
// alone in a window as wide), and the element draws the session from the
// default server (CORS for reading).
func TestEmbedBrowserSizesToItsContent(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario": "serviceclient"}`)
	rec := waitDone(t, ts.URL, id)
	page := `<!doctype html><html lang="en"><meta charset="utf-8"><title>Week 9</title>
<style>body { margin: 0; } iframe { display: block; width: 100%; border: 0; }</style>
<main><h1>Week 9: sockets</h1>
<iframe id="plain" src="` + ts.URL + `/embed/s/` + id + `" title="seqd: serviceclient"></iframe>
<iframe id="code" src="` + ts.URL + `/embed/s/` + id + `?code=1&theme=dark" title="seqd: serviceclient with its code"></iframe>
<script type="module" src="` + ts.URL + `/seq-diagram.js"></script>
<seq-diagram session="` + id + `" server="` + ts.URL + `"></seq-diagram>
</main>
` + readmeListener(t)
	course := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	t.Cleanup(course.Close)

	const width = 900
	// Tall enough that every frame is in view (Chromium throttles the
	// rendering of cross-origin frames out of view until scrolled to).
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 4000), chromedp.Navigate(course.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// The element draws the session from the other origin.
	d := waitDrawn(t, tab, id)
	checkDrawing(t, d, rec)

	// Each frame's height settles (the same twice, 300 ms apart).
	type heights struct {
		Plain int `json:"plain"`
		Code  int `json:"code"`
	}
	read := `({plain: document.getElementById('plain').getBoundingClientRect().height | 0, code: document.getElementById('code').getBoundingClientRect().height | 0})`
	var got heights
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err := chromedp.Run(tab, chromedp.Evaluate[heights](read))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		b, err := chromedp.Run(tab, chromedp.Evaluate[heights](read))
		if err != nil {
			t.Fatal(err)
		}
		if a == b && a.Plain > 200 && a.Code > 200 {
			got = a
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the frames' heights never settled: %+v then %+v", a, b)
		}
	}

	// Alone in a window as wide, each embed is as tall as its frame became.
	alone, cancel := chromedp.NewContext(tab)
	defer cancel()
	for name, path := range map[string]string{"plain": "/embed/s/" + id, "code": "/embed/s/" + id + "?code=1&theme=dark"} {
		// In a dark OS: an embed takes the theme it is given, light by default.
		if err := chromedp.Do(alone, chromedp.EmulateViewport(width, 3000), colorScheme("dark"), chromedp.Navigate(ts.URL+path)); err != nil {
			t.Fatal(err)
		}
		waitDrawn(t, alone, id)
		if err := chromedp.Do(alone, chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		h, err := chromedp.Run(alone, chromedp.Evaluate[int](`Math.ceil(document.body.getBoundingClientRect().height)`))
		if err != nil {
			t.Fatal(err)
		}
		// theme=dark reaches the element; the default is light.
		theme, err := chromedp.Run(alone, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('seq-diagram')).getPropertyValue('--seq-bg').trim()`))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"plain": "#ffffff", "code": "#0d1117"}[name]; theme != want {
			t.Errorf("the %s embed's background is %q; want %q", name, theme, want)
		}
		page, err := chromedp.Run(alone, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"plain": "rgb(255, 255, 255)", "code": "rgb(13, 17, 23)"}[name]; page != want {
			t.Errorf("the %s embed's page background is %q; want %q", name, page, want)
		}
		framed := map[string]int{"plain": got.Plain, "code": got.Code}[name]
		if d := framed - h; d < -2 || d > 2 {
			t.Errorf("the %s embed's frame is %d px tall; its content is %d px", name, framed, h)
		}
	}
	if got.Code <= got.Plain {
		t.Errorf("the frame with the code pane is %d px, the one without %d px; want it taller: the height follows the content", got.Code, got.Plain)
	}

}

// TestEmbedBrowserCopiedSnippet reads the main page's "Copy embed code"
// snippet for a finished session: it must carry the README's listener
// (so, pasted whole, the iframe follows its content), and its iframe's
// height alone must hold the embed's first screen, for a course site that
// strips scripts.
func TestEmbedBrowserCopiedSnippet(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario": "serviceclient"}`)
	waitDone(t, ts.URL, id)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
	snippet := evalJS[string](t, tab, `document.getElementById('embed-code').value`)
	if !strings.Contains(snippet, readmeListener(t)) {
		t.Errorf("the copied embed code %q lacks the README's listener; pasted, its iframe would not follow its content", snippet)
	}
	m := regexp.MustCompile(`<iframe [^>]*height="(\d+)"`).FindStringSubmatch(snippet)
	if m == nil {
		t.Fatalf("the copied embed code %q has no iframe height", snippet)
	}
	fallback, _ := strconv.Atoi(m[1])
	// The embed's own height, alone in a frame as wide as a course page's column.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(900, 2000), chromedp.Navigate(ts.URL+"/embed/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
	need := evalJS[int](t, tab, `Math.ceil(document.body.getBoundingClientRect().height)`)
	if fallback < need {
		t.Errorf("the copied iframe is %d px tall; the embed needs %d px for its first screen (a course site without the script cuts it)", fallback, need)
	}
}

// TestEmbedBrowserElementNotAllowedToStart puts <seq-diagram scenario=…>
// on a course page whose origin the server does not allow to start
// sessions: the element must say why and what the operator can do, with
// no empty toolbar, drawing or transcript under it.
func TestEmbedBrowserElementNotAllowedToStart(t *testing.T) {
	ts := newTestServer(t, web.Config{AllowedOrigins: []string{"https://course.example.edu"}})
	tab := newTab(t)
	course := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Week 9</title><main><h1>Week 9</h1>
<script type="module" src="` + ts.URL + `/seq-diagram.js"></script>
<seq-diagram scenario="echo" server="` + ts.URL + `"></seq-diagram></main>`))
	}))
	t.Cleanup(course.Close)
	if err := chromedp.Do(tab, chromedp.Navigate(course.URL+"/")); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Message string
		Shown   []string
	}
	s, err := chromedp.Run(tab, chromedp.Poll[seen](`(() => { const r = document.querySelector('seq-diagram')?.shadowRoot, m = r?.querySelector('.message');
	  return m && !m.hidden && m.textContent.includes('Could not start') ? {message: m.textContent,
	    shown: ['.toolbar', '.stage', '.transcript-box'].filter((sel) => r.querySelector(sel).checkVisibility())} : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the element never said it could not start the session: %v", err)
	}
	if !strings.Contains(s.Message, "-allow-origins "+course.URL) {
		t.Errorf("the element says %q; want the reason, naming -allow-origins %s", s.Message, course.URL)
	}
	if len(s.Shown) > 0 {
		t.Errorf("with no session, the element still shows %v; want only its message", s.Shown)
	}
}

// TestEmbedBrowserBarOnAPhone opens an embed in a phone's width: its
// status says the session on a line across the frame, under Replay and
// the link (between them it was squeezed into a column a word wide, five
// lines tall).
func TestEmbedBrowserBarOnAPhone(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":2}}`)
	waitDone(t, ts.URL, id)
	setView(t, tab, legibleView{"390x844-light", 390, 844, true, "light"})
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/embed/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
	box, err := chromedp.Run(tab, chromedp.Poll[[]float64](`(() => { const s = document.getElementById('status'); if (!/done/.test(s.textContent)) return null;
	  const b = s.getBoundingClientRect(); return [b.width, b.height, parseFloat(getComputedStyle(s).lineHeight) || 20, innerWidth]; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if w, h, line, win := box[0], box[1], box[2], box[3]; w < win*0.8 || h > 2*line+1 {
		t.Errorf("the embed's status is %.0f px wide and %.0f px tall in a %.0f px frame; want it across the frame, a line or two", w, h, win)
	}
}
