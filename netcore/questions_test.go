package netcore

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"seqd/trace"
)

// TestQuestionsAreTrue steps scenarios call by call with questions on and
// checks every question's wording against the state recorded when it is
// asked, and against what the kernel then did: a question must never say
// more than is true (a peer that shut down writing has not closed).
func TestQuestionsAreTrue(t *testing.T) {
	seen := map[string]bool{} // which kinds of question were asked
	for _, tc := range []struct {
		scenario string
		params   map[string]any
	}{
		{"serviceclient", nil},
		{"reset", nil},
		{"refused", nil},
		{"backpressure", map[string]any{"total": 16 << 10, "chunk": 8 << 10, "read_delay_ms": 20}},
	} {
		t.Run(tc.scenario+"'s questions say what is true when asked", func(t *testing.T) {
			for _, asked := range stepWithQuestions(t, tc.scenario, tc.params) {
				seen[checkQuestion(t, asked)] = true
			}
		})
	}
	for _, kind := range []string{"peer shut down", "peer closed", "nothing listens", "buffer full"} {
		if !seen[kind] {
			t.Errorf("no question of the kind %q was asked; the test checks nothing for it", kind)
		}
	}
}

// askedQuestion is a question, the events recorded when it was asked, and
// the event of the call it asked about.
type askedQuestion struct {
	pending trace.Pending
	before  []trace.Event
	answer  trace.Event
}

// startStepped prepares scenario name on r with features and starts it
// under a context that ends with the test (30 s at most); the test then
// waits for r's sessions to end.
func startStepped(t *testing.T, r *Runner, name string, params map[string]any, features trace.Features) (*trace.Session, context.Context) {
	t.Helper()
	sess, err := r.Prepare(name, params, features)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(func() {
		cancel()
		r.Wait()
	})
	r.Start(ctx, sess)
	return sess, ctx
}

// stepWithQuestions runs a stepped session with questions to its end, one
// step at a time, and returns every question asked.
func stepWithQuestions(t *testing.T, name string, params map[string]any) []askedQuestion {
	t.Helper()
	sess, ctx := startStepped(t, &Runner{Timeout: time.Minute}, name, params, trace.Features{Step: true, Questions: true})
	type asked struct {
		p     trace.Pending
		after int // events recorded when it was asked
	}
	var questions []asked
	for {
		p := waitPending(ctx, sess)
		if p == nil {
			break
		}
		if p.Question != nil {
			questions = append(questions, asked{*p, sess.Meta().Events})
		}
		if err := sess.Step(ctx, 0); err != nil {
			break // the session ended with this step
		}
	}
	rec := sess.Snapshot()
	if rec.State != trace.StateDone {
		t.Fatalf("%s ended %s: %s", name, rec.State, rec.Error)
	}
	// A call that blocks shows its begin at its step and its end later:
	// the answer is its first end after the question.
	var out []askedQuestion
	for _, q := range questions {
		answer, ok := answerOf(rec.Events[q.after:], q.p)
		if !ok {
			t.Fatalf("no %s event of %s (fd %d) after its question %q", q.p.Kind, q.p.Actor, q.p.FD, q.p.Question.Text)
		}
		out = append(out, askedQuestion{q.p, rec.Events[:q.after], answer})
	}
	return out
}

// waitPending waits for the session's next pending call; nil once it ends.
func waitPending(ctx context.Context, sess *trace.Session) *trace.Pending {
	for {
		if p := sess.Pending(); p != nil {
			return p
		}
		select {
		case <-sess.Done():
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(time.Millisecond):
		}
	}
}

// answerOf finds, among the events a step added, the end of the call p.
func answerOf(evs []trace.Event, p trace.Pending) (trace.Event, bool) {
	for _, e := range evs {
		if e.Actor == p.Actor && e.Kind == p.Kind && e.Phase != trace.PhaseBegin {
			return e, true
		}
	}
	return trace.Event{}, false
}

// checkQuestion checks one question against the record and says which kind
// of question it was.
func checkQuestion(t *testing.T, q askedQuestion) string {
	t.Helper()
	text := q.pending.Question.Text
	conn := q.answer.Conn
	if q.answer.Answer == "" || !slices.Contains(q.pending.Question.IDs, q.answer.Answer) {
		t.Errorf("#%d, the call asked about by %q, carries answer %q; want one of %v", q.answer.Seq, text, q.answer.Answer, q.pending.Question.IDs)
	}
	peerClosed, peerShut, lastOutQ := false, false, 0
	for _, e := range q.before {
		if e.Conn != conn || conn == "" || e.Errno != "" || e.Kind == trace.KindSegment {
			continue
		}
		switch {
		case e.Actor != q.pending.Actor && e.Kind == trace.KindClose:
			peerClosed = true
		case e.Actor != q.pending.Actor && e.Kind == trace.KindShutdown && e.How != "SHUT_RD":
			peerShut = true
		case e.Actor == q.pending.Actor && e.Kind == trace.KindSend && e.Phase != trace.PhaseBegin:
			lastOutQ = e.OutQ
		}
	}
	switch {
	case strings.Contains(text, "shutdown(SHUT_WR)"):
		if !peerShut || peerClosed {
			t.Errorf("%q asked with the peer shut down %v, closed %v", text, peerShut, peerClosed)
		}
		if strings.Contains(text, "closed its") {
			t.Errorf("%q: a half-closed connection is not closed", text)
		}
		if q.answer.Kind == trace.KindSend && (q.answer.Errno != "" || q.answer.Answer != trace.ChoiceAll) {
			t.Errorf("%q: the write to a half-closed connection: %s, answer %q; want all the bytes", text, q.answer.Errno, q.answer.Answer)
		}
		return "peer shut down"
	case strings.Contains(text, "closed its socket"):
		if !peerClosed {
			t.Errorf("%q asked before the peer closed (recorded: shut down %v)", text, peerShut)
		}
		return "peer closed"
	case strings.Contains(text, "Nothing listens"):
		for _, e := range q.before {
			if e.Kind == trace.KindListen && samePort(e.Local, q.answer.Peer) {
				t.Errorf("%q asked, but #%d listens on %s", text, e.Seq, e.Local)
			}
		}
		if q.answer.Answer != trace.ChoiceRefused {
			t.Errorf("%q: answer %q; want %q", text, q.answer.Answer, trace.ChoiceRefused)
		}
		return "nothing listens"
	case strings.Contains(text, "send buffer is full"):
		if lastOutQ == 0 {
			t.Errorf("%q asked, but the socket's last write left nothing unacknowledged", text)
		}
		return "buffer full"
	}
	t.Errorf("a question this test does not know: %q", text)
	return ""
}

func samePort(a, b string) bool {
	pa, errA := netip.ParseAddrPort(a)
	pb, errB := netip.ParseAddrPort(b)
	return errA == nil && errB == nil && pa.Port() == pb.Port()
}

// TestASteppedSessionLastsWhileItsPresenterSteps checks that a stepped
// session outlives the session timeout while steps keep coming, and ends
// when they stop for that long.
func TestASteppedSessionLastsWhileItsPresenterSteps(t *testing.T) {
	const idle = 300 * time.Millisecond
	sess, ctx := startStepped(t, &Runner{Timeout: idle}, "echo", map[string]any{"rounds": 100}, trace.Features{Step: true})
	for end := time.Now().Add(4 * idle); time.Now().Before(end); {
		if p := waitPending(ctx, sess); p == nil {
			t.Fatalf("the session ended while its presenter stepped: %s", sess.Meta().Error)
		}
		if err := sess.Step(ctx, 0); err != nil {
			t.Fatalf("step: %v (%s)", err, sess.Meta().Error)
		}
		time.Sleep(idle / 3)
	}
	select {
	case <-sess.Done():
	case <-time.After(10 * idle):
		t.Fatal("the session went on without steps")
	}
	if m := sess.Meta(); m.State != trace.StateFailed || !strings.Contains(m.Error, "no step for") {
		t.Errorf("session %s (%q); want failed for want of steps", m.State, m.Error)
	}
}
