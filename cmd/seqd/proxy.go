package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"seqd/netcore"
	"seqd/trace"
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
	common := registerCommonFlags(fs, "127.0.0.1:8080")
	maxConns := fs.Int("max-conns", netcore.DefaultProxyMaxConns, "connections forwarded at once")
	idle := fs.Duration("idle-timeout", netcore.DefaultProxyIdleTimeout, "how long a proxied connection may move no bytes")
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
	a, err := common.defaultWebApp(stderr, "is seqd serve running there?")
	if err != nil {
		return err
	}
	srv := a.srv
	url := "http://" + displayAddr(a.ln.Addr())
	p, err := a.runner.ListenProxy(netcore.ProxyConfig{
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
		a.ln.Close()
		srv.Close()
		return fmt.Errorf("%w (choose another with -listen)", err)
	}
	srv.EnableLab(p.Addr().String())
	fmt.Fprintf(stdout, "seqd proxy: %s → %s, both legs traced; watch at %s/ (Ctrl-C stops)\n", p.Addr(), p.Target(), url)
	if err := common.serveUntil(ctx, a, p, true); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return nil
}
