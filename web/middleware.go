package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// securityHeaders sets the headers every response carries. Pages may load
// only their own scripts and connect only to this server; /embed/ pages
// may be framed by the allowed origins (any page when none are set), the
// rest only by this server's own pages.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	frameAll := "frame-ancestors *"
	if len(s.cfg.FrameAncestors) > 0 {
		frameAll = "frame-ancestors 'self' " + strings.Join(s.cfg.FrameAncestors, " ")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		frame := "frame-ancestors 'self'"
		if strings.HasPrefix(r.URL.Path, "/embed/") {
			frame = frameAll
		}
		h := w.Header()
		// No request-controlled text in the policy: CSP 3's 'self' covers
		// ws: and wss: to this host.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
			"img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; "+frame)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		next.ServeHTTP(w, r)
	})
}

// deadlines bounds how long a request may take to send its body and to
// read its response, so that a slow client cannot hold a handler; the
// WebSocket streams bound their writes themselves.
func (s *Server) deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			rc := http.NewResponseController(w)
			now := time.Now()
			_ = rc.SetReadDeadline(now.Add(s.cfg.ReadTimeout))
			_ = rc.SetWriteDeadline(now.Add(s.cfg.ResponseTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// checkHost answers 421 Misdirected Request to a request for a host the
// server was not told it has (Config.Hosts), before anything else.
func (s *Server) checkHost(next http.Handler) http.Handler {
	if len(s.cfg.Hosts) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(s.cfg.Hosts, strings.ToLower(r.Host)) {
			writeError(w, http.StatusMisdirectedRequest, "this server answers for %s, not %q", strings.Join(s.cfg.Hosts, ", "), r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cors lets the allowed origins' pages call the API: a <seq-diagram
// scenario=… server=…> on a course page starts and steps sessions. Reading
// is public and read-only (a session's id is its capability, and no
// cookie is involved), so any page may GET: a <seq-diagram session=…
// server=…> draws a finished session on a default server.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		switch {
		case o != "" && slices.Contains(s.cfg.AllowedOrigins, o):
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			h.Add("Vary", "Origin")
		case o != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent) // a preflight: the headers above are the answer
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs one line per request.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		s.cfg.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
			"bytes", ww.BytesWritten(), "dur", time.Since(start), "remote", r.RemoteAddr)
	})
}
