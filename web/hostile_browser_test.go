package web_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// hostileMarkup is what a crafted record puts in its strings: each one
// sets window.pwned if it ever runs.
var hostileMarkup = []string{
	`1"><image href=x onerror="window.pwned='attr'">`,
	`</text><script>window.pwned='script'</script>`,
	`<img src=x onerror="window.pwned='img'">`,
	`'><svg onload="window.pwned='svg'">`,
	`&lt;b&gt;"' javascript:window.pwned='js'`,
}

// hostileRecords are saved sessions a course page might be tricked into
// loading with <seq-diagram src=…>: markup in every string field, and
// fields of the wrong types (strings for numbers, objects for lists, a
// crafted seq), beside the invisible characters of issue 13 item 12.
func hostileRecords() map[string]string {
	var events []string
	fields := []string{"actor", "kind", "phase", "errno", "error", "conn", "local", "peer", "data", "how", "option", "host", "service", "tcp_state", "src", "answer", "frame"}
	kinds := []string{"socket", "connect", "send", "recv", "shutdown", "close", "segment", "getaddrinfo", "<b>x</b>"}
	for i, k := range kinds {
		for j, m := range hostileMarkup {
			seq := i*len(hostileMarkup) + j
			ev := map[string]string{}
			for _, f := range fields {
				ev[f] = m
			}
			ev["kind"] = k
			ev["actor"] = []string{"client", "server", m}[j%3]
			if k == "send" || k == "recv" {
				ev["phase"] = ""
			}
			var b strings.Builder
			b.WriteString(`{"seq": ` + itoa(seq) + `, "t_ns": ` + itoa(seq*1000) + `, "fd": 3, "ret": 5, "bytes": 5, "offset": 0, "flags": ["SYN", "<img src=x onerror=window.pwned='flag'>"]`)
			for f, v := range ev {
				b.WriteString(`, ` + jsonString(f) + `: ` + jsonString(v))
			}
			b.WriteString("}")
			events = append(events, b.String())
		}
	}
	n := len(kinds) * len(hostileMarkup)
	// Wrong types: a crafted seq, strings for numbers, objects for lists.
	events = append(events,
		`{"seq": "1\"><image href=x onerror=\"window.pwned='seq'\">", "t_ns": 1, "actor": "client", "kind": "send"}`,
		`{"seq": "2\"><image href=x onerror=\"window.pwned='segseq'\">", "t_ns": 2, "actor": "client", "kind": "segment", "flags": ["SYN"]}`,
		`{"seq": `+itoa(n)+`, "t_ns": "<img src=x onerror=window.pwned='tns'>", "actor": ["a"], "kind": {"x": 1}, "fd": "3\"><img>", "bytes": [1], "offset": {}, "flags": "SYN<img src=x onerror=window.pwned='flags'>", "data_b64": "<img src=x onerror=window.pwned='b64'>", "line": "7\"><img>", "call": "x", "blocked": "yes"}`,
		`{"seq": `+itoa(n+1)+`, "t_ns": 5, "actor": "client", "kind": "send", "bytes": 9, "data": "a\u200bb\u202ec\ufeffd\u0085e\u2028f\u0000g", "conn": "c1"}`,
		`null`, `7`, `"<img src=x onerror=window.pwned='str'>"`, `[1, 2]`,
	)
	markup := jsonString(hostileMarkup[0])
	return map[string]string{
		"/hostile.json": `{"id": ` + markup + `, "scenario": ` + jsonString(hostileMarkup[1]) + `, "state": ` + jsonString(hostileMarkup[2]) +
			`, "error": ` + markup + `, "started_at": ` + markup + `, "actors": ["client", "server", ` + markup + `, 7, {"a": 1}], "params": {"x": ` + markup + `}` +
			`, "sources": [{"file": ` + markup + `, "text": ` + jsonString(`int main() { /* </span><img src=x onerror="window.pwned='src'"> */ }`) + `}, {"file": 7}]` +
			`, "events": [` + strings.Join(events, ",\n") + `]}`,
		"/types.json":  `{"id": 7, "scenario": ["x"], "state": {"a": 1}, "actors": "client<img src=x onerror=window.pwned='actors'>", "events": {"0": {"seq": 0}}, "sources": "x"}`,
		"/array.json":  `[{"seq": 0, "t_ns": 0, "actor": "client", "kind": "socket", "ret": 3}, {"seq": "<img>"}, 5, null]`,
		"/broken.json": `{"events": [`,
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r > 0x7e:
			b.WriteString(`\u` + strings.ToLower(hex4(r)))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15]})
}

// TestHostileBrowserRecords loads hostile records into <seq-diagram src=…>
// on a course page (issue 13, item 6): markup in every string field and
// fields of the wrong types. Every mark is hovered, focused and clicked
// (details, callouts), the transcript filled, the SVG exported. No script
// may run (window.pwned stays unset), no element the page did not make
// may appear (img, image, script, iframe, foreignObject, or any on*
// attribute), and the element must not crash: it says the state of each.
// Invisible characters (item 12) show as visible escapes, never raw.
func TestHostileBrowserRecords(t *testing.T) {
	tab := newTab(t)
	module, err := os.ReadFile(filepath.Join("static", "seq-diagram.js"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"/": `<!doctype html><meta charset="utf-8"><title>hostile course page</title>
<script type="module" src="/seq-diagram.js"></script>
<h1>Week 9</h1>
<seq-diagram id="a" src="/hostile.json" code></seq-diagram>
<seq-diagram id="b" src="/types.json"></seq-diagram>
<seq-diagram id="c" src="/array.json"></seq-diagram>
<seq-diagram id="d" src="/broken.json"></seq-diagram>`,
		"/seq-diagram.js": string(module),
	}
	for path, body := range hostileRecords() {
		files[path] = body
	}
	for path, text := range elementModules(t) {
		files[path] = text
	}
	course := serveFiles(t, files)
	if err := chromedp.Do(tab, chromedp.Navigate(course.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// Settled: each drawn whole (done) or refused (failed, with a message
	// that says why). A message alone is not settled: "Loading…" shows
	// while a record is fetched, and an empty box while a big one draws
	// (under load, polls that took either for settled saw 32 of 47 marks).
	const settled = `[...document.querySelectorAll('seq-diagram')].every((el) => ['done', 'failed'].includes(el.dataset.state))`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](settled, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the diagrams never settled on a state or a message: %v", err)
	}
	type result struct {
		Pwned    string   `json:"pwned"`
		Injected []string `json:"injected"`
		States   []string `json:"states"`
		Marks    []int    `json:"marks"`
		Raw      []string `json:"raw"`
		Escaped  bool     `json:"escaped"`
		Errors   []string `json:"errors"`
	}
	const poke = `(async () => {
	  const errors = [];
	  for (const el of document.querySelectorAll('seq-diagram')) {
	    const r = el.shadowRoot;
	    for (const m of r.querySelectorAll('.event, .msg')) {
	      try {
	        m.dispatchEvent(new PointerEvent('pointerover', {bubbles: true}));
	        m.dispatchEvent(new FocusEvent('focusin', {bubbles: true}));
	        m.dispatchEvent(new MouseEvent('click', {bubbles: true}));
	      } catch (e) { errors.push(String(e)); }
	    }
	    try { await el.exportSVG(); } catch (e) { errors.push('export: ' + e); }
	  }
	  await new Promise((ok) => setTimeout(ok, 300));
	  const bad = 'img, image, script, iframe, object, embed, foreignObject, svg svg, a[href^="javascript"]';
	  const injected = [];
	  const visit = (root, where) => {
	    for (const n of root.querySelectorAll(bad)) if (n.getAttribute('src') !== '/seq-diagram.js') injected.push(where + ': ' + n.tagName);
	    for (const n of root.querySelectorAll('*')) for (const a of n.attributes) if (/^on/i.test(a.name)) injected.push(where + ': ' + n.tagName + ' ' + a.name);
	  };
	  visit(document, 'page');
	  const raw = [];
	  let escaped = false;
	  for (const el of document.querySelectorAll('seq-diagram')) {
	    visit(el.shadowRoot, el.id);
	    const walker = document.createTreeWalker(el.shadowRoot, NodeFilter.SHOW_TEXT);
	    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
	      const t = n.nodeValue;
	      if (!t.trim() || n.parentElement.closest('style')) continue;
	      if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(t.replace(/^[\n\t ]+|[\n\t ]+$/g, '').replace(/\n/g, ''))) raw.push(el.id + ': ' + JSON.stringify(t).slice(0, 80));
	      if (t.includes('\\u200b') && t.includes('\\u202e')) escaped = true;
	    }
	  }
	  return {pwned: String(window.pwned ?? ''), injected, raw, escaped, errors,
	    states: [...document.querySelectorAll('seq-diagram')].map((el) => el.id + '=' + (el.dataset.state || el.shadowRoot.querySelector('.message').textContent)),
	    marks: [...document.querySelectorAll('seq-diagram')].map((el) => el.shadowRoot.querySelectorAll('.event[data-seq]').length)};
	})()`
	res, err := chromedp.Run(tab, chromedp.Evaluate[result](poke, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if res.Pwned != "" {
		t.Errorf("script ran in the course page: window.pwned = %q", res.Pwned)
	}
	for _, s := range res.Injected {
		t.Errorf("an element the page did not make: %s", s)
	}
	for _, s := range res.Errors {
		t.Errorf("poking the hostile diagram threw: %s", s)
	}
	t.Logf("states: %v; marks: %v", res.States, res.Marks)
	want := len(hostileRecordsEvents())
	if res.Marks[0] != want {
		t.Errorf("the hostile record drew %d marks; want %d, one per event with a whole seq", res.Marks[0], want)
	}
	if res.Marks[2] != 1 {
		t.Errorf("an events array with one event drew %d marks; want 1", res.Marks[2])
	}
	if !strings.HasPrefix(res.States[3], "d=failed") {
		t.Errorf("a file that is not JSON leaves the element %q; want failed, saying why", res.States[3])
	}
	for _, s := range res.Raw {
		t.Errorf("an invisible character shown raw: %s", s)
	}
	if !res.Escaped {
		t.Error(`the payload's U+200B and U+202E are nowhere shown as \u200b and \u202e`)
	}
}

// hostileRecordsEvents is the seqs the hostile record's events may be drawn with: every event with a whole seq ≥ 0.
func hostileRecordsEvents() []int {
	n := 9*len(hostileMarkup) + 2
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
