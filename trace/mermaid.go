package trace

import (
	"fmt"
	"io"
	"strings"
)

// WriteMermaid writes the session as a Mermaid sequenceDiagram: a
// participant per actor, an arrow per message (send paired with recv by
// byte range), and a note for every call without a peer.
func WriteMermaid(w io.Writer, rec Record) error {
	actors := rec.lifelines()
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	for _, a := range actors {
		fmt.Fprintf(&b, "    participant %s\n", mermaidID(a))
	}
	msgsByRecv := messagesByRecv(rec.Events)
	for i := range rec.Events {
		e := &rec.Events[i]
		if ms, ok := msgsByRecv[e.Seq]; ok {
			for _, m := range ms {
				fmt.Fprintf(&b, "    %s->>%s: %s\n", mermaidID(m.From), mermaidID(m.To), mermaidText(fmt.Sprintf("%d bytes %s", m.Bytes, m.preview(e, 16))))
			}
			continue
		}
		if e.Kind == KindSend && e.Errno == "" || e.Kind == KindSegment {
			continue // sends are drawn as the arrows into the recvs that read them; segments are in the pcapng export
		}
		fmt.Fprintf(&b, "    Note over %s: %s\n", mermaidID(e.Actor), mermaidText(ladderLabel(e)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidID makes an actor name a Mermaid participant id.
func mermaidID(a string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, a)
}

// mermaidText escapes a label: Mermaid ends a message at a newline and
// reads ; and # specially, so they become entity codes.
func mermaidText(s string) string {
	r := strings.NewReplacer("\n", " ", "\r", " ", ";", "#59;", "#", "#35;")
	return r.Replace(s)
}
