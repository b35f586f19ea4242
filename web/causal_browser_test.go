package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"seqd/internal/testneed"
	"seqd/trace"
	"seqd/web"
)

// geometry is where the page drew a session's items, in client pixels
// (centres of marks, ends of arrows, extents of bars and half-closed
// lifelines), read from the <seq-diagram> shadow DOM.
type geometry struct {
	Scale  string             `json:"scale"`
	Marks  map[string]float64 `json:"marks"` // seq → the centre y of its mark's shape
	Arrows []struct {
		Send int     `json:"send"`
		Recv int     `json:"recv"`
		Y1   float64 `json:"y1"` // the shaft's tail (at the write)
		Y2   float64 `json:"y2"` // the head (at the read)
	} `json:"arrows"`
	Bars []struct {
		Seq    int     `json:"seq"`
		Call   int     `json:"call"`
		EndSeq int     `json:"endSeq"`
		Open   bool    `json:"open"`
		Top    float64 `json:"top"`
		Bottom float64 `json:"bottom"`
	} `json:"bars"`
	Half []struct {
		Actor string  `json:"actor"`
		Top   float64 `json:"top"`
	} `json:"half"`
}

// readGeometry draws session scale's way and measures it. Every chunk is
// shown while it measures (chunks far from the viewport are display:none).
const readGeometry = `((scale) => {
  const el = document.querySelector('seq-diagram');
  el.scale = scale;
  const r = el.shadowRoot;
  for (const c of r.querySelectorAll('svg.seq-diagram .chunk')) c.classList.add('near');
  const cy = (n) => { const b = n.getBoundingClientRect(); return b.top + b.height / 2; };
  const box = r.querySelector('svg.seq-diagram').getBoundingClientRect();
  const marks = {};
  for (const m of r.querySelectorAll('svg.seq-diagram .event[data-seq]')) marks[m.dataset.seq] = cy(m.querySelector('.shape'));
  // The shaft's path: "M x1,y1 L … M x2,y2 …": its first point is the tail, its second move the head.
  const arrows = [...r.querySelectorAll('svg.seq-diagram .msg[data-send-seq]')].map((a) => {
    const moves = [...a.querySelector('.shaft').getAttribute('d').matchAll(/M(-?[\d.]+),(-?[\d.]+)/g)];
    return {send: Number(a.dataset.sendSeq), recv: Number(a.dataset.recvSeq),
      y1: box.top + Number(moves[0][2]), y2: box.top + Number(moves[1][2])};
  });
  const bars = [...r.querySelectorAll('svg.seq-diagram .bar[data-seq]')].map((b) => {
    const rect = b.getBoundingClientRect();
    return {seq: Number(b.dataset.seq), call: Number(b.dataset.call || 0), endSeq: Number(b.dataset.endSeq ?? -1),
      open: b.hasAttribute('data-open'), top: rect.top, bottom: rect.bottom};
  });
  const half = [...r.querySelectorAll('svg.seq-diagram .lifeline[data-actor] line.life.half')].map((l) => (
    {actor: l.closest('.lifeline').dataset.actor, top: box.top + Math.min(Number(l.getAttribute('y1')), Number(l.getAttribute('y2')))}));
  return {scale: el.scale, marks, arrows, bars, half};
})`

// tolerance is how far apart two drawn y's may be and still count as level.
const tolerance = 0.5

// causingCall is the call whose mark a segment must not be drawn above:
// the connect of a SYN (its begin, if split), the write of a data
// segment's bytes, the shutdown or close of a FIN, the close of an RST
// (none for a kernel that refuses a connection). -1 when no call caused it.
func causingCall(events []trace.Event, seg trace.Event, isn map[[2]string]uint32) int {
	has := func(f string) bool { return slices.Contains(seg.Flags, f) }
	firstBy := func(kinds ...trace.Kind) int {
		for _, c := range events {
			if c.Kind != trace.KindSegment && c.Actor == seg.Actor && c.Conn == seg.Conn && slices.Contains(kinds, c.Kind) &&
				(c.Kind == trace.KindConnect || c.Phase != trace.PhaseBegin) {
				return c.Seq
			}
		}
		return -1
	}
	switch {
	case has("SYN") && !has("ACK"):
		return firstBy(trace.KindConnect)
	case has("RST"):
		return firstBy(trace.KindClose)
	case has("FIN") && seg.Len == 0:
		return firstBy(trace.KindShutdown, trace.KindClose)
	case seg.Len > 0:
		start, ok := isn[[2]string{seg.Conn, seg.Actor}]
		if !ok {
			return -1
		}
		lo := int64(seg.TCPSeq - start - 1)
		for _, c := range events {
			if c.Kind == trace.KindSend && c.Actor == seg.Actor && c.Conn == seg.Conn && c.Bytes > 0 &&
				c.Offset <= lo && lo < c.Offset+int64(c.Bytes) {
				return c.Seq
			}
		}
	}
	return -1
}

// checkCausalGeometry asserts what issue 10 asks of the drawing in scale
// g.Scale: every arrow points down (its head, at the read, not above its
// tail, at the write; and so the marks it joins); no segment is drawn
// above the call that caused it; a split call's bar spans its begin to
// its end; a half-closed lifeline starts at a mark (a shutdown, an end of
// file or a close), not before.
func checkCausalGeometry(t *testing.T, g geometry, rec trace.Record) {
	t.Helper()
	y := func(seq int) (float64, bool) {
		v, ok := g.Marks[fmt.Sprint(seq)]
		return v, ok
	}
	if len(g.Marks) != len(rec.Events) {
		t.Errorf("%s: %d marks measured; want %d", g.Scale, len(g.Marks), len(rec.Events))
	}
	for _, a := range g.Arrows {
		if a.Y2 < a.Y1-tolerance {
			t.Errorf("%s: the arrow from #%d to #%d points up: tail at %.1f, head at %.1f", g.Scale, a.Send, a.Recv, a.Y1, a.Y2)
		}
		s, ok1 := y(a.Send)
		r, ok2 := y(a.Recv)
		if !ok1 || !ok2 {
			t.Errorf("%s: the arrow from #%d to #%d joins marks not drawn", g.Scale, a.Send, a.Recv)
		} else if r < s-tolerance {
			t.Errorf("%s: read #%d (y %.1f) is drawn above write #%d (y %.1f) that fed it", g.Scale, a.Recv, r, a.Send, s)
		}
	}
	isn := map[[2]string]uint32{}
	for _, e := range rec.Events {
		if e.Kind != trace.KindSegment {
			continue
		}
		if slices.Contains(e.Flags, "SYN") {
			isn[[2]string{e.Conn, e.Actor}] = e.TCPSeq
		}
		c := causingCall(rec.Events, e, isn)
		if c < 0 {
			continue
		}
		sy, ok1 := y(e.Seq)
		cy, ok2 := y(c)
		if ok1 && ok2 && sy < cy-tolerance {
			t.Errorf("%s: segment #%d %v (y %.1f) is drawn above #%d %s (y %.1f), the call that sent it",
				g.Scale, e.Seq, e.Flags, sy, c, rec.Events[c].Kind, cy)
		}
	}
	for _, b := range g.Bars {
		if b.Call == 0 {
			continue
		}
		if b.Open {
			t.Errorf("%s: call %d's bar (begin #%d) is still open in a finished session", g.Scale, b.Call, b.Seq)
			continue
		}
		by, _ := y(b.Seq)
		ey, ok := y(b.EndSeq)
		if !ok || rec.Events[b.EndSeq].CallID != b.Call || b.Top > by+tolerance || b.Bottom < ey-tolerance {
			t.Errorf("%s: call %d's bar spans %.1f–%.1f; want from its begin #%d (y %.1f) to its end #%d (y %.1f)",
				g.Scale, b.Call, b.Top, b.Bottom, b.Seq, by, b.EndSeq, ey)
		}
	}
	for _, h := range g.Half {
		found := false
		for _, e := range rec.Events {
			// The last of its connections to be shut down, to read end of
			// file, or (leaving only half-closed ones) to be closed.
			if e.Actor != h.Actor || e.Phase == trace.PhaseBegin || !(e.Kind == trace.KindShutdown || e.Kind == trace.KindClose || e.Kind == trace.KindRecv && e.EOF) {
				continue
			}
			if my, ok := y(e.Seq); ok && my > h.Top-tolerance-1 && my < h.Top+tolerance+1 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %s's half-closed lifeline starts at y %.1f, at no shutdown, end of file or close of its own", g.Scale, h.Actor, h.Top)
		}
	}
}

// segmentsAvailable reports whether the server can capture segments; with
// SEQD_REQUIRE_SEGMENTS set it must.
func segmentsAvailable(t *testing.T, base string) bool {
	t.Helper()
	caps := getCapabilities(t, base)
	if !caps.Segments.Available {
		if testneed.Required("SEQD_REQUIRE_SEGMENTS") {
			t.Fatalf("segments unavailable: %s", caps.Segments.Reason)
		}
		t.Logf("segments unavailable, so not checked: %s", caps.Segments.Reason)
	}
	return caps.Segments.Available
}

// causalScenarios are the eight scenarios, with small parameters.
var causalScenarios = []struct{ name, params string }{
	{"serviceclient", `{}`},
	{"echo", `{"rounds": 3}`},
	{"http", `{}`},
	{"stream", `{"size": 4096, "chunk": 1024, "writes": 3}`},
	{"refused", `{}`},
	{"reset", `{}`},
	{"concurrent", `{"clients": 3}`},
	{"backpressure", `{"total": 32768, "chunk": 8192, "read_delay_ms": 2}`},
}

// TestCausalBrowserArrowsPointDown runs every scenario unpaced and at 40 ms
// pace, with segments where they can be captured, and checks in each of
// the three time scales that the drawing follows the causal record.
func TestCausalBrowserArrowsPointDown(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	segs := []bool{false}
	if segmentsAvailable(t, ts.URL) {
		segs = append(segs, true)
	}
	type run struct {
		name string
		id   string
	}
	var runs []run
	for _, sc := range causalScenarios {
		for _, pace := range []int{0, 40} {
			for _, seg := range segs {
				params := strings.Replace(sc.params, "{", fmt.Sprintf(`{"pace_ms": %d,`, pace), 1)
				params = strings.Replace(params, ",}", "}", 1)
				body := fmt.Sprintf(`{"scenario": %q, "params": %s, "segments": %v}`, sc.name, params, seg)
				runs = append(runs, run{fmt.Sprintf("%s pace %d segments %v", sc.name, pace, seg), createSession(t, ts.URL, body)})
			}
		}
	}
	tab := newTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/embed/s/"+runs[0].id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, runs[0].id)
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			rec := waitDone(t, ts.URL, r.id)
			if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('seq-diagram').follow(%q)`, r.id))); err != nil {
				t.Fatal(err)
			}
			d := waitDrawn(t, tab, r.id)
			if strings.HasPrefix(r.name, "reset ") {
				// Its lesson is bytes written and never read: those writes
				// have no arrow, which checkDrawing would ask for.
				checkEveryEventDrawn(t, d, rec)
			} else {
				checkDrawing(t, d, rec)
			}
			for _, scale := range []string{"compact", "proportional", "logarithmic"} {
				g, err := chromedp.Run(tab, chromedp.Evaluate[geometry](fmt.Sprintf(`%s(%q)`, readGeometry, scale)))
				if err != nil {
					t.Fatal(err)
				}
				if g.Scale != scale {
					t.Fatalf("drew scale %q; want %q", g.Scale, scale)
				}
				checkCausalGeometry(t, g, rec)
			}
		})
	}
}

// checkEveryEventDrawn asserts that the drawing is of rec's state and
// shows every event: a mark and a transcript row each, and as many arrows
// as trace.Messages finds.
func checkEveryEventDrawn(t *testing.T, d drawing, rec trace.Record) {
	t.Helper()
	if d.State != string(rec.State) {
		t.Errorf("data-state %q; want %q", d.State, rec.State)
	}
	if len(d.Marks) != len(rec.Events) || len(d.Rows) != len(rec.Events) {
		t.Errorf("%d marks and %d transcript rows; want %d each", len(d.Marks), len(d.Rows), len(rec.Events))
	}
	if want := len(trace.Messages(rec.Events)); len(d.Sends) != want {
		t.Errorf("%d arrows; want %d", len(d.Sends), want)
	}
}

// openBar is what the page shows of the bar of a call still open.
type openBar struct {
	Call     int    `json:"call"`
	Seq      int    `json:"seq"`
	Open     bool   `json:"open"`
	EndSeq   int    `json:"endSeq"`
	EndDrawn bool   `json:"endDrawn"` // the page has the call's end among its events
	Label    string `json:"label"`    // the begin mark's label
	Row      string `json:"row"`      // the begin's transcript call cell
}

// findAcceptBar finds the bar of the server's accept, once its mark is
// drawn too (its transcript row may come later: rows come in batches).
const findAcceptBar = `(() => {
  const el = document.querySelector('seq-diagram');
  const r = el && el.shadowRoot;
  if (!r) return null;
  const begin = el.events.find((e) => e.phase === 'begin' && e.kind === 'accept' && e.actor === 'server');
  if (!begin) return null;
  const bar = r.querySelector('svg.seq-diagram .bar[data-call="' + begin.call + '"]');
  const mark = r.querySelector('svg.seq-diagram .event[data-seq="' + begin.seq + '"]');
  if (!bar || !mark) return null;
  const label = mark.querySelector('.label');
  const row = r.querySelector('.transcript tr[data-seq="' + begin.seq + '"] td.call');
  return {call: begin.call, seq: begin.seq, open: bar.hasAttribute('data-open'), endSeq: Number(bar.dataset.endSeq ?? -1),
    endDrawn: el.events.some((e) => e.phase === 'end' && e.call === begin.call),
    label: label ? label.textContent : '', row: row ? row.textContent : ''};
})()`

// TestCausalBrowserOpenBar watches a paced serviceclient session: the
// server's accept waits for the client, and its begin is drawn as an open
// bar, labelled "accept… blocked …", before its end arrives, on the page
// that started watching first and on one that joins while it blocks; once
// the end comes the bar is closed and spans begin to end.
func TestCausalBrowserOpenBar(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario": "serviceclient", "params": {"pace_ms": 500}}`)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/embed/s/"+id)); err != nil {
		t.Fatal(err)
	}
	pollBar := func(tab context.Context, who string) openBar {
		t.Helper()
		b, err := chromedp.Run(tab, chromedp.Poll[openBar](findAcceptBar, chromedp.WithPollingTimeout(15*time.Second)))
		if err != nil {
			t.Fatalf("%s: no bar for the server's accept: %v", who, err)
		}
		return b
	}
	b := pollBar(tab, "the first viewer")
	if b.EndDrawn {
		t.Fatalf("the accept's end came before its bar was seen (%+v); the session is paced to block for a second", b)
	}
	if !b.Open || !strings.HasPrefix(b.Label, "accept… blocked") {
		t.Errorf("while the accept blocks its bar is %+v; want open, labelled accept… blocked", b)
	}
	// The transcript takes new rows in batches (every 250 ms): wait for the begin's.
	if withRow, err := chromedp.Run(tab, chromedp.Poll[openBar](fmt.Sprintf(`(() => { const b = %s; return b && b.row ? b : null; })()`, findAcceptBar),
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("the begin has no transcript row: %v", err)
	} else if !strings.Contains(withRow.Row, "accept(") || !strings.Contains(withRow.Row, "<unfinished …>") {
		t.Errorf("the begin's transcript row says %q; want accept(…) <unfinished …>", withRow.Row)
	}
	// The label counts the time blocked, live.
	grown, err := chromedp.Run(tab, chromedp.Poll[openBar](fmt.Sprintf(`(() => { const b = %s; return b && (b.endDrawn || b.label !== %q) ? b : null; })()`, findAcceptBar, b.Label),
		chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil {
		t.Errorf("the open bar's label stays %q: %v", b.Label, err)
	} else if !grown.EndDrawn && !strings.HasPrefix(grown.Label, "accept… blocked ") {
		t.Errorf("the open bar's label became %q", grown.Label)
	}

	// A viewer who joins while the accept blocks sees the open bar too.
	viewer, cancel := chromedp.NewContext(tab)
	defer cancel()
	if err := chromedp.Do(viewer, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	if v := pollBar(viewer, "the viewer who joined"); !v.EndDrawn && !v.Open {
		t.Errorf("the viewer who joined mid-block sees the accept's bar %+v; want it open", v)
	} else if v.EndDrawn {
		t.Logf("the accept returned before the second viewer drew it: %+v", v)
	}

	rec := waitDone(t, ts.URL, id)
	for name, page := range map[string]context.Context{"first viewer": tab, "viewer who joined": viewer} {
		waitDrawn(t, page, id)
		b := pollBar(page, name)
		if b.Open || !b.EndDrawn || b.EndSeq < 0 || rec.Events[b.EndSeq].CallID != b.Call || rec.Events[b.EndSeq].Phase != trace.PhaseEnd {
			t.Errorf("%s: after the accept returned its bar is %+v; want closed by its end", name, b)
		}
		if !strings.HasPrefix(b.Label, "accept… blocked ") || strings.Contains(b.Label, "no end") {
			t.Errorf("%s: the closed bar's begin says %q; want how long the accept blocked", name, b.Label)
		}
		g, err := chromedp.Run(page, chromedp.Evaluate[geometry](fmt.Sprintf(`%s('compact')`, readGeometry)))
		if err != nil {
			t.Fatal(err)
		}
		checkCausalGeometry(t, g, rec)
	}
}

// colorScheme emulates prefers-color-scheme: light or dark.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// TestCausalBrowserScreenshots takes the pictures to look at, when
// SEQD_SHOTS_DIR names a directory: the main page at 1280×800 (code pane
// open) and 390×844, light and dark, of a finished serviceclient session
// and of a paced one while the server's accept blocks (an open bar).
func TestCausalBrowserScreenshots(t *testing.T) {
	dir, ts, tab, done := shotOfServiceClient(t, "SEQD_SHOTS_DIR")
	sizes := []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"1280x800", 1280, 800, nil},
		{"390x844", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait}},
	}
	shoot := func(name string) { shootDiagram(t, tab, filepath.Join(dir, name+".png")) }
	for _, size := range sizes {
		for _, scheme := range []string{"light", "dark"} {
			if err := chromedp.Do(tab, chromedp.EmulateViewport(size.w, size.h, size.opts...), colorScheme(scheme)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+done)); err != nil {
				t.Fatal(err)
			}
			waitDrawn(t, tab, done)
			shoot(fmt.Sprintf("done-%s-%s", size.name, scheme))
			if size.w == 1280 && scheme == "light" {
				for _, scale := range []string{"proportional", "logarithmic"} {
					if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('seq-diagram').scale = %q`, scale))); err != nil {
						t.Fatal(err)
					}
					shoot(fmt.Sprintf("done-%s-%s-%s", size.name, scheme, scale))
				}
				// The transcript, from the client's blocked read on.
				js := `(() => { const el = document.querySelector('seq-diagram'); el.scale = 'compact';
				  const b = el.events.find((e) => e.phase === 'begin' && e.actor === 'client');
				  const row = b && el.shadowRoot.querySelector('.transcript tr[data-seq="' + b.seq + '"]');
				  const sc = el.shadowRoot.querySelector('.transcript-scroll');
				  sc.scrollIntoView({block: 'start'});
				  if (row) { row.click(); sc.scrollTop = row.offsetTop - 70; } })()`
				if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](js), chromedp.Sleep(300*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "transcript.png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			paced := createSession(t, ts.URL, `{"scenario": "serviceclient", "params": {"pace_ms": 700}}`)
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+paced)); err != nil {
				t.Fatal(err)
			}
			// On a phone the label drops the word ("accept… 1.20 s"): the open bar says it blocks.
			open := fmt.Sprintf(`(() => { const b = %s; return b && b.open && !b.endDrawn && /^accept… (blocked )?\d/.test(b.label) ? b : null; })()`, findAcceptBar)
			if _, err := chromedp.Run(tab, chromedp.Poll[openBar](open, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
				last, _ := chromedp.Run(tab, chromedp.Evaluate[*openBar](findAcceptBar))
				t.Fatalf("%s %s: no open accept bar to photograph: %v (the accept's bar: %+v)", size.name, scheme, err, last)
			}
			shoot(fmt.Sprintf("open-%s-%s", size.name, scheme))
		}
	}
}

// TestCausalBrowserServerExports checks that Mermaid and the ladder come
// from the server (one generator of each, in Go): a live session's buttons
// fetch them; a record drawn without a server leaves them disabled,
// saying why.
func TestCausalBrowserServerExports(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id, rec, _ := openFinished(t, tab, ts.URL, `{"scenario": "serviceclient"}`)
	type buttons struct {
		Disabled []bool   `json:"disabled"`
		Titles   []string `json:"titles"`
		Mermaid  string   `json:"mermaid"`
		Ladder   string   `json:"ladder"`
		Error    string   `json:"error"`
	}
	read := `(async () => {
	  const el = document.querySelector('seq-diagram');
	  const bs = [...el.shadowRoot.querySelectorAll('[data-export="mermaid"], [data-export="ladder"]')];
	  const out = {disabled: bs.map((b) => b.getAttribute('aria-disabled') === 'true' && b.checkVisibility()), titles: bs.map((b) => b.title), mermaid: '', ladder: '', error: ''};
	  try { out.mermaid = await el.exportText('mermaid'); out.ladder = await el.exportText('ladder'); } catch (err) { out.error = err.message; }
	  return out;
	})()`
	live, err := chromedp.Run(tab, chromedp.Evaluate[buttons](read, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	_, mermaid := do(t, "GET", ts.URL+"/api/sessions/"+id+"/mermaid", "", "")
	_, ladder := do(t, "GET", ts.URL+"/api/sessions/"+id+"/ladder", "", "")
	if slices.Contains(live.Disabled, true) || live.Mermaid != string(mermaid) || live.Ladder != string(ladder) || live.Error != "" {
		t.Errorf("a live session's exports: %+v; want enabled, the server's Mermaid and ladder", live)
	}

	saved, _ := json.Marshal(rec)
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('seq-diagram').load(%s)`, saved))); err != nil {
		t.Fatal(err)
	}
	offline, err := chromedp.Run(tab, chromedp.Evaluate[buttons](read, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(offline.Disabled) != 2 || slices.Contains(offline.Disabled, false) || offline.Mermaid != "" || !strings.Contains(offline.Error, "server") {
		t.Errorf("a record without a server: %+v; want both buttons shown disabled and no export", offline)
	}
	for _, title := range offline.Titles {
		if !strings.Contains(title, "server") || !strings.Contains(title, "file") {
			t.Errorf("a disabled export says %q; want the reason (made by the server, loaded from a file)", title)
		}
	}
}

// shootDiagram scrolls the page's diagram into view and writes a
// screenshot of the viewport to path, for a person to look at.
func shootDiagram(t *testing.T, tab context.Context, path string) {
	t.Helper()
	if err := chromedp.Do(tab,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').scrollIntoView({block: 'start'})`),
		chromedp.Sleep(400*time.Millisecond),
	); err != nil {
		t.Fatal(err)
	}
	writeScreenshot(t, tab, path)
}

// writeScreenshot writes a screenshot of the tab's window to path.
func writeScreenshot(t *testing.T, tab context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
