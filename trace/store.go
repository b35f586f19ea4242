package trace

import "sync"

// DefaultMaxFinished is the default number of finished sessions a Store keeps.
const DefaultMaxFinished = 1000

// Store keeps sessions readable by id: every running session, and the most
// recently added finished ones up to a bound, the oldest going first.
type Store struct {
	// MaxFinished bounds the finished sessions kept. Defaults to
	// DefaultMaxFinished.
	MaxFinished int

	// mu guards byID and order.
	mu    sync.Mutex
	byID  map[string]*Session
	order []*Session // in the order added
}

// Add makes s readable by its id and forgets the oldest finished sessions
// beyond the bound.
func (st *Store) Add(s *Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byID == nil {
		st.byID = make(map[string]*Session)
	}
	st.byID[s.ID()] = s
	st.order = append(st.order, s)
	st.evictLocked()
}

func (st *Store) evictLocked() {
	limit := st.MaxFinished
	if limit <= 0 {
		limit = DefaultMaxFinished
	}
	finished := 0
	for _, s := range st.order {
		if isDone(s) {
			finished++
		}
	}
	if finished <= limit {
		return
	}
	kept := st.order[:0]
	for _, s := range st.order {
		if finished > limit && isDone(s) {
			delete(st.byID, s.ID())
			finished--
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
