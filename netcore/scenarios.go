package netcore

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// scenario is one sample program: a server and its clients written with the
// traced calls.
type scenario struct {
	name, title, summary string
	params               []trace.Param // besides pace_ms
	run                  func(ex *exchange, p params, r *Runner) error
	// cost, when set, estimates a run's events and payload bytes kept
	// with previews of preview bytes, and names the parameter to change
	// when they are too many: the parameters' own bounds leave
	// combinations (a 1 MiB write read a byte at a time) that would not
	// fit a session's budget.
	cost func(p params, preview int) (events int, payload int64, param, advice string)
	// calls estimates how many calls a run makes (server and clients),
	// and count names the parameter that makes it long, if one does.
	calls func(p params) int
	count string
	// serial, when set, estimates how many of the calls wait their pace
	// one after another (the others run side by side with them): a
	// paced run takes about that many paces. Without it, half the calls:
	// a server's and its client's run side by side.
	serial func(p params) int
}

// estimate returns how many calls a run of sc with p makes (the events the
// page counts, a wait and its return apart) and how long it takes, roughly:
// every call waits the pace first, and serial of them add up; the
// backpressure server works read_delay_ms before each read.
// TestEstimatesMatchPacedRuns holds them to real runs.
func (sc *scenario) estimate(p params) (calls int, d time.Duration) {
	calls = 20
	if sc.calls != nil {
		calls = sc.calls(p)
	}
	serial := calls / 2
	if sc.serial != nil {
		serial = sc.serial(p)
	}
	pace := time.Duration(p.int("pace_ms")) * time.Millisecond
	d = time.Duration(serial) * pace
	if _, ok := p["read_delay_ms"]; ok {
		d += time.Duration(p.int("total")/smallBuffer+1) * time.Duration(p.int("read_delay_ms")) * time.Millisecond
	}
	return calls, d
}

// fits reports, as a *trace.ParamError naming the parameter to change,
// whether a run of sc with p fits a session's budget of maxBytes.
func (sc *scenario) fits(p params, preview int, maxBytes int64) error {
	if sc.cost == nil {
		return nil
	}
	events, payload, param, advice := sc.cost(p, preview)
	need := int64(events)*(int64(unsafe.Sizeof(trace.Event{}))+256) + 2*payload
	if need <= maxBytes {
		return nil
	}
	return &trace.ParamError{Param: param, Msg: fmt.Sprintf(
		"these parameters make about %d events, %d MiB, more than a session may record (%d MiB); %s",
		events, need>>20, maxBytes>>20, advice)}
}

func (sc *scenario) allParams() []trace.Param {
	return append(append([]trace.Param(nil), sc.params...), paceParam)
}

func (sc *scenario) info() trace.ScenarioInfo {
	return trace.ScenarioInfo{Name: sc.name, Title: sc.title, Summary: sc.summary, Params: sc.allParams()}
}

func lookup(name string) (*scenario, bool) {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i], true
		}
	}
	return nil, false
}

// scenarios lists every scenario in the order a page offers them.
var scenarios = []scenario{
	{
		name:  "serviceclient",
		title: "The lecture's serviceclient",
		summary: "The client looks up the server, connects, writes each name on its own line, " +
			"then calls shutdown(fd, SHUT_WR) to say it has no more to send. The server reads lines " +
			"until read returns 0 (end of file), then writes the names back numbered, one per line " +
			"(this session's names only), and closes. The client reads the results until end of file and closes.",
		params: []trace.Param{{
			Name: "names", Type: trace.ParamStrings, Default: []string{"alice", "bob", "carol"},
			Min: 1, Max: 64, MaxLen: 64, Help: "The names the client sends, one line each (1–64 names, each at most 64 bytes).",
		}},
		run:   runServiceClient,
		calls: func(p params) int { return 20 + 2*len(p.strings("names")) },
		count: "names",
	},
	{
		name:  "echo",
		title: "Echo, round by round",
		summary: "The client writes a line and waits for the server to send it back, round after " +
			"round; the server writes back whatever it reads. When the client closes, the server's " +
			"next read returns 0 and it closes too.",
		params: []trace.Param{{
			Name: "rounds", Type: trace.ParamInt, Default: 3, Min: 1, Max: 1000,
			Help: "How many request/response round trips (1–1000).",
		}},
		run:    runEcho,
		calls:  func(p params) int { return 15 + 9*p.int("rounds")/2 },
		serial: func(p params) int { return 11 + 2*p.int("rounds") }, // a round's write and read wait for the other side's
		count:  "rounds",
	},
	{
		name:  "http",
		title: "An HTTP/1.0 request",
		summary: "The client sends an HTTP/1.0 GET request; the server reads until the blank line " +
			"that ends the headers, writes a response with a Content-Length header and a body, " +
			"and closes. HTTP/1.0 uses the end of the connection to end the exchange.",
		run:   runHTTP,
		calls: func(params) int { return 21 },
	},
	{
		name:  "stream",
		title: "TCP is a byte stream",
		summary: "TCP keeps no message boundaries. One large write is read by the server in several " +
			"reads, because each read takes at most the buffer it is given; then several small " +
			"writes pile up in the server's receive queue and one read takes them all.",
		params: []trace.Param{
			{Name: "size", Type: trace.ParamInt, Default: 8192, Min: 2, Max: 1 << 20, Unit: "bytes",
				Help: "Bytes of the one large write."},
			{Name: "chunk", Type: trace.ParamInt, Default: 1024, Min: 1, Max: 65536, Unit: "bytes",
				Help: "The server's read buffer for the large write: smaller means more reads."},
			{Name: "writes", Type: trace.ParamInt, Default: 5, Min: 2, Max: 100,
				Help: "How many small writes pile up before the server reads."},
		},
		run:   runStream,
		calls: func(p params) int { return 20 + p.int("writes") + p.int("size")/p.int("chunk") },
		count: "size",
		cost: func(p params, preview int) (int, int64, string, string) {
			size, chunk, writes := p.int("size"), p.int("chunk"), p.int("writes")
			reads := size/chunk + 1
			return reads + 2*writes + 30, int64(min(size, preview)) + int64(reads)*int64(min(chunk, preview)),
				"chunk", fmt.Sprintf("use a larger chunk (at least %d for this size) or a smaller size", max(size/4096, 1))
		},
	},
	{
		name:  "refused",
		title: "Connection refused",
		summary: "The server has bound a port but never called listen, so nothing accepts connections " +
			"there. The kernel answers the client's SYN with a reset and connect fails with ECONNREFUSED.",
		run:    runRefused,
		calls:  func(params) int { return 7 },
		serial: func(params) int { return 7 }, // a client alone
	},
	{
		name:  "reset",
		title: "Reset: closing with unread data",
		summary: "The client writes a request, but the server closes its socket without reading it. " +
			"Closing with unread data makes the kernel send a reset (RST) instead of a FIN: the " +
			"client's read fails with ECONNRESET and its next write with EPIPE.",
		run:    runReset,
		calls:  func(params) int { return 15 },
		serial: func(params) int { return 12 },
	},
	{
		name:  "concurrent",
		title: "Several clients at once",
		summary: "One server accepts several clients, each on its own connection and lifeline, and " +
			"serves them concurrently. accept returns a new socket for each connection; the " +
			"listening socket stays open for the next one.",
		params: []trace.Param{{
			Name: "clients", Type: trace.ParamInt, Default: 3, Min: 2, Max: 16,
			Help: "How many clients connect at the same time (2–16).",
		}},
		run:    runConcurrent,
		calls:  func(p params) int { return 10 + 27*p.int("clients")/2 },
		serial: func(p params) int { return 9 + 3*p.int("clients")/2 }, // the clients side by side
		count:  "clients",
	},
	{
		name:  "backpressure",
		title: "Backpressure: a fast writer, a slow reader",
		summary: "The client writes much more than the small socket buffers hold while the server " +
			"reads slowly. Once the buffers are full, the client's writes wait until the server " +
			"reads, and come back short: write returns how many bytes the kernel took. (seqd's " +
			"sockets are non-blocking, like a server's that waits with poll; a blocking socket " +
			"would wait until it had taken every byte.)",
		params: []trace.Param{
			{Name: "total", Type: trace.ParamInt, Default: 128 << 10, Min: 16 << 10, Max: 4 << 20, Unit: "bytes",
				Help: "Bytes the client writes in all."},
			{Name: "chunk", Type: trace.ParamInt, Default: 32 << 10, Min: 1024, Max: 1 << 20, Unit: "bytes",
				Help: "Bytes the client asks each write to take."},
			{Name: "read_delay_ms", Type: trace.ParamInt, Default: 5, Min: 0, Max: 200, Unit: "ms",
				Help: "How long the server works between reads."},
		},
		run: runBackpressure,
		calls: func(p params) int {
			// A write that waits for room is two events: its wait, then its return.
			return 12 + p.int("total")/smallBuffer + 2*p.int("total")/min(p.int("chunk"), smallBuffer)
		},
		count: "total",
		cost: func(p params, preview int) (int, int64, string, string) {
			total, chunk := p.int("total"), p.int("chunk")
			reads := total/smallBuffer + 1
			writes := total/min(chunk, smallBuffer) + 1 // short writes of about a buffer
			return reads + 2*writes + 30, int64(reads)*int64(min(smallBuffer, preview)) + int64(writes)*int64(min(chunk, preview)),
				"total", "write fewer bytes in all"
		},
	},
}

// Buffer sizes of the backpressure scenario: the kernel doubles them and
// applies its minimums.
const smallBuffer = 4096

// readBufSize is the read buffer of the servers and clients, BUFSIZ-like.
const readBufSize = 1024

// listener sets up the lecture's server: socket, setsockopt(SO_REUSEADDR),
// bind to port 0, getsockname, listen. before runs between setsockopt and
// bind, for options the accepted sockets inherit.
func (ex *exchange) listener(actor string, backlog int, before func(*sock) error) (*sock, int, error) {
	ls, err := ex.socket(actor)
	if err != nil {
		return nil, 0, err
	}
	if err := ls.setsockoptInt(unix.SOL_SOCKET, unix.SO_REUSEADDR, "SO_REUSEADDR", 1); err != nil {
		return nil, 0, err
	}
	if before != nil {
		if err := before(ls); err != nil {
			return nil, 0, err
		}
	}
	if err := ls.bind(0); err != nil {
		return nil, 0, err
	}
	if err := ls.listen(backlog); err != nil {
		return nil, 0, err
	}
	return ls, ls.port(), nil
}

// port returns the port of the socket's local address.
func (s *sock) port() int {
	ap, err := netip.ParseAddrPort(s.local)
	if err != nil {
		return 0
	}
	return int(ap.Port())
}

// dial is the lecture's client setup: getaddrinfo, socket, connect. before
// runs between socket and connect.
func (ex *exchange) dial(actor string, port int, before func(*sock) error) (*sock, error) {
	if err := ex.getaddrinfo(actor, port); err != nil {
		return nil, err
	}
	s, err := ex.socket(actor)
	if err != nil {
		return nil, err
	}
	if before != nil {
		if err := before(s); err != nil {
			return nil, err
		}
	}
	return s, s.connect(port)
}

// finish is the end of the lecture's client: shutdown(SHUT_WR) to say it
// has no more to send, read the results until end of file, close.
func (s *sock) finish() error {
	if err := s.shutdown(unix.SHUT_WR); err != nil {
		return err
	}
	if _, err := s.readAll(readBufSize); err != nil {
		return err
	}
	return s.close()
}

// readAll reads until end of file, as the lecture's
// `while (fgets(buf, BUFSIZ, f))` loop does, and returns what it read.
func (s *sock) readAll(bufSize int) ([]byte, error) {
	buf := make([]byte, bufSize)
	var got []byte
	for {
		n, err := s.read(buf)
		if err != nil {
			return got, err
		}
		if n == 0 {
			return got, nil
		}
		got = append(got, buf[:n]...)
	}
}

// readFull reads exactly n bytes, failing on an early end of file.
func (s *sock) readFull(n, bufSize int) ([]byte, error) {
	buf := make([]byte, bufSize)
	got := make([]byte, 0, n)
	for len(got) < n {
		m, err := s.read(buf[:min(bufSize, n-len(got))])
		if err != nil {
			return got, err
		}
		if m == 0 {
			return got, fmt.Errorf("read: end of file after %d of %d bytes", len(got), n)
		}
		got = append(got, buf[:m]...)
	}
	return got, nil
}

// pair is the shape most scenarios share: a server that accepts one client
// and serves it, then closes the connection and its listening socket; and
// a client that connects to it and talks, closing its socket itself (with
// close, or finish). listenOpts, if set, runs on the listening socket
// before bind; dialOpts on the client's socket before connect.
type pair struct {
	listenOpts, dialOpts func(*sock) error
	serve, talk          func(*sock) error
}

// run performs the pair's exchange on ex and returns the first error.
func (pr pair) run(ex *exchange) error {
	server, client := ex.actor("server"), ex.actor("client")
	ls, port, err := ex.listener(server, 16, pr.listenOpts)
	if err != nil {
		return err
	}
	g := &group{ex: ex}
	g.spawn(func() error {
		c, err := ls.accept()
		if err != nil {
			return err
		}
		if err := pr.serve(c); err != nil {
			return err
		}
		if err := c.close(); err != nil {
			return err
		}
		return ls.close()
	})
	g.spawn(func() error {
		s, err := ex.dial(client, port, pr.dialOpts)
		if err != nil {
			return err
		}
		return pr.talk(s)
	})
	return g.wait()
}

func runServiceClient(ex *exchange, p params, _ *Runner) error {
	return pair{
		serve: func(c *sock) error {
			got, err := c.readAll(readBufSize)
			if err != nil {
				return err
			}
			return c.writeAll(numberedResults(got))
		},
		talk: func(s *sock) error {
			for _, name := range p.strings("names") {
				if err := s.writeAll([]byte(name + "\n")); err != nil {
					return err
				}
			}
			return s.finish()
		},
	}.run(ex)
}

func runEcho(ex *exchange, p params, _ *Runner) error {
	return pair{
		serve: func(c *sock) error {
			buf := make([]byte, readBufSize)
			for {
				n, err := c.read(buf)
				if err != nil || n == 0 {
					return err
				}
				if err := c.writeAll(buf[:n]); err != nil {
					return err
				}
			}
		},
		talk: func(s *sock) error {
			for i := 1; i <= p.int("rounds"); i++ {
				line := fmt.Sprintf("ping %d\n", i)
				if err := s.writeAll([]byte(line)); err != nil {
					return err
				}
				back, err := s.readFull(len(line), readBufSize)
				if err != nil {
					return err
				}
				if string(back) != line {
					return fmt.Errorf("echo: sent %q, got back %q", line, back)
				}
			}
			return s.close()
		},
	}.run(ex)
}

const httpBody = "Hello from seqd!\nThis body is exactly as long as Content-Length says.\n"

func runHTTP(ex *exchange, _ params, _ *Runner) error {
	return pair{
		serve: func(c *sock) error {
			buf := make([]byte, readBufSize)
			var req []byte
			for !bytes.Contains(req, []byte("\r\n\r\n")) {
				n, err := c.read(buf)
				if err != nil {
					return err
				}
				if n == 0 {
					return errors.New("http server: the request ended before its blank line")
				}
				req = append(req, buf[:n]...)
			}
			head := "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
				strconv.Itoa(len(httpBody)) + "\r\n\r\n"
			if err := c.at(trace.KindSend, "head").writeAll([]byte(head)); err != nil {
				return err
			}
			return c.at(trace.KindSend, "body").writeAll([]byte(httpBody))
		},
		talk: func(s *sock) error {
			req := fmt.Sprintf("GET /hello.txt HTTP/1.0\r\nHost: %s\r\nUser-Agent: seqd\r\n\r\n", s.peer)
			if err := s.writeAll([]byte(req)); err != nil {
				return err
			}
			resp, err := s.readAll(readBufSize)
			if err != nil {
				return err
			}
			if !bytes.HasSuffix(resp, []byte(httpBody)) {
				return fmt.Errorf("http client: the response ended early: %d bytes", len(resp))
			}
			return s.close()
		},
	}.run(ex)
}

// streamText returns n bytes of numbered text lines, so that previews show
// where each read starts and ends.
func streamText(n int) []byte {
	var b bytes.Buffer
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %04d of one large write\n", i)
	}
	return b.Bytes()[:n]
}

func runStream(ex *exchange, p params, _ *Runner) error {
	size, chunk, writes := p.int("size"), p.int("chunk"), p.int("writes")
	// piledUp hands the turn to the server once every small write has
	// returned: their bytes are then all in its receive queue.
	piledUp := make(chan struct{})
	return pair{
		serve: func(c *sock) error {
			if _, err := c.at(trace.KindRecv, "part").readFull(size, chunk); err != nil {
				return err
			}
			if err := ex.await(piledUp); err != nil {
				return err
			}
			if _, err := c.at(trace.KindRecv, "pile").read(make([]byte, 64<<10)); err != nil {
				return err
			}
			_, err := c.at(trace.KindRecv, "rest").readAll(readBufSize)
			return err
		},
		talk: func(s *sock) error {
			// Without Nagle's algorithm every small write leaves at once
			// instead of waiting for the acknowledgement of the one before.
			if err := s.setsockoptInt(unix.IPPROTO_TCP, unix.TCP_NODELAY, "TCP_NODELAY", 1); err != nil {
				return err
			}
			if err := s.at(trace.KindSend, "big").writeAll(streamText(size)); err != nil {
				return err
			}
			for i := 1; i <= writes; i++ {
				if err := s.at(trace.KindSend, "small").writeAll([]byte(fmt.Sprintf("small write %d\n", i))); err != nil {
					return err
				}
			}
			close(piledUp)
			return s.finish()
		},
	}.run(ex)
}

func runRefused(ex *exchange, _ params, _ *Runner) error {
	server, client := ex.actor("server"), ex.actor("client")
	// A bound socket that never listens: the port is ours, so nothing
	// else can start listening there during the session.
	bound, err := ex.socket(server)
	if err != nil {
		return err
	}
	if err := bound.bind(0); err != nil {
		return err
	}
	s, err := ex.dial(client, bound.port(), nil)
	if !errors.Is(err, unix.ECONNREFUSED) {
		if err == nil {
			err = errors.New("refused: connect succeeded to a port nobody listens on")
		}
		return err
	}
	if err := s.close(); err != nil {
		return err
	}
	return bound.close()
}

func runReset(ex *exchange, _ params, _ *Runner) error {
	// wrote hands the turn to the server once the request is in its
	// receive queue, unread.
	wrote := make(chan struct{})
	return pair{
		serve: func(c *sock) error {
			return ex.await(wrote) // then close with unread data: the kernel sends RST
		},
		talk: func(s *sock) error {
			if err := s.at(trace.KindSend, "request").writeAll([]byte("hello? are you reading this?\n")); err != nil {
				return err
			}
			close(wrote)
			if _, err := s.read(make([]byte, readBufSize)); !errors.Is(err, unix.ECONNRESET) {
				return unexpected("reset: the client's read", unix.ECONNRESET, err)
			}
			if _, err := s.at(trace.KindSend, "again").write([]byte("still there?\n")); !errors.Is(err, unix.EPIPE) {
				return unexpected("reset: the client's write after the reset", unix.EPIPE, err)
			}
			return s.close()
		},
	}.run(ex)
}

func unexpected(what string, want syscall.Errno, err error) error {
	if err == nil {
		return fmt.Errorf("%s succeeded; it should fail with %s", what, unix.ErrnoName(want))
	}
	return fmt.Errorf("%s should fail with %s: %w", what, unix.ErrnoName(want), err)
}

func runConcurrent(ex *exchange, p params, _ *Runner) error {
	server := ex.actor("server")
	n := p.int("clients")
	clients := make([]string, n)
	for i := range clients {
		clients[i] = ex.actor(fmt.Sprintf("client-%d", i+1))
	}
	ls, port, err := ex.listener(server, n, nil)
	if err != nil {
		return err
	}
	g := &group{ex: ex}
	g.spawn(func() error {
		for range n {
			c, err := ls.accept()
			if err != nil {
				return err
			}
			g.spawn(func() error {
				got, err := c.readAll(readBufSize)
				if err != nil {
					return err
				}
				reply := "hello, " + strings.TrimSpace(string(got)) + "\n"
				if err := c.writeAll([]byte(reply)); err != nil {
					return err
				}
				return c.close()
			})
		}
		return ls.at(trace.KindClose, "if (close(fd)").close()
	})
	for _, name := range clients {
		g.spawn(func() error {
			s, err := ex.dial(name, port, nil)
			if err != nil {
				return err
			}
			if err := s.writeAll([]byte(name + "\n")); err != nil {
				return err
			}
			return s.finish()
		})
	}
	return g.wait()
}

func runBackpressure(ex *exchange, p params, _ *Runner) error {
	total, chunk := p.int("total"), p.int("chunk")
	delay := time.Duration(p.int("read_delay_ms")) * time.Millisecond
	return pair{
		// Set on the listening socket so the accepted one inherits it
		// before the handshake sizes the window.
		listenOpts: func(s *sock) error {
			return s.setsockoptInt(unix.SOL_SOCKET, unix.SO_RCVBUF, "SO_RCVBUF", smallBuffer)
		},
		dialOpts: func(s *sock) error {
			return s.setsockoptInt(unix.SOL_SOCKET, unix.SO_SNDBUF, "SO_SNDBUF", smallBuffer)
		},
		serve: func(c *sock) error {
			buf := make([]byte, smallBuffer)
			for {
				if err := ex.sleep(delay); err != nil { // the slow reader's work
					return err
				}
				n, err := c.read(buf)
				if err != nil || n == 0 {
					return err
				}
			}
		},
		talk: func(s *sock) error {
			data := streamText(total)
			for len(data) > 0 {
				n, err := s.writeFrozen(data[:min(chunk, len(data))])
				if err != nil {
					return err
				}
				data = data[n:]
			}
			return s.finish()
		},
	}.run(ex)
}
