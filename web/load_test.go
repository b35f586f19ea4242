package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/loadgen"
	"seqd/trace"
	"seqd/web"
)

// The load tests are bounded in count and time and talk to loopback only.
// They log their figures (docs/reliability.md records a run); the
// assertions are about correctness: every viewer gets every event in order,
// every session is right, nothing leaks.

// viewer follows a session's stream and records, for every event, how long
// after the call returned it arrived.
type viewer struct {
	events    []trace.Event
	latencies []time.Duration
	state     string
	err       error
}

func (v *viewer) follow(ctx context.Context, url string, client *http.Client, started time.Time) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		v.err = err
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(32 << 20)
	for {
		_, b, err := c.Read(ctx)
		now := time.Now()
		if err != nil {
			v.err = err
			return
		}
		var m streamMessage
		if err := json.Unmarshal(b, &m); err != nil {
			v.err = err
			return
		}
		// The first events are the history the viewer missed while it
		// connected; latency counts the live ones.
		if len(v.events) > 0 {
			for _, e := range m.Events {
				v.latencies = append(v.latencies, now.Sub(started.Add(time.Duration(e.TNs))))
			}
		}
		v.events = append(v.events, m.Events...)
		if m.State != "" {
			v.state = m.State
			return
		}
	}
}

// peakRSS reads the process's peak resident memory from /proc.
func peakRSS() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

// watch starts n viewers of a session and returns them once all have
// finished. The session is created only after they are all connected, so
// every viewer sees it live.
func watchLive(t *testing.T, base, body string, n int, extra func(id string)) (trace.Record, []*viewer) {
	t.Helper()
	// Viewers subscribe to a paced session that has not produced much yet;
	// a viewer that joins late still gets the history first.
	id := createSession(t, base, body)
	if extra != nil {
		extra(id)
	}
	resp, b := do(t, "GET", base+"/api/sessions/"+id, "", "")
	if resp.StatusCode != 200 {
		t.Fatal(string(b))
	}
	var meta trace.Meta
	_ = json.Unmarshal(b, &meta)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	viewers := make([]*viewer, n)
	var wg sync.WaitGroup
	for i := range viewers {
		viewers[i] = &viewer{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			viewers[i].follow(ctx, wsURL(base, id, ""), client, meta.StartedAt)
		}()
	}
	wg.Wait()
	return waitDone(t, base, id), viewers
}

func checkViewers(t *testing.T, rec trace.Record, viewers []*viewer) []time.Duration {
	t.Helper()
	var all []time.Duration
	for i, v := range viewers {
		if v.err != nil || v.state != string(rec.State) {
			t.Fatalf("viewer %d: %v, state %q", i, v.err, v.state)
		}
		if len(v.events) != len(rec.Events) {
			t.Fatalf("viewer %d got %d events; the session has %d", i, len(v.events), len(rec.Events))
		}
		for j, e := range v.events {
			if e.Seq != j {
				t.Fatalf("viewer %d: event %d has seq %d", i, j, e.Seq)
			}
		}
		all = append(all, v.latencies...)
	}
	return all
}

func TestLoadFiveHundredViewers(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	ts := newTestServer(t, web.Config{})
	start := time.Now()
	rec, viewers := watchLive(t, ts.URL, `{"scenario":"echo","params":{"rounds":25,"pace_ms":10}}`, 500, nil)
	lat := checkViewers(t, rec, viewers)
	t.Logf("500 viewers × %d events in %v: delivery latency p50 %v, p99 %v; peak RSS %s",
		len(rec.Events), time.Since(start).Round(time.Millisecond), loadgen.Percentile(lat, 0.5), loadgen.Percentile(lat, 0.99), peakRSS())
}

func TestLoadTwoHundredSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	ts := newTestServer(t, web.Config{})
	const clients, each = 20, 10
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				name := fmt.Sprintf("c%dn%d", c, i)
				body := `{"scenario":"serviceclient","params":{"names":["` + name + `"]}}`
				resp, err := http.Post(ts.URL+"/api/sessions", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				var out struct{ ID string }
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 201 {
					errs <- fmt.Errorf("create: %d %v", resp.StatusCode, err)
					return
				}
				errs <- checkServiceClient(ts.URL, out.ID, name)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d serviceclient sessions by %d concurrent clients in %v: %.0f sessions/s; peak RSS %s",
		clients*each, clients, elapsed.Round(time.Millisecond), float64(clients*each)/elapsed.Seconds(), peakRSS())
}

// checkServiceClient waits for a session to end and checks that the
// server's reply names what the client sent.
func checkServiceClient(base, id, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/api/sessions/" + id)
		if err != nil {
			return err
		}
		var rec trace.Record
		err = json.NewDecoder(resp.Body).Decode(&rec)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if rec.State == trace.StateRunning {
			time.Sleep(5 * time.Millisecond) // polling an HTTP API
			continue
		}
		if rec.State != trace.StateDone {
			return fmt.Errorf("session %s: %s %s", id, rec.State, rec.Error)
		}
		var reply bytes.Buffer
		for i, e := range rec.Events {
			if e.Seq != i {
				return fmt.Errorf("session %s: event %d has seq %d", id, i, e.Seq)
			}
			if e.Actor == "client" && e.Kind == trace.KindRecv {
				reply.Write(e.Payload())
			}
		}
		if !strings.Contains(reply.String(), name) {
			return fmt.Errorf("session %s: reply %q lacks %q", id, reply.String(), name)
		}
		return nil
	}
	return fmt.Errorf("session %s never finished", id)
}

func TestLoadStuckViewerDelaysNoOne(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	// A session heavy enough (≈ 10 MB of events) to fill every buffer
	// between the server and a viewer that never reads.
	const body = `{"scenario":"backpressure","params":{"total":4194304,"chunk":65536,"read_delay_ms":1}}`
	const viewers = 20
	run := func(withStuck bool) (time.Duration, float64) {
		ts := newTestServer(t, web.Config{WriteTimeout: 500 * time.Millisecond})
		var stuck *websocket.Conn
		rec, vs := watchLive(t, ts.URL, body, viewers, func(id string) {
			if !withStuck {
				return
			}
			var err error
			stuck, _, err = websocket.Dial(context.Background(), wsURL(ts.URL, id, ""), &websocket.DialOptions{HTTPClient: smallBufferClient()})
			if err != nil {
				t.Fatal(err)
			}
		})
		if stuck != nil {
			defer stuck.CloseNow()
		}
		lat := checkViewers(t, rec, vs)
		cut := 0.0
		if withStuck {
			deadline := time.Now().Add(10 * time.Second)
			for cut = metric(t, ts.URL, "seqd_subscribers_cut_off_total"); cut < 1 && time.Now().Before(deadline); cut = metric(t, ts.URL, "seqd_subscribers_cut_off_total") {
				time.Sleep(20 * time.Millisecond) // the write timeout runs out after the session
			}
		}
		return loadgen.Percentile(lat, 0.5), cut
	}
	base, _ := run(false)
	withStuck, cut := run(true)
	t.Logf("%d viewers of a %s session: p50 latency %v alone, %v beside a viewer that never reads", viewers, "backpressure 4 MiB", base, withStuck)
	if cut < 1 {
		t.Errorf("the viewer that never reads was not cut off")
	}
	// Latency is noisy on a shared 2-core machine: the 2× bound is the
	// issue's, with 5 ms of slack for the scheduler.
	if withStuck > 2*base+5*time.Millisecond {
		t.Errorf("p50 latency %v beside a stuck viewer; want within 2× of %v", withStuck, base)
	}
}

func TestTenThousandSessionsLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 sessions: skipped with -short")
	}
	ts := newTestServer(t, web.Config{Limits: web.Limits{CreatePerMinute: 1 << 30, MaxRunningPerIP: 1 << 20, MaxRunning: 1 << 20}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	session := func() {
		resp, err := client.Post(ts.URL+"/api/sessions", "application/json", strings.NewReader(`{"scenario":"serviceclient"}`))
		if err != nil {
			t.Error(err)
			return
		}
		var out struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("create: %d", resp.StatusCode)
		}
	}
	measure := func() (fds, goroutines int, heap uint64) {
		client.CloseIdleConnections()
		// Sessions end just after their creation answers; wait until the
		// server's gauge says none runs.
		for metric(t, ts.URL, "seqd_sessions_running") != 0 {
			time.Sleep(10 * time.Millisecond)
		}
		client.CloseIdleConnections()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents), runtime.NumGoroutine(), ms.HeapInuse
	}
	for range 100 { // warm up: pools, the first 100 stored sessions
		session()
	}
	fds0, g0, heap0 := measure()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2500 && !t.Failed(); i++ {
				session()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	fds1, g1, heap1 := measure()
	t.Logf("10,000 sessions in %v: fds %d → %d, goroutines %d → %d, heap in use %.1f → %.1f MiB (the store keeps the last 1,000)",
		elapsed.Round(time.Millisecond), fds0, fds1, g0, g1, float64(heap0)/(1<<20), float64(heap1)/(1<<20))
	if fds1 > fds0+2 {
		t.Errorf("open files %d after, %d before", fds1, fds0)
	}
	if g1 > g0+5 {
		t.Errorf("goroutines %d after, %d before", g1, g0)
	}
	// The store keeps the last 1,000 finished sessions (~30 KiB each): the
	// heap may grow by that, not by 10,000 sessions.
	if heap1 > heap0+64<<20 {
		t.Errorf("heap in use grew from %d to %d bytes", heap0, heap1)
	}
}
