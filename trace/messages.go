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
	type span struct {
		seq        int
		start, end int64
	}
	type stream struct {
		conn, actor string
		sends       []span // in offset order: one socket records them in order
	}
	var streams []*stream // per connection and sending actor
	find := map[[2]string]*stream{}
	for i := range events {
		e := &events[i]
		if e.Kind != KindSend || e.Bytes <= 0 || e.Conn == "" {
			continue
		}
		k := [2]string{e.Conn, e.Actor}
		st := find[k]
		if st == nil {
			st = &stream{conn: e.Conn, actor: e.Actor}
			find[k] = st
			streams = append(streams, st)
		}
		st.sends = append(st.sends, span{e.Seq, e.Offset, e.Offset + int64(e.Bytes)})
	}
	var out []Message
	for i := range events {
		r := &events[i]
		if r.Kind != KindRecv || r.Bytes <= 0 || r.Conn == "" {
			continue
		}
		rs, re := r.Offset, r.Offset+int64(r.Bytes)
		for _, st := range streams {
			if st.conn != r.Conn || st.actor == r.Actor {
				continue
			}
			j := sort.Search(len(st.sends), func(j int) bool { return st.sends[j].end > rs })
			for ; j < len(st.sends) && st.sends[j].start < re; j++ {
				sd := st.sends[j]
				lo, hi := max(sd.start, rs), min(sd.end, re)
				out = append(out, Message{Conn: r.Conn, From: st.actor, To: r.Actor, SendSeq: sd.seq, RecvSeq: r.Seq, Offset: lo, Bytes: hi - lo})
			}
		}
	}
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
