package netcore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"seqd/trace"
)

// TestBlockedCallsAreSplit runs an exchange in which the server's accept
// waits for a client that connects 20 ms after a viewer has seen the accept
// waiting, and the server's read waits
// for a write made 20 ms after the connection, and checks that each wait is
// recorded as a begin before every event of the client made while it
// waited, with a matching end; and that a viewer who subscribes while the
// accept still waits is sent its begin.
func TestBlockedCallsAreSplit(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sess := trace.NewSession("blocked", nil, trace.Options{})
	ex := &exchange{ctx: ctx, cancel: cancel, sess: sess, preview: DefaultPreview, open: map[*sock]struct{}{}}
	ls, port, err := ex.listener(ex.actor("server"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := ex.actor("client")
	const wait = 20 * time.Millisecond
	joined := make(chan struct{}) // the viewer has checked, mid-block
	g := &group{ex: ex}
	g.spawn(func() error {
		c, err := ls.accept()
		if err != nil {
			return err
		}
		if _, err := c.readAll(readBufSize); err != nil {
			return err
		}
		if err := c.close(); err != nil {
			return err
		}
		return ls.close()
	})
	g.spawn(func() error {
		<-joined
		time.Sleep(wait) // the server's accept waits meanwhile
		s, err := ex.dial(client, port, nil)
		if err != nil {
			return err
		}
		time.Sleep(wait) // the server's read waits meanwhile
		if err := s.writeAll([]byte("alice\n")); err != nil {
			return err
		}
		return s.close()
	})

	t.Run("a viewer joining while accept waits is sent its begin", func(t *testing.T) {
		defer close(joined)
		deadline := time.Now().Add(10 * time.Second)
		for openCall(sess.Snapshot().Events, "server", trace.KindAccept) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("no open accept after 10 s:\n%s", transcript(sess.Snapshot().Events))
			}
			time.Sleep(time.Millisecond)
		}
		batch, err := sess.Subscribe(0, 0).Next(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []trace.Event
		if err := json.Unmarshal([]byte("["+string(batch.JSON)+"]"), &got); err != nil {
			t.Fatal(err)
		}
		if b := openCall(got, "server", trace.KindAccept); b == nil {
			t.Fatalf("the viewer's first batch (%d events) has no open accept", len(got))
		}
	})
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}
	ex.closeAll()
	sess.Finish(nil)
	rec := sess.Snapshot()

	for _, tc := range []struct {
		name string
		kind trace.Kind
		// the client's call that ends the wait
		cause trace.Kind
	}{
		{"the server's accept is begun before the client connects, and ended after", trace.KindAccept, trace.KindConnect},
		{"the server's read is begun before the client writes, and ended after", trace.KindRecv, trace.KindSend},
	} {
		t.Run(tc.name, func(t *testing.T) {
			begin, end := firstSplit(rec.Events, "server", tc.kind)
			if begin == nil || end == nil {
				t.Fatalf("no %s of the server recorded as begin and end:\n%s", tc.kind, transcript(rec.Events))
			}
			if end.TNs-end.DurNs > begin.TNs || !end.Blocked || end.Ret < 0 || end.DurNs < int64(wait)/2 {
				t.Errorf("end #%d (entered %d ns, took %d ns, blocked %v, ret %d) does not match begin #%d at %d ns",
					end.Seq, end.TNs-end.DurNs, end.DurNs, end.Blocked, end.Ret, begin.Seq, begin.TNs)
			}
			caused := false
			for _, e := range rec.Events {
				if e.Actor != client {
					continue
				}
				if entered := e.TNs - e.DurNs; entered >= begin.TNs && e.Seq < begin.Seq {
					t.Errorf("#%d client %s entered while the %s waited, but is recorded before its begin #%d", e.Seq, e.Kind, tc.kind, begin.Seq)
				}
				if e.Kind == tc.cause && e.Seq > begin.Seq && e.Seq < end.Seq {
					caused = true
				}
			}
			if !caused {
				t.Errorf("the client's %s is not between #%d and #%d:\n%s", tc.cause, begin.Seq, end.Seq, transcript(rec.Events))
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
