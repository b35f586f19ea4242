package netcore

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// Defaults for ProxyConfig's fields.
const (
	DefaultProxyMaxConns    = 16
	DefaultProxyIdleTimeout = 30 * time.Second
)

// proxyBufSize is the proxy's read buffer on both legs, BUFSIZ-like.
const proxyBufSize = 8192

// ErrRemoteTarget is returned by ListenProxy for a target that is not a
// loopback address when ProxyConfig.AllowRemoteTarget is false.
var ErrRemoteTarget = errors.New("the proxy's target must be a loopback address (127.0.0.0/8) unless remote targets are allowed")

// ProxyConfig configures a proxy. Zero fields take their defaults.
type ProxyConfig struct {
	// Listen is where clients connect: an IPv4 address and a port. The
	// zero value listens on 127.0.0.1, on a port the kernel chooses.
	Listen netip.AddrPort
	// Target is the server every connection is forwarded to: an IPv4
	// address and a port. It comes from the operator's command line,
	// never from a request.
	Target netip.AddrPort
	// TargetHost is the target's host as the operator wrote it, for the
	// getaddrinfo event ("localhost"). Defaults to Target's address.
	TargetHost string
	// AllowRemoteTarget lets Target be an address other than loopback.
	AllowRemoteTarget bool
	// MaxConns bounds the connections forwarded at once; one more is
	// refused (accepted, told why, closed) before it becomes a session.
	// Defaults to DefaultProxyMaxConns.
	MaxConns int
	// MaxConnsPerMinute bounds the connections one address may make in a
	// minute. Defaults to DefaultMaxConnsPerMinute.
	MaxConnsPerMinute int
	// IdleTimeout fails a session whose connections move no bytes for
	// that long. Defaults to DefaultProxyIdleTimeout.
	IdleTimeout time.Duration
	// OnSession, when set, is called with each new session and the
	// client's address as soon as its accept is recorded. It runs on the
	// accept loop and must not block.
	OnSession func(sess *trace.Session, client string)
}

// Proxy puts seqd between a client and a server, both unchanged, and traces
// both legs: each accepted connection is a session of the scenario "proxy"
// with the actors "client", "proxy" and "server". The proxy's own calls are
// traced — accept from the client; getaddrinfo, socket and connect to the
// target; reads and writes on both legs; shutdown(SHUT_WR) to pass on an end
// of file; close — and the ends' calls are inferred from them (see mirror).
// Bytes pass unchanged, and a half-close passes on: the client's end of file
// becomes shutdown(SHUT_WR) towards the server, whose reply still flows back
// until its own end of file.
//
// Use Addr, Serve, Close and Wait.
type Proxy struct {
	*front
	target netip.AddrPort
	host   string
}

// ListenProxy opens the proxy's listening socket; Serve accepts.
func (r *Runner) ListenProxy(cfg ProxyConfig) (*Proxy, error) {
	t := netip.AddrPortFrom(cfg.Target.Addr().Unmap(), cfg.Target.Port())
	switch {
	case !t.IsValid() || t.Port() == 0:
		return nil, fmt.Errorf("proxy: target %q: want an IPv4 address and a port, such as 127.0.0.1:7000", cfg.Target)
	case !t.Addr().Is4():
		return nil, fmt.Errorf("proxy: target %s: the proxy speaks IPv4 only", t)
	case !cfg.AllowRemoteTarget && !t.Addr().IsLoopback():
		return nil, fmt.Errorf("proxy: target %s: %w", t, ErrRemoteTarget)
	}
	cfg.MaxConns = orDefault(cfg.MaxConns, DefaultProxyMaxConns)
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultProxyIdleTimeout
	}
	if cfg.TargetHost == "" {
		cfg.TargetHost = t.Addr().String()
	}
	p := &Proxy{target: t, host: cfg.TargetHost}
	p.front = &front{
		r:         r,
		scenario:  "proxy",
		actor:     "proxy",
		actors:    []string{"client", "proxy", "server"},
		idle:      cfg.IdleTimeout,
		idleErr:   fmt.Errorf("the connections were idle for %s: no bytes moved either way, and the proxy closes idle connections", cfg.IdleTimeout),
		maxConns:  cfg.MaxConns,
		maxPerIP:  cfg.MaxConns,
		recent:    minuteCounts{perMinute: orDefault(cfg.MaxConnsPerMinute, DefaultMaxConnsPerMinute)},
		onSession: cfg.OnSession,
		serveConn: p.serveConn,
	}
	if err := p.listen(cfg.Listen); err != nil {
		return nil, err
	}
	if a := p.addr; a.Port() == t.Port() && (a.Addr() == t.Addr() || a.Addr().IsUnspecified()) {
		p.Close()
		return nil, fmt.Errorf("proxy: the target %s is the proxy's own address %s: it would forward to itself", t, a)
	}
	p.params = map[string]any{"listen": p.addr.String(), "target": t.String()}
	return p, nil
}

// Target is the server the proxy forwards to.
func (p *Proxy) Target() netip.AddrPort { return p.target }

// serveConn forwards one accepted connection to the target and back.
func (p *Proxy) serveConn(ex *exchange, cc *sock, idle *idleTimer) error {
	if err := ex.getaddrinfoAt(p.actor, p.host, p.target); err != nil {
		return err
	}
	sc, err := ex.socket(p.actor)
	if err != nil {
		return fmt.Errorf("proxy: socket for the server: %w", err)
	}
	sc.mirror = newMirror(ex, "server")
	if err := sc.connectAddr(p.target); err != nil {
		return fmt.Errorf("proxy: %w (is the server running?)", err)
	}
	idle.touch()
	g := &group{ex: ex}
	g.spawn(func() error { return pump(cc, sc, "client", "server", idle) })
	g.spawn(func() error { return pump(sc, cc, "server", "client", idle) })
	if err := g.wait(); err != nil {
		return err
	}
	if err := cc.close(); err != nil {
		return fmt.Errorf("proxy: close the client's connection: %w", err)
	}
	if err := sc.close(); err != nil {
		return fmt.Errorf("proxy: close the server's connection: %w", err)
	}
	return nil
}

// pump copies one direction, from the socket connected to fromName to the
// one connected to toName, until end of file, which it passes on with
// shutdown(SHUT_WR).
func pump(from, to *sock, fromName, toName string, idle *idleTimer) error {
	buf := make([]byte, proxyBufSize)
	for {
		n, err := from.read(buf)
		if err != nil {
			return fmt.Errorf("proxy: read from the %s: %w", fromName, err)
		}
		idle.touch()
		if n == 0 {
			if err := to.shutdown(unix.SHUT_WR); err != nil {
				return fmt.Errorf("proxy: pass the %s's end of file on to the %s: %w", fromName, toName, err)
			}
			return nil
		}
		for p := buf[:n]; len(p) > 0; {
			m, err := to.write(p)
			if err != nil {
				return fmt.Errorf("proxy: write to the %s: %w", toName, err)
			}
			idle.touch()
			p = p[m:]
		}
	}
}

// getaddrinfoAt records the proxy's lookup of its target, numeric (no
// resolver, no DNS): host as the operator wrote it, ap what it names.
func (ex *exchange) getaddrinfoAt(actor, host string, ap netip.AddrPort) error {
	if err := ex.before(call{actor: actor, kind: trace.KindGetaddrinfo}); err != nil {
		return err
	}
	began := time.Now()
	e := trace.Event{Kind: trace.KindGetaddrinfo, Actor: actor, FD: -1, Host: host, Service: strconv.Itoa(int(ap.Port())), Peer: ap.String()}
	ex.sourceLine(&e, "", "")
	return ex.record(&e, began)
}
