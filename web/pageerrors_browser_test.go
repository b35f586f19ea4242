package web_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/trace"
	"seqd/web"
)

// consoleErrors collects, from now until the test ends, what the tab's
// pages throw and do not catch and what they write with console.error.
func consoleErrors(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	ctx, cancel := context.WithCancel(tab)
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == "error" && m.Source == "") {
				mu.Lock()
				got = append(got, m.String()+" at "+m.URL)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestBrowserPagesLoadWithoutErrors opens seqd's pages as a reader does —
// the main page, a finished session's permalink and its embed — and
// requires that none throws, and that the main page lists the server's
// recent runs as it loads, before any run of its own.
func TestBrowserPagesLoadWithoutErrors(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	errs := consoleErrors(t, tab)
	id := createSession(t, ts.URL, `{"scenario": "echo"}`)
	waitDone(t, ts.URL, id)
	pages := []struct {
		name, path string
		ready      string // an expression that is true once the page is done loading
	}{
		{"the main page", "/", `(() => { const l = [...document.querySelectorAll('#recent-sessions a')]; return !document.getElementById('recent').hidden && l.some((a) => a.dataset.id === ` + "'" + id + "'" + `); })()`},
		{"a finished session's permalink", "/s/" + id, `document.querySelector('seq-diagram')?.dataset.state === 'done'`},
		{"its embed", "/embed/s/" + id, `document.querySelector('seq-diagram')?.dataset.state === 'done'`},
	}
	for _, p := range pages {
		t.Run(p.name+" loads without errors", func(t *testing.T) {
			before := len(errs())
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+p.path)); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(tab, chromedp.Poll[bool](p.ready, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
				t.Errorf("%s never finished loading (%s): %v", p.path, p.ready, err)
			}
			// A frame and a pause for what runs after the load (the recent runs' fetch, idle work).
			if err := chromedp.Do(tab, chromedp.Sleep(300*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if got := errs()[before:]; len(got) > 0 {
				t.Errorf("%s threw or logged errors:\n%s", p.path, strings.Join(got, "\n"))
			}
			if dir := legibleShotDir(t); dir != "" { // the page as it loads, in the four views
				name := strings.ReplaceAll(strings.Trim(p.path, "/"), "/", "-")
				if name == "" {
					name = "home"
				}
				for _, v := range legibleViews {
					setView(t, tab, v)
					writeScreenshot(t, tab, filepath.Join(dir, "page-"+name+"-"+v.name+".png"))
				}
				setView(t, tab, legibleView{"default", 1280, 1000, false, "light"})
			}
		})
	}
}

// TestBrowserUnknownPermalinkSaysSo opens the permalink of a session the
// server never had, in the four views: the first screen must say so, in
// view, with no empty diagram, toolbar or transcript below it.
func TestBrowserUnknownPermalinkSaysSo(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	dir := legibleShotDir(t)
	id := trace.NewID()
	type seen struct {
		Status        string
		InView        bool
		DiagramHidden bool
	}
	for _, v := range legibleViews {
		t.Run(v.name, func(t *testing.T) {
			setView(t, tab, v)
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
				t.Fatal(err)
			}
			s, err := chromedp.Run(tab, chromedp.Poll[seen](`(() => { const s = document.getElementById('status'), b = s.getBoundingClientRect();
			  return s.classList.contains('error') ? {status: s.textContent, inView: b.top >= 0 && b.bottom <= innerHeight, diagramHidden: document.getElementById('diagram').hidden} : null; })()`,
				chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				t.Fatalf("the unknown session's page never said it could not open it: %v", err)
			}
			if !strings.Contains(s.Status, "Could not open this session: no session "+id) || !s.InView || !s.DiagramHidden {
				t.Errorf("the unknown session's page shows %+v; want its reason in view and no diagram", s)
			}
			if dir != "" {
				writeScreenshot(t, tab, filepath.Join(dir, "unknown-permalink-"+v.name+".png"))
			}
		})
	}
}

// TestBrowserASessionOpensWhereItStays opens a finished session at 1280
// px, where the code pane takes part of the width: the diagram is laid
// out once for the room it has, and does not jump sideways when the pane
// arrives (it did by 130 px, laid out first for the whole width).
func TestBrowserASessionOpensWhereItStays(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario":"http"}`)
	waitDone(t, ts.URL, id)
	setView(t, tab, legibleViews[0])
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		X        []float64
		WithCode bool
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[seen](`(async () => {
	  const xs = [];
	  let withCode = false;
	  for (let i = 0; i < 40 && xs.length < 25; i++) {
	    const r = document.querySelector('seq-diagram')?.shadowRoot;
	    const m = r?.querySelector('svg .event[data-seq] .shape');
	    if (m) { xs.push(m.getBoundingClientRect().x); withCode = r.querySelector('.split').classList.contains('with-code'); }
	    await new Promise((ok) => setTimeout(ok, 25));
	  }
	  return {x: xs, withCode}; })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !got.WithCode || len(got.X) < 10 {
		t.Fatalf("the page showed %d samples of the first mark, code pane %v; want it drawn beside the code", len(got.X), got.WithCode)
	}
	for _, x := range got.X {
		if math.Abs(x-got.X[len(got.X)-1]) > 1 {
			t.Fatalf("the first mark's x as the session opened: %v; want it where it stays from the first frame it is drawn", got.X)
		}
	}
}
