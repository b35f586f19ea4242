package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"seqd/internal/testneed"
	"seqd/web"
)

// axeSource reads axe-core (npm axe-core's axe.min.js) from SEQD_AXE_JS,
// by default where the development machine keeps it. Without it the test
// skips, saying so, unless SEQD_REQUIRE_BROWSER is set, when it fails.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("SEQD_AXE_JS")
	if path == "" {
		path = "/tmp/npmtools/node_modules/axe-core/axe.min.js"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		testneed.Missing(t, "SEQD_REQUIRE_BROWSER", fmt.Sprintf("axe-core not found at %s (npm install axe-core; SEQD_AXE_JS names axe.min.js): %v", path, err))
	}
	return string(b)
}

// axeViolation is one rule axe found broken, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
	Summary string   `json:"summary"`
}

// runAxe loads axe into the page (once) and runs every rule it runs by
// default, colour contrast included, over the whole document, shadow
// roots too.
func runAxe(t *testing.T, tab context.Context, axe string) []axeViolation {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`window.axe ? undefined : (0, eval)(`+jsonString(axe)+`)`)); err != nil {
		t.Fatalf("loading axe: %v", err)
	}
	const run = `axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations.map((v) => ({
	  id: v.id, impact: v.impact || '', help: v.help,
	  targets: v.nodes.slice(0, 6).map((n) => JSON.stringify(n.target)),
	  summary: v.nodes.slice(0, 3).map((n) => n.failureSummary).join(' | ').slice(0, 600)})))`
	out, err := chromedp.Run(tab, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe: %v", err)
	}
	return out
}

// TestA11yBrowserAxe runs axe-core, light and dark, on the five pages
// issue 12 names: the home page, a finished session, a session in step
// mode with a question showing, an embed, and a course page with three
// <seq-diagram> elements; it requires zero violations. It also checks
// that the diagram is one Tab stop and takes the focus when a scenario
// starts.
func TestA11yBrowserAxe(t *testing.T) {
	axe := axeSource(t)
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	done := createSession(t, ts.URL, `{"scenario": "serviceclient"}`)
	waitDone(t, ts.URL, done)
	course := courseServer(t)

	check := func(t *testing.T, page string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		for _, v := range runAxe(t, tab, axe) {
			t.Errorf("%s: %s (%s): %s; at %s — %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "), v.Summary)
		}
	}
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 900), colorScheme(scheme)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-scenario="serviceclient"]`))); err != nil {
				t.Fatal(err)
			}
			check(t, "the home page")

			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+done)); err != nil {
				t.Fatal(err)
			}
			waitDrawn(t, tab, done)
			check(t, "a finished session")

			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/embed/s/"+done)); err != nil {
				t.Fatal(err)
			}
			waitDrawn(t, tab, done)
			check(t, "an embed")

			if err := chromedp.Do(tab, chromedp.Navigate(course.URL+"/")); err != nil {
				t.Fatal(err)
			}
			const three = `[...document.querySelectorAll('seq-diagram')].filter((el) => el.dataset.state === 'done').length === 3`
			if _, err := chromedp.Run(tab, chromedp.Poll[bool](three, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
				t.Fatalf("the course page's three diagrams: %v", err)
			}
			check(t, "a course page with three <seq-diagram>")

			startFromPage(t, tab, ts.URL, "serviceclient", true)
			for i := 0; ; i++ {
				v := pollStep(t, tab, `v.state !== 'running' || (v.pending && v.ghost && v.nextReady)`, "a pending call")
				if v.State != "running" || i > 40 {
					t.Fatalf("no question after %d steps (state %s)", i, v.State)
				}
				if v.Pending.Question {
					break
				}
				stepFor(t, tab, 0, v.Marks, "a step") // or the next call changed: the loop reads it
			}
			pollQuestion(t, tab, `q.shown && !q.revealed && q.choices.length >= 3`, "the question")
			check(t, "a stepped session with a question showing")
			// Choice buttons are named by their text.
			const names = `[...document.querySelector('seq-diagram').shadowRoot.querySelectorAll('.q-choices .choice')].map((b) => [b.textContent.trim(), b.getAttribute('aria-label') || ''])`
			pairs, err := chromedp.Run(tab, chromedp.Evaluate[[][2]string](names))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pairs {
				if p[1] != "" && !strings.HasPrefix(p[0], p[1]) && !strings.HasPrefix(p[1], p[0]) {
					t.Errorf("a choice shows %q but is named %q", p[0], p[1])
				}
			}
		})
	}

	t.Run("the diagram is one Tab stop and takes the focus when a scenario starts", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-scenario="echo"]`)),
			chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('step-mode'); if (s.checked) s.click(); })()`)); err != nil {
			t.Fatal(err)
		}
		id := pressScenario(t, tab, "echo")
		waitDrawn(t, tab, id)
		const focus = `(() => { const el = document.querySelector('seq-diagram');
		  const a = el.shadowRoot.activeElement;
		  const stops = [...el.shadowRoot.querySelectorAll('.viewport [tabindex]')].filter((n) => n.tabIndex >= 0).length;
		  return {focused: document.activeElement === el && !!a && a.classList.contains('viewport'), stops,
		    marks: el.shadowRoot.querySelectorAll('.event[tabindex="-1"]').length, all: el.shadowRoot.querySelectorAll('.event').length, state: el.dataset.state}; })()`
		type focusView struct {
			Focused bool   `json:"focused"`
			Stops   int    `json:"stops"`
			Marks   int    `json:"marks"`
			State   string `json:"state"`
		}
		v, err := chromedp.Run(tab, chromedp.Evaluate[focusView](focus))
		if err != nil {
			t.Fatal(err)
		}
		if !v.Focused || v.Stops != 0 || v.Marks == 0 {
			t.Errorf("after pressing echo: %+v; want the diagram's viewport focused, no Tab stop inside it, marks reached by arrow keys", v)
		}
		// Tab leaves the diagram at once: nothing in it is a stop of its
		// own, implicitly focusable ones (the SVG root was) included.
		if err := chromedp.Do(tab, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		if inside := evalJS[string](t, tab, `(() => { const r = document.querySelector('seq-diagram').shadowRoot, a = r.activeElement;
		  return a && r.querySelector('.viewport').contains(a) && !a.classList.contains('viewport') ? a.tagName + '.' + a.getAttribute('class') : ''; })()`); inside != "" {
			t.Errorf("Tab from the diagram went to %s, inside it; want the next control after it", inside)
		}
		evalJS[bool](t, tab, `(document.querySelector('seq-diagram').shadowRoot.querySelector('.viewport').focus(), true)`)
		// ↓ moves into the marks, ↓ again to the next call.
		const moved = `(() => { const a = document.querySelector('seq-diagram').shadowRoot.activeElement; return a && a.dataset.seq !== undefined ? Number(a.dataset.seq) : -1; })()`
		// Each key's focus is read once the page has handled it (a loaded
		// CI machine delivered the read before the move).
		press := func(want func(int) bool) int {
			t.Helper()
			if err := chromedp.Do(tab, chromedp.KeyEvent(kb.ArrowDown)); err != nil {
				t.Fatal(err)
			}
			at := -1
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if at, _ = chromedp.Run(tab, chromedp.Evaluate[int](moved)); want(at) {
					break
				}
			}
			return at
		}
		first := press(func(at int) bool { return at >= 0 })
		second := press(func(at int) bool { return at == first+1 })
		if first < 0 || second != first+1 {
			// What had the focus, and what the diagram held, to tell a key
			// that went elsewhere from one that found no mark to move to.
			where, _ := chromedp.Run(tab, chromedp.Evaluate[string](`(() => { const el = document.querySelector('seq-diagram');
			  const a = el.shadowRoot.activeElement, vp = el.shadowRoot.querySelector('.viewport');
			  return 'focus on ' + (document.activeElement?.localName ?? 'nothing') + ' > ' + (a ? a.localName + '.' + a.getAttribute('class') : 'nothing') +
			    ', state ' + el.dataset.state + ', ' + el.shadowRoot.querySelectorAll('.event').length + ' marks (' +
			    el.shadowRoot.querySelectorAll('.chunk.near .event').length + ' near), viewport scrollTop ' + vp.scrollTop + ' of ' + vp.scrollHeight; })()`))
			t.Errorf("↓ focused mark %d, then %d; want a mark, then the next (%s)", first, second, where)
		}
	})

	t.Run("a focused mark keeps the focus when the diagram is drawn again", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-scenario="echo"]`))); err != nil {
			t.Fatal(err)
		}
		id := pressScenario(t, tab, "echo")
		waitDone(t, ts.URL, id)
		waitDrawn(t, tab, id)
		const focusedSeq = `(() => { const a = document.querySelector('seq-diagram').shadowRoot.activeElement; return a && a.dataset.seq !== undefined ? Number(a.dataset.seq) : -1; })()`
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector('seq-diagram'); el.scale = 'compact';
		  const marks = el.shadowRoot.querySelectorAll('.event[data-seq]'); marks[marks.length - 1].focus(); })()`)); err != nil {
			t.Fatal(err)
		}
		before, err := chromedp.Run(tab, chromedp.Evaluate[int](focusedSeq))
		if err != nil || before < 0 {
			t.Fatalf("no mark took the focus (%d, %v)", before, err)
		}
		// Another time scale draws every mark again: the focused mark is
		// tagged, to tell its new mark from it.
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector('seq-diagram');
		  const sc = el.shadowRoot.querySelector('.transcript-scroll'); sc.scrollTop = 0; window.transcriptAt_ = sc.scrollTop;
		  el.shadowRoot.activeElement.oldMark_ = true; el.scale = 'proportional'; })()`)); err != nil {
			t.Fatal(err)
		}
		after, err := chromedp.Run(tab, chromedp.Poll[int](`(() => { const el = document.querySelector('seq-diagram'); const a = el.shadowRoot.activeElement;
		  return document.activeElement === el && a && !a.oldMark_ && a.dataset.seq !== undefined ? Number(a.dataset.seq) : null; })()`, chromedp.WithPollingTimeout(3*time.Second)))
		if err != nil || after != before {
			where, _ := chromedp.Run(tab, chromedp.Evaluate[string](`(document.activeElement?.localName ?? 'nothing') + ' > ' + (document.querySelector('seq-diagram').shadowRoot.activeElement?.getAttribute('class') ?? 'nothing')`))
			t.Errorf("after drawing again the focus is on %s (mark %d, %v); want mark %d", where, after, err, before)
		}
		// Given back, not moved by the reader: the transcript stays where it was.
		if moved, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('seq-diagram').shadowRoot.querySelector('.transcript-scroll').scrollTop !== window.transcriptAt_`)); err != nil || moved {
			t.Errorf("the transcript scrolled when the focus was given back (%v)", err)
		}
	})
}

// courseServer serves a course page on its own origin with the element's
// modules and three saved sessions, each drawn by a <seq-diagram src=…>.
func courseServer(t *testing.T) *httptest.Server {
	t.Helper()
	files := map[string]string{
		"/": `<!doctype html><html lang="en"><meta charset="utf-8"><title>Week 9: sockets</title>
<script type="module" src="/seq-diagram.js"></script>
<main><h1>Week 9: sockets</h1>
<h2>The lecture's client</h2><seq-diagram src="/serviceclient.json" transcript="closed"></seq-diagram>
<h2>A byte stream</h2><seq-diagram src="/stream.json" transcript="closed"></seq-diagram>
<h2>Refused</h2><seq-diagram src="/refused.json" transcript="closed"></seq-diagram></main>`,
	}
	module, err := os.ReadFile(filepath.Join("static", "seq-diagram.js"))
	if err != nil {
		t.Fatal(err)
	}
	files["/seq-diagram.js"] = string(module)
	for path, text := range elementModules(t) {
		files[path] = text
	}
	for _, name := range []string{"serviceclient", "stream", "refused"} {
		b, err := os.ReadFile(filepath.Join("..", "trace", "testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		files["/"+name+".json"] = string(b)
	}
	return serveFiles(t, files)
}

// serveFiles serves files (path → text) as a course page's server would,
// on another origin than seqd's, until the test ends.
func serveFiles(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".js"):
			w.Header().Set("Content-Type", "text/javascript")
		case strings.HasSuffix(r.URL.Path, ".json"):
			w.Header().Set("Content-Type", "application/json")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}
