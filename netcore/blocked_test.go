package netcore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"seqd/trace"
)

// TestBlockedCallsAreSplit runs a paced serviceclient, in which the
// server's accept waits for the client to connect and its first read waits
// for the client's first write, and checks that each wait is recorded as a
// begin before every event of the client made while it waited, with a
// matching end; and that a viewer who subscribes while the accept still
// waits is sent its begin.
func TestBlockedCallsAreSplit(t *testing.T) {
	r := &Runner{Timeout: 30 * time.Second}
	sess, err := r.Prepare("serviceclient", map[string]any{"pace_ms": 30}, trace.Features{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(context.Background(), sess)
	}()

	t.Run("a viewer joining while accept waits is sent its begin", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			rec := sess.Snapshot()
			if b := openCall(rec.Events, "server", trace.KindAccept); b != nil {
				sub := sess.Subscribe(0, 0)
				batch, err := sub.Next(ctx, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got []trace.Event
				if err := json.Unmarshal([]byte("["+string(batch.JSON)+"]"), &got); err != nil {
					t.Fatal(err)
				}
				if b.Seq >= len(got) || got[b.Seq].Phase != trace.PhaseBegin || got[b.Seq].Kind != trace.KindAccept {
					t.Fatalf("the viewer's first batch has %d events; want the accept's begin at seq %d", len(got), b.Seq)
				}
				return
			}
			if rec.State != trace.StateRunning || ctx.Err() != nil {
				t.Fatalf("the session ended (%s) or 10 s passed without an open accept", rec.State)
			}
			time.Sleep(time.Millisecond)
		}
	})
	<-done
	rec := sess.Snapshot()
	if rec.State != trace.StateDone {
		t.Fatalf("session %s: %s", rec.State, rec.Error)
	}
	for _, tc := range []struct {
		name string
		kind trace.Kind
		// what the other actor does while the call waits
		during func(e trace.Event) bool
	}{
		{"the server's accept is begun before the client connects, and ended after", trace.KindAccept,
			func(e trace.Event) bool { return e.Kind == trace.KindConnect }},
		{"the server's first read is begun before the client writes, and ended after", trace.KindRecv,
			func(e trace.Event) bool { return e.Kind == trace.KindSend }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			begin, end := firstSplit(rec.Events, "server", tc.kind)
			if begin == nil || end == nil {
				t.Fatalf("no %s of the server recorded as begin and end:\n%s", tc.kind, transcript(rec.Events))
			}
			if end.TNs-end.DurNs > begin.TNs || !end.Blocked || end.Ret < 0 {
				t.Errorf("end #%d (entered %d ns, blocked %v, ret %d) does not match begin #%d at %d ns",
					end.Seq, end.TNs-end.DurNs, end.Blocked, end.Ret, begin.Seq, begin.TNs)
			}
			caused := false
			for _, e := range rec.Events {
				if e.Actor != "client" || e.Kind == trace.KindSegment {
					continue
				}
				entered := e.TNs - e.DurNs
				if entered >= end.TNs-end.DurNs && e.Seq < end.Seq && e.Seq < begin.Seq {
					t.Errorf("#%d client %s entered while the %s waited, but is recorded before its begin #%d", e.Seq, e.Kind, tc.kind, begin.Seq)
				}
				if tc.during(e) && e.Seq > begin.Seq && e.Seq < end.Seq {
					caused = true
				}
			}
			if !caused {
				t.Errorf("the client's call that ends the wait is not between #%d and #%d:\n%s", begin.Seq, end.Seq, transcript(rec.Events))
			}
		})
	}
}

// openCall returns the begin of actor's call of kind that has no end yet.
func openCall(evs []trace.Event, actor string, kind trace.Kind) *trace.Event {
	var open *trace.Event
	for i := range evs {
		e := &evs[i]
		if e.Actor != actor || e.Kind != kind {
			continue
		}
		switch e.Phase {
		case trace.PhaseBegin:
			open = e
		case trace.PhaseEnd:
			if open != nil && open.CallID == e.CallID {
				open = nil
			}
		}
	}
	return open
}

// firstSplit returns the begin and end of actor's first call of kind that
// was split.
func firstSplit(evs []trace.Event, actor string, kind trace.Kind) (begin, end *trace.Event) {
	for i := range evs {
		e := &evs[i]
		if e.Actor != actor || e.Kind != kind {
			continue
		}
		if begin == nil && e.Phase == trace.PhaseBegin {
			begin = e
		} else if begin != nil && e.Phase == trace.PhaseEnd && e.CallID == begin.CallID {
			return begin, e
		}
	}
	return begin, nil
}

func transcript(evs []trace.Event) string {
	s := ""
	for i := range evs {
		s += trace.TranscriptLine(&evs[i], 6) + "\n"
	}
	return s
}
