package netcore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"seqd/trace"
)

// runsPerCase is how many times TestCausalOrder runs each scenario in each
// way: loopback races are rare per session, common over many.
const runsPerCase = 20

// TestCausalOrder runs every scenario many times, unpaced and paced, with
// and without segments, on real sockets, and checks every rule of the
// causal order (trace.CausalViolations) on what was recorded.
func TestCausalOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs each scenario 80 times")
	}
	segments, why := SegmentsAvailable()
	// Small enough that the paced runs take a few seconds each.
	small := map[string]map[string]any{
		"echo":         {"rounds": 3},
		"stream":       {"size": 8192, "chunk": 1024, "writes": 5},
		"concurrent":   {"clients": 3},
		"backpressure": {"total": 32 << 10, "chunk": 8 << 10, "read_delay_ms": 2},
	}
	for _, sc := range scenarios {
		for _, paced := range []bool{false, true} {
			for _, withSegments := range []bool{false, true} {
				how := "unpaced"
				if paced {
					how = "at 40 ms pace"
				}
				if withSegments {
					how += " with segments"
				}
				t.Run(sc.name+" "+how+" is recorded in causal order", func(t *testing.T) {
					if withSegments && !segments {
						needSegments(t)
						t.Skip(why)
					}
					t.Parallel()
					params := map[string]any{}
					for k, v := range small[sc.name] {
						params[k] = v
					}
					if paced {
						params["pace_ms"] = 40
					}
					recs := runMany(t, sc.name, params, trace.Features{Segments: withSegments}, runsPerCase)
					faulty := 0
					for i, rec := range recs {
						if v := trace.CausalViolations(rec.Events); len(v) > 0 {
							faulty++
							if faulty <= 3 {
								t.Errorf("run %d of %d: %d violations:\n  %s", i+1, len(recs), len(v), strings.Join(v, "\n  "))
							}
							if faulty == 1 {
								t.Logf("the first faulty run:\n%s", transcript(rec.Events))
							}
						}
						if withSegments && !hasSegment(rec) {
							t.Errorf("run %d: no segment recorded", i+1)
						}
					}
					if faulty > 0 {
						t.Errorf("%d of %d runs out of causal order", faulty, len(recs))
					}
				})
			}
		}
	}
}

// runMany runs n sessions of one scenario at once and returns their
// records, failing the test for any that did not end done.
func runMany(t *testing.T, name string, params map[string]any, f trace.Features, n int) []trace.Record {
	t.Helper()
	r := &Runner{Preview: 1 << 30, Timeout: time.Minute}
	recs := make([]trace.Record, n)
	var wg sync.WaitGroup
	for i := range recs {
		sess, err := r.Prepare(name, params, f)
		if err != nil {
			t.Fatalf("Prepare(%q, %v): %v", name, params, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(context.Background(), sess)
			recs[i] = sess.Snapshot()
		}()
	}
	wg.Wait()
	for i, rec := range recs {
		if rec.State != trace.StateDone {
			t.Fatalf("run %d: %s ended %s: %s", i+1, name, rec.State, rec.Error)
		}
	}
	return recs
}

func hasSegment(rec trace.Record) bool {
	for _, e := range rec.Events {
		if e.Kind == trace.KindSegment {
			return true
		}
	}
	return false
}

// TestCausalViolationsFindsFaults checks the checker itself on records
// built by hand: each breaks one rule and must be reported.
func TestCausalViolationsFindsFaults(t *testing.T) {
	const conn = "127.0.0.1:5000-127.0.0.1:6000"
	ev := func(seq int, actor string, kind trace.Kind, mod func(*trace.Event)) trace.Event {
		e := trace.Event{Seq: seq, TNs: int64(seq) * 1000, Actor: actor, Kind: kind, Conn: conn}
		if mod != nil {
			mod(&e)
		}
		return e
	}
	data := func(off int64, n int) func(*trace.Event) {
		return func(e *trace.Event) { e.Offset, e.Bytes, e.Ret = off, n, n }
	}
	tests := []struct {
		name   string
		events []trace.Event
		want   string // a word of the violation; "" for none
	}{
		{"a read after its write is in order", []trace.Event{
			ev(0, "client", trace.KindSend, data(0, 5)), ev(1, "server", trace.KindRecv, data(0, 5)),
		}, ""},
		{"a read above the write that fed it is reported", []trace.Event{
			ev(0, "server", trace.KindRecv, data(0, 5)), ev(1, "client", trace.KindSend, data(0, 5)),
		}, "before #1"},
		{"an end of file above the shutdown is reported", []trace.Event{
			ev(0, "server", trace.KindRecv, func(e *trace.Event) { e.EOF = true }),
			ev(1, "client", trace.KindShutdown, func(e *trace.Event) { e.How = "SHUT_WR" }),
		}, "end of file"},
		{"an accept above its connect is reported", []trace.Event{
			ev(0, "server", trace.KindAccept, nil), ev(1, "client", trace.KindConnect, nil),
		}, "accepts"},
		{"a reset above the close that sent it is reported", []trace.Event{
			ev(0, "client", trace.KindRecv, func(e *trace.Event) { e.Errno = "ECONNRESET" }), ev(1, "server", trace.KindClose, nil),
		}, "ECONNRESET"},
		{"an end without its begin is reported", []trace.Event{
			ev(0, "server", trace.KindAccept, func(e *trace.Event) { e.Phase, e.CallID = trace.PhaseEnd, 1 }),
		}, "no begin"},
		{"a data segment above its write is reported", []trace.Event{
			ev(0, "client", trace.KindSegment, func(e *trace.Event) { e.Flags, e.TCPSeq = []string{"SYN"}, 100 }),
			ev(1, "client", trace.KindConnect, nil),
			ev(2, "client", trace.KindSegment, func(e *trace.Event) { e.Flags, e.TCPSeq, e.Len = []string{"PSH", "ACK"}, 101, 5 }),
			ev(3, "client", trace.KindSend, data(0, 5)),
		}, "data segment"},
		{"time going back is reported", []trace.Event{
			ev(0, "client", trace.KindSocket, func(e *trace.Event) { e.TNs = 50 }), ev(1, "client", trace.KindBind, func(e *trace.Event) { e.TNs = 10 }),
		}, "t_ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := trace.CausalViolations(tt.events)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("violations %q; want none", got)
			case tt.want != "" && !strings.Contains(fmt.Sprint(got), tt.want):
				t.Errorf("violations %q; want one mentioning %q", got, tt.want)
			}
		})
	}
}
