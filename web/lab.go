package web

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"seqd/trace"
)

// maxLabListed bounds the sessions GET /api/lab lists.
const maxLabListed = 50

// LabInfo is one session of a student's own program in GET /api/lab: a
// connection to the lab port (scenario "lab") or, under seqd proxy, through
// the proxy (scenario "proxy").
type LabInfo struct {
	ID        string      `json:"id"`
	Scenario  string      `json:"scenario"`
	State     trace.State `json:"state"`
	Error     string      `json:"error,omitempty"`
	StartedAt time.Time   `json:"started_at"`
	Client    string      `json:"client"` // the program's address, as the server saw it
	URL       string      `json:"url"`    // the session's page, /s/{id}
}

// labResponse is the body of GET /api/lab.
type labResponse struct {
	Enabled  bool      `json:"enabled"`
	Addr     string    `json:"addr"`
	Sessions []LabInfo `json:"sessions"` // newest first
}

// labBook is the lab port's address and its newest sessions.
type labBook struct {
	// mu guards the fields below.
	mu       sync.Mutex
	addr     string
	sessions []labEntry // oldest first, at most maxLabListed
}

type labEntry struct {
	sess   *trace.Session
	client string
}

// EnableLab says that programs can connect at addr (HOST:PORT) — the lab
// port, or seqd proxy's listening address — whose sessions AddLabSession
// hands in. GET /api/lab answers "enabled": false until it is called.
func (s *Server) EnableLab(addr string) {
	s.lab.mu.Lock()
	defer s.lab.mu.Unlock()
	s.lab.addr = addr
}

// AddLabSession makes a session that netcore's lab port or proxy started
// readable and watchable like one started through the API — kept in the
// store, counted, logged, saved when it finishes — and lists it in GET
// /api/lab. client is the program's address. The session's runner must
// finish it; under the server's Context it ends by Close at the latest.
func (s *Server) AddLabSession(sess *trace.Session, client string) {
	s.store.Add(sess)
	s.lab.mu.Lock()
	s.lab.sessions = append(s.lab.sessions, labEntry{sess: sess, client: client})
	if n := len(s.lab.sessions); n > maxLabListed {
		s.lab.sessions = slices.Delete(s.lab.sessions, 0, n-maxLabListed)
	}
	s.lab.mu.Unlock()

	s.cfg.Logger.Info("session started", "id", sess.ID(), "scenario", sess.Scenario(), "client", client)
	s.watch(sess, ownerOf(client), nil)
}

// AddTraceSession serves sess, a session of seqd trace (programs traced
// with ptrace), as any other session; what says which programs.
func (s *Server) AddTraceSession(sess *trace.Session, what string) {
	s.store.Add(sess)
	s.cfg.Logger.Info("session started", "id", sess.ID(), "scenario", sess.Scenario(), "programs", what)
	s.watch(sess, "", nil) // the server's own operator ran it
}

// listLab answers GET /api/lab: whether programs can connect, where, and
// the newest of their sessions, newest first.
func (s *Server) listLab(w http.ResponseWriter, _ *http.Request) {
	s.lab.mu.Lock()
	resp := labResponse{Enabled: s.lab.addr != "", Addr: s.lab.addr, Sessions: make([]LabInfo, 0, len(s.lab.sessions))}
	entries := slices.Clone(s.lab.sessions)
	s.lab.mu.Unlock()
	for _, e := range slices.Backward(entries) {
		m := e.sess.Meta()
		resp.Sessions = append(resp.Sessions, LabInfo{
			ID: m.ID, Scenario: m.Scenario, State: m.State, Error: m.Error,
			StartedAt: m.StartedAt, Client: e.client, URL: "/s/" + m.ID,
		})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}
