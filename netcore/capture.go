package netcore

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// The segment layer: with CAP_NET_RAW, netcore captures the loopback TCP
// segments of a session's own connections with an AF_PACKET socket bound to
// lo and a classic BPF filter for the session's server port, and records
// each segment as an event of kind "segment". No pcap library, no cgo.
//
// Loopback delivers a segment inside the system call that sends it. A call
// that emits holds the session's order across that syscall and drains the
// capture after recording its own event, so its segments follow it: a
// write, then its PSH,ACK; a shutdown, then its FIN; a connect's begin,
// then its SYN. A call that takes in drains before its own event, so the
// segments that brought its bytes precede it. A goroutine catches the rest
// (acknowledgements the kernel sends later), in the same order.

// segmentsProbe caches whether this process may open AF_PACKET sockets.
var segmentsProbe = sync.OnceValue(func() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
})

// SegmentsAvailable reports whether sessions can capture TCP segments, and
// if not, why and how to enable it.
func SegmentsAvailable() (bool, string) {
	err := segmentsProbe()
	if err == nil {
		return true, ""
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return false, "capturing segments needs CAP_NET_RAW: run seqd as root, or `sudo setcap cap_net_raw+ep $(which seqd)`, or `docker run --cap-add NET_RAW`"
	}
	return false, fmt.Sprintf("cannot open an AF_PACKET socket: %v", err)
}

// captureSnap bounds the bytes of each frame kept for pcapng export:
// headers and the start of the payload.
const captureSnap = 256

// drainWindow is how long capture continues after a session's last call,
// for the segments the kernel sends on its own (the last ACK of a close).
const drainWindow = 20 * time.Millisecond

// capture is one session's segment capture.
type capture struct {
	ex     *exchange
	port   uint16 // the server port the filter selects
	f      *os.File
	rc     syscall.RawConn
	done   chan struct{} // closed when the reading goroutine has ended
	origin int64         // the session's start, wall clock ns: ts_ns counts from it

	// mu serialises draining: the calling goroutines and the reader.
	mu  sync.Mutex
	buf []byte
	oob []byte
}

// startCapture opens the capture for port. It fails without CAP_NET_RAW.
func (ex *exchange) startCapture(port int) (*capture, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket(AF_PACKET)", err)
	}
	lo, err := net.InterfaceByName("lo")
	if err == nil {
		err = setupCapture(fd, uint16(port), lo.Index)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "capture lo port "+strconv.Itoa(port))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	c := &capture{ex: ex, port: uint16(port), f: f, rc: rc, done: make(chan struct{}),
		origin: ex.sess.StartedAt().UnixNano(), buf: make([]byte, 1<<16+64), oob: make([]byte, 128)}
	go c.read()
	return c, nil
}

// setupCapture attaches the filter before binding, so that no frame of
// another connection is ever queued, then binds to lo.
func setupCapture(fd int, port uint16, ifindex int) error {
	prog := portFilter(port)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return os.NewSyscallError("setsockopt(SO_ATTACH_FILTER)", err)
	}
	// Every loopback frame is seen twice, going out and coming in: keep
	// the incoming copy only.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return os.NewSyscallError("setsockopt(PACKET_IGNORE_OUTGOING)", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return os.NewSyscallError("setsockopt(SO_TIMESTAMPNS)", err)
	}
	all := uint16(unix.ETH_P_ALL)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: all<<8 | all>>8, Ifindex: ifindex}); err != nil {
		return os.NewSyscallError("bind(lo)", err)
	}
	return nil
}

// portFilter is a classic BPF program that accepts the IPv4 TCP frames on
// an Ethernet-framed interface whose source or destination port is port.
func portFilter(port uint16) []unix.SockFilter {
	const (
		ldh  = unix.BPF_LD | unix.BPF_H | unix.BPF_ABS
		ldb  = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
		ldhx = unix.BPF_LD | unix.BPF_H | unix.BPF_IND
		ldxm = unix.BPF_LDX | unix.BPF_B | unix.BPF_MSH
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	return []unix.SockFilter{
		{Code: ldh, K: 12},                     // 0: ethertype
		{Code: jeq, K: 0x0800, Jt: 0, Jf: 10},  // 1: IPv4, else drop
		{Code: ldb, K: 23},                     // 2: IP protocol
		{Code: jeq, K: 6, Jt: 0, Jf: 8},        // 3: TCP, else drop
		{Code: ldh, K: 20},                     // 4: flags and fragment offset
		{Code: jset, K: 0x1fff, Jt: 6, Jf: 0},  // 5: a later fragment: drop
		{Code: ldxm, K: 14},                    // 6: X = IP header length
		{Code: ldhx, K: 14},                    // 7: source port
		{Code: jeq, K: uint32(port), Jt: 2},    // 8: ours: accept
		{Code: ldhx, K: 16},                    // 9: destination port
		{Code: jeq, K: uint32(port), Jf: 1},    // 10: ours: accept, else drop
		{Code: ret, K: captureSnap + 14 + 128}, // 11: accept (headers and a bit)
		{Code: ret, K: 0},                      // 12: drop
	}
}

// read catches the segments no call drained, until the capture is closed.
// It records them in the session's order, like any other event, so that a
// segment is never recorded inside an emitting call's turn, before the call.
func (c *capture) read() {
	defer close(c.done)
	for {
		err := c.rc.Read(func(fd uintptr) bool {
			c.ex.sess.Hold()
			defer c.ex.sess.Release()
			return c.drainFD(int(fd)) != unix.EAGAIN
		})
		if err != nil {
			return // closed by stop
		}
	}
}

// drain records every segment queued now, without waiting. The caller
// holds the session's order: a call drains before its own event the
// segments that brought what it takes in, and after it those it sent.
func (c *capture) drain() {
	_ = c.rc.Control(func(fd uintptr) { c.drainFD(int(fd)) })
}

// drainFD records the queued frames and returns the error that ended the
// draining: EAGAIN when the queue is empty.
func (c *capture) drainFD(fd int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		n, oobn, _, from, err := unix.Recvmsg(fd, c.buf, c.oob, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // a kernel without PACKET_IGNORE_OUTGOING
		}
		captured := min(n, len(c.buf))
		ts := time.Now().UnixNano()
		if msgs, err := unix.ParseSocketControlMessage(c.oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
					sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
					ts = sec*1e9 + nsec
				}
			}
		}
		if e, ok := c.decode(c.buf[:captured], ts); ok {
			if err := c.ex.recordHeld(&e, time.Time{}, nil); err != nil {
				return err
			}
		}
	}
}

// tcpFlagNames are the TCP flags in the order they are written.
var tcpFlagNames = []struct {
	bit  byte
	name string
}{{0x02, "SYN"}, {0x01, "FIN"}, {0x04, "RST"}, {0x08, "PSH"}, {0x10, "ACK"}, {0x20, "URG"}}

// decode turns an Ethernet/IPv4/TCP frame into a segment event; ts is its
// capture time (ns, wall clock).
func (c *capture) decode(frame []byte, ts int64) (trace.Event, bool) {
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:14]) != 0x0800 {
		return trace.Event{}, false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 6 || ihl < 20 || len(ip) < ihl+20 {
		return trace.Event{}, false
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	tcp := ip[ihl:]
	off := int(tcp[12]>>4) * 4
	src := netip4(ip[12:16], binary.BigEndian.Uint16(tcp[0:2]))
	dst := netip4(ip[16:20], binary.BigEndian.Uint16(tcp[2:4]))
	client, server := src, dst
	if binary.BigEndian.Uint16(tcp[0:2]) == c.port {
		client, server = dst, src
	}
	// The filter selects by the server's port, which the kernel may give
	// to another program's socket once this session has closed its own
	// (the capture goes on for drainWindow): keep only segments between
	// two of this session's sockets.
	sender, ok := c.ex.actorOf(src)
	if _, known := c.ex.actorOf(dst); !ok || !known {
		return trace.Event{}, false
	}
	e := trace.Event{
		Kind:   trace.KindSegment,
		Actor:  sender,
		FD:     -1,
		Conn:   client + "-" + server,
		Local:  src,
		Peer:   dst,
		TCPSeq: binary.BigEndian.Uint32(tcp[4:8]),
		TCPAck: binary.BigEndian.Uint32(tcp[8:12]),
		Window: binary.BigEndian.Uint16(tcp[14:16]),
		Len:    max(total-ihl-off, 0),
		TSNs:   ts - c.origin,
		Frame:  base64.StdEncoding.EncodeToString(frame[:min(len(frame), captureSnap)]),
	}
	for _, f := range tcpFlagNames {
		if tcp[13]&f.bit != 0 {
			e.Flags = append(e.Flags, f.name)
		}
	}
	return e, true
}

func netip4(a []byte, port uint16) string {
	return strconv.Itoa(int(a[0])) + "." + strconv.Itoa(int(a[1])) + "." + strconv.Itoa(int(a[2])) + "." +
		strconv.Itoa(int(a[3])) + ":" + strconv.Itoa(int(port))
}

// stop ends the capture after the drain window and waits for its reader.
func (c *capture) stop() {
	t := time.NewTimer(drainWindow)
	select {
	case <-t.C:
	case <-c.ex.ctx.Done():
		t.Stop()
	}
	c.ex.sess.Hold() // the last segments, in their turn like any others
	c.drain()
	c.ex.sess.Release()
	c.f.Close() // ends the reader's wait
	<-c.done
}
