package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// fakeRunner validates scenarios and parameters exactly as netcore's Runner
// does (Prepare opens no socket) but performs no exchange: a session it
// starts records one event per pace_ms (per millisecond unpaced), rounds
// times (3 without rounds), then finishes; a stepped one records one event
// per step. Tests of the API, the limits and step authorisation run on it
// in milliseconds, and again end to end on real sockets.
type fakeRunner struct {
	*netcore.Runner
	payload int // bytes of data each event carries
	wg      sync.WaitGroup
}

func (f *fakeRunner) Start(ctx context.Context, sess *trace.Session) {
	params := sess.Meta().Params
	rounds, pace := 3, time.Millisecond
	if n, ok := params["rounds"].(int); ok {
		rounds = n
	}
	if ms, ok := params["pace_ms"].(int); ok && ms > 0 {
		pace = time.Duration(ms) * time.Millisecond
	}
	sess.AddActor("server")
	var steps chan struct{}
	if sess.Features().Step {
		steps = make(chan struct{})
		sess.SetStepping(&fakeStepper{sess: sess, steps: steps})
		sess.SetPending(fakePending(1))
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(pace)
		defer t.Stop()
		for i := 0; i < rounds; i++ {
			if steps != nil {
				select {
				case <-steps:
				case <-ctx.Done():
					sess.Finish(context.Cause(ctx))
					return
				}
			} else {
				select {
				case <-t.C:
				case <-ctx.Done():
					sess.Finish(context.Cause(ctx))
					return
				}
			}
			e := trace.Event{Actor: "server", Kind: trace.KindSocket, FD: 3 + i, Ret: 3 + i, Src: "server.c", Line: 1, Data: strings.Repeat("x", f.payload)}
			if err := sess.Record(&e, time.Now()); err != nil {
				sess.Finish(err)
				return
			}
			if steps != nil && i+1 < rounds {
				sess.SetPending(fakePending(i + 2))
			}
		}
		sess.Finish(nil)
	}()
}

// Wait waits for every session the fake started.
func (f *fakeRunner) Wait() { f.wg.Wait() }

// fakeStepper lets one event of a fake session happen per step.
type fakeStepper struct {
	sess  *trace.Session
	steps chan struct{}
	once  sync.Once
}

// fakePending is the fake's n-th pending call: its n-th event's.
func fakePending(n int) *trace.Pending {
	return &trace.Pending{N: n, Actor: "server", Kind: trace.KindSocket, FD: -1, Src: "server.c", Line: 1}
}

func (st *fakeStepper) Step(ctx context.Context, pending int) error {
	n := st.sess.Meta().Events
	if pending != 0 && pending != n+1 {
		return &trace.PendingChangedError{Want: pending, Now: st.sess.Pending()}
	}
	select {
	case st.steps <- struct{}{}:
	case <-st.sess.Done():
		return trace.ErrNotStepped
	case <-ctx.Done():
		return ctx.Err()
	}
	for st.sess.Meta().Events == n { // until its event is recorded
		select {
		case <-st.sess.Done():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func (st *fakeStepper) Release() {
	st.once.Do(func() {
		go func() { // the remaining events, without waiting for steps
			for {
				select {
				case st.steps <- struct{}{}:
				case <-st.sess.Done():
					return
				}
			}
		}()
	})
}

// runners are the two runners the API tests run on.
var runners = []struct {
	name string
	make func() waitingRunner
}{
	{"a fake runner", func() waitingRunner {
		return &fakeRunner{Runner: &netcore.Runner{}}
	}},
	{"real sockets", func() waitingRunner {
		return &netcore.Runner{Timeout: 30 * time.Second}
	}},
}

// waitingRunner is a web.Runner whose sessions a test can wait for.
type waitingRunner interface {
	web.Runner
	Wait()
}

// newServerWith serves seqd with runner behind it until the test ends,
// with /metrics on the same address for the tests that read them.
func newServerWith(t *testing.T, runner waitingRunner, cfg web.Config) *httptest.Server {
	t.Helper()
	cfg.PublicMetrics = true
	ts, _ := serveForTest(t, runner, cfg)
	return ts
}

// serveForTest serves seqd with runner behind it, and cfg as given, until
// the test ends.
func serveForTest(t *testing.T, runner waitingRunner, cfg web.Config) (*httptest.Server, *web.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := web.New(runner, &trace.Store{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		runner.Wait()
	})
	return ts, srv
}

func TestFakeRunnerFinishesItsSessions(t *testing.T) {
	f := &fakeRunner{Runner: &netcore.Runner{}}
	sess, err := f.Prepare("echo", map[string]any{"rounds": 4}, trace.Features{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(context.Background(), sess)
	f.Wait()
	if rec := sess.Snapshot(); rec.State != trace.StateDone || len(rec.Events) != 4 {
		t.Errorf("fake session %s with %d events; want done with 4", rec.State, len(rec.Events))
	}
	if err := sess.Step(context.Background(), 0); !errors.Is(err, trace.ErrNotStepped) {
		t.Errorf("stepping an unstepped fake: %v; want ErrNotStepped", err)
	}
}
