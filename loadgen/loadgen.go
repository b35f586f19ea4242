// Package loadgen drives a seqd server the way its users do, to measure it:
// viewers that follow a session's WebSocket stream and time each event's
// delivery, and clients that start sessions through the API. seqd bench and
// the web package's benchmarks and load tests use it.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"seqd/trace"
)

// Viewer is one follower of a session's stream.
type Viewer struct {
	// Latencies holds, for every live event, the time from the call's
	// return (the session's started_at plus the event's t_ns) to the
	// arrival of the WebSocket message that carried it. Events of the
	// first message, the history the viewer missed, are not counted.
	Latencies []time.Duration
	Events    int    // events received
	LastSeq   int    // seq of the last event received, -1 for none
	State     string // the final state, "" if the stream ended without one
}

// Follow reads the stream at wsURL until its final message, checking that
// events arrive in seq order without gaps. started is the session's
// started_at.
// connected, if not nil, is called once the WebSocket is open.
func Follow(ctx context.Context, client *http.Client, wsURL string, started time.Time, connected func()) (*Viewer, error) {
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: client})
	if connected != nil {
		connected()
	}
	if err != nil {
		return nil, err
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	v := &Viewer{LastSeq: -1}
	for {
		_, b, err := c.Read(ctx)
		now := time.Now()
		if err != nil {
			return v, fmt.Errorf("after %d events: %w", v.Events, err)
		}
		if state, ok := finalState(b); ok {
			v.State = state
			return v, nil
		}
		live := v.Events > 0
		n, err := scanEvents(b, func(seq int, tns int64) error {
			if seq != v.LastSeq+1 {
				return fmt.Errorf("event seq %d after %d: out of order or a gap", seq, v.LastSeq)
			}
			v.LastSeq = seq
			if live {
				v.Latencies = append(v.Latencies, now.Sub(started.Add(time.Duration(tns))))
			}
			return nil
		})
		if err != nil {
			return v, err
		}
		v.Events += n
	}
}

// finalState reports whether b is the stream's last message and its state.
func finalState(b []byte) (string, bool) {
	if !bytes.HasPrefix(b, []byte(`{"state":`)) {
		return "", false
	}
	var m struct{ State string }
	if err := json.Unmarshal(b, &m); err != nil {
		return "", false
	}
	return m.State, true
}

// scanEvents calls f with the seq and t_ns of every event in an
// {"events":[...]} message. It reads only those two fields, which the
// server's encoder always writes first ({"seq":N,"t_ns":T,…}), because a
// thousand viewers in the measuring process must not cost more than the
// server they measure.
func scanEvents(b []byte, f func(seq int, tns int64) error) (int, error) {
	if !bytes.HasPrefix(b, []byte(`{"events":[`)) {
		return 0, nil // another message, such as {"actors": …}
	}
	n := 0
	for {
		i := bytes.Index(b, []byte(`{"seq":`))
		if i < 0 {
			return n, nil
		}
		b = b[i+len(`{"seq":`):]
		seq, rest, ok := parseInt(b)
		if !ok || !bytes.HasPrefix(rest, []byte(`,"t_ns":`)) {
			return n, errors.New("an event that does not start with seq and t_ns")
		}
		tns, rest, ok := parseInt(rest[len(`,"t_ns":`):])
		if !ok {
			return n, errors.New("an event with a bad t_ns")
		}
		if err := f(int(seq), tns); err != nil {
			return n, err
		}
		n++
		b = rest
	}
}

func parseInt(b []byte) (int64, []byte, bool) {
	var v int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, b[i:], i > 0
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 1) of d.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// Emit records n synthetic send events into sess at rate events per
// second, then finishes it. It stands for a session whose calls come at a
// known rate, to measure delivery alone.
func Emit(ctx context.Context, sess *trace.Session, n int, rate float64) error {
	sess.AddActor("client")
	sess.AddActor("server")
	interval := time.Duration(float64(time.Second) / rate)
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-t.C:
		case <-ctx.Done():
			sess.Finish(ctx.Err())
			return ctx.Err()
		}
		e := trace.Event{Actor: "client", Kind: trace.KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6,
			Offset: int64(6 * i), Data: "hello\n", Conn: "127.0.0.1:40000-127.0.0.1:40001", TCPState: "ESTABLISHED"}
		if err := sess.Record(&e, time.Now()); err != nil {
			sess.Finish(err)
			return err
		}
	}
	sess.Finish(nil)
	return nil
}

// Viewers connects n viewers to the session at wsURL, calls ready once all
// of them have connected (or failed to), and returns them when their
// streams end.
func Viewers(ctx context.Context, wsURL string, n int, started time.Time, ready func()) ([]*Viewer, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	out := make([]*Viewer, n)
	errs := make([]error, n)
	var wg, dialed sync.WaitGroup
	dialed.Add(n)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = Follow(ctx, client, wsURL, started, dialed.Done)
		}()
	}
	dialed.Wait()
	if ready != nil {
		ready()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Latencies gathers the latencies of all viewers.
func Latencies(vs []*Viewer) []time.Duration {
	var all []time.Duration
	for _, v := range vs {
		if v != nil {
			all = append(all, v.Latencies...)
		}
	}
	return all
}

// CreateSession starts a session through the API and returns its id.
func CreateSession(ctx context.Context, client *http.Client, base, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/sessions", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create session: %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct{ ID string }
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// Session reads a session's record.
func Session(ctx context.Context, client *http.Client, base, id string) (trace.Record, error) {
	var rec trace.Record
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/sessions/"+id, nil)
	if err != nil {
		return rec, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return rec, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return rec, fmt.Errorf("get session %s: %d", id, resp.StatusCode)
	}
	return rec, json.NewDecoder(resp.Body).Decode(&rec)
}

// Sessions starts serviceclient sessions through the API from workers
// concurrent clients for the given duration, then waits for all of them to
// end and checks each: done, seq contiguous, the reply names the name sent.
// It returns how many sessions completed and the time from the first
// request to the end of the last session.
func Sessions(ctx context.Context, base string, workers int, dur time.Duration) (int, time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	start := time.Now()
	stop := start.Add(dur)
	var mu sync.Mutex
	var ids, names []string
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				name := fmt.Sprintf("w%di%d", w, i)
				id, err := CreateSession(ctx, client, base, `{"scenario":"serviceclient","params":{"names":["`+name+`"]}}`)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				ids, names = append(ids, id), append(names, name)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return 0, 0, err
	}
	last := start
	for i, id := range ids {
		end, err := checkServiceClient(ctx, client, base, id, names[i])
		if err != nil {
			return 0, 0, err
		}
		if end.After(last) {
			last = end
		}
	}
	return len(ids), last.Sub(start), nil
}

// checkServiceClient waits for a session to end, checks it and returns
// when it finished.
func checkServiceClient(ctx context.Context, client *http.Client, base, id, name string) (time.Time, error) {
	for {
		rec, err := Session(ctx, client, base, id)
		if err != nil {
			return time.Time{}, err
		}
		if rec.State == trace.StateRunning {
			select {
			case <-time.After(2 * time.Millisecond): // polling an HTTP API
				continue
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			}
		}
		if rec.State != trace.StateDone || rec.FinishedAt == nil {
			return time.Time{}, fmt.Errorf("session %s %s: %s", id, rec.State, rec.Error)
		}
		var reply strings.Builder
		for i, e := range rec.Events {
			if e.Seq != i {
				return time.Time{}, fmt.Errorf("session %s: event %d has seq %d", id, i, e.Seq)
			}
			if e.Actor == "client" && e.Kind == trace.KindRecv {
				reply.Write(e.Payload())
			}
		}
		if !strings.Contains(reply.String(), name) {
			return time.Time{}, fmt.Errorf("session %s: the reply %q does not name %q", id, reply.String(), name)
		}
		return *rec.FinishedAt, nil
	}
}

// Events follows session id on the server at base over its WebSocket from
// seq from, as a page on that server would (its Origin, and again after a
// 503 "try again"), and returns every event sent and the final state;
// progress, if not nil, is told how many events each message brought.
func Events(ctx context.Context, base, id string, from int, progress func(n int)) ([]trace.Event, string, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/sessions/" + id + "/ws?from=" + strconv.Itoa(from)
	var c *websocket.Conn
	for {
		var resp *http.Response
		var err error
		c, resp, err = websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
		if err == nil {
			break
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || ctx.Err() != nil {
			return nil, "", err
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, "", err
		}
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	var events []trace.Event
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return events, "", err
		}
		var m struct {
			Events []trace.Event `json:"events"`
			State  string        `json:"state"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return events, "", err
		}
		events = append(events, m.Events...)
		if progress != nil {
			progress(len(m.Events))
		}
		if m.State != "" {
			return events, m.State, nil
		}
	}
}
