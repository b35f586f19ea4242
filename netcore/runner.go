package netcore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"seqd/trace"
)

// Defaults for Runner's fields.
const (
	DefaultPreview     = 4096
	DefaultTimeout     = 5 * time.Minute
	DefaultStepTimeout = 3 * time.Hour
)

// Runner performs scenarios and records them. Its zero value is ready to
// use; it is safe for concurrent use.
type Runner struct {
	// Preview bounds the payload bytes kept per send or recv event.
	// Defaults to DefaultPreview; below zero keeps none.
	Preview int
	// Timeout is every session's deadline: a session still running then is
	// cancelled and fails. Defaults to DefaultTimeout.
	Timeout time.Duration
	// StepTimeout is a stepped session's deadline; it also ends when no
	// step comes for Timeout. Defaults to DefaultStepTimeout.
	StepTimeout time.Duration
	// MaxEvents bounds each session's events. Defaults to
	// trace.DefaultMaxEvents.
	MaxEvents int
	// MaxBytes is each session's memory budget for its events: Prepare
	// refuses parameters that would not fit it, and a session that
	// reaches it anyway fails. Defaults to trace.DefaultMaxBytes.
	MaxBytes int64

	wg sync.WaitGroup // running sessions started by Start
}

// Scenarios describes every scenario, in the order a page should offer them.
func (r *Runner) Scenarios() []trace.ScenarioInfo {
	out := make([]trace.ScenarioInfo, len(scenarios))
	for i, sc := range scenarios {
		out[i] = sc.info()
		out[i].Sources = r.Sources(sc.name)
	}
	return out
}

// MaxSessionFDs is the most file descriptors one session of a built-in
// scenario holds at once: concurrent's listening socket, its 16 clients and
// their 16 accepted sockets, and a capture's packet socket, with room to
// spare; a server bounds its sessions at once by it.
const MaxSessionFDs = 40

// Prepare validates a scenario and its parameters and returns a new
// running session for them, not yet started, with the optional features
// chosen (step mode, questions, segments). Errors are
// trace.ErrUnknownScenario or a *trace.ParamError.
func (r *Runner) Prepare(name string, raw map[string]any, features trace.Features) (*trace.Session, error) {
	sc, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q", trace.ErrUnknownScenario, trace.Clip(name, 64))
	}
	p, err := validate(sc.allParams(), raw)
	if err != nil {
		return nil, err
	}
	if err := sc.fits(p, r.previewLimit(), r.maxBytes()); err != nil {
		return nil, err
	}
	calls, d := sc.estimate(p)
	if limit := r.sessionTimeout(); !features.Step && d > limit {
		more := ""
		if sc.count != "" {
			more = " or " + sc.count
		}
		return nil, &trace.ParamError{Param: "pace_ms", Msg: fmt.Sprintf(
			"at %d ms a call, this session would take about %s, longer than a session may run (%s); lower pace_ms%s, or step it instead",
			p.int("pace_ms"), d.Round(time.Second), limit, more)}
	}
	return trace.NewSession(sc.name, p, trace.Options{MaxEvents: r.MaxEvents, MaxBytes: r.maxBytes(), Features: features,
		ExpectedEvents: calls, Expected: d}), nil
}

// Start runs the prepared session in a goroutine that the Runner owns until
// the session finishes, under ctx and the Runner's Timeout. Wait waits for
// all of them.
func (r *Runner) Start(ctx context.Context, sess *trace.Session) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.Run(ctx, sess)
	}()
}

// Segments reports whether sessions can capture TCP segments, and if not,
// why and how to enable it.
func (r *Runner) Segments() (bool, string) { return SegmentsAvailable() }

// Wait blocks until every session started with Start has finished.
func (r *Runner) Wait() { r.wg.Wait() }

// Run performs the prepared session and finishes it: done, or failed with
// the reason. It returns when the session has finished and every socket it
// opened is closed.
func (r *Runner) Run(ctx context.Context, sess *trace.Session) {
	sc, ok := lookup(sess.Scenario())
	if !ok {
		sess.Finish(fmt.Errorf("%w %q", trace.ErrUnknownScenario, sess.Scenario()))
		return
	}
	p, err := validate(sc.allParams(), sess.Meta().Params)
	if err != nil {
		sess.Finish(err)
		return
	}
	timeout := r.sessionTimeout()
	stepped := sess.Features().Step
	if stepped {
		// A lecture is longer than a session's deadline: a stepped session
		// ends when its presenter stops stepping for that long (gate), or
		// at StepTimeout.
		timeout = r.stepTimeout()
	}
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("the session took longer than its deadline of %s", timeout))
	defer cancelTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	ex := &exchange{
		ctx:     ctx,
		cancel:  cancel,
		sess:    sess,
		pace:    time.Duration(p.int("pace_ms")) * time.Millisecond,
		preview: r.previewLimit(),
		open:    make(map[*sock]struct{}),
	}
	if stepped {
		ex.gate = newGate(ex, r.sessionTimeout())
		defer ex.gate.stop()
		sess.SetStepping(ex.gate)
	}
	finish(ex, sc.run(ex, p, r))
}

// maxBytes is every session's memory budget.
func (r *Runner) maxBytes() int64 {
	if r.MaxBytes <= 0 {
		return trace.DefaultMaxBytes
	}
	return r.MaxBytes
}

// stepTimeout is every stepped session's deadline.
func (r *Runner) stepTimeout() time.Duration {
	if r.StepTimeout <= 0 {
		return DefaultStepTimeout
	}
	return r.StepTimeout
}
