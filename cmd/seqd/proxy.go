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
	"time"

	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// proxy runs seqd proxy until ctx ends: it forwards every connection to
// -listen on to -target, traces both legs, and serves the web app on -addr
// to watch them.
func proxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seqd proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: seqd proxy -listen 127.0.0.1:9000 -target 127.0.0.1:7000 [-addr 127.0.0.1:8080]\n\n"+
			"Puts seqd between a client and a server, both unchanged: connect the client to -listen,\n"+
			"and seqd connects to -target for it, tracing both legs. Watch them on -addr.\n\n")
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "127.0.0.1:9000", "where clients connect, IPv4 HOST:PORT")
	target := fs.String("target", "", "the server to forward each connection to, IPv4 HOST:PORT (required);\na loopback address unless -allow-remote-target")
	allowRemote := fs.Bool("allow-remote-target", false, "let -target be an address other than loopback (127.0.0.0/8)")
	addr := fs.String("addr", "127.0.0.1:8080", "where to serve the web app, HOST:PORT")
	maxConns := fs.Int("max-conns", netcore.DefaultProxyMaxConns, "connections forwarded at once")
	idle := fs.Duration("idle-timeout", netcore.DefaultProxyIdleTimeout, "how long a proxied connection may move no bytes")
	timeout := fs.Duration("session-timeout", netcore.DefaultTimeout, "every session's deadline")
	preview := fs.Int("preview", netcore.DefaultPreview, "payload bytes kept per read or write event")
	maxEvents := fs.Int("max-events", trace.DefaultMaxEvents, "events per session")
	keep := fs.Int("keep", trace.DefaultMaxFinished, "finished sessions kept in memory")
	grace := fs.Duration("grace", 10*time.Second, "how long running sessions may take to finish on shutdown")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("proxy: unexpected argument %q", fs.Arg(0))
	}
	if *target == "" {
		return errors.New("proxy: -target is required: the server to forward to, such as -target 127.0.0.1:7000")
	}
	to, toHost, err := parseIPv4Port(*target, false)
	if err != nil {
		return fmt.Errorf("-target: %w", err)
	}
	if !to.Addr().IsLoopback() && !*allowRemote {
		return fmt.Errorf("-target %s is not a loopback address: seqd proxy connects only to loopback (127.0.0.0/8) unless you add -allow-remote-target", *target)
	}
	from, _, err := parseIPv4Port(*listen, true)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", *level)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	runner := &netcore.Runner{Timeout: *timeout, Preview: *preview, MaxEvents: *maxEvents}
	srv, err := web.New(runner, &trace.Store{MaxFinished: *keep}, web.Config{Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is seqd serve running there? try -addr 127.0.0.1:0)", *addr, err)
	}
	url := "http://" + displayAddr(ln.Addr())
	p, err := runner.ListenProxy(netcore.ProxyConfig{
		Listen:            from,
		Target:            to,
		TargetHost:        toHost,
		AllowRemoteTarget: *allowRemote,
		MaxConns:          *maxConns,
		IdleTimeout:       *idle,
		OnSession: func(sess *trace.Session, client string) {
			srv.AddLabSession(sess, client)
			fmt.Fprintf(stdout, "seqd proxy: %s connected: %s/s/%s\n", client, url, sess.ID())
		},
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("%w (choose another with -listen)", err)
	}
	srv.EnableLab(p.Addr().String())
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "seqd proxy: %s → %s, both legs traced; watch at %s/ (Ctrl-C stops)\n", p.Addr(), p.Target(), url)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	served := make(chan error, 1)
	go func() { served <- p.Serve(srv.Context()) }()
	var failed error
	select {
	case err := <-errc:
		failed = fmt.Errorf("serve: %w", err)
	case err := <-served:
		served <- err // for the wait below
		if err != nil {
			failed = fmt.Errorf("proxy: %w", err)
		}
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", *grace)
	_ = p.Close()
	<-served
	shutdown(hs, srv, *grace, logger, runner.Wait, p.Wait)
	return failed
}
