package trace

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Call renders e the way strace does: the call with its arguments, its
// return value and errno, e.g. `write(4, "alice\n", 6) = 6`. A call split in
// two (it blocked while other events were recorded) reads as strace shows
// one interrupted by another: its begin `read(9, 1024) <unfinished ...>`,
// its end `<... read resumed> = 16`.
func (e *Event) Call() string {
	var b strings.Builder
	if e.Phase == PhaseEnd {
		fmt.Fprintf(&b, "<... %s resumed>", callName(e))
		e.appendResult(&b)
		return b.String()
	}
	switch e.Kind {
	case KindGetaddrinfo:
		fmt.Fprintf(&b, "getaddrinfo(%q, %q)", e.Host, e.Service)
	case KindSocket:
		b.WriteString("socket(AF_INET, SOCK_STREAM, 0)")
	case KindSetsockopt:
		fmt.Fprintf(&b, "setsockopt(%d, %s, %d)", e.FD, e.Option, e.Value)
	case KindBind:
		fmt.Fprintf(&b, "bind(%d, %s)", e.FD, orDash(e.Local))
	case KindListen:
		fmt.Fprintf(&b, "listen(%d, %d)", e.FD, e.Backlog)
	case KindConnect:
		fmt.Fprintf(&b, "connect(%d, %s)", e.FD, orDash(e.Peer))
	case KindAccept:
		fmt.Fprintf(&b, "accept(%d)", e.FD)
	case KindSend:
		fmt.Fprintf(&b, "write(%d, %s, %d)", e.FD, e.Preview(24), e.Want)
	case KindRecv:
		fmt.Fprintf(&b, "read(%d, %d)", e.FD, e.Want)
	case KindShutdown:
		fmt.Fprintf(&b, "shutdown(%d, %s)", e.FD, e.How)
	case KindClose:
		fmt.Fprintf(&b, "close(%d)", e.FD)
	case KindSegment:
		fmt.Fprintf(&b, "segment %s → %s [%s] seq=%d ack=%d win=%d len=%d", e.Local, e.Peer, strings.Join(e.Flags, ","), e.TCPSeq, e.TCPAck, e.Window, e.Len)
		return b.String()
	default:
		fmt.Fprintf(&b, "%s(%d)", e.Kind, e.FD)
	}
	if e.Phase == PhaseBegin {
		b.WriteString(" <unfinished ...>")
		return b.String()
	}
	e.appendResult(&b)
	return b.String()
}

// appendResult appends " = RET" and the errno, if any, to b.
func (e *Event) appendResult(b *strings.Builder) {
	if e.Kind == KindGetaddrinfo {
		fmt.Fprintf(b, " = %s", e.Peer)
	} else {
		fmt.Fprintf(b, " = %d", e.Ret)
	}
	if e.Errno != "" {
		fmt.Fprintf(b, " %s (%s)", e.Errno, e.Err)
	} else if e.Err != "" {
		fmt.Fprintf(b, " (%s)", e.Err)
	}
}

// Preview returns the payload preview as a quoted string of at most width
// runes, with "…" when it was cut, or "" for no payload.
func (e *Event) Preview(width int) string {
	if e.Data == "" && e.DataB64 == "" {
		return `""`
	}
	s := e.Data
	if e.DataB64 != "" {
		s = string(e.Payload())
	}
	cut := e.Truncated
	if r := []rune(s); len(r) > width {
		s, cut = string(r[:width]), true
	}
	q := strconv.Quote(s)
	if cut {
		q += "…"
	}
	return q
}

// WriteTranscript writes one line per event, like strace: time, actor, call,
// result, TCP state, and for reads the bytes read.
func WriteTranscript(w io.Writer, events []Event) error {
	actors := make([]string, len(events))
	for i := range events {
		actors[i] = events[i].Actor
	}
	width := TranscriptWidth(actors)
	for i := range events {
		if _, err := io.WriteString(w, TranscriptLine(&events[i], width)+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// TranscriptWidth is the width of the actor column for actors: lines of
// one session printed in several parts line up when they share it.
func TranscriptWidth(actors []string) int {
	width := 6
	for _, a := range actors {
		width = max(width, len(a))
	}
	return width
}

// TranscriptLine renders one event for WriteTranscript, the actor padded to
// width. The begin of a split call is its call and `<unfinished ...>` with
// nothing after; its end is `<... read resumed> = 16 "alice\n…"` with the
// notes a single event would have.
func TranscriptLine(e *Event, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%4d %10.6f %-*s %s", e.Seq, float64(e.TNs)/1e9, width, e.Actor, e.Call())
	if e.Phase == PhaseBegin {
		if e.Inferred {
			b.WriteString("  [inferred from what seqd's end saw]")
		}
		return b.String()
	}
	if e.Kind == KindRecv && e.Bytes > 0 {
		fmt.Fprintf(&b, " %s", e.Preview(32))
	}
	if e.EOF {
		b.WriteString(" (end of file)")
	}
	var notes []string
	switch {
	case e.Inferred && e.Kind == KindGetaddrinfo:
		notes = append(notes, "a name lookup, from the sockets glibc opened for it")
	case e.Inferred:
		notes = append(notes, "inferred from what seqd's end saw")
	}
	if e.Kind == KindAccept && e.Peer != "" {
		notes = append(notes, "from "+e.Peer)
	}
	if e.Blocked {
		notes = append(notes, "blocked "+time.Duration(e.DurNs).Round(time.Microsecond).String())
	}
	switch {
	case e.Errno != "":
	case e.Kind == KindRecv:
		notes = append(notes, fmt.Sprintf("%d still queued", e.InQ))
	case e.Kind == KindSend:
		notes = append(notes, fmt.Sprintf("%d unacked", e.OutQ))
	}
	if e.TCPState != "" {
		notes = append(notes, e.TCPState)
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "  [%s]", strings.Join(notes, ", "))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
