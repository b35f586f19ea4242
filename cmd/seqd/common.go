package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// commonFlags are the flags seqd serve and seqd proxy share: where the web
// app listens, how sessions are recorded, how it logs and shuts down.
type commonFlags struct {
	addr        string
	publicURL   string
	metricsAddr string
	timeout     time.Duration
	stepTimeout time.Duration
	preview     int
	maxEvents   int
	maxBytes    int64
	keep        int
	keepBytes   int64
	grace       time.Duration
	logLevel    string

	readTimeout, responseTimeout, idleTimeout time.Duration
}

// registerCommonFlags adds the shared flags to fs; the web app listens on
// defaultAddr unless -addr says otherwise.
func registerCommonFlags(fs *flag.FlagSet, defaultAddr string) *commonFlags {
	c := &commonFlags{}
	fs.StringVar(&c.addr, "addr", defaultAddr, "where to serve the web app, HOST:PORT")
	fs.DurationVar(&c.timeout, "session-timeout", netcore.DefaultTimeout, "every session's deadline; a stepped session's time without a step")
	fs.DurationVar(&c.stepTimeout, "step-timeout", netcore.DefaultStepTimeout, "a stepped session's deadline, however often it is stepped")
	fs.IntVar(&c.preview, "preview", netcore.DefaultPreview, "payload bytes kept per read or write event")
	fs.IntVar(&c.maxEvents, "max-events", trace.DefaultMaxEvents, "events per session")
	fs.Int64Var(&c.maxBytes, "session-bytes", trace.DefaultMaxBytes, "every session's memory budget for its events, in bytes: larger parameters are refused")
	fs.IntVar(&c.keep, "keep", trace.DefaultMaxFinished, "finished sessions kept in memory, per class (API, lab, proxy, trace)")
	fs.Int64Var(&c.keepBytes, "keep-memory", trace.DefaultMaxFinishedBytes, "bytes of finished sessions kept in memory, per class")
	fs.DurationVar(&c.grace, "grace", 10*time.Second, "how long running sessions may take to finish on shutdown")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.publicURL, "public-url", "", "the address people open, such as https://seqd.course.example.edu; when set, requests\nfor any other host get 421 (no DNS rebinding of a local seqd)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this HOST:PORT of its own; empty: no metrics (never on -addr)")
	fs.DurationVar(&c.readTimeout, "read-timeout", web.DefaultReadTimeout, "how long a client may take to send a request body")
	fs.DurationVar(&c.responseTimeout, "response-timeout", web.DefaultResponseTimeout, "how long a client may take to read a response (not the live streams)")
	fs.DurationVar(&c.idleTimeout, "keepalive-timeout", 60*time.Second, "how long an idle keep-alive HTTP connection stays open")
	return c
}

// webConfig fills the fields of cfg the shared flags set.
func (c *commonFlags) webConfig(cfg web.Config) (web.Config, error) {
	cfg.ReadTimeout, cfg.ResponseTimeout = c.readTimeout, c.responseTimeout
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return cfg, fmt.Errorf("-public-url %q: want scheme://host[:port], such as https://seqd.course.example.edu", c.publicURL)
		}
		host := strings.ToLower(u.Host)
		if u.Port() == map[string]string{"http": "80", "https": "443"}[u.Scheme] {
			host = strings.ToLower(u.Hostname()) // browsers leave a default port out
		}
		cfg.Hosts = []string{host}
	}
	return cfg, nil
}

// logger returns the logger -log-level asks for, writing to w.
func (c *commonFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", c.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// runner returns the Runner the flags describe.
func (c *commonFlags) runner() *netcore.Runner {
	return &netcore.Runner{Timeout: c.timeout, StepTimeout: c.stepTimeout, Preview: c.preview, MaxEvents: c.maxEvents, MaxBytes: c.maxBytes}
}

// store returns the store of sessions kept in memory.
func (c *commonFlags) store() *trace.Store {
	return &trace.Store{MaxFinished: c.keep, MaxFinishedBytes: c.keepBytes}
}

// app is a web app and what serving it takes: its listener on -addr,
// the runner of its sessions and its logger.
type app struct {
	srv    *web.Server
	ln     net.Listener
	runner *netcore.Runner
	logger *slog.Logger
}

// defaultWebApp makes the web app of seqd proxy and seqd trace: the
// shared flags' logger (writing to stderr), runner and listener, web's
// defaults otherwise; hint says what may hold the address when it is
// taken.
func (c *commonFlags) defaultWebApp(stderr io.Writer, hint string) (app, error) {
	logger, err := c.logger(stderr)
	if err != nil {
		return app{}, err
	}
	a := app{runner: c.runner(), logger: logger}
	cfg, err := c.webConfig(web.Config{Logger: logger})
	if err != nil {
		return app{}, err
	}
	if a.srv, err = web.New(a.runner, c.store(), cfg); err != nil {
		return app{}, err
	}
	if a.ln, err = c.listen(hint); err != nil {
		a.srv.Close()
		return app{}, err
	}
	return a, nil
}

// listen opens -addr; hint says what to try when the address is taken.
func (c *commonFlags) listen(hint string) (net.Listener, error) {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (%s; try -addr 127.0.0.1:0)", c.addr, err, hint)
	}
	return ln, nil
}

// front is what seqd serves besides the web app: the lab port, or the
// proxy's listening end (netcore's Lab and Proxy).
type front interface {
	Start(ctx context.Context, failed func(error))
	Close() error
	Wait()
}

// serveUntil serves the web app srv on ln and starts f (none when nil)
// until ctx ends or either fails (f's failure is only logged unless
// fFatal: the web app of seqd serve outlives its lab port); then it shuts
// down gracefully: it stops accepting, lets running sessions finish within
// -grace, closes WebSocket streams with 1001, and returns the failure, if
// any.
func (c *commonFlags) serveUntil(ctx context.Context, a app, f front, fFatal bool) error {
	srv, logger := a.srv, a.logger
	hs := c.httpServer(srv.Handler(), logger)
	failed := make(chan error, 3)
	go func() { failed <- fmt.Errorf("serve: %w", hs.Serve(a.ln)) }()
	if c.metricsAddr != "" {
		mln, err := net.Listen("tcp", c.metricsAddr)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("-metrics-addr %s: %w", c.metricsAddr, err)
		}
		ms := c.httpServer(srv.MetricsHandler(), logger)
		defer ms.Close()
		go func() { failed <- fmt.Errorf("serve metrics: %w", ms.Serve(mln)) }()
		logger.Info("metrics", "addr", mln.Addr().String())
	}
	waits := []func(){a.runner.Wait}
	if f != nil {
		f.Start(srv.Context(), func(err error) {
			if fFatal {
				failed <- err
			} else {
				logger.Error("stopped accepting", "err", err)
			}
		})
		waits = append(waits, f.Wait)
	}
	var err error
	select {
	case err = <-failed:
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", c.grace)
	if f != nil {
		_ = f.Close() // no new connections; the running ones may finish
	}
	shutdown(hs, srv, c.grace, logger, waits...)
	return err
}

// maxHeaderBytes bounds a request's header: seqd's own pages send a few
// hundred bytes, and a course site's cookies a few kilobytes. Go's default,
// 1 MiB, let a thousand connections that never end their headers hold a
// gigabyte.
const maxHeaderBytes = 64 << 10

// httpServer is the http.Server for h: header and idle timeouts on every
// connection (the web package bounds bodies and responses per request).
func (c *commonFlags) httpServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: c.idleTimeout,
		MaxHeaderBytes: maxHeaderBytes, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// shutdown stops hs from accepting, lets the running sessions (those the
// waits wait for) finish within grace, then cancels the rest and closes the
// WebSocket streams with srv.Close, and returns when all have ended.
func shutdown(hs *http.Server, srv *web.Server, grace time.Duration, logger *slog.Logger, waits ...func()) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown", "err", err)
	}
	finished := make(chan struct{})
	go func() {
		for _, wait := range waits {
			wait()
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
	}
	srv.Close()
	<-finished
	logger.Info("stopped")
}
