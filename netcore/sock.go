package netcore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// loopback is the only address netcore binds or connects to.
var loopback = [4]byte{127, 0, 0, 1}

// sock is one traced socket: a non-blocking fd wrapped in an *os.File so that
// waiting goes through the runtime poller and obeys deadlines. Every method
// performs exactly one socket call (waiting for readiness as a blocking
// socket would) and records it.
type sock struct {
	ex    *exchange
	actor string
	f     *os.File // owns the fd; closing it closes the fd
	rc    syscall.RawConn
	fd    int // the number, for the record only; calls go through rc
	stop  func() bool

	// cvar is the C variable that holds this socket in the actor's
	// listing ("fd", "cfd"), and hint tells apart two lines that make the
	// same call on it: see exchange.sourceLine.
	cvar string
	hint struct {
		kind trace.Kind
		text string
	}

	conn        string // "CLIENT-SERVER" once connected
	local, peer string
	sent, recvd int64 // stream offsets in each direction

	// sendInfo and recvInfo are what sendState and recvState read
	// TCP_INFO into: the writing and the reading goroutine's own.
	sendInfo, recvInfo unix.TCPInfo

	// mirror, when set, records the calls the far end of this socket's
	// connection must have made, around each of this socket's events: the
	// peers of the lab port and of the proxy, which seqd does not run
	// (infer.go).
	mirror *mirror

	// sending is what this socket's reader in the exchange learns of its
	// writes, shown to the exchange (senders) once sendShown; feeder, once
	// feederKnown, is that of the exchange's socket whose writes it reads
	// (preview.go).
	sending     sendSide
	sendShown   atomic.Bool
	feeder      *sendSide
	feederKnown bool
}

// newSock wraps a fresh non-blocking fd and ties its deadline to the
// exchange's context: when the context ends, every call blocked on the
// socket returns. It owns fd from the call on: on failure it has closed
// it, and the caller must not.
func (ex *exchange) newSock(actor string, fd int) (*sock, error) {
	f := os.NewFile(uintptr(fd), "tcp socket "+strconv.Itoa(fd))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("wrap fd %d: %w", fd, err)
	}
	if d, ok := ex.ctx.Deadline(); ok {
		_ = f.SetDeadline(d)
	}
	s := &sock{ex: ex, actor: actor, f: f, rc: rc, fd: fd, cvar: "fd"}
	s.stop = context.AfterFunc(ex.ctx, func() { _ = f.SetDeadline(time.Unix(1, 0)) })
	ex.track(s)
	return s, nil
}

// call describes the call of kind about to be made on s.
func (s *sock) call(kind trace.Kind) call { return call{actor: s.actor, kind: kind, s: s} }

// fill sets the fields every event of s shares.
func (s *sock) fill(e *trace.Event, err error) {
	e.Actor = s.actor
	e.FD = s.fd
	if e.Conn == "" {
		e.Conn = s.conn
	}
	if err != nil {
		e.Ret = -1
		e.Errno, e.Err = ErrnoOf(err)
		if e.Errno == "" {
			e.Err = err.Error()
		}
	}
	hint := ""
	if s.hint.kind == e.Kind {
		hint = s.hint.text
	}
	s.ex.sourceLine(e, s.cvar, hint)
}

// record records e, a call of s that emitted nothing to the peer (it took
// something in, or set the socket up), in its turn in the session's order;
// b is the blocked call it ends, or nil.
func (s *sock) record(e *trace.Event, began time.Time, err error, b *trace.Blocked) error {
	if s.mirror == nil && s.ex.capture == nil {
		// Nothing to record around it: wait only for an emitting call
		// that may have fed it.
		s.fill(e, err)
		return s.ex.recordTaken(e, began, b)
	}
	s.ex.sess.Hold()
	defer s.ex.sess.Release()
	return s.recordHeld(e, began, err, b, false)
}

// emission describes a call of kind that s is about to make, for the
// session's order (trace.Session.HoldFor).
func (s *sock) emission(kind trace.Kind) trace.Emission {
	return trace.Emission{Actor: s.actor, Kind: kind, Conn: s.conn, Offset: s.sent}
}

// recordHeld records e for a caller that holds the session's order, with
// what surrounds it: before it, the far end's calls that led to it
// (infer.go) and, unless it emitted, the segments that brought what it took
// in; after it, the segments it sent and the far end's calls it implies.
func (s *sock) recordHeld(e *trace.Event, began time.Time, err error, b *trace.Blocked, emitted bool) error {
	s.fill(e, err)
	if s.mirror != nil {
		if err := s.mirror.before(s, e); err != nil {
			return err
		}
	}
	if s.ex.capture != nil && !emitted {
		s.ex.capture.drain()
	}
	if err := s.ex.recordHeld(e, began, b); err != nil {
		return err
	}
	if s.ex.capture != nil && emitted {
		s.ex.capture.drain()
	}
	if s.mirror != nil {
		return s.mirror.after(s, e)
	}
	return nil
}

// block says that a call of kind on s has to wait: its begin, with what is
// known at its entry, is recorded before any event recorded while it waits.
func (s *sock) block(kind trace.Kind, began time.Time, fill func(*trace.Event)) *trace.Blocked {
	e := trace.Event{Kind: kind}
	if fill != nil {
		fill(&e)
	}
	s.fill(&e, nil)
	return s.ex.sess.Block(e, began)
}

// retry makes the syscall attempt on s's fd through wait (s.rc.Read or
// s.rc.Write) until it does anything but EAGAIN, retrying EINTR at once;
// the first EAGAIN calls blocked (if not nil) before the goroutine parks in
// the runtime poller. This is how every blocking call of a blocking socket
// is made on a non-blocking one.
func (s *sock) retry(wait func(func(uintptr) bool) error, attempt func(fd int) error, blocked func()) error {
	var err error
	if werr := wait(func(fd uintptr) bool {
		for err = attempt(int(fd)); err == unix.EINTR; err = attempt(int(fd)) {
		}
		if err != unix.EAGAIN {
			return true
		}
		if blocked != nil {
			blocked()
			blocked = nil
		}
		return false
	}); werr != nil {
		return s.callErr(werr)
	}
	return err
}

// emit is retry for a write: each attempt is made holding the session's
// order, and emit returns holding it (the caller records, then releases
// it); it waits for writability without the order.
func (s *sock) emit(attempt func(fd int) error, blocked func()) error {
	for {
		s.ex.sess.HoldFor(s.emission(trace.KindSend))
		var err error
		if cerr := s.rc.Control(func(fd uintptr) {
			for err = attempt(int(fd)); err == unix.EINTR; err = attempt(int(fd)) {
			}
		}); cerr != nil {
			err = cerr
		}
		if err != unix.EAGAIN {
			return err
		}
		if blocked != nil {
			blocked()
			blocked = nil
		}
		s.ex.sess.Release()
		if werr := s.waitWritable(); werr != nil {
			s.ex.sess.HoldFor(s.emission(trace.KindSend))
			return s.callErr(werr)
		}
	}
}

// waitWritable parks until the socket is writable (or connected), untraced:
// poll(2) with no timeout asks, the runtime poller waits.
func (s *sock) waitWritable() error {
	return s.rc.Write(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		for {
			n, err := unix.Poll(fds, 0)
			if err == unix.EINTR {
				continue
			}
			return err != nil || n > 0
		}
	})
}

// at says which of several lines making calls of kind on this socket the
// following calls of that kind come from: the one that also contains text.
// It returns s, for chaining.
func (s *sock) at(kind trace.Kind, text string) *sock {
	s.hint.kind, s.hint.text = kind, text
	return s
}

// callErr turns an error from a RawConn wait into the error to report: the
// exchange's cause when its context ended, else err unchanged.
func (s *sock) callErr(err error) error {
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && s.ex.ctx.Err() != nil {
		return context.Cause(s.ex.ctx)
	}
	return err
}

// tcpState reads the socket's TCP state with TCP_INFO.
func (s *sock) tcpState() string {
	if info := s.info(); info != nil {
		return TCPStateName(info.State)
	}
	return ""
}

// info reads the socket's TCP_INFO, nil if it cannot.
func (s *sock) info() *unix.TCPInfo {
	var info unix.TCPInfo
	if !s.infoInto(&info) {
		return nil
	}
	return &info
}

// infoInto reads the socket's TCP_INFO into info, reporting whether it
// could. unix.GetsockoptTCPInfo allocates a fresh TCPInfo each call; a
// bulk transfer makes thousands a second.
func (s *sock) infoInto(info *unix.TCPInfo) bool {
	ok := false
	_ = s.rc.Control(func(fd uintptr) {
		size := uint32(unix.SizeofTCPInfo)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_INFO,
			uintptr(unsafe.Pointer(info)), uintptr(unsafe.Pointer(&size)), 0)
		ok = errno == 0
	})
	return ok
}

// A send or recv event reports the TCP state and a queue after the call,
// read with one getsockopt(TCP_INFO) instead of a second syscall for
// SIOCOUTQ or SIOCINQ on the hot path of a bulk transfer: the queues are
// TCP_INFO's byte counters against this socket's own offsets, the same
// numbers the ioctls give. sendState and recvState each read only the
// offset of their own direction, which one goroutine owns: a proxy writes
// and reads one socket from two; each has its own TCPInfo to read into.

// sendState returns the state and the bytes written but not yet
// acknowledged (SIOCOUTQ, less the 1 it adds for a FIN).
func (s *sock) sendState() (state string, outq int) {
	if info := &s.sendInfo; s.infoInto(info) {
		return TCPStateName(info.State), max(int(s.sent-int64(info.Bytes_acked)), 0)
	}
	return "", 0
}

// recvState returns the state and the bytes received but not yet read
// (SIOCINQ).
func (s *sock) recvState() (state string, inq int) {
	info := &s.recvInfo
	if !s.infoInto(info) {
		return "", 0
	}
	state = TCPStateName(info.State)
	inq = max(int(int64(info.Bytes_received)-s.recvd), 0)
	if inq > 0 && s.peerMayHaveFinned() {
		// The peer's FIN advances the counter too, and TCP_INFO may show
		// it before the state that says so: ask SIOCINQ, which leaves the
		// FIN out. Only when bytes seem left and the peer may have sent
		// it (it is not the exchange's own, or it began its shutdown or
		// close), so a read in a bulk transfer costs no second syscall.
		_ = s.rc.Control(func(fd uintptr) {
			if n, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
				inq = n
			}
		})
	}
	return state, inq
}

// socket creates a TCP socket for actor: socket(AF_INET, SOCK_STREAM, 0).
func (ex *exchange) socket(actor string) (*sock, error) {
	if err := ex.before(call{actor: actor, kind: trace.KindSocket}); err != nil {
		return nil, err
	}
	began := time.Now()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	e := trace.Event{Kind: trace.KindSocket, Actor: actor, FD: fd, Ret: fd}
	if err != nil {
		e.FD, e.Ret = -1, -1
		e.Errno, e.Err = ErrnoOf(err)
		return nil, errors.Join(os.NewSyscallError("socket", err), ex.record(&e, began))
	}
	s, err := ex.newSock(actor, fd)
	if err != nil {
		return nil, err
	}
	return s, s.record(&e, began, nil, nil)
}

// setsockoptInt sets an integer option: setsockopt(fd, level, opt, &v, sizeof v).
func (s *sock) setsockoptInt(level, opt int, name string, v int) error {
	if err := s.ex.before(call{actor: s.actor, kind: trace.KindSetsockopt, s: s, option: name}); err != nil {
		return err
	}
	began := time.Now()
	var serr error
	if err := s.rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil {
		serr = err
	}
	e := trace.Event{Kind: trace.KindSetsockopt, Option: name, Value: v}
	if err := s.record(&e, began, serr, nil); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("setsockopt "+name, serr)
	}
	return nil
}

// bind binds to 127.0.0.1:port (0 lets the kernel choose) and reads the
// address the kernel gave with getsockname.
func (s *sock) bind(port int) error {
	return s.bindAddr(netip.AddrPortFrom(netip.AddrFrom4(loopback), uint16(port)))
}

// bindAddr binds to an IPv4 address and port, as bind does. Only the lab
// port and the proxy, whose addresses are the operator's command-line
// flags, bind to anything but 127.0.0.1.
func (s *sock) bindAddr(ap netip.AddrPort) error {
	if err := s.ex.before(s.call(trace.KindBind)); err != nil {
		return err
	}
	began := time.Now()
	var berr error
	if !ap.Addr().Unmap().Is4() {
		berr = unix.EAFNOSUPPORT // the socket is AF_INET
	} else if err := s.rc.Control(func(fd uintptr) {
		berr = unix.Bind(int(fd), &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()})
		if berr == nil {
			var sa unix.Sockaddr
			if sa, berr = unix.Getsockname(int(fd)); berr == nil {
				s.local = SockaddrString(sa)
			}
		}
	}); err != nil {
		berr = err
	}
	e := trace.Event{Kind: trace.KindBind, Local: s.local}
	if err := s.record(&e, began, berr, nil); err != nil {
		return err
	}
	if berr != nil {
		return os.NewSyscallError("bind", berr)
	}
	s.ex.noteAddr(s.local, s.actor)
	if s.ex.sess.Features().Segments && s.ex.capture == nil {
		// Without CAP_NET_RAW the session goes on without segments; the
		// API says so before anyone asks for them.
		if c, err := s.ex.startCapture(s.port()); err == nil {
			s.ex.capture = c
		}
	}
	return nil
}

// listen marks the socket passive with the given backlog.
func (s *sock) listen(backlog int) error {
	if err := s.ex.before(s.call(trace.KindListen)); err != nil {
		return err
	}
	began := time.Now()
	var lerr error
	if err := s.rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		lerr = err
	}
	e := trace.Event{Kind: trace.KindListen, Backlog: backlog, Local: s.local, TCPState: s.tcpState()}
	if err := s.record(&e, began, lerr, nil); err != nil {
		return err
	}
	if lerr != nil {
		return os.NewSyscallError("listen", lerr)
	}
	return nil
}

// accept waits for a connection with accept4 and returns its socket, owned
// by the same actor.
func (s *sock) accept() (*sock, error) {
	if err := s.ex.before(s.call(trace.KindAccept)); err != nil {
		return nil, err
	}
	began := time.Now()
	var blk *trace.Blocked // set once the accept has to wait
	nfd, sa, aerr := s.accept4(func() { blk = s.block(trace.KindAccept, began, func(e *trace.Event) { e.Local = s.local }) })
	return s.accepted(nfd, sa, began, aerr, blk)
}

// accept4 makes one accept4 call, waiting as a blocking accept does;
// blocked (if not nil) is called when it first has to wait.
func (s *sock) accept4(blocked func()) (nfd int, sa unix.Sockaddr, err error) {
	nfd = -1
	err = s.retry(s.rc.Read, func(fd int) (err error) {
		nfd, sa, err = unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return err
	}, blocked)
	return nfd, sa, err
}

// accepted records the accept entered at began that returned nfd and sa,
// or failed with aerr, and returns the connection's socket, owned by the
// same actor; blk is the wait it ends, or nil.
func (s *sock) accepted(nfd int, sa unix.Sockaddr, began time.Time, aerr error, blk *trace.Blocked) (*sock, error) {
	e := trace.Event{Kind: trace.KindAccept, Blocked: blk != nil, Ret: nfd}
	if aerr != nil {
		if nfd >= 0 {
			unix.Close(nfd)
		}
		return nil, errors.Join(wrapSyscall("accept", aerr), s.record(&e, began, aerr, blk))
	}
	c, err := s.ex.newSock(s.actor, nfd)
	if err != nil {
		return nil, errors.Join(err, s.record(&e, began, err, blk))
	}
	c.cvar = "cfd"
	c.peer = SockaddrString(sa)
	_ = c.rc.Control(func(fd uintptr) {
		if la, err := unix.Getsockname(int(fd)); err == nil {
			c.local = SockaddrString(la)
		}
	})
	c.conn = c.peer + "-" + c.local
	e.Conn, e.Local, e.Peer = c.conn, c.local, c.peer
	e.TCPState = c.tcpState()
	return c, s.record(&e, began, nil, blk)
}

// connect connects to 127.0.0.1:port: connect returns EINPROGRESS on a
// non-blocking socket, so wait for writability and read SO_ERROR, as a
// blocking connect does inside the kernel.
func (s *sock) connect(port int) error {
	return s.connectAddr(netip.AddrPortFrom(netip.AddrFrom4(loopback), uint16(port)))
}

// connectAddr connects to an IPv4 address and port, as connect does. The
// scenarios connect only to their own listeners on 127.0.0.1; only the
// proxy connects elsewhere: to the target the operator gave on its command
// line (loopback unless -allow-remote-target), never to an address that a
// request names.
func (s *sock) connectAddr(ap netip.AddrPort) error {
	if err := s.ex.before(call{actor: s.actor, kind: trace.KindConnect, s: s, port: int(ap.Port())}); err != nil {
		return err
	}
	began := time.Now()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	s.peer = ap.String()
	var cerr error
	var blk *trace.Blocked // set when the handshake is still under way
	local := ""
	// The SYN leaves inside connect(2): hold the order across it.
	s.ex.sess.HoldFor(s.emission(trace.KindConnect))
	if !ap.Addr().Is4() {
		cerr = unix.EAFNOSUPPORT // the socket is AF_INET
	} else if err := s.rc.Control(func(fd uintptr) {
		for {
			cerr = unix.Connect(int(fd), &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
			if cerr != unix.EINTR {
				break
			}
		}
		if la, err := unix.Getsockname(int(fd)); err == nil {
			// The port is chosen now: name the SYN's sender before
			// any segment can be recorded.
			local = SockaddrString(la)
			s.ex.noteAddr(local, s.actor)
		}
	}); err != nil {
		cerr = s.callErr(err)
	}
	conn := ""
	if local != "" {
		conn = local + "-" + s.peer
	}
	if cerr == unix.EINPROGRESS {
		blk = s.block(trace.KindConnect, began, func(e *trace.Event) { e.Conn, e.Local, e.Peer = conn, local, s.peer })
		if s.ex.capture != nil {
			s.ex.capture.drain() // the SYN, after the begin
		}
		s.ex.sess.Release()
		cerr = s.finishConnect()
		if cerr == nil {
			s.local, s.conn = local, conn
		}
		e := trace.Event{Kind: trace.KindConnect, Blocked: true, Conn: conn, Local: local, Peer: s.peer, TCPState: s.tcpState()}
		if err := s.record(&e, began, cerr, blk); err != nil {
			return err
		}
		return wrapSyscall("connect "+s.peer, cerr)
	}
	// Done (or failed) inside connect(2) itself: recorded in the same
	// turn, so that nothing it caused (the accept) comes before it.
	defer s.ex.sess.Release()
	if cerr == nil {
		s.local, s.conn = local, conn
	}
	e := trace.Event{Kind: trace.KindConnect, Conn: conn, Local: local, Peer: s.peer, TCPState: s.tcpState()}
	if err := s.recordHeld(&e, began, cerr, nil, true); err != nil {
		return err
	}
	return wrapSyscall("connect "+s.peer, cerr)
}

// finishConnect waits for a connect in progress to end, as a blocking
// connect does inside the kernel: for writability, then SO_ERROR.
func (s *sock) finishConnect() error {
	var cerr error
	if err := s.rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			cerr = err
		case v != 0:
			cerr = syscall.Errno(v)
		default:
			if _, err := unix.Getpeername(int(fd)); err == unix.ENOTCONN {
				return false // still connecting, or a spurious wake-up
			}
			cerr = nil
		}
		return true
	}); err != nil {
		return s.callErr(err)
	}
	return cerr
}

// write performs one write(2) of p, waiting first if the send buffer is
// full, and returns what the kernel took: possibly fewer bytes than len(p).
func (s *sock) write(p []byte) (int, error) { return s.writeBytes(p, false) }

// writeFrozen is write for bytes that never change again (a scenario's
// generated text, a bulk transfer's buffer): its event's preview, and the
// previews of the reads that take its bytes, are parts of p rather than
// copies. A fresh 4 KiB copy costs this machine more than a microsecond
// (page faults and collection on new memory), a tenth of a bulk
// transfer's traced throughput. p stays alive as long as the session.
func (s *sock) writeFrozen(p []byte) (int, error) { return s.writeBytes(p, true) }

// writeBytes is write, or writeFrozen when frozen.
func (s *sock) writeBytes(p []byte, frozen bool) (int, error) {
	if err := s.ex.before(s.call(trace.KindSend)); err != nil {
		return 0, err
	}
	began := time.Now()
	// The preview is taken before the write, outside the order it holds,
	// so that the read the bytes feed waits the least; a short write of
	// fewer bytes than the preview takes it again.
	var preview trace.Event
	if frozen && len(p) > 0 {
		written := unsafe.String(&p[0], len(p))
		preview.SetPayloadShared(p, s.ex.preview, written)
		// Kept before the bytes leave, so the read that takes them finds
		// them, wherever in them it starts.
		s.keepPreview(s.sent, written)
	} else {
		preview.SetPayload(p, s.ex.preview)
		s.keepPreview(s.sent, preview.Data)
	}
	var blk *trace.Blocked // set once the write has to wait
	n := 0
	// The bytes leave inside write(2): emit holds the order across it, so
	// that the read they feed is recorded after this write.
	werr := s.emit(func(fd int) (err error) {
		n, err = unix.Write(fd, p)
		return err
	}, func() {
		blk = s.block(trace.KindSend, began, func(e *trace.Event) { e.Want, e.Offset = len(p), s.sent })
	})
	defer s.ex.sess.Release()
	n = max(n, 0)
	e := trace.Event{Kind: trace.KindSend, Blocked: blk != nil, Want: len(p), Ret: n, Bytes: n, Offset: s.sent}
	switch {
	case n == len(p) || n > s.ex.preview:
		e.Data, e.DataB64, e.Truncated = preview.Data, preview.DataB64, preview.Truncated
	case frozen:
		e.SetPayloadShared(p[:n], s.ex.preview, preview.Data)
	default:
		e.SetPayload(p[:n], s.ex.preview)
	}
	s.sent += int64(n)
	e.TCPState, e.OutQ = s.sendState()
	if err := s.recordHeld(&e, began, werr, blk, true); err != nil {
		return n, err
	}
	return n, wrapSyscall("write", werr)
}

// writeAll writes p with as many write calls as it takes, as a C program's
// loop around write(2) does.
func (s *sock) writeAll(p []byte) error {
	for len(p) > 0 {
		n, err := s.write(p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// read performs one read(2) into buf, waiting first if nothing is queued.
// It returns 0 at end of file.
func (s *sock) read(buf []byte) (int, error) {
	if err := s.ex.before(s.call(trace.KindRecv)); err != nil {
		return 0, err
	}
	began := time.Now()
	n := 0
	var blk *trace.Blocked // set once the read has to wait
	rerr := s.retry(s.rc.Read, func(fd int) (err error) {
		n, err = unix.Read(fd, buf)
		return err
	}, func() {
		blk = s.block(trace.KindRecv, began, func(e *trace.Event) { e.Want, e.Offset = len(buf), s.recvd })
	})
	n = max(n, 0)
	e := trace.Event{Kind: trace.KindRecv, Blocked: blk != nil, Want: len(buf), Ret: n, Bytes: n, Offset: s.recvd, EOF: n == 0 && rerr == nil}
	if n > 0 {
		e.SetPayloadShared(buf[:n], s.ex.preview, s.sharedPreview())
	}
	s.recvd += int64(n)
	e.TCPState, e.InQ = s.recvState()
	if err := s.record(&e, began, rerr, blk); err != nil {
		return n, err
	}
	return n, wrapSyscall("read", rerr)
}

// shutdown shuts down one or both directions: SHUT_WR sends a FIN.
func (s *sock) shutdown(how int) error {
	if err := s.ex.before(s.call(trace.KindShutdown)); err != nil {
		return err
	}
	began := time.Now()
	var serr error
	// The FIN leaves inside shutdown(2): hold the order across it.
	if how != unix.SHUT_RD {
		s.finning()
	}
	s.ex.sess.HoldFor(s.emission(trace.KindShutdown))
	defer s.ex.sess.Release()
	if err := s.rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), how) }); err != nil {
		serr = err
	}
	e := trace.Event{Kind: trace.KindShutdown, How: ShutdownHowName(how), TCPState: s.tcpState()}
	if err := s.recordHeld(&e, began, serr, nil, how != unix.SHUT_RD); err != nil {
		return err
	}
	return wrapSyscall("shutdown", serr)
}

var shutHowNames = map[int]string{unix.SHUT_RD: "SHUT_RD", unix.SHUT_WR: "SHUT_WR", unix.SHUT_RDWR: "SHUT_RDWR"}

// ShutdownHowName names shutdown's how ("SHUT_WR"), or gives its number
// when it is none of the three: the one place for netcore and progtrace.
func ShutdownHowName(how int) string {
	if name, ok := shutHowNames[how]; ok {
		return name
	}
	return strconv.Itoa(how)
}

// close closes the socket. The fd is gone afterwards, so the event has no
// TCP state: the kernel may keep the connection (FIN_WAIT, TIME_WAIT) but no
// longer tells this process about it.
func (s *sock) close() error {
	if s.f == nil {
		return nil
	}
	s.ex.untrack(s)
	pauseErr := s.ex.before(s.call(trace.KindClose)) // the socket is closed whatever the pause says
	began := time.Now()
	s.stop()
	// The FIN or RST leaves inside close(2): hold the order across it.
	// Nothing that holds a reference to this fd waits for the order, so
	// the close cannot wait for a call that waits for it.
	s.finning()
	s.ex.sess.HoldFor(s.emission(trace.KindClose))
	defer s.ex.sess.Release()
	cerr := s.f.Close()
	s.f = nil
	e := trace.Event{Kind: trace.KindClose}
	return errors.Join(pauseErr, s.recordHeld(&e, began, cerr, nil, true), wrapSyscall("close", cerr))
}

// wrapSyscall names the call an errno came from, keeping the errno for
// errors.Is; other errors (a context's) pass unchanged.
func wrapSyscall(call string, err error) error {
	var errno syscall.Errno
	if err == nil || !errors.As(err, &errno) {
		return err
	}
	return os.NewSyscallError(call, err)
}

// SockaddrString writes an IPv4 or IPv6 socket address as HOST:PORT, the
// form of Event's Local, Peer and Conn.
func SockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	}
	return fmt.Sprint(sa)
}
