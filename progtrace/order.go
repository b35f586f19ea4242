package progtrace

import (
	"time"

	"seqd/trace"
)

// orderQueue puts the calls the tracer sees in causal order before they
// are recorded. The tracer sees a call return only after the kernel has
// done its work, and the peer may be seen first: a read of the bytes a
// write sent often returns before the write. So an emitting call takes
// its place when it enters (reserve), and every call that returns after
// that waits behind it until it returns too (fill); the calls that take
// in are placed where they return (push).
type orderQueue struct {
	q []*slot
}

// slot is one event's place in the order; ready once its call returned.
// A taking call has two: where it entered, to say it may wait
// (trace.Session.Block), and where it returned.
type slot struct {
	ev      trace.Event
	began   time.Time
	call    *call // a taking call's: its begin (begin) or its end; an emitting call's
	begin   bool
	emits   bool // an emitting call's place, reserved at its entry
	ready   bool
	dropped bool // its call never returned: the program died in it
}

// reserve takes the next place for c, an emitting call that just entered.
func (o *orderQueue) reserve(c *call) *slot {
	s := &slot{call: c, emits: true}
	o.q = append(o.q, s)
	return s
}

// splitAfter is how long a write may wait, with other calls returning
// behind it, before it is split: its begin recorded in its place and its
// end where it returns (a blocking write whose bytes the reader takes
// meanwhile). Far longer than the tracer takes to see a write return that
// did not wait; shutdown, close and connect are never split (they do not
// wait for the peer to read, and what they cause needs their end).
const splitAfter = 10 * time.Millisecond

// fill gives a reserved place its event, once the call returned.
func (o *orderQueue) fill(s *slot, ev trace.Event, began time.Time) {
	s.ev, s.began, s.ready = ev, began, true
}

// push places a call that returned now; c is a taking call, whose begin
// is placed already, or nil.
func (o *orderQueue) push(ev trace.Event, began time.Time, c *call) {
	o.q = append(o.q, &slot{ev: ev, began: began, call: c, ready: true})
}

// enterTaking places the entry of a taking call c, which may wait: it
// says so to sess at once when nothing is queued before it, else when
// what is queued before it is recorded. A begin said at once could go
// before events that came earlier and wait in the queue.
func (o *orderQueue) enterTaking(sess *trace.Session, c *call) {
	if len(o.q) == 0 {
		c.blocked = sess.Block(c.beginEv, c.began)
		return
	}
	o.q = append(o.q, &slot{call: c, begin: true, ready: true})
}

// abandon gives up the place of a call whose program died in it.
func (o *orderQueue) abandon(c *call) {
	if c.slot != nil {
		c.slot.ready, c.slot.dropped = true, true
	}
}

// split reports whether the emitting call waiting at place i has waited
// long enough, with a call returned behind it, to be split; then its
// begin goes in its place (trace.Session.Block) and its end will be
// pushed where it returns.
func (o *orderQueue) split(sess *trace.Session, i int) bool {
	s := o.q[i]
	if !s.emits || s.ready || s.call.kind != trace.KindSend || time.Since(s.call.began) < splitAfter {
		return false
	}
	behind := false
	for _, later := range o.q[i+1:] {
		if later.ready && !later.begin {
			behind = true
			break
		}
	}
	if !behind {
		return false
	}
	c := s.call
	c.blocked = sess.Block(c.beginEv, c.began)
	c.slot = nil // its end is pushed where it returns
	s.ready, s.dropped = true, true
	return true
}

// flush records the events at the head of the queue that are ready, or,
// with all, every event (the programs have ended: no call is left in
// flight). It returns the session's error when it refuses an event.
func (o *orderQueue) flush(sess *trace.Session, all bool) error {
	var err error
	i := 0
	for ; i < len(o.q) && (o.q[i].ready || all || o.split(sess, i)); i++ {
		s := o.q[i]
		switch {
		case s.dropped || !s.ready || err != nil:
		case s.begin:
			s.call.blocked = sess.Block(s.call.beginEv, s.call.began)
		case s.call != nil:
			err = sess.RecordHeld(&s.ev, s.began, s.call.blocked)
		default:
			err = sess.RecordHeld(&s.ev, s.began, nil)
		}
	}
	clear(o.q[:i])
	o.q = o.q[i:]
	return err
}
