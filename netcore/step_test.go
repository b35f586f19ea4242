package netcore

import (
	"context"
	"errors"
	"testing"
	"time"

	"seqd/trace"
)

// TestGateNumbersPendingCalls steps scenarios the way a page does, with the
// number of the call it shows (Step(ctx, N), the API's ?pending=N): a step
// for the call shown lets it through, a step for a number not shown lets
// nothing through and says which call is shown, and the numbers only grow,
// one number naming one call.
func TestGateNumbersPendingCalls(t *testing.T) {
	for _, name := range []string{"serviceclient", "echo", "concurrent"} {
		t.Run(name+" numbers each pending call once and steps only the call numbered", func(t *testing.T) {
			sess, ctx := startStepped(t, &Runner{Timeout: time.Minute}, name, nil, trace.Features{Step: true})
			named := map[int]trace.Pending{} // N → the call it named
			last, refusals, steps := 0, 0, 0
			for {
				p := settledPending(ctx, sess)
				if p == nil {
					break
				}
				if p.N < last {
					t.Fatalf("pending call %d shown after %d: numbers only grow", p.N, last)
				}
				if was, ok := named[p.N]; ok && (was.Actor != p.Actor || was.Kind != p.Kind || was.FD != p.FD) {
					t.Fatalf("number %d named %s %s (fd %d), now %s %s (fd %d): one number, one call", p.N, was.Actor, was.Kind, was.FD, p.Actor, p.Kind, p.FD)
				}
				last, named[p.N] = p.N, *p
				before := sess.Meta().Events
				if steps == 2 {
					// A number gone and one still to come: both refused while
					// another call is shown, and neither lets a call through.
					for _, n := range []int{p.N - 1, p.N + 1} {
						stepCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
						err := sess.Step(stepCtx, n)
						cancel()
						var changed *trace.PendingChangedError
						if !errors.As(err, &changed) || changed.Want != n || changed.Now == nil {
							t.Errorf("a step for call %d while %d is shown: %v; want a PendingChangedError naming the call shown", n, p.N, err)
						}
						refusals++
					}
					if got := sess.Meta().Events; got != before {
						t.Errorf("refused steps made %d events; want none", got-before)
					}
				}
				err := sess.Step(ctx, p.N)
				var changed *trace.PendingChangedError
				switch {
				case errors.As(err, &changed):
					continue // another call arrived and took its place after all: step that one
				case errors.Is(err, trace.ErrNotStepped):
					continue // the session ended with the step
				case err != nil:
					t.Fatalf("step for call %d: %v", p.N, err)
				}
				steps++
				if got := sess.Meta().Events; got <= before {
					t.Fatalf("the step for call %d (%s %s) recorded no event", p.N, p.Actor, p.Kind)
				}
			}
			if rec := sess.Snapshot(); rec.State != trace.StateDone {
				t.Fatalf("%s ended %s: %s", name, rec.State, rec.Error)
			}
			if steps < 5 || refusals != 2 || len(named) < steps {
				t.Errorf("%d steps, %d refusals, %d numbers: the test stepped too little to check anything", steps, refusals, len(named))
			}
		})
	}
}

// settledPending waits for the session's next pending call and until it has
// stayed the same for a while (both actors at their next calls, so that
// only a step changes it); nil once the session ends.
func settledPending(ctx context.Context, sess *trace.Session) *trace.Pending {
	p := waitPending(ctx, sess)
	for p != nil {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
		now := waitPending(ctx, sess)
		if now == nil || now.N == p.N {
			return now
		}
		p = now
	}
	return nil
}
