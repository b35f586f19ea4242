package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"seqd/trace"
)

// authorizeStep checks a step request: only the browser that started a
// stepped session holds its token; everyone else watches. It answers the
// request itself when it refuses, and when the session runs on another
// replica, to which it forwards the request (that replica checks the
// token).
func (s *Server) authorizeStep(w http.ResponseWriter, r *http.Request) (*trace.Session, bool) {
	if s.forward(w, r) {
		return nil, false
	}
	sess, ok := s.session(w, r)
	if !ok {
		return nil, false
	}
	s.tokensMu.Lock()
	want, stepped := s.stepTokens[sess.ID()]
	s.tokensMu.Unlock()
	if !stepped {
		writeError(w, http.StatusConflict, "session %s is not waiting for steps: it was not started with \"step\": true, or it has ended", sess.ID())
		return nil, false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		writeError(w, http.StatusForbidden, "only the browser that started this session may step it (send its step_token as Authorization: Bearer TOKEN)")
		return nil, false
	}
	return sess, true
}

// step serves POST /api/sessions/{id}/step: the next call happens, and the
// answer comes once its event is recorded. With ?pending=N it happens only
// if it is still the call numbered N (the one the stepper saw): else 412.
func (s *Server) step(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.authorizeStep(w, r)
	if !ok {
		return
	}
	pending := 0
	if q := r.URL.Query(); q.Has("pending") {
		v := q.Get("pending")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "pending=%q: want the n of the pending call the step is for (a whole number from 1), or no pending", v)
			return
		}
		pending = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	err := sess.Step(ctx, pending)
	var changed *trace.PendingChangedError
	switch {
	case errors.As(err, &changed):
		writeError(w, http.StatusPreconditionFailed, "nothing was let through: %v; step again for the call shown now", err)
	case errors.Is(err, trace.ErrNotStepped):
		writeError(w, http.StatusConflict, "session %s is not waiting for steps: it has ended or runs to its end", sess.ID())
	case err != nil:
		writeError(w, http.StatusGatewayTimeout, "the step did not complete: %v", err)
	default:
		writeJSON(w, http.StatusOK, sess.Meta())
	}
}

// runToEnd serves POST /api/sessions/{id}/run: the remaining calls happen
// without waiting for steps.
func (s *Server) runToEnd(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.authorizeStep(w, r)
	if !ok {
		return
	}
	if err := sess.RunToEnd(); err != nil {
		writeError(w, http.StatusConflict, "session %s is not waiting for steps", sess.ID())
		return
	}
	writeJSON(w, http.StatusOK, sess.Meta())
}

// answerRequest is a viewer's answer to the pending question.
type answerRequest struct {
	Viewer string `json:"viewer"` // the token the viewer's WebSocket stream handed out
	Choice *int   `json:"choice"`
}

// answer serves POST /api/sessions/{id}/answer: a viewer of the session
// answers its pending question, with the token its WebSocket stream handed
// it (so a viewer counts once, and nobody answers without watching), in a
// JSON body (so another site's form cannot post it).
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		writeError(w, http.StatusUnsupportedMediaType, "send the answer as Content-Type: application/json")
		return
	}
	var req answerRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Choice == nil || req.Viewer == "" {
		writeError(w, http.StatusBadRequest, `send {"viewer": TOKEN, "choice": N}, with the token of your WebSocket stream's first message`)
		return
	}
	if !s.viewers.valid(sess.ID(), req.Viewer) {
		writeError(w, http.StatusForbidden, "viewer %q: not the token of an open stream of this session; answer with the \"viewer\" of your stream's first message while it is open", trace.Clip(req.Viewer, 40))
		return
	}
	if s.forwardAnswer(w, r, sess.ID(), req.Viewer, *req.Choice) {
		return // counted by the replica that runs the session
	}
	if err := sess.Answer(req.Viewer, *req.Choice); err != nil {
		writeError(w, http.StatusConflict, "%s", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// viewerTokens hands each WebSocket viewer of a session a token to answer
// with while it watches: a token is good only while the stream that handed
// it out is open, so answers cannot be made in bulk by opening and closing
// streams, and there are never more tokens than viewers (which are
// bounded).
type viewerTokens struct {
	mu   sync.Mutex
	live map[string]string // token → session id
}

func newViewerTokens() *viewerTokens { return &viewerTokens{live: map[string]string{}} }

// issue returns a fresh token for a viewer of session id; release ends it.
func (v *viewerTokens) issue(id string) (token string, release func()) {
	token = trace.NewID()
	v.mu.Lock()
	v.live[token] = id
	v.mu.Unlock()
	return token, func() {
		v.mu.Lock()
		delete(v.live, token)
		v.mu.Unlock()
	}
}

// valid reports whether token belongs to an open stream of session id.
func (v *viewerTokens) valid(id, token string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.live[token] == id
}
