package trace

import (
	"fmt"
	"io"
	"strings"
)

// Ladder layout: one column per actor, each colWidth wide, after a gutter
// holding the time of the row.
const (
	ladderColWidth = 34
	ladderGutter   = len("12345.678ms ")
)

// WriteLadder writes a plain-text ladder diagram: one column per actor, time
// flowing down, one row per row of the record in seq order, which is causal
// order. A call is a mark on its actor's lifeline with a short label; a
// write's bytes are one arrow per read that took them, drawn just above
// that read and labelled with the byte range ("bytes 0–1023"), so one write
// read by three reads is one write row and three arrows; bytes no read took
// before the receiver closed end in an x ("--x", lost); a captured TCP
// segment is a wavy arrow ("~~>") between the two ends, labelled with its
// flags; a call split in two (one that blocked while others ran) shows
// "read… <unfinished>" at its begin and "<… read resumed> = 16" at its end,
// as strace does. Monospace only, for e-mail and terminals.
func WriteLadder(w io.Writer, rec Record) error {
	actors := rec.lifelines()
	col := map[string]int{}
	for i, a := range actors {
		col[a] = i
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seqd %s session %s (%s)\n\n", rec.Scenario, rec.ID, rec.State)
	b.WriteString(strings.Repeat(" ", ladderGutter))
	for _, a := range actors {
		fmt.Fprintf(&b, "%-*s", ladderColWidth, center(a, ladderColWidth))
	}
	b.WriteString("\n")
	l := ladder{cols: len(actors)}
	for _, r := range diagramRows(rec) {
		e := r.ev
		switch r.kind {
		case rowCall:
			c, ok := col[e.Actor]
			if !ok {
				continue
			}
			l.mark(&b, e.TNs, c, '*', ladderLabel(e, labelOpts{preview: 10}))
		case rowArrow:
			from, ok1 := col[r.msg.From]
			to, ok2 := col[r.msg.To]
			if ok1 && ok2 {
				l.arrow(&b, -1, from, to, '-', headFor(from, to), byteRange(r.msg.Offset, r.msg.Bytes))
			}
		case rowLost:
			from, ok1 := col[r.msg.From]
			to, ok2 := col[r.msg.To]
			if ok1 && ok2 {
				l.arrow(&b, -1, from, to, '-', 'x', byteRange(r.msg.Offset, r.msg.Bytes)+" lost")
			}
		case rowSegment:
			from, ok := col[e.Actor]
			if !ok {
				continue
			}
			if to, ok := col[r.to]; ok && to != from {
				l.arrow(&b, e.TNs, from, to, '~', headFor(from, to), segmentLabel(e))
			} else {
				l.mark(&b, e.TNs, from, '~', segmentLabel(e))
			}
		}
	}
	if rec.Error != "" {
		fmt.Fprintf(&b, "\nfailed: %s\n", rec.Error)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write ladder: %w", err)
	}
	return nil
}

// ladder draws the rows of a ladder diagram with cols lifelines.
type ladder struct{ cols int }

// blank is a row with nothing but the lifelines.
func (l ladder) blank() []rune {
	line := []rune(strings.Repeat(" ", ladderColWidth*l.cols))
	for i := 0; i < l.cols; i++ {
		line[l.x(i)] = '|'
	}
	return line
}

// x is the character position of column c's lifeline.
func (ladder) x(c int) int { return c*ladderColWidth + ladderColWidth/2 }

// emit writes one row, with the time tNs in the gutter unless it is < 0.
func (ladder) emit(b *strings.Builder, tNs int64, line []rune) {
	if tNs < 0 {
		b.WriteString(strings.Repeat(" ", ladderGutter))
	} else {
		fmt.Fprintf(b, "%9.3fms ", float64(tNs)/1e6)
	}
	b.WriteString(strings.TrimRight(string(line), " "))
	b.WriteString("\n")
}

// mark writes a row with mark on column c and label beside it: to its
// right, or for the last of several columns to its left.
func (l ladder) mark(b *strings.Builder, tNs int64, c int, mark rune, text string) {
	line := l.blank()
	x := l.x(c)
	line[x] = mark
	label := []rune(" " + text)
	right := c == l.cols-1 && l.cols > 1 // the label goes left of the mark
	limit := ladderColWidth - 2          // a space before the next lifeline
	if right {
		limit = ladderColWidth - 1
	}
	if len(label) > limit {
		label = append(label[:limit-1], '…')
	}
	start := x + 1
	if right {
		start = max(0, x-len(label))
		label = append(label[1:], ' ')
	}
	for j, r := range label {
		if start+j < len(line) {
			line[start+j] = r
		} else {
			line = append(line, r)
		}
	}
	l.emit(b, tNs, line)
}

// arrow writes a row with a line of body runes from column from to column
// to, ending in head next to the receiving lifeline, and text in its middle
// (cut to fit).
func (l ladder) arrow(b *strings.Builder, tNs int64, from, to int, body, head rune, text string) {
	line := l.blank()
	fx, tx := l.x(from), l.x(to)
	lo, hi := min(fx, tx), max(fx, tx)
	for j := lo + 1; j < hi; j++ {
		line[j] = body
	}
	if fx < tx {
		line[tx-1] = head
	} else {
		line[tx+1] = head
	}
	label := []rune(" " + text + " ")
	if room := hi - lo - 5; len(label) > room && room > 2 {
		label = append(label[:room-2], '…', ' ')
	}
	if mid := (lo+hi)/2 - len(label)/2; mid > lo+1 && mid+len(label) < hi-1 {
		copy(line[mid:], label)
	}
	l.emit(b, tNs, line)
}

// headFor is the arrowhead of an arrow from column from to column to.
func headFor(from, to int) rune {
	if from < to {
		return '>'
	}
	return '<'
}

// labelOpts says how much a call's label tells.
type labelOpts struct {
	preview int  // runes of payload preview at most
	ranges  bool // a write names the stream bytes it wrote ("bytes 0–8191")
}

// ladderLabel is the short label of an event in the ladder and Mermaid: the
// call and what it returned.
func ladderLabel(e *Event, o labelOpts) string {
	if e.Inferred {
		return callLabel(e, o) + " (inferred)"
	}
	return callLabel(e, o)
}

// callLabel labels a call; a split call's begin says it is unfinished and
// its end that it resumed, as strace does.
func callLabel(e *Event, o labelOpts) string {
	width := o.preview
	switch e.Phase {
	case PhaseBegin:
		return callName(e) + "… <unfinished>"
	case PhaseEnd:
		return "<… " + callName(e) + " resumed> " + resultLabel(e, o)
	}
	switch {
	case e.Errno != "":
		return fmt.Sprintf("%s = %d %s", callName(e), e.Ret, e.Errno)
	case e.EOF:
		return "read 0 (EOF)"
	case e.Kind == KindSend:
		return strings.TrimSuffix(fmt.Sprintf("write %s %s", bytesOf(e, o), previewOrEmpty(e, width)), " ")
	case e.Kind == KindRecv:
		return strings.TrimSuffix(fmt.Sprintf("read %d B %s", e.Bytes, previewOrEmpty(e, width)), " ")
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

// resultLabel is what a split call's end returned: "= 16 "alice\n"",
// "= 0 (EOF)", "= -1 ECONNRESET".
func resultLabel(e *Event, o labelOpts) string {
	width := o.preview
	switch {
	case e.Errno != "":
		return fmt.Sprintf("= %d %s", e.Ret, e.Errno)
	case e.EOF:
		return "= 0 (EOF)"
	case e.Kind == KindSend && e.Bytes > 0:
		return strings.TrimSuffix(fmt.Sprintf("= %s %s", bytesOf(e, o), previewOrEmpty(e, width)), " ")
	case e.IsData():
		return strings.TrimSuffix(fmt.Sprintf("= %d %s", e.Bytes, previewOrEmpty(e, width)), " ")
	}
	return fmt.Sprintf("= %d", e.Ret)
}

// bytesOf is how many bytes a write took: "8192 B", or "6144 of 8192 B" for
// a short write, with o.ranges the stream bytes they were too ("8192 B,
// bytes 0–8191").
func bytesOf(e *Event, o labelOpts) string {
	s := fmt.Sprintf("%d B", e.Bytes)
	if e.Want > e.Bytes {
		s = fmt.Sprintf("%d of %d B", e.Bytes, e.Want)
	}
	if o.ranges && e.Bytes > 0 {
		s += ", " + byteRange(e.Offset, int64(e.Bytes))
	}
	return s
}

// previewOrEmpty is e's payload preview, or "" when it kept none.
func previewOrEmpty(e *Event, width int) string {
	if e.Data == "" && e.DataB64 == "" {
		return ""
	}
	return e.Preview(width)
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
