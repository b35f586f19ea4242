package web_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
		})
	}
}
