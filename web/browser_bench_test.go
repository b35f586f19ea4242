package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/loadgen"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// Browser benchmarks: they drive headless Chromium and read
// performance.now() back from the page. Run them with
//
//	go test -run XXX -bench Browser -benchtime 3x ./web
//
// The Mermaid comparison needs mermaid from the npm registry, which seqd
// itself never uses: npm install mermaid in a scratch directory and point
// SEQD_MERMAID_JS at node_modules/mermaid/dist/mermaid.min.js.

// recordSession runs a scenario with real sockets and returns its record.
// Its budget is an operator's raised one (-session-bytes): the saved
// session drawn is larger than a visitor may make.
func recordSession(b *testing.B, name string, params map[string]any) trace.Record {
	b.Helper()
	r := &netcore.Runner{MaxBytes: 64 << 20}
	sess, err := r.Prepare(name, params, trace.Features{})
	if err != nil {
		b.Fatal(err)
	}
	r.Run(context.Background(), sess)
	rec := sess.Snapshot()
	if rec.State != trace.StateDone {
		b.Fatalf("%s: %s", name, rec.Error)
	}
	return rec
}

// staticPage serves a plain page with the element module and the files
// given, as a course page would.
func staticPage(b *testing.B, page string, files map[string][]byte) string {
	b.Helper()
	module, err := os.ReadFile(filepath.Join("static", "seq-diagram.js"))
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	files["/seq-diagram.js"] = module
	for path, text := range elementModules(b) { // the modules seq-diagram.js imports
		files[path] = []byte(text)
	}
	for path, body := range files {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			ct := "application/json"
			if filepath.Ext(path) == ".js" {
				ct = "text/javascript"
			}
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		})
	}
	ts := httptest.NewServer(mux)
	b.Cleanup(ts.Close)
	return ts.URL
}

func benchTab(b *testing.B) context.Context {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		b.Skip("no Chromium at /usr/bin/chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 1000))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	b.Cleanup(func() { cancelTab(); cancelAlloc(); cancel() })
	if err := chromedp.Do(tab); err != nil {
		b.Fatal(err)
	}
	return tab
}

const drawPage = `<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module" src="/seq-diagram.js"></script>
<seq-diagram controls="none"></seq-diagram>`

// drawMillis loads the saved session at path into the element and returns
// the milliseconds until it is drawn (data-state done, then one frame) and
// until its first screen is (the element's seq-diagram:first-screen event,
// then one frame): what the viewer sees while the rest fills in below.
const drawMillis = `(async () => {
  await customElements.whenDefined('seq-diagram');
  const record = await (await fetch(%q)).json();
  const el = document.querySelector('seq-diagram');
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t0 = performance.now();
  let first = 0;
  const firstShown = new Promise(resolve => el.addEventListener('seq-diagram:first-screen', () => frame().then(() => { first = performance.now() - t0; resolve(); }), {once: true}));
  await new Promise(resolve => {
    el.addEventListener('seq-diagram:state', e => { if (e.detail.state === 'done') resolve(); });
    el.load(record);
  });
  await frame();
  const done = performance.now() - t0;
  await Promise.race([firstShown, frame()]);
  return {done, first: first || done};
})()`

// drawTimes is what drawMillis measures, in milliseconds.
type drawTimes struct {
	Done  float64 `json:"done"`  // every event drawn (data-state done)
	First float64 `json:"first"` // the first screen drawn
}

// drawSaved opens the page at base and times drawing /session.json.
func drawSaved(tab context.Context, base string) (drawTimes, error) {
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/")); err != nil {
		return drawTimes{}, err
	}
	return chromedp.Run(tab, chromedp.Evaluate[drawTimes](fmt.Sprintf(drawMillis, "/session.json"), chromedp.EvalAwaitPromise))
}

// BenchmarkBrowserDrawSaved draws a saved session of about 10,000 events
// (the stream scenario, 1 MiB read 100 bytes at a time).
func BenchmarkBrowserDrawSaved(b *testing.B) {
	rec := recordSession(b, "stream", map[string]any{"size": 1 << 20, "chunk": 100, "writes": 5})
	body, _ := json.Marshal(rec)
	base := staticPage(b, drawPage, map[string][]byte{"/session.json": body})
	tab := benchTab(b)
	var total, first float64
	for i := 0; i < b.N; i++ {
		ms, err := drawSaved(tab, base)
		if err != nil {
			b.Fatal(err)
		}
		total += ms.Done
		first += ms.First
	}
	b.ReportMetric(float64(len(rec.Events)), "events")
	b.ReportMetric(total/float64(b.N), "draw-ms")
	b.ReportMetric(first/float64(b.N), "first-screen-ms")
}

// BenchmarkBrowserLive follows a live session that records 500 events/s
// for 4 s and measures the page's frames: the interval between animation
// frames (p99 and worst) and how many frames took longer than 16.7 ms.
func BenchmarkBrowserLive(b *testing.B) {
	ts, store := storeServer(b, web.Config{})
	tab := benchTab(b)
	var all []time.Duration // every frame's interval, in all the runs
	missed, worst := 0, 0.0
	for i := 0; i < b.N; i++ {
		sess := trace.NewSession("synthetic", nil, trace.Options{})
		sess.AddActor("client")
		sess.AddActor("server")
		store.Add(sess)
		if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+sess.ID())); err != nil {
			b.Fatal(err)
		}
		// The frames are counted once the page has its session (its load
		// is the first-screen figure's): the live appending from then on.
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.querySelector('seq-diagram')?.dataset.state === 'running'`)); err != nil {
			b.Fatal(err)
		}
		// Count frames from the page while the session emits.
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(() => {
		  window.frames_ = []; let last = performance.now();
		  const tick = now => { window.frames_.push(now - last); last = now; if (!window.stopFrames_) requestAnimationFrame(tick); };
		  requestAnimationFrame(tick); return true; })()`)); err != nil {
			b.Fatal(err)
		}
		if err := loadgen.Emit(context.Background(), sess, 2000, 500); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.querySelector('seq-diagram').dataset.state === 'done'`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			b.Fatal(err)
		}
		frames, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`window.stopFrames_ = true; window.frames_.slice(1)`))
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range frames {
			if f > 16.7*1.5 { // a frame missed: the next came a whole vsync late
				missed++
			}
			worst = max(worst, f)
			all = append(all, time.Duration(f*1e6))
		}
	}
	// Over all the runs: a metric reported in the loop would be the last run's only.
	b.ReportMetric(float64(loadgen.Percentile(all, 0.99))/1e6, "p99-frame-ms")
	b.ReportMetric(worst, "worst-frame-ms")
	b.ReportMetric(float64(missed)/float64(b.N), "missed-frames/run")
	b.ReportMetric(float64(len(all))/float64(b.N), "frames/run")
}

// BenchmarkBrowserMermaid draws the same session of 1,000 messages with
// seqd's element and as a Mermaid sequenceDiagram (mermaid from npm, in this
// benchmark only) and reports both first-draw times.
func BenchmarkBrowserMermaid(b *testing.B) {
	mermaidJS := os.Getenv("SEQD_MERMAID_JS")
	if mermaidJS == "" {
		mermaidJS = "/tmp/mermaid-bench/node_modules/mermaid/dist/mermaid.min.js"
	}
	lib, err := os.ReadFile(mermaidJS)
	if err != nil {
		b.Skipf("no mermaid (%v): npm install mermaid and set SEQD_MERMAID_JS", err)
	}
	rec := recordSession(b, "echo", map[string]any{"rounds": 500})
	msgs := len(trace.Messages(rec.Events))
	var mmd bytes.Buffer
	if err := trace.WriteMermaid(&mmd, rec); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(rec)
	text, _ := json.Marshal(mmd.String())
	page := drawPage + `<script src="/mermaid.min.js"></script><div id="m"></div>`
	base := staticPage(b, page, map[string][]byte{"/session.json": body, "/mermaid.min.js": lib, "/diagram.json": text})
	tab := benchTab(b)
	var seqdMs, seqdFirst, mermaidMs float64
	for i := 0; i < b.N; i++ {
		times, err := drawSaved(tab, base)
		if err != nil {
			b.Fatal(err)
		}
		seqdMs += times.Done
		seqdFirst += times.First
		ms, err := chromedp.Run(tab, chromedp.Evaluate[float64](`(async () => {
		  const text = await (await fetch('/diagram.json')).json();
		  mermaid.initialize({startOnLoad: false, maxTextSize: 1e8, maxEdges: 1e6, sequence: {useMaxWidth: false}});
		  const t0 = performance.now();
		  const {svg} = await mermaid.render('mmd', text);
		  const host = document.getElementById('m');
		  host.innerHTML = svg;
		  host.getBoundingClientRect();
		  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
		  return performance.now() - t0;
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		mermaidMs += ms
	}
	b.ReportMetric(float64(msgs), "messages")
	b.ReportMetric(seqdMs/float64(b.N), "seqd-ms")
	b.ReportMetric(seqdFirst/float64(b.N), "seqd-first-screen-ms")
	b.ReportMetric(mermaidMs/float64(b.N), "mermaid-ms")
	b.ReportMetric(mermaidMs/seqdMs, "speedup")
	b.ReportMetric(mermaidMs/seqdFirst, "speedup-first-screen")
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
