package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/loadgen"
	"seqd/trace"
	"seqd/web"
)

// streamMessage is any message of the WebSocket stream.
type streamMessage struct {
	Events []trace.Event `json:"events"`
	Actors []string      `json:"actors"`
	State  string        `json:"state"`
	Error  string        `json:"error"`
}

// follow reads a session's stream to its end and returns the events and
// the final state.
func follow(t *testing.T, wsURL string, header http.Header) ([]trace.Event, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	defer c.CloseNow()
	batches, state := readStream(ctx, t, c)
	var events []trace.Event
	for _, b := range batches {
		events = append(events, b...)
	}
	return events, state
}

// readStream reads the stream on c to its end and returns the events of
// each message that had some, and the final state.
func readStream(ctx context.Context, t *testing.T, c *websocket.Conn) ([][]trace.Event, string) {
	t.Helper()
	c.SetReadLimit(16 << 20)
	var batches [][]trace.Event
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d messages of events: %v", len(batches), err)
		}
		var m streamMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %q: %v", b, err)
		}
		if len(m.Events) > 0 {
			batches = append(batches, m.Events)
		}
		if m.State != "" {
			_, _, err := c.Read(ctx)
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Errorf("after the final message: %v; want a normal close", err)
			}
			return batches, m.State
		}
	}
}

func wsURL(base, id, query string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/api/sessions/" + id + "/ws" + query
}

// dialStream opens session id's stream on the server at base as a viewer
// does, failing the test if it cannot; the connection is closed when the
// test ends (closing it sooner is harmless).
func dialStream(ctx context.Context, t *testing.T, base, id string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, wsURL(base, id, ""), nil)
	if err != nil {
		t.Fatalf("opening session %s's stream: %v", id, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestStream(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":20,"pace_ms":2}}`)

	t.Run("a live viewer gets every event in order, then the final state", func(t *testing.T) {
		events, state := follow(t, wsURL(ts.URL, id, ""), nil)
		if state != "done" {
			t.Errorf("final state %q; want done", state)
		}
		for i, e := range events {
			if e.Seq != i {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
		rec := waitDone(t, ts.URL, id)
		if len(events) != len(rec.Events) {
			t.Errorf("stream gave %d events; the session has %d", len(events), len(rec.Events))
		}
	})
	t.Run("a late viewer gets the whole history", func(t *testing.T) {
		rec := waitDone(t, ts.URL, id)
		events, _ := follow(t, wsURL(ts.URL, id, ""), nil)
		if len(events) != len(rec.Events) || events[len(events)-1].Seq != len(rec.Events)-1 {
			t.Errorf("late viewer got %d events; want %d", len(events), len(rec.Events))
		}
	})
	t.Run("a viewer resumes with from=N", func(t *testing.T) {
		rec := waitDone(t, ts.URL, id)
		events, _ := follow(t, wsURL(ts.URL, id, "?from=10"), nil)
		if len(events) != len(rec.Events)-10 || events[0].Seq != 10 {
			t.Errorf("resumed viewer got %d events from seq %d; want %d from 10", len(events), events[0].Seq, len(rec.Events)-10)
		}
	})
	t.Run("a cross-origin viewer is refused with 403", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, wsURL(ts.URL, id, ""), &websocket.DialOptions{
			HTTPHeader: http.Header{"Origin": {"https://evil.example"}},
		})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin dial: %v, %v; want 403", err, resp)
		}
	})
	t.Run("a bad from is a 400", func(t *testing.T) {
		for _, from := range []string{"-1", "x", "99999999999"} {
			resp, b := do(t, "GET", ts.URL+"/api/sessions/"+id+"/ws?from="+from, "", "")
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "from") {
				t.Errorf("from=%s: %d %s", from, resp.StatusCode, b)
			}
		}
	})
	t.Run("an allowed origin may subscribe", func(t *testing.T) {
		ts := newTestServer(t, web.Config{AllowedOrigins: []string{"https://course.example.edu"}})
		id := createSession(t, ts.URL, `{"scenario":"http"}`)
		_, state := follow(t, wsURL(ts.URL, id, ""), http.Header{"Origin": {"https://course.example.edu"}})
		if state != "done" {
			t.Errorf("state %q", state)
		}
	})
}

func TestViewerThatNeverReadsIsCutOff(t *testing.T) {
	ts := newTestServer(t, web.Config{WriteTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The session must out-produce every buffer between the server and the
	// stuck viewer: its own small receive buffer and the server's send
	// buffer, which autotunes up to 4 MiB.
	id := createSession(t, ts.URL, `{"scenario":"backpressure","params":{"total":4194304,"chunk":1048576,"read_delay_ms":0,"pace_ms":0}}`)
	stuck, _, err := websocket.Dial(ctx, wsURL(ts.URL, id, ""), &websocket.DialOptions{HTTPClient: smallBufferClient()})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.CloseNow()

	events, state := follow(t, wsURL(ts.URL, id, ""), nil)
	if state != "done" || events[len(events)-1].Seq != len(events)-1 {
		t.Fatalf("the reading viewer got %d events, state %q; want all of them and done", len(events), state)
	}
	// The server cuts it off once a write has waited WriteTimeout.
	for metric(t, ts.URL, "seqd_subscribers_cut_off_total") < 1 {
		if ctx.Err() != nil {
			t.Fatal("the stuck viewer was never cut off")
		}
		time.Sleep(10 * time.Millisecond) // polling /metrics
	}
	// Its stream ends without the final message.
	stuck.SetReadLimit(16 << 20)
	got := 0
	for {
		_, b, err := stuck.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the stuck viewer was never cut off")
			}
			break
		}
		var m streamMessage
		_ = json.Unmarshal(b, &m)
		if m.State != "" {
			t.Fatalf("the stuck viewer got the whole session (%d events): it was never cut off", got)
		}
		got += len(m.Events)
	}
	if got >= len(events) {
		t.Errorf("the stuck viewer got %d of %d events", got, len(events))
	}
}

// smallBufferClient dials with a small receive buffer, like a phone on
// bad Wi-Fi.
func smallBufferClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func TestViewerAsksForBatches(t *testing.T) {
	ts, store := storeServer(t, web.Config{})
	// messages follows a synthetic session of n events at rate a second
	// with query, and returns the events of each message.
	messages := func(t *testing.T, query string, n int, rate float64) [][]trace.Event {
		t.Helper()
		sess := trace.NewSession("synthetic", nil, trace.Options{})
		store.Add(sess)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, wsURL(ts.URL, sess.ID(), query), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		emitted := make(chan error, 1)
		go func() { emitted <- loadgen.Emit(ctx, sess, n, rate) }()
		batches, _ := readStream(ctx, t, c)
		if err := <-emitted; err != nil {
			t.Fatal(err)
		}
		seq := 0
		for _, b := range batches {
			for _, e := range b {
				if e.Seq != seq {
					t.Fatalf("event seq %d where %d was next", e.Seq, seq)
				}
				seq++
			}
		}
		if seq != n {
			t.Fatalf("got %d events; want %d", seq, n)
		}
		return batches
	}
	t.Run("with batch_ms=16 a burst comes a frame's worth a message, every event in order", func(t *testing.T) {
		// 400 events at 1,000 a second: 0.4 s is 25 frames; a message an event would be 400.
		if got := messages(t, "?batch_ms=16", 400, 1000); len(got) > 60 {
			t.Errorf("400 events in 0.4 s came in %d messages; want a message a frame (about 25)", len(got))
		}
	})
	t.Run("without batch_ms each event comes as it is recorded", func(t *testing.T) {
		// 50 events 10 ms apart: a message each, but for the odd late write.
		if got := messages(t, "", 50, 100); len(got) < 40 {
			t.Errorf("50 events 10 ms apart came in %d messages; want about one each", len(got))
		}
	})
	t.Run("a bad batch_ms is a 400 naming it", func(t *testing.T) {
		sess := trace.NewSession("synthetic", nil, trace.Options{})
		store.Add(sess)
		for _, q := range []string{"-1", "x", "1001", "18446744073710", "9223372036855", "99999999999999999999"} {
			resp, b := do(t, "GET", ts.URL+"/api/sessions/"+sess.ID()+"/ws?batch_ms="+q, "", "")
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "batch_ms") {
				t.Errorf("batch_ms=%s: %d %s", q, resp.StatusCode, b)
			}
		}
		sess.Finish(nil)
	})
}
