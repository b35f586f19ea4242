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
	"strings"
	"time"

	"seqd/archive"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// serve runs the web app until ctx ends, then shuts down gracefully: it
// stops accepting, lets running sessions finish within the grace period,
// closes WebSocket streams with 1001 and returns nil.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seqd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "the address to serve on, HOST:PORT")
	origins := fs.String("allow-origins", "", "comma-separated origins (https://course.example.edu) whose pages may frame\n/embed/ pages and use the API and WebSocket; empty: any page may frame /embed/,\nthe API stays same-origin")
	timeout := fs.Duration("session-timeout", netcore.DefaultTimeout, "every session's deadline")
	preview := fs.Int("preview", netcore.DefaultPreview, "payload bytes kept per read or write event")
	maxEvents := fs.Int("max-events", trace.DefaultMaxEvents, "events per session")
	keep := fs.Int("keep", trace.DefaultMaxFinished, "finished sessions kept in memory")
	maxBody := fs.Int64("max-body", 64<<10, "request body limit in bytes")
	grace := fs.Duration("grace", 10*time.Second, "how long running sessions may take to finish on shutdown")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	data := fs.String("data", "", "directory of saved sessions (default $XDG_STATE_HOME/seqd/sessions or ~/.local/state/seqd/sessions); \"none\" keeps them in memory only")
	keepFiles := fs.Int("keep-files", archive.DefaultMaxFiles, "saved sessions kept on disk; the oldest go first")
	keepBytes := fs.Int64("keep-bytes", archive.DefaultMaxBytes, "bytes of saved sessions kept on disk")
	var limits web.Limits
	fs.IntVar(&limits.MaxRunning, "max-running", 256, "sessions running at once")
	fs.IntVar(&limits.MaxRunningPerIP, "max-running-per-ip", 32, "sessions running at once per client address")
	fs.IntVar(&limits.CreatePerMinute, "create-per-minute", 300, "sessions one client address may start per minute")
	fs.IntVar(&limits.MaxSubscribers, "max-viewers", 10_000, "WebSocket viewers in all")
	fs.IntVar(&limits.MaxSubscribersPerSession, "max-viewers-per-session", 2_000, "WebSocket viewers of one session")
	fs.IntVar(&limits.MaxMessageBytes, "max-message", 1<<20, "bytes in one WebSocket message")
	proxies := fs.String("trusted-proxies", "", "comma-separated address prefixes (10.0.0.0/8) of reverse proxies whose X-Forwarded-For names the client")
	labFlags := registerLabFlags(fs) // lab.go
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", *level)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	runner := &netcore.Runner{Timeout: *timeout, Preview: *preview, MaxEvents: *maxEvents}
	var allowed []string
	for _, o := range splitList(*origins) {
		allowed = append(allowed, strings.TrimSuffix(o, "/"))
	}
	var err error
	cfg := web.Config{AllowedOrigins: allowed, MaxBody: *maxBody, Logger: logger, Limits: limits, TrustedProxies: splitList(*proxies)}
	if *data != "none" {
		dir := *data
		if dir == "" {
			if dir, err = archive.DefaultPath(); err != nil {
				return err
			}
		}
		saved, skipped, err := archive.Open(dir, archive.Options{MaxFiles: *keepFiles, MaxBytes: *keepBytes, Logger: logger})
		if err != nil {
			return fmt.Errorf("%w (choose another with -data DIR, or -data none)", err)
		}
		logger.Info("saved sessions", "dir", dir, "sessions", saved.Len(), "skipped", skipped)
		cfg.Archive = saved
	}
	srv, err := web.New(runner, &trace.Store{MaxFinished: *keep}, cfg)
	if err != nil {
		return err
	}
	lab, err := labFlags.open(runner, srv)
	if err != nil {
		return err
	}
	defer lab.close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another seqd running? try -addr 127.0.0.1:0)", *addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "seqd: open http://%s/ in your browser (Ctrl-C stops)\n", displayAddr(ln.Addr()))
	lab.serve(srv.Context(), stdout, logger)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", *grace)
	lab.close() // no new lab connections; the running ones may finish
	shutdown(hs, srv, *grace, logger, runner.Wait, lab.wait)
	return nil
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

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// displayAddr is the address to print for a person to open: an
// unspecified host (0.0.0.0, [::]) becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
