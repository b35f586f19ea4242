package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/loadgen"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// storeServer serves a store that the benchmark or test fills itself
// (synthetic sessions, loadgen.Emit), until it ends.
func storeServer(tb testing.TB, cfg web.Config) (*httptest.Server, *trace.Store) {
	tb.Helper()
	store := &trace.Store{MaxFinished: 1 << 20}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Limits.MaxSubscribersPerSession == 0 {
		cfg.Limits.MaxSubscribersPerSession = 20_000
	}
	srv, err := web.New(&netcore.Runner{}, store, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() { ts.Close(); srv.Close() })
	return ts, store
}

// BenchmarkLatency measures the time from a call's return (its event
// recorded) to the WebSocket message carrying it arriving at a Go client,
// with 1 and 1,000 viewers of one session emitting 1,000 events/s.
func BenchmarkLatency(b *testing.B) {
	for _, viewers := range []int{1, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", viewers), func(b *testing.B) {
			ts, store := storeServer(b, web.Config{})
			var all []time.Duration
			for i := 0; i < b.N; i++ {
				sess := trace.NewSession("synthetic", nil, trace.Options{})
				store.Add(sess)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				var emitErr error
				var wg sync.WaitGroup
				vs, err := loadgen.Viewers(ctx, "ws"+ts.URL[4:]+"/api/sessions/"+sess.ID()+"/ws", viewers, sess.StartedAt(), func() {
					wg.Add(1)
					go func() { defer wg.Done(); emitErr = loadgen.Emit(ctx, sess, 2000, 1000) }()
				})
				wg.Wait()
				cancel()
				if err != nil || emitErr != nil {
					b.Fatal(err, emitErr)
				}
				for _, v := range vs {
					if v.LastSeq != 1999 {
						b.Fatalf("a viewer got events up to %d of 2,000", v.LastSeq)
					}
				}
				all = append(all, loadgen.Latencies(vs)...)
			}
			b.ReportMetric(float64(loadgen.Percentile(all, 0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(loadgen.Percentile(all, 0.99).Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkFanOut compares the hub with the baseline, a minimal broadcast
// loop written directly on coder/websocket (one goroutine and a queue per
// connection, as in the library's chat example): both deliver the same
// 2,000 events of the same JSON to the same viewers as fast as they can.
// deliveries/s counts events received by viewers.
func BenchmarkFanOut(b *testing.B) {
	const events = 2000
	for _, viewers := range []int{100, 1000} {
		b.Run(fmt.Sprintf("hub/viewers=%d", viewers), func(b *testing.B) {
			ts, store := storeServer(b, web.Config{})
			var total time.Duration
			for i := 0; i < b.N; i++ {
				sess := trace.NewSession("synthetic", nil, trace.Options{})
				store.Add(sess)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				var start time.Time
				var wg sync.WaitGroup
				_, err := loadgen.Viewers(ctx, "ws"+ts.URL[4:]+"/api/sessions/"+sess.ID()+"/ws", viewers, sess.StartedAt(), func() {
					start = time.Now()
					wg.Add(1)
					go func() { defer wg.Done(); _ = loadgen.Emit(ctx, sess, events, 1e9) }()
				})
				wg.Wait()
				total += time.Since(start)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(events*viewers*b.N)/total.Seconds(), "deliveries/s")
		})
		b.Run(fmt.Sprintf("baseline/viewers=%d", viewers), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				total += baselineBroadcast(b, viewers, events)
			}
			b.ReportMetric(float64(events*viewers*b.N)/total.Seconds(), "deliveries/s")
		})
	}
}

// baselineBroadcast runs the minimal broadcast loop: every event is encoded
// once and written as its own message to every connection by that
// connection's goroutine. It returns the time until every viewer has read
// every event.
func baselineBroadcast(b *testing.B, viewers, events int) time.Duration {
	var mu sync.Mutex
	queues := map[chan []byte]bool{}
	joined := make(chan struct{}, viewers)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		q := make(chan []byte, events+1)
		mu.Lock()
		queues[q] = true
		mu.Unlock()
		joined <- struct{}{}
		ctx := c.CloseRead(context.Background())
		for msg := range q {
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var start time.Time
	_, err := loadgen.Viewers(ctx, "ws"+ts.URL[4:], viewers, time.Now(), func() {
		for range viewers {
			<-joined
		}
		start = time.Now()
		go func() {
			for i := 0; i < events; i++ {
				e := trace.Event{Seq: i, Actor: "client", Kind: trace.KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6,
					Offset: int64(6 * i), Data: "hello\n", Conn: "127.0.0.1:40000-127.0.0.1:40001", TCPState: "ESTABLISHED"}
				msg := append(e.AppendJSON([]byte(`{"events":[`)), ']', '}')
				mu.Lock()
				for q := range queues {
					q <- msg
				}
				mu.Unlock()
			}
			end, _ := json.Marshal(map[string]string{"state": "done"})
			mu.Lock()
			for q := range queues {
				q <- end
				close(q)
			}
			mu.Unlock()
		}()
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkAPISessions starts serviceclient sessions through the API from
// 8 concurrent clients for 2 s, checks every one, and reports sessions/s
// from the first request to the end of the last session.
func BenchmarkAPISessions(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ts, _ := storeServer(b, web.Config{Limits: web.Limits{CreatePerMinute: 1 << 30, MaxRunning: 1 << 20, MaxRunningPerIP: 1 << 20}})
		n, elapsed, err := loadgen.Sessions(context.Background(), ts.URL, 8, 2*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "sessions/s")
	}
}
