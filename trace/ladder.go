package trace

import (
	"fmt"
	"io"
	"strings"
)

// WriteLadder writes a plain-text ladder diagram: one column per actor,
// time flowing down, one row per event; a message is drawn on the row of
// its recv, from the sender's column to the receiver's, with its label.
// Monospace only, for e-mail and terminals.
func WriteLadder(w io.Writer, rec Record) error {
	actors := rec.lifelines()
	const (
		colWidth = 30
		gutter   = len("12345.678ms ")
	)
	col := map[string]int{}
	for i, a := range actors {
		col[a] = i
	}
	msgsByRecv := messagesByRecv(rec.Events)
	var b strings.Builder
	fmt.Fprintf(&b, "seqd %s session %s (%s)\n\n", rec.Scenario, rec.ID, rec.State)
	b.WriteString(strings.Repeat(" ", gutter))
	for _, a := range actors {
		fmt.Fprintf(&b, "%-*s", colWidth, center(a, colWidth))
	}
	b.WriteString("\n")
	blank := func() []rune {
		line := []rune(strings.Repeat(" ", colWidth*len(actors)))
		for i := range actors {
			line[i*colWidth+colWidth/2] = '|'
		}
		return line
	}
	for i := range rec.Events {
		e := &rec.Events[i]
		c, ok := col[e.Actor]
		if !ok || e.Kind == KindSegment {
			continue // segments are in the pcapng export
		}
		x := c*colWidth + colWidth/2
		for _, m := range msgsByRecv[e.Seq] {
			fc, ok := col[m.From]
			if !ok {
				continue
			}
			line := blank()
			from := fc*colWidth + colWidth/2
			lo, hi := min(from, x), max(from, x)
			for j := lo + 1; j < hi; j++ {
				line[j] = '-'
			}
			if from < x {
				line[x-1] = '>'
			} else {
				line[x+1] = '<'
			}
			label := []rune(fmt.Sprintf(" %d B ", m.Bytes))
			if mid := (lo+hi)/2 - len(label)/2; mid > lo && mid+len(label) < hi {
				copy(line[mid:], label)
			}
			fmt.Fprintf(&b, "%*s%s\n", gutter, "", strings.TrimRight(string(line), " "))
		}
		line := blank()
		line[x] = '*'
		label := []rune(" " + ladderLabel(e))
		if len(label) > colWidth/2+colWidth/2-2 {
			label = append(label[:colWidth-3], '…')
		}
		start := x + 1
		if c == len(actors)-1 && len(actors) > 1 {
			start = max(0, x-len(label)-1)
			label = []rune(string(label[1:]) + " ")
		}
		for j, r := range label {
			if start+j < len(line) {
				line[start+j] = r
			} else {
				line = append(line, r)
			}
		}
		fmt.Fprintf(&b, "%9.3fms %s\n", float64(e.TNs)/1e6, strings.TrimRight(string(line), " "))
	}
	if rec.Error != "" {
		fmt.Fprintf(&b, "\nfailed: %s\n", rec.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ladderLabel is the short label of an event: the call and what it returned.
func ladderLabel(e *Event) string {
	if e.Inferred {
		return callLabel(e) + " (inferred)"
	}
	return callLabel(e)
}

func callLabel(e *Event) string {
	switch {
	case e.Errno != "":
		return fmt.Sprintf("%s -> %s", callName(e), e.Errno)
	case e.EOF:
		return "read 0 (EOF)"
	case e.IsData():
		return fmt.Sprintf("%s %d %s", callName(e), e.Bytes, e.Preview(10))
	case e.Kind == KindShutdown:
		return "shutdown " + e.How
	case e.Kind == KindAccept:
		return fmt.Sprintf("accept = %d", e.Ret)
	case e.Kind == KindSocket:
		return fmt.Sprintf("socket = %d", e.Ret)
	case e.Kind == KindGetaddrinfo:
		return "getaddrinfo " + e.Peer
	case e.Kind == KindSetsockopt:
		return fmt.Sprintf("setsockopt %s=%d", e.Option, e.Value)
	case e.Kind == KindBind:
		return "bind " + e.Local
	case e.Kind == KindListen:
		return fmt.Sprintf("listen(%d, %d)", e.FD, e.Backlog)
	case e.Kind == KindConnect:
		return "connect " + e.Peer
	case e.FD < 0:
		return callName(e) // a peer's call: its fd is not known
	}
	return fmt.Sprintf("%s(%d)", callName(e), e.FD)
}

// callName is the C function a kind stands for: seqd's send and recv are
// write(2) and read(2).
func callName(e *Event) string {
	switch e.Kind {
	case KindSend:
		return "write"
	case KindRecv:
		return "read"
	}
	return string(e.Kind)
}

func center(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return strings.Repeat(" ", (width-len(s))/2) + s
}

// lifelines lists the session's actors, or for a record without them the
// actors of its events in order of first appearance.
func (rec Record) lifelines() []string {
	if len(rec.Actors) > 0 {
		return rec.Actors
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range rec.Events {
		if !seen[e.Actor] {
			seen[e.Actor] = true
			out = append(out, e.Actor)
		}
	}
	return out
}

// messagesByRecv groups the messages of events by the recv that ends them.
func messagesByRecv(events []Event) map[int][]Message {
	out := map[int][]Message{}
	for _, m := range Messages(events) {
		out[m.RecvSeq] = append(out[m.RecvSeq], m)
	}
	return out
}
