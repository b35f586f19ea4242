package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"seqd/keylock"
	"seqd/trace"
)

//go:embed static
var staticFiles embed.FS

// Runner prepares and starts sessions. netcore.Runner implements it.
type Runner interface {
	// Scenarios describes the scenarios the runner can perform.
	Scenarios() []trace.ScenarioInfo
	// Prepare validates a scenario and its parameters, returning
	// trace.ErrUnknownScenario or a *trace.ParamError when they are wrong.
	// A session prepared with features.Step waits before each call until
	// stepped.
	Prepare(scenario string, params map[string]any, features trace.Features) (*trace.Session, error)
	// Start runs a prepared session in the background under ctx.
	Start(ctx context.Context, sess *trace.Session)
	// Segments reports whether sessions can capture TCP segments, and if
	// not, why and how to enable it.
	Segments() (available bool, reason string)
}

// Defaults of Config's fields.
const (
	DefaultMaxBody         = 64 << 10
	DefaultReadTimeout     = 10 * time.Second
	DefaultResponseTimeout = 30 * time.Second
)

// Config configures a Server. Zero fields take their defaults.
type Config struct {
	// AllowedOrigins lists the origins (scheme://host[:port]) of course
	// pages that may start and step sessions and follow their WebSocket
	// streams cross-origin. Reading a session (GET) answers any origin;
	// framing is FrameAncestors'.
	AllowedOrigins []string
	// MaxBody bounds a request body in bytes. Defaults to DefaultMaxBody.
	MaxBody int64
	// TraceToken, when set, lets seqd trace -publish send sessions of
	// students' own programs here (publish.go) with this bearer token;
	// TraceBytes bounds each one's events (default trace.DefaultMaxBytes).
	TraceToken string
	TraceBytes int64
	// MaxLag bounds how many events a WebSocket subscriber may fall
	// behind a live session before it is cut off. Defaults to 10,000.
	MaxLag int
	// WriteTimeout bounds each WebSocket write; a viewer that does not
	// read for that long is cut off. Defaults to 10 s.
	WriteTimeout time.Duration
	// WriteBudget is how many messages per second the server means to
	// write to all WebSocket viewers together. Each viewer's messages are
	// spaced by (viewers / WriteBudget) seconds, and by the batch_ms it
	// asked for at least, the events in between going in one message: a
	// small audience gets every event at once (seqd's page asks for a
	// message a frame), a lecture hall gets them batched instead of late.
	// Defaults to 35,000.
	WriteBudget int
	// PingInterval is how often a WebSocket viewer is pinged; one that does
	// not answer within the interval is dropped. Defaults to 30 s.
	PingInterval time.Duration
	// Logger receives one line per request and per session. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Limits bound sessions, viewers and messages.
	Limits Limits
	// TrustedProxies lists the address prefixes (10.0.0.0/8) of reverse
	// proxies whose X-Forwarded-For names the client; empty means limits
	// count by the connection's remote address.
	TrustedProxies []string
	// Archive keeps finished sessions across restarts; nil keeps them in
	// memory only.
	Archive Archive
	// FrameAncestors lists the origins whose pages may frame /embed/
	// pages (CSP frame-ancestors); empty means any page may.
	FrameAncestors []string
	// Hosts, when not empty, are the only Host header values (host or
	// host:port, as a browser sends them) the server answers; any other
	// gets 421, so that a page of another name that resolves here (DNS
	// rebinding) cannot drive a local seqd. seqd serve -public-url sets it.
	Hosts []string
	// MemoryLimit, when set, is the memory the server may use, in bytes:
	// it refuses new sessions, viewers and downloads (503) once its Go
	// memory comes within a session's budget of it. seqd serve
	// -memory-limit also sets the runtime's soft limit to it.
	MemoryLimit int64
	// ReadTimeout bounds the reading of a request's body, ResponseTimeout
	// the writing of a response (an export to a slow reader), for every
	// request but the WebSocket streams, which have their own
	// (WriteTimeout, pings). Default DefaultReadTimeout and
	// DefaultResponseTimeout.
	ReadTimeout, ResponseTimeout time.Duration
	// PublicMetrics serves /metrics on the main handler too. Off by
	// default: MetricsHandler serves them on an address of their own
	// (seqd serve -metrics-addr), out of visitors' reach.
	PublicMetrics bool
	// Replicas, when set, shares the sessions this server runs with the
	// other seqd replicas of a cluster and finds theirs, so that any
	// replica serves any session's viewers (seqd serve -nats).
	Replicas Replicas
}

// Replicas is what the server needs of the other replicas of a cluster;
// replica.Node implements it over NATS JetStream.
type Replicas interface {
	// Publish shares a session this server runs, from its first event to
	// its end.
	Publish(*trace.Session)
	// Open returns a local copy of a session another replica runs or ran,
	// fed as it goes on; ok is false when none has it.
	Open(ctx context.Context, id string) (sess *trace.Session, ok bool, err error)
	// ServeControl answers with serve the requests that other replicas
	// forward for a stepped session this server runs, until it ends.
	ServeControl(sess *trace.Session, serve func(request []byte) []byte)
	// Forward sends a request to the replica that runs session id and
	// returns its reply; ok is false when none serves it.
	Forward(ctx context.Context, id string, request []byte) (reply []byte, ok bool, err error)
	// Recent returns the finished sessions the replicas published (this
	// one's too), newest first: the recent list of every replica.
	Recent() []trace.Meta
	// Claim takes one of address addr's places of kind ("running",
	// "stepped") across the replicas for session id; ok is false when
	// addr holds most there already. release gives the place back when
	// the session ends. An error says the replicas could not count it.
	Claim(ctx context.Context, kind, addr, id string, most int) (release func(), ok bool, err error)
}

// Archive saves finished sessions and loads them back by id; Load's error
// wraps fs.ErrNotExist when there is no such session. archive.Dir
// implements it.
type Archive interface {
	Save(trace.Record) error
	Load(id string) (trace.Record, error)
}

// Server serves the API, the WebSocket stream and the pages.
type Server struct {
	runner  Runner
	store   *trace.Store
	cfg     Config
	origins []string // AllowedOrigins as host patterns for websocket.Accept
	static  fs.FS
	preload []byte // the pages' modulepreload links (preloadLinks)

	// ctx is the server's own context: sessions and WebSocket handlers run
	// under it, since a request's context ends with the request and
	// http.Server.Shutdown does not wait for hijacked connections.
	ctx    context.Context
	cancel context.CancelCauseFunc
	wsWG   sync.WaitGroup // running WebSocket handlers
	sessWG sync.WaitGroup // watchers of running sessions

	metrics     *metrics
	running     sessionSlots // running sessions, by client IP
	subscribers counter      // WebSocket viewers, by session id
	viewersByIP counter      // the same viewers, by client address
	stepping    sessionSlots // stepped sessions, by client address
	viewers     *viewerTokens
	downloads   counter       // sessions and exports being sent, by client address
	shares      saveShares    // what each client address saved to the archive this hour
	loading     keylock.Locks // saved sessions being read back, by id

	// tokensMu guards stepTokens: the secret of each running stepped
	// session, which only the browser that started it holds.
	tokensMu   sync.Mutex
	stepTokens map[string]string

	lab     labBook     // the lab port's address and newest sessions (lab.go)
	publish publishBook // published traces (publish.go)
}

// New returns a Server that starts sessions with runner and keeps them in
// store.
func New(runner Runner, store *trace.Store, cfg Config) (*Server, error) {
	if cfg.TraceBytes <= 0 {
		cfg.TraceBytes = trace.DefaultMaxBytes
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 10_000
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.WriteBudget <= 0 {
		cfg.WriteBudget = 35_000
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = DefaultResponseTimeout
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	s := &Server{runner: runner, store: store, cfg: cfg, metrics: newMetrics(), viewers: newViewerTokens()}
	s.running = sessionSlots{total: cfg.Limits.MaxRunning, perKey: cfg.Limits.MaxRunningPerIP}
	s.subscribers = counter{total: cfg.Limits.MaxSubscribers, perKey: cfg.Limits.MaxSubscribersPerSession}
	s.viewersByIP = counter{total: cfg.Limits.MaxSubscribers, perKey: cfg.Limits.MaxSubscribersPerIP}
	s.stepping = sessionSlots{total: cfg.Limits.MaxStepped, perKey: cfg.Limits.MaxSteppedPerIP}
	s.shares = saveShares{most: int64(cfg.Limits.SavedBytesPerIP), mostFiles: cfg.Limits.SavedFilesPerIP, window: time.Hour}
	s.downloads = counter{total: cfg.Limits.MaxDownloads, perKey: cfg.Limits.MaxDownloadsPerIP}
	for _, p := range cfg.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address prefix such as 10.0.0.0/8: %w", p, err)
		}
	}
	for _, o := range cfg.FrameAncestors {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" && u.Path != "/" || strings.ContainsAny(o, " ;,'") {
			return nil, fmt.Errorf("frame ancestor %q: want scheme://host[:port], such as https://lms.example.edu", o)
		}
	}
	for _, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port], such as https://course.example.edu", o)
		}
		s.origins = append(s.origins, u.Host)
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	s.static = sub
	if s.preload, err = preloadLinks(sub); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	return s, nil
}

// MetricsHandler serves the server's metrics in Prometheus text format, to
// be served on an address of its own.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// ErrStopping is the cause of the server's context once Close is called:
// what a session still running then fails with, in words its viewers read.
var ErrStopping = errors.New("the server stopped before the session finished; run it again once the server is back")

// Context is the server's own context, under which sessions should run; it
// ends when Close is called.
func (s *Server) Context() context.Context { return s.ctx }

// Close ends the server's context, which cancels the sessions still
// running and ends every WebSocket stream with status 1001 (going away),
// and waits for the stream handlers and for the finished sessions to be
// saved.
func (s *Server) Close() {
	s.cancel(ErrStopping)
	s.wsWG.Wait()
	s.sessWG.Wait()
}

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	if len(s.cfg.TrustedProxies) > 0 {
		r.Use(middleware.ClientIPFromXFF(s.cfg.TrustedProxies...))
	} else {
		r.Use(middleware.ClientIPFromRemoteAddr)
	}
	r.Use(s.deadlines, s.logRequests, s.securityHeaders, s.checkHost, middleware.GetHead)
	if s.cfg.PublicMetrics {
		r.Get("/metrics", s.MetricsHandler().ServeHTTP)
	}
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	r.Route("/api", func(r chi.Router) {
		r.Use(s.cors, middleware.GetHead)
		r.Get("/scenarios", s.listScenarios)
		r.Get("/lab", s.listLab)
		r.Get("/capabilities", s.capabilities)
		r.With(s.rateLimit()).Post("/sessions", s.createSession)
		r.Get("/sessions", s.listSessions)
		r.Post("/trace", s.createTrace)
		r.Post("/trace/{id}/events", s.traceEvents)
		r.Route("/sessions/{id}", func(r chi.Router) {
			r.With(s.boundDownloads).Get("/", s.getSession)
			r.Get("/ws", s.stream)
			r.With(s.boundDownloads).Get("/mermaid", s.exportText(trace.WriteMermaid))
			r.With(s.boundDownloads).Get("/ladder", s.exportText(trace.WriteLadder))
			r.With(s.boundDownloads).Get("/pcapng", s.exportPcapng)
			r.Post("/step", s.step)
			r.Post("/run", s.runToEnd)
			r.With(s.answerLimit()).Post("/answer", s.answer)
		})
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "no API endpoint %s %s; see docs/protocol.md", r.Method, r.URL.Path)
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
		})
	})
	r.Get("/", s.page("index.html"))
	r.Get("/s/{id}", s.page("index.html"))
	r.Get("/embed/{scenario}", s.page("embed.html"))
	r.Get("/embed/s/{id}", s.page("embed.html"))
	r.Get("/*", s.staticFile)
	return r
}

// page serves one of the HTML pages; the page reads its own address to
// know which session or scenario it shows.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(s.static, name)
		if err != nil {
			http.Error(w, "page missing from the build", http.StatusInternalServerError)
			return
		}
		b = bytes.Replace(b, preloadMarker, s.preload, 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// preloadMarker is the comment in index.html and embed.html that page
// replaces with the modulepreload links of the element's module tree.
var preloadMarker = []byte("<!-- seqd writes here a modulepreload link for each module of the element, so the browser fetches the tree at once. -->\n")

// preloadLinks returns a modulepreload link for seq-diagram.js and each
// module under moduleDirs, so that a page fetches the element's tree at
// once rather than import by import. The tree, read from the embedded
// files, is the one list of modules: the pages do not repeat it.
func preloadLinks(static fs.FS) ([]byte, error) {
	names := []string{"seq-diagram.js"}
	for _, d := range moduleDirs {
		found, err := fs.Glob(static, d+"*.js")
		if err != nil {
			return nil, fmt.Errorf("list the element's modules in %s: %w", d, err)
		}
		names = append(names, found...)
	}
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "<link rel=\"modulepreload\" href=\"/%s\">\n", n)
	}
	return b.Bytes(), nil
}

// moduleDirs are the folders of the element's module tree (seq-diagram.js
// imports sd/define.js, which imports ui/ and core/): course pages on other
// origins load them as module scripts, so they are served with CORS like
// seq-diagram.js itself.
var moduleDirs = []string{"sd/", "ui/", "core/"}

// staticFile serves the page's modules and styles: the top-level files of
// the embedded directory and the element's module tree. Only regular files
// that exist in the embedded FS are reachable (fs.ValidPath refuses "..",
// empty and rooted names); the HTML pages have their own routes.
func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	inTree := false
	for _, d := range moduleDirs {
		inTree = inTree || strings.HasPrefix(name, d) && strings.HasSuffix(name, ".js")
	}
	if strings.HasSuffix(name, ".html") || !fs.ValidPath(name) || strings.Contains(name, "/") && !inTree {
		http.NotFound(w, r)
		return
	}
	if fi, err := fs.Stat(s.static, name); err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if name == "seq-diagram.js" || inTree {
		// Course pages on other origins load the element as module
		// scripts, which needs CORS; the files are public code.
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	w.Header().Set("Cache-Control", "no-cache")
	if tag := s.staticETag(name); tag != "" {
		w.Header().Set("ETag", tag) // ServeFileFS answers If-None-Match with 304
	}
	http.ServeFileFS(w, r, s.static, name)
}

// staticETags holds the entity tag of each embedded file by name.
var staticETags sync.Map

// staticETag is the entity tag of the embedded file name: a hash of its
// bytes, computed once. Embedded files have no modification time, so
// without it a browser could not revalidate them (Cache-Control: no-cache)
// and would fetch every module of the element again on every visit.
func (s *Server) staticETag(name string) string {
	if tag, ok := staticETags.Load(name); ok {
		return tag.(string)
	}
	b, err := fs.ReadFile(s.static, name)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	tag := `"` + hex.EncodeToString(sum[:12]) + `"`
	staticETags.Store(name, tag)
	return tag
}

func (s *Server) listScenarios(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.runner.Scenarios())
}

// createRequest is the body of POST /api/sessions.
type createRequest struct {
	Scenario  string         `json:"scenario"`
	Params    map[string]any `json:"params"`
	Step      bool           `json:"step"`      // wait before each call until stepped
	Questions bool           `json:"questions"` // in step mode, ask the class before some calls
	Segments  bool           `json:"segments"`  // capture the TCP segments too
}

// sessionResponse is a session's metadata with the addresses to follow it.
type sessionResponse struct {
	trace.Meta
	URL       string `json:"url"`
	Embed     string `json:"embed"`
	WebSocket string `json:"ws"`
	// StepToken is given once, to the creator of a stepped session: step
	// requests must carry it as "Authorization: Bearer TOKEN".
	StepToken string `json:"step_token,omitempty"`
}

func newSessionResponse(m trace.Meta) sessionResponse {
	return sessionResponse{Meta: m, URL: "/s/" + m.ID, Embed: "/embed/s/" + m.ID, WebSocket: "/api/sessions/" + m.ID + "/ws"}
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	req, status, err := decodeCreate(w, r, s.cfg.MaxBody)
	if err != nil {
		writeError(w, status, "%s", err)
		return
	}
	if s.memoryFull() {
		s.refuse(w, http.StatusServiceUnavailable, "memory", 5*time.Second, "the server is at its memory budget; try again in a few seconds")
		return
	}
	if req.Questions && !req.Step {
		writeError(w, http.StatusBadRequest, `"questions" needs "step": true: questions are asked before stepped calls`)
		return
	}
	if ok, why := s.runner.Segments(); req.Segments && !ok {
		writeError(w, http.StatusConflict, "the segment layer is unavailable: %s", why)
		return
	}
	sess, err := s.runner.Prepare(req.Scenario, req.Params, trace.Features{Step: req.Step, Questions: req.Questions, Segments: req.Segments})
	var pe *trace.ParamError
	switch {
	case errors.Is(err, trace.ErrUnknownScenario):
		writeError(w, http.StatusNotFound, "%s; GET /api/scenarios lists them", err)
		return
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, "%s", err)
		return
	case err != nil:
		s.cfg.Logger.Error("prepare session", "scenario", req.Scenario, "err", err)
		writeError(w, http.StatusInternalServerError, "could not prepare the session; try again")
		return
	}
	ip := clientIP(r)
	// A stepped session spends its life waiting for its presenter: it
	// holds a slot of its own, not one of the running sessions'.
	slots, what, most, mostPerIP := &s.running, "running", s.cfg.Limits.MaxRunning, s.cfg.Limits.MaxRunningPerIP
	if req.Step {
		slots, what, most, mostPerIP = &s.stepping, "stepped", s.cfg.Limits.MaxStepped, s.cfg.Limits.MaxSteppedPerIP
	}
	perIP := func() {
		s.refuse(w, http.StatusTooManyRequests, what+"_per_ip", 5*time.Second,
			"you have %d %s sessions, the most for one address; wait for one to finish", mostPerIP, what)
	}
	// The session's own context: ended when it finishes, or early to make
	// room for another address's (sessionSlots).
	ctx, end := context.WithCancelCause(s.ctx)
	place, evicted, full := slots.take(ip, end)
	if place == nil {
		end(nil)
		if full == "total" {
			s.refuse(w, http.StatusServiceUnavailable, what+"_total", 5*time.Second,
				"the server has %d %s sessions, its most; try again in a few seconds", most, what)
		} else {
			perIP()
		}
		return
	}
	release, ok := s.claimAcrossReplicas(r.Context(), what, ip, sess.ID(), mostPerIP)
	if !ok {
		slots.refund(ip, place, evicted) // no one's session is stopped for a refused one
		end(nil)
		perIP()
		return
	}
	if evicted != nil {
		s.metrics.limitsHit.WithLabelValues(what + "_made_room").Inc()
		evicted.end(fmt.Errorf("the server was full (%d %s sessions), and the address that started this one held the most of them: it was stopped to make room for another address's session; start it again in a while", most, what))
	}
	resp := newSessionResponse(sess.Meta())
	if req.Step {
		resp.StepToken = trace.NewID()
		s.tokensMu.Lock()
		if s.stepTokens == nil {
			s.stepTokens = map[string]string{}
		}
		s.stepTokens[sess.ID()] = resp.StepToken
		s.tokensMu.Unlock()
	}
	s.store.Add(sess)
	if s.cfg.Replicas != nil {
		s.cfg.Replicas.Publish(sess)
		if req.Step {
			s.cfg.Replicas.ServeControl(sess, s.serveForwarded)
		}
	}
	// Watched before it starts: a quick session may end at once, and its
	// end asks the watch whether it is saved.
	s.watch(sess, ip, func() {
		slots.give(ip, place)
		end(nil)
		release()
		s.tokensMu.Lock()
		delete(s.stepTokens, sess.ID())
		s.tokensMu.Unlock()
	})
	s.runner.Start(ctx, sess)
	s.cfg.Logger.Info("session started", "id", sess.ID(), "scenario", req.Scenario, "step", req.Step, "client", ip)
	w.Header().Set("Location", "/api/sessions/"+sess.ID())
	writeJSON(w, http.StatusCreated, resp)
}

// claimAcrossReplicas takes one of address ip's places of kind across
// the replicas for session id, when there are replicas: a load balancer
// spreading one address over them must not multiply what it may run.
// When they cannot count it (NATS unavailable), the session is allowed:
// this server's own bound per address still holds, and a lecture is not
// stopped by a NATS outage. release gives the place back.
func (s *Server) claimAcrossReplicas(ctx context.Context, kind, ip, id string, most int) (release func(), ok bool) {
	if s.cfg.Replicas == nil {
		return func() {}, true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	release, ok, err := s.cfg.Replicas.Claim(ctx, kind, ip, id, most)
	if err != nil {
		s.cfg.Logger.Warn("count an address's sessions across the replicas; counted here only", "kind", kind, "client", ip, "err", err)
		return func() {}, true
	}
	return release, ok
}

// decodeCreate reads and checks a creation request, returning the status
// to answer with when it is wrong.
func decodeCreate(w http.ResponseWriter, r *http.Request, maxBody int64) (createRequest, int, error) {
	var req createRequest
	// Requiring the JSON type also makes a cross-origin browser ask first
	// (a CORS preflight), so other sites cannot start sessions with plain
	// form posts or no-cors fetches (which may send no type at all).
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		if ct == "" {
			ct = "none"
		}
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("the body must be sent as Content-Type: application/json, not %s (with curl: -H 'Content-Type: application/json')", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return req, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes", tooBig.Limit)
	case err != nil:
		return req, http.StatusBadRequest, fmt.Errorf("reading the body: %w", err)
	}
	// First the object's field names, so that an unknown one is named:
	// encoding/json's DisallowUnknownFields says so only in an untyped
	// error's text.
	var fields map[string]json.RawMessage
	if status, err := decodeOne(body, &fields); err != nil {
		return req, status, err
	}
	for name := range fields {
		if !slices.Contains(createFields, name) {
			return req, http.StatusBadRequest, fmt.Errorf("unknown field %q; the body takes %s", name, strings.Join(createFields, ", "))
		}
	}
	if status, err := decodeOne(body, &req); err != nil {
		return req, status, err
	}
	if req.Scenario == "" {
		return req, http.StatusBadRequest, errors.New(`"scenario" is missing; GET /api/scenarios lists them`)
	}
	return req, 0, nil
}

// isJSON reports whether a Content-Type header names JSON.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// createFields are the fields of a createRequest, as JSON names them.
var createFields = []string{"scenario", "params", "step", "questions", "segments"}

// decodeOne decodes body, which must hold exactly one JSON value, into v
// (numbers as json.Number), or says what is wrong with it.
func decodeOne(body []byte, v any) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return http.StatusBadRequest, errors.New(`the body is empty; send {"scenario": NAME, "params": {...}}`)
		case errors.As(err, &syntax):
			return http.StatusBadRequest, fmt.Errorf("the body is not valid JSON: %v (at byte %d)", err, syntax.Offset)
		case errors.As(err, &typ) && typ.Field == "":
			return http.StatusBadRequest, fmt.Errorf("the body must be a JSON object, not a JSON %s", typ.Value)
		case errors.As(err, &typ):
			return http.StatusBadRequest, fmt.Errorf("field %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type), typ.Value)
		}
		return http.StatusBadRequest, fmt.Errorf("the body is not valid JSON: %v", err)
	}
	if dec.More() {
		return http.StatusBadRequest, errors.New("the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return http.StatusBadRequest, errors.New("the body has data after its JSON value")
	}
	return 0, nil
}

// watch waits for a session to finish, then calls release (if any) to free
// what it held, counts and logs it, and saves it to the archive within its
// owner's share (the client address that started it; "" for none). It
// must be called before the session can finish: the share is taken as it
// ends, so that the viewers' last message says when it was not saved.
func (s *Server) watch(sess *trace.Session, owner string, release func()) {
	save := s.cfg.Archive != nil
	class := trace.Class(sess.Scenario())
	asked := false // the share was asked as the session ended
	if save && owner != "" {
		asked = sess.WhenFinishing(func(bytes int64) string {
			if s.shares.take(class, owner, bytes, time.Now()) {
				return ""
			}
			save = false // read by the goroutine below once the session is done
			return s.shares.refusal(class)
		})
	}
	s.metrics.started.WithLabelValues(sess.Scenario()).Inc()
	s.metrics.running.Inc()
	s.sessWG.Add(1)
	go func() {
		defer s.sessWG.Done()
		<-sess.Done() // the runner finishes every session: its deadline, or Close, cancels it
		if release != nil {
			release()
		}
		s.metrics.running.Dec()
		s.store.Trim() // it counts against the store's bounds from now on
		rec := sess.Snapshot()
		s.metrics.finished.WithLabelValues(rec.Scenario, string(rec.State)).Inc()
		var dur time.Duration
		if rec.FinishedAt != nil {
			dur = rec.FinishedAt.Sub(rec.StartedAt)
		}
		s.cfg.Logger.Info("session finished", "id", rec.ID, "scenario", rec.Scenario, "state", rec.State,
			"error", rec.Error, "events", len(rec.Events), "dur", dur)
		if save && owner != "" && !asked && !s.shares.take(class, owner, sess.Bytes(), time.Now()) {
			// It ended before watch could ask: its record says so, though
			// its viewers then were not told.
			save = false
			rec.Unsaved = s.shares.refusal(class)
			sess.SetUnsaved(rec.Unsaved)
		}
		switch {
		case rec.Unsaved != "":
			s.metrics.limitsHit.WithLabelValues("save_share").Inc()
			s.cfg.Logger.Warn("session not saved: its address saved its share within the hour", "id", rec.ID, "client", owner, "share_bytes", s.shares.most, "share_files", s.shares.mostFiles)
		case save:
			if err := s.cfg.Archive.Save(rec); err != nil {
				s.cfg.Logger.Error("save session", "id", rec.ID, "err", err)
			}
		}
	}()
}

// session finds the session named in the path, in memory or in the
// archive, answering 404 when there is none.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*trace.Session, bool) {
	id := chi.URLParam(r, "id")
	if !trace.ValidID(id) {
		writeError(w, http.StatusNotFound, "no session %q: session ids are 26 letters and digits", trace.Clip(id, 40))
		return nil, false
	}
	if sess, ok := s.store.Get(id); ok {
		return sess, true
	}
	if s.cfg.Replicas != nil {
		sess, err := s.fromReplicas(r.Context(), id)
		if err != nil {
			// Not "no such session": the replicas could not be asked.
			s.cfg.Logger.Warn("open session of another replica", "id", id, "err", err)
			s.refuse(w, http.StatusServiceUnavailable, "replicas", 2*time.Second, "the other replicas could not be asked for session %s just now; try again in a moment", id)
			return nil, false
		}
		if sess != nil {
			return sess, true
		}
	}
	if s.cfg.Archive != nil {
		if s.memoryFull() {
			s.refuse(w, http.StatusServiceUnavailable, "memory", 5*time.Second, "the server is at its memory budget; try again in a few seconds")
			return nil, false
		}
		// One load per id at a time: a class opening one permalink after
		// a restart reads its file once.
		unlock := s.loading.Lock(id)
		defer unlock()
		if sess, ok := s.store.Get(id); ok {
			return sess, true
		}
		rec, err := s.cfg.Archive.Load(id)
		if err == nil {
			sess, err := trace.Restore(rec)
			if err == nil {
				return s.store.Add(sess), true
			}
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.cfg.Logger.Warn("load saved session", "id", id, "err", err)
		}
	}
	writeError(w, http.StatusNotFound, "no session %s: it never existed or has been forgotten", id)
	return nil, false
}

// fromReplicas opens a copy of session id that another replica runs or
// ran, once: the viewers who ask for it together share one copy. It
// returns nil when no replica has it, and an error when they could not be
// asked (NATS electing a leader after a failure, for longer than 10 s).
func (s *Server) fromReplicas(ctx context.Context, id string) (*trace.Session, error) {
	unlock := s.loading.Lock(id)
	defer unlock()
	if sess, ok := s.store.Get(id); ok {
		return sess, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sess, ok, err := s.cfg.Replicas.Open(ctx, id)
	if err != nil || !ok {
		return nil, err
	}
	s.cfg.Logger.Info("session of another replica", "id", id)
	return s.store.Add(sess), nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Has("download") {
		w.Header().Set("Content-Disposition", `attachment; filename="seqd-`+sess.Scenario()+"-"+sess.ID()+`.json"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// Streamed from the encoding cache the viewers share: a download costs
	// no copy of the session.
	if err := sess.WriteJSON(w); err != nil {
		s.cfg.Logger.Debug("download cut short", "id", sess.ID(), "err", err)
	}
}

// recentSession is one row of GET /api/sessions.
type recentSession struct {
	ID        string      `json:"id"`
	Scenario  string      `json:"scenario"`
	State     trace.State `json:"state"`
	StartedAt time.Time   `json:"started_at"`
	Events    int         `json:"event_count"`
	URL       string      `json:"url"`
}

// listSessions answers GET /api/sessions?limit=N&before=ID: the newest
// finished sessions started through the API (the lab's are in /api/lab),
// newest first, before the one named when paging back.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "limit %q: want a number from 1 to 100", trace.Clip(v, 20))
			return
		}
		limit = n
	}
	before := q.Get("before")
	if before != "" && !trace.ValidID(before) {
		writeError(w, http.StatusBadRequest, "before %q: want a session id", trace.Clip(before, 40))
		return
	}
	out := struct {
		Sessions []recentSession `json:"sessions"`
	}{Sessions: []recentSession{}}
	for _, m := range s.recent(limit, before) {
		out.Sessions = append(out.Sessions, recentSession{ID: m.ID, Scenario: m.Scenario, State: m.State, StartedAt: m.StartedAt, Events: m.Events, URL: "/s/" + m.ID})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// recent returns the newest limit finished sessions started through the
// API, before the one named (none when it is not among them): this
// server's, and with replicas every replica's too.
func (s *Server) recent(limit int, before string) []trace.Meta {
	var own []trace.Meta
	// Running sessions are left out: a lecture in progress is its
	// presenter's to share.
	if s.cfg.Replicas == nil {
		for _, sess := range s.store.Recent("api", limit, before) {
			if m := sess.Meta(); m.State != trace.StateRunning {
				own = append(own, m)
			}
		}
		return own
	}
	seen := map[string]bool{}
	all := s.cfg.Replicas.Recent()
	for _, m := range all {
		seen[m.ID] = true
	}
	for _, sess := range s.store.Recent("api", trace.DefaultMaxFinished, "") {
		if m := sess.Meta(); m.State != trace.StateRunning && !seen[m.ID] {
			all = append(all, m) // finished a moment ago: not in the bucket's copy yet
		}
	}
	slices.SortFunc(all, trace.NewestFirst)
	if before != "" {
		i := slices.IndexFunc(all, func(m trace.Meta) bool { return m.ID == before })
		if i < 0 {
			return nil
		}
		all = all[i+1:]
	}
	return all[:min(limit, len(all))]
}

// exportText serves a text rendering of a session.
func (s *Server) exportText(write func(io.Writer, trace.Record) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := write(w, sess.Snapshot()); err != nil {
			s.cfg.Logger.Warn("export", "path", r.URL.Path, "err", err)
		}
	}
}

// capabilities serves GET /api/capabilities: what this server can do, so
// the page can say why a toggle is off.
func (s *Server) capabilities(w http.ResponseWriter, _ *http.Request) {
	ok, why := s.runner.Segments()
	type feature struct {
		Available bool   `json:"available"`
		Reason    string `json:"reason,omitempty"`
	}
	writeJSON(w, http.StatusOK, map[string]feature{"segments": {ok, why}})
}

// exportPcapng serves a session's captured segments as a pcapng file.
func (s *Server) exportPcapng(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	rec := sess.Snapshot()
	var buf bytes.Buffer
	if err := trace.WritePcapng(&buf, rec); err != nil {
		writeError(w, http.StatusNotFound, "%s", err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pcapng")
	w.Header().Set("Content-Disposition", `attachment; filename="seqd-`+rec.Scenario+"-"+rec.ID+`.pcapng"`)
	w.Write(buf.Bytes())
}

// parseFrom reads the ?from= seq a subscriber resumes from.
func parseFrom(q string) (int, error) {
	if q == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 0 || n > 1<<31-1 {
		return 0, fmt.Errorf("from=%q: want the seq to resume from, a whole number ≥ 0", trace.Clip(q, 20))
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"could not encode the response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// jsonKind names the JSON value a field of Go type t takes, for an error
// that a page's author reads: "an object", not "map[string]interface {}".
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "a number"
	}
}

// writeError answers with a JSON {"error": "..."} that says what is wrong.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}
