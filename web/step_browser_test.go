package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"seqd/trace"
	"seqd/web"
)

// stepView is what a page shows of a stepped session, read from the
// <seq-diagram> shadow DOM.
type stepView struct {
	State   string `json:"state"`
	Session string `json:"session"`
	Role    string `json:"role"` // data-step: "control" (holds the token), "watch", or ""
	Marks   int    `json:"marks"`
	Rows    int    `json:"rows"`
	// NextShown: the Next button shows (only the browser with the token);
	// NextReady: and no step is on its way.
	NextShown bool `json:"nextShown"`
	NextReady bool `json:"nextReady"`
	Pending   *struct {
		Actor    string `json:"actor"`
		Kind     string `json:"kind"`
		Src      string `json:"src"`
		Line     int    `json:"line"`
		Question bool   `json:"question"`
	} `json:"pending"`
	Message     string  `json:"message"`     // the element's message line, when it shows
	Ghost       *lineAt `json:"ghost"`       // the ghost mark of the pending call
	Current     *lineAt `json:"current"`     // the code line marked current
	PendingLine *lineAt `json:"pendingLine"` // the code line marked pending
	Lines       int     `json:"lines"`       // lines in the code pane
}

type lineAt struct {
	Actor string `json:"actor"`
	Src   string `json:"src"`
	Line  int    `json:"line"`
	Text  string `json:"text"`
}

const readStep = `(() => {
  const el = document.querySelector('seq-diagram');
  const r = el && el.shadowRoot;
  if (!r) return {state: ''};
  const at = (n) => n ? {actor: n.dataset.actor || '', src: n.dataset.src || '', line: Number(n.dataset.line || 0), text: n.textContent} : null;
  const next = r.querySelector('[data-step="next"]');
  const p = el.pending;
  return {
    state: el.dataset.state || '',
    session: el.dataset.session || '',
    role: el.dataset.step || '',
    marks: r.querySelectorAll('svg.seq-diagram .event[data-seq]').length,
    rows: r.querySelectorAll('.transcript tr[data-seq]').length,
    nextShown: !!next && next.checkVisibility(),
    nextReady: !!next && next.checkVisibility() && next.getAttribute('aria-disabled') !== 'true',
    pending: p ? {actor: p.actor, kind: p.kind, src: p.src || '', line: p.line || 0, question: !!p.question} : null,
    ghost: at(r.querySelector('svg.seq-diagram .layer-pending .pending')),
    current: at(r.querySelector('.code .line.current')),
    pendingLine: at(r.querySelector('.code .line.pending')),
    lines: r.querySelectorAll('.code .line[data-src][data-line]').length,
    message: r.querySelector('.message:not([hidden])')?.textContent || '',
  };
})()`

func readStepView(t *testing.T, tab context.Context) stepView {
	t.Helper()
	return evalJS[stepView](t, tab, readStep)
}

// pollStep waits until the page's step view satisfies the JS condition on
// v (the object readStep returns), and returns it.
func pollStep(t *testing.T, tab context.Context, cond, what string) stepView {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const v = %s; return (%s) ? v : null; })()`, readStep, cond)
	v, err := chromedp.Run(tab, chromedp.Poll[stepView](expr, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v (page shows %+v)", what, err, readStepView(t, tab))
	}
	return v
}

// pressNext presses Next the way i says: the button, →, or the space bar
// with focus on no control.
func pressNext(t *testing.T, tab context.Context, i int) {
	t.Helper()
	var err error
	switch i % 3 {
	case 0:
		err = chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('[data-step="next"]').click()`))
	case 1:
		err = chromedp.Do(tab, chromedp.KeyEvent(kb.ArrowRight))
	default:
		err = chromedp.Do(tab,
			chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
			chromedp.KeyEvent(" "))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// stepFor presses Next the way i says (pressNext) for the call the page
// shows as pending, with before marks drawn, and waits until the step's
// event is drawn. It returns false when the page says instead that the
// next call changed just before the step: the server answered 412, since
// another call had arrived and taken the pending one's place (the page
// then shows that one). The caller reads the new pending call and presses
// again. The page's message is emptied first, so what shows after is this
// press's.
func stepFor(t *testing.T, tab context.Context, i, before int, what string) bool {
	t.Helper()
	const clear = `(() => { const m = document.querySelector('seq-diagram').shadowRoot.querySelector('.message'); m.textContent = ''; m.hidden = true; })()`
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](clear)); err != nil {
		t.Fatal(err)
	}
	pressNext(t, tab, i)
	v := pollStep(t, tab, fmt.Sprintf(`v.marks > %d || v.message.includes('changed just before')`, before), what)
	if v.Marks > before {
		return true
	}
	t.Logf("%s: %s", what, v.Message)
	return false
}

// stepToQuestion presses Next until the page's pending call asks a
// question, and returns the page's step view then.
func stepToQuestion(t *testing.T, tab context.Context) stepView {
	t.Helper()
	for i := 0; ; i++ {
		v := pollStep(t, tab, `v.state !== 'running' || (v.pending && v.ghost && v.nextReady)`, "a pending call")
		if v.State != "running" || i > 40 {
			t.Fatalf("no question after %d steps (state %s)", i, v.State)
		}
		if v.Pending.Question {
			return v
		}
		stepFor(t, tab, 0, v.Marks, "a step") // or the next call changed: the loop reads it
	}
}

// stepFetch POSTs a step from the page with the given Authorization
// header ("" for none) and returns the status.
func stepFetch(t *testing.T, tab context.Context, id, auth string) int {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
	  const headers = %q ? {Authorization: %q} : {};
	  const res = await fetch('/api/sessions/' + %q + '/step', {method: 'POST', headers});
	  return res.status;
	})()`, auth, auth, id)
	status, err := chromedp.Run(tab, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// startFromPage checks the teaching options on the main page, presses the
// scenario's button and returns the new session's id.
func startFromPage(t *testing.T, tab context.Context, base, scenario string, questions bool) string {
	t.Helper()
	if err := chromedp.Do(tab,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`button[data-scenario="`+scenario+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#step-mode`)),
	); err != nil {
		t.Fatal(err)
	}
	set := fmt.Sprintf(`(() => {
	  const step = document.getElementById('step-mode');
	  if (!step.checked) step.click();
	  const q = document.getElementById('questions');
	  if (q.checked !== %v) q.click();
	  return step.checked && !q.disabled && q.checked === %v;
	})()`, questions, questions)
	ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](set))
	if err != nil || !ok {
		t.Fatalf("checking Step mode (and Questions %v): %v %v", questions, ok, err)
	}
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`button[data-scenario="`+scenario+`"]`))); err != nil {
		t.Fatal(err)
	}
	path, err := chromedp.Run(tab, chromedp.Poll[string](`location.pathname.startsWith('/s/') ? location.pathname : null`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the address never became /s/{id}: %v", err)
	}
	return strings.TrimPrefix(path, "/s/")
}

func TestStepBrowserStepsCallByCall(t *testing.T) {
	tab := newTab(t)
	ts := newTestServer(t, web.Config{})
	id := startFromPage(t, tab, ts.URL, "serviceclient", false)

	if rec := getRecord(t, ts.URL, id); !rec.Step || rec.Scenario != "serviceclient" {
		t.Fatalf("the page started %s with step %v; want a stepped serviceclient session", rec.Scenario, rec.Step)
	}
	v := pollStep(t, tab, `v.pending && v.nextShown && v.role === 'control' && v.lines > 0`, "the first pending call, Next and the code pane")
	if v.Marks != 0 {
		t.Fatalf("%d events before any step; want none", v.Marks)
	}

	var viewer context.Context // a second tab on /s/{id}, from step 3 on
	for i := 0; ; i++ {
		if i > 60 {
			t.Fatal("more than 60 steps")
		}
		// Wait for the next call to show as pending, or for the end.
		v = pollStep(t, tab, `v.state !== 'running' || (v.pending && v.ghost && v.pendingLine && v.nextReady)`, fmt.Sprintf("pending call %d", i))
		if v.State != "running" {
			break
		}
		p := *v.Pending
		if v.Ghost.Actor != p.Actor || v.Ghost.Line != p.Line || !strings.HasPrefix(v.Ghost.Text, "next: ") {
			t.Errorf("step %d: the ghost mark %+v does not show pending %+v", i, *v.Ghost, p)
		}
		if v.PendingLine.Src != p.Src || v.PendingLine.Line != p.Line {
			t.Errorf("step %d: code line %+v marked pending; want %s:%d", i, *v.PendingLine, p.Src, p.Line)
		}
		before := v.Marks

		if i == 3 {
			// A second viewer follows the same session, without the token.
			var cancel context.CancelFunc
			viewer, cancel = chromedp.NewContext(tab)
			t.Cleanup(cancel)
			if err := chromedp.Do(viewer, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
				t.Fatal(err)
			}
			w := pollStep(t, viewer, fmt.Sprintf(`v.marks === %d && v.pending && v.role === 'watch'`, before), "the second viewer's page")
			if w.NextShown {
				t.Error("the second viewer, who has no token, is shown Next")
			}
			for _, auth := range []string{"", "Bearer not-the-token"} {
				if status := stepFetch(t, viewer, id, auth); status != http.StatusForbidden {
					t.Errorf("a step from the second viewer with Authorization %q: %d; want 403", auth, status)
				}
			}
			if n := len(getRecord(t, ts.URL, id).Events); n != before {
				t.Errorf("refused steps made calls: %d events; want %d", n, before)
			}
		}
		if i == 6 {
			// A reload of /s/{id} in the same tab can still step.
			if err := chromedp.Do(tab, chromedp.Reload()); err != nil {
				t.Fatal(err)
			}
			pollStep(t, tab, fmt.Sprintf(`v.marks === %d && v.pending && v.nextShown && v.role === 'control'`, before), "Next after a reload")
		}

		if !stepFor(t, tab, i, before, fmt.Sprintf("the event of step %d", i)) {
			continue // another call is pending now: step that one
		}
		v = pollStep(t, tab, fmt.Sprintf(`v.marks >= %d && v.rows >= %d`, before+1, before+1), fmt.Sprintf("the event of step %d", i))
		// The step's response comes after its event is recorded: once the
		// next call shows (or the session ends), no second event may have
		// slipped in.
		v = pollStep(t, tab, fmt.Sprintf(`v.state !== 'running' || v.pending || v.marks > %d`, before+1), fmt.Sprintf("what follows step %d", i))
		rec := getRecord(t, ts.URL, id)
		if v.Marks != before+1 || len(rec.Events) != before+1 {
			t.Fatalf("step %d: %d marks, %d events recorded; want exactly one more than %d", i, v.Marks, len(rec.Events), before)
		}
		e := rec.Events[before]
		if e.Actor != p.Actor || string(e.Kind) != p.Kind || e.Line != p.Line {
			t.Errorf("step %d made %s %s (line %d); pending was %+v", i, e.Actor, e.Kind, e.Line, p)
		}
		if v.Current == nil || v.Current.Src != e.Src || v.Current.Line != e.Line {
			t.Errorf("step %d: code line %+v marked current; want the event's %s:%d", i, v.Current, e.Src, e.Line)
		}
		if viewer != nil {
			w := pollStep(t, viewer, fmt.Sprintf(`v.marks === %d && v.rows === %d`, before+1, before+1), fmt.Sprintf("the second viewer to see step %d", i))
			if w.Current == nil || w.Current.Src != v.Current.Src || w.Current.Line != v.Current.Line {
				t.Errorf("step %d: the second viewer marks line %+v; the stepper %+v", i, w.Current, v.Current)
			}
		}
	}

	rec := waitDone(t, ts.URL, id)
	if rec.State != trace.StateDone {
		t.Fatalf("the stepped session ended %s: %s", rec.State, rec.Error)
	}
	checkDrawing(t, waitDrawn(t, tab, id), rec)
	if viewer == nil {
		t.Fatal("the session ended before the second viewer came")
	}
	checkDrawing(t, waitDrawn(t, viewer, id), rec)
	if v := readStepView(t, tab); v.NextShown || v.Ghost != nil || v.PendingLine != nil {
		t.Errorf("after the end the page still shows Next, a ghost or a pending line: %+v", v)
	}
}

// questionView is the question a page shows.
type questionView struct {
	Shown    bool     `json:"shown"`
	Revealed bool     `json:"revealed"`
	Text     string   `json:"text"`
	Choices  []string `json:"choices"`
	Counts   []int    `json:"counts"`
	Pressed  int      `json:"pressed"`
	Right    int      `json:"right"`
	Result   string   `json:"result"`
	// LastRight: the right choice of the question before, once a new one
	// took its place (-1 for none).
	LastRight int `json:"lastRight"`
}

const readQuestion = `(() => {
  const r = document.querySelector('seq-diagram').shadowRoot;
  const q = r.querySelector('.question');
  const bs = [...r.querySelectorAll('.question button[data-choice]')];
  return {
    shown: !!q && q.checkVisibility(),
    revealed: !!q && q.classList.contains('revealed'),
    text: r.querySelector('.q-text').textContent,
    choices: bs.map(b => b.querySelector('.text').textContent),
    counts: bs.map(b => Number(b.querySelector('.count').textContent)),
    pressed: bs.findIndex(b => b.getAttribute('aria-pressed') === 'true'),
    right: bs.findIndex(b => b.classList.contains('right')),
    result: r.querySelector('.q-result').textContent,
    lastRight: r.querySelector('.q-last').hidden ? -1 : Number(r.querySelector('.q-last').dataset.right),
  };
})()`

func pollQuestion(t *testing.T, tab context.Context, cond, what string) questionView {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const q = %s; return (%s) ? q : null; })()`, readQuestion, cond)
	q, err := chromedp.Run(tab, chromedp.Poll[questionView](expr, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		now, _ := chromedp.Run(tab, chromedp.Evaluate[questionView](readQuestion))
		t.Fatalf("waiting for %s: %v (page shows %+v)", what, err, now)
	}
	return q
}

func clickChoice(t *testing.T, tab context.Context, i int) {
	t.Helper()
	js := fmt.Sprintf(`document.querySelector('seq-diagram').shadowRoot.querySelector('.question button[data-choice="%d"]').click()`, i)
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](js)); err != nil {
		t.Fatal(err)
	}
}

// TestStepBrowserQuestions asks, answers and reveals a question in two
// tabs, and takes the README's screenshot of step mode when
// SEQD_SCREENSHOT_DIR is set.
func TestStepBrowserQuestions(t *testing.T) {
	tab := newTab(t)
	shots := os.Getenv("SEQD_SCREENSHOT_DIR")
	if shots != "" {
		if err := chromedp.Do(tab, chromedp.EmulateViewport(1600, 1080)); err != nil {
			t.Fatal(err)
		}
	}
	ts := newTestServer(t, web.Config{})
	id := startFromPage(t, tab, ts.URL, "serviceclient", true)
	if rec := getRecord(t, ts.URL, id); !rec.Step || !rec.Questions {
		t.Fatalf("the page started a session with step %v, questions %v; want both", rec.Step, rec.Questions)
	}

	// Step until the server's read after the client shut down is pending:
	// the first call serviceclient asks about.
	v := stepToQuestion(t, tab)
	q := pollQuestion(t, tab, `q.shown && !q.revealed && q.choices.length >= 3`, "the question on the stepper's page")
	pending := getRecord(t, ts.URL, id).Pending
	if pending == nil || pending.Question == nil || q.Text == "" || !strings.Contains(q.Text, pending.Question.Text) {
		t.Fatalf("the page asks %q; the server's pending call %+v", q.Text, pending)
	}
	if !strings.Contains(v.Ghost.Text, "predict") {
		t.Errorf("the ghost mark %q does not say there is a question", v.Ghost.Text)
	}

	viewer, cancel := chromedp.NewContext(tab)
	defer cancel()
	if err := chromedp.Do(viewer, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	pollQuestion(t, viewer, `q.shown && !q.revealed && q.choices.length >= 3`, "the question on the viewer's page")

	// The stepper's tab and the viewer's tab answer, each with the token
	// its stream handed it (two viewers), and two more viewers answer
	// through the API with tokens of their own streams.
	clickChoice(t, tab, 0)
	pollQuestion(t, viewer, `q.counts[0] === 1`, "the viewer's tally to count the stepper's answer")
	clickChoice(t, viewer, 1)
	for i := range 2 {
		token := viewerToken(t, ts.URL, id)
		resp, b := do(t, "POST", ts.URL+"/api/sessions/"+id+"/answer", "application/json", fmt.Sprintf(`{"viewer":%q,"choice":%d}`, token, i))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("answer: %d %s", resp.StatusCode, b)
		}
	}
	q = pollQuestion(t, tab, `q.counts[0] === 2 && q.counts[1] === 2`, "the live tally on the stepper's page")
	if q.Pressed != 0 {
		t.Errorf("the stepper's page marks choice %d as its answer; want 0", q.Pressed)
	}
	if w := pollQuestion(t, viewer, `q.counts[0] === 2 && q.counts[1] === 2`, "the live tally on the viewer's page"); w.Pressed != 1 {
		t.Errorf("the viewer's page marks choice %d as its answer; want 1", w.Pressed)
	}

	if shots != "" {
		// The README's picture: step mode with the code pane, the pending
		// call and its question.
		shootDiagram(t, tab, filepath.Join(shots, "step-mode.png"))
	}

	before := v.Marks
	asked := q
	pending = getRecord(t, ts.URL, id).Pending
	if pending == nil || pending.Question == nil {
		t.Fatalf("the session asks no question about its pending call: %+v", pending)
	}
	if !stepFor(t, tab, 1, before, "the step asked about") {
		t.Fatal("the call asked about was no longer the next when it was stepped")
	}
	pollStep(t, tab, fmt.Sprintf(`v.marks > %d && (v.state !== 'running' || v.pending)`, before), "the step asked about")
	rec := getRecord(t, ts.URL, id)
	if len(rec.Events) != before+1 {
		t.Fatalf("%d events after the step; want %d", len(rec.Events), before+1)
	}
	e := rec.Events[before]
	// The one grader is the server's (trace.Question.Grade): the event
	// names the choice it bore out by id, and the page shows that one.
	graded := pending.Question.Grade(&e)
	if e.Answer != graded {
		t.Errorf("the event of the call asked about carries answer %q; want %q (Question.Grade)", e.Answer, graded)
	}
	want := slices.Index(pending.Question.IDs, graded)
	if want < 0 {
		t.Fatalf("no choice of %v fits the revealed %s (%+v)", pending.Question.IDs, e.Call(), e)
	}
	// The answer shows in the question, or, when the next call asks
	// another, in the line above it.
	for name, page := range map[string]context.Context{"stepper": tab, "viewer": viewer} {
		q := pollQuestion(t, page, `(q.revealed && q.right >= 0) || q.lastRight >= 0`, "the reveal on the "+name+"'s page")
		if q.Revealed {
			if q.Right != want || fmt.Sprint(q.Counts) != fmt.Sprint(asked.Counts) || !strings.Contains(q.Result, q.Choices[want]) {
				t.Errorf("the %s's page reveals choice %d with tally %v (%q); want %d with the final tally %v", name, q.Right, q.Counts, q.Result, want, asked.Counts)
			}
		} else if q.LastRight != want {
			t.Errorf("the %s's page says choice %d was right; want %d for %s", name, q.LastRight, want, e.Call())
		}
	}

	// Run to end releases the rest.
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('[data-step="run"]').click()`)); err != nil {
		t.Fatal(err)
	}
	if rec := waitDone(t, ts.URL, id); rec.State != trace.StateDone {
		t.Fatalf("after Run to end: %s %s", rec.State, rec.Error)
	} else {
		checkDrawing(t, waitDrawn(t, tab, id), rec)
		checkDrawing(t, waitDrawn(t, viewer, id), rec)
	}
	// The last question asked shows its result; no line above it still
	// tells of the one before as if it were the latest.
	if q := evalJS[questionView](t, tab, readQuestion); q.Revealed && q.LastRight >= 0 {
		t.Errorf("after Run to end the question shows its result (%q) and the line of the question before (choice %d) stays; want only the result", q.Result, q.LastRight)
	}

	// The tally travels with the call's event: a replay of the finished
	// session, opened afresh, says how the class voted on it.
	e = getRecord(t, ts.URL, id).Events[before]
	if e.Asked == nil || e.Asked.Text != pending.Question.Text || fmt.Sprint(e.Asked.Tally) != fmt.Sprint(asked.Counts) {
		t.Fatalf("the event asked about carries %+v; want the question with the final tally %v", e.Asked, asked.Counts)
	}
	replay, cancelReplay := chromedp.NewContext(tab)
	defer cancelReplay()
	if err := chromedp.Do(replay, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	waitDrawn(t, replay, id)
	wantNote := fmt.Sprintf("the class was asked: %d of 4 answers right", asked.Counts[want])
	note := fmt.Sprintf(`(() => { const td = document.querySelector('seq-diagram').shadowRoot.querySelector('tr[data-seq="%d"] td.note'); return td ? td.textContent : ''; })()`, e.Seq)
	if _, err := chromedp.Run(replay, chromedp.Poll[bool](fmt.Sprintf(`%s.includes(%q)`, note, wantNote), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(replay, chromedp.Evaluate[string](note))
		t.Errorf("the replay's transcript note for #%d is %q; want it to say %q", e.Seq, got, wantNote)
	}
}

// TestStepBrowserCodePane checks the code pane of a finished session:
// listings for both programs, a line per event's line marked called,
// picking a mark marks its line, and picking a line marks its calls.
func TestStepBrowserCodePane(t *testing.T) {
	tab := newTab(t)
	ts := newTestServer(t, web.Config{})
	_, rec, d := openFinished(t, tab, ts.URL, `{"scenario":"serviceclient"}`)
	checkDrawing(t, d, rec)
	last := rec.Events[len(rec.Events)-1]
	v := pollStep(t, tab, `v.current && v.lines > 0`, "the code pane")
	if v.Current.Src != last.Src || v.Current.Line != last.Line {
		t.Errorf("line %+v marked current; want the last event's %s:%d", v.Current, last.Src, last.Line)
	}

	// Clicking a mark marks its line; clicking a line marks its calls.
	var recv trace.Event
	for _, e := range rec.Events {
		if e.Kind == trace.KindRecv && e.Actor == "server" {
			recv = e
			break
		}
	}
	js := fmt.Sprintf(`(() => {
	  const r = document.querySelector('seq-diagram').shadowRoot;
	  r.querySelector('svg.seq-diagram .event[data-seq="%d"]').dispatchEvent(new MouseEvent('click', {bubbles: true}));
	  const hl = r.querySelector('.code .line.hl');
	  return hl ? hl.dataset.src + ':' + hl.dataset.line : '';
	})()`, recv.Seq)
	got, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s:%d", recv.Src, recv.Line); got != want {
		t.Errorf("clicking mark %d marked line %q; want %q", recv.Seq, got, want)
	}
	var wantSeqs []int
	for _, e := range rec.Events {
		if e.Src == recv.Src && e.Line == recv.Line {
			wantSeqs = append(wantSeqs, e.Seq)
		}
	}
	js = fmt.Sprintf(`(() => {
	  const r = document.querySelector('seq-diagram').shadowRoot;
	  r.querySelector('.code .line[data-src=%q][data-line="%d"]').click();
	  return {
	    marks: [...r.querySelectorAll('svg.seq-diagram .event.hl')].map(n => Number(n.dataset.seq)),
	    rows: [...r.querySelectorAll('.transcript tr.hl')].map(n => Number(n.dataset.seq)),
	  };
	})()`, recv.Src, recv.Line)
	hl, err := chromedp.Run(tab, chromedp.Evaluate[struct{ Marks, Rows []int }](js))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(hl.Marks) != fmt.Sprint(wantSeqs) || fmt.Sprint(hl.Rows) != fmt.Sprint(wantSeqs) {
		t.Errorf("clicking %s:%d highlighted marks %v and rows %v; want the calls it made, %v", recv.Src, recv.Line, hl.Marks, hl.Rows, wantSeqs)
	}

	// The transcript says what the kernel did, for every row.
	notes, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelector('seq-diagram').shadowRoot.querySelectorAll('.transcript tr[data-seq] td.note')].map(n => n.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != len(rec.Events) {
		t.Fatalf("%d note cells; want %d", len(notes), len(rec.Events))
	}
	for i, n := range notes {
		if n == "" {
			t.Errorf("event %d (%s) has no note", i, rec.Events[i].Call())
		}
	}
	for i, e := range rec.Events {
		if e.Kind == trace.KindShutdown && !strings.Contains(notes[i], "FIN") {
			t.Errorf("the note of %s says %q; want it to name the FIN", e.Call(), notes[i])
		}
	}

	// A saved record draws without a server: its own sources show, or no pane.
	saved, _ := json.Marshal(rec)
	for _, withSources := range []bool{false, true} {
		js := fmt.Sprintf(`(async () => {
		  const el = document.querySelector('seq-diagram');
		  const rec = %s;
		  if (%v) rec.sources = [{file: 'server.c', text: 'int main(void) {\n  return 0; /* <b>not bold</b> */\n}\n'}];
		  el.load(rec);
		  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)));
		  const r = el.shadowRoot;
		  return {pane: r.querySelector('.code').checkVisibility(), bold: r.querySelectorAll('.code b').length, lines: r.querySelectorAll('.code .line').length};
		})()`, saved, withSources)
		got, err := chromedp.Run(tab, chromedp.Evaluate[struct {
			Pane        bool
			Bold, Lines int
		}](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got.Pane != withSources || got.Bold != 0 || (withSources && got.Lines != 3) {
			t.Errorf("a saved record (sources %v): pane %v, %d lines, %d unescaped tags", withSources, got.Pane, got.Lines, got.Bold)
		}
	}
}

// TestStepBrowserSaysTheNextCallChanged makes the page's step arrive after
// another step took the call it was for: the page's fetch of the step is
// wrapped so that the same step (same ?pending=N, same token) goes first.
// The server refuses the page's with 412; the page says so without an
// error, lets nothing else through, shows the call pending now, and the
// next press steps that one and clears the message.
func TestStepBrowserSaysTheNextCallChanged(t *testing.T) {
	tab := newTab(t)
	ts := newTestServer(t, web.Config{})
	id := startFromPage(t, tab, ts.URL, "serviceclient", false)
	// Each press waits until both actors wait at their next calls: the
	// call shown pending then changes only by a step.
	settled := func(what string) stepView {
		time.Sleep(300 * time.Millisecond)
		return pollStep(t, tab, `v.pending && v.nextShown && v.nextReady && v.role === 'control'`, what)
	}
	v := settled("the first pending call and Next")
	before := v.Marks

	const ahead = `(() => {
	  const real = window.fetch;
	  window.stepsAhead_ = [];
	  window.fetch = async (url, init) => {
	    if (String(url).includes('/step?pending=') && window.stepsAhead_.length === 0) {
	      const first = await real(url, init); // the same step, first
	      window.stepsAhead_.push(first.status);
	    }
	    return real(url, init);
	  };
	})()`
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](ahead)); err != nil {
		t.Fatal(err)
	}
	pressNext(t, tab, 0)
	v = pollStep(t, tab, `v.message.includes('changed just before')`, "the page saying the next call changed")
	if ahead, err := chromedp.Run(tab, chromedp.Evaluate[[]int](`window.stepsAhead_`)); err != nil || len(ahead) != 1 || ahead[0] != http.StatusOK {
		t.Fatalf("the step sent ahead of the page's: %v %v; want one, answered 200", ahead, err)
	}
	isError, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('seq-diagram').shadowRoot.querySelector('.message').classList.contains('error')`))
	if err != nil || isError {
		t.Errorf("the 412 is shown as an error (%v): %q; want a plain status", err, v.Message)
	}
	// Only the step sent ahead made a call: the page's let nothing through.
	v = pollStep(t, tab, fmt.Sprintf(`v.marks === %d && v.pending && v.nextReady`, before+1), "the step sent ahead drawn and the next call pending")
	if n := len(getRecord(t, ts.URL, id).Events); n != before+1 {
		t.Fatalf("%d events after one step let through; want %d", n, before+1)
	}
	settled("the call pending after the 412")
	pressNext(t, tab, 0) // not stepFor: it would clear the message itself
	// The step's answer comes after its event is recorded, so after the
	// mark may come: wait for both.
	pollStep(t, tab, fmt.Sprintf(`v.marks > %d && v.message === ''`, before+1), "a step after the 412 drawn, and the page's message gone")
}

// TestStepBrowserSpaceStepsAfterAnAnswer answers a question with the
// mouse, as a presenter does, then presses Space: the call must be
// stepped (the answer not pressed again), and once the question's call is
// made the focus must be on the diagram, not the page's body.
func TestStepBrowserSpaceStepsAfterAnAnswer(t *testing.T) {
	tab := newTab(t)
	ts := newTestServer(t, web.Config{})
	startFromPage(t, tab, ts.URL, "serviceclient", true)
	v := stepToQuestion(t, tab)
	pollQuestion(t, tab, `q.shown && !q.revealed && q.choices.length >= 3`, "the question")
	type point struct{ X, Y float64 }
	at := evalJS[point](t, tab, `(() => { const b = document.querySelector('seq-diagram').shadowRoot.querySelector('.question button[data-choice="0"]');
	  b.scrollIntoView({block: 'center'}); const r = b.getBoundingClientRect(); return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()`)
	if err := chromedp.Do(tab, chromedp.MouseClickXY(at.X, at.Y)); err != nil {
		t.Fatal(err)
	}
	q := pollQuestion(t, tab, `q.pressed === 0`, "the answer counted")
	const focused = `(() => { const r = document.querySelector('seq-diagram').shadowRoot, a = r.activeElement;
	  return document.activeElement === document.body ? 'body' : a ? a.tagName + '.' + (a.getAttribute('class') ?? '') : document.activeElement.tagName; })()`
	if f := evalJS[string](t, tab, focused); !strings.Contains(f, "viewport") {
		t.Errorf("after answering with the mouse, the focus is on %s; want the diagram, where Space steps", f)
	}
	if err := chromedp.Do(tab, chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	after := pollStep(t, tab, fmt.Sprintf(`v.marks > %d || v.state !== 'running'`, v.Marks), "Space to step the asked call")
	if after.Marks <= v.Marks {
		t.Errorf("Space after the answer drew %d marks, %d before; want the call stepped", after.Marks, v.Marks)
	}
	if again := evalJS[questionView](t, tab, readQuestion); fmt.Sprint(again.Counts) != fmt.Sprint(q.Counts) && !again.Revealed {
		t.Errorf("Space after the answer changed the tally %v → %v; want it to step, not answer again", q.Counts, again.Counts)
	}
	if f := evalJS[string](t, tab, focused); f == "body" {
		t.Errorf("once the asked call was made, the focus fell to the page's body; want it on the diagram")
	}
}

// TestStepBrowserTheCallAboutToHappenIsInView starts a stepped session
// with questions from the page at 1280×800 and on a phone: with a question
// showing, Next, the choices and the call about to happen (its ghost at
// the drawing's foot) are all in the window, with no scrolling. At 1280 the
// ghost was 300 px below the window (the drawing kept its 75vh under the
// question); on a phone Next and the votes were 2,000 px down (the page's
// element was a scroller, so the sticky bar never stuck), and the bar, once
// stuck, 740 px tall over the drawing's foot.
func TestStepBrowserTheCallAboutToHappenIsInView(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	for _, v := range []legibleView{legibleViews[0], {"390x844-light", 390, 844, true, "light"}} {
		t.Run("at "+v.name, func(t *testing.T) {
			setView(t, tab, v)
			id := startFromPage(t, tab, ts.URL, "serviceclient", true)
			stepToQuestion(t, tab)
			checkStepInView(t, tab, v, "started from the page")
			if v.mobile {
				// The element's top low in the window: its toolbar shows, the
				// bar stuck to the screen's foot under it, not over it.
				covered := evalWithin[string](t, tab, 5*time.Second, "the toolbar with the element's top low", `(async () => {
				  const el = document.querySelector('seq-diagram'), r = el.shadowRoot;
				  scrollBy(0, el.getBoundingClientRect().top - innerHeight * 0.6);
				  await new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 100)));
				  const tb = r.querySelector('.toolbar').getBoundingClientRect();
				  const hit = r.elementFromPoint(tb.left + tb.width / 2, Math.min(tb.top + 12, innerHeight - 1));
				  return hit?.closest('.toolbar') ? '' : (hit?.closest('.stepbar') ? 'the step bar' : String(hit?.className ?? hit)); })()`, chromedp.EvalAwaitPromise)
				if covered != "" {
					t.Errorf("with the element's top at 60%% of the window, its toolbar is under %s", covered)
				}
			}
			// A permalink to the session, opened by a student while it is
			// stepped, shows the same: not the scenario's description.
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
				t.Fatal(err)
			}
			pollQuestion(t, tab, "q.shown", "the question, on the permalink")
			checkStepInView(t, tab, v, "opened from its permalink")
		})
	}
}

// checkStepInView checks, once the page has settled, that the Next button,
// the second choice and the pending call's ghost are in the window, the
// ghost not under the step bar, and on a phone the bar under half the
// window.
func checkStepInView(t *testing.T, tab context.Context, v legibleView, how string) {
	t.Helper()
	type box struct{ Top, Bottom float64 }
	type seen struct {
		Next, Choice, Ghost, Bar box
		Window                   float64
	}
	// Read once the page has settled (the bar's height reaches the
	// drawing's room through two ResizeObservers): the same boxes
	// twice, 150 ms apart.
	got := evalWithin[seen](t, tab, 20*time.Second, "the step bar, question and drawing settled", `(async () => { const r = document.querySelector('seq-diagram').shadowRoot;
	  const b = (el) => { const x = el.getBoundingClientRect(); return {top: x.top, bottom: x.bottom}; };
	  const read = () => ({next: b(r.querySelector('.step-next')), choice: b(r.querySelectorAll('.q-choices .choice')[1]),
	    ghost: b(r.querySelector('.layer-pending > *')), bar: b(r.querySelector('.stepbar')), window: innerHeight});
	  let was = JSON.stringify(read());
	  for (let i = 0; i < 20; i++) {
	    await new Promise((ok) => setTimeout(ok, 150));
	    const now = JSON.stringify(read());
	    if (now === was) break;
	    was = now;
	  }
	  return read(); })()`, chromedp.EvalAwaitPromise)
	for name, b := range map[string]box{"Next": got.Next, "the second choice": got.Choice, "the pending call's ghost": got.Ghost} {
		if b.Top < 0 || b.Bottom > got.Window {
			t.Errorf("%s: %s spans %.0f–%.0f px of a %.0f px window; want it in view", how, name, b.Top, b.Bottom, got.Window)
		}
	}
	if got.Ghost.Bottom > got.Bar.Top && got.Ghost.Top < got.Bar.Bottom {
		t.Errorf("%s: the pending call's ghost (%.0f–%.0f px) is under the step bar (%.0f–%.0f px)", how, got.Ghost.Top, got.Ghost.Bottom, got.Bar.Top, got.Bar.Bottom)
	}
	if h := got.Bar.Bottom - got.Bar.Top; v.mobile && h > got.Window/2 {
		t.Errorf("%s: the step bar is %.0f px tall in a %.0f px window; want under half of it", how, h, got.Window)
	}
}
