package trace

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// WriteMermaid writes the session as a Mermaid sequenceDiagram, in seq
// order, which is causal order: a participant per actor; a note for every
// call ("write 8192 B …", "shutdown SHUT_WR", "read 0 (EOF)"); for each
// recv an arrow per byte range it read from a write, drawn where the read
// returned and labelled with the range ("bytes 0–1023 …"), so one write
// read by three reads is one write note and three arrows and two writes read
// by one read are two arrows into it; bytes no read took before the
// receiver closed as a lost arrow (-x, "never read") just before that close;
// captured TCP segments as dotted arrows (-->>, "PSH,ACK len 16"); and a
// call split in two (one that blocked while others ran) as
// "read… <unfinished>" at its begin and "<… read resumed> = 16" at its end,
// as strace does. Every label is escaped (see mermaidText): payloads are
// arbitrary bytes from the programs traced, and must not become syntax.
func WriteMermaid(w io.Writer, rec Record) error {
	actors := rec.lifelines()
	ids := mermaidIDs(actors)
	id := func(a string) string {
		if s, ok := ids[a]; ok {
			return s
		}
		return mermaidID(a)
	}
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	for _, a := range actors {
		if id(a) == a {
			fmt.Fprintf(&b, "    participant %s\n", id(a))
		} else {
			fmt.Fprintf(&b, "    participant %s as %s\n", id(a), mermaidText(a))
		}
	}
	known := map[string]bool{}
	for _, a := range actors {
		known[a] = true
	}
	for _, r := range diagramRows(rec) {
		e := r.ev
		switch r.kind {
		case rowCall:
			if !known[e.Actor] {
				continue
			}
			// A read drawn as exactly one arrow needs no note of its own,
			// unless it ends a split call.
			if e.Kind == KindRecv && e.Errno == "" && r.reads == 1 && e.Phase == "" {
				continue
			}
			label := ladderLabel(e, labelOpts{preview: 16, ranges: true})
			if e.Kind == KindRecv && r.reads > 1 && e.Phase == "" {
				label = fmt.Sprintf("read %d B: %d writes' bytes in one read", e.Bytes, r.reads)
			}
			fmt.Fprintf(&b, "    Note over %s: %s\n", id(e.Actor), mermaidText(label))
		case rowArrow:
			if !known[r.msg.From] || !known[r.msg.To] {
				continue
			}
			label := strings.TrimSuffix(byteRange(r.msg.Offset, r.msg.Bytes)+" "+rangePreview(e, r.msg.Offset, r.msg.Bytes, 16), " ")
			fmt.Fprintf(&b, "    %s->>%s: %s\n", id(r.msg.From), id(r.msg.To), mermaidText(label))
		case rowLost:
			if !known[r.msg.From] || !known[r.msg.To] {
				continue
			}
			label := strings.TrimSuffix(byteRange(r.msg.Offset, r.msg.Bytes)+" "+rangePreview(e, r.msg.Offset, r.msg.Bytes, 16), " ") + " never read (lost)"
			fmt.Fprintf(&b, "    %s-x%s: %s\n", id(r.msg.From), id(r.msg.To), mermaidText(label))
		case rowSegment:
			if !known[e.Actor] {
				continue
			}
			if known[r.to] && r.to != e.Actor {
				fmt.Fprintf(&b, "    %s-->>%s: %s\n", id(e.Actor), id(r.to), mermaidText(segmentLabel(e)))
			} else {
				fmt.Fprintf(&b, "    Note over %s: %s\n", id(e.Actor), mermaidText("segment "+segmentLabel(e)))
			}
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write Mermaid: %w", err)
	}
	return nil
}

// mermaidKeywords are words Mermaid's sequenceDiagram reads as syntax where
// a participant id stands.
var mermaidKeywords = map[string]bool{
	"participant": true, "actor": true, "as": true, "loop": true, "end": true, "alt": true,
	"else": true, "opt": true, "par": true, "and": true, "rect": true, "note": true,
	"over": true, "activate": true, "deactivate": true, "critical": true, "option": true,
	"break": true, "box": true, "create": true, "destroy": true, "autonumber": true,
	"title": true, "links": true, "link": true, "properties": true, "details": true,
	"sequencediagram": true, "off": true, "left": true, "right": true, "of": true, "par_over": true,
	"x": true,
}

// mermaidIDs gives each actor a distinct participant id: mermaidID, with a
// number added where two actors would otherwise share one.
func mermaidIDs(actors []string) map[string]string {
	out := map[string]string{}
	used := map[string]bool{}
	for _, a := range actors {
		id := mermaidID(a)
		for n := 2; used[id]; n++ {
			id = mermaidID(a) + "_" + strconv.Itoa(n)
		}
		used[id] = true
		out[a] = id
	}
	return out
}

// mermaidID makes an actor name a Mermaid participant id: letters, digits
// and '_' only, starting with a letter, and never a keyword, so that no name
// can read as an arrow, a note or a block.
func mermaidID(a string) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, a)
	if id == "" || id[0] < 'A' || id[0] > 'Z' && id[0] < 'a' || id[0] > 'z' || mermaidKeywords[strings.ToLower(id)] {
		id = "p_" + id
	}
	return id
}

// mermaidText escapes a label so that it is text to Mermaid, never syntax.
// Mermaid ends a statement at a line break or ';', starts a comment at '#'
// and '%%', reads "%%{…}%%" anywhere as a directive, and renders '<…>' as
// HTML; it turns "#NN;" back into the character NN. So every character that
// could mean something else becomes such an entity code: ; # % " ' & < > and
// the '-' of an arrow or '--'. Line breaks, control and format characters
// (U+0085, U+2028, U+200B, bidi overrides …) are written out as \n, \u0085,
// …, so that they show and cannot move text around.
func mermaidText(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case strings.ContainsRune(";#%\"'&<>{}", r),
			r == '-' && i+1 < len(rs) && strings.ContainsRune("-x)>|\\/", rs[i+1]),
			r == '-' && i > 0 && rs[i-1] == '-':
			fmt.Fprintf(&b, "#%d;", r)
		case r != ' ' && !unicode.IsPrint(r):
			if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
