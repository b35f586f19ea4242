package netcore

import (
	"context"
	"testing"
	"unsafe"

	"seqd/trace"
)

// TestReadsShareTheWritesPreviews runs serviceclient and checks that every
// read of bytes that one write of the session sent keeps, as its preview, a
// part of that write's preview rather than a second copy, and that the
// bytes are still the ones read. (A read of bytes from several writes
// copies them.)
func TestReadsShareTheWritesPreviews(t *testing.T) {
	var r Runner
	sess, err := r.Prepare("serviceclient", nil, trace.Features{})
	if err != nil {
		t.Fatal(err)
	}
	r.Run(context.Background(), sess)
	evs := sess.Events(0, sess.Meta().Events)
	sends := map[string][]trace.Event{} // conn → sends on it
	for _, e := range evs {
		if e.Kind == trace.KindSend && e.Phase != trace.PhaseBegin {
			sends[e.Conn] = append(sends[e.Conn], e)
		}
	}
	reads := 0
	for _, e := range evs {
		if e.Kind != trace.KindRecv || e.Bytes == 0 || e.Phase == trace.PhaseBegin {
			continue
		}
		var from *trace.Event
		for i, w := range sends[e.Conn] {
			if w.Actor != e.Actor && w.Offset <= e.Offset && e.Offset+int64(len(e.Data)) <= w.Offset+int64(len(w.Data)) {
				from = &sends[e.Conn][i]
			}
		}
		if from == nil {
			continue // bytes of several writes
		}
		reads++
		want := from.Data[e.Offset-from.Offset:][:len(e.Data)]
		if e.Data != want {
			t.Errorf("seq %d: read %q, the write sent %q", e.Seq, e.Data, want)
		}
		if unsafe.StringData(e.Data) != unsafe.StringData(want) {
			t.Errorf("seq %d: the read's preview %q is a copy, not a part of seq %d's", e.Seq, e.Data, from.Seq)
		}
	}
	if reads == 0 {
		t.Fatal("serviceclient made no read of the bytes of one write")
	}
}

// TestReadsOfFrozenWritesShareTheWrittenBytes runs backpressure, whose
// writes are frozen (writeFrozen): every read of bytes that one of them
// wrote keeps, as its preview, the written bytes themselves at its offset,
// wherever in the write it starts, beyond the write's own preview too; and
// the write's preview is its bytes, not a copy.
func TestReadsOfFrozenWritesShareTheWrittenBytes(t *testing.T) {
	var r Runner
	sess, err := r.Prepare("backpressure", map[string]any{"read_delay_ms": 0, "chunk": 32 << 10, "total": 256 << 10}, trace.Features{})
	if err != nil {
		t.Fatal(err)
	}
	r.Run(context.Background(), sess)
	if m := sess.Meta(); m.State != trace.StateDone {
		t.Fatalf("session %s: %s", m.State, m.Error)
	}
	evs := sess.Events(0, sess.Meta().Events)
	var writes []trace.Event
	for _, e := range evs {
		if e.Kind == trace.KindSend && e.Phase != trace.PhaseBegin && e.Bytes > 0 {
			writes = append(writes, e)
		}
	}
	for i := 1; i < len(writes); i++ {
		// Each write starts where the last one ended in the one buffer.
		w, last := writes[i], writes[i-1]
		if got, want := uintptr(unsafe.Pointer(unsafe.StringData(w.Data))), uintptr(unsafe.Pointer(unsafe.StringData(last.Data)))+uintptr(last.Bytes); got != want {
			t.Fatalf("seq %d: the write's preview is not its bytes in the scenario's buffer", w.Seq)
		}
	}
	beyond := 0
	for _, e := range evs {
		if e.Kind != trace.KindRecv || e.Bytes == 0 || e.Phase == trace.PhaseBegin {
			continue
		}
		for _, w := range writes {
			if w.Offset <= e.Offset && e.Offset+int64(len(e.Data)) <= w.Offset+int64(w.Bytes) {
				at := e.Offset - w.Offset
				if got, want := uintptr(unsafe.Pointer(unsafe.StringData(e.Data))), uintptr(unsafe.Pointer(unsafe.StringData(w.Data)))+uintptr(at); got != want {
					t.Errorf("seq %d: the read's preview is a copy, not the bytes seq %d wrote", e.Seq, w.Seq)
				}
				if at >= int64(len(w.Data)) {
					beyond++
				}
			}
		}
	}
	if beyond == 0 {
		t.Fatal("no read started beyond its write's preview: the test shows nothing")
	}
}
