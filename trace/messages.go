package trace

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

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
// connection whose byte ranges overlap it; a split send whose begin is
// Flowing is paired by its begin's seq. The result is in recv order, then
// send order.
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
	flowing := map[int]int{} // CallID → the seq of its begin, for sends whose bytes flow from it
	for i := range events {
		e := &events[i]
		if e.Kind == KindSend && e.Phase == PhaseBegin && e.Flowing && e.CallID > 0 {
			flowing[e.CallID] = e.Seq
		}
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
		seq := e.Seq
		if e.Phase == PhaseEnd && len(flowing) > 0 {
			if b, ok := flowing[e.CallID]; ok {
				seq = b // its bytes left from its begin
			}
		}
		st.sends = append(st.sends, span{seq, e.Offset, e.Offset + int64(e.Bytes)})
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

// rangePreview quotes the part of ev's payload that the byte range
// [offset, offset+n) covers, at most width runes, or "" when the preview
// does not reach that far. ev is the send or the recv of the range.
func rangePreview(ev *Event, offset, n int64, width int) string {
	p := ev.Payload()
	lo := offset - ev.Offset
	hi := min(lo+n, int64(len(p)))
	if lo < 0 || lo >= hi {
		return ""
	}
	part := Event{Data: string(p[lo:hi]), Truncated: hi < lo+n}
	return part.Preview(width)
}

// rowKind is what one row of a text diagram (ladder or Mermaid) shows.
type rowKind int

const (
	rowCall    rowKind = iota // a call on its actor's lifeline
	rowArrow                  // bytes a send wrote and a recv read, drawn at the recv
	rowLost                   // bytes a send wrote that no recv read, drawn where they were lost
	rowSegment                // a captured TCP segment, from its sender to the other end
)

// row is one line of a text diagram. Rows are in seq order: the causal
// order of the record, so every arrow comes after the send it starts at.
type row struct {
	kind rowKind
	ev   *Event  // the call, the segment, or the arrow's recv or lost bytes' send
	msg  Message // rowArrow, rowLost: the byte range and its two ends
	to   string  // rowSegment: the actor at the other end, "" when unknown
	// reads is, for rowCall of a recv, how many arrows end at it.
	reads int
}

// diagramRows lays out rec for the text exports, in seq order: a row per
// call; before a recv's row an arrow per byte range it read, labelled with
// the range; before a close's row the bytes written to that end that it
// never read (lost, as a close with unread data resets the connection);
// a row per segment. Bytes still unread when a finished session ended are
// lost at the end; in a running session they may still be on their way
// and are not drawn.
func diagramRows(rec Record) []row {
	events := rec.Events
	arrows := map[int][]Message{} // by recv seq
	for _, m := range Messages(events) {
		arrows[m.RecvSeq] = append(arrows[m.RecvSeq], m)
	}
	for _, ms := range arrows {
		slices.SortFunc(ms, func(a, b Message) int { return cmp.Compare(a.Offset, b.Offset) })
	}
	peers := connActors(events)
	lostAt, lostEnd := lostBytes(events, peers, rec.State != StateRunning)

	var rows []row
	for i := range events {
		e := &events[i]
		if e.Kind == KindSegment {
			rows = append(rows, row{kind: rowSegment, ev: e, to: otherActor(peers[e.Conn], e.Actor)})
			continue
		}
		for _, m := range lostAt.before[e.Seq] {
			rows = append(rows, row{kind: rowLost, ev: sendOf(events, m.SendSeq), msg: m})
		}
		for _, m := range arrows[e.Seq] {
			rows = append(rows, row{kind: rowArrow, ev: e, msg: m})
		}
		rows = append(rows, row{kind: rowCall, ev: e, reads: len(arrows[e.Seq])})
		for _, m := range lostAt.after[e.Seq] {
			rows = append(rows, row{kind: rowLost, ev: e, msg: m})
		}
	}
	for _, m := range lostEnd {
		rows = append(rows, row{kind: rowLost, ev: sendOf(events, m.SendSeq), msg: m})
	}
	return rows
}

// sendOf returns the event with seq: events[seq] in a whole session, found
// by search in a record whose seqs do not start at 0, and an empty event
// with that seq (no panic) when there is none.
func sendOf(events []Event, seq int) *Event {
	if seq >= 0 && seq < len(events) && events[seq].Seq == seq {
		return &events[seq]
	}
	for i := range events {
		if events[i].Seq == seq {
			return &events[i]
		}
	}
	return &Event{Seq: seq}
}

// connActors lists, for each connection, the actors whose calls use it, in
// order of first appearance.
func connActors(events []Event) map[string][]string {
	out := map[string][]string{}
	for i := range events {
		e := &events[i]
		if e.Conn == "" || e.Kind == KindSegment || slices.Contains(out[e.Conn], e.Actor) {
			continue
		}
		out[e.Conn] = append(out[e.Conn], e.Actor)
	}
	return out
}

// otherActor is the actor of actors that is not a, or "" when there is none
// or more than one.
func otherActor(actors []string, a string) string {
	other := ""
	for _, b := range actors {
		if b == a {
			continue
		}
		if other != "" {
			return ""
		}
		other = b
	}
	return other
}

// lostPlaces says where lost bytes are drawn: before the row of the
// receiver's close that discarded them, or after the row of a send made
// when the receiver had already closed.
type lostPlaces struct {
	before, after map[int][]Message
}

// lostBytes finds the byte ranges that sends wrote and no recv on the other
// end of the connection read. A range is lost at the receiver's close (or
// at its send, when the close came first). With finished set, ranges whose
// receiver never closed are lost at the end (returned second); otherwise
// they are not reported, being perhaps still on their way.
func lostBytes(events []Event, peers map[string][]string, finished bool) (lostPlaces, []Message) {
	places := lostPlaces{before: map[int][]Message{}, after: map[int][]Message{}}
	type key struct{ conn, actor string }
	read := map[key][][2]int64{} // merged [start, end) ranges each receiver read
	closed := map[key]int{}      // seq of each receiver's close of the connection
	for i := range events {
		e := &events[i]
		if e.Conn == "" || e.Phase == PhaseBegin {
			continue
		}
		k := key{e.Conn, e.Actor}
		switch {
		case e.Kind == KindRecv && e.Bytes > 0:
			read[k] = append(read[k], [2]int64{e.Offset, e.Offset + int64(e.Bytes)})
		case e.Kind == KindClose && e.Errno == "":
			if _, ok := closed[k]; !ok {
				closed[k] = e.Seq
			}
		}
	}
	for k, rs := range read {
		read[k] = mergeRanges(rs)
	}
	var atEnd []Message
	for i := range events {
		e := &events[i]
		if e.Kind != KindSend || e.Bytes <= 0 || e.Conn == "" {
			continue
		}
		to := otherActor(peers[e.Conn], e.Actor)
		if to == "" {
			continue
		}
		k := key{e.Conn, to}
		for _, gap := range gaps(e.Offset, e.Offset+int64(e.Bytes), read[k]) {
			m := Message{Conn: e.Conn, From: e.Actor, To: to, SendSeq: e.Seq, RecvSeq: -1, Offset: gap[0], Bytes: gap[1] - gap[0]}
			switch c, ok := closed[k]; {
			case ok && c > e.Seq:
				m.RecvSeq = c
				places.before[c] = append(places.before[c], m)
			case ok:
				m.RecvSeq = c
				places.after[e.Seq] = append(places.after[e.Seq], m)
			case finished:
				atEnd = append(atEnd, m)
			}
		}
	}
	return places, atEnd
}

// mergeRanges sorts [start, end) ranges and joins those that touch.
func mergeRanges(rs [][2]int64) [][2]int64 {
	slices.SortFunc(rs, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	var out [][2]int64
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// gaps returns the parts of [start, end) that the sorted, merged ranges do
// not cover.
func gaps(start, end int64, covered [][2]int64) [][2]int64 {
	var out [][2]int64
	at := start
	for _, c := range covered {
		if c[1] <= at {
			continue
		}
		if c[0] >= end {
			break
		}
		if c[0] > at {
			out = append(out, [2]int64{at, c[0]})
		}
		at = max(at, c[1])
	}
	if at < end {
		out = append(out, [2]int64{at, end})
	}
	return out
}

// byteRange names the bytes [offset, offset+n) of a stream the way the
// diagrams label them: "bytes 0–1023", or "byte 7" for one.
func byteRange(offset, n int64) string {
	if n == 1 {
		return "byte " + itoa(offset)
	}
	return "bytes " + itoa(offset) + "–" + itoa(offset+n-1)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// segmentLabel is a segment's short label: its flags, and its payload
// length when it carries bytes ("PSH,ACK len 16").
func segmentLabel(e *Event) string {
	s := strings.Join(e.Flags, ",")
	if s == "" {
		s = "segment"
	}
	if e.Len > 0 {
		s += " len " + itoa(int64(e.Len))
	}
	return s
}
