package trace

import (
	"context"
	"errors"
	"fmt"
)

// Pending is the call a stepped session will make next, shown before it
// happens so that a class can think about it first.
type Pending struct {
	Actor    string    `json:"actor"`
	Kind     Kind      `json:"kind"`
	FD       int       `json:"fd"`
	Src      string    `json:"src,omitempty"`
	Line     int       `json:"line,omitempty"`
	Question *Question `json:"question,omitempty"`
}

// Question asks the class what the pending call will return, before the
// kernel answers. Tally counts the viewers' answers per choice.
type Question struct {
	Text    string   `json:"text"`
	Choices []string `json:"choices"`
	Tally   []int    `json:"tally"`
}

// Stepper advances a stepped session: Step lets exactly one call happen
// and returns once its event is recorded (or the session has ended);
// Release lets every remaining call happen without waiting.
type Stepper interface {
	Step(ctx context.Context) error
	Release()
}

// ErrNotStepped is returned for stepping a session that was not started
// in step mode, or that has ended or been released.
var ErrNotStepped = errors.New("the session is not waiting for steps")

// Features are the optional parts of a session, chosen when it is created.
type Features struct {
	Step      bool // pause before each call until stepped
	Questions bool // in step mode, ask the class before calls worth thinking about
	Segments  bool // capture the connections' TCP segments (needs CAP_NET_RAW)
}

// SetStepping marks the session as stepped with its stepper; the runner
// calls it before the first call.
func (s *Session) SetStepping(st Stepper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stepper = st
}

// Features returns the session's optional parts.
func (s *Session) Features() Features {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stepOpts
}

// Step lets the next call of a stepped session happen.
func (s *Session) Step(ctx context.Context) error {
	s.mu.Lock()
	st, running := s.stepper, s.state == StateRunning
	s.mu.Unlock()
	if st == nil || !running {
		return ErrNotStepped
	}
	return st.Step(ctx)
}

// RunToEnd releases a stepped session: the remaining calls happen at the
// session's pace without waiting for steps.
func (s *Session) RunToEnd() error {
	s.mu.Lock()
	st, running := s.stepper, s.state == StateRunning
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
	s.pending = p
	s.answers = nil
	s.pendingVersion++
	s.wakeLocked()
}

// Pending returns the next call of a stepped session, with the tally so
// far, or nil.
func (s *Session) Pending() *Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

func (s *Session) pendingLocked() *Pending {
	if s.pending == nil {
		return nil
	}
	p := *s.pending
	if q := p.Question; q != nil {
		tally := make([]int, len(q.Choices))
		for _, c := range s.answers {
			tally[c]++
		}
		p.Question = &Question{Text: q.Text, Choices: q.Choices, Tally: tally}
	}
	return &p
}

// Answer records a viewer's answer to the pending question; a viewer may
// change its answer until the call happens.
func (s *Session) Answer(viewer string, choice int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil || s.pending.Question == nil {
		return errors.New("there is no question to answer now")
	}
	if choice < 0 || choice >= len(s.pending.Question.Choices) {
		return fmt.Errorf("choice %d: there are %d choices, numbered from 0", choice, len(s.pending.Question.Choices))
	}
	if s.answers == nil {
		s.answers = map[string]int{}
	}
	if _, ok := s.answers[viewer]; !ok && len(s.answers) >= maxAnswers {
		return errors.New("too many answers to this question")
	}
	s.answers[viewer] = choice
	s.pendingVersion++
	s.wakeLocked()
	return nil
}

// maxAnswers bounds the viewers counted per question.
const maxAnswers = 10_000
