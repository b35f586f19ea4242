package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestEventJSON(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"a send with text keeps bytes, offset and queues", Event{Seq: 3, TNs: 120, DurNs: 7, Actor: "client", Kind: KindSend, FD: 4, Ret: 6, Conn: "127.0.0.1:5-127.0.0.1:6", Want: 6, Bytes: 6, Offset: 12, Data: "alice\n", OutQ: 6, TCPState: "ESTABLISHED"}},
		{"an EOF recv keeps bytes 0", Event{Seq: 9, Actor: "server", Kind: KindRecv, FD: 5, Want: 1024, EOF: true, TCPState: "CLOSE_WAIT"}},
		{"a failed connect names its errno", Event{Actor: "client", Kind: KindConnect, FD: 3, Ret: -1, Errno: "ECONNREFUSED", Err: "connection refused", Blocked: true}},
		{"strings with quotes, controls, HTML and bad UTF-8 are escaped", Event{Actor: "c\"l\\i<e>&nt", Kind: KindSend, Data: "tab\there\x01\u2028end", Err: "bad \xff byte"}},
		{"a shutdown carries how", Event{Kind: KindShutdown, How: "SHUT_WR", Actor: "client"}},
		{"setsockopt carries its option and value", Event{Kind: KindSetsockopt, Option: "SO_REUSEADDR", Value: 1}},
		{"a traced program's blocking write says its bytes flow from its begin", Event{Actor: "client", Kind: KindSend, Phase: PhaseBegin, CallID: 2, Blocked: true, Want: 1 << 22, Flowing: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.ev.AppendJSON(nil)
			if !json.Valid(b) {
				t.Fatalf("invalid JSON: %s", b)
			}
			var got Event
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			want := tt.ev
			want.Err = asJSONString(want.Err)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v\njson %s", got, want, b)
			}
			// The hand-written encoder must agree with encoding/json on
			// every field it writes.
			var generic map[string]any
			_ = json.Unmarshal(b, &generic)
			fields := map[Kind][]string{KindSend: {"bytes", "offset", "outq"}, KindRecv: {"bytes", "offset", "inq"}}
			for _, k := range fields[tt.ev.Kind] {
				if _, ok := generic[k]; !ok {
					t.Errorf("%s missing from a %s event: %s", k, tt.ev.Kind, b)
				}
			}
			if bytes.ContainsAny(b, "<>&") {
				t.Errorf("unescaped HTML characters in %s", b)
			}
		})
	}
}

func TestSetPayload(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		limit     int
		data, b64 string
		truncated bool
	}{
		{"text is kept as text", []byte("hello\n"), 100, "hello\n", "", false},
		{"binary is kept as base64", []byte{0xff, 0, 1}, 100, "", "/wAB", false},
		{"a long payload is cut to the limit", []byte("abcdef"), 4, "abcd", "", true},
		{"a cut inside a rune drops the rune, not the text", []byte("aé"), 2, "a", "", true},
		{"a zero limit keeps nothing", []byte("abc"), 0, "", "", true},
		{"no bytes, no payload", nil, 10, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Event
			e.SetPayload(tt.in, tt.limit)
			if e.Data != tt.data || e.DataB64 != tt.b64 || e.Truncated != tt.truncated {
				t.Errorf("got data %q b64 %q truncated %v; want %q %q %v", e.Data, e.DataB64, e.Truncated, tt.data, tt.b64, tt.truncated)
			}
		})
	}
}

func TestSetPayloadShared(t *testing.T) {
	sharedText := "hello, wörld\n" // the preview a write kept
	tests := []struct {
		name      string
		in        []byte
		limit     int
		shared    string
		data, b64 string
		shares    bool // Data points into shared rather than at a copy
	}{
		{"bytes a write kept share its preview", []byte("hello"), 100, sharedText, "hello", "", true},
		{"a read from the middle of the preview shares it", []byte("wörld\n"), 100, sharedText[7:], "wörld\n", "", true},
		{"bytes that differ are copied", []byte("jelly"), 100, sharedText, "jelly", "", false},
		{"bytes longer than the preview are copied", []byte("hello, wörld\n!"), 100, sharedText, "hello, wörld\n!", "", false},
		{"bytes that end inside a rune of the preview are copied", []byte("hello, w\xc3"), 100, sharedText, "", "aGVsbG8sIHfD", false},
		{"a preview starting inside a rune is not used", []byte("\xb6rld"), 100, sharedText[9:], "", "tnJsZA==", false},
		{"a read cut to the limit shares the preview's start", []byte("hello, wörld\n"), 5, sharedText, "hello", "", true},
		{"no preview, a copy", []byte("hello"), 100, "", "hello", "", false},
		{"text inside written bytes that are not text shares them", []byte("abc"), 100, "abc\xffdef", "abc", "", true},
		{"bytes that are not text are encoded, not shared", []byte("\xffab"), 100, "\xffabc", "", "/2Fi", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Event
			e.SetPayloadShared(tt.in, tt.limit, tt.shared)
			if e.Data != tt.data || e.DataB64 != tt.b64 {
				t.Fatalf("got data %q b64 %q; want %q %q", e.Data, e.DataB64, tt.data, tt.b64)
			}
			shares := e.Data != "" && tt.shared != "" && unsafe.StringData(e.Data) == unsafe.StringData(tt.shared)
			if shares != tt.shares {
				t.Errorf("shares the preview: %v, want %v", shares, tt.shares)
			}
		})
	}
}

func record(t testing.TB, s *Session, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		e := Event{Actor: "client", Kind: KindSend, Bytes: 1, Data: "x"}
		if err := s.Record(&e, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll subscribes from seq from and collects every event to the end.
func readAll(t *testing.T, s *Session, from int) ([]Event, Batch) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub := s.Subscribe(from, 0)
	var got []Event
	for {
		b, err := sub.Next(ctx, 7, 0)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if b.To > b.From {
			var evs []Event
			if err := json.Unmarshal([]byte("["+string(b.JSON)+"]"), &evs); err != nil {
				t.Fatalf("batch %d..%d: %v: %s", b.From, b.To, err, b.JSON)
			}
			if len(evs) != b.To-b.From {
				t.Fatalf("batch %d..%d holds %d events", b.From, b.To, len(evs))
			}
			got = append(got, evs...)
		}
		if b.Final {
			return got, b
		}
	}
}

func TestSubscriptions(t *testing.T) {
	t.Run("subscribers get the history then live events, in order, without gaps", func(t *testing.T) {
		s := NewSession("echo", nil, Options{})
		record(t, s, 10)
		results := make(chan []Event, 3)
		for _, from := range []int{0, 0, 5} {
			go func() {
				got, _ := readAll(t, s, from)
				results <- got
			}()
		}
		record(t, s, 90)
		s.Finish(nil)
		for i := 0; i < 3; i++ {
			got := <-results
			first := got[0].Seq
			for j, e := range got {
				if e.Seq != first+j {
					t.Fatalf("event %d has seq %d; want %d", j, e.Seq, first+j)
				}
			}
			if last := got[len(got)-1].Seq; last != 99 {
				t.Errorf("last seq %d; want 99", last)
			}
		}
	})
	t.Run("a final batch carries the state and error", func(t *testing.T) {
		s := NewSession("echo", nil, Options{})
		record(t, s, 2)
		s.Finish(errors.New("boom"))
		got, b := readAll(t, s, 0)
		if len(got) != 2 || b.State != StateFailed || b.Error != "boom" {
			t.Errorf("got %d events, state %s, error %q; want 2, failed, boom", len(got), b.State, b.Error)
		}
	})
	t.Run("a subscriber that does not read is cut off and never slows recording", func(t *testing.T) {
		s := NewSession("echo", nil, Options{})
		sub := s.Subscribe(0, 10)
		record(t, s, 11) // recording never waits for the subscriber
		if _, err := sub.Next(context.Background(), 0, 0); !errors.Is(err, ErrTooSlow) {
			t.Fatalf("Next after falling 11 behind: %v; want ErrTooSlow", err)
		}
		if sub.Resume() != 0 {
			t.Errorf("Resume() = %d; want 0", sub.Resume())
		}
		again := s.Subscribe(sub.Resume(), 10) // the history does not count as lag
		if b, err := again.Next(context.Background(), 0, 0); err != nil || b.To != 11 {
			t.Errorf("resubscribed Next: %v, to %d; want 11 events", err, b.To)
		}
	})
	t.Run("a waiting subscriber returns when its context ends", func(t *testing.T) {
		s := NewSession("echo", nil, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Subscribe(0, 0).Next(ctx, 0, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Next: %v; want context.Canceled", err)
		}
	})
	t.Run("the event limit stops recording", func(t *testing.T) {
		s := NewSession("echo", nil, Options{MaxEvents: 3})
		record(t, s, 3)
		if err := s.Record(&Event{}, time.Now()); !errors.Is(err, ErrTooManyEvents) {
			t.Errorf("Record past the limit: %v; want ErrTooManyEvents", err)
		}
	})
}

func TestStoreForgetsTheOldestFinished(t *testing.T) {
	st := &Store{MaxFinished: 2}
	var all []*Session
	for i := 0; i < 4; i++ {
		s := NewSession("echo", nil, Options{})
		if i != 1 {
			s.Finish(nil)
		}
		st.Add(s)
		all = append(all, s)
	}
	for i, want := range []bool{false, true, true, true} {
		if _, ok := st.Get(all[i].ID()); ok != want {
			t.Errorf("session %d kept = %v; want %v (the running one stays)", i, ok, want)
		}
	}
}

// TestStoreTrimForgetsWhatFinishedSinceTheLastAdd adds sessions while they
// run, as the server does, then finishes them all: Trim must bring the
// store back within its bound with no Add after.
func TestStoreTrimForgetsWhatFinishedSinceTheLastAdd(t *testing.T) {
	st := &Store{MaxFinished: 2}
	all := addRunning(st, 5)
	for _, s := range all {
		s.Finish(nil)
	}
	st.Trim()
	for i, s := range all {
		if _, ok := st.Get(s.ID()); ok != (i >= 3) {
			t.Errorf("after Trim, session %d of 5 (all finished, bound 2) kept = %v; want only the newest two", i, ok)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidID(id) || seen[id] {
			t.Fatalf("NewID() = %q: valid %v, repeated %v", id, ValidID(id), seen[id])
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 26), strings.Repeat("a", 25), strings.Repeat("1", 26)} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestMessagesPairByteRanges(t *testing.T) {
	const c = "a>b"
	evs := []Event{
		{Seq: 0, Actor: "client", Kind: KindSend, Conn: c, Offset: 0, Bytes: 10},
		{Seq: 1, Actor: "server", Kind: KindRecv, Conn: c, Offset: 0, Bytes: 4},
		{Seq: 2, Actor: "server", Kind: KindRecv, Conn: c, Offset: 4, Bytes: 6},
		{Seq: 3, Actor: "client", Kind: KindSend, Conn: c, Offset: 10, Bytes: 2},
		{Seq: 4, Actor: "client", Kind: KindSend, Conn: c, Offset: 12, Bytes: 2},
		{Seq: 5, Actor: "server", Kind: KindRecv, Conn: c, Offset: 10, Bytes: 4},
		{Seq: 6, Actor: "server", Kind: KindSend, Conn: c, Offset: 0, Bytes: 3},
		{Seq: 7, Actor: "client", Kind: KindRecv, Conn: c, Offset: 0, Bytes: 3},
	}
	got := fmt.Sprint(Messages(evs))
	want := fmt.Sprint([]Message{
		{c, "client", "server", 0, 1, 0, 4},
		{c, "client", "server", 0, 2, 4, 6},
		{c, "client", "server", 3, 5, 10, 2},
		{c, "client", "server", 4, 5, 12, 2},
		{c, "server", "client", 6, 7, 0, 3},
	})
	if got != want {
		t.Errorf("Messages:\n got %s\nwant %s", got, want)
	}
}

func ExampleSession() {
	s := NewSession("serviceclient", map[string]any{"names": []string{"alice"}}, Options{})
	s.AddActor("client")
	e := Event{Actor: "client", Kind: KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6, Data: "alice\n"}
	_ = s.Record(&e, time.Now())
	s.Finish(nil)
	rec := s.Snapshot()
	fmt.Println(rec.State, len(rec.Events), rec.Events[0].Call())
	// Output: done 1 write(3, "alice\n", 6) = 6
}

func TestBatchesRespectTheByteLimit(t *testing.T) {
	s := NewSession("echo", nil, Options{})
	record(t, s, 50)
	s.Finish(nil)
	sub := s.Subscribe(0, 0)
	var sizes []int
	for _, e := range s.Snapshot().Events {
		sizes = append(sizes, len(e.AppendJSON(nil)))
	}
	limit := 3*sizes[0] + 2
	next := 0
	for {
		b, err := sub.Next(context.Background(), 0, limit)
		if err != nil {
			t.Fatal(err)
		}
		if b.From != next || b.To <= b.From || len(b.JSON) > limit {
			t.Fatalf("batch %d..%d of %d bytes; want events from %d within %d bytes", b.From, b.To, len(b.JSON), next, limit)
		}
		if b.To < 50 && len(b.JSON)+1+sizes[b.To] <= limit {
			t.Fatalf("batch %d..%d of %d bytes stops short: event %d (%d bytes) fits in %d", b.From, b.To, len(b.JSON), b.To, sizes[b.To], limit)
		}
		next = b.To
		if b.Final {
			break
		}
	}
	if next != 50 {
		t.Errorf("batches ended at %d; want 50", next)
	}
	t.Run("an event larger than the limit still goes, alone", func(t *testing.T) {
		b, err := s.Subscribe(0, 0).Next(context.Background(), 0, 1)
		if err != nil || b.To != 1 {
			t.Errorf("Next: %v, to %d; want one event", err, b.To)
		}
	})
}

func TestRestore(t *testing.T) {
	s := NewSession("echo", map[string]any{"rounds": 1}, Options{})
	s.AddActor("client")
	record(t, s, 5)
	s.Finish(nil)
	rec := s.Snapshot()
	b, _ := json.Marshal(rec)
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(back)
	if err != nil {
		t.Fatal(err)
	}
	got, final := readAll(t, r, 0)
	if len(got) != 5 || final.State != StateDone || r.ID() != rec.ID {
		t.Errorf("restored: %d events, state %s", len(got), final.State)
	}
	bad := []struct {
		name string
		edit func(*Record)
	}{
		{"a running session", func(r *Record) { r.State = StateRunning }},
		{"a bad id", func(r *Record) { r.ID = "../x" }},
		{"a gap in seq", func(r *Record) { r.Events[2].Seq = 7 }},
		{"time going back", func(r *Record) { r.Events[3].TNs = -1 }},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			var r Record
			_ = json.Unmarshal(b, &r)
			tt.edit(&r)
			if _, err := Restore(r); err == nil {
				t.Errorf("Restore accepted %s", tt.name)
			}
		})
	}
}

func TestGradeNamesTheChoiceTheCallBoreOut(t *testing.T) {
	recv := &Question{IDs: []string{ChoiceData, ChoiceEOF, ChoiceBlocks, ChoiceError}}
	conn := &Question{IDs: []string{ChoiceConnected, ChoiceBlocks, ChoiceRefused, ChoiceTimedOut}}
	send := &Question{IDs: []string{ChoiceAll, ChoiceShort, ChoiceBlocks, ChoiceError}}
	tests := []struct {
		name string
		q    *Question
		e    Event
		want string
	}{
		{"a read of bytes is data", recv, Event{Kind: KindRecv, Ret: 5, Bytes: 5}, ChoiceData},
		{"a read of 0 is end of file", recv, Event{Kind: KindRecv, EOF: true}, ChoiceEOF},
		{"a read that waited and got bytes blocked", recv, Event{Kind: KindRecv, Ret: 5, Bytes: 5, Blocked: true}, ChoiceBlocks},
		{"a reset read is an error", recv, Event{Kind: KindRecv, Ret: -1, Errno: "ECONNRESET"}, ChoiceError},
		{"a refused connect is refused", conn, Event{Kind: KindConnect, Ret: -1, Errno: "ECONNREFUSED"}, ChoiceRefused},
		{"a connect that succeeded connected", conn, Event{Kind: KindConnect, Blocked: true}, ChoiceConnected},
		{"a connect failing otherwise bears out no choice", conn, Event{Kind: KindConnect, Ret: -1, Errno: "ENETUNREACH"}, ""},
		{"a short write is short, blocked or not", send, Event{Kind: KindSend, Want: 10, Ret: 4, Bytes: 4, Blocked: true}, ChoiceShort},
		{"a whole write that waited blocked", send, Event{Kind: KindSend, Want: 10, Ret: 10, Bytes: 10, Blocked: true}, ChoiceBlocks},
		{"a whole write took all", send, Event{Kind: KindSend, Want: 10, Ret: 10, Bytes: 10}, ChoiceAll},
		{"EPIPE is an error", send, Event{Kind: KindSend, Want: 10, Ret: -1, Errno: "EPIPE"}, ChoiceError},
		{"a choice the question does not offer is not given", &Question{IDs: []string{ChoiceData}}, Event{Kind: KindRecv, EOF: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Grade(&tt.e); got != tt.want {
				t.Errorf("Grade(%+v) = %q; want %q", tt.e, got, tt.want)
			}
		})
	}
}

func TestRecordTakenWaitsOnlyForTheCallThatFedIt(t *testing.T) {
	const conn = "127.0.0.1:1-127.0.0.1:2"
	read := func(off int64, n int) *Event {
		return &Event{Actor: "server", Kind: KindRecv, Conn: conn, Offset: off, Bytes: n, Ret: n}
	}
	tests := []struct {
		name  string
		taken *Event
		waits bool
	}{
		{"a read of bytes the holder is writing waits for its write", read(0, 10), true},
		{"a read of bytes written before the holder's does not wait", read(0, 5), false},
		{"an end of file does not wait for a write", &Event{Actor: "server", Kind: KindRecv, Conn: conn, EOF: true}, false},
		{"a read on another connection does not wait", &Event{Actor: "server", Kind: KindRecv, Conn: "x", Bytes: 3}, false},
		{"the writer's own read does not wait", &Event{Actor: "client", Kind: KindRecv, Conn: conn, Bytes: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSession("test", nil, Options{})
			s.HoldFor(Emission{Actor: "client", Kind: KindSend, Conn: conn, Offset: 5})
			done := make(chan error, 1)
			go func() { done <- s.RecordTaken(tt.taken, time.Time{}, nil) }()
			waited := false
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(50 * time.Millisecond):
				waited = true
			}
			write := &Event{Actor: "client", Kind: KindSend, Conn: conn, Offset: 5, Bytes: 5, Ret: 5}
			if err := s.RecordHeld(write, time.Time{}, nil); err != nil {
				t.Fatal(err)
			}
			s.Release()
			if waited {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			if waited != tt.waits {
				t.Errorf("waited %v; want %v", waited, tt.waits)
			}
			evs := s.Snapshot().Events
			if tt.waits && (len(evs) != 2 || evs[0].Kind != KindSend) {
				t.Errorf("recorded %v first; want the write before the read it fed", evs[0].Kind)
			}
		})
	}
}

func TestStoreBoundsFinishedSessionsByBytesPerClass(t *testing.T) {
	st := &Store{MaxFinished: 100, MaxFinishedBytes: 10_000}
	add := func(scenario string, events int) *Session {
		s := NewSession(scenario, nil, Options{})
		for range events {
			e := Event{Actor: "a", Kind: KindSend, Data: strings.Repeat("x", 100)}
			if err := s.Record(&e, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		s.Finish(nil)
		st.Add(s)
		return s
	}
	api := add("echo", 5)
	var labs []*Session
	for range 20 {
		labs = append(labs, add("lab", 5))
	}
	if _, ok := st.Get(api.ID()); !ok {
		t.Errorf("the API session was evicted by lab sessions")
	}
	if _, ok := st.Get(labs[0].ID()); ok {
		t.Errorf("the oldest lab session is kept beyond the lab's byte bound")
	}
	if _, ok := st.Get(labs[len(labs)-1].ID()); !ok {
		t.Errorf("the newest lab session was evicted")
	}
}

func TestWriteJSONIsTheSnapshotsJSON(t *testing.T) {
	s := NewSession("echo", map[string]any{"rounds": 1}, Options{})
	s.AddActor("client")
	for i := range 700 {
		e := Event{Actor: "client", Kind: KindSend, Bytes: 1, Data: strings.Repeat("x", i%50)}
		if err := s.Record(&e, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	s.Finish(nil)
	var b strings.Builder
	if err := s.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got, want Record
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("WriteJSON wrote invalid JSON: %v", err)
	}
	wantJSON, _ := json.Marshal(s.Snapshot())
	_ = json.Unmarshal(wantJSON, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WriteJSON's record differs from the snapshot's (%d vs %d events)", len(got.Events), len(want.Events))
	}
}

func TestInvisibleCharactersAreShownEscaped(t *testing.T) {
	for _, r := range []string{"\u0085", "\u200b", "\ufeff", "\u202e", "\u2028", "\u2029", "\x00", "\x1b"} {
		e := Event{Seq: 1, Actor: "client", Kind: KindSend, Ret: 3, Bytes: 3, Want: 3, Data: "a" + r + "b"}
		line := TranscriptLine(&e, 6)
		if strings.Contains(line, r) {
			t.Errorf("transcript of a payload with %U shows it raw: %q", []rune(r)[0], line)
		}
		var b strings.Builder
		if err := WriteLadder(&b, Record{Meta: Meta{Actors: []string{"client"}}, Events: []Event{e}}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), r) {
			t.Errorf("ladder of a payload with %U shows it raw", []rune(r)[0])
		}
	}
}

// TestLoggedEventsKeepEveryField stores events in the session log's compact
// form and reads them back: each of Event's fields, set alone on a typical
// read, must come back, whether the log keeps it inline or with the whole
// event. A field added to Event and left out of fitsInline fails here.
func TestLoggedEventsKeepEveryField(t *testing.T) {
	base := Event{Seq: 3, TNs: 40, DurNs: 5, Actor: "server", Kind: KindRecv, FD: 4, Ret: 6, Conn: "127.0.0.1:1-127.0.0.1:2", Want: 4096, Bytes: 6, Offset: 12, Data: "alice\n", TCPState: "ESTABLISHED", Src: "server.c", Line: 30}
	typ := reflect.TypeOf(Event{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run("an event with its "+f.Name+" set keeps it", func(t *testing.T) {
			e := base
			v := reflect.ValueOf(&e).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString("x" + v.String())
			case reflect.Int, reflect.Int64:
				v.SetInt(v.Int() + 1<<40) // beyond what an int32 holds
			case reflect.Uint16, reflect.Uint32:
				v.SetUint(v.Uint() + 7)
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.Slice:
				v.Set(reflect.ValueOf([]string{"SYN", "ACK"}))
			case reflect.Pointer:
				v.Set(reflect.ValueOf(&Question{Text: "What will read return?", Choices: []string{"bytes", "0"}, IDs: []string{ChoiceData, ChoiceEOF}, Tally: []int{3, 1}}))
			default:
				t.Fatalf("field %s of kind %s: teach this test to set it", f.Name, v.Kind())
			}
			for _, want := range []Event{e, base} {
				var l loggedEvent
				l.store(&want, fitsInline(&want))
				if got := l.event(); !reflect.DeepEqual(got, want) {
					t.Errorf("stored\n%+v\nread back\n%+v", want, got)
				}
			}
		})
	}
	t.Run("a typical read is kept inline", func(t *testing.T) {
		var l loggedEvent
		l.store(&base, fitsInline(&base))
		if l.full != nil {
			t.Error("a read with nothing unusual was kept whole")
		}
	})
}

func TestCausalViolationsOfSegments(t *testing.T) {
	const conn = "127.0.0.1:40000-127.0.0.1:7"
	seg := func(seq uint32, n int, flags ...string) Event {
		return Event{Actor: "client", Kind: KindSegment, Conn: conn, TCPSeq: seq, Len: n, Flags: flags}
	}
	connect := Event{Actor: "client", Kind: KindConnect, Conn: conn}
	syn := seg(1000, 0, "SYN")
	write := Event{Actor: "client", Kind: KindSend, Conn: conn, Offset: 0, Bytes: 4, Ret: 4}
	read := Event{Actor: "server", Kind: KindRecv, Conn: conn, Offset: 0, Bytes: 4, Ret: 4}
	cases := []struct {
		name   string
		events []Event
		want   int // violations
	}{
		{"a data segment before the read of its bytes is in order", []Event{connect, syn, write, seg(1001, 4, "ACK"), read}, 0},
		{"a data segment after the read of its bytes is a violation", []Event{connect, syn, write, read, seg(1001, 4, "ACK")}, 1},
		{"a retransmission after the read is in order: the first went before it", []Event{connect, syn, write, seg(1001, 4, "ACK"), read, seg(1001, 4, "ACK")}, 0},
		{"a segment with old and new bytes after a read of the new ones is a violation", []Event{connect, syn, write, seg(1001, 2, "ACK"), read, seg(1001, 4, "ACK")}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := slices.Clone(c.events)
			for i := range evs {
				evs[i].Seq = i
			}
			if got := CausalViolations(evs); len(got) != c.want {
				t.Errorf("%d violations %q; want %d", len(got), got, c.want)
			}
		})
	}
}

// TestStoreEvictsInTheOrderAdded finishes sessions out of the order they
// were added in, and checks which ones the bound keeps and what Recent
// lists, newest first, paging back with before.
func TestStoreEvictsInTheOrderAdded(t *testing.T) {
	st := &Store{MaxFinished: 2}
	all := addRunning(st, 4)
	// The oldest runs longest: the three newer ones finish first.
	for _, s := range all[1:] {
		s.Finish(nil)
		st.Trim()
	}
	t.Run("a session still running is kept while newer finished ones go", func(t *testing.T) {
		checkKept(t, st, all, true, false, true, true)
	})
	all[0].Finish(nil)
	st.Trim()
	t.Run("once it finishes, the oldest added goes first", func(t *testing.T) {
		checkKept(t, st, all, false, false, true, true)
	})
	lab := NewSession("lab", nil, Options{})
	st.Add(lab)
	ids := func(ss []*Session) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID())
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		before string
		want   []string
	}{
		{"Recent lists the class's sessions kept, newest first", "", []string{all[3].ID(), all[2].ID()}},
		{"Recent before the newest lists the one before it", all[3].ID(), []string{all[2].ID()}},
		{"Recent before a forgotten session lists nothing", all[0].ID(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(st.Recent("api", 10, tt.before)); !slices.Equal(got, tt.want) {
				t.Errorf("Recent(api, 10, %q) = %v; want %v", tt.before, got, tt.want)
			}
		})
	}
	t.Run("many sessions forgotten leave the store holding only what it keeps", func(t *testing.T) {
		for range 1000 {
			s := NewSession("echo", nil, Options{})
			s.Finish(nil)
			st.Add(s)
		}
		st.mu.Lock()
		held, running := len(st.order), len(st.running)
		for _, e := range st.order {
			if e.gone && e.s != nil {
				t.Errorf("forgotten session %s is still held (its events with it)", e.s.ID())
			}
		}
		st.mu.Unlock()
		if held > 2*3+1 || running != 1 {
			t.Errorf("store holds %d entries (%d running) for 3 sessions kept; want at most 7, 1 running (the lab session)", held, running)
		}
	})
}

// addRunning adds n new sessions, still running, to st and returns them
// in the order added.
func addRunning(st *Store, n int) []*Session {
	var all []*Session
	for range n {
		s := NewSession("echo", nil, Options{})
		st.Add(s)
		all = append(all, s)
	}
	return all
}

// checkKept checks that st holds all[i] exactly when want[i].
func checkKept(t *testing.T, st *Store, all []*Session, want ...bool) {
	t.Helper()
	for i, w := range want {
		if _, ok := st.Get(all[i].ID()); ok != w {
			t.Errorf("session %d kept = %v; want %v", i, ok, w)
		}
	}
}
