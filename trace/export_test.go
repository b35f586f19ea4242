package trace

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenSessions are the recorded sessions in testdata/NAME.json, captured
// with the causal recorder by
//
//	go run ./cmd/seqd run serviceclient -json > trace/testdata/serviceclient.json
//	go run ./cmd/seqd run stream -json > trace/testdata/stream.json
//	go run ./cmd/seqd run refused -json > trace/testdata/refused.json
//	sudo go run ./cmd/seqd run reset -segments -json > trace/testdata/reset.json
//	go run ./cmd/seqd run backpressure -total 16384 -chunk 8192 -json > trace/testdata/backpressure.json
//
// then go test ./trace -update rewrites their exports.
var goldenSessions = []string{"serviceclient", "stream", "refused", "reset", "backpressure"}

func loadRecord(t *testing.T, name string) Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return rec
}

func render(t *testing.T, write func(io.Writer, Record) error, rec Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, rec); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestExportsMatchGoldenFiles renders recorded sessions (testdata/*.json)
// and compares them with the golden files; -update rewrites those.
func TestExportsMatchGoldenFiles(t *testing.T) {
	exports := []struct {
		ext, what string
		write     func(io.Writer, Record) error
	}{
		{".mmd", "Mermaid", WriteMermaid},
		{".ladder.txt", "ladder", WriteLadder},
	}
	for _, name := range goldenSessions {
		rec := loadRecord(t, name)
		for _, ex := range exports {
			t.Run("the "+ex.what+" of "+name+" matches "+name+ex.ext, func(t *testing.T) {
				got := render(t, ex.write, rec)
				golden := filepath.Join("testdata", name+ex.ext)
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./trace -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the golden file; got:\n%s", golden, got)
				}
			})
		}
	}
}

var (
	mermaidArrow = regexp.MustCompile(`^    (\w+)(->>|-x|-->>)(\w+): (.*)$`)
	mermaidNote  = regexp.MustCompile(`^    Note over (\w+): (.*)$`)
	rangeLabel   = regexp.MustCompile(`bytes? (\d+)(?:–(\d+))?`)
)

// parseRange reads the first "bytes A–B" (or "byte A") of a label as
// [A, B+1).
func parseRange(t *testing.T, label string) (lo, hi int64) {
	t.Helper()
	m := rangeLabel.FindStringSubmatch(label)
	if m == nil {
		t.Fatalf("label %q names no byte range", label)
	}
	lo, _ = strconv.ParseInt(m[1], 10, 64)
	hi = lo + 1
	if m[2] != "" {
		hi, _ = strconv.ParseInt(m[2], 10, 64)
		hi++
	}
	return lo, hi
}

// TestExportsSayWhatHappened checks the structural facts of the recorded
// sessions' exports directly, beyond the golden files.
func TestExportsSayWhatHappened(t *testing.T) {
	t.Run("stream's one 8192-byte write is one write with a range arrow per read that took it", func(t *testing.T) {
		rec := loadRecord(t, "stream")
		var big *Event
		reads := 0
		for i := range rec.Events {
			e := &rec.Events[i]
			if e.Kind == KindSend && e.Bytes == 8192 {
				big = e
			}
		}
		if big == nil {
			t.Fatal("stream.json has no 8192-byte write")
		}
		for _, m := range Messages(rec.Events) {
			if m.SendSeq == big.Seq {
				reads++
			}
		}
		if reads < 2 {
			t.Fatalf("the 8192-byte write was read by %d reads; the record should show several", reads)
		}
		mmd := render(t, WriteMermaid, rec)
		var writes, arrows int
		var next int64
		for _, line := range strings.Split(mmd, "\n") {
			if m := mermaidNote.FindStringSubmatch(line); m != nil && strings.HasPrefix(m[2], "write 8192 B") {
				writes++
			}
			if m := mermaidArrow.FindStringSubmatch(line); m != nil && m[2] == "->>" {
				lo, hi := parseRange(t, m[4])
				if hi <= 8192 {
					if lo != next {
						t.Errorf("arrow %q starts at byte %d; want %d, where the previous read stopped", line, lo, next)
					}
					next = hi
					arrows++
				}
			}
		}
		if writes != 1 || arrows != reads || next != 8192 {
			t.Errorf("Mermaid shows %d notes of the 8192-byte write and %d arrows covering bytes 0–%d; want 1 write and %d arrows covering 0–8191:\n%s", writes, arrows, next-1, reads, mmd)
		}
		ladder := render(t, WriteLadder, rec)
		if n := strings.Count(ladder, "write 8192 B"); n != 1 {
			t.Errorf("the ladder shows the 8192-byte write %d times; want once:\n%s", n, ladder)
		}
		rows := 0
		for _, line := range strings.Split(ladder, "\n") {
			if m := rangeLabel.FindStringSubmatch(line); m != nil && strings.Contains(line, "<-") {
				if _, hi := parseRange(t, line); hi <= 8192 {
					rows++
				}
			}
		}
		if rows != reads {
			t.Errorf("the ladder has %d arrows of the big write's bytes; want %d, one per read:\n%s", rows, reads, ladder)
		}
	})

	t.Run("reset's unread request is drawn lost before the close that reset the connection", func(t *testing.T) {
		rec := loadRecord(t, "reset")
		mmd := render(t, WriteMermaid, rec)
		lines := strings.Split(mmd, "\n")
		lost, closeAt := -1, -1
		for i, line := range lines {
			if m := mermaidArrow.FindStringSubmatch(line); m != nil && m[2] == "-x" {
				if m[1] != "client" || m[3] != "server" {
					t.Errorf("lost arrow %q; want it from the client to the server", line)
				}
				if lo, hi := parseRange(t, m[4]); lo != 0 || hi != 29 {
					t.Errorf("lost arrow %q covers bytes %d–%d; want 0–28, the 29-byte request", line, lo, hi-1)
				}
				lost = i
			}
			if strings.HasPrefix(line, "    Note over server: close(") && closeAt < 0 {
				closeAt = i
			}
		}
		if lost < 0 || closeAt < 0 || lost > closeAt {
			t.Errorf("lost arrow at line %d, server's close at line %d; want the lost bytes drawn just before the close:\n%s", lost, closeAt, mmd)
		}
		ladder := render(t, WriteLadder, rec)
		if !strings.Contains(ladder, "x") || !strings.Contains(ladder, "bytes 0–28 lost") {
			t.Errorf("the ladder does not mark bytes 0–28 lost:\n%s", ladder)
		}
		if rec.Events[len(rec.Events)-1].Kind == KindSegment || hasSegments(rec) {
			if !strings.Contains(ladder, "RST") {
				t.Errorf("the ladder of a session with segments shows no RST:\n%s", ladder)
			}
		}
	})

	t.Run("serviceclient's notes and arrows come in seq order, the names before the shutdown", func(t *testing.T) {
		rec := loadRecord(t, "serviceclient")
		mmd := render(t, WriteMermaid, rec)
		checkMermaidOrder(t, rec, mmd)
		at := func(sub string) int {
			i := strings.Index(mmd, sub)
			if i < 0 {
				t.Fatalf("the Mermaid has no %q:\n%s", sub, mmd)
			}
			return i
		}
		write, shut, eof := at("Note over client: write"), at("Note over client: shutdown SHUT_WR"), at("Note over server: read 0 (EOF)")
		results := at("Note over server: write")
		if !(write < shut && shut < eof && eof < results) {
			t.Errorf("the client's write at %d, its shutdown at %d, the server's EOF at %d, its results at %d; want them in that order:\n%s", write, shut, eof, results, mmd)
		}
	})

	for _, name := range goldenSessions {
		t.Run("every line of "+name+"'s Mermaid is one statement in seq order", func(t *testing.T) {
			rec := loadRecord(t, name)
			checkMermaidOrder(t, rec, render(t, WriteMermaid, rec))
		})
	}
}

func hasSegments(rec Record) bool {
	for i := range rec.Events {
		if rec.Events[i].Kind == KindSegment {
			return true
		}
	}
	return false
}

// checkMermaidOrder checks that each line of a Mermaid export is a
// participant, a note or an arrow, and that they appear in the order of the
// rows they draw, which is seq order.
func checkMermaidOrder(t *testing.T, rec Record, mmd string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(mmd, "\n"), "\n")
	if lines[0] != "sequenceDiagram" {
		t.Fatalf("first line %q; want sequenceDiagram", lines[0])
	}
	lines = lines[1:]
	for len(lines) > 0 && strings.HasPrefix(lines[0], "    participant ") {
		lines = lines[1:]
	}
	last := -1
	i := 0
	for _, r := range diagramRows(rec) {
		if r.kind == rowCall && r.ev.Kind == KindRecv && r.ev.Errno == "" && r.reads == 1 && r.ev.Phase == "" {
			continue // drawn by its arrow
		}
		if i >= len(lines) {
			t.Fatalf("the Mermaid ends before row %+v", r)
		}
		line := lines[i]
		i++
		if !mermaidArrow.MatchString(line) && !mermaidNote.MatchString(line) {
			t.Errorf("line %q is neither a note nor an arrow", line)
		}
		seq := r.ev.Seq
		if r.kind == rowArrow || r.kind == rowLost {
			seq = max(r.msg.SendSeq, r.msg.RecvSeq)
		}
		if seq < last {
			t.Errorf("line %q draws seq %d after seq %d", line, seq, last)
		}
		last = max(last, seq)
	}
	if i != len(lines) {
		t.Errorf("%d lines left over after the rows: %q", len(lines)-i, lines[i:])
	}
}

// TestExportsOfSyntheticSessions checks the exports of small hand-made
// sessions, one fact each.
func TestExportsOfSyntheticSessions(t *testing.T) {
	const c = "127.0.0.1:1-127.0.0.1:2"
	seqd := func(evs ...Event) Record {
		for i := range evs {
			evs[i].Seq = i
		}
		return Record{Meta: Meta{ID: "x", Scenario: "test", State: StateDone, Actors: []string{"server", "client"}}, Events: evs}
	}
	send := func(actor string, off int64, data string) Event {
		return Event{Actor: actor, Kind: KindSend, FD: 3, Conn: c, Want: len(data), Ret: len(data), Bytes: len(data), Offset: off, Data: data}
	}
	recv := func(actor string, off int64, data string) Event {
		return Event{Actor: actor, Kind: KindRecv, FD: 4, Conn: c, Want: 1024, Ret: len(data), Bytes: len(data), Offset: off, Data: data}
	}
	cases := []struct {
		name    string
		rec     Record
		mermaid []string // lines that must appear, in this order
		ladder  []string // substrings that must appear, in this order
	}{
		{
			name: "two writes read by one read are two arrows into it",
			rec:  seqd(send("client", 0, "ab"), send("client", 2, "cd"), recv("server", 0, "abcd")),
			mermaid: []string{
				`    Note over client: write 2 B, bytes 0–1 #34;ab#34;`,
				`    Note over client: write 2 B, bytes 2–3 #34;cd#34;`,
				`    client->>server: bytes 0–1 #34;ab#34;`,
				`    client->>server: bytes 2–3 #34;cd#34;`,
				`    Note over server: read 4 B: 2 writes#39; bytes in one read`,
			},
			ladder: []string{`write 2 B "ab"`, `write 2 B "cd"`, `bytes 0–1`, `bytes 2–3`, `read 4 B "abcd"`},
		},
		{
			name: "a read that blocked shows unfinished at its begin and resumed at its end",
			rec: seqd(
				Event{Actor: "server", Kind: KindRecv, FD: 4, Conn: c, Want: 1024, Blocked: true, Phase: PhaseBegin, CallID: 1},
				send("client", 0, "hi\n"),
				func() Event {
					e := recv("server", 0, "hi\n")
					e.Phase, e.CallID, e.Blocked, e.DurNs = PhaseEnd, 1, true, 5000
					return e
				}(),
			),
			mermaid: []string{
				`    Note over server: read… #60;unfinished#62;`,
				`    Note over client: write 3 B, bytes 0–2 #34;hi\n#34;`,
				`    client->>server: bytes 0–2 #34;hi\n#34;`,
				`    Note over server: #60;… read resumed#62; = 3 #34;hi\n#34;`,
			},
			ladder: []string{`read… <unfinished>`, `write 3 B "hi\n"`, `bytes 0–2`, `<… read resumed> = 3 "hi\n"`},
		},
		{
			name: "bytes the peer never read before closing are lost at its close",
			rec:  seqd(send("client", 0, "lost"), Event{Actor: "server", Kind: KindClose, FD: 4, Conn: c}),
			mermaid: []string{
				`    Note over client: write 4 B, bytes 0–3 #34;lost#34;`,
				`    client-xserver: bytes 0–3 #34;lost#34; never read (lost)`,
				`    Note over server: close(4)`,
			},
			ladder: []string{`write 4 B "lost"`, `|x-`, `bytes 0–3 lost`, `close(4)`},
		},
		{
			name: "segments are dotted arrows between the two ends",
			rec: seqd(
				Event{Actor: "client", Kind: KindConnect, FD: 3, Conn: c, Peer: "127.0.0.1:2", Phase: PhaseBegin, CallID: 1},
				Event{Actor: "client", Kind: KindSegment, FD: -1, Conn: c, Flags: []string{"SYN"}},
				Event{Actor: "server", Kind: KindSegment, FD: -1, Conn: c, Flags: []string{"SYN", "ACK"}},
				Event{Actor: "server", Kind: KindAccept, FD: 5, Ret: 6, Conn: c},
				Event{Actor: "client", Kind: KindConnect, FD: 3, Conn: c, Peer: "127.0.0.1:2", Phase: PhaseEnd, CallID: 1},
				Event{Actor: "client", Kind: KindSegment, FD: -1, Conn: c, Flags: []string{"PSH", "ACK"}, Len: 16},
			),
			mermaid: []string{
				`    Note over client: connect… #60;unfinished#62;`,
				`    client-->>server: SYN`,
				`    server-->>client: SYN,ACK`,
				`    Note over server: accept = 6`,
				`    Note over client: #60;… connect resumed#62; = 0`,
				`    client-->>server: PSH,ACK len 16`,
			},
			ladder: []string{`connect… <unfinished>`, `|<~~~~~~~~~~~~~ SYN ~~~~~~~~~~~~~~|`, `|~~~~~~~~~~~~ SYN,ACK ~~~~~~~~~~~>|`, `accept = 6`, `<… connect resumed> = 0`, `PSH,ACK len 16`},
		},
		{
			name: "bytes still unread in a running session are not called lost",
			rec: func() Record {
				r := seqd(send("client", 0, "later"))
				r.State = StateRunning
				return r
			}(),
			mermaid: []string{`    Note over client: write 5 B, bytes 0–4 #34;later#34;`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mmd := render(t, WriteMermaid, tc.rec)
			if len(tc.mermaid) > 0 && strings.Contains(mmd, "never read") != strings.Contains(strings.Join(tc.mermaid, "\n"), "never read") {
				t.Errorf("Mermaid draws lost bytes where it should not, or not where it should:\n%s", mmd)
			}
			inOrder(t, "Mermaid", mmd, tc.mermaid, true)
			inOrder(t, "ladder", render(t, WriteLadder, tc.rec), tc.ladder, false)
		})
	}
}

// inOrder checks that text contains each of want, in order: as whole lines
// when lines is set, else as substrings.
func inOrder(t *testing.T, what, text string, want []string, lines bool) {
	t.Helper()
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if lines {
			i = strings.Index(rest, "\n"+w+"\n")
		}
		if i < 0 {
			t.Errorf("the %s has no %q (after the previous line):\n%s", what, w, text)
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestTranscriptShowsSplitCallsAsStraceDoes(t *testing.T) {
	cases := []struct {
		name string
		e    Event
		want string
	}{
		{
			name: "a read's begin is unfinished",
			e:    Event{Seq: 5, Actor: "server", Kind: KindRecv, FD: 9, Want: 1024, Blocked: true, Phase: PhaseBegin, CallID: 3},
			want: `   5   0.000000 server read(9, 1024) <unfinished ...>`,
		},
		{
			name: "a read's end resumes with the bytes it read",
			e:    Event{Seq: 8, TNs: 2000, DurNs: 1500, Actor: "server", Kind: KindRecv, FD: 9, Want: 1024, Ret: 6, Bytes: 6, Data: "alice\n", Blocked: true, Phase: PhaseEnd, CallID: 3, TCPState: "ESTABLISHED"},
			want: `   8   0.000002 server <... read resumed> = 6 "alice\n"  [blocked 2µs, 0 still queued, ESTABLISHED]`,
		},
		{
			name: "an accept's end resumes with the new fd",
			e:    Event{Seq: 9, Actor: "server", Kind: KindAccept, FD: 5, Ret: 7, Phase: PhaseEnd, CallID: 1, Peer: "127.0.0.1:4000"},
			want: `   9   0.000000 server <... accept resumed> = 7  [from 127.0.0.1:4000]`,
		},
		{
			name: "a read's end with an error names the errno",
			e:    Event{Seq: 10, Actor: "client", Kind: KindRecv, FD: 8, Want: 1024, Ret: -1, Errno: "ECONNRESET", Err: "connection reset by peer", Phase: PhaseEnd, CallID: 4},
			want: `  10   0.000000 client <... read resumed> = -1 ECONNRESET (connection reset by peer)`,
		},
		{
			name: "a call in one event is unchanged",
			e:    Event{Seq: 1, Actor: "client", Kind: KindSend, FD: 8, Want: 4, Ret: 4, Bytes: 4, Data: "bob\n"},
			want: `   1   0.000000 client write(8, "bob\n", 4) = 4  [0 unacked]`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := TranscriptLine(&tc.e, 6); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// FuzzMermaidLabelsStayText checks that no actor name or payload can add a
// line to the Mermaid export or put a character Mermaid reads as syntax
// into a label.
func FuzzMermaidLabelsStayText(f *testing.F) {
	f.Add("client", "alice\n", "SHUT_WR")
	f.Add("a-->>b", "%%{init: {}}%%;#<script>\u0085\u2028", "x\ny")
	f.Fuzz(func(t *testing.T, actor, payload, how string) {
		const c = "a-b"
		rec := Record{Meta: Meta{State: StateDone, Actors: []string{actor, "server"}}, Events: []Event{
			{Seq: 0, Actor: actor, Kind: KindSend, Conn: c, Bytes: len(payload), Want: len(payload), Data: payload},
			{Seq: 1, Actor: "server", Kind: KindRecv, Conn: c, Bytes: len(payload) / 2, Data: payload},
			{Seq: 2, Actor: actor, Kind: KindShutdown, How: how, Conn: c},
			{Seq: 3, Actor: "server", Kind: KindClose, Conn: c},
		}}
		var b bytes.Buffer
		if err := WriteMermaid(&b, rec); err != nil {
			t.Fatal(err)
		}
		if err := WriteLadder(io.Discard, rec); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")[1:] {
			head, label, ok := strings.Cut(line, ": ")
			if strings.HasPrefix(line, "    participant ") {
				head, label, ok = strings.Cut(line, " as ")
				if !ok {
					continue
				}
			}
			if !ok || !regexp.MustCompile(`^    (participant \w+|Note over \w+|\w+(->>|-x|-->>)\w+)$`).MatchString(head) {
				t.Fatalf("line %q is not a statement seqd writes", line)
			}
			bare := entity.ReplaceAllString(label, "")
			if strings.ContainsAny(bare, ";#%<>\"'{}&") || strings.Contains(bare, "--") || strings.IndexFunc(bare, func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) }) >= 0 {
				t.Fatalf("label %q carries syntax (%q outside its entity codes)", label, bare)
			}
		}
	})
}

func ExampleWriteMermaid() {
	rec := Record{Meta: Meta{State: StateDone, Actors: []string{"server", "client"}}, Events: []Event{
		{Seq: 0, Actor: "client", Kind: KindSend, Conn: "c", Want: 8, Ret: 8, Bytes: 8, Data: "abcdefgh"},
		{Seq: 1, Actor: "server", Kind: KindRecv, Conn: "c", Want: 4, Ret: 4, Bytes: 4, Data: "abcd"},
		{Seq: 2, Actor: "server", Kind: KindRecv, Conn: "c", Want: 4, Ret: 4, Offset: 4, Bytes: 4, Data: "efgh"},
	}}
	_ = WriteMermaid(os.Stdout, rec)
	// Output:
	// sequenceDiagram
	//     participant server
	//     participant client
	//     Note over client: write 8 B, bytes 0–7 #34;abcdefgh#34;
	//     client->>server: bytes 0–3 #34;abcd#34;
	//     client->>server: bytes 4–7 #34;efgh#34;
}

var entity = regexp.MustCompile(`#\d+;`)

func TestSavedRecordsAreInCausalOrder(t *testing.T) {
	for _, name := range goldenSessions {
		t.Run(name+".json was recorded in causal order", func(t *testing.T) {
			for _, v := range CausalViolations(loadRecord(t, name).Events) {
				t.Error(v)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, name := range goldenSessions {
		t.Run(name+".json survives decoding and encoding unchanged", func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var rec Record
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			again, err := json.MarshalIndent(rec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(again), bytes.TrimSpace(b)) {
				t.Errorf("a saved session does not survive decoding and encoding unchanged")
			}
		})
	}
}
