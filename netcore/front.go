package netcore

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// frontBacklog is the listen backlog of the lab port and the proxy.
const frontBacklog = 64

// front is a traced listening socket that makes every connection it accepts
// a session of its own, with the far end drawn by a mirror: the lab port
// (lab.go) and the proxy (proxy.go), where programs that seqd does not run
// connect. Its methods Addr, Serve, Close and Wait are Lab's and Proxy's.
type front struct {
	r         *Runner
	scenario  string         // "lab" or "proxy"
	actor     string         // the traced end: "server" or "proxy"
	actors    []string       // every lifeline, in drawing order
	params    map[string]any // every session's, besides "client"
	idle      time.Duration
	idleErr   error
	maxConns  int
	maxPerIP  int
	onSession func(sess *trace.Session, client string)
	// serveConn serves one accepted connection; the front closes what it
	// leaves open and finishes the session with its error.
	serveConn func(ex *exchange, c *sock, idle *idleTimer) error

	base   *exchange // owns the listening socket; its session is never shown
	ls     *sock
	lsFile *os.File // ls's file, kept to stop a waiting accept loop
	addr   netip.AddrPort

	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // running sessions

	// mu guards the fields below.
	mu       sync.Mutex
	serving  bool
	stopping bool          // the accept loop is to end
	stopped  chan struct{} // closed with stopping
	closed   bool
	loopDone chan struct{} // closed when Serve's accept loop has ended
	started  chan struct{} // closed when the goroutine of Start has ended
	running  int
	refusing int                // refused connections being drained (refuse)
	drains   map[netip.Addr]int // of them, by address
	perIP    map[netip.Addr]int
	held     map[netip.Addr][]*holding // the running sessions' places, oldest first, that acquire may take back
	recent   minuteCounts              // connections per address in the last minute
}

// minuteCounts counts events per address in fixed one-minute windows, to
// bound how many connections an address may make a minute. Its map holds
// only addresses seen in the current window.
type minuteCounts struct {
	perMinute int
	window    time.Time // when the current minute began
	counts    map[netip.Addr]int
}

// allow counts one event of ip at now, unless ip had perMinute already.
func (m *minuteCounts) allow(ip netip.Addr, now time.Time) bool {
	if now.Sub(m.window) >= time.Minute || m.counts == nil {
		m.window, m.counts = now, map[netip.Addr]int{}
	}
	if m.counts[ip] >= m.perMinute {
		return false
	}
	m.counts[ip]++
	return true
}

// listen opens f's listening socket on addr: socket, setsockopt
// (SO_REUSEADDR), bind, listen. These calls happen once, before any
// session, and are recorded in a session of their own that is never shown.
func (f *front) listen(addr netip.AddrPort) error {
	if !addr.IsValid() {
		addr = netip.AddrPortFrom(netip.AddrFrom4(loopback), 0)
	}
	f.stopped = make(chan struct{})
	ctx, cancel := context.WithCancelCause(context.Background())
	f.base = &exchange{
		ctx:    ctx,
		cancel: cancel,
		sess:   trace.NewSession(f.scenario, f.params, trace.Options{}),
		open:   make(map[*sock]struct{}),
	}
	err := func() error {
		ls, err := f.base.socket(f.actor)
		if err != nil {
			return err
		}
		if err := ls.setsockoptInt(unix.SOL_SOCKET, unix.SO_REUSEADDR, "SO_REUSEADDR", 1); err != nil {
			return err
		}
		if err := ls.bindAddr(addr); err != nil {
			return err
		}
		if err := ls.listen(frontBacklog); err != nil {
			return err
		}
		f.ls, f.lsFile = ls, ls.f
		f.addr, err = netip.ParseAddrPort(ls.local)
		return err
	}()
	if err != nil {
		f.base.closeAll()
		cancel(err)
		f.base.sess.Finish(err)
		return fmt.Errorf("%s: listen on %s: %w", f.scenario, addr, err)
	}
	return nil
}

// Addr is the address where programs connect, with the port the kernel
// chose if it was 0.
func (f *front) Addr() netip.AddrPort { return f.addr }

// Serve accepts connections until Close is called or ctx ends, each one a
// session that runs under ctx and the Runner's Timeout and is handed to
// OnSession as soon as its accept is recorded. It returns nil then, without
// waiting for the sessions: Wait does. Serve may be called once.
func (f *front) Serve(ctx context.Context) error {
	f.mu.Lock()
	if f.serving || f.closed {
		f.mu.Unlock()
		if f.closed {
			return nil
		}
		return fmt.Errorf("%s: Serve called twice", f.scenario)
	}
	f.serving = true
	f.loopDone = make(chan struct{})
	f.mu.Unlock()
	defer close(f.loopDone)
	stop := context.AfterFunc(ctx, f.stopAccepting)
	defer stop()

	var backoff time.Duration
	for {
		if err := f.ls.waitReadable(); err != nil {
			if f.isStopping() {
				return nil
			}
			return fmt.Errorf("%s: wait for connections on %s: %w", f.scenario, f.addr, err)
		}
		err := f.acceptOne(ctx)
		if f.isStopping() {
			return nil
		}
		if err == nil {
			backoff = 0
			continue
		}
		// The accept failed (out of descriptors, the connection already
		// gone): wait a little before the next, as net/http does.
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-f.stopped:
			t.Stop()
			return nil
		}
	}
}

// stopAccepting makes the accept loop end: a deadline in the past wakes a
// wait for connections.
func (f *front) stopAccepting() {
	f.mu.Lock()
	if !f.stopping {
		f.stopping = true
		close(f.stopped)
	}
	f.mu.Unlock()
	_ = f.lsFile.SetDeadline(time.Unix(1, 0))
}

func (f *front) isStopping() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopping
}

// acceptOne accepts one connection into a new session and starts serving it
// in a goroutine that f owns until the session ends.
func (f *front) acceptOne(ctx context.Context) error {
	began := time.Now()
	nfd, sa, err := f.ls.accept4(nil)
	if err != nil {
		return err
	}
	// Over a limit, the connection is refused before it becomes a session:
	// what a visitor does beyond its share is never shown, kept or saved.
	peer := SockaddrString(sa)
	ip := netip.Addr{}
	if ap, err := netip.ParseAddrPort(peer); err == nil {
		ip = ap.Addr()
	}
	evicted, refused := f.acquire(ip, began)
	if refused != nil {
		f.refuse(nfd, ip, "seqd: "+refused.Error()+"\n")
		return nil
	}
	if evicted != nil {
		// Its release gives the place back.
		evicted.cancel(fmt.Errorf("the %s was full, and this address held the most of it: this connection was ended to make room for another address's; connect again in a while", f.scenario))
	}
	timeout := f.r.sessionTimeout()
	sctx, cancelTimeout := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("the session took longer than its deadline of %s", timeout))
	sctx, cancel := context.WithCancelCause(sctx)
	h := f.hold(ip, cancel)
	params := maps.Clone(f.params)
	params["client"] = peer
	sess := trace.NewSession(f.scenario, params, trace.Options{MaxEvents: f.r.MaxEvents, MaxBytes: f.r.maxBytes()})
	ex := &exchange{ctx: sctx, cancel: cancel, sess: sess, preview: f.r.previewLimit(), open: make(map[*sock]struct{})}
	for _, a := range f.actors {
		ex.actor(a)
	}
	m := newMirror(ex, "client")
	view := f.ls.viewIn(ex)
	view.mirror = m
	c, err := view.accepted(nfd, sa, began, nil, nil)
	if err != nil {
		f.release(ip, h)
		cancel(err)
		cancelTimeout()
		sess.Finish(err)
		return err
	}
	c.mirror = m
	if f.onSession != nil {
		f.onSession(sess, c.peer)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer cancelTimeout()
		idle := startIdle(ex, f.idle, f.idleErr)
		err := f.serveConn(ex, c, idle)
		idle.stop()
		f.release(ip, h)
		finish(ex, err)
	}()
	return nil
}

// finish closes what a session left open, as the kernel does when a
// process exits, stops its capture, and ends it: done, or failed with the
// first cause (not a goroutine's echo of it).
func finish(ex *exchange, err error) {
	if err != nil {
		// Ended first, so that the mirrors draw no orderly end of file.
		ex.cancel(err)
	}
	ex.closeAll()
	if ex.capture != nil {
		ex.capture.stop()
	}
	if err != nil && ex.ctx.Err() != nil {
		err = context.Cause(ex.ctx)
	}
	if err == context.Canceled { // cancelled with no cause of its own
		err = cancelled{err}
	}
	ex.cancel(nil)
	ex.sess.Finish(err)
}

// cancelled is the error of a session whose context was cancelled without a
// cause: a sentence for its viewers, where context.Canceled's text is
// jargon, that still matches context.Canceled.
type cancelled struct{ error }

func (cancelled) Error() string { return "the session was cancelled before it finished" }

func (c cancelled) Unwrap() error { return c.error }

// holding is one running session's place, which acquire may take back.
type holding struct{ cancel context.CancelCauseFunc }

// acquire takes a place for a connection from ip that arrived at now, or
// says which bound it is over: connections at once in all or from ip, or
// connections from ip in the last minute. When every place is taken, one
// of the address holding the most (two more than ip at least) is taken
// back for ip: evicted, whose session the caller ends; its place comes
// free when it does. So some addresses holding connections open (a byte
// every few seconds keeps the idle timeout away) cannot shut the others
// out for a session's whole deadline.
func (f *front) acquire(ip netip.Addr, now time.Time) (evicted *holding, refused error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var top netip.Addr
	most := 0
	if f.running >= f.maxConns {
		for a, n := range f.perIP {
			if a != ip && n >= f.perIP[ip]+2 && len(f.held[a]) > 0 && n > most {
				top, most = a, n
			}
		}
		if most == 0 {
			return nil, fmt.Errorf("too many connections: the %s serves at most %d at once; try again when one has ended", f.scenario, f.maxConns)
		}
	}
	if f.perIP[ip] >= f.maxPerIP {
		return nil, fmt.Errorf("too many connections from %s: the %s serves at most %d at once from one address; close one and try again", ip, f.scenario, f.maxPerIP)
	}
	if !f.recent.allow(ip, now) {
		return nil, fmt.Errorf("too many connections from %s: the %s takes at most %d a minute from one address; wait a minute and try again", ip, f.scenario, f.recent.perMinute)
	}
	if most > 0 {
		evicted = f.held[top][0] // its oldest
		f.held[top] = f.held[top][1:]
	}
	if f.perIP == nil {
		f.perIP = map[netip.Addr]int{}
	}
	f.running++
	f.perIP[ip]++
	return evicted, nil
}

// hold records the place of ip's new session, which cancel ends.
func (f *front) hold(ip netip.Addr, cancel context.CancelCauseFunc) *holding {
	h := &holding{cancel: cancel}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		f.held = map[netip.Addr][]*holding{}
	}
	f.held[ip] = append(f.held[ip], h)
	return h
}

// release gives back ip's place h.
func (f *front) release(ip netip.Addr, h *holding) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running--
	if f.perIP[ip]--; f.perIP[ip] <= 0 {
		delete(f.perIP, ip)
	}
	if i := slices.Index(f.held[ip], h); i >= 0 {
		f.held[ip] = slices.Delete(f.held[ip], i, i+1)
	}
	if len(f.held[ip]) == 0 {
		delete(f.held, ip)
	}
}

// refuse sends the line why to a connection turned away, then closes it
// without a reset: the kernel answers a close with a reset, which throws
// away the line, when data the program sent is still unread, so what it
// sent is read and dropped first, until its end of file or refuseLinger.
// At most maxRefusing connections are drained at once, maxRefusingPerIP
// from one address (in goroutines f owns until Wait); past that one is
// closed after what it sent so far. A one-line write to a fresh socket
// never blocks.
func (f *front) refuse(nfd int, ip netip.Addr, why string) {
	_, _ = unix.Write(nfd, []byte(why))
	_ = unix.Shutdown(nfd, unix.SHUT_WR)
	f.mu.Lock()
	linger := f.refusing < maxRefusing && f.drains[ip] < maxRefusingPerIP
	if linger {
		f.refusing++
		if f.drains == nil {
			f.drains = map[netip.Addr]int{}
		}
		f.drains[ip]++
	}
	f.mu.Unlock()
	if !linger {
		drainInput(nfd, 0)
		unix.Close(nfd)
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		drainInput(nfd, refuseLinger)
		unix.Close(nfd)
		f.mu.Lock()
		f.refusing--
		if f.drains[ip]--; f.drains[ip] <= 0 {
			delete(f.drains, ip)
		}
		f.mu.Unlock()
	}()
}

// refuseLinger bounds how long a refused connection is drained, and
// maxRefusing and maxRefusingPerIP how many are at once.
const (
	refuseLinger     = 2 * time.Second
	maxRefusing      = 64
	maxRefusingPerIP = 8 // an address cannot take every drain, and the others' reasons with them
)

// drainInput reads and drops what the non-blocking socket fd receives,
// until its end of file, an error or wait has passed (0: only what has
// come already), and at most 1 MiB.
func drainInput(fd int, wait time.Duration) {
	end := time.Now().Add(wait)
	buf := make([]byte, 16<<10)
	for read := 0; read < 1<<20; {
		n, err := unix.Read(fd, buf)
		switch {
		case n > 0:
			read += n
			continue
		case err == unix.EINTR:
			continue
		case err != unix.EAGAIN:
			return // end of file (n == 0), or the connection failed
		}
		left := time.Until(end)
		if left <= 0 {
			return
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(left.Milliseconds())+1); err != nil && err != unix.EINTR {
			return
		}
	}
}

// Start runs Serve in a goroutine that f owns until Close, which waits for
// it; Serve's error, if it fails, goes to failed (which may be nil).
func (f *front) Start(ctx context.Context, failed func(error)) {
	f.mu.Lock()
	started := make(chan struct{})
	f.started = started
	f.mu.Unlock()
	go func() {
		defer close(started)
		if err := f.Serve(ctx); err != nil && failed != nil {
			failed(err)
		}
	}()
}

// Close stops accepting connections and closes the listening socket; the
// sessions running go on until they end or Serve's ctx ends.
func (f *front) Close() error {
	f.mu.Lock()
	f.closed = true
	done, started := f.loopDone, f.started
	f.mu.Unlock()
	f.stopAccepting()
	if started != nil {
		<-started
	}
	if done != nil {
		<-done
	}
	f.closeOnce.Do(func() {
		f.closeErr = f.ls.close()
		f.base.cancel(nil)
		f.base.sess.Finish(nil)
	})
	return f.closeErr
}

// Wait waits for every session to end. Call it after Close, or after
// Serve's ctx has ended and Serve has returned.
func (f *front) Wait() { f.wg.Wait() }

// viewIn returns the listening socket s as a socket of ex: its accept is
// recorded in ex's session and the accepted socket belongs to ex. The view
// never closes the socket: s's owner does.
func (s *sock) viewIn(ex *exchange) *sock {
	return &sock{ex: ex, actor: s.actor, f: s.f, rc: s.rc, fd: s.fd, cvar: s.cvar, local: s.local,
		stop: func() bool { return false }}
}

// waitReadable waits, untraced, until the socket is readable: for a
// listening socket, until a connection is queued. poll(2) with no timeout
// asks; the runtime poller waits.
func (s *sock) waitReadable() error {
	var perr error
	if err := s.rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 0)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				perr = os.NewSyscallError("poll", err)
				return true
			}
			return n > 0
		}
	}); err != nil {
		return err
	}
	return perr
}

// idleTimer fails an exchange whose connection has moved no bytes for a
// while: each touch starts the wait again. It is safe for concurrent use.
type idleTimer struct {
	d time.Duration
	t *time.Timer
}

// startIdle cancels ex with err once d passes without a touch.
func startIdle(ex *exchange, d time.Duration, err error) *idleTimer {
	return &idleTimer{d: d, t: time.AfterFunc(d, func() { ex.cancel(err) })}
}

// touch says that bytes moved.
func (i *idleTimer) touch() { i.t.Reset(i.d) }

func (i *idleTimer) stop() { i.t.Stop() }

// previewLimit is the payload bytes kept per send or recv event.
func (r *Runner) previewLimit() int {
	switch {
	case r.Preview == 0:
		return DefaultPreview
	case r.Preview < 0:
		return 0
	}
	return r.Preview
}

// sessionTimeout is every session's deadline.
func (r *Runner) sessionTimeout() time.Duration {
	if r.Timeout <= 0 {
		return DefaultTimeout
	}
	return r.Timeout
}
