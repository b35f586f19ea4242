package web_test

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/trace"
	"seqd/web"
)

// TestViewersThatDoNotReadHoldNoCopyOfTheHistory connects viewers that
// never read (a 4 KiB receive buffer each) to a finished session of
// several megabytes: the server's writes to them block, and what they hold
// while blocked must be the history every viewer shares, not a megabyte
// message each.
func TestViewersThatDoNotReadHoldNoCopyOfTheHistory(t *testing.T) {
	ts, store := storeServer(t, web.Config{})
	sess := trace.NewSession("synthetic", nil, trace.Options{MaxBytes: 64 << 20})
	sess.AddActor("client")
	sess.AddActor("server")
	line := strings.Repeat("x", 999) + "\n"
	for i := range 4000 {
		e := trace.Event{Actor: "client", Kind: trace.KindSend, FD: 3, Ret: 1000, Want: 1000, Bytes: 1000,
			Offset: int64(1000 * i), Data: line, Conn: "127.0.0.1:40000-127.0.0.1:40001", TCPState: "ESTABLISHED"}
		if err := sess.Record(&e, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	sess.Finish(nil)
	store.Add(sess)

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	small := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: small.DialContext}}
	const viewers = 150
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/sessions/" + sess.ID() + "/ws"
	for range viewers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
	}
	time.Sleep(time.Second) // every viewer's handler in its first write, blocked
	grown := int64(heap()) - int64(before)
	t.Logf("%d viewers that do not read: the heap grew %.1f MiB", viewers, float64(grown)/(1<<20))
	// A copy each would be 150 messages of up to 1 MiB.
	if grown > 30<<20 {
		t.Errorf("%d viewers that do not read grew the heap by %.1f MiB; want well under a copy of a message each (%d MiB)", viewers, float64(grown)/(1<<20), viewers)
	}
}
