package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/internal/testneed"
	"seqd/trace"
	"seqd/web"
)

// chromiumPath finds a Chromium to drive. Without one the browser tests
// skip, unless SEQD_REQUIRE_BROWSER is set (as .ci/run does), when they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	return testneed.Program(t, "SEQD_REQUIRE_BROWSER", "apt-get install chromium; the browser tests need one", "chromium", "chromium-browser", "google-chrome", "chrome")
}

// newTab starts a headless Chromium for the test and returns a tab.
func newTab(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancel() })
	if err := chromedp.Do(tab); err != nil { // start the browser now
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// evalWithin evaluates js in the tab (what names it for the message) and
// fails the test when it has not returned after d, saying whether the page
// still answers a plain expression and what it was doing. Without it, an
// evaluation that never returns holds the test until the tab's own
// three-minute deadline and ends it with only "context deadline exceeded".
func evalWithin[T any](t *testing.T, tab context.Context, d time.Duration, what, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err == nil {
		return res
	}
	if ctx.Err() == nil {
		t.Fatalf("%s: %v", what, err)
	}
	probe, cancelProbe := context.WithTimeout(tab, 5*time.Second)
	defer cancelProbe()
	state, perr := chromedp.Run(probe, chromedp.Evaluate[string](`document.visibilityState + ', ' + document.readyState + ', ' + (document.querySelector('seq-diagram')?.dataset.state ?? 'no diagram')`))
	if perr != nil {
		t.Fatalf("%s: no answer in %v, and the page did not answer a plain expression in 5 s either (%v): its main thread is stuck", what, d, perr)
	}
	t.Fatalf("%s: no answer in %v, though the page answers (visibility, load, diagram: %s): a promise it awaits never settled", what, d, state)
	var zero T
	return zero
}

// drawing is what the page drew, read from the <seq-diagram> shadow DOM.
type drawing struct {
	State     string   `json:"state"`
	Session   string   `json:"session"`
	Lifelines []string `json:"lifelines"`
	Sends     []int    `json:"sends"`
	Recvs     []int    `json:"recvs"`
	Marks     []int    `json:"marks"`
	Rows      []int    `json:"rows"`
}

const readDrawing = `(() => {
  const el = document.querySelector('seq-diagram');
  const r = el && el.shadowRoot;
  if (!r) return {state: ''};
  const nums = (sel, attr) => [...r.querySelectorAll(sel)].map(n => Number(n.getAttribute(attr)));
  return {
    state: el.dataset.state || '',
    session: el.dataset.session || '',
    lifelines: [...r.querySelectorAll('svg.seq-diagram .lifeline[data-actor]')].map(n => n.dataset.actor),
    sends: nums('svg.seq-diagram .msg[data-send-seq]', 'data-send-seq'),
    recvs: nums('svg.seq-diagram .msg[data-recv-seq]', 'data-recv-seq'),
    marks: nums('svg.seq-diagram .event[data-seq]', 'data-seq'),
    rows: nums('.transcript tr[data-seq]', 'data-seq'),
  };
})()`

// waitDrawn waits until the diagram shows the finished session id (any
// session if id is empty) and returns the drawing.
func waitDrawn(t *testing.T, tab context.Context, id string) drawing {
	t.Helper()
	cond := `(() => { const el = document.querySelector('seq-diagram');
	  return !!el && (el.dataset.state === 'done' || el.dataset.state === 'failed') && (%q === '' || el.dataset.session === %q); })()`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(cond, id, id), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		d, _ := chromedp.Run(tab, chromedp.Evaluate[drawing](readDrawing))
		t.Fatalf("waiting for session %q to be drawn: %v (drawing: %+v)", id, err, d)
	}
	d, err := chromedp.Run(tab, chromedp.Evaluate[drawing](readDrawing))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// evalJS evaluates js in tab and returns its value as T; the test fails
// if the page could not evaluate it.
func evalJS[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating in the page: %v", err)
	}
	return v
}

// openFinished starts a session on the server at base with the request
// body, waits for it to finish, opens its page in tab and waits for it to
// be drawn: the session's id, its record and the drawing.
func openFinished(t *testing.T, tab context.Context, base, body string) (string, trace.Record, drawing) {
	t.Helper()
	id := createSession(t, base, body)
	rec := waitDone(t, base, id)
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	return id, rec, waitDrawn(t, tab, id)
}

// checkDrawing asserts that the drawing shows every part of rec: a
// lifeline per actor, an arrow from every send with data and into every
// recv with data, a mark and a transcript row per event.
func checkDrawing(t *testing.T, d drawing, rec trace.Record) {
	t.Helper()
	if d.State != string(rec.State) {
		t.Errorf("data-state %q; want %q", d.State, rec.State)
	}
	if !slices.Equal(d.Lifelines, rec.Actors) {
		t.Errorf("lifelines %v; want one per actor %v", d.Lifelines, rec.Actors)
	}
	for _, e := range rec.Events {
		if e.Bytes == 0 || e.Errno != "" {
			continue
		}
		switch e.Kind {
		case trace.KindSend:
			if !slices.Contains(d.Sends, e.Seq) {
				t.Errorf("no arrow starts at send %d (%s)", e.Seq, e.Call())
			}
		case trace.KindRecv:
			if !slices.Contains(d.Recvs, e.Seq) {
				t.Errorf("no arrow ends at recv %d (%s)", e.Seq, e.Call())
			}
		}
	}
	if want := len(trace.Messages(rec.Events)); len(d.Sends) != want {
		t.Errorf("%d arrows; want %d, one per send/recv byte-range overlap", len(d.Sends), want)
	}
	if len(d.Rows) != len(rec.Events) {
		t.Errorf("%d transcript rows; want %d", len(d.Rows), len(rec.Events))
	}
	for i, seq := range d.Rows {
		if seq != i {
			t.Errorf("transcript row %d is seq %d", i, seq)
			break
		}
	}
	marks := map[int]bool{}
	for _, m := range d.Marks {
		marks[m] = true
	}
	if len(marks) != len(rec.Events) {
		t.Errorf("%d events have a mark; want all %d", len(marks), len(rec.Events))
	}
}

func getRecord(t *testing.T, base, id string) trace.Record {
	t.Helper()
	_, b := do(t, "GET", base+"/api/sessions/"+id, "", "")
	var rec trace.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestBrowserDrawsSessions(t *testing.T) {
	tab := newTab(t)
	ts := newTestServer(t, web.Config{})
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-scenario="serviceclient"]`))); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, name := range []string{"serviceclient", "stream", "concurrent", "refused"} {
		t.Run("pressing "+name+" draws the whole session live", func(t *testing.T) {
			id := pressScenario(t, tab, name)
			d := waitDrawn(t, tab, id)
			rec := getRecord(t, ts.URL, id)
			if rec.Scenario != name {
				t.Fatalf("session %s is %s; want %s", id, rec.Scenario, name)
			}
			checkDrawing(t, d, rec)
			ids[name] = id
		})
	}
	if shot := os.Getenv("SEQD_SCREENSHOT"); shot != "" {
		if !strings.HasSuffix(shot, ".png") {
			// A directory of pictures (TestLegibleBrowserLabels'): this one goes in it.
			_ = os.MkdirAll(shot, 0o755)
			shot = filepath.Join(shot, "serviceclient.png")
		}
		if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+ids["serviceclient"])); err == nil {
			waitDrawn(t, tab, ids["serviceclient"])
			if png, err := chromedp.Run(tab, chromedp.CaptureScreenshot()); err == nil {
				_ = os.WriteFile(shot, png, 0o644)
			}
		}
	}
	for _, name := range []string{"serviceclient", "stream"} {
		id := ids[name]
		if id == "" {
			continue
		}
		rec := getRecord(t, ts.URL, id)
		for _, path := range []string{"/s/" + id, "/embed/s/" + id} {
			t.Run(path+" redraws the same "+name+" session", func(t *testing.T) {
				if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+path)); err != nil {
					t.Fatal(err)
				}
				checkDrawing(t, waitDrawn(t, tab, id), rec)
			})
		}
	}
	t.Run("/embed/echo runs and draws a live session", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/embed/echo?rounds=4&pace_ms=20")); err != nil {
			t.Fatal(err)
		}
		d := waitDrawn(t, tab, "")
		if d.Session == "" {
			t.Fatal("the embed shows no session id")
		}
		rec := getRecord(t, ts.URL, d.Session)
		if rec.Scenario != "echo" || rec.Params["rounds"] != float64(4) {
			t.Errorf("embed started %s with %v; want echo with rounds 4", rec.Scenario, rec.Params)
		}
		checkDrawing(t, d, rec)
	})
}

func TestElementDrawsASavedSessionWithoutAServer(t *testing.T) {
	tab := newTab(t)
	saved, err := os.ReadFile(filepath.Join("..", "trace", "testdata", "stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	module, err := os.ReadFile(filepath.Join("static", "seq-diagram.js"))
	if err != nil {
		t.Fatal(err)
	}
	// A course page served by a plain static file server: the page, a copy
	// of the element module and a saved session. No seqd anywhere.
	files := map[string]struct{ ctype, body string }{
		"/": {"text/html; charset=utf-8", `<!doctype html><meta charset="utf-8"><title>course page</title>
<script type="module" src="/seq-diagram.js"></script>
<h1>Week 9: sockets</h1>
<seq-diagram src="/session.json"></seq-diagram>`},
		"/seq-diagram.js": {"text/javascript", string(module)},
		"/session.json":   {"application/json", string(saved)},
	}
	// The element is a tree of modules (seq-diagram.js imports sd/, ui/,
	// core/): the course page copies the whole tree.
	for path, text := range elementModules(t) {
		files[path] = struct{ ctype, body string }{"text/javascript", text}
	}
	course := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Write([]byte(f.body))
	}))
	t.Cleanup(course.Close)
	var rec trace.Record
	if err := json.Unmarshal(saved, &rec); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(course.URL+"/")); err != nil {
		t.Fatal(err)
	}
	checkDrawing(t, waitDrawn(t, tab, rec.ID), rec)
}
