package trace

import (
	"fmt"
	"slices"
	"time"
)

// NewMirror returns a running session that copies one that another seqd
// replica runs: its metadata from m, its events from Mirror as they come
// (package replica feeds it from NATS). It is read, streamed and subscribed
// to like any other session; nothing records into it.
func NewMirror(m Meta) (*Session, error) {
	if !ValidID(m.ID) {
		return nil, fmt.Errorf("mirror: invalid session id %q", m.ID)
	}
	return &Session{
		id:        m.ID,
		scenario:  m.Scenario,
		params:    m.Params,
		startedAt: m.StartedAt,
		maxEvents: DefaultMaxEvents,
		expected:  Options{ExpectedEvents: m.ExpectedEvents, Expected: time.Duration(m.ExpectedNs)},
		done:      make(chan struct{}),
		state:     StateRunning,
		actors:    append([]string(nil), m.Actors...),
		step:      stepState{features: Features{Step: m.Step, Questions: m.Questions}},
	}, nil
}

// Mirror appends evs, the next events of the session a mirror copies, with
// their own seq and times, and takes on the lifelines its source has now.
// Events it holds already (a batch sent again) are skipped; a gap or a
// time that goes back is an error, and nothing of evs is kept then.
func (s *Session) Mirror(actors []string, evs []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateRunning {
		return fmt.Errorf("mirror session %s: it has ended", s.id)
	}
	n := s.events.len()
	last := int64(0)
	if n > 0 {
		last = s.events.slot(n - 1).tnsOf()
	}
	next := n
	for i := range evs {
		e := &evs[i]
		switch {
		case e.Seq < next:
			continue // held already
		case e.Seq != next:
			return fmt.Errorf("mirror session %s: event %d comes after %d: events are missing", s.id, e.Seq, next-1)
		case e.TNs < last:
			return fmt.Errorf("mirror session %s: event %d goes back in time", s.id, e.Seq)
		}
		last = e.TNs
		next++
	}
	for i := range evs {
		if e := &evs[i]; e.Seq >= s.events.len() {
			s.bytes += EventCost(e)
			s.events.append(e)
		}
	}
	for _, a := range actors {
		if !slices.Contains(s.actors, a) {
			s.actors = append(s.actors, a)
		}
	}
	s.wakeLocked()
	return nil
}

// MirrorPending takes on the next call (and its question's tally) of the
// stepped session a mirror copies, nil once there is none: viewers of the
// copy see it as the source's see it.
func (s *Session) MirrorPending(p *Pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateRunning {
		return
	}
	s.step.pending, s.step.tally = nil, nil
	if p != nil {
		cp := *p
		if q := p.Question; q != nil {
			cp.Question = &Question{Text: q.Text, Choices: q.Choices, IDs: q.IDs}
			s.step.tally = slices.Clone(q.Tally)
		}
		s.step.pending = &cp
	}
	s.step.version++
	s.wakeLocked()
}
