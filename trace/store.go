package trace

import (
	"cmp"
	"slices"
	"sync"
)

// Defaults for Store's bounds, per class.
const (
	DefaultMaxFinished      = 1000
	DefaultMaxFinishedBytes = 256 << 20
)

// Class names the quota a session's scenario counts against: "lab" and
// "proxy" for the sessions of programs that connect to seqd, "trace" for
// those of programs seqd trace ran, "api" for those started through the
// API. Each class keeps its own finished
// sessions, so that nothing one class does can push out another's.
func Class(scenario string) string {
	if slices.Contains(Classes[1:], scenario) {
		return scenario
	}
	return Classes[0]
}

// MaxRecordBytes bounds a saved session read back (a file, an object): no
// real session's JSON is larger.
const MaxRecordBytes = 256 << 20

// Classes are the names Class returns, each a quota of its own: "api"
// first, every other scenario's.
var Classes = []string{"api", "lab", "proxy", "trace"}

// Store keeps sessions readable by id: every running session, and the most
// recently added finished ones up to bounds per Class (how many, and how
// much memory they take), the oldest of the class going first.
type Store struct {
	// MaxFinished bounds the finished sessions kept per class. Defaults
	// to DefaultMaxFinished.
	MaxFinished int
	// MaxFinishedBytes bounds the memory the finished sessions kept take,
	// per class (Session.Bytes). Defaults to DefaultMaxFinishedBytes.
	MaxFinishedBytes int64

	// mu guards the fields below.
	mu       sync.Mutex
	byID     map[string]*stored
	order    []*stored // in the order added; the forgotten among them are gone
	gone     int       // how many of order are gone
	added    int64     // how many sessions were ever added: the next one's number
	running  []*stored // not yet seen finished
	finished map[string]*classUsage
}

// stored is a session the Store holds, numbered in the order it was added.
type stored struct {
	s     *Session
	n     int64
	bytes int64 // Session.Bytes once it was seen finished
	gone  bool  // forgotten: no longer in byID, s nil
}

// classUsage is what one class's finished sessions take: the sessions in
// the order they were added (the oldest goes first; their count is the
// queue's length), and their bytes. Eviction and counting touch only
// these and the running sessions, not every session held.
type classUsage struct {
	queue []*stored
	bytes int64
}

// Add makes s readable by its id and forgets the oldest finished sessions
// beyond the bound. It returns the session kept under that id: s, or the
// one already there (a saved session read back twice is kept once).
func (st *Store) Add(s *Session) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old, ok := st.byID[s.ID()]; ok {
		return old.s
	}
	if st.byID == nil {
		st.byID = make(map[string]*stored)
		st.finished = make(map[string]*classUsage)
	}
	e := &stored{s: s, n: st.added}
	st.added++
	st.byID[s.ID()] = e
	st.order = append(st.order, e)
	st.running = append(st.running, e)
	st.evictLocked()
	return s
}

// Trim forgets the oldest finished sessions beyond the bounds, as Add
// does. Sessions are added while they run and count against the bounds
// only once finished, so whoever finishes one calls Trim: else what many
// sessions finishing at once held stays until the next Add.
func (st *Store) Trim() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.evictLocked()
}

// evictLocked counts the sessions that finished since it last looked
// against their class, then forgets the oldest finished sessions of each
// class over its bounds.
func (st *Store) evictLocked() {
	limit, byteLimit := st.MaxFinished, st.MaxFinishedBytes
	if limit <= 0 {
		limit = DefaultMaxFinished
	}
	if byteLimit <= 0 {
		byteLimit = DefaultMaxFinishedBytes
	}
	still := st.running[:0]
	for _, e := range st.running {
		if !isDone(e.s) {
			still = append(still, e)
			continue
		}
		u := st.finished[Class(e.s.Scenario())]
		if u == nil {
			u = &classUsage{}
			st.finished[Class(e.s.Scenario())] = u
		}
		e.bytes = e.s.Bytes()
		u.bytes += e.bytes
		// In the order added: a session that ran longer goes before the
		// newer ones that finished first.
		i := len(u.queue)
		for i > 0 && u.queue[i-1].n > e.n {
			i--
		}
		u.queue = slices.Insert(u.queue, i, e)
	}
	clear(st.running[len(still):])
	st.running = still
	for _, u := range st.finished {
		for len(u.queue) > 0 && (len(u.queue) > limit || u.bytes > byteLimit) {
			e := u.queue[0]
			u.queue[0] = nil
			u.queue = u.queue[1:]
			u.bytes -= e.bytes
			delete(st.byID, e.s.ID())
			e.gone = true
			e.s = nil // its events are freed now, not when order is compacted
			st.gone++
		}
	}
	if st.gone > len(st.order)/2 {
		st.order = slices.DeleteFunc(st.order, func(e *stored) bool { return e.gone })
		st.gone = 0
	}
}

func isDone(s *Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// Get returns the session with the given id.
func (st *Store) Get(id string) (*Session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.byID[id]
	if !ok {
		return nil, false
	}
	return e.s, true
}

// Recent returns up to limit sessions of class, newest first, added before
// the session with id before (or the newest when before is ""), for a list
// of recent runs that pages back.
func (st *Store) Recent(class string, limit int, before string) []*Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	end := len(st.order)
	if before != "" {
		e, ok := st.byID[before]
		if !ok {
			return nil
		}
		end, _ = slices.BinarySearchFunc(st.order, e.n, func(x *stored, n int64) int { return cmp.Compare(x.n, n) })
	}
	var out []*Session
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		if e := st.order[i]; !e.gone && Class(e.s.Scenario()) == class {
			out = append(out, e.s)
		}
	}
	return out
}
