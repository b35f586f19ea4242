package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seqd/trace"
)

// A step or run request for a stepped session that another replica runs
// is forwarded to it (Config.Replicas), which checks the step token and
// steps the session as if asked directly; its answer is this server's.

// forwarded is a step or run request as it travels to the replica that
// runs the session.
type forwarded struct {
	ID            string `json:"id"`
	Action        string `json:"action"` // "step", "run" or "answer"
	Authorization string `json:"authorization,omitempty"`
	Query         string `json:"query,omitempty"` // a step's: pending=N
	// An answer's: the viewer (whose token the forwarding replica checked:
	// its stream is open there) and the choice.
	Viewer string `json:"viewer,omitempty"`
	Choice int    `json:"choice,omitempty"`
}

// forwardedReply is that replica's answer.
type forwardedReply struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// forward answers r, a step or run request, with the answer of the replica
// that runs its session, when the session is not run here and a replica
// serves it; it reports whether it did.
func (s *Server) forward(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Replicas == nil {
		return false
	}
	id := chi.URLParam(r, "id")
	if s.runsHere(id) || !trace.ValidID(id) {
		return false
	}
	action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	req, _ := json.Marshal(forwarded{ID: id, Action: action, Authorization: r.Header.Get("Authorization"), Query: r.URL.RawQuery})
	return s.forwardRequest(w, r, id, req)
}

// forwardAnswer sends an answer, its viewer's token checked here, to the
// replica that runs session id, when another does; it reports whether it
// did (else the answer counts here).
func (s *Server) forwardAnswer(w http.ResponseWriter, r *http.Request, id, viewer string, choice int) bool {
	if s.cfg.Replicas == nil || s.runsHere(id) {
		return false
	}
	req, _ := json.Marshal(forwarded{ID: id, Action: "answer", Viewer: viewer, Choice: choice})
	return s.forwardRequest(w, r, id, req)
}

// runsHere reports whether this server runs stepped session id.
func (s *Server) runsHere(id string) bool {
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	_, here := s.stepTokens[id]
	return here
}

// forwardRequest sends req to the replica that runs session id and
// answers r with its answer; false when no replica serves the session.
func (s *Server) forwardRequest(w http.ResponseWriter, r *http.Request, id string, req []byte) bool {
	ctx, cancel := context.WithTimeout(r.Context(), 35*time.Second) // a step waits up to 30 s
	defer cancel()
	data, ok, err := s.cfg.Replicas.Forward(ctx, id, req)
	if err != nil {
		writeError(w, http.StatusBadGateway, "the replica that runs session %s did not answer: %v; try again", id, err)
		return true
	}
	if !ok {
		return false // no replica steps it: answered here (it is not waiting for steps)
	}
	var reply forwardedReply
	if err := json.Unmarshal(data, &reply); err != nil || reply.Status == 0 {
		writeError(w, http.StatusBadGateway, "the replica that runs session %s answered what this one cannot read; try again", id)
		return true
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(reply.Status)
	_, _ = w.Write(reply.Body)
	return true
}

// serveForwarded answers a request another replica forwarded for a
// session this server runs, as step or runToEnd would answer it here.
func (s *Server) serveForwarded(request []byte) []byte {
	var req forwarded
	rec := &replyRecorder{header: http.Header{}}
	handler := map[string]http.HandlerFunc{"step": s.step, "run": s.runToEnd}
	switch err := json.Unmarshal(request, &req); {
	case err != nil || !trace.ValidID(req.ID) || req.Action != "answer" && handler[req.Action] == nil:
		writeError(rec, http.StatusBadRequest, "a forwarded request this replica cannot read")
	case req.Action == "answer":
		s.answerForwarded(rec, req)
	default:
		target := "/api/sessions/" + req.ID + "/" + req.Action
		if req.Query != "" {
			target += "?" + req.Query // after the path: it can only be read as the query
		}
		r, _ := http.NewRequestWithContext(s.ctx, http.MethodPost, target, nil)
		r.Header.Set("Authorization", req.Authorization)
		rctx := chi.NewRouteContext()
		rctx.URLParams.Add("id", req.ID)
		r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
		handler[req.Action](rec, r)
	}
	body := rec.body
	if !json.Valid(body) {
		body, _ = json.Marshal(string(body))
	}
	reply, _ := json.Marshal(forwardedReply{Status: rec.status, Body: body})
	return reply
}

// answerForwarded counts an answer another replica forwarded for a
// session this server runs: that replica checked the viewer's token.
func (s *Server) answerForwarded(w http.ResponseWriter, req forwarded) {
	sess, ok := s.store.Get(req.ID)
	if !ok || !s.runsHere(req.ID) {
		writeError(w, http.StatusNotFound, "session %s is not run here", req.ID)
		return
	}
	if err := sess.Answer(req.Viewer, req.Choice); err != nil {
		writeError(w, http.StatusConflict, "%s", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// replyRecorder is the http.ResponseWriter a forwarded request is served
// into.
type replyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (rr *replyRecorder) Header() http.Header { return rr.header }

func (rr *replyRecorder) WriteHeader(code int) {
	if rr.status == 0 {
		rr.status = code
	}
}

func (rr *replyRecorder) Write(p []byte) (int, error) {
	rr.WriteHeader(http.StatusOK)
	rr.body = append(rr.body, p...)
	return len(p), nil
}
