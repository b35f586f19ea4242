package trace

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRecord measures recording one send event with a 6-byte payload
// preview: the cost tracing adds to each call, beyond the call itself.
//
// A session holds at most DefaultMaxEvents events, so the benchmark starts a
// new one each time it fills: a single session of b.N events would measure
// the garbage collector scanning a heap no real session has.
func BenchmarkRecord(b *testing.B) {
	s := NewSession("bench", nil, Options{})
	payload := []byte("alice\n")
	began := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%DefaultMaxEvents == DefaultMaxEvents-1 {
			s = NewSession("bench", nil, Options{})
		}
		e := Event{Actor: "client", Kind: KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6, Conn: "127.0.0.1:1>127.0.0.1:2", TCPState: "ESTABLISHED"}
		e.SetPayload(payload, 4096)
		if err := s.Record(&e, began); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordCall measures recording one event the way netcore records
// a call: a write holds the session's order across its syscall (HoldFor,
// RecordHeld, Release); a read records at once unless the holder may have
// fed it (RecordTaken). Beside BenchmarkRecord, it shows what the causal
// order costs each kind of call.
func BenchmarkRecordCall(b *testing.B) {
	payload := []byte("alice\n")
	send := Event{Actor: "client", Kind: KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6, Conn: "127.0.0.1:1>127.0.0.1:2", TCPState: "ESTABLISHED"}
	recv := Event{Actor: "server", Kind: KindRecv, FD: 4, Ret: 6, Want: 4096, Bytes: 6, Conn: "127.0.0.1:1>127.0.0.1:2", TCPState: "ESTABLISHED"}
	for _, c := range []struct {
		name  string
		write bool // holds the order across the call, as netcore's write does
		e     Event
	}{
		{"a write holding the order", true, send},
		{"a read nothing in flight fed", false, recv},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := NewSession("bench", nil, Options{})
			em := Emission{Actor: c.e.Actor, Kind: c.e.Kind, Conn: c.e.Conn}
			began := time.Now()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if i%DefaultMaxEvents == DefaultMaxEvents-1 {
					s = NewSession("bench", nil, Options{})
				}
				e := c.e
				e.SetPayload(payload, 4096)
				var err error
				if c.write {
					s.HoldFor(em)
					err = s.RecordHeld(&e, began, nil)
					s.Release()
				} else {
					err = s.RecordTaken(&e, began, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode measures the hand-written JSON encoder for one event.
func BenchmarkEncode(b *testing.B) {
	e := Event{Seq: 12, TNs: 123456, DurNs: 789, Actor: "client", Kind: KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6, Conn: "127.0.0.1:1>127.0.0.1:2", Data: "alice\n", TCPState: "ESTABLISHED"}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = e.AppendJSON(buf[:0])
	}
}

// BenchmarkSubscribe measures delivering events to one subscriber that
// keeps up, through the shared encoding cache.
func BenchmarkSubscribe(b *testing.B) {
	s := NewSession("bench", nil, Options{MaxEvents: b.N + 1})
	sub := s.Subscribe(0, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e := Event{Actor: "client", Kind: KindSend, Bytes: 6, Data: "alice\n"}
		_ = s.Record(&e, time.Time{})
		if _, err := sub.Next(ctx, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreAdd adds a session to a Store holding its default bound
// of finished sessions in every class: what each new session costs the
// store's lock.
func BenchmarkStoreAdd(b *testing.B) {
	st := &Store{}
	for _, class := range []string{"echo", "lab", "proxy", "trace"} {
		for range DefaultMaxFinished {
			s := NewSession(class, nil, Options{})
			s.Finish(nil)
			st.Add(s)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := NewSession("echo", nil, Options{})
		s.Finish(nil)
		st.Add(s)
	}
}
