package trace

import "sync"

// DefaultMaxFinished is the default number of finished sessions a Store keeps.
const DefaultMaxFinished = 1000

// Class names the quota a session's scenario counts against: "lab" and
// "proxy" for the sessions of programs that connect to seqd, "api" for
// those started through the API. Each class keeps its own finished
// sessions, so that nothing one class does can push out another's.
func Class(scenario string) string {
	switch scenario {
	case "lab", "proxy":
		return scenario
	}
	return "api"
}

// Store keeps sessions readable by id: every running session, and the most
// recently added finished ones up to a bound per Class, the oldest of the
// class going first.
type Store struct {
	// MaxFinished bounds the finished sessions kept per class. Defaults
	// to DefaultMaxFinished.
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
	finished := map[string]int{}
	for _, s := range st.order {
		if isDone(s) {
			finished[Class(s.Scenario())]++
		}
	}
	over := false
	for _, n := range finished {
		over = over || n > limit
	}
	if !over {
		return
	}
	kept := st.order[:0]
	for _, s := range st.order {
		if c := Class(s.Scenario()); finished[c] > limit && isDone(s) {
			delete(st.byID, s.ID())
			finished[c]--
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
