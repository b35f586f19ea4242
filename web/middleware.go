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
	if len(s.cfg.AllowedOrigins) > 0 {
		frameAll = "frame-ancestors 'self' " + strings.Join(s.cfg.AllowedOrigins, " ")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		frame := "frame-ancestors 'self'"
		if strings.HasPrefix(r.URL.Path, "/embed/") {
			frame = frameAll
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
			"img-src 'self' data: blob:; connect-src 'self' ws://"+r.Host+" wss://"+r.Host+"; base-uri 'none'; form-action 'self'; "+frame)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		next.ServeHTTP(w, r)
	})
}

// cors lets the allowed origins' pages call the API: a <seq-diagram
// scenario=… server=…> on a course page starts and reads sessions.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(s.cfg.AllowedOrigins, o) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			h.Add("Vary", "Origin")
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
