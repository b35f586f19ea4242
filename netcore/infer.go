package netcore

import (
	"sync"
	"time"

	"seqd/trace"
)

// mirror draws the far end of a connection that seqd does not run — a
// student's client at the lab port, the client and the server around the
// proxy — from what the traced end sees. Each successful call of the traced
// end implies calls of the far end, recorded with Inferred set, fd -1 (the
// other process's descriptors are not ours to see) and dur_ns 0:
//
//	traced end                 far end, inferred
//	accept                     connect, just before
//	connect                    accept, just after
//	read of n bytes            write of the same n bytes, just before
//	read of 0 (end of file)    shutdown(SHUT_WR), just before
//	write of n bytes           read of the same n bytes, just after
//	shutdown(SHUT_WR)          read of 0 (end of file), just after
//	close                      read of 0 (unless inferred already, or the
//	                           session failed), then close, just after
//
// A write's bytes may have left in several writes and a read's in several
// reads: TCP keeps no boundaries, so the far end's calls are the fewest that
// explain what the traced end saw. An inferred shutdown stands for the FIN
// the far end sent, by shutdown(SHUT_WR) or by close. Failed calls imply
// nothing.
type mirror struct {
	ex    *exchange
	actor string // the far end's lifeline

	// mu guards eofRead: the proxy's two directions record on one
	// connection from two goroutines.
	mu      sync.Mutex
	eofRead bool // the far end's read of end of file is recorded
}

func newMirror(ex *exchange, actor string) *mirror {
	return &mirror{ex: ex, actor: ex.actor(actor)}
}

// before records the far end's calls that led to e, made by s.
func (m *mirror) before(s *sock, e *trace.Event) error {
	if e.Errno != "" || e.Err != "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case e.Kind == trace.KindAccept:
		// The far end is the client: its address is the accepted peer.
		return m.record(trace.Event{Kind: trace.KindConnect, Conn: e.Conn, Local: e.Peer, Peer: e.Local})
	case e.Kind == trace.KindRecv && e.EOF:
		return m.record(trace.Event{Kind: trace.KindShutdown, Conn: e.Conn, How: "SHUT_WR"})
	case e.Kind == trace.KindRecv && e.Bytes > 0:
		return m.record(m.data(trace.KindSend, e))
	}
	return nil
}

// after records the far end's calls that e, made by s, implies.
func (m *mirror) after(s *sock, e *trace.Event) error {
	if e.Errno != "" || e.Err != "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Kind {
	case trace.KindConnect:
		// The far end is the server: it accepted this connection.
		return m.record(trace.Event{Kind: trace.KindAccept, Conn: e.Conn, Local: e.Peer, Peer: e.Local})
	case trace.KindSend:
		if e.Bytes > 0 {
			return m.record(m.data(trace.KindRecv, e))
		}
	case trace.KindShutdown:
		if e.How != "SHUT_RD" {
			return m.recordEOF(s)
		}
	case trace.KindClose:
		if s.conn == "" {
			return nil // a listening socket: no far end
		}
		// A session that failed closes with its context ended, perhaps
		// with unread bytes (the kernel then sends RST, not FIN): no
		// orderly end of file at the far end.
		if m.ex.ctx.Err() == nil {
			if err := m.recordEOF(s); err != nil {
				return err
			}
		}
		return m.record(trace.Event{Kind: trace.KindClose, Conn: s.conn})
	}
	return nil
}

// data is the far end's counterpart of a send or recv: the same bytes at
// the same offset of the same direction.
func (m *mirror) data(kind trace.Kind, e *trace.Event) trace.Event {
	return trace.Event{
		Kind: kind, Conn: e.Conn, Ret: e.Bytes, Want: e.Bytes, Bytes: e.Bytes, Offset: e.Offset,
		Data: e.Data, DataB64: e.DataB64, Truncated: e.Truncated,
	}
}

// recordEOF records the far end's read of end of file once: every byte s
// sent is before it.
func (m *mirror) recordEOF(s *sock) error {
	if m.eofRead {
		return nil
	}
	m.eofRead = true
	return m.record(trace.Event{Kind: trace.KindRecv, Conn: s.conn, Offset: s.sent, EOF: true})
}

func (m *mirror) record(e trace.Event) error {
	e.Actor, e.FD, e.Inferred = m.actor, -1, true
	return m.ex.recordHeld(&e, time.Time{}, nil) // inside the traced call's turn
}
