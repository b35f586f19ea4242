package progtrace

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"seqd/netcore"
	"seqd/trace"
)

// call is a traced call between its seccomp stop and its exit stop.
type call struct {
	kind  trace.Kind
	nr    uint64
	args  [6]uint64
	began time.Time
	fd    int
	sock  *sock
	addr  string // connect's and bind's address, read at entry
	// An emitting call's place in the order, taken at its entry; a
	// taking call's begin, recorded if other events come while it waits.
	slot    *slot
	beginEv trace.Event
	blocked *trace.Blocked
}

// sock is what the tracer knows of one socket, by its inode: the same
// socket in a parent and its forked child, or under two descriptors.
type sock struct {
	tcp               bool
	local, peer, conn string
	sent, recvd       int64 // the stream offsets of each direction
}

// seccompStop handles a stop at a traced call's entry: a call to record
// is resumed to its exit stop, any other runs on.
func (t *tracer) seccompStop(p *proc) {
	var info syscallInfo
	if err := getSyscallInfo(p.tid, &info); err != nil || info.Op != opSeccomp || !p.execed {
		_ = unix.PtraceCont(p.tid, 0)
		return
	}
	if r := p.restarting; r != nil {
		// The call a signal interrupted (its exit said ERESTART*) enters
		// again, as itself or as restart_syscall: it is the same call.
		p.restarting = nil
		if info.Nr == r.nr || info.Nr == unix.SYS_RESTART_SYSCALL {
			p.call = r
			_ = unix.PtraceSyscall(p.tid, 0)
			return
		}
		t.order.abandon(r) // a handler ran and the program did something else
	}
	c := t.enter(p, &info)
	if c == nil {
		_ = unix.PtraceCont(p.tid, 0)
		return
	}
	p.call = c
	_ = unix.PtraceSyscall(p.tid, 0)
}

// restarted reports whether rv, an exit value, says that the kernel will
// enter the call again once the signal that interrupted it is handled
// (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK):
// the program never sees that return.
func restarted(rv int64) bool { return rv <= -512 && rv >= -516 && rv != -515 }

// syscallStop handles the exit stop of a call that enter kept.
func (t *tracer) syscallStop(p *proc) {
	var info syscallInfo
	if err := getSyscallInfo(p.tid, &info); err == nil && info.Op == opEntry {
		_ = unix.PtraceSyscall(p.tid, 0) // an entry stop after the seccomp stop: on to the exit
		return
	} else if err == nil && info.Op == opExit && p.call != nil && restarted(info.exitValue()) {
		p.restarting = p.call
	} else if err == nil && info.Op == opExit && p.call != nil {
		t.exit(p, p.call, info.exitValue())
	}
	p.call = nil
	_ = unix.PtraceCont(p.tid, 0)
}

// enter decides whether the call at a seccomp stop is recorded (a call
// on a TCP socket) and takes what it must at the entry: an emitting
// call's place in the order, a taking call's begin, the address a
// connect or bind names.
func (t *tracer) enter(p *proc, info *syscallInfo) *call {
	a := info.Args
	c := &call{nr: info.Nr, args: a, began: time.Now(), fd: int(int32(a[0]))}
	fds := t.fdsOf(p)
	switch info.Nr {
	case sysDup2, unix.SYS_DUP3:
		delete(fds, int(int32(a[1]))) // the descriptor it replaces
		return nil
	case unix.SYS_CLOSE_RANGE:
		for fd := range fds {
			if uint64(fd) >= a[0] && uint64(fd) <= a[1] {
				delete(fds, fd)
			}
		}
		return nil
	case unix.SYS_SOCKET:
		typ := int(a[1]) &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
		if (a[0] != unix.AF_INET && a[0] != unix.AF_INET6) || typ != unix.SOCK_STREAM {
			if lookupSocket(a[0], a[1]) && !p.inLookup {
				t.lookup(p)
			}
			return nil // not the program's connection
		}
		p.inLookup = false
		c.kind = trace.KindSocket
		return c
	case unix.SYS_SETSOCKOPT:
		c.kind = trace.KindSetsockopt
	case unix.SYS_BIND:
		c.kind = trace.KindBind
	case unix.SYS_LISTEN:
		c.kind = trace.KindListen
	case unix.SYS_CONNECT:
		c.kind = trace.KindConnect
	case unix.SYS_ACCEPT, unix.SYS_ACCEPT4:
		c.kind = trace.KindAccept
	case unix.SYS_SHUTDOWN:
		c.kind = trace.KindShutdown
	case unix.SYS_CLOSE:
		c.kind = trace.KindClose
	case unix.SYS_READ, unix.SYS_READV, unix.SYS_RECVFROM, unix.SYS_RECVMSG:
		c.kind = trace.KindRecv
	case unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_SENDTO, unix.SYS_SENDMSG:
		c.kind = trace.KindSend
	default:
		return nil
	}
	c.sock = t.sockOf(p, c.fd)
	if c.kind == trace.KindClose {
		delete(fds, c.fd) // closed, whatever it was: the number may come back as another file
	}
	if c.sock == nil || !c.sock.tcp {
		return nil
	}
	p.inLookup = false
	actor := t.actorOf(p)
	switch c.kind {
	case trace.KindConnect, trace.KindBind:
		c.addr = sockaddrAt(p.tid, a[1], a[2])
	}
	switch c.kind {
	case trace.KindSend, trace.KindShutdown, trace.KindClose, trace.KindConnect:
		// What it emits can be read by the peer before the tracer sees it
		// return: its event goes where it entered, or its begin, if it
		// waits while others return (orderQueue.split).
		c.beginEv = trace.Event{Actor: actor, Kind: c.kind, FD: c.fd, Conn: c.sock.conn, Local: c.sock.local, Peer: c.sock.peer}
		if c.kind == trace.KindSend {
			// A blocking write's bytes flow while it waits: its arrows start at its begin.
			c.beginEv.Want, c.beginEv.Offset, c.beginEv.Flowing = wantOf(p.tid, c), c.sock.sent, true
		}
		c.slot = t.order.reserve(c)
	case trace.KindRecv, trace.KindAccept:
		begin := trace.Event{Actor: actor, Kind: c.kind, FD: c.fd, Conn: c.sock.conn, Local: c.sock.local, Peer: c.sock.peer}
		if c.kind == trace.KindRecv {
			begin.Want, begin.Offset = wantOf(p.tid, c), c.sock.recvd
		}
		c.beginEv = begin
		t.order.enterTaking(t.sess, c)
	}
	return c
}

// lookupSocket reports whether socket(domain, typ, …) is one glibc's
// getaddrinfo opens: netlink (AI_ADDRCONFIG), a UDP socket (DNS, RFC 6724
// address sorting), or the non-blocking close-on-exec Unix socket it
// tries nscd with.
func lookupSocket(domain, typ uint64) bool {
	base := int(typ) &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
	switch {
	case domain == unix.AF_NETLINK:
		return true
	case (domain == unix.AF_INET || domain == unix.AF_INET6) && base == unix.SOCK_DGRAM:
		return true
	case domain == unix.AF_UNIX && base == unix.SOCK_STREAM:
		return int(typ)&(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) == unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC
	}
	return false
}

// lookup records the start of a name lookup of p's: one greyed
// getaddrinfo, inferred from the sockets glibc opens for it (their calls
// are not drawn), until p's next call on a TCP socket.
func (t *tracer) lookup(p *proc) {
	p.inLookup = true
	t.order.push(trace.Event{Actor: t.actorOf(p), Kind: trace.KindGetaddrinfo, FD: -1, Inferred: true}, time.Now(), nil)
	t.flush()
}

// flush records what the order queue has ready. A session that refuses an
// event is full (events or bytes): it cannot show the rest, so the
// programs are stopped and the session ends saying why.
func (t *tracer) flush() {
	if err := t.order.flush(t.sess, false); err != nil && t.failure == nil {
		t.failure = fullError{err}
		t.killAll(unix.SIGKILL)
	}
}

// exit records a kept call with its result rv (a value, or -errno).
func (t *tracer) exit(p *proc, c *call, rv int64) {
	ev := trace.Event{Actor: t.actorOf(p), Kind: c.kind, FD: c.fd, Ret: int(rv)}
	if rv < 0 {
		ev.Ret = -1
		ev.Errno, ev.Err = netcore.ErrnoOf(unix.Errno(-rv))
	}
	s := c.sock
	a := c.args
	switch c.kind {
	case trace.KindSocket:
		ev.FD = int(rv)
		if rv >= 0 {
			if ino, ok := inodeOf(p.tid, int(rv)); ok {
				s = &sock{tcp: true}
				t.socks[ino] = s
				t.fdsOf(p)[int(rv)] = ino
			}
		}
	case trace.KindSetsockopt:
		ev.Option = optionName(int(a[1]), int(a[2]))
		if a[4] == 4 {
			if b := readMem(p.tid, a[3], 4); len(b) == 4 {
				ev.Value = int(int32(binary.NativeEndian.Uint32(b)))
			}
		}
	case trace.KindBind:
		ev.Local = c.addr
	case trace.KindListen:
		ev.Backlog = int(int32(a[1]))
		if rv == 0 {
			t.peek(p, c.fd, func(fd int) { s.local = localOf(fd) })
			t.listens[s.local] = true
			if t.leaders[p.tid] == t.started-1 || p.prog == t.started-1 {
				t.startAt = time.Time{} // it listens: start the next program now
			}
		}
		ev.Local = s.local
	case trace.KindConnect:
		ev.Peer = c.addr
		if rv == 0 || ev.Errno == "EINPROGRESS" {
			t.peek(p, c.fd, func(fd int) { s.local = localOf(fd) })
			s.peer = c.addr
			s.conn = s.local + "-" + s.peer
		}
	case trace.KindAccept:
		if rv >= 0 {
			ns := &sock{tcp: true}
			t.peek(p, int(rv), func(fd int) { ns.local, ns.peer = localOf(fd), peerOf(fd) })
			ns.conn = ns.peer + "-" + ns.local
			if ino, ok := inodeOf(p.tid, int(rv)); ok {
				t.socks[ino] = ns
				t.fdsOf(p)[int(rv)] = ino
			}
			s = ns
		}
	case trace.KindShutdown:
		ev.How = netcore.ShutdownHowName(int(a[1]))
	case trace.KindSend, trace.KindRecv:
		t.data(p, c, &ev, rv)
	}
	if s != nil && c.kind != trace.KindSocket && c.kind != trace.KindSetsockopt && c.kind != trace.KindBind {
		ev.Conn, ev.Peer = s.conn, s.peer
		if ev.Local == "" {
			ev.Local = s.local
		}
	}
	if c.kind != trace.KindClose && c.kind != trace.KindSocket && c.kind != trace.KindSend && c.kind != trace.KindRecv {
		fd := c.fd
		if c.kind == trace.KindAccept && rv >= 0 {
			fd = int(rv)
		}
		t.peek(p, fd, func(fd int) { ev.TCPState = tcpStateOf(fd) })
	}
	switch {
	case c.slot != nil:
		t.order.fill(c.slot, ev, c.began)
	case c.kind == trace.KindRecv || c.kind == trace.KindAccept || c.blocked != nil:
		t.order.push(ev, c.began, c)
	default:
		t.order.push(ev, c.began, nil)
	}
	t.flush()
}

// fullError is why a session the programs filled ended: what to do
// instead of the scenarios' advice (smaller parameters) that the
// session's own error gives. It is still that error (errors.Is).
type fullError struct{ err error }

func (e fullError) Error() string {
	what := "its memory budget"
	if errors.Is(e.err, trace.ErrTooManyEvents) {
		what = "its limit of events"
	}
	return "the session reached " + what + ", so seqd trace stopped the programs: raise -session-bytes or -max-events, or keep fewer bytes a call with -preview 64"
}

func (e fullError) Unwrap() error { return e.err }

// data fills a send's or recv's bytes, offsets and queues.
func (t *tracer) data(p *proc, c *call, ev *trace.Event, rv int64) {
	s := c.sock
	ev.Want = wantOf(p.tid, c)
	n := max(rv, 0)
	ev.Bytes = int(n)
	if c.kind == trace.KindSend {
		ev.Offset = s.sent
		s.sent += n
	} else {
		ev.Offset = s.recvd
		s.recvd += n
		ev.EOF = rv == 0 && ev.Want > 0
	}
	if n > 0 {
		// One byte more than the preview tells SetPayload it was cut.
		ev.SetPayload(bytesOf(p.tid, c, int(min(n, int64(t.cfg.Preview)+1))), t.cfg.Preview)
	}
	t.peek(p, c.fd, func(fd int) {
		ev.TCPState = tcpStateOf(fd)
		req := unix.SIOCINQ
		if c.kind == trace.KindSend {
			req = unix.SIOCOUTQ
		}
		if q, err := unix.IoctlGetInt(fd, uint(req)); err == nil {
			if c.kind == trace.KindSend {
				ev.OutQ = q
			} else {
				ev.InQ = q
			}
		}
	})
}

// wantOf is the bytes a read or write call asks to move: its buffer's
// length, or the sum of its iovecs'.
func wantOf(tid int, c *call) int {
	switch c.nr {
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_RECVFROM, unix.SYS_SENDTO:
		return int(c.args[2])
	}
	n := 0
	for _, v := range iovecsOf(tid, c) {
		n += int(v[1])
	}
	return n
}

// iovecsOf reads a readv/writev's iovecs, or a sendmsg/recvmsg's.
func iovecsOf(tid int, c *call) [][2]uint64 {
	addr, count := c.args[1], c.args[2]
	if c.nr == unix.SYS_SENDMSG || c.nr == unix.SYS_RECVMSG {
		// struct msghdr: name, namelen, then iov and iovlen.
		b := readMem(tid, c.args[1], 32)
		if len(b) < 32 {
			return nil
		}
		addr, count = binary.NativeEndian.Uint64(b[16:]), binary.NativeEndian.Uint64(b[24:])
	}
	count = min(count, 1024) // UIO_MAXIOV
	b := readMem(tid, addr, int(count)*16)
	out := make([][2]uint64, 0, len(b)/16)
	for i := 0; i+16 <= len(b); i += 16 {
		out = append(out, [2]uint64{binary.NativeEndian.Uint64(b[i:]), binary.NativeEndian.Uint64(b[i+8:])})
	}
	return out
}

// bytesOf reads the first n bytes a read returned or a write wrote.
func bytesOf(tid int, c *call, n int) []byte {
	switch c.nr {
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_RECVFROM, unix.SYS_SENDTO:
		return readMem(tid, c.args[1], n)
	}
	var out []byte
	for _, v := range iovecsOf(tid, c) {
		if len(out) >= n {
			break
		}
		out = append(out, readMem(tid, v[0], min(int(v[1]), n-len(out)))...)
	}
	return out
}

// readMem reads n bytes at addr in the stopped tracee's memory; fewer
// where it cannot.
func readMem(tid int, addr uint64, n int) []byte {
	if n <= 0 || addr == 0 {
		return nil
	}
	buf := make([]byte, n)
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(n)
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: n}}
	got, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err != nil {
		return nil
	}
	return buf[:got]
}

// sockaddrAt reads a struct sockaddr of len bytes at addr as HOST:PORT.
func sockaddrAt(tid int, addr, n uint64) string {
	b := readMem(tid, addr, int(min(n, 128)))
	if len(b) < 8 {
		return ""
	}
	port := binary.BigEndian.Uint16(b[2:])
	switch binary.NativeEndian.Uint16(b) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port).String()
	case unix.AF_INET6:
		if len(b) >= 24 {
			return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), port).String()
		}
	}
	return ""
}

// inodeOf is the socket inode that descriptor fd of thread tid refers
// to, and whether it is a socket at all.
func inodeOf(tid, fd int) (uint64, bool) {
	link, err := os.Readlink("/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	v, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64)
	return ino, err == nil
}

// sockOf is what the tracer knows of the socket under fd, learnt from
// the socket itself the first time it is seen (one inherited, or made
// before the tracer knew); nil when fd is no socket.
func (t *tracer) sockOf(p *proc, fd int) *sock {
	fds := t.fdsOf(p)
	ino, known := fds[fd]
	if !known {
		// A readlink of /proc/PID/fd/N is the costliest call of a traced
		// read or write: once a descriptor, until it is closed.
		ino, _ = inodeOf(p.tid, fd)
		fds[fd] = ino
	}
	if ino == 0 {
		return nil
	}
	if s := t.socks[ino]; s != nil {
		return s
	}
	s := &sock{}
	t.peek(p, fd, func(fd int) {
		domain, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		typ, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		s.tcp = (domain == unix.AF_INET || domain == unix.AF_INET6) && typ == unix.SOCK_STREAM
		if !s.tcp {
			return
		}
		s.local, s.peer = localOf(fd), peerOf(fd)
		if s.peer != "" {
			// The client's address first, as the scenarios write it.
			s.conn = s.local + "-" + s.peer
			if t.listens[s.local] {
				s.conn = s.peer + "-" + s.local
			}
		}
	})
	t.socks[ino] = s
	return s
}

// fdsOf is what the tracer knows of p's descriptors: each one's socket
// inode, 0 for another file. Threads share it; a forked child starts with
// none (it learns its own), and an exec forgets it all.
func (t *tracer) fdsOf(p *proc) map[int]uint64 {
	fds := t.fds[p.tgid]
	if fds == nil {
		fds = map[int]uint64{}
		t.fds[p.tgid] = fds
	}
	return fds
}

// peek runs f on a copy of thread p's descriptor fd (pidfd_getfd), closed
// again before p runs on: a copy kept across p's close would keep its
// socket open. It reports whether it could; where the kernel refuses,
// the session says so once and events go without TCP states and queues.
func (t *tracer) peek(p *proc, fd int, f func(fd int)) bool {
	pidfd, ok := t.pidfds[p.tgid]
	if !ok {
		var err error
		if pidfd, err = unix.PidfdOpen(p.tgid, 0); err != nil {
			t.cannotPeek(err)
			return false
		}
		t.pidfds[p.tgid] = pidfd
	}
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		if err != unix.EBADF {
			t.cannotPeek(err)
		}
		return false
	}
	defer unix.Close(dup)
	f(dup)
	return true
}

// cannotPeek says in the session, once, why TCP states are left out.
func (t *tracer) cannotPeek(err error) {
	if t.noPeek {
		return
	}
	t.noPeek = true
	t.sess.SetParam("tcp_info", "left out: pidfd_getfd was refused ("+err.Error()+"); this kernel or sandbox does not let the tracer read the sockets")
}

func localOf(fd int) string {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return ""
	}
	return netcore.SockaddrString(sa)
}

func peerOf(fd int) string {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return ""
	}
	return netcore.SockaddrString(sa)
}

// tcpStateOf is the socket's TCP state, from TCP_INFO.
func tcpStateOf(fd int) string {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return ""
	}
	return netcore.TCPStateName(info.State)
}

// optionName names a setsockopt option the lectures use; others by number.
func optionName(level, opt int) string {
	switch {
	case level == unix.SOL_SOCKET && opt == unix.SO_REUSEADDR:
		return "SO_REUSEADDR"
	case level == unix.SOL_SOCKET && opt == unix.SO_REUSEPORT:
		return "SO_REUSEPORT"
	case level == unix.SOL_SOCKET && opt == unix.SO_KEEPALIVE:
		return "SO_KEEPALIVE"
	case level == unix.SOL_SOCKET && opt == unix.SO_LINGER:
		return "SO_LINGER"
	case level == unix.SOL_SOCKET && opt == unix.SO_RCVBUF:
		return "SO_RCVBUF"
	case level == unix.SOL_SOCKET && opt == unix.SO_SNDBUF:
		return "SO_SNDBUF"
	case level == unix.IPPROTO_TCP && opt == unix.TCP_NODELAY:
		return "TCP_NODELAY"
	}
	return "level " + strconv.Itoa(level) + " option " + strconv.Itoa(opt)
}
