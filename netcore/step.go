package netcore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// call is a call about to be made: what a stepped session shows as pending
// and waits on.
type call struct {
	actor  string
	kind   trace.Kind
	s      *sock // nil before the socket exists (getaddrinfo, socket)
	option string
	port   int // connect: the port it connects to
}

// gate holds a stepped session's calls at their start until a step
// lets one through. Of the calls waiting, a step lets through the first
// that will not block (an accept with a connection queued, a read with data
// or end of file queued, a write with buffer space), so that each step
// adds exactly one event; only when every waiting call would block does
// the oldest go.
type gate struct {
	ex        *exchange
	idle      time.Duration
	idleTimer *time.Timer // fails the session when no step comes for idle

	stepMu sync.Mutex // one step at a time

	// mu guards the fields below.
	mu       sync.Mutex
	released bool
	waiting  []*waiter
	shown    *waiter         // the call the viewers see as pending: the next step lets it through
	shownN   int             // how many calls have been shown as pending: shown's Pending.N
	question *trace.Question // what the viewers are asked about shown, or nil
	arrived  chan struct{}   // closed when a call starts waiting
	deadline *time.Timer     // after Release: the session has idle to finish
	stopped  bool            // the session has ended: no timer is armed again
}

type waiter struct {
	call call
	go_  chan struct{} // closed to let the call through
}

// newGate holds ex's calls until stepped; the session fails when no step
// comes for idle (its presenter has gone), and after Release it has idle
// to finish.
func newGate(ex *exchange, idle time.Duration) *gate {
	g := &gate{ex: ex, arrived: make(chan struct{}), idle: idle}
	g.idleTimer = time.AfterFunc(idle, func() {
		ex.cancel(fmt.Errorf("no step for %s: a stepped session ends when its presenter stops stepping for that long", idle))
	})
	return g
}

// stop stops the gate's timers for good: a step or release that races the
// session's end arms none again.
func (st *gate) stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopped = true
	st.idleTimer.Stop()
	if st.deadline != nil {
		st.deadline.Stop()
	}
}

// wait holds c until a step lets it through, the session is released, or
// the exchange ends.
func (st *gate) wait(c call) error {
	st.mu.Lock()
	if st.released {
		st.mu.Unlock()
		return nil
	}
	w := &waiter{call: c, go_: make(chan struct{})}
	st.waiting = append(st.waiting, w)
	close(st.arrived)
	st.arrived = make(chan struct{})
	st.publishLocked()
	st.mu.Unlock()
	select {
	case <-w.go_:
		return nil
	case <-st.ex.ctx.Done():
		return context.Cause(st.ex.ctx)
	}
}

// nextLocked returns the index of the call the next step lets through.
func (st *gate) nextLocked() int {
	for i, w := range st.waiting {
		if w.call.ready() {
			return i
		}
	}
	return 0
}

// publishLocked shows the next call to the session's viewers.
func (st *gate) publishLocked() {
	st.question = nil
	if st.released || len(st.waiting) == 0 {
		st.shown = nil
		st.ex.sess.SetPending(nil)
		return
	}
	if next := st.waiting[st.nextLocked()]; next != st.shown {
		st.shown = next
		st.shownN++
	}
	c := st.shown.call
	p := &trace.Pending{N: st.shownN, Actor: c.actor, Kind: c.kind, FD: -1}
	e := trace.Event{Actor: c.actor, Kind: c.kind, Option: c.option}
	cvar, hint := "fd", ""
	if c.s != nil {
		p.FD, cvar = c.s.fd, c.s.cvar
		if c.s.hint.kind == c.kind {
			hint = c.s.hint.text
		}
	}
	st.ex.sourceLine(&e, cvar, hint)
	p.Src, p.Line = e.Src, e.Line
	if st.ex.sess.Features().Questions {
		p.Question = st.ex.question(c)
		st.question = p.Question
	}
	st.ex.sess.SetPending(p)
}

// Step lets one call through (the one shown, which must be the one
// numbered pending unless pending is 0) and returns once its event is
// recorded, the session has ended, or ctx ends.
func (st *gate) Step(ctx context.Context, pending int) error {
	st.stepMu.Lock()
	defer st.stepMu.Unlock()
	st.mu.Lock()
	if !st.stopped {
		st.idleTimer.Reset(st.idle) // the presenter is here
	}
	st.mu.Unlock()
	sess := st.ex.sess
	sub := sess.Subscribe(sess.Meta().Events, 0)
	for {
		st.mu.Lock()
		if st.released {
			st.mu.Unlock()
			return trace.ErrNotStepped
		}
		// A step for the call numbered pending is refused when another is
		// shown, or when none is and that one has gone (numbers only grow):
		// only a number still to come is waited for.
		if waits := len(st.waiting) > 0; pending != 0 && (waits && pending != st.shownN || !waits && pending <= st.shownN) {
			err := &trace.PendingChangedError{Want: pending, Now: st.ex.sess.Pending()}
			st.mu.Unlock()
			return err
		}
		if len(st.waiting) > 0 {
			i := slices.Index(st.waiting, st.shown)
			if i < 0 {
				i = st.nextLocked()
			}
			w := st.waiting[i]
			st.askLocked(w)
			st.waiting = append(st.waiting[:i], st.waiting[i+1:]...)
			close(w.go_)
			st.publishLocked()
			st.mu.Unlock()
			break
		}
		arrived := st.arrived
		st.mu.Unlock()
		select {
		case <-arrived:
		case <-sess.Done():
			return trace.ErrNotStepped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		b, err := sub.Next(ctx, 0, 0)
		if err != nil {
			return err
		}
		if b.To > b.From || b.Final {
			return nil
		}
	}
}

// Release lets every waiting and future call through.
func (st *gate) Release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.released {
		return
	}
	st.released = true
	// From now on the session runs like any other: it has a session's
	// deadline to finish.
	st.idleTimer.Stop()
	if ex := st.ex; !st.stopped {
		st.deadline = time.AfterFunc(st.idle, func() {
			ex.cancel(fmt.Errorf("the session took longer than its deadline of %s after it was run to its end", st.idle))
		})
	}
	st.askLocked(st.shown) // run to the end with a question showing: it was asked
	for _, w := range st.waiting {
		close(w.go_)
	}
	st.waiting = nil
	st.publishLocked()
}

// askLocked notes, when w is the call shown with a question, that the
// question was asked about it: its event grades it and keeps the class's
// answers so far (Event.Answer, Event.Asked).
func (st *gate) askLocked(w *waiter) {
	if w != st.shown || st.question == nil {
		return
	}
	q := st.question
	if p := st.ex.sess.Pending(); p != nil && p.Question != nil {
		q = p.Question // with its tally
	}
	st.ex.ask(w.call, q)
}

// ready reports whether the call would complete without waiting for the
// peer, by polling its socket without blocking.
func (c call) ready() bool {
	var events int16
	switch c.kind {
	case trace.KindAccept, trace.KindRecv:
		events = unix.POLLIN
	case trace.KindSend:
		events = unix.POLLOUT
	default:
		return true
	}
	if c.s == nil || c.s.f == nil {
		return true
	}
	ready := true
	_ = c.s.rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, 0)
		ready = err != nil || n > 0
	})
	return ready
}

// question asks the class about a call whose result is worth predicting:
// a read after the peer shut down writing or closed, a connect to a port
// nobody listens on, a write into a full buffer or to a peer that shut
// down or closed. Each text states only what is true when it is asked: a
// peer that called shutdown(SHUT_WR) has half-closed the connection (it
// sends nothing more and still reads), which is not closing it. Each choice
// has a stable id; the call's event carries the one it bore out.
func (ex *exchange) question(c call) *trace.Question {
	end := ""
	if c.s != nil && c.s.conn != "" {
		end = ex.peerEnd(c.s.conn, c.actor)
	}
	switch {
	case c.kind == trace.KindRecv && end != "":
		return &trace.Question{Text: peerEndText[end] + " What will this read return?",
			Choices: []string{"data", "0: end of file", "it blocks (waits)", "-1: an error (ECONNRESET)"},
			IDs:     []string{trace.ChoiceData, trace.ChoiceEOF, trace.ChoiceBlocks, trace.ChoiceError}}
	case c.kind == trace.KindConnect && !ex.isListening(c.port):
		return &trace.Question{Text: "Nothing listens on this port. What will connect return?",
			Choices: []string{"0: connected", "it blocks (waits)", "-1: ECONNREFUSED", "-1: ETIMEDOUT"},
			IDs:     []string{trace.ChoiceConnected, trace.ChoiceBlocks, trace.ChoiceRefused, trace.ChoiceTimedOut}}
	case c.kind == trace.KindSend && (end != "" || !c.ready()):
		text := "The send buffer is full. What will this write return?"
		if end != "" {
			text = peerEndText[end] + " What will this write return?"
		}
		return &trace.Question{Text: text,
			Choices: []string{"all the bytes", "fewer bytes (a short write)", "it blocks (waits)", "-1: an error (EPIPE)"},
			IDs:     []string{trace.ChoiceAll, trace.ChoiceShort, trace.ChoiceBlocks, trace.ChoiceError}}
	}
	return nil
}

// peerEndText states how the other end ended writing, by peerEnd's word.
var peerEndText = map[string]string{
	"shutdown": "The other end has called shutdown(SHUT_WR): it will send nothing more, but it can still read (the connection is half-closed).",
	"close":    "The other end has closed its socket.",
}
