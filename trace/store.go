package trace

import (
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

	// mu guards byID and order.
	mu    sync.Mutex
	byID  map[string]*Session
	order []*Session // in the order added
}

// Add makes s readable by its id and forgets the oldest finished sessions
// beyond the bound. It returns the session kept under that id: s, or the
// one already there (a saved session read back twice is kept once).
func (st *Store) Add(s *Session) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old, ok := st.byID[s.ID()]; ok {
		return old
	}
	if st.byID == nil {
		st.byID = make(map[string]*Session)
	}
	st.byID[s.ID()] = s
	st.order = append(st.order, s)
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

func (st *Store) evictLocked() {
	limit, byteLimit := st.MaxFinished, st.MaxFinishedBytes
	if limit <= 0 {
		limit = DefaultMaxFinished
	}
	if byteLimit <= 0 {
		byteLimit = DefaultMaxFinishedBytes
	}
	type usage struct {
		n     int
		bytes int64
	}
	finished := map[string]*usage{}
	for _, s := range st.order {
		if isDone(s) {
			c := Class(s.Scenario())
			if finished[c] == nil {
				finished[c] = &usage{}
			}
			finished[c].n++
			finished[c].bytes += s.Bytes()
		}
	}
	over := func(u *usage) bool { return u != nil && (u.n > limit || u.bytes > byteLimit) }
	any := false
	for _, u := range finished {
		any = any || over(u)
	}
	if !any {
		return
	}
	kept := st.order[:0]
	for _, s := range st.order {
		if u := finished[Class(s.Scenario())]; over(u) && isDone(s) {
			delete(st.byID, s.ID())
			u.n--
			u.bytes -= s.Bytes()
			continue
		}
		kept = append(kept, s)
	}
	clear(st.order[len(kept):])
	st.order = kept
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
	s, ok := st.byID[id]
	return s, ok
}

// Recent returns up to limit sessions of class, newest first, added before
// the session with id before (or the newest when before is ""), for a list
// of recent runs that pages back.
func (st *Store) Recent(class string, limit int, before string) []*Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	end := len(st.order)
	if before != "" {
		end = 0
		for i, s := range st.order {
			if s.ID() == before {
				end = i
				break
			}
		}
	}
	var out []*Session
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		if s := st.order[i]; Class(s.Scenario()) == class {
			out = append(out, s)
		}
	}
	return out
}
