package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"seqd/loadgen"
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
		// The last group left empty (group 1 is the next test's; the last
		// group may have got its rows with the drawing's last events).
		k, err := chromedp.Run(tab, chromedp.Evaluate[int](`(() => { const groups = [...document.querySelector('seq-diagram').shadowRoot.querySelectorAll('.transcript tbody')];
		  for (let k = groups.length - 1; k >= 2; k--) if (!groups[k].rows.length) return k; return -1; })()`))
		if err != nil || k < 0 {
			t.Fatalf("no row group after the second is left empty (%d, %v): the test shows nothing", k, err)
		}
		seq := rec.Events[k*rowGroup].Seq
		show := fmt.Sprintf(`(() => { const r = document.querySelector('seq-diagram').shadowRoot; const sc = r.querySelector('.transcript-scroll');
		  sc.scrollIntoView(); sc.scrollTop = r.querySelectorAll('.transcript tbody')[%d].offsetTop; })()`, k)
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](show)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](has(seq), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("scrolled to row group %d, its first event (seq %d) has no row with cells: %v", k, seq, err)
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

// TestTranscriptBrowserLiveRows follows a session recording 1,000 events
// a second with the transcript in view. Rows come bare (no cells, hidden
// from assistive technology) except the newest, which the transcript
// shows; one step up with the keyboard stops the follow; the rows a reader
// scrolls back to get their cells; Ctrl+F (the page's find) gives every
// row its cells; once the session ends every row has its cells, in order.
func TestTranscriptBrowserLiveRows(t *testing.T) {
	ts, store := storeServer(t, web.Config{})
	tab := newTab(t)
	sess := trace.NewSession("synthetic", nil, trace.Options{})
	store.Add(sess)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+sess.ID())); err != nil {
		t.Fatal(err)
	}
	const root = `document.querySelector('seq-diagram')?.shadowRoot`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](root+`?.querySelector('.transcript-scroll') && (`+root+`.querySelector('.transcript-scroll').scrollIntoView(), true)`)); err != nil {
		t.Fatal(err)
	}
	const events = 6000 // 6 s: the subtests look at it running
	var emitErr error
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		emitErr = loadgen.Emit(context.Background(), sess, events, 1000)
	}()
	t.Cleanup(func() { <-emitted })

	type rows struct {
		State               string
		Rows, Bare, Hidden  int
		InView, InViewCells bool
		InViewSeq           int
		Box                 []float64 // the transcript's box: top, bottom; the window's height and scroll; its own scroll and height
	}
	// What the transcript holds, and whether the row in its box (below the
	// sticky header), brought into the window, has cells.
	const read = `(async () => { const r = ` + root + `; const sc = r.querySelector('.transcript-scroll');
	  sc.scrollIntoView({ block: 'nearest' }); await new Promise(requestAnimationFrame); const box = sc.getBoundingClientRect();
	  const all = r.querySelectorAll('.transcript tbody tr[data-seq]');
	  const at = r.elementFromPoint(box.left + 40, box.top + box.height * 0.6)?.closest?.('tr[data-seq]');
	  return { state: document.querySelector('seq-diagram').dataset.state, rows: all.length,
	    bare: r.querySelectorAll('.transcript tbody tr[data-seq]:empty').length,
	    hidden: r.querySelectorAll('.transcript tbody tr[data-seq][aria-hidden="true"]').length,
	    inView: !!at, inViewCells: !!at?.querySelector('td'), inViewSeq: at ? Number(at.dataset.seq) : -1,
	    box: [box.top, box.bottom, innerHeight, scrollY, sc.scrollTop, sc.scrollHeight] }; })()`
	readRunning := func(t *testing.T) rows {
		t.Helper()
		got, err := chromedp.Run(tab, chromedp.Evaluate[rows](read, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got.State != "running" {
			t.Fatalf("the session was %s with %d rows; want it running (a slower machine needs a longer session)", got.State, got.Rows)
		}
		return got
	}
	t.Run("live, rows come bare but for the newest, which are shown with their cells", func(t *testing.T) {
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](root+`.querySelectorAll('.transcript tbody tr[data-seq]').length >= 600`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatal(err)
		}
		// The transcript in the window (the page may have grown since).
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('.transcript-scroll').scrollIntoView({ block: 'nearest' })`)); err != nil {
			t.Fatal(err)
		}
		// The follow moves within 100 ms of a batch: until then the row in
		// view is the last batch's newest.
		got := readRunning(t)
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !(got.InViewCells && got.InViewSeq >= got.Rows-60); {
			time.Sleep(50 * time.Millisecond)
			got = readRunning(t)
		}
		if got.Bare < got.Rows/2 {
			t.Errorf("%d of %d rows are bare; want most (only the newest that the transcript holds get cells live)", got.Bare, got.Rows)
		}
		if got.Hidden != got.Bare {
			t.Errorf("%d rows are hidden from assistive technology, %d bare; want every bare row hidden, no other", got.Hidden, got.Bare)
		}
		if !got.InView || !got.InViewCells || got.InViewSeq < got.Rows-60 {
			t.Errorf("the row in view: %+v; want one of the newest, with its cells", got)
		}
	})
	t.Run("live, one ArrowUp in the transcript stops its follow", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('.transcript-scroll').focus()`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.KeyEvent(kb.ArrowUp)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(800 * time.Millisecond) // three batches, eight chances to follow
		got := readRunning(t)
		if got.InViewSeq < 0 || got.InViewSeq > got.Rows-300 {
			t.Errorf("after ArrowUp, the row in view: %+v; want it left behind (a 40 px step up had been pulled back to the newest)", got)
		}
	})
	t.Run("live, the rows scrolled back to get their cells", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('.transcript-scroll').scrollTop = 2000`)); err != nil {
			t.Fatal(err)
		}
		// The position may settle a frame or two later (scroll anchoring, as
		// row groups there are laid out again); the rows there then get cells.
		got := readRunning(t)
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !(got.InViewCells && got.InViewSeq <= got.Rows/2); {
			time.Sleep(50 * time.Millisecond)
			got = readRunning(t)
		}
		if !got.InView || !got.InViewCells || got.InViewSeq > got.Rows/2 {
			t.Errorf("the row in view after scrolling back: %+v; want an early one, with its cells", got)
		}
	})
	t.Run("live, Ctrl+F gives every row its cells, for the page's find", func(t *testing.T) {
		before := readRunning(t)
		if before.Bare == 0 {
			t.Fatalf("%+v: no bare row before Ctrl+F; want some (the case to test)", before)
		}
		if err := chromedp.Do(tab, chromedp.KeyEvent("f", chromedp.KeyModifiers(chromedp.ModifierCtrl))); err != nil {
			t.Fatal(err)
		}
		// The rows there were at the key press, and bare now: those after
		// it may come bare.
		js := fmt.Sprintf(`[...%s.querySelectorAll('.transcript tbody tr[data-seq]')].filter((tr) => Number(tr.dataset.seq) < %d && (!tr.firstChild || tr.hasAttribute('aria-hidden'))).length`, root, before.Rows)
		bare, err := chromedp.Run(tab, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatal(err)
		}
		if bare != 0 {
			t.Errorf("after Ctrl+F, %d of the %d rows there were (%d bare) still have no cells or are hidden; want every one shown to the find", bare, before.Rows, before.Bare)
		}
		readRunning(t) // still running: the case tested
	})
	t.Run("once the session ends, every row has its cells, in order", func(t *testing.T) {
		<-emitted
		if emitErr != nil {
			t.Fatal(emitErr)
		}
		done := `document.querySelector('seq-diagram').dataset.state === 'done' && ` + root + `.querySelectorAll('.transcript tbody tr[data-seq]:empty').length === 0`
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](done, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			got, _ := chromedp.Run(tab, chromedp.Evaluate[rows](read, chromedp.EvalAwaitPromise))
			t.Fatalf("waiting for every row's cells after the end: %v (%+v)", err, got)
		}
		seqs, err := chromedp.Run(tab, chromedp.Evaluate[[]int](`[...`+root+`.querySelectorAll('.transcript tbody tr[data-seq]')].map(tr => tr.querySelector('td')?.textContent === tr.dataset.seq && !tr.hasAttribute('aria-hidden') ? Number(tr.dataset.seq) : -1)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) != events {
			t.Fatalf("%d rows; want one per event, %d", len(seqs), events)
		}
		for i, s := range seqs {
			if s != i {
				t.Fatalf("row %d shows event %d (-1: its first cell is not its seq, or it is still hidden); want every row its own event's cells, in order", i, s)
			}
		}
	})
}
