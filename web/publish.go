package web

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"seqd/trace"
)

// A published trace: seqd trace -publish URL sends a session it records
// (a student's own programs) to a course server started with
// -trace-token, so that the class sees it on the projector. It is two
// requests, both with "Authorization: Bearer TOKEN":
//
//	POST /api/trace                {"params": {...}}  → 201 {"id", "url"}
//	POST /api/trace/{id}/events    NDJSON, a line a batch:
//	                               {"actors": [...], "events": [...]}
//	                               and last {"final": true, "state": "done", "error": ""}
//
// The session is a mirror (trace.NewMirror): its events keep the tracer's
// own seq and times. It is bounded like any session: the events' budget
// (Config.TraceBytes), the events' count, PublishIdle between lines,
// PublishMax in all, and MaxPublished open at once.

// Bounds of a published trace.
const (
	// PublishIdle is how long a published trace may send nothing before
	// it is ended as failed.
	PublishIdle = time.Minute
	// PublishMax is how long a published trace may run in all.
	PublishMax = 30 * time.Minute
	// maxPublishLine bounds one NDJSON line (one batch of events).
	maxPublishLine = 8 << 20
	// MaxPublished bounds the published traces open at once.
	MaxPublished = 64
)

// publishBook is what the server knows of published traces: those open
// (created and not ended) and those a request is sending now.
type publishBook struct {
	mu     sync.Mutex
	open   int
	active map[string]bool
}

// publishLine is one line of a published trace's events.
type publishLine struct {
	Actors []string      `json:"actors"`
	Events []trace.Event `json:"events"`
	Final  bool          `json:"final"`
	State  trace.State   `json:"state"`
	Error  string        `json:"error"`
}

// authorized reports whether r carries the trace token, answering 401 or
// 404 when it does not (404: the server takes no traces at all).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.TraceToken == "" {
		writeError(w, http.StatusNotFound, "this server takes no published traces: its operator starts it with -trace-token to take them")
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.TraceToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="seqd trace"`)
		writeError(w, http.StatusUnauthorized, "a published trace needs the course server's trace token: seqd trace -publish URL -token TOKEN")
		return false
	}
	return true
}

// createTrace answers POST /api/trace: a new published session, waiting
// for its events.
func (s *Server) createTrace(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req struct {
		Params map[string]any `json:"params"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "the body must be JSON such as {\"params\": {}}: %v", err)
		return
	}
	s.publish.mu.Lock()
	if s.publish.open >= MaxPublished {
		s.publish.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "%d published traces are open on this server, its most: try again when one has ended", MaxPublished)
		return
	}
	s.publish.open++
	s.publish.mu.Unlock()
	sess, err := trace.NewMirror(trace.Meta{ID: trace.NewID(), Scenario: "trace", Params: req.Params, StartedAt: time.Now()})
	if err != nil {
		s.closePublished()
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	s.store.Add(sess)
	s.cfg.Logger.Info("published trace started", "id", sess.ID(), "client", r.RemoteAddr)
	s.watch(sess, clientIP(r), nil)
	// Nothing comes: it ends after PublishIdle.
	go s.endIdleTrace(sess)
	writeJSON(w, http.StatusCreated, map[string]string{"id": sess.ID(), "url": "/s/" + sess.ID()})
}

// endIdleTrace fails a published session whose events never start, and
// counts it closed when it ends.
func (s *Server) endIdleTrace(sess *trace.Session) {
	defer s.closePublished()
	t := time.NewTimer(PublishIdle)
	defer t.Stop()
	select {
	case <-t.C:
		if sess.Meta().Events == 0 && !s.publishing(sess.ID()) {
			sess.Finish(errors.New("the tracer sent no events"))
			return
		}
	case <-sess.Done():
		return
	case <-s.ctx.Done():
		sess.Finish(errors.New("the server shut down"))
		return
	}
	select {
	case <-sess.Done():
	case <-s.ctx.Done():
		sess.Finish(errors.New("the server shut down"))
	}
}

func (s *Server) closePublished() {
	s.publish.mu.Lock()
	s.publish.open--
	s.publish.mu.Unlock()
}

// publishing reports whether a request is sending id's events now.
func (s *Server) publishing(id string) bool {
	s.publish.mu.Lock()
	defer s.publish.mu.Unlock()
	return s.publish.active[id]
}

// claimPublishing marks that a request sends id's events, unless one does
// already: one sender a session. It reports whether it marked.
func (s *Server) claimPublishing(id string) bool {
	s.publish.mu.Lock()
	defer s.publish.mu.Unlock()
	if s.publish.active[id] {
		return false
	}
	if s.publish.active == nil {
		s.publish.active = map[string]bool{}
	}
	s.publish.active[id] = true
	return true
}

// releasePublishing ends claimPublishing's mark.
func (s *Server) releasePublishing(id string) {
	s.publish.mu.Lock()
	defer s.publish.mu.Unlock()
	delete(s.publish.active, id)
}

// traceEvents answers POST /api/trace/{id}/events: it mirrors the NDJSON
// batches into the session as they come and ends it with the final line.
func (s *Server) traceEvents(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	sess, ok := s.store.Get(chi.URLParam(r, "id"))
	if !ok || sess.Scenario() != "trace" {
		writeError(w, http.StatusNotFound, "no published trace %q: create one with POST /api/trace first", chi.URLParam(r, "id"))
		return
	}
	if sess.Meta().State != trace.StateRunning || !s.claimPublishing(sess.ID()) {
		writeError(w, http.StatusConflict, "trace %s has ended or is being sent already", sess.ID())
		return
	}
	defer s.releasePublishing(sess.ID())

	rc := http.NewResponseController(w)
	end := time.Now().Add(PublishMax)
	_ = rc.SetWriteDeadline(end.Add(10 * time.Second))
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 64<<10), maxPublishLine)
	fail := func(status int, format string, args ...any) {
		err := fmt.Errorf(format, args...)
		sess.Finish(err)
		writeError(w, status, "%v", err)
	}
	for {
		next := time.Now().Add(PublishIdle)
		if next.After(end) {
			next = end
		}
		_ = rc.SetReadDeadline(next)
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				fail(http.StatusBadRequest, "the tracer's events stopped: %v", err)
			} else {
				fail(http.StatusBadRequest, "the tracer's events ended without a final line")
			}
			return
		}
		var line publishLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			fail(http.StatusBadRequest, "a line of the tracer's events is not JSON: %v", err)
			return
		}
		for i := range line.Events {
			// A traced program is asked no questions: a tally sent with its
			// calls would be made up (and shown to the class).
			line.Events[i].Answer, line.Events[i].Asked = "", nil
		}
		if err := sess.Mirror(line.Actors, line.Events); err != nil {
			fail(http.StatusBadRequest, "%v", err)
			return
		}
		if m := sess.Meta(); sess.Bytes() > s.cfg.TraceBytes || m.Events > trace.DefaultMaxEvents {
			fail(http.StatusRequestEntityTooLarge, "the published trace passed this server's budget (%d events, %d bytes): trace shorter runs, or keep fewer bytes a call with -preview 64", m.Events, sess.Bytes())
			return
		}
		if line.Final {
			var err error
			if line.State == trace.StateFailed {
				err = errors.New(line.Error)
			}
			sess.Finish(err)
			writeJSON(w, http.StatusOK, map[string]any{"id": sess.ID(), "events": sess.Meta().Events})
			return
		}
	}
}
