package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/trace"
	"seqd/web"
)

// legibleView is one screen the diagram must be legible on.
type legibleView struct {
	name   string
	w, h   int64
	mobile bool
	scheme string
}

var legibleViews = []legibleView{
	{"1280x800-light", 1280, 800, false, "light"},
	{"1280x800-dark", 1280, 800, false, "dark"},
	{"390x844-light", 390, 844, true, "light"},
	{"390x844-dark", 390, 844, true, "dark"},
}

// legibleScenarios are the causal test's scenarios (causalScenarios),
// with backpressure larger, so that its labels crowd.
var legibleScenarios = func() []struct{ name, params string } {
	out := slices.Clone(causalScenarios)
	out[len(out)-1].params = `{"total": 65536, "chunk": 16384, "read_delay_ms": 2}`
	return out
}()

// legibility is what checkLegible found on one screen.
type legibility struct {
	Labels    int      `json:"labels"`    // labels in view, checked
	Lifelines int      `json:"lifelines"` // lifelines checked
	Problems  []string `json:"problems"`
	Fit       bool     `json:"fit"` // the layout was made for the viewport's width
}

// checkLegible reads the diagram's texts on screen: every label (mark,
// arrow, TCP state, Δt, lifeline name) whose box is in view — between the
// sticky lifeline names' bar (when it shows) and the bottom of the viewport
// and of the window — is tested against every other one (as rotated
// rectangles, from getBBox and getScreenCTM: the separating axis test),
// against the viewport's and the window's left and right edges, and by
// elementFromPoint at both of its ends, which must find the label itself
// (a transparent hit area does not count as covering). Every lifeline
// must be within the viewport and the window.
const checkLegible = `(() => {
  const el = document.querySelector('seq-diagram');
  const r = el.shadowRoot;
  const vp = r.querySelector('.viewport');
  const v = vp.getBoundingClientRect();
  const problems = [];
  const c = r.querySelector('.canvas').getBoundingClientRect();
  const left = Math.max(0, v.left, c.left), right = Math.min(innerWidth, v.left + vp.clientWidth, c.right);
  let top = Math.max(0, v.top);
  const bottom = Math.min(innerHeight, v.top + vp.clientHeight);
  if (vp.classList.contains('scrolled')) {
    // The sticky names and the bar behind them.
    for (const h of r.querySelectorAll('.actor-head')) top = Math.max(top, h.getBoundingClientRect().bottom);
    const heads = r.querySelector('.heads');
    top = Math.max(top, heads.getBoundingClientRect().top + (parseFloat(getComputedStyle(heads, '::before').height) || 0));
  }
  const poly = (t) => {
    const b = t.getBBox();
    const m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x, p.y]; });
  };
  const sat = (P, Q) => {
    for (const poly of [P, Q]) for (let i = 0; i < 4; i++) {
      const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % 4];
      const nx = y1 - y2, ny = x2 - x1;
      const pr = (pts) => pts.map(([x, y]) => x * nx + y * ny);
      const a = pr(P), b = pr(Q), len = Math.hypot(nx, ny) || 1;
      if ((Math.max(...a) - Math.min(...b)) / len <= 1 || (Math.max(...b) - Math.min(...a)) / len <= 1) return false;
    }
    return true;
  };
  const texts = [...r.querySelectorAll('svg.seq-diagram text')].filter((t) => t.textContent.trim() && t.getClientRects().length && t.checkVisibility({visibilityProperty: true}));
  const inView = [];
  for (const t of texts) {
    const P = poly(t);
    const ys = P.map((p) => p[1]), xs = P.map((p) => p[0]);
    const y0 = Math.min(...ys), y1 = Math.max(...ys), x0 = Math.min(...xs), x1 = Math.max(...xs);
    if (y0 < top || y1 > bottom) continue; // scrolled (partly) out of view
    const name = t.textContent + ' (' + (t.closest('[data-seq]')?.dataset.seq ?? t.closest('[data-send-seq]')?.dataset.sendSeq ?? t.getAttribute('class')) + ')';
    if (x0 < left - 0.5 || x1 > right + 0.5) problems.push('cut by an edge: ' + name + ' spans x ' + Math.round(x0) + '…' + Math.round(x1) + ' of ' + Math.round(left) + '…' + Math.round(right));
    inView.push({t, P, name});
  }
  for (let i = 0; i < inView.length; i++) for (let j = i + 1; j < inView.length; j++) {
    if (sat(inView[i].P, inView[j].P)) problems.push('overlap: ' + inView[i].name + ' and ' + inView[j].name);
  }
  for (const {t, P, name} of inView) {
    // Both ends, on the text's midline, 2 px in.
    const mid = (a, b) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const l = mid(P[0], P[3]), rr = mid(P[1], P[2]);
    const len = Math.hypot(rr[0] - l[0], rr[1] - l[1]) || 1;
    const ux = (rr[0] - l[0]) / len, uy = (rr[1] - l[1]) / len;
    for (const [x, y] of [[l[0] + 2 * ux, l[1] + 2 * uy], [rr[0] - 2 * ux, rr[1] - 2 * uy]]) {
      const hit = r.elementsFromPoint(x, y).find((e) => !e.classList.contains('hit'));
      if (!hit || hit.closest('text') !== t) problems.push('covered: ' + name + ' at ' + Math.round(x) + ',' + Math.round(y) + ' by ' + (hit ? hit.tagName + '.' + (hit.getAttribute('class') || '') : 'nothing'));
    }
  }
  const lines = [...r.querySelectorAll('svg.seq-diagram .lifeline')];
  for (const g of lines) {
    const b = g.querySelector('.name-box').getBoundingClientRect();
    const x = (b.left + b.right) / 2;
    if (x < left || x > right) problems.push('lifeline ' + g.dataset.actor + ' at x ' + Math.round(x) + ' is out of the viewport ' + Math.round(left) + '…' + Math.round(right));
  }
  return {labels: inView.length, lifelines: lines.length, problems, fit: true};
})()`

// TestLegibleBrowserLabels draws every scenario, unpaced and paced, at
// 1280×800 with the code pane open and at 390×844 (a phone), light and
// dark, and requires what checkLegible checks: no two labels overlap, none
// in view is cut by an edge or covered, every lifeline is in view. One tab
// goes through the four screens by resizing it, so the diagram refits
// itself to each. With SEQD_SCREENSHOT naming a directory, each case is
// photographed there.
func TestLegibleBrowserLabels(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	dir := legibleShotDir(t)
	for _, sc := range legibleScenarios {
		for _, paced := range []bool{false, true} {
			name := sc.name
			params := sc.params
			if paced {
				name += "-paced"
				params = strings.Replace(params, "{", `{"pace_ms": 15, `, 1)
				params = strings.Replace(params, ", }", "}", 1)
			}
			t.Run(name, func(t *testing.T) {
				id := createSession(t, ts.URL, fmt.Sprintf(`{"scenario": %q, "params": %s}`, sc.name, params))
				if !paced {
					waitDone(t, ts.URL, id)
				}
				for i, v := range legibleViews {
					setView(t, tab, v)
					if i == 0 {
						if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
							t.Fatal(err)
						}
					}
					waitDrawn(t, tab, id)
					if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').scrollIntoView({block: 'start'})`)); err != nil {
						t.Fatal(err)
					}
					res := checkView(t, tab, dir, fmt.Sprintf("%s-%s.png", name, v.name))
					if res.Labels == 0 || res.Lifelines == 0 {
						t.Errorf("%s: %d labels and %d lifelines in view; want some", v.name, res.Labels, res.Lifelines)
					}
					for _, p := range res.Problems {
						t.Errorf("%s: %s", v.name, p)
					}
				}
			})
		}
	}
}

// shotOfServiceClient starts a test that takes pictures into the directory
// that the environment variable env names (it skips without one): a
// server, a tab and a finished serviceclient session on it.
func shotOfServiceClient(t *testing.T, env string) (dir string, ts *httptest.Server, tab context.Context, id string) {
	t.Helper()
	if dir = os.Getenv(env); dir == "" {
		t.Skip(env + " is not set")
	}
	ts = newTestServer(t, web.Config{})
	tab = newTab(t)
	id = createSession(t, ts.URL, `{"scenario": "serviceclient"}`)
	waitDone(t, ts.URL, id)
	return dir, ts, tab, id
}

// legibleShotDir is the directory the legibility tests photograph their
// cases in, made if need be, or "" (SEQD_SCREENSHOT unset). When
// SEQD_SCREENSHOT names TestBrowserDrawsSessions's one picture, these go
// beside it, in legible/.
func legibleShotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SEQD_SCREENSHOT")
	if strings.HasSuffix(dir, ".png") {
		dir = filepath.Join(filepath.Dir(dir), "legible")
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkView waits for the diagram to fit its viewport, checks what is in
// view (checkLegible) and, when dir is not empty, photographs it there as
// name.
func checkView(t *testing.T, tab context.Context, dir, name string) legibility {
	t.Helper()
	waitFitted(t, tab)
	res := evalWithin[legibility](t, tab, 30*time.Second, "checkLegible", checkLegible)
	if dir != "" {
		writeScreenshot(t, tab, filepath.Join(dir, name))
	}
	return res
}

// openInView opens the finished session id of the server at base in the
// tab, sized and coloured as v, and waits for its drawing.
func openInView(t *testing.T, tab context.Context, v legibleView, base, id string) {
	t.Helper()
	setView(t, tab, v)
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
}

// setView sizes the tab (a phone with mobile emulation) and sets its colour scheme.
func setView(t *testing.T, tab context.Context, v legibleView) {
	t.Helper()
	var opts []chromedp.EmulateViewportOption
	if v.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(1))
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(v.w, v.h, opts...), colorScheme(v.scheme)); err != nil {
		t.Fatal(err)
	}
}

// waitFitted waits until the diagram is laid out for the width its
// viewport has now, and two frames have been drawn since.
func waitFitted(t *testing.T, tab context.Context) {
	t.Helper()
	const fitted = `(() => { const el = document.querySelector('seq-diagram');
	  return el.layoutWidth === Math.round(el.shadowRoot.querySelector('.viewport').clientWidth); })()`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](fitted, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the diagram never fitted its viewport: %v", err)
	}
	evalWithin[chromedp.Void](t, tab, 30*time.Second, "two frames after fitting", `new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)))`, chromedp.EvalAwaitPromise)
}

// TestLegibleBrowserREADMEShot takes the README's picture of the page
// (docs/screenshot.png) into the directory SEQD_README_SHOTS names: a
// finished serviceclient session at 1280×861, the code pane open, every
// label legible (checkLegible). The step-mode picture comes from
// TestStepBrowserQuestions (SEQD_SCREENSHOT_DIR).
func TestLegibleBrowserREADMEShot(t *testing.T) {
	dir, ts, tab, id := shotOfServiceClient(t, "SEQD_README_SHOTS")
	setView(t, tab, legibleView{"readme", 1280, 861, false, "light"})
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.getElementById('about').scrollIntoView({block: 'start'})`)); err != nil {
		t.Fatal(err)
	}
	waitFitted(t, tab)
	res, err := chromedp.Run(tab, chromedp.Evaluate[legibility](checkLegible))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems {
		t.Errorf("the README's picture: %s", p)
	}
	writeScreenshot(t, tab, filepath.Join(dir, "screenshot.png"))
}

// TestLegibleBrowserReplayAndProgress replays a finished session on the
// main page call by call and at 10×, and watches a paced session say how
// far it is (calls done of those expected, time left); the recent runs
// list shows the sessions started.
func TestLegibleBrowserReplayAndProgress(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id, rec, _ := openFinished(t, tab, ts.URL, `{"scenario": "echo", "params": {"rounds": 2}}`)
	marks := `document.querySelector('seq-diagram').shadowRoot.querySelectorAll('.event[data-seq]').length`
	if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS(`#replay-go`)),
		chromedp.SetValue(chromedp.CSS(`#replay-speed`), "step"), chromedp.Click(chromedp.CSS(`#replay-go`))); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(`%s === %d`, marks, want), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			n, _ := chromedp.Run(tab, chromedp.Evaluate[int](marks))
			t.Fatalf("replaying call by call: %d marks; want %d", n, want)
		}
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`#replay-next`))); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(`#replay-speed`), "10"), chromedp.Click(chromedp.CSS(`#replay-go`))); err != nil {
		t.Fatal(err)
	}
	checkDrawing(t, waitDrawn(t, tab, id), rec)

	paced := createSession(t, ts.URL, `{"scenario": "echo", "params": {"rounds": 3, "pace_ms": 150}}`)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+paced)); err != nil {
		t.Fatal(err)
	}
	info := `document.querySelector('seq-diagram').shadowRoot.querySelector('.info').textContent`
	// Every progress it shows, to check none outruns its estimate.
	evalJS[bool](t, tab, `(() => { window.infos_ = []; const tick = () => { const t = `+info+`; if (window.infos_.at(-1) !== t) window.infos_.push(t);
	  const state = document.querySelector('seq-diagram').dataset.state; if (state !== 'done' && state !== 'failed' && window.infos_.length < 5000) setTimeout(tick, 20); }; tick(); return true; })()`)
	got, err := chromedp.Run(tab, chromedp.Poll[string](info+`.match(/\d+ of about \d+ calls(, about .* left)?/)?.[0] ?? null`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("a paced session never said how far it is: %v", err)
	}
	defer func() {
		progress := regexp.MustCompile(`(\d+) of about (\d+) calls`)
		for _, p := range evalJS[[]string](t, tab, `window.infos_`) {
			if m := progress.FindStringSubmatch(p); m != nil {
				done, _ := strconv.Atoi(m[1])
				of, _ := strconv.Atoi(m[2])
				if done >= of {
					t.Errorf("the progress said %q: as many done as expected, or more", p)
				}
			}
			if strings.Contains(p, " 0 ns") || strings.Contains(p, "about 0") {
				t.Errorf("the progress said %q; want no time left of nothing", p)
			}
		}
	}()
	meta := getRecord(t, ts.URL, paced)
	if meta.ExpectedNs > 0 && !strings.Contains(got, "left") {
		t.Errorf("the progress says %q; want the time left too", got)
	}
	// While it runs, the replay controls and the list already hold their
	// place (the run listed, Replay unavailable): the run's end moves
	// nothing above the diagram.
	const placeJS = `(() => {
	  const go = document.getElementById('replay-go'), first = document.querySelector('#recent-sessions a');
	  return {top: document.getElementById('diagram').getBoundingClientRect().top + scrollY, replayShown: !document.getElementById('replay').hidden,
	    goDisabled: go.getAttribute('aria-disabled'), first: first?.dataset.id ?? '', firstState: first?.querySelector('.state')?.textContent ?? '',
	    state: document.getElementById('diagram').dataset.state,
	    drawingTop: document.getElementById('diagram').shadowRoot.querySelector('.viewport').getBoundingClientRect().top + scrollY};
	})()`
	type place struct {
		Top         float64 `json:"top"`
		DrawingTop  float64 `json:"drawingTop"` // the drawing's, below the toolbar
		ReplayShown bool    `json:"replayShown"`
		GoDisabled  string  `json:"goDisabled"`
		First       string  `json:"first"`
		FirstState  string  `json:"firstState"`
		State       string  `json:"state"`
	}
	running, err := chromedp.Run(tab, chromedp.Poll[place](`(() => { const p = `+placeJS+`; return p.state === 'running' && p.first === `+fmt.Sprintf("%q", paced)+` ? p : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		p, _ := chromedp.Run(tab, chromedp.Evaluate[place](placeJS))
		t.Fatalf("the running session is not listed first among the recent runs: %+v (%v)", p, err)
	}
	if !running.ReplayShown || running.GoDisabled != "true" || running.FirstState != "running" {
		t.Errorf("while the session runs: %+v; want the replay controls shown with Replay aria-disabled, the run listed as running", running)
	}
	waitDrawn(t, tab, paced)
	ended, err := chromedp.Run(tab, chromedp.Poll[place](`(() => { const p = `+placeJS+`; return p.firstState === 'done' ? p : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		p, _ := chromedp.Run(tab, chromedp.Evaluate[place](placeJS))
		t.Fatalf("the ended run is not listed as done: %+v (%v)", p, err)
	}
	if ended.GoDisabled != "false" || ended.First != paced {
		t.Errorf("once the session ends: %+v; want Replay available and the run still first", ended)
	}
	if ended.Top != running.Top {
		t.Errorf("the diagram moved from y=%v to y=%v when the session ended; want it to stay", running.Top, ended.Top)
	}
	if ended.DrawingTop != running.DrawingTop {
		t.Errorf("the drawing moved from y=%v to y=%v under the toolbar when the session ended; want it to stay", running.DrawingTop, ended.DrawingTop)
	}
	recent, err := chromedp.Run(tab, chromedp.Poll[[]string](`(() => { const l = [...document.querySelectorAll('#recent-sessions a')].map((a) => a.dataset.id); return l.length >= 2 && !document.getElementById('recent').hidden ? l : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("no recent runs listed: %v", err)
	}
	if recent[0] != paced || !slices.Contains(recent, id) {
		t.Errorf("recent runs %v; want %s first, %s among them", recent, paced, id)
	}
}

// TestLegibleBrowserFailedRunKeepsItsPlace watches a run fail before its
// first call on the main page: the replay controls, shown while it ran,
// have nothing to replay, and go out of sight and reach without the
// diagram moving up: a line in their place says there is nothing to
// replay.
func TestLegibleBrowserFailedRunKeepsItsPlace(t *testing.T) {
	ts, store := storeServer(t, web.Config{})
	tab := newTab(t)
	sess := trace.NewSession("serviceclient", nil, trace.Options{})
	sess.AddActor("client")
	sess.AddActor("server")
	store.Add(sess)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+sess.ID())); err != nil {
		t.Fatal(err)
	}
	const placeJS = `(() => {
	  const box = document.getElementById('replay'), go = document.getElementById('replay-go'), none = document.getElementById('replay-none');
	  const seen = (e) => e.checkVisibility({visibilityProperty: true}) && e.getBoundingClientRect().width > 0;
	  return {top: document.getElementById('diagram').getBoundingClientRect().top + scrollY, state: document.getElementById('diagram').dataset.state,
	    shown: !box.hidden && seen(go), focusable: go.checkVisibility({visibilityProperty: true}),
	    says: seen(none) && document.elementFromPoint(none.getBoundingClientRect().left + 5, (none.getBoundingClientRect().top + none.getBoundingClientRect().bottom) / 2) === none ? none.textContent : '',
	    listed: [...document.querySelectorAll('#recent-sessions a')].map((a) => a.textContent).join(' / '), status: document.getElementById('status')?.textContent ?? ''};
	})()`
	type place struct {
		Top       float64 `json:"top"`
		State     string  `json:"state"`
		Shown     bool    `json:"shown"`
		Focusable bool    `json:"focusable"`
		Says      string  `json:"says"` // the line in the controls' place, if it shows
		Listed    string  `json:"listed"`
		Status    string  `json:"status"`
	}
	// Once the recent runs list the page's own run: the list grows as the
	// run starts (TestLegibleBrowserReplayAndProgress).
	running, err := chromedp.Run(tab, chromedp.Poll[place](`(() => { const p = `+placeJS+`; return p.state === 'running' && p.listed.endsWith('running') ? p : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the session never showed as running: %v", err)
	}
	if !running.Shown || running.Says != "" {
		t.Errorf("while the session runs: %+v; want the replay controls shown, and no line saying there is nothing to replay", running)
	}
	sess.Finish(errors.New("the server went away"))
	failed, err := chromedp.Run(tab, chromedp.Poll[place](`(() => { const p = `+placeJS+`; return p.state === 'failed' && p.listed.endsWith('failed') ? p : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		p, _ := chromedp.Run(tab, chromedp.Evaluate[place](placeJS))
		t.Fatalf("the failed session never showed as failed: %+v (%v)", p, err)
	}
	if failed.Shown || failed.Focusable {
		t.Errorf("a failed run with no calls: %+v; want no replay controls in sight or reach", failed)
	}
	if !strings.HasPrefix(failed.Says, "Nothing to replay") {
		t.Errorf("a failed run with no calls: %+v; want a line in the controls' place saying there is nothing to replay", failed)
	}
	if failed.Top != running.Top {
		t.Errorf("the diagram moved from y=%v to y=%v when the run failed; want it to stay", running.Top, failed.Top)
	}
	// The line stays in the controls' box on every screen (the box grows
	// if it must), clear of what is above and below it.
	dir := legibleShotDir(t)
	for _, v := range append(legibleViews, legibleView{"320x640-light", 320, 640, true, "light"}) {
		setView(t, tab, v)
		const fitJS = `(async () => {
		  document.getElementById('replay').scrollIntoView({block: 'center'});
		  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
		  const box = document.getElementById('replay').getBoundingClientRect(), text = document.createRange();
		  text.selectNodeContents(document.getElementById('replay-none'));
		  const line = text.getBoundingClientRect(); // the text's own extent
		  const above = document.getElementById('about').getBoundingClientRect(), below = document.getElementById('diagram').getBoundingClientRect();
		  const problems = [];
		  if (line.top < box.top - 0.5 || line.bottom > box.bottom + 0.5 || line.left < box.left - 0.5 || line.right > box.right + 0.5) problems.push('the line ' + JSON.stringify(line) + ' leaves its box ' + JSON.stringify(box));
		  if (box.top < above.bottom - 0.5 || box.bottom > below.top + 0.5) problems.push('the box ' + JSON.stringify(box) + ' overlaps the text above or the diagram below');
		  return problems.join('; ');
		})()`
		problems, err := chromedp.Run(tab, chromedp.Evaluate[string](fitJS, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if problems != "" {
			t.Errorf("%s: %s", v.name, problems)
		}
		if dir != "" {
			writeScreenshot(t, tab, filepath.Join(dir, "failed-empty-"+v.name+".png"))
		}
	}
	// Back to the home page: no session, so no replay box and no line.
	home := `history.pushState({}, '', '/'); dispatchEvent(new PopStateEvent('popstate')); document.getElementById('replay').hidden && document.getElementById('replay-none').checkVisibility() === false`
	if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](home)); err != nil || !ok {
		t.Errorf("on the home page after the failed run: the replay box or its line still shows (%v); want neither", err)
	}
}

// TestLegibleBrowserFanOfReads draws a finished session of one write read
// 100 bytes at a time, 10,000 times: every arrow starts at the write, each
// longer than the last. The page used to spend minutes placing their
// labels (it never drew the session); now it must draw it within
// waitDrawn's 30 s in every view, legible, the bottom as well as the top.
// The page puts a chunk of rows' marks in the DOM when it comes near the
// viewport: the whole session's marks are counted in its SVG export,
// which draws every chunk, and the last one must be there once scrolled to.
func TestLegibleBrowserFanOfReads(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	dir := legibleShotDir(t)
	id := createSession(t, ts.URL, `{"scenario": "stream", "params": {"size": 1048576, "chunk": 100, "writes": 5}}`)
	waitDone(t, ts.URL, id)
	for _, v := range legibleViews {
		t.Run(v.name, func(t *testing.T) {
			openInView(t, tab, v, ts.URL, id)
			for _, where := range []string{"start", "end"} {
				if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector('seq-diagram');
				  el.scrollIntoView({block: 'start'});
				  const vp = el.shadowRoot.querySelector('.viewport'); vp.scrollTop = %q === 'end' ? vp.scrollHeight : 0; })()`, where))); err != nil {
					t.Fatal(err)
				}
				res := checkView(t, tab, dir, fmt.Sprintf("fan-%s-%s.png", where, v.name))
				if res.Lifelines == 0 {
					t.Errorf("%s, scrolled to the %s: no lifeline in view", v.name, where)
				}
				for _, p := range res.Problems {
					t.Errorf("%s, scrolled to the %s: %s", v.name, where, p)
				}
			}
			last, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(() => { const el = document.querySelector('seq-diagram');
			  return !!el.shadowRoot.querySelector('svg.seq-diagram .event[data-seq="' + el.events[el.events.length - 1].seq + '"]'); })()`))
			if err != nil || !last {
				t.Errorf("scrolled to the end, the last event has no mark (%v)", err)
			}
			marks, err := chromedp.Run(tab, chromedp.Evaluate[int](`new DOMParser().parseFromString(document.querySelector('seq-diagram').exportSVG(), 'image/svg+xml').querySelectorAll('.event[data-seq]').length`))
			if err != nil || marks < 10_000 {
				t.Fatalf("%d marks drawn (%v); want the whole session's", marks, err)
			}
		})
	}
}

// TestLegibleBrowserHighlightOfAFan hovers the write of a fan of 2,000
// reads: every arrow from it is highlighted, those of chunks far from the
// viewport (drawn as one path a chunk until they come near) in a path of
// their own, the others one by one, and scrolling to the middle moves the
// arrows whose chunks it draws from the one to the other.
func TestLegibleBrowserHighlightOfAFan(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario": "stream", "params": {"size": 200000, "chunk": 100, "writes": 2}}`)
	waitDone(t, ts.URL, id)
	setView(t, tab, legibleViews[0])
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, tab, id)
	type highlight struct {
		Arrows  int `json:"arrows"`  // all the arrows from the write
		Lit     int `json:"lit"`     // drawn one by one, highlighted
		Bundled int `json:"bundled"` // in the overlay's path (its "M" moves: two an arrow)
		Unlit   int `json:"unlit"`   // drawn one by one, not highlighted
	}
	const read = `(() => { const el = document.querySelector('seq-diagram'); const r = el.shadowRoot;
	  const w = el.events.find((e) => e.kind === 'send' && e.bytes >= 200000);
	  const drawn = [...r.querySelectorAll('.msg[data-send-seq="' + w.seq + '"]')];
	  const d = r.querySelector('.layer-bundle-hl path')?.getAttribute('d') ?? '';
	  const lo = w.offset ?? 0, hi = lo + w.bytes;
	  const arrows = el.events.filter((e) => e.kind === 'recv' && e.conn === w.conn && e.bytes > 0 && e.offset < hi && e.offset + e.bytes > lo).length;
	  return {arrows, lit: drawn.filter((a) => a.classList.contains('hl')).length, unlit: drawn.filter((a) => !a.classList.contains('hl')).length,
	    bundled: (d.match(/M/g) ?? []).length / 2}; })()`
	got, err := chromedp.Run(tab, chromedp.Evaluate[highlight](`(() => { const el = document.querySelector('seq-diagram'); const r = el.shadowRoot;
	  const w = el.events.find((e) => e.kind === 'send' && e.bytes >= 200000);
	  r.querySelector('.event[data-seq="' + w.seq + '"]').dispatchEvent(new PointerEvent('pointerover', {bubbles: true})); return 0; })() || `+read))
	if err != nil {
		t.Fatal(err)
	}
	if got.Lit+got.Bundled != got.Arrows || got.Unlit != 0 || got.Bundled == 0 {
		t.Fatalf("hovering the write: %+v; want all its arrows lit, some in the overlay, none unlit", got)
	}
	before := got.Bundled
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`(() => { const vp = document.querySelector('seq-diagram').shadowRoot.querySelector('.viewport'); vp.scrollTop = vp.scrollHeight / 2; })()`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`(() => { const h = `+read+`; return h.lit + h.bundled === h.arrows && h.unlit === 0 && h.bundled < `+fmt.Sprint(before)+`; })()`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		got, _ = chromedp.Run(tab, chromedp.Evaluate[highlight](read))
		t.Errorf("scrolled to the middle: %+v; want every arrow still lit, fewer in the overlay than %d", got, before)
	}
}

// TestLegibleBrowserStickyNamesBar scrolls a finished session's diagram
// halfway down, in each view: the lifeline names stick to its top on a bar
// of the page's background across the diagram, so what scrolls under them
// goes out of sight whole (no label half beside a name), and what is in
// view below the bar is legible.
func TestLegibleBrowserStickyNamesBar(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	dir := legibleShotDir(t)
	for _, sess := range []struct{ name, body string }{
		{"echo", `{"scenario": "echo", "params": {"rounds": 30}}`},
		{"concurrent", `{"scenario": "concurrent", "params": {"clients": 6}}`}, // seven names on a phone
	} {
		id := createSession(t, ts.URL, sess.body)
		waitDone(t, ts.URL, id)
		for _, v := range legibleViews {
			t.Run(sess.name+" "+v.name, func(t *testing.T) {
				checkStickyNames(t, tab, v, ts.URL, id, filepath.Join(dir, "sticky-names-"+sess.name+"-"+v.name+".png"))
			})
		}
	}
}

// checkStickyNames opens session id in view v, scrolls its diagram halfway
// and checks the sticky names: the bar under and beside them, each name
// whole in its box and clear of the others, and the labels below legible.
// shot, when its directory is not "", is where the view is photographed.
func checkStickyNames(t *testing.T, tab context.Context, v legibleView, base, id, shot string) {
	t.Helper()
	openInView(t, tab, v, base, id)
	waitFitted(t, tab)
	// Beside and between the names, at their middle and just below
	// them: the bar, nothing of the drawing.
	const barJS = `(async () => {
	  const r = document.querySelector('seq-diagram').shadowRoot, vp = r.querySelector('.viewport');
	  vp.scrollIntoView({block: 'start'}); scrollBy(0, -60);
	  vp.scrollTop = (vp.scrollHeight - vp.clientHeight) / 2;
	  await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
	  if (!vp.classList.contains('scrolled')) return ['the viewport is not marked scrolled at scrollTop ' + vp.scrollTop];
	  const heads = [...r.querySelectorAll('.actor-head')].map((h) => h.getBoundingClientRect());
	  const v = vp.getBoundingClientRect(), c = r.querySelector('.canvas').getBoundingClientRect();
	  const problems = [];
	  r.querySelectorAll('.actor-head').forEach((h, i) => {
	    if (h.scrollWidth > h.clientWidth + 1) problems.push('the name ' + h.textContent + ' is cut by its box');
	    if (i > 0 && heads[i - 1].right > heads[i].left + 0.5) problems.push('the names ' + h.previousElementSibling.textContent + ' and ' + h.textContent + ' overlap');
	  });
	  for (const y of [(heads[0].top + heads[0].bottom) / 2, heads[0].bottom + 2]) {
	    for (let x = Math.max(v.left, c.left) + 4; x < Math.min(v.left + vp.clientWidth, c.right) - 4; x += 12) {
	      if (y < heads[0].bottom && heads.some((h) => x >= h.left && x <= h.right)) continue; // a name
	      const hit = r.elementFromPoint(x, y);
	      if (!hit?.closest?.('.heads')) problems.push(hit?.tagName + '.' + (hit?.getAttribute('class') ?? '') + ' shows at ' + Math.round(x) + ',' + Math.round(y));
	    }
	  }
	  return problems;
	})()`
	problems, err := chromedp.Run(tab, chromedp.Evaluate[[]string](barJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("under the sticky names, %d points show the drawing, e.g. %v; want the bar", len(problems), problems[:min(len(problems), 4)])
	}
	dir, name := filepath.Split(shot)
	res := checkView(t, tab, strings.TrimSuffix(dir, "/"), name)
	if len(res.Problems) > 0 || res.Labels == 0 {
		t.Errorf("scrolled halfway, %d labels checked: %v", res.Labels, res.Problems)
	}
}
