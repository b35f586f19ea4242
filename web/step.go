package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"seqd/trace"
)

// authorizeStep checks a step request: only the browser that started a
// stepped session holds its token; everyone else watches. It answers the
// request itself when it refuses.
func (s *Server) authorizeStep(w http.ResponseWriter, r *http.Request) (*trace.Session, bool) {
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
// answer comes once its event is recorded.
func (s *Server) step(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.authorizeStep(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	err := sess.Step(ctx)
	switch {
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
	Viewer string `json:"viewer"` // an id the page makes up once, so a viewer counts once
	Choice *int   `json:"choice"`
}

// answer serves POST /api/sessions/{id}/answer: any viewer may answer.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	var req answerRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Choice == nil || req.Viewer == "" || len(req.Viewer) > 64 {
		writeError(w, http.StatusBadRequest, `send {"viewer": "a made-up id of at most 64 bytes", "choice": N}`)
		return
	}
	if err := sess.Answer(req.Viewer, *req.Choice); err != nil {
		writeError(w, http.StatusConflict, "%s", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
