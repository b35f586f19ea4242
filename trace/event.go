package trace

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Kind names the call an Event records.
type Kind string

// The kinds of call seqd traces. Clients of the wire format must draw a kind
// they do not know as a plain mark on its lifeline: later versions add kinds.
const (
	KindGetaddrinfo Kind = "getaddrinfo"
	KindSocket      Kind = "socket"
	KindSetsockopt  Kind = "setsockopt"
	KindBind        Kind = "bind"
	KindListen      Kind = "listen"
	KindConnect     Kind = "connect"
	KindAccept      Kind = "accept"
	KindSend        Kind = "send"
	KindRecv        Kind = "recv"
	KindShutdown    Kind = "shutdown"
	KindClose       Kind = "close"
	// KindSegment is a TCP segment seen on the loopback interface, not a
	// call: the segment layer under the calls.
	KindSegment Kind = "segment"
)

// Phase is which half of a split call an Event records.
type Phase string

// The halves of a call recorded as two events.
const (
	PhaseBegin Phase = "begin"
	PhaseEnd   Phase = "end"
)

// Event is one call on one socket, as the kernel answered it. Its JSON form is
// wire format v1; docs/protocol.md documents every field. Fields that do not
// apply to a call's kind are left zero and omitted from the JSON.
type Event struct {
	Seq   int    `json:"seq"`    // 0, 1, 2, … contiguous within a session
	TNs   int64  `json:"t_ns"`   // when the call returned, ns since the session started
	DurNs int64  `json:"dur_ns"` // how long the call took
	Actor string `json:"actor"`  // the lifeline: "client", "server", "client-2", …
	Kind  Kind   `json:"kind"`
	FD    int    `json:"fd"`
	Ret   int    `json:"ret"` // the call's return value: -1 on failure

	// Phase splits a call that stayed blocked while other events were
	// recorded, the way strace shows `<unfinished ...>` and
	// `<... resumed>`: PhaseBegin at its entry, in its causal place, and
	// PhaseEnd with its result. CallID is the id the two halves share. A call
	// that is one event has neither.
	Phase  Phase  `json:"phase,omitempty"`
	CallID int    `json:"call,omitempty"`
	Errno  string `json:"errno,omitempty"` // "ECONNREFUSED", … when the call failed
	Err    string `json:"error,omitempty"` // the errno's text, "connection refused"

	// Conn is shared by both ends of one TCP connection:
	// "CLIENTADDR-SERVERADDR" from the kernel's 4-tuple.
	Conn  string `json:"conn,omitempty"`
	Local string `json:"local,omitempty"` // the socket's own address, where known
	Peer  string `json:"peer,omitempty"`  // the address it talks to, where known

	// send and recv
	Want    int    `json:"want,omitempty"` // bytes asked for: the buffer length
	Bytes   int    `json:"bytes"`          // bytes the call moved (send/recv only)
	Offset  int64  `json:"offset"`         // stream offset of the first byte (send/recv only)
	Data    string `json:"data,omitempty"`
	DataB64 string `json:"data_b64,omitempty"`
	InQ     int    `json:"inq"`  // recv: unread bytes left in the receive queue after the call
	OutQ    int    `json:"outq"` // send: unsent or unacknowledged bytes in the send queue after the call

	How      string `json:"how,omitempty"`       // shutdown: SHUT_WR, SHUT_RD, SHUT_RDWR
	Option   string `json:"option,omitempty"`    // setsockopt: "SO_REUSEADDR", …
	Value    int    `json:"value,omitempty"`     // setsockopt: the value set
	Backlog  int    `json:"backlog,omitempty"`   // listen
	Host     string `json:"host,omitempty"`      // getaddrinfo: the node asked for
	Service  string `json:"service,omitempty"`   // getaddrinfo: the service asked for
	TCPState string `json:"tcp_state,omitempty"` // the socket's TCP state after the call

	// Src and Line name the line of the actor's C program (the scenario's
	// listing, client.c or server.c) that makes this call.
	Src  string `json:"src,omitempty"`
	Line int    `json:"line,omitempty"`

	// Answer is, on the event of a call a stepped session asked the class
	// about, the id of the question's choice that the call bore out
	// (Question.Grade).
	Answer string `json:"answer,omitempty"`
	// Asked is, on the same event, the question the class was asked and
	// its tally when the presenter let the call happen: a replay of the
	// session (a finished one, its exports, a copy on another replica)
	// shows how the class voted, not only what the kernel did.
	Asked *Question `json:"asked,omitempty"`

	// The flags share one word (an Event is copied once per record).

	// Blocked is true when the call had to wait (the socket was not ready
	// and the goroutine parked in the runtime poller).
	Blocked bool `json:"blocked,omitempty"`
	// Truncated: send and recv keep only the first bytes (Data, DataB64).
	Truncated bool `json:"truncated,omitempty"`
	// EOF: a recv returned 0, the end of file.
	EOF bool `json:"eof,omitempty"`
	// Inferred marks a call seqd did not make or see but deduces from what
	// its own end saw: a lab or proxy peer's connect from an accept, its
	// writes from reads, its shutdown from an end of file.
	Inferred bool `json:"inferred,omitempty"`
	// Flowing, on the begin of a split send, says that its bytes may be
	// read before its end: a traced program's blocking write, whose bytes
	// the kernel takes while the call waits (seqd trace). Its arrows start
	// at the begin. A scenario's split send waits before its bytes move
	// and has no Flowing: its arrows start at its end.
	Flowing bool `json:"flowing,omitempty"`

	// Segment fields (kind "segment"): Actor is the sending end; Flags
	// such as ["SYN","ACK"]; sequence and acknowledgement numbers, the
	// advertised window and the payload length. TSNs is the kernel's
	// capture time in ns since the session started; Frame holds the
	// captured bytes (base64), for pcapng export.
	Window uint16   `json:"window,omitempty"`
	TCPSeq uint32   `json:"tcp_seq,omitempty"`
	TCPAck uint32   `json:"tcp_ack,omitempty"`
	Flags  []string `json:"flags,omitempty"`
	Len    int      `json:"len,omitempty"`
	TSNs   int64    `json:"ts_ns,omitempty"`
	Frame  string   `json:"frame,omitempty"`
}

// IsData reports whether e is a send or recv, the kinds that carry bytes.
func (e *Event) IsData() bool { return e.Kind == KindSend || e.Kind == KindRecv }

// SetPayload keeps a preview of p, at most limit bytes, as Data when it is
// UTF-8 text and as DataB64 otherwise. It sets Truncated when p was longer.
func (e *Event) SetPayload(p []byte, limit int) { e.SetPayloadShared(p, limit, "") }

// SetPayloadShared is SetPayload for bytes that a string may already hold:
// when shared begins with the bytes SetPayload would keep as Data, Data is
// that part of shared, and the bytes are not copied again. shared is any
// string (a write's preview, or the written bytes themselves when they
// never change again), or "". A read of the bytes a write of the same
// session sent can share what the write kept; a write of bytes that never
// change can keep a part of them (netcore's writeFrozen). A fresh copy of
// a preview costs far more than comparing it (BenchmarkBulkSideBySide).
func (e *Event) SetPayloadShared(p []byte, limit int, shared string) {
	if len(p) > limit {
		limit = max(limit, 0)
		p = p[:limit]
		e.Truncated = true
		// A cut may split the last rune; drop its start rather than call
		// the whole preview binary.
		if !utf8.Valid(p) {
			for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
				if utf8.RuneStart(p[len(p)-i]) {
					if utf8.Valid(p[:len(p)-i]) {
						p = p[:len(p)-i]
					}
					break
				}
			}
		}
	}
	switch {
	case len(p) == 0:
	case !utf8.Valid(p):
		e.DataB64 = base64.StdEncoding.EncodeToString(p)
	case len(shared) >= len(p) && shared[:len(p)] == string(p):
		e.Data = shared[:len(p)]
	default:
		e.Data = string(p)
	}
}

// Payload returns the preview bytes that SetPayload kept.
func (e *Event) Payload() []byte {
	if e.DataB64 != "" {
		b, err := base64.StdEncoding.DecodeString(e.DataB64)
		if err != nil {
			return nil
		}
		return b
	}
	return []byte(e.Data)
}

// MarshalJSON encodes e in wire format v1.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSON appends the wire-format JSON of e to dst. It is the one encoder
// of events: written by hand because it runs once per event on the hot path
// and encoding/json's reflection costs several times more.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, int64(e.Seq), 10)
	dst = append(dst, `,"t_ns":`...)
	dst = strconv.AppendInt(dst, e.TNs, 10)
	dst = append(dst, `,"dur_ns":`...)
	dst = strconv.AppendInt(dst, e.DurNs, 10)
	dst = appendStringField(dst, "actor", e.Actor)
	dst = appendStringField(dst, "kind", string(e.Kind))
	dst = appendIntField(dst, "fd", int64(e.FD))
	dst = appendIntField(dst, "ret", int64(e.Ret))
	if e.Blocked {
		dst = append(dst, `,"blocked":true`...)
	}
	if e.Phase != "" {
		dst = appendStringField(dst, "phase", string(e.Phase))
		dst = appendIntField(dst, "call", int64(e.CallID))
	}
	dst = appendOptString(dst, "errno", e.Errno)
	dst = appendOptString(dst, "error", e.Err)
	dst = appendOptString(dst, "conn", e.Conn)
	dst = appendOptString(dst, "local", e.Local)
	dst = appendOptString(dst, "peer", e.Peer)
	if e.Want != 0 {
		dst = appendIntField(dst, "want", int64(e.Want))
	}
	if e.IsData() {
		dst = appendIntField(dst, "bytes", int64(e.Bytes))
		dst = appendIntField(dst, "offset", e.Offset)
	}
	dst = appendOptString(dst, "data", e.Data)
	dst = appendOptString(dst, "data_b64", e.DataB64)
	if e.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if e.EOF {
		dst = append(dst, `,"eof":true`...)
	}
	switch e.Kind {
	case KindRecv:
		dst = appendIntField(dst, "inq", int64(e.InQ))
	case KindSend:
		dst = appendIntField(dst, "outq", int64(e.OutQ))
	}
	dst = appendOptString(dst, "how", e.How)
	dst = appendOptString(dst, "option", e.Option)
	if e.Option != "" {
		dst = appendIntField(dst, "value", int64(e.Value))
	}
	if e.Backlog != 0 {
		dst = appendIntField(dst, "backlog", int64(e.Backlog))
	}
	dst = appendOptString(dst, "host", e.Host)
	dst = appendOptString(dst, "service", e.Service)
	dst = appendOptString(dst, "tcp_state", e.TCPState)
	dst = appendOptString(dst, "src", e.Src)
	if e.Line != 0 {
		dst = appendIntField(dst, "line", int64(e.Line))
	}
	dst = appendOptString(dst, "answer", e.Answer)
	if e.Asked != nil {
		if q, err := json.Marshal(e.Asked); err == nil {
			dst = append(dst, `,"asked":`...)
			dst = append(dst, q...)
		}
	}
	if e.Inferred {
		dst = append(dst, `,"inferred":true`...)
	}
	if e.Flowing {
		dst = append(dst, `,"flowing":true`...)
	}
	if e.Kind == KindSegment {
		dst = append(dst, `,"flags":[`...)
		for i, f := range e.Flags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f)
		}
		dst = append(dst, ']')
		dst = appendIntField(dst, "tcp_seq", int64(e.TCPSeq))
		dst = appendIntField(dst, "tcp_ack", int64(e.TCPAck))
		dst = appendIntField(dst, "window", int64(e.Window))
		dst = appendIntField(dst, "len", int64(e.Len))
		dst = appendIntField(dst, "ts_ns", e.TSNs)
		dst = appendOptString(dst, "frame", e.Frame)
	}
	return append(dst, '}')
}

func appendIntField(dst []byte, name string, v int64) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return strconv.AppendInt(dst, v, 10)
}

func appendStringField(dst []byte, name, v string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendJSONString(dst, v)
}

func appendOptString(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return appendStringField(dst, name, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; '<', '>' and '&' are escaped so that the bytes can be
// inlined in HTML safely.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
