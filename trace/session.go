package trace

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// State is where a session is in its life.
type State string

// The states of a session. A session starts running and ends exactly once,
// done or failed.
const (
	StateRunning State = "running"
	StateDone    State = "done"
	StateFailed  State = "failed"
)

// ErrTooManyEvents is returned by Record once a session holds its limit of
// events; the session's runner should stop and fail the session.
var ErrTooManyEvents = errors.New("the session reached its limit of events")

// ErrBudget is returned by Record once a session's events would take more
// memory than its budget (Options.MaxBytes); the runner stops and fails the
// session, whose error says so.
var ErrBudget = errors.New("the session reached its memory budget: for a scenario, choose smaller parameters (fewer rounds or writes, larger read buffers); for a program at the lab port or proxy, send less in one connection")

// EventCost is what one event costs a session's budget, in bytes: its slot
// in the log (and its whole copy, for an event the slot cannot hold), its
// payload preview, frame and question asked, and the preview's share of
// the shared JSON cache.
func EventCost(e *Event) int64 { return eventCost(e, fitsInline(e)) }

// eventCost is EventCost for an event the log keeps inline or not.
func eventCost(e *Event, inline bool) int64 {
	payload := int64(len(e.Data) + len(e.DataB64) + len(e.Frame))
	if q := e.Asked; q != nil {
		payload += int64(len(q.Text) + 8*len(q.Tally))
		for _, c := range q.Choices {
			payload += int64(len(c))
		}
		for _, id := range q.IDs {
			payload += int64(len(id))
		}
	}
	slot := loggedSlot
	if !inline {
		slot += eventSize
	}
	return slot + 2*payload + jsonOverhead
}

// loggedSlot, eventSize and jsonOverhead are the sizes of a slot in the
// log and of an Event, and what an event's JSON takes beyond its payload,
// roughly.
const (
	loggedSlot   = int64(unsafe.Sizeof(loggedEvent{}))
	eventSize    = int64(unsafe.Sizeof(Event{}))
	jsonOverhead = 256
)

// DefaultMaxBytes is the budget netcore gives a session unless told
// otherwise: enough for every scenario within its parameters' bounds, a
// few hundred sessions in 2 GiB.
const DefaultMaxBytes = 8 << 20

// ErrTooSlow is returned by Subscription.Next when the subscriber fell further
// behind the live events than its MaxLag allows. It can subscribe again from
// Subscription.Resume.
var ErrTooSlow = errors.New("subscriber fell too far behind the session")

// Meta is a session's metadata, the JSON object that carries it.
type Meta struct {
	ID         string         `json:"id"`
	Scenario   string         `json:"scenario"`
	Params     map[string]any `json:"params"`
	State      State          `json:"state"`
	Error      string         `json:"error,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Actors     []string       `json:"actors"`
	Events     int            `json:"event_count"`
	Step       bool           `json:"step,omitempty"`      // created in step mode
	Questions  bool           `json:"questions,omitempty"` // with questions before some calls
	Pending    *Pending       `json:"pending,omitempty"`   // the call a stepped session makes next
	// ExpectedEvents and ExpectedNs estimate, before it runs, how many
	// calls a session makes and how long it takes (at its pace), for a
	// page to show progress; 0 when not estimated.
	ExpectedEvents int   `json:"expected_events,omitempty"`
	ExpectedNs     int64 `json:"expected_ns,omitempty"`
	// Unsaved says why a finished session was not saved to the server's
	// archive (its link then lasts only while the server keeps it in
	// memory), for the page to tell its viewers; "" when it was, or when
	// the server keeps no archive.
	Unsaved string `json:"unsaved,omitempty"`
}

// NewestFirst orders sessions by their start, the newest first, then by
// id: the order of the recent list merged across replicas.
func NewestFirst(a, b Meta) int {
	if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// Record is a whole session: its metadata and its events. It is the JSON
// that seqd run -json prints and GET /api/sessions/{id} returns.
type Record struct {
	Meta
	Events []Event `json:"events"`
}

// Session is one traced exchange. Its runner records events and finishes it;
// any number of readers take snapshots or subscribe, concurrently. Events are
// immutable once recorded.
type Session struct {
	id        string
	scenario  string
	params    map[string]any
	startedAt time.Time // wall clock and monotonic origin of t_ns
	maxEvents int
	maxBytes  int64
	expected  Options       // its ExpectedEvents and Expected
	done      chan struct{} // closed by Finish

	// order is the session's causal order: whoever holds it is the only
	// one who may record. A call that emits (write, shutdown, close,
	// connect) holds it from just before the syscall that moves its bytes
	// or sends its SYN, FIN or RST until its event is recorded, so that no
	// call it causes can be recorded before it; Record takes it for every
	// other event. It is held for one syscall at most, microseconds.
	order fifoLock

	// mu guards the fields below. It is taken after order, never before.
	mu         sync.Mutex
	state      State
	err        string
	finishedAt time.Time
	actors     []string
	events     eventLog
	wake       chan struct{} // made by a waiting reader, closed by the next change
	bytes      int64         // the events' cost against maxBytes
	blocked    []*Blocked    // calls blocked now whose begin is not recorded yet
	late       *time.Timer   // records the begins of blocked calls that waited their time
	lateArmed  bool
	emitting   bool     // the holder of the order said what it emits (HoldFor)
	emission   Emission // what it emits, when emitting; a value, so HoldFor allocates nothing
	calls      int      // the last CallID given

	finishing func(bytes int64) string // WhenFinishing's f
	unsaved   string                   // Meta.Unsaved

	step stepState // step.go

	// encMu guards the encoding cache: the JSON of events[:len(ends)], joined
	// by commas, encoded once for every subscriber. Readers fill it; Record
	// never touches it, so recording never waits for encoding.
	encMu   sync.Mutex
	encoded []byte
	ends    []int // ends[i] is the end of event i in encoded
}

// Options tunes a new session.
type Options struct {
	// MaxEvents bounds the events a session may record. Defaults to 100,000.
	MaxEvents int
	// MaxBytes bounds the memory a session's events may take (EventCost
	// each); 0 sets no bound (for sessions made in process, such as
	// benchmarks'). netcore gives every session it runs a budget,
	// DefaultMaxBytes unless told otherwise.
	MaxBytes int64
	// Features are the session's optional parts: step mode, questions,
	// segment capture.
	Features Features
	// ExpectedEvents and Expected estimate the session's calls and
	// duration (Meta's ExpectedEvents and ExpectedNs).
	ExpectedEvents int
	Expected       time.Duration
}

// DefaultMaxEvents is the default for Options.MaxEvents.
const DefaultMaxEvents = 100_000

// NewSession returns a running session with a fresh unguessable id.
func NewSession(scenario string, params map[string]any, opt Options) *Session {
	if opt.MaxEvents <= 0 {
		opt.MaxEvents = DefaultMaxEvents
	}
	return &Session{
		id:        NewID(),
		scenario:  scenario,
		params:    params,
		startedAt: time.Now(),
		maxEvents: opt.MaxEvents,
		maxBytes:  opt.MaxBytes,
		expected:  Options{ExpectedEvents: opt.ExpectedEvents, Expected: opt.Expected},
		done:      make(chan struct{}),
		state:     StateRunning,
		step:      stepState{features: opt.Features},
	}
}

// Restore rebuilds a finished session from its record, as saved to a file,
// so that it can be read and streamed like a live one. It checks what the
// rest of seqd relies on and says what is wrong.
func Restore(rec Record) (*Session, error) {
	if !ValidID(rec.ID) {
		return nil, fmt.Errorf("restore: invalid session id %q", rec.ID)
	}
	if rec.State != StateDone && rec.State != StateFailed {
		return nil, fmt.Errorf("restore session %s: state %q; only finished sessions can be restored", rec.ID, rec.State)
	}
	s := &Session{
		id:        rec.ID,
		scenario:  rec.Scenario,
		params:    rec.Params,
		startedAt: rec.StartedAt,
		maxEvents: max(len(rec.Events), 1),
		done:      make(chan struct{}),
		state:     rec.State,
		err:       rec.Error,
		actors:    rec.Actors,
	}
	if rec.FinishedAt != nil {
		s.finishedAt = *rec.FinishedAt
	}
	var last int64
	for i := range rec.Events {
		e := &rec.Events[i]
		if e.Seq != i {
			return nil, fmt.Errorf("restore session %s: event %d has seq %d", rec.ID, i, e.Seq)
		}
		if e.TNs < last {
			return nil, fmt.Errorf("restore session %s: event %d goes back in time", rec.ID, i)
		}
		last = e.TNs
		s.bytes += EventCost(e)
		s.events.append(e)
	}
	close(s.done)
	return s, nil
}

// Bytes returns what the session's events cost so far (EventCost each).
func (s *Session) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// ID returns the session's id.
func (s *Session) ID() string { return s.id }

// Scenario returns the name of the scenario the session runs.
func (s *Session) Scenario() string { return s.scenario }

// StartedAt returns the wall-clock and monotonic time the session started.
func (s *Session) StartedAt() time.Time { return s.startedAt }

// Done is closed when the session has finished.
func (s *Session) Done() <-chan struct{} { return s.done }

// AddActor appends a lifeline to the session's ordered list of actors, once.
func (s *Session) AddActor(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.actors {
		if a == name {
			return
		}
	}
	s.actors = append(s.actors, name)
	s.wakeLocked()
}

// SetParam sets one of the session's parameters while it runs (seqd
// trace names each traced process's pid once it appears). The map is
// replaced, not changed, so a Meta taken before still reads the old one.
func (s *Session) SetParam(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	params := make(map[string]any, len(s.params)+1)
	maps.Copy(params, s.params)
	params[key] = v
	s.params = params
	s.wakeLocked()
}

// Record appends e as the next event in the session's causal order. began
// is when the call was entered; the call's return is taken as now, read
// under the session's lock so that t_ns never decreases in seq order.
// Record fills Seq, TNs and DurNs. It waits while an emitting call holds the
// order (Hold), so a call that took in what that call emitted is recorded
// after it.
func (s *Session) Record(e *Event, began time.Time) error {
	s.order.Lock()
	s.mu.Lock()
	err := s.recordLocked(e, began)
	s.mu.Unlock()
	s.order.Unlock()
	return err
}

// Emission is what an emitting call holding the order (HoldFor) is about to
// send: a call that took something in that it cannot have fed need not
// wait for it (RecordTaken).
type Emission struct {
	Actor  string
	Kind   Kind   // send, shutdown, close or connect
	Conn   string // "" for a connect: its port is chosen inside the syscall
	Offset int64  // send: the stream offset of its first byte
}

// feeds reports whether em may have caused e: given e the bytes it read,
// its end of file, its reset, or (a connect) the connection it accepted.
func (em *Emission) feeds(e *Event) bool {
	switch {
	case em.Kind == KindConnect:
		return e.Kind == KindAccept || e.Kind == KindSegment
	case em.Conn == "" || em.Conn != e.Conn || em.Actor == e.Actor:
		return false
	case e.Kind == KindSegment:
		return true
	case e.Errno == "ECONNRESET" || e.Errno == "EPIPE":
		return em.Kind == KindClose
	case e.Kind == KindRecv && e.EOF:
		return em.Kind == KindShutdown || em.Kind == KindClose
	case e.Kind == KindRecv && e.Bytes > 0:
		return em.Kind == KindSend && em.Offset < e.Offset+int64(e.Bytes)
	}
	return false
}

// HoldFor is Hold for an emitting call that says what it emits, so that
// RecordTaken can tell which calls must wait for it.
func (s *Session) HoldFor(em Emission) {
	s.order.Lock()
	s.mu.Lock()
	s.emitting, s.emission = true, em
	s.mu.Unlock()
}

// RecordTaken records e, a call that took something in (or emitted
// nothing), in its causal place without waiting for an emitting call that
// cannot have fed it: only one holds the order at a time, and only while
// it holds it does it emit; when the holder may have fed e, RecordTaken
// waits its turn like Record. b is the blocked call e ends, or nil.
func (s *Session) RecordTaken(e *Event, began time.Time, b *Blocked) error {
	s.mu.Lock()
	if !s.emitting || !s.emission.feeds(e) {
		defer s.mu.Unlock()
		return s.recordEndLocked(e, began, b)
	}
	s.mu.Unlock()
	s.order.Lock()
	defer s.order.Unlock()
	return s.RecordHeld(e, began, b)
}

// Hold takes the session's causal order for an emitting call: from just
// before the syscall that moves its bytes (or sends its SYN, FIN or RST)
// until it has recorded its event with RecordHeld and called Release, no
// other event can be recorded. On loopback the peer's read of those bytes
// returns while the write is still inside the kernel; holding the order
// makes that read wait the microseconds it takes to record the write.
// Never wait for anything else while holding it.
func (s *Session) Hold() { s.order.Lock() }

// Release gives back the order taken by Hold or HoldFor.
func (s *Session) Release() {
	s.mu.Lock()
	s.emitting = false
	s.mu.Unlock()
	s.order.Unlock()
}

// RecordHeld is Record for a caller that holds the order. b, when not nil,
// is the blocked call that e ends (Block): e is then recorded as the end of
// that call if its begin was recorded, else as one event.
func (s *Session) RecordHeld(e *Event, began time.Time, b *Blocked) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recordEndLocked(e, began, b)
}

// recordEndLocked records e, the end of b if b is not nil.
func (s *Session) recordEndLocked(e *Event, began time.Time, b *Blocked) error {
	if b != nil {
		s.unblockLocked(b)
		if b.published {
			e.Phase, e.CallID, e.Blocked = PhaseEnd, b.id, true
		}
	}
	return s.recordLocked(e, began)
}

// recordLocked appends e after the begins of the calls blocked now: they
// stay blocked while e happens.
func (s *Session) recordLocked(e *Event, began time.Time) error {
	if s.state != StateRunning {
		return fmt.Errorf("record %s on finished session %s", e.Kind, s.id)
	}
	for len(s.blocked) > 0 {
		s.publishLocked(s.blocked[0])
	}
	n := s.events.len()
	if n >= s.maxEvents {
		return ErrTooManyEvents
	}
	// Whether the log can keep it inline, decided once for its cost and
	// its slot: this is every call's path.
	inline := fitsInline(e) && fitsInt32(n) // its seq is n
	cost := eventCost(e, inline)
	if s.bytes+cost > s.maxBytes && s.maxBytes > 0 {
		return ErrBudget
	}
	s.bytes += cost
	// time.Since reads the monotonic clock only, half of time.Now's cost.
	tns := int64(time.Since(s.startedAt))
	e.Seq = n
	e.TNs = tns
	if n > 0 {
		// A clock read under the lock cannot go back; be sure anyway.
		e.TNs = max(e.TNs, s.events.slot(n-1).tnsOf())
	}
	if !began.IsZero() {
		e.DurNs = max(tns-int64(began.Sub(s.startedAt)), 0)
	}
	s.events.appendKept(e, inline)
	s.wakeLocked()
	return nil
}

// Blocked is a call that has to wait: its begin is recorded once another
// event is recorded while it waits, or once it has waited publishAfter.
type Blocked struct {
	s     *Session
	begin Event
	began time.Time
	due   time.Time // when its begin is recorded anyway
	// Guarded by the session's mu:
	id        int  // its CallID once published
	published bool // its begin is recorded
	ended     bool // its end is recorded, or the session finished
}

// publishAfter is how long a call may wait with nothing else happening
// before its begin is recorded anyway, so that viewers see it wait. A
// stepped session waits longer: there, nothing else happens until the next
// step, and a call that completes on its own in a moment (a connect whose
// handshake the kernel finishes) is better one event than a begin that a
// later step ends; a call that really waits for the peer still shows it.
const (
	publishAfter        = time.Millisecond
	publishAfterStepped = 100 * time.Millisecond
)

// Block says that the call begin describes, entered at began, has to wait.
// begin holds what is known at the call's entry (actor, kind, fd, conn,
// want, offset, source line); its result fields stay zero. The call's
// begin is recorded, with PhaseBegin, before any event recorded from now
// on while it waits; end it with RecordHeld(e, began, b).
//
// A call that emits must call Block while it holds the order, so that
// what it caused cannot be recorded before its begin; a call that takes in
// need not, and Block waits for no one but the session's lock.
func (s *Session) Block(begin Event, began time.Time) *Blocked {
	b := &Blocked{s: s, begin: begin, began: began}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateRunning {
		b.ended = true
		return b
	}
	after := publishAfter
	if s.step.features.Step {
		after = publishAfterStepped
	}
	b.due = time.Now().Add(after)
	s.blocked = append(s.blocked, b)
	// One timer per session, not one per call: a bulk transfer blocks
	// thousands of times a second.
	if !s.lateArmed {
		s.lateArmed = true
		if s.late == nil {
			s.late = time.AfterFunc(after, s.publishDue)
		} else {
			s.late.Reset(after)
		}
	}
	return b
}

// publishDue records the begins of the calls that have waited their
// time, and sets the session's timer for the next one.
func (s *Session) publishDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lateArmed = false
	if s.state != StateRunning {
		return
	}
	now := time.Now()
	for _, b := range slices.Clone(s.blocked) {
		if !now.Before(b.due) {
			s.publishLocked(b)
		}
	}
	if len(s.blocked) > 0 {
		next := s.blocked[0].due
		for _, b := range s.blocked {
			if b.due.Before(next) {
				next = b.due
			}
		}
		s.lateArmed = true
		s.late.Reset(max(next.Sub(now), 0))
	}
}

// publishLocked records b's begin and takes it off the list of blocked
// calls whose begin is due.
func (s *Session) publishLocked(b *Blocked) {
	s.dropBlockedLocked(b)
	n := s.events.len()
	cost := EventCost(&b.begin)
	if n >= s.maxEvents || s.maxBytes > 0 && s.bytes+cost > s.maxBytes {
		return // no room: the call will be one event, if it fits at all
	}
	s.bytes += cost
	s.calls++
	b.id, b.published = s.calls, true
	e := b.begin
	e.Phase, e.CallID, e.Blocked = PhaseBegin, b.id, true
	e.Seq, e.DurNs = n, 0
	e.TNs = max(int64(b.began.Sub(s.startedAt)), 0)
	if n > 0 {
		e.TNs = max(e.TNs, s.events.slot(n-1).tnsOf())
	}
	s.events.append(&e)
	s.wakeLocked()
}

// unblockLocked marks b ended before its end is recorded.
func (s *Session) unblockLocked(b *Blocked) {
	b.ended = true
	s.dropBlockedLocked(b)
}

func (s *Session) dropBlockedLocked(b *Blocked) {
	for i, w := range s.blocked {
		if w == b {
			s.blocked = append(s.blocked[:i], s.blocked[i+1:]...)
			return
		}
	}
}

func (s *Session) wakeLocked() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// Finish ends the session: done when err is nil, failed with err's text
// otherwise. Later calls do nothing.
func (s *Session) Finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateRunning {
		return
	}
	s.state = StateDone
	if err != nil {
		s.state = StateFailed
		s.err = err.Error()
	}
	s.finishedAt = time.Now()
	if s.finishing != nil {
		s.unsaved = s.finishing(s.bytes)
	}
	for _, b := range s.blocked {
		b.ended = true
	}
	s.blocked = nil
	if s.late != nil {
		s.late.Stop()
	}
	if s.step.pending != nil {
		s.step.pending = nil
		s.step.version++
	}
	s.wakeLocked()
	close(s.done)
}

// WhenFinishing sets what Finish asks as the session ends, before any
// reader sees it ended: f gets the session's bytes (Bytes) and says why
// the session will not be saved (Meta.Unsaved), or "". Its server decides
// there, not after the end, so that the viewers' last message can tell
// them. f runs under the session's lock: it must not call the session.
// It reports false, and f is never called, when the session has ended
// already.
func (s *Session) WhenFinishing(f func(bytes int64) (unsaved string)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateRunning {
		return false
	}
	s.finishing = f
	return true
}

// SetUnsaved records why the session was not saved (Meta.Unsaved): a
// replica's copy takes the word of the replica that ran it.
func (s *Session) SetUnsaved(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsaved = why
}

// Meta returns the session's metadata now.
func (s *Session) Meta() Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metaLocked()
}

func (s *Session) metaLocked() Meta {
	m := Meta{
		ID:        s.id,
		Scenario:  s.scenario,
		Params:    s.params,
		State:     s.state,
		Error:     s.err,
		StartedAt: s.startedAt.Round(0),
		Actors:    append([]string{}, s.actors...), // [] rather than null before the first lifeline
		Events:    s.events.len(),
		Step:      s.step.features.Step,
		Questions: s.step.features.Questions,
		Pending:   s.pendingLocked(),

		ExpectedEvents: s.expected.ExpectedEvents,
		ExpectedNs:     int64(s.expected.Expected),
		Unsaved:        s.unsaved,
	}
	if !s.finishedAt.IsZero() {
		t := s.finishedAt.Round(0)
		m.FinishedAt = &t
	}
	return m
}

// Snapshot returns the metadata and a copy of every event so far.
func (s *Session) Snapshot() Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Record{Meta: s.metaLocked(), Events: s.events.copy(0, s.events.len())}
}

// Events returns a copy of the events [from, to), within those recorded.
func (s *Session) Events(from, to int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	to = min(to, s.events.len())
	from = min(max(from, 0), to)
	return s.events.copy(from, to)
}

// WriteJSON writes the session as Snapshot's JSON would be, without
// copying its events: the metadata, then the events from the encoding cache
// that the WebSocket subscribers share, a batch at a time. The events are
// those recorded when it starts.
func (s *Session) WriteJSON(w io.Writer) error {
	s.mu.Lock()
	m, n := s.metaLocked(), s.events.len()
	s.mu.Unlock()
	head, err := json.Marshal(m)
	if err != nil {
		return err
	}
	head = append(head[:len(head)-1], `,"events":[`...) // the object goes on
	if _, err := w.Write(head); err != nil {
		return err
	}
	for from := 0; from < n; {
		to, b := s.encodedRange(from, n, n, 256<<10)
		if from > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		from = to
	}
	_, err = io.WriteString(w, "]}\n")
	return err
}

// MarshalJSON encodes the session's snapshot.
func (s *Session) MarshalJSON() ([]byte, error) { return json.Marshal(s.Snapshot()) }

// Batch is what one Subscription.Next returns: the events [From, To) already
// encoded, and whether the session has ended with them.
type Batch struct {
	From, To int
	// JSON holds the events' wire-format objects joined by commas: the
	// inside of a JSON array. It is shared by every subscriber and must not
	// be modified.
	JSON []byte
	// Final is true when these are the session's last events (possibly none)
	// and the session has ended in State with Error.
	Final bool
	State State
	Error string
	// PendingChanged says that the next call of a stepped session (or its
	// question's tally) changed since the last batch; Pending is it now,
	// nil for none.
	PendingChanged bool
	Pending        *Pending
}

// Subscription reads a session's events in seq order: the history first,
// then live events as they are recorded. A subscription holds only a cursor,
// so it never slows the session; one that falls more than MaxLag events
// behind the live edge is cut off with ErrTooSlow and may resume.
type Subscription struct {
	s       *Session
	next    int
	joined  int
	maxLag  int
	pending int // the step.version last delivered
}

// Subscribe starts reading at seq from (0 for the whole history). maxLag
// bounds how many live events the subscriber may leave unread; 0 means no
// bound.
func (s *Session) Subscribe(from, maxLag int) *Subscription {
	s.mu.Lock()
	joined := s.events.len()
	s.mu.Unlock()
	from = max(from, 0)
	return &Subscription{s: s, next: from, joined: max(joined, from), maxLag: maxLag}
}

// Resume is the seq of the next event the subscription would deliver.
func (sub *Subscription) Resume() int { return sub.next }

// Next waits until there are events past the cursor or the session has
// ended, then returns up to limit of them (all of them if limit <= 0) and
// no more than maxBytes of JSON (no bound if maxBytes <= 0), but always at
// least one event when there is one. It
// returns ctx's error if ctx ends first, and ErrTooSlow when the subscriber
// fell behind. After the Final batch, Next keeps returning empty Final
// batches.
func (sub *Subscription) Next(ctx context.Context, limit, maxBytes int) (Batch, error) {
	s := sub.s
	for {
		s.mu.Lock()
		n := s.events.len()
		state, errText := s.state, s.err
		pendingChanged := s.step.version != sub.pending
		var pending *Pending
		if pendingChanged {
			pending, sub.pending = s.pendingLocked(), s.step.version
		}
		var wake chan struct{}
		if sub.next >= n && state == StateRunning && !pendingChanged {
			if s.wake == nil {
				s.wake = make(chan struct{})
			}
			wake = s.wake
		}
		s.mu.Unlock()

		if sub.maxLag > 0 && n-max(sub.next, sub.joined) > sub.maxLag {
			return Batch{}, ErrTooSlow
		}
		if wake == nil {
			to := n
			if limit > 0 && to-sub.next > limit {
				to = sub.next + limit
			}
			from := min(sub.next, to)
			b := Batch{From: from, PendingChanged: pendingChanged, Pending: pending}
			b.To, b.JSON = s.encodedRange(from, to, n, maxBytes)
			if b.To == n && state != StateRunning {
				b.Final, b.State, b.Error = true, state, errText
			}
			sub.next = b.To
			return b, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		}
	}
}

// encodedRange returns the comma-joined JSON of events [from, end), where
// end ≤ to is as far as maxBytes allows (at least one event), encoding
// events up to n (all recorded ones) into the shared cache first.
func (s *Session) encodedRange(from, to, n, maxBytes int) (end int, _ []byte) {
	if from >= to {
		return to, nil
	}
	s.encMu.Lock()
	defer s.encMu.Unlock()
	if len(s.ends) < n {
		s.mu.Lock()
		log := s.events // recorded events never change: read them unlocked
		s.mu.Unlock()
		for i := len(s.ends); i < n; i++ {
			if len(s.encoded) > 0 {
				s.encoded = append(s.encoded, ',')
			}
			e := log.at(i)
			s.encoded = e.AppendJSON(s.encoded)
			s.ends = append(s.ends, len(s.encoded))
		}
	}
	start := 0
	if from > 0 {
		start = s.ends[from-1] + 1 // skip the comma
	}
	if maxBytes > 0 && s.ends[to-1]-start > maxBytes {
		// The last event that still fits, found by binary search.
		to = from + 1 + sort.Search(to-from-1, func(i int) bool { return s.ends[from+1+i]-start > maxBytes })
	}
	// Three-index slice: appends by later encoders must never write into a
	// batch a subscriber is still sending.
	return to, s.encoded[start:s.ends[to-1]:s.ends[to-1]]
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a fresh unguessable session id: 128 random bits in 26
// lower-case base-32 characters.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return toLower(idEncoding.EncodeToString(b[:]))
}

// ValidID reports whether id has the form NewID makes. Callers check it
// before using an id in a path or a lookup.
func ValidID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// eventLog stores events in blocks that are never reallocated, so that
// appending never copies the events already recorded, and a reader holding
// a copy of the log (taken under the session's lock) can read the events it
// covers without the lock. The first block is small, for short sessions.
type eventLog struct {
	blocks [][]loggedEvent
	n      int
}

const (
	firstBlock = 32
	logBlock   = 512
)

func (l *eventLog) len() int { return l.n }

// at returns event i.
func (l *eventLog) at(i int) Event { return l.slot(i).event() }

func (l *eventLog) slot(i int) *loggedEvent {
	if i < firstBlock {
		return &l.blocks[0][i]
	}
	i -= firstBlock
	return &l.blocks[1+i/logBlock][i%logBlock]
}

// append stores e. A block's slice header never changes once made, so
// readers of older events share nothing that append writes.
func (l *eventLog) append(e *Event) { l.appendKept(e, fitsInline(e)) }

// appendKept is append for an event that fitsInline said inline of.
func (l *eventLog) appendKept(e *Event, inline bool) {
	switch {
	case l.n == 0:
		l.blocks = append(l.blocks, make([]loggedEvent, firstBlock))
	case l.n >= firstBlock && (l.n-firstBlock)%logBlock == 0:
		l.blocks = append(l.blocks, make([]loggedEvent, logBlock))
	}
	l.slot(l.n).store(e, inline)
	l.n++
}

// copy returns a copy of events [from, to).
func (l *eventLog) copy(from, to int) []Event {
	out := make([]Event, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, l.at(i))
	}
	return out
}

// loggedEvent is an Event as the session's log keeps it. Most events are
// reads and writes, which set a score of an Event's forty fields: the log
// keeps those fields inline, and the whole event, on the heap, only for an
// event that has any other (a setup call, a segment, a failure, a blocked
// call's half, an answer, a binary preview). A loggedEvent is 168 bytes
// with 7 pointers, an Event 456 with 19: recording copies, and the
// collector scans, less than half as much (BenchmarkRecord).
type loggedEvent struct {
	tns, durNs, offset                         int64
	seq, fd, ret, want, bytes, inq, outq, line int32
	actor, conn, data, tcpState, src           string
	kind                                       Kind
	flags                                      uint8
	full                                       *Event // the event, when it does not fit inline
}

// The flags of a loggedEvent.
const (
	loggedBlocked = 1 << iota
	loggedTruncated
	loggedEOF
	loggedInferred
)

// store keeps e in l; inline is fitsInline(e).
func (l *loggedEvent) store(e *Event, inline bool) {
	if !inline {
		full := *e
		*l = loggedEvent{full: &full}
		return
	}
	var flags uint8
	if e.Blocked {
		flags |= loggedBlocked
	}
	if e.Truncated {
		flags |= loggedTruncated
	}
	if e.EOF {
		flags |= loggedEOF
	}
	if e.Inferred {
		flags |= loggedInferred
	}
	// Field by field: a composite literal is built aside and then copied
	// into the slot, twice the writes to memory that is not yet cached.
	l.tns, l.durNs, l.offset = e.TNs, e.DurNs, e.Offset
	l.seq, l.fd, l.ret, l.want = int32(e.Seq), int32(e.FD), int32(e.Ret), int32(e.Want)
	l.bytes, l.inq, l.outq, l.line = int32(e.Bytes), int32(e.InQ), int32(e.OutQ), int32(e.Line)
	l.actor, l.conn, l.data, l.tcpState, l.src = e.Actor, e.Conn, e.Data, e.TCPState, e.Src
	l.kind, l.flags, l.full = e.Kind, flags, nil
}

// tnsOf returns the t_ns of the event l keeps.
func (l *loggedEvent) tnsOf() int64 {
	if l.full != nil {
		return l.full.TNs
	}
	return l.tns
}

// event returns the event l keeps.
func (l *loggedEvent) event() Event {
	if l.full != nil {
		return *l.full
	}
	return Event{
		TNs: l.tns, DurNs: l.durNs, Offset: l.offset,
		Seq: int(l.seq), FD: int(l.fd), Ret: int(l.ret), Want: int(l.want),
		Bytes: int(l.bytes), InQ: int(l.inq), OutQ: int(l.outq), Line: int(l.line),
		Actor: l.actor, Conn: l.conn, Data: l.data, TCPState: l.tcpState, Src: l.src,
		Kind:      l.kind,
		Blocked:   l.flags&loggedBlocked != 0,
		Truncated: l.flags&loggedTruncated != 0,
		EOF:       l.flags&loggedEOF != 0,
		Inferred:  l.flags&loggedInferred != 0,
	}
}

// fitsInline reports whether a loggedEvent holds all of e without its full
// copy: e sets no field but those kept inline, each in range.
// TestLoggedEventsKeepEveryField fails for a new Event field left out here.
func fitsInline(e *Event) bool {
	return e.Phase == "" && e.CallID == 0 && !e.Flowing && e.Errno == "" && e.Err == "" &&
		e.Local == "" && e.Peer == "" && e.DataB64 == "" && e.How == "" &&
		e.Option == "" && e.Value == 0 && e.Backlog == 0 && e.Host == "" &&
		e.Service == "" && e.Answer == "" && e.Asked == nil && e.Window == 0 && e.TCPSeq == 0 &&
		e.TCPAck == 0 && e.Flags == nil && e.Len == 0 && e.TSNs == 0 && e.Frame == "" &&
		fitsInt32(e.Seq) && fitsInt32(e.FD) && fitsInt32(e.Ret) && fitsInt32(e.Want) &&
		fitsInt32(e.Bytes) && fitsInt32(e.InQ) && fitsInt32(e.OutQ) && fitsInt32(e.Line)
}

func fitsInt32(v int) bool { return v == int(int32(v)) }

// fifoLock is a mutual-exclusion lock that serves its waiters in the order
// they asked. The session's order needs it: a writer that records and at
// once takes the order for its next write would, with a sync.Mutex, win
// against the reader waiting to record what the last write fed it, again
// and again, and the two would no longer run side by side. Uncontended, a
// Lock and Unlock are four atomic operations; a waiter yields a while
// before it parks (BenchmarkBulk: parking at once cost a third of the
// traced throughput).
type fifoLock struct {
	next, serving atomic.Uint64 // tickets: the next to give, the one served
	mu            sync.Mutex    // guards waiting
	cond          sync.Cond
}

// lockSpins is how many times Lock yields before it parks.
const lockSpins = 200

// Lock waits for its ticket's turn.
func (l *fifoLock) Lock() {
	t := l.next.Add(1) - 1
	// The order is held for one syscall, microseconds: yielding a few
	// times is far cheaper than parking and being woken.
	for range lockSpins {
		if l.serving.Load() == t {
			return
		}
		runtime.Gosched()
	}
	l.mu.Lock()
	if l.cond.L == nil {
		l.cond.L = &l.mu
	}
	for l.serving.Load() != t {
		l.cond.Wait()
	}
	l.mu.Unlock()
}

// Unlock serves the next ticket, waking its holder if it waits.
func (l *fifoLock) Unlock() {
	if served := l.serving.Add(1); l.next.Load() == served {
		return // nobody waits: a later Lock sees its turn at once
	}
	l.mu.Lock()
	if l.cond.L != nil {
		l.cond.Broadcast()
	}
	l.mu.Unlock()
}
