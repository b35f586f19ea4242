package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"seqd/internal/testneed"
	"seqd/netcore"
	"seqd/trace"
)

// defaultMermaidJS is where `npm install mermaid` in /tmp/npmtools puts the
// library; SEQD_MERMAID_JS names another copy.
const defaultMermaidJS = "/tmp/npmtools/node_modules/mermaid/dist/mermaid.min.js"

// mermaidLib reads mermaid.min.js (npm's mermaid, which seqd itself never
// serves or uses: only this test renders with it). Without it the test
// skips, unless SEQD_REQUIRE_BROWSER is set, when it fails.
func mermaidLib(t *testing.T) []byte {
	t.Helper()
	path := os.Getenv("SEQD_MERMAID_JS")
	if path == "" {
		path = defaultMermaidJS
	}
	lib, err := os.ReadFile(path)
	if err != nil {
		testneed.Missing(t, "SEQD_REQUIRE_BROWSER", fmt.Sprintf("no mermaid (%v): npm install mermaid and set SEQD_MERMAID_JS to its dist/mermaid.min.js", err))
	}
	return lib
}

// mermaidResult is what Mermaid made of one diagram in the browser: its
// parser's participants and statements (messages and notes), the rendered
// SVG's text, and whatever went wrong.
type mermaidResult struct {
	Error        string   `json:"error"`
	Participants []string `json:"participants"`
	Statements   int      `json:"statements"`
	Crosses      int      `json:"crosses"` // lost-bytes arrows (-x)
	Dotted       int      `json:"dotted"`  // segment arrows (-->>)
	SVG          bool     `json:"svg"`
	Text         string   `json:"text"`
	Scripts      int      `json:"scripts"` // <script> elements in the page after the SVG was inserted
	Pwned        bool     `json:"pwned"`   // a payload's script or handler ran
	Theme        string   `json:"theme"`   // the theme the diagram was drawn with
}

// renderMermaid parses and renders text with mermaid.render in the blank
// page of tab, inserts the SVG into the page and reports what came of it.
func renderMermaid(t *testing.T, tab context.Context, n int, text string) mermaidResult {
	t.Helper()
	src, _ := json.Marshal(text)
	js := fmt.Sprintf(`(async () => {
	  const text = %s;
	  const out = {error: '', participants: [], statements: 0, crosses: 0, dotted: 0, svg: false, text: '', scripts: 0, pwned: false, theme: ''};
	  try {
	    const d = await mermaid.mermaidAPI.getDiagramFromText(text);
	    out.participants = [...d.db.getActors().values()].map(a => a.name);
	    const msgs = d.db.getMessages();
	    out.statements = msgs.length;
	    const lt = d.db.LINETYPE || {SOLID_CROSS: 3, DOTTED: 1};
	    out.crosses = msgs.filter(m => m.type === lt.SOLID_CROSS).length;
	    out.dotted = msgs.filter(m => m.type === lt.DOTTED).length;
	    out.theme = (d.db.getConfig && d.db.getConfig().theme) || mermaid.mermaidAPI.getConfig().theme || '';
	    const {svg} = await mermaid.render('diagram%d', text);
	    const host = document.getElementById('out');
	    host.innerHTML = svg;
	    const el = host.querySelector('svg');
	    out.svg = !!el;
	    out.text = el ? [...el.querySelectorAll('text, foreignObject')].map(n => n.textContent).join('\n') : '';
	    await new Promise(r => setTimeout(r, 50));
	  } catch (e) {
	    out.error = String(e && e.message || e);
	  }
	  out.scripts = document.querySelectorAll('script').length;
	  out.pwned = !!window.pwned;
	  return out;
	})()`, src, n)
	res, err := chromedp.Run(tab, chromedp.Evaluate[mermaidResult](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("render in Chromium: %v", err)
	}
	return res
}

// shape counts what a sequenceDiagram's lines say: participants, messages
// and notes (statements), lost arrows (-x) and segment arrows (-->>). It is
// what Mermaid's parser should find, no more, if no label became syntax.
type shape struct{ participants, statements, crosses, dotted int }

func shapeOf(text string) shape {
	var s shape
	for _, line := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
		head, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case strings.HasPrefix(head, "participant "):
			s.participants++
			continue
		case strings.Contains(head, "-->>"):
			s.dotted++
		case strings.Contains(head, "-x"):
			s.crosses++
		}
		s.statements++
	}
	return s
}

// check compares what Mermaid found with what the text says.
func (s shape) check(t *testing.T, res mermaidResult, text string) {
	t.Helper()
	got := shape{len(res.Participants), res.Statements, res.Crosses, res.Dotted}
	if got != s {
		t.Errorf("mermaid found participants %v, statements, lost and segment arrows %+v; want %+v (a label became syntax?):\n%s", res.Participants, got, s, text)
	}
}

// hostileRecord is a session whose every label carries something Mermaid
// could read as syntax: directives, statement ends, comments, arrows, HTML,
// line breaks and invisible characters, in payloads and in the fields
// drawn unquoted.
func hostileRecord() trace.Record {
	payloads := []string{
		"%%{init: {\"theme\": \"forest\"}}%%",
		"a;b;c",
		"#comment #59; #lt;",
		"x-->>y: injected",
		"<script>window.pwned=1</script>",
		"<img src=x onerror=\"window.pwned=1\">",
		"line1\nNote over client: injected\n",
		"nel\u0085next\u2028sep",
		"zero\u200bwidth\u202eevil",
	}
	const conn = "127.0.0.1:1-127.0.0.1:2"
	evil := "evil;-->>x\n%%{init: {\"theme\":\"forest\"}}%%<b>"
	rec := trace.Record{Meta: trace.Meta{ID: "hostile", Scenario: "hostile", State: trace.StateDone, Actors: []string{"server", "client", "end"}}}
	add := func(e trace.Event) {
		e.Seq = len(rec.Events)
		rec.Events = append(rec.Events, e)
	}
	add(trace.Event{Actor: "server", Kind: trace.KindSetsockopt, FD: 3, Option: evil, Value: 1})
	add(trace.Event{Actor: "client", Kind: trace.KindConnect, FD: 4, Conn: conn, Peer: evil})
	add(trace.Event{Actor: "server", Kind: trace.KindAccept, FD: 3, Ret: 5, Conn: conn, Peer: evil})
	var off int64
	for _, p := range payloads {
		s := trace.Event{Actor: "client", Kind: trace.KindSend, FD: 4, Conn: conn, Want: len(p), Ret: len(p), Bytes: len(p), Offset: off}
		s.SetPayload([]byte(p), 4096)
		add(s)
		r := trace.Event{Actor: "server", Kind: trace.KindRecv, FD: 5, Conn: conn, Want: 1024, Ret: len(p), Bytes: len(p), Offset: off}
		r.SetPayload([]byte(p), 4096)
		add(r)
		off += int64(len(p))
	}
	last := []byte(payloads[3] + payloads[4])
	s := trace.Event{Actor: "client", Kind: trace.KindSend, FD: 4, Conn: conn, Want: len(last), Ret: len(last), Bytes: len(last), Offset: off}
	s.SetPayload(last, 4096)
	add(s) // never read: drawn lost at the server's close
	add(trace.Event{Actor: "server", Kind: trace.KindClose, FD: 5, Conn: conn})
	add(trace.Event{Actor: "end", Kind: trace.KindShutdown, FD: 9, How: evil})
	return rec
}

// TestMermaidExportsRenderInMermaid renders every golden Mermaid file and a
// session of hostile payloads with npm's mermaid in headless Chromium.
func TestMermaidExportsRenderInMermaid(t *testing.T) {
	lib := mermaidLib(t)
	tab := newTab(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mermaid.min.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(lib)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>mermaid</title><script src="/mermaid.min.js"></script><div id="out"></div>`))
	}))
	t.Cleanup(page.Close)
	if err := chromedp.Do(tab, chromedp.Navigate(page.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`mermaid.initialize({startOnLoad: false, securityLevel: 'strict'}), true`)); err != nil {
		t.Fatalf("initialize mermaid: %v", err)
	}
	baseline, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('script').length`))
	if err != nil {
		t.Fatal(err)
	}

	goldens, err := filepath.Glob(filepath.Join("..", "trace", "testdata", "*.mmd"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden Mermaid files in ../trace/testdata (%v)", err)
	}
	n := 0
	for _, path := range goldens {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(filepath.Base(path)+" renders to an SVG with every line a statement", func(t *testing.T) {
			res := renderMermaid(t, tab, n, string(text))
			if res.Error != "" || !res.SVG {
				t.Fatalf("mermaid.render failed: %q (svg %v)", res.Error, res.SVG)
			}
			shapeOf(string(text)).check(t, res, string(text))
		})
	}

	var r netcore.Runner
	segments, _ := netcore.SegmentsAvailable() // with CAP_NET_RAW, the segments' dotted arrows too
	for _, sc := range r.Scenarios() {
		n++
		t.Run("the "+sc.Name+" scenario, recorded now, renders with every line a statement", func(t *testing.T) {
			sess, err := r.Prepare(sc.Name, nil, trace.Features{Segments: segments})
			if err != nil {
				t.Fatal(err)
			}
			r.Run(context.Background(), sess)
			var b bytes.Buffer
			if err := trace.WriteMermaid(&b, sess.Snapshot()); err != nil {
				t.Fatal(err)
			}
			res := renderMermaid(t, tab, n, b.String())
			if res.Error != "" || !res.SVG {
				t.Fatalf("mermaid.render failed: %q (svg %v) on:\n%s", res.Error, res.SVG, b.String())
			}
			shapeOf(b.String()).check(t, res, b.String())
		})
	}

	t.Run("hostile payloads render as text, not as syntax", func(t *testing.T) {
		var b bytes.Buffer
		if err := trace.WriteMermaid(&b, hostileRecord()); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		res := renderMermaid(t, tab, 1000, text)
		if res.Error != "" || !res.SVG {
			t.Fatalf("mermaid.render failed: %q (svg %v) on:\n%s", res.Error, res.SVG, text)
		}
		want := shapeOf(text)
		if want.crosses != 1 {
			t.Errorf("the hostile session has %d lost arrows; want 1, for its unread write:\n%s", want.crosses, text)
		}
		want.check(t, res, text)
		if res.Scripts != baseline || res.Pwned {
			t.Errorf("%d script elements (want %d), payload ran: %v", res.Scripts, baseline, res.Pwned)
		}
		if res.Theme == "forest" {
			t.Errorf("a payload's %%%%{init}%%%% directive set the theme to forest")
		}
		for _, want := range []string{
			`%%{init: {`, `a;b;c`, `#comment #59; #l`, `x-->>y: injected`, `<script>window.p`, `<img src=x oner`,
			`evil;-->>x\n%%{init: {"theme":"forest"}}%%<b>`, `\u0085`, `\u200b`, `\u202e`, `line1\nNote over`,
		} {
			if !strings.Contains(res.Text, want) {
				t.Errorf("the SVG's text does not show %q; it reads:\n%s", want, res.Text)
			}
		}
	})
}
