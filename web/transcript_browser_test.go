package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"seqd/trace"
	"seqd/web"
)

// TestTranscriptBrowserLongBacklog opens a finished session of many row
// groups: the first has its rows at once, and in idle time every event
// gets its row, in order, with cells; a code line's calls highlighted
// before then are in the rows made later. Without idle time, a group
// scrolled to gets its rows, and so does the group a key moves into.
func TestTranscriptBrowserLongBacklog(t *testing.T) {
	const rowGroup = 128 // web/static/core/layout.js's CHUNK: the rows of a row group
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id, rec, _ := openFinished(t, tab, ts.URL, `{"scenario": "echo", "params": {"rounds": 200}}`)
	t.Run("a code line's calls are highlighted in row groups made later too", func(t *testing.T) {
		// Clicked at once, before the idle time that makes the groups left empty.
		var src string
		var line int
		var want []int
		for _, e := range rec.Events {
			if e.Actor == "client" && e.Kind == trace.KindRecv && e.Line > 0 {
				src, line = e.Src, e.Line
				break
			}
		}
		for _, e := range rec.Events {
			if src != "" && e.Src == src && e.Line == line {
				want = append(want, e.Seq)
			}
		}
		if len(want) < 200 {
			t.Fatalf("the client's read line %s:%d made %d calls; want a line with calls in many row groups", src, line, len(want))
		}
		click := fmt.Sprintf(`document.querySelector('seq-diagram').shadowRoot.querySelector('.code .line[data-src=%q][data-line="%d"]').click()`, src, line)
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](click)); err != nil {
			t.Fatal(err)
		}
		lit := `[...document.querySelector('seq-diagram').shadowRoot.querySelectorAll('.transcript tr.hl')].map(n => Number(n.dataset.seq))`
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(`(%s).length === %d`, lit, len(want)), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			got, _ := chromedp.Run(tab, chromedp.Evaluate[[]int](lit))
			t.Fatalf("%d of the line's %d calls have a highlighted row: %v", len(got), len(want), err)
		}
		got, err := chromedp.Run(tab, chromedp.Evaluate[[]int](lit))
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("highlighted rows %v (%v); want the line's calls %v", got, err, want)
		}
	})
	const rowsOf = `(from, to) => [...document.querySelector('seq-diagram').shadowRoot.querySelectorAll('.transcript tr[data-seq]')]
	  .filter(tr => tr.querySelector('td.call')).map(tr => Number(tr.dataset.seq)).filter(s => s >= from && s < to)`
	t.Run("the first row group has its rows, with cells, once drawn", func(t *testing.T) {
		rows, err := chromedp.Run(tab, chromedp.Evaluate[[]int](fmt.Sprintf(`(%s)(0, %d)`, rowsOf, rowGroup)))
		if err != nil || len(rows) != rowGroup {
			t.Errorf("%d rows of the first %d events have cells (%v); want all", len(rows), rowGroup, err)
		}
	})
	t.Run("in idle time every event gets its row, in order", func(t *testing.T) {
		js := fmt.Sprintf(`(%s)(0, 1e9).length === %d`, rowsOf, len(rec.Events))
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			rows, _ := chromedp.Run(tab, chromedp.Evaluate[[]int](fmt.Sprintf(`(%s)(0, 1e9)`, rowsOf)))
			t.Fatalf("%d of %d events have rows with cells: %v", len(rows), len(rec.Events), err)
		}
		rows, err := chromedp.Run(tab, chromedp.Evaluate[[]int](fmt.Sprintf(`(%s)(0, 1e9)`, rowsOf)))
		if err != nil {
			t.Fatal(err)
		}
		for i, seq := range rows {
			if seq != rec.Events[i].Seq {
				t.Fatalf("row %d is seq %d; want %d", i, seq, rec.Events[i].Seq)
			}
		}
	})

	// Without idle time (a busy page), the groups left empty get their rows
	// only when they are shown or asked for.
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.requestIdleCallback = () => 0;`}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
	has := func(seq int) string {
		return fmt.Sprintf(`(%s)(%d, %d).length === 1`, rowsOf, seq, seq+1)
	}
	t.Run("a row group scrolled to gets its rows", func(t *testing.T) {
		last := len(rec.Events) - 1
		if there, err := chromedp.Run(tab, chromedp.Evaluate[bool](has(last))); err != nil || there {
			t.Fatalf("the last event's row is there before the group is shown (%v): the test shows nothing", err)
		}
		show := `(() => { const sc = document.querySelector('seq-diagram').shadowRoot.querySelector('.transcript-scroll');
		  sc.scrollIntoView(); sc.scrollTop = sc.scrollHeight; })()`
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](show)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](has(last), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("scrolled to the end, the last event (seq %d) has no row with cells: %v", last, err)
		}
	})
	t.Run("the key to the next row makes its group's rows", func(t *testing.T) {
		if there, err := chromedp.Run(tab, chromedp.Evaluate[bool](has(rowGroup))); err != nil || there {
			t.Fatalf("row %d is there before it is asked for (%v): the test shows nothing", rowGroup, err)
		}
		focus := fmt.Sprintf(`document.querySelector('seq-diagram').shadowRoot.querySelector('.transcript tr[data-seq="%d"]').focus()`, rowGroup-1)
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](focus), chromedp.KeyEvent(kb.ArrowDown)); err != nil {
			t.Fatal(err)
		}
		at, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => { const a = document.querySelector('seq-diagram').shadowRoot.activeElement;
		  return a && a.querySelector('td.call') ? a.dataset.seq : String(a?.outerHTML.slice(0, 80)); })()`))
		if err != nil || at != fmt.Sprint(rowGroup) {
			t.Errorf("after ↓ from row %d the focus is on %q (%v); want row %d with its cells", rowGroup-1, at, err, rowGroup)
		}
	})
}
