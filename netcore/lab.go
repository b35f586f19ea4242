package netcore

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"seqd/trace"
)

// Defaults for LabConfig's fields.
const (
	DefaultLabMaxConnsPerIP = 8
	DefaultLabMaxConns      = 64
	DefaultLabMaxBytes      = 64 << 10
	DefaultLabIdleTimeout   = 30 * time.Second
	// DefaultMaxConnsPerMinute bounds the connections one address may make
	// to the lab port (or the proxy) in a minute: a lab room of sixty
	// behind one NAT running their programs a time or two a minute each,
	// not a script opening thousands.
	DefaultMaxConnsPerMinute = 120
)

// LabConfig configures the lab port. Zero fields take their defaults.
type LabConfig struct {
	// Addr is where the lab port listens: an IPv4 address and a port. The
	// zero value listens on 127.0.0.1, on a port the kernel chooses.
	Addr netip.AddrPort
	// MaxConnsPerIP bounds the connections served at once from one client
	// address; one more is refused (accepted, told why in one line, and
	// closed) before it becomes a session. Defaults to
	// DefaultLabMaxConnsPerIP.
	MaxConnsPerIP int
	// MaxConnsPerMinute bounds the connections one address may make in a
	// minute; one more is refused likewise. Defaults to
	// DefaultMaxConnsPerMinute.
	MaxConnsPerMinute int
	// MaxConns bounds the connections served at once from all addresses.
	// Defaults to DefaultLabMaxConns.
	MaxConns int
	// MaxBytes bounds the bytes the server reads on one connection; a
	// client that sends more fails its session. Defaults to
	// DefaultLabMaxBytes.
	MaxBytes int
	// IdleTimeout fails a session whose connection moves no bytes for
	// that long. Defaults to DefaultLabIdleTimeout.
	IdleTimeout time.Duration
	// OnSession, when set, is called with each new session and the
	// client's address as soon as its accept is recorded, before the
	// server reads: cmd/seqd hands it to the web server's store. It runs on
	// the accept loop and must not block.
	OnSession func(sess *trace.Session, client string)
}

// Lab is the lab port: a traced server that any program can connect to —
// nc, or the lecture's C client — each connection a live session of the
// scenario "lab" with the actors "server" (seqd's calls, traced) and
// "client" (inferred from what the server sees; see mirror).
//
// The server is the lecture's serviceclient server, or an echo server when
// the first line the client sends is exactly ECHO (a trailing \r, as telnet
// sends, is allowed):
//
//   - serviceclient: read until end of file, then write back one numbered
//     line per non-empty line received ("1 alice\n2 bob\n"), and close. The
//     numbering is the connection's own: no student sees another's names.
//   - echo: write back every byte read, the ECHO line included, until end
//     of file, then close.
//
// Use Addr, Serve, Close and Wait.
type Lab struct {
	*front
	maxBytes int
}

// ListenLab opens the lab port: its listening socket's socket, setsockopt,
// bind and listen happen now, once, and are not part of any session. Serve
// accepts.
func (r *Runner) ListenLab(cfg LabConfig) (*Lab, error) {
	cfg.MaxConnsPerIP = orDefault(cfg.MaxConnsPerIP, DefaultLabMaxConnsPerIP)
	cfg.MaxConns = orDefault(cfg.MaxConns, DefaultLabMaxConns)
	cfg.MaxBytes = orDefault(cfg.MaxBytes, DefaultLabMaxBytes)
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultLabIdleTimeout
	}
	l := &Lab{maxBytes: cfg.MaxBytes}
	l.front = &front{
		r:         r,
		scenario:  "lab",
		actor:     "server",
		actors:    []string{"server", "client"},
		idle:      cfg.IdleTimeout,
		idleErr:   fmt.Errorf("the connection was idle for %s: no bytes moved either way, and the lab port closes idle connections", cfg.IdleTimeout),
		maxConns:  cfg.MaxConns,
		maxPerIP:  cfg.MaxConnsPerIP,
		recent:    minuteCounts{perMinute: orDefault(cfg.MaxConnsPerMinute, DefaultMaxConnsPerMinute)},
		onSession: cfg.OnSession,
		serveConn: l.serveConn,
	}
	if err := l.listen(cfg.Addr); err != nil {
		return nil, err
	}
	l.params = map[string]any{"listen": l.addr.String()}
	return l, nil
}

// labMode is what the lab's server does with a connection.
type labMode int

const (
	labUndecided labMode = iota // the first line is not complete yet
	labService
	labEcho
)

// labModeOf decides from the bytes read so far, eof when no more will come.
func labModeOf(b []byte, eof bool) labMode {
	line, _, complete := bytes.Cut(b, []byte("\n"))
	if complete || eof {
		if string(bytes.TrimSuffix(line, []byte("\r"))) == "ECHO" {
			return labEcho
		}
		return labService
	}
	if bytes.HasPrefix([]byte("ECHO\r"), b) {
		return labUndecided // still a start of "ECHO\n" or "ECHO\r\n"
	}
	return labService
}

// serveConn is the lab's server on one accepted connection.
func (l *Lab) serveConn(ex *exchange, c *sock, idle *idleTimer) error {
	buf := make([]byte, readBufSize)
	var held []byte // read before the mode was known; in serviceclient mode, everything
	mode, total := labUndecided, 0
	for {
		// Never ask for more than one byte past the limit.
		n, err := c.read(buf[:min(len(buf), l.maxBytes-total+1)])
		if err != nil {
			return fmt.Errorf("lab: read from the client: %w", err)
		}
		idle.touch()
		if total += n; total > l.maxBytes {
			return fmt.Errorf("the client sent more than %d bytes, the lab port's limit for one connection; seqd closed the connection", l.maxBytes)
		}
		if n == 0 {
			break
		}
		switch mode {
		case labEcho:
			if err := l.write(c, idle, buf[:n]); err != nil {
				return err
			}
			continue
		case labUndecided:
			held = append(held, buf[:n]...)
			if mode = labModeOf(held, false); mode == labEcho {
				if err := l.write(c, idle, held); err != nil {
					return err
				}
				held = nil
			}
		case labService:
			held = append(held, buf[:n]...)
		}
	}
	if mode == labUndecided {
		mode = labModeOf(held, true)
	}
	var reply []byte
	if mode == labEcho {
		reply = held
	} else {
		reply = numberedResults(held)
	}
	if err := l.write(c, idle, reply); err != nil {
		return err
	}
	if err := c.close(); err != nil {
		return fmt.Errorf("lab: close the connection: %w", err)
	}
	return nil
}

// write writes p to the client with as many writes as it takes.
func (l *Lab) write(c *sock, idle *idleTimer, p []byte) error {
	for len(p) > 0 {
		n, err := c.write(p)
		if err != nil {
			return fmt.Errorf("lab: write to the client: %w", err)
		}
		idle.touch()
		p = p[n:]
	}
	return nil
}

// numberedResults is the serviceclient server's reply, in the scenario and
// at the lab port alike: one numbered line per non-empty line received, a
// trailing \r dropped, numbered from 1 in every session.
func numberedResults(b []byte) []byte {
	var out []byte
	n := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		n++
		out = strconv.AppendInt(out, int64(n), 10)
		out = append(out, ' ')
		out = append(append(out, line...), '\n')
	}
	return out
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
