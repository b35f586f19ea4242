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
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			allowed = append(allowed, strings.TrimSuffix(o, "/"))
		}
	}
	srv, err := web.New(runner, &trace.Store{MaxFinished: *keep}, web.Config{AllowedOrigins: allowed, MaxBody: *maxBody, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another seqd running? try -addr 127.0.0.1:0)", *addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "seqd: open http://%s/ in your browser (Ctrl-C stops)\n", displayAddr(ln.Addr()))

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", *grace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown", "err", err)
	}
	// Let running sessions finish within the grace period, then cancel
	// them, and close the streams that watch them.
	finished := make(chan struct{})
	go func() { runner.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-shutdownCtx.Done():
	}
	srv.Close()
	<-finished
	logger.Info("stopped")
	return nil
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
