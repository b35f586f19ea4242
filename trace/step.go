package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Pending is the call a stepped session will make next, shown before it
// happens so that a class can think about it first.
type Pending struct {
	// N numbers the calls a session has shown as pending, from 1: a step
	// may name the one it is for, and is refused if another is shown by
	// then (a call that will not block, arriving, takes the place of one
	// that would).
	N        int       `json:"n"`
	Actor    string    `json:"actor"`
	Kind     Kind      `json:"kind"`
	FD       int       `json:"fd"`
	Src      string    `json:"src,omitempty"`
	Line     int       `json:"line,omitempty"`
	Question *Question `json:"question,omitempty"`
}

// Question asks the class what the pending call will return, before the
// kernel answers. IDs name the choices stably (the page must not tie the
// meaning of a choice to its position); Tally counts the viewers' answers
// per choice. The event of the call asked about carries, in Answer, the id
// of the choice it bore out: Grade decides it, here and nowhere else.
type Question struct {
	Text    string   `json:"text"`
	Choices []string `json:"choices"`
	IDs     []string `json:"choice_ids"`
	Tally   []int    `json:"tally"`
}

// The ids of the choices questions offer, by the kind of call asked about.
const (
	ChoiceData      = "data"      // recv: bytes
	ChoiceEOF       = "eof"       // recv: 0, end of file
	ChoiceBlocks    = "blocks"    // any: the call waits
	ChoiceError     = "error"     // recv, send: -1 with an errno
	ChoiceConnected = "connected" // connect: 0
	ChoiceRefused   = "refused"   // connect: ECONNREFUSED
	ChoiceTimedOut  = "timedout"  // connect: ETIMEDOUT
	ChoiceAll       = "all"       // send: every byte taken
	ChoiceShort     = "short"     // send: fewer bytes than asked
)

// Grade returns the id of the choice of q that e, the event of the call q
// asked about (its end, if it was split), bears out; "" when none does.
func (q *Question) Grade(e *Event) string {
	failed := e.Errno != "" || e.Ret < 0
	id := ""
	switch e.Kind {
	case KindRecv:
		switch {
		case failed:
			id = ChoiceError
		case e.EOF:
			id = ChoiceEOF
		case e.Blocked:
			id = ChoiceBlocks
		default:
			id = ChoiceData
		}
	case KindConnect:
		switch {
		case !failed:
			id = ChoiceConnected
		case e.Errno == "ECONNREFUSED":
			id = ChoiceRefused
		case e.Errno == "ETIMEDOUT":
			id = ChoiceTimedOut
		}
	case KindSend:
		switch {
		case failed:
			id = ChoiceError
		case e.Bytes < e.Want:
			id = ChoiceShort
		case e.Blocked:
			id = ChoiceBlocks
		default:
			id = ChoiceAll
		}
	}
	for _, c := range q.IDs {
		if c == id {
			return id
		}
	}
	return ""
}

// Stepper advances a stepped session: Step lets exactly one call happen
// and returns once its event is recorded (or the session has ended);
// Release lets every remaining call happen without waiting.
type Stepper interface {
	// Step lets the call shown as pending through; when pending is not 0
	// and the call shown is not the one numbered pending (Pending.N), it
	// lets nothing through and returns a *PendingChangedError.
	Step(ctx context.Context, pending int) error
	Release()
}

// ErrNotStepped is returned for stepping a session that was not started
// in step mode, or that has ended or been released.
var ErrNotStepped = errors.New("the session is not waiting for steps")

// PendingChangedError is returned for a step meant for a pending call
// that is no longer the one shown: nothing was let through.
type PendingChangedError struct {
	Want int      // the call the step was for
	Now  *Pending // the call shown now, or nil if none waits yet
}

func (e *PendingChangedError) Error() string {
	if e.Now == nil {
		return fmt.Sprintf("the step was for pending call %d, which is no longer shown; no call waits yet", e.Want)
	}
	return fmt.Sprintf("the step was for pending call %d, but call %d (%s %s) is shown now", e.Want, e.Now.N, e.Now.Actor, e.Now.Kind)
}

// Features are the optional parts of a session, chosen when it is created.
type Features struct {
	Step      bool // pause before each call until stepped
	Questions bool // in step mode, ask the class before calls worth thinking about
	Segments  bool // capture the connections' TCP segments (needs CAP_NET_RAW)
}

// stepState is a session's step mode, guarded by the session's mu: its
// features, the stepper that advances it, and the call it makes next with
// the viewers' answers to its question.
type stepState struct {
	features Features
	stepper  Stepper
	pending  *Pending       // the next call of a stepped session
	answers  map[string]int // viewer → choice, for pending's question
	tally    []int          // answers per choice
	version  int            // bumped by every change of pending or answers
}

// SetStepping marks the session as stepped with its stepper; the runner
// calls it before the first call.
func (s *Session) SetStepping(st Stepper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.step.stepper = st
}

// Features returns the session's optional parts.
func (s *Session) Features() Features {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.step.features
}

// Step lets the next call of a stepped session happen: the one shown as
// pending, if pending is 0 or its number (see Stepper).
func (s *Session) Step(ctx context.Context, pending int) error {
	s.mu.Lock()
	st, running := s.step.stepper, s.state == StateRunning
	s.mu.Unlock()
	if st == nil || !running {
		return ErrNotStepped
	}
	return st.Step(ctx, pending)
}

// RunToEnd releases a stepped session: the remaining calls happen at the
// session's pace without waiting for steps.
func (s *Session) RunToEnd() error {
	s.mu.Lock()
	st, running := s.step.stepper, s.state == StateRunning
	s.mu.Unlock()
	if st == nil || !running {
		return ErrNotStepped
	}
	st.Release()
	return nil
}

// SetPending shows the next call, or none (nil), to every subscriber.
func (s *Session) SetPending(p *Pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.step.pending
	same := p != nil && was != nil && p.N != 0 && p.N == was.N && sameQuestion(p.Question, was.Question)
	s.step.pending = p
	// The same call shown again (another call arrived that will wait
	// behind it) keeps the class's answers.
	if !same {
		s.step.answers, s.step.tally = nil, nil
		if p != nil && p.Question != nil {
			s.step.tally = make([]int, len(p.Question.Choices))
		}
	}
	s.step.version++
	s.wakeLocked()
}

// sameQuestion reports whether a and b (either may be nil) ask the same:
// answers to one count for the other.
func sameQuestion(a, b *Question) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Text == b.Text && slices.Equal(a.IDs, b.IDs)
}

// Pending returns the next call of a stepped session, with the tally so
// far, or nil.
func (s *Session) Pending() *Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

func (s *Session) pendingLocked() *Pending {
	if s.step.pending == nil {
		return nil
	}
	p := *s.step.pending
	if q := p.Question; q != nil {
		p.Question = &Question{Text: q.Text, Choices: q.Choices, IDs: q.IDs, Tally: slices.Clone(s.step.tally)}
	}
	return &p
}

// Answer records a viewer's answer to the pending question; a viewer may
// change its answer until the call happens.
func (s *Session) Answer(viewer string, choice int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step.pending == nil || s.step.pending.Question == nil {
		return errors.New("there is no question to answer now")
	}
	if choice < 0 || choice >= len(s.step.pending.Question.Choices) {
		return fmt.Errorf("choice %d: there are %d choices, numbered from 0", choice, len(s.step.pending.Question.Choices))
	}
	if s.step.answers == nil {
		s.step.answers = map[string]int{}
	}
	old, answered := s.step.answers[viewer]
	if !answered && len(s.step.answers) >= maxAnswers {
		return errors.New("too many answers to this question")
	}
	// The tally is kept as answers come: counting one costs the same
	// with ten answers or ten thousand.
	if answered {
		s.step.tally[old]--
	}
	s.step.tally[choice]++
	s.step.answers[viewer] = choice
	s.step.version++
	s.wakeLocked()
	return nil
}

// maxAnswers bounds the viewers counted per question.
const maxAnswers = 10_000
