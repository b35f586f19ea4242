package trace

import (
	"fmt"
	"slices"
)

// CausalViolations checks that events, a whole session in seq order, are in
// the causal order that docs/protocol.md ("Order") promises, and returns one
// sentence for every place where they are not; none means the order holds:
//
//   - seq is 0, 1, 2, … and t_ns never decreases;
//   - a call split in two has its begin before its end, with the same actor
//     and kind, and the end's entry (t_ns - dur_ns) is not after the begin;
//   - a recv that returned bytes comes after every send that wrote any of
//     them;
//   - an end-of-file recv comes after the peer's shutdown (SHUT_WR or
//     SHUT_RDWR) or close of that connection;
//   - an ECONNRESET comes after the peer's close, and an EPIPE after the
//     peer's close or the writer's own shutdown;
//   - an accept comes after the connect it accepted began;
//   - a SYN comes after its connect began; a data segment after every send
//     of its bytes and before every recv of them; a FIN after its sender's
//     shutdown or close; an RST after its sender's close, where the sender
//     closed that connection at all (a kernel that refuses a connection
//     resets without one).
//
// A call that emits (send, shutdown, close, connect) acts where it is
// recorded, or at its begin for a split connect or a Flowing split send; a
// call that takes in (recv, accept) acts at its end.
func CausalViolations(events []Event) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	begins := map[int]*Event{} // open calls by CallID
	for i := range events {
		e := &events[i]
		if e.Seq != i {
			bad("event %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.TNs < events[i-1].TNs {
			bad("#%d %s: t_ns %d is before #%d's %d", e.Seq, e.Kind, e.TNs, i-1, events[i-1].TNs)
		}
		switch e.Phase {
		case PhaseBegin:
			if begins[e.CallID] != nil || e.CallID <= 0 {
				bad("#%d begins call %d twice or with no id", e.Seq, e.CallID)
			}
			begins[e.CallID] = e
		case PhaseEnd:
			b := begins[e.CallID]
			switch {
			case b == nil:
				bad("#%d ends call %d, which has no begin before it", e.Seq, e.CallID)
			case b.Actor != e.Actor || b.Kind != e.Kind:
				bad("#%d ends call %d (%s %s), begun as %s %s", e.Seq, e.CallID, e.Actor, e.Kind, b.Actor, b.Kind)
			case e.TNs-e.DurNs > b.TNs:
				bad("#%d ends call %d entered at %d ns, after its begin #%d at %d ns", e.Seq, e.CallID, e.TNs-e.DurNs, b.Seq, b.TNs)
			}
			delete(begins, e.CallID)
		}
	}

	for _, m := range Messages(events) {
		if m.RecvSeq < m.SendSeq {
			bad("#%d %s reads bytes %d–%d before #%d %s wrote them", m.RecvSeq, m.To, m.Offset, m.Offset+m.Bytes-1, m.SendSeq, m.From)
		}
	}

	// first finds the first event that matches, or -1.
	first := func(match func(*Event) bool) int {
		for i := range events {
			if match(&events[i]) {
				return i
			}
		}
		return -1
	}
	peerEnded := func(conn, actor string, closeOnly bool) int {
		return first(func(c *Event) bool {
			return c.Conn == conn && c.Actor != actor && c.Errno == "" && c.Phase != PhaseBegin &&
				(c.Kind == KindClose || !closeOnly && c.Kind == KindShutdown && c.How != "SHUT_RD")
		})
	}
	isCall := func(e *Event) bool { return e.Kind != KindSegment }
	for i := range events {
		e := &events[i]
		if !isCall(e) || e.Phase == PhaseBegin || e.Conn == "" {
			continue
		}
		switch {
		case e.Kind == KindRecv && e.EOF:
			if j := peerEnded(e.Conn, e.Actor, false); j < 0 || j > i {
				bad("#%d %s reads end of file on %s before the peer shut it down or closed it (%s)", e.Seq, e.Actor, e.Conn, where(j))
			}
		case e.Errno == "ECONNRESET":
			if j := peerEnded(e.Conn, e.Actor, true); j < 0 || j > i {
				bad("#%d %s gets ECONNRESET on %s before the peer closed it (%s)", e.Seq, e.Actor, e.Conn, where(j))
			}
		case e.Errno == "EPIPE":
			own := first(func(c *Event) bool {
				return c.Conn == e.Conn && c.Actor == e.Actor && c.Kind == KindShutdown && c.How != "SHUT_RD"
			})
			if j := peerEnded(e.Conn, e.Actor, true); (j < 0 || j > i) && (own < 0 || own > i) {
				bad("#%d %s gets EPIPE on %s before the peer closed it (%s)", e.Seq, e.Actor, e.Conn, where(j))
			}
		case e.Kind == KindAccept && e.Errno == "":
			j := first(func(c *Event) bool { return c.Kind == KindConnect && c.Conn == e.Conn && c.Actor != e.Actor })
			if j < 0 || j > i {
				bad("#%d %s accepts %s before its connect began (%s)", e.Seq, e.Actor, e.Conn, where(j))
			}
		}
	}

	out = append(out, segmentViolations(events, first)...)
	return out
}

// segmentViolations checks the segment rules of CausalViolations.
func segmentViolations(events []Event, first func(func(*Event) bool) int) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	type dir struct{ conn, actor string }
	isn := map[dir]uint32{} // each direction's initial sequence number, from its SYN
	sent := map[dir]int64{} // the stream offset up to which each direction's segments carried bytes
	for i := range events {
		e := &events[i]
		if e.Kind != KindSegment || e.Actor == "" || e.Actor == "unknown" {
			continue
		}
		d := dir{e.Conn, e.Actor}
		has := func(f string) bool { return slices.Contains(e.Flags, f) }
		callBy := func(actor string, kinds ...Kind) func(*Event) bool {
			return func(c *Event) bool {
				return c.Conn == e.Conn && c.Actor == actor && c.Kind != KindSegment && slices.Contains(kinds, c.Kind) &&
					(c.Kind == KindConnect || c.Phase != PhaseBegin)
			}
		}
		if has("SYN") {
			isn[d] = e.TCPSeq
			if !has("ACK") {
				if j := first(callBy(e.Actor, KindConnect)); j < 0 || j > i {
					bad("#%d SYN of %s before its connect began (%s)", e.Seq, e.Conn, where(j))
				}
			}
		}
		if has("FIN") {
			if j := first(callBy(e.Actor, KindShutdown, KindClose)); j < 0 || j > i {
				bad("#%d FIN from %s on %s before its shutdown or close (%s)", e.Seq, e.Actor, e.Conn, where(j))
			}
		}
		if has("RST") {
			if j := first(callBy(e.Actor, KindClose)); j > i {
				bad("#%d RST from %s on %s before the close that sent it (#%d)", e.Seq, e.Actor, e.Conn, j)
			}
		}
		start, ok := isn[d]
		if e.Len <= 0 || !ok {
			continue
		}
		lo := int64(e.TCPSeq - start - 1) // the stream offset of its first byte
		hi := lo + int64(e.Len)
		// A retransmission carries again bytes an earlier segment carried:
		// a read may have returned them before it, never before the first.
		fresh := max(lo, sent[d])
		sent[d] = max(sent[d], hi)
		for j := range events {
			c := &events[j]
			if !c.IsData() || c.Bytes <= 0 || c.Conn != e.Conn || c.Offset >= hi || c.Offset+int64(c.Bytes) <= lo {
				continue
			}
			switch {
			case c.Kind == KindSend && c.Actor == e.Actor && j > i:
				bad("#%d data segment (bytes %d–%d) before #%d, the write of its bytes", e.Seq, lo, hi-1, c.Seq)
			case c.Kind == KindRecv && c.Actor != e.Actor && j < i && c.Offset < hi && c.Offset+int64(c.Bytes) > fresh:
				bad("#%d data segment (bytes %d–%d) after #%d, the read that returned them", e.Seq, fresh, hi-1, c.Seq)
			}
		}
	}
	return out
}

func where(i int) string {
	if i < 0 {
		return "none recorded"
	}
	return fmt.Sprintf("#%d", i)
}
