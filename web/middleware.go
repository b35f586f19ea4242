package web

import (
	"io"
	"net"
	"net/http"
	"net/netip"
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
// read its response, so that a slow client cannot hold a handler. Every
// request gets the response's, whatever its headers say: net/http clears
// it when a WebSocket stream takes the connection over, and the stream
// bounds its writes itself.
//
// The read deadline lasts only while a body is read. Once a request's
// body is read (at once, for one without a body), net/http reads the
// connection in the background to see the client leave, and a deadline
// passing there counts as leaving: it cancels the context of the request
// and of every later one on that keep-alive connection. A handler that
// took longer than ReadTimeout (opening a session of another replica
// while NATS elects a leader) cancelled itself, and the connection's next
// requests failed at once, for as long as the client kept it.
func (s *Server) deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		_ = rc.SetWriteDeadline(now.Add(s.cfg.ResponseTimeout))
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(now.Add(s.cfg.ReadTimeout))
			r.Body = &bodyRead{ReadCloser: r.Body, done: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		}
		next.ServeHTTP(w, r)
	})
}

// bodyRead is a request body that calls done when it is read to its end
// (done may run more than once). A body that fails (the deadline, a
// limit) or is left unread keeps the deadline, which then bounds
// net/http's reading of the rest.
type bodyRead struct {
	io.ReadCloser
	done func()
}

func (b *bodyRead) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done()
	}
	return n, err
}

// checkHost answers 421 Misdirected Request to a request for a host the
// server was not told it has (Config.Hosts), before anything else.
//
// Without Config.Hosts it answers an address (127.0.0.1:8080, [::1],
// 10.1.2.3) and localhost, and no other name: a page of another name that
// resolves to this server (DNS rebinding against a seqd on a laptop) is
// refused; a server reached by a name says so with -public-url.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if !s.knownHost(host) {
			if len(s.cfg.Hosts) > 0 {
				writeError(w, http.StatusMisdirectedRequest, "this server answers for %s, not %q", strings.Join(s.cfg.Hosts, ", "), r.Host)
			} else {
				writeError(w, http.StatusMisdirectedRequest, "this server answers for its addresses and localhost, not the name %q: start it with -public-url https://%s to serve it by that name", r.Host, r.Host)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// knownHost reports whether a request's Host names this server.
func (s *Server) knownHost(host string) bool {
	if len(s.cfg.Hosts) > 0 {
		return slices.Contains(s.cfg.Hosts, host) || slices.Contains(s.cfg.Hosts, stripPort(host))
	}
	name := stripPort(host)
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return true
	}
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

// stripPort returns host without its port, if it has one.
func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// cors lets the allowed origins' pages call the API: a <seq-diagram
// scenario=… server=…> on a course page starts and steps sessions. Reading
// is public and read-only (a session's id is its capability, and no
// cookie is involved), so any page may GET: a <seq-diagram session=…
// server=…> draws a finished session on a default server.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		switch {
		case o != "" && slices.Contains(s.cfg.AllowedOrigins, o):
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
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
