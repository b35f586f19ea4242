package netcore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"seqd/trace"
)

// runSession runs one scenario to the end with full payloads kept, so that
// tests can compare every byte.
func runSession(t *testing.T, name string, raw map[string]any) trace.Record {
	t.Helper()
	r := &Runner{Preview: 1 << 30, Timeout: 30 * time.Second}
	sess, err := r.Prepare(name, raw, trace.Features{})
	if err != nil {
		t.Fatalf("Prepare(%q, %v): %v", name, raw, err)
	}
	r.Run(context.Background(), sess)
	rec := sess.Snapshot()
	if rec.State != trace.StateDone {
		t.Fatalf("session %s: state %s (%s); want done", name, rec.State, rec.Error)
	}
	return rec
}

// checkInvariants asserts what must hold for every session: contiguous
// seq, non-decreasing t_ns, and per connection and direction contiguous
// offsets with the received bytes equal to (or, where a reset cuts the
// stream, a prefix of) the sent bytes; every SHUT_WR is followed by the
// peer's end of file.
func checkInvariants(t *testing.T, rec trace.Record, allowCut bool) {
	t.Helper()
	evs := rec.Events
	for i, e := range evs {
		if e.Seq != i {
			t.Fatalf("event %d has seq %d; want %d", i, e.Seq, i)
		}
		if i > 0 && e.TNs < evs[i-1].TNs {
			t.Errorf("event %d: t_ns %d < previous %d", i, e.TNs, evs[i-1].TNs)
		}
		if e.DurNs < 0 {
			t.Errorf("event %d: negative dur_ns %d", i, e.DurNs)
		}
		if !containsString(rec.Actors, e.Actor) {
			t.Errorf("event %d: actor %q not in actors %v", i, e.Actor, rec.Actors)
		}
	}
	type dir struct{ conn, actor string }
	sent, recvd := map[dir][]byte{}, map[dir][]byte{}
	next := map[string]int64{} // by kind+dir: the next expected offset
	for _, e := range evs {
		if !e.IsData() || e.Errno != "" {
			continue
		}
		if e.Conn == "" {
			t.Fatalf("event %d (%s) has no conn", e.Seq, e.Kind)
		}
		key := fmt.Sprint(e.Kind, e.Conn, e.Actor)
		if e.Offset != next[key] {
			t.Errorf("event %d: %s offset %d; want %d (contiguous)", e.Seq, e.Kind, e.Offset, next[key])
		}
		next[key] += int64(e.Bytes)
		if e.Truncated || len(e.Payload()) != e.Bytes {
			t.Fatalf("event %d: payload %d bytes for %d moved", e.Seq, len(e.Payload()), e.Bytes)
		}
		d := dir{e.Conn, e.Actor}
		if e.Kind == trace.KindSend {
			sent[d] = append(sent[d], e.Payload()...)
		} else {
			recvd[d] = append(recvd[d], e.Payload()...)
		}
	}
	ends := connEnds(evs)
	for d, out := range sent {
		peer := ends[d.conn][0]
		if peer == d.actor {
			peer = ends[d.conn][1]
		}
		in := recvd[dir{d.conn, peer}]
		switch {
		case bytes.Equal(in, out):
		case allowCut && bytes.HasPrefix(out, in):
		default:
			t.Errorf("conn %s: %s sent %d bytes, %s received %d; want the same bytes", d.conn, d.actor, len(out), peer, len(in))
		}
	}
	// A recv's inq counts what is left to read: never more than the peer
	// sent beyond this read, nothing after the end of file.
	for _, e := range evs {
		if e.Kind != trace.KindRecv || e.Errno != "" {
			continue
		}
		peer := ends[e.Conn][0]
		if peer == e.Actor {
			peer = ends[e.Conn][1]
		}
		left := len(sent[dir{e.Conn, peer}]) - int(e.Offset) - e.Bytes
		if e.InQ < 0 || e.InQ > left || e.EOF && e.InQ != 0 {
			t.Errorf("event %d: inq %d with %d bytes left to read", e.Seq, e.InQ, left)
		}
	}
	for _, e := range evs {
		if e.Kind != trace.KindShutdown || e.How != "SHUT_WR" {
			continue
		}
		// Events are in the order the calls returned. On loopback the
		// kernel delivers the FIN inside the shutdown call, so the peer's
		// read may return 0 before shutdown itself returns: "followed by"
		// means after the shutdown call began.
		found := false
		for _, f := range evs {
			if f.Kind == trace.KindRecv && f.EOF && f.Conn == e.Conn && f.Actor != e.Actor && f.TNs >= e.TNs-e.DurNs {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("shutdown(SHUT_WR) at seq %d by %s on %s: no EOF read by the peer after it", e.Seq, e.Actor, e.Conn)
		}
	}
}

// connEnds returns the two actors of each connection: the connecting one
// and the accepting one.
func connEnds(evs []trace.Event) map[string][2]string {
	ends := map[string][2]string{}
	for _, e := range evs {
		if e.Conn == "" {
			continue
		}
		pair := ends[e.Conn]
		switch e.Kind {
		case trace.KindConnect:
			pair[0] = e.Actor
		case trace.KindAccept:
			pair[1] = e.Actor
		}
		ends[e.Conn] = pair
	}
	return ends
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func countKind(evs []trace.Event, kind trace.Kind, errno string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind && e.Errno == errno {
			n++
		}
	}
	return n
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name     string
		params   map[string]any
		allowCut bool
		check    func(t *testing.T, rec trace.Record)
	}{
		{name: "serviceclient", params: map[string]any{"names": []string{"alice", "bob", "carol"}}, check: func(t *testing.T, rec trace.Record) {
			reply := dataOf(rec.Events, trace.KindRecv, "client")
			for _, n := range []string{"alice", "bob", "carol"} {
				if !strings.Contains(reply, n) {
					t.Errorf("the server's results %q do not mention %q", reply, n)
				}
			}
			wantKinds(t, rec.Events, "server", trace.KindSocket, trace.KindSetsockopt, trace.KindBind, trace.KindListen, trace.KindAccept)
			wantKinds(t, rec.Events, "client", trace.KindGetaddrinfo, trace.KindSocket, trace.KindConnect, trace.KindShutdown, trace.KindClose)
		}},
		{name: "echo", params: map[string]any{"rounds": 5}, check: func(t *testing.T, rec trace.Record) {
			if got := dataOf(rec.Events, trace.KindRecv, "client"); got != dataOf(rec.Events, trace.KindSend, "client") {
				t.Errorf("the client got back %q; want what it sent", got)
			}
			if n := strings.Count(dataOf(rec.Events, trace.KindSend, "client"), "\n"); n != 5 {
				t.Errorf("the client sent %d lines; want 5 rounds", n)
			}
		}},
		{name: "http", check: func(t *testing.T, rec trace.Record) {
			if got := dataOf(rec.Events, trace.KindRecv, "client"); !strings.HasPrefix(got, "HTTP/1.0 200 OK") || !strings.Contains(got, "Content-Length:") {
				t.Errorf("response %q; want an HTTP/1.0 200 with Content-Length", got)
			}
		}},
		{name: "stream", check: func(t *testing.T, rec trace.Record) {
			perSend, perRecv := map[int]int{}, map[int]int{}
			for _, m := range trace.Messages(rec.Events) {
				perSend[m.SendSeq]++
				perRecv[m.RecvSeq]++
			}
			if maxCount(perSend) < 2 {
				t.Errorf("no send was read by 2 or more recvs: %v", perSend)
			}
			if maxCount(perRecv) < 2 {
				t.Errorf("no recv held bytes of 2 or more sends: %v", perRecv)
			}
		}},
		{name: "refused", check: func(t *testing.T, rec trace.Record) {
			if countKind(rec.Events, trace.KindConnect, "ECONNREFUSED") != 1 {
				t.Errorf("no connect failed with ECONNREFUSED")
			}
		}},
		{name: "reset", allowCut: true, check: func(t *testing.T, rec trace.Record) {
			if countKind(rec.Events, trace.KindRecv, "ECONNRESET")+countKind(rec.Events, trace.KindSend, "EPIPE") == 0 {
				t.Errorf("neither ECONNRESET nor EPIPE seen")
			}
		}},
		{name: "concurrent", params: map[string]any{"clients": 4}, check: func(t *testing.T, rec trace.Record) {
			conns := connEnds(rec.Events)
			if len(conns) < 3 {
				t.Errorf("%d connections; want at least 3", len(conns))
			}
			if len(rec.Actors) != 5 {
				t.Errorf("actors %v; want the server and 4 clients", rec.Actors)
			}
		}},
		{name: "backpressure", params: map[string]any{"total": 64 << 10, "read_delay_ms": 1}, check: func(t *testing.T, rec trace.Record) {
			short := 0
			for _, e := range rec.Events {
				if e.Kind == trace.KindSend && e.Bytes < e.Want {
					short++
				}
			}
			if short == 0 {
				t.Errorf("no write came back short")
			}
			if countBlocked(rec.Events, trace.KindSend) == 0 {
				t.Errorf("no write blocked")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" records a truthful exchange", func(t *testing.T) {
			rec := runSession(t, tt.name, tt.params)
			checkInvariants(t, rec, tt.allowCut)
			tt.check(t, rec)
		})
	}
}

func countBlocked(evs []trace.Event, kind trace.Kind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind && e.Blocked {
			n++
		}
	}
	return n
}

func maxCount(m map[int]int) int {
	best := 0
	for _, n := range m {
		best = max(best, n)
	}
	return best
}

// dataOf concatenates the payloads of actor's events of one kind.
func dataOf(evs []trace.Event, kind trace.Kind, actor string) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Kind == kind && e.Actor == actor {
			b.Write(e.Payload())
		}
	}
	return b.String()
}

func wantKinds(t *testing.T, evs []trace.Event, actor string, kinds ...trace.Kind) {
	t.Helper()
	for _, k := range kinds {
		found := false
		for _, e := range evs {
			if e.Actor == actor && e.Kind == k {
				found = true
			}
		}
		if !found {
			t.Errorf("%s made no %s call", actor, k)
		}
	}
}

func TestBadParameters(t *testing.T) {
	tests := []struct {
		scenario string
		params   map[string]any
		param    string // the parameter the error must name
	}{
		{"echo", map[string]any{"rounds": 0.0}, "rounds"},
		{"echo", map[string]any{"rounds": 1001.0}, "rounds"},
		{"echo", map[string]any{"rounds": "5"}, "rounds"},
		{"echo", map[string]any{"rounds": 2.5}, "rounds"},
		{"echo", map[string]any{"round": 3.0}, "round"},
		{"serviceclient", map[string]any{"names": []any{}}, "names"},
		{"serviceclient", map[string]any{"names": []any{"a", 3.0}}, "names"},
		{"serviceclient", map[string]any{"names": []any{strings.Repeat("x", 65)}}, "names"},
		{"serviceclient", map[string]any{"names": []any{"two\nlines"}}, "names"},
		{"serviceclient", map[string]any{"names": "alice"}, "names"},
		{"concurrent", map[string]any{"clients": 17.0}, "clients"},
		{"stream", map[string]any{"pace_ms": 2001.0}, "pace_ms"},
		{"stream", map[string]any{"pace_ms": map[string]any{}}, "pace_ms"},
	}
	var r Runner
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s with %v is refused naming %s", tt.scenario, tt.params, tt.param), func(t *testing.T) {
			_, err := r.Prepare(tt.scenario, tt.params, trace.Features{})
			var pe *trace.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("Prepare: %v; want a *trace.ParamError", err)
			}
			if pe.Param != tt.param || !strings.Contains(err.Error(), tt.param) {
				t.Errorf("error %q names %q; want %q", err, pe.Param, tt.param)
			}
		})
	}
	t.Run("an unknown scenario is ErrUnknownScenario", func(t *testing.T) {
		if _, err := r.Prepare("nope", nil, trace.Features{}); !errors.Is(err, trace.ErrUnknownScenario) {
			t.Errorf("Prepare(nope): %v; want ErrUnknownScenario", err)
		}
	})
}

func TestPaceAndDeadline(t *testing.T) {
	t.Run("a session past its deadline fails and closes its sockets", func(t *testing.T) {
		before := openFDs(t)
		// Prepared where it fits (Prepare refuses what its estimate says
		// cannot), run where it does not: estimates are rough, the
		// deadline is not.
		sess, err := (&Runner{}).Prepare("echo", map[string]any{"rounds": 100, "pace_ms": 50}, trace.Features{})
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{Timeout: 150 * time.Millisecond}
		r.Run(context.Background(), sess)
		m := sess.Meta()
		if m.State != trace.StateFailed || !strings.Contains(m.Error, "deadline") {
			t.Errorf("state %s (%q); want failed naming the deadline", m.State, m.Error)
		}
		if after := openFDs(t); after != before {
			t.Errorf("open fds %d after, %d before", after, before)
		}
	})
	t.Run("a cancelled session fails", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var r Runner
		sess, err := r.Prepare("echo", map[string]any{"rounds": 100, "pace_ms": 20}, trace.Features{})
		if err != nil {
			t.Fatal(err)
		}
		r.Start(ctx, sess)
		sub := sess.Subscribe(0, 0)
		if _, err := sub.Next(ctx, 1, 0); err != nil { // wait for the first call
			t.Fatal(err)
		}
		cancel()
		r.Wait()
		if m := sess.Meta(); m.State != trace.StateFailed || !strings.Contains(m.Error, "cancel") {
			t.Errorf("state %s (%q); want failed, cancelled", m.State, m.Error)
		}
	})
}

// TestEstimatesMatchPacedRuns runs every scenario paced, at its defaults
// and with its count parameter changed, and holds the estimate the page
// shows progress by (calls expected, time left) to what the run did: the
// events it recorded within a fifth, its duration within a third. The
// estimates once said "25 of about 21 calls, about 0 ns left".
func TestEstimatesMatchPacedRuns(t *testing.T) {
	cases := []struct {
		scenario string
		params   map[string]any
	}{
		{"serviceclient", nil}, {"serviceclient", map[string]any{"names": []any{"a"}}}, {"serviceclient", map[string]any{"names": []any{"a", "b", "c", "d", "e", "f"}}},
		{"echo", nil}, {"echo", map[string]any{"rounds": 1}}, {"echo", map[string]any{"rounds": 6}},
		{"http", nil}, {"stream", nil}, {"refused", nil}, {"reset", nil},
		{"concurrent", nil}, {"concurrent", map[string]any{"clients": 2}}, {"concurrent", map[string]any{"clients": 6}},
		{"backpressure", nil}, {"backpressure", map[string]any{"total": 256 << 10}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %v paced is about as long as estimated", c.scenario, c.params), func(t *testing.T) {
			t.Parallel()
			params := map[string]any{"pace_ms": 20}
			maps.Copy(params, c.params)
			r := &Runner{}
			sess, err := r.Prepare(c.scenario, params, trace.Features{})
			if err != nil {
				t.Fatal(err)
			}
			r.Run(context.Background(), sess)
			rec := sess.Snapshot()
			if rec.State != trace.StateDone {
				t.Fatalf("%s: %s", rec.State, rec.Error)
			}
			events := 0
			for _, e := range rec.Events {
				if e.Kind != trace.KindSegment {
					events++
				}
			}
			if want := rec.ExpectedEvents; events < want*4/5 || events > want*6/5 {
				t.Errorf("%d events; the estimate said about %d", events, want)
			}
			took := rec.Events[len(rec.Events)-1].TNs
			// Within a third, and 100 ms more for a loaded CI machine's own delays.
			if want := rec.ExpectedNs; took < want*2/3 || took > want*3/2+int64(100*time.Millisecond) {
				t.Errorf("took %v; the estimate said about %v", time.Duration(took), time.Duration(want))
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(ents)
}

func TestThousandSessionsLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 sessions: skipped with -short")
	}
	var r Runner
	run := func() {
		sess, err := r.Prepare("serviceclient", nil, trace.Features{})
		if err != nil {
			t.Fatal(err)
		}
		r.Run(context.Background(), sess)
		if m := sess.Meta(); m.State != trace.StateDone {
			t.Fatalf("session failed: %s", m.Error)
		}
	}
	run() // warm up: the runtime's poller opens its own fds once
	fds, goroutines := openFDs(t), runtime.NumGoroutine()
	for range 1000 {
		run()
	}
	if after := openFDs(t); after != fds {
		t.Errorf("open files: %d after 1,000 sessions, %d before", after, fds)
	}
	// Run joins every goroutine of a session, but a context.AfterFunc of
	// an earlier test may still be returning: allow it a moment to end.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); after > goroutines && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if after > goroutines {
		t.Errorf("goroutines: %d after 1,000 sessions, %d before", after, goroutines)
	}
}

func TestASessionStopsAtItsBudget(t *testing.T) {
	r := &Runner{MaxBytes: 64 << 10, Timeout: 30 * time.Second}
	sess, err := r.Prepare("echo", map[string]any{"rounds": 1000}, trace.Features{})
	if err != nil {
		t.Fatal(err)
	}
	r.Run(context.Background(), sess)
	rec := sess.Snapshot()
	if rec.State != trace.StateFailed || !strings.Contains(rec.Error, "budget") {
		t.Fatalf("session %s (%q); want failed at its budget", rec.State, rec.Error)
	}
	if got := sess.Bytes(); got > 64<<10 {
		t.Errorf("the session holds %d bytes of events; want at most its budget, %d", got, 64<<10)
	}
}
