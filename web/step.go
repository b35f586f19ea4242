package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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
		writeError(w, http.StatusForbidden, "viewer %q: not a token this session's stream handed out; answer with the \"viewer\" of the stream's first message", req.Viewer)
		return
	}
	if err := sess.Answer(req.Viewer, *req.Choice); err != nil {
		writeError(w, http.StatusConflict, "%s", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// viewerTokens hands each WebSocket viewer of a session a token to answer
// with, and checks them, keeping nothing: a token is a nonce and an HMAC of
// the session id and the nonce under a key of this process.
type viewerTokens struct{ key [32]byte }

func newViewerTokens() *viewerTokens {
	var v viewerTokens
	_, _ = rand.Read(v.key[:]) // crypto/rand.Read never fails on Linux
	return &v
}

// issue returns a fresh token for a viewer of session id.
func (v *viewerTokens) issue(id string) string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	n := hex.EncodeToString(nonce[:])
	return n + "." + v.mac(id, n)
}

// valid reports whether token was issued for session id.
func (v *viewerTokens) valid(id, token string) bool {
	n, mac, ok := strings.Cut(token, ".")
	return ok && len(n) == 16 && hmac.Equal([]byte(mac), []byte(v.mac(id, n)))
}

func (v *viewerTokens) mac(id, nonce string) string {
	h := hmac.New(sha256.New, v.key[:])
	h.Write([]byte(id + "|" + nonce))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
