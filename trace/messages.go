package trace

import "sort"

// Message is one arrow of a sequence diagram: bytes that one send put into
// a connection and one recv on the other end took out. One write read in
// three reads makes three Messages; two writes read in one read make two.
type Message struct {
	Conn     string
	From, To string // actors
	SendSeq  int
	RecvSeq  int
	Offset   int64 // stream offset of the first byte the two calls share
	Bytes    int64 // how many bytes they share
}

// Messages pairs every send with the recvs on the other end of its
// connection whose byte ranges overlap it. The result is in recv order,
// then send order.
func Messages(events []Event) []Message {
	type dataEv struct {
		seq        int
		actor      string
		start, end int64
	}
	sends := map[string][]dataEv{} // by conn
	var recvs []dataEv
	var recvConn []string
	for i := range events {
		e := &events[i]
		if !e.IsData() || e.Bytes <= 0 || e.Conn == "" {
			continue
		}
		d := dataEv{e.Seq, e.Actor, e.Offset, e.Offset + int64(e.Bytes)}
		if e.Kind == KindSend {
			sends[e.Conn] = append(sends[e.Conn], d)
		} else {
			recvs = append(recvs, d)
			recvConn = append(recvConn, e.Conn)
		}
	}
	var out []Message
	for i, r := range recvs {
		cands := sends[recvConn[i]]
		for _, s := range cands {
			if s.actor == r.actor || s.end <= r.start || s.start >= r.end {
				continue
			}
			lo, hi := max(s.start, r.start), min(s.end, r.end)
			out = append(out, Message{Conn: recvConn[i], From: s.actor, To: r.actor, SendSeq: s.seq, RecvSeq: r.seq, Offset: lo, Bytes: hi - lo})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].RecvSeq != out[j].RecvSeq {
			return out[i].RecvSeq < out[j].RecvSeq
		}
		return out[i].SendSeq < out[j].SendSeq
	})
	return out
}

// preview quotes the part of recv's payload that m carries, at most width
// runes, or "" when the preview does not reach that far.
func (m Message) preview(recv *Event, width int) string {
	p := recv.Payload()
	lo := m.Offset - recv.Offset
	hi := min(lo+m.Bytes, int64(len(p)))
	if lo < 0 || lo >= hi {
		return ""
	}
	part := Event{Data: string(p[lo:hi]), Truncated: hi < lo+m.Bytes}
	return part.Preview(width)
}
