package replica_test

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"seqd/loadgen"
	"seqd/netcore"
	"seqd/replica"
	"seqd/trace"
	"seqd/web"
)

// cluster is the three-node NATS JetStream cluster the tests share: its
// leader elections take seconds, too long to repeat for every test.
// clusterOpts are its nodes' options, to start one again after a test
// stopped it.
var (
	cluster     []*server.Server
	clusterOpts []*server.Options
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seqd-nats-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = startCluster(dir, 3)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the NATS cluster:", err)
	} else {
		code = m.Run()
	}
	for _, s := range cluster {
		s.Shutdown()
		s.WaitForShutdown()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePorts returns n ports free on loopback now.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		defer l.Close()
	}
	return ports, nil
}

// startCluster starts n embedded NATS servers with JetStream, routed to
// one another on loopback, and waits until JetStream answers on each.
func startCluster(dir string, n int) error {
	routePorts, err := freePorts(n)
	if err != nil {
		return err
	}
	clientPorts, err := freePorts(n)
	if err != nil {
		return err
	}
	for i := range n {
		var routes []*url.URL
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		clusterOpts = append(clusterOpts, &server.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i)),
			Cluster:    server.ClusterOpts{Name: "seqd", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     routes,
			NoLog:      true,
			NoSigs:     true,
		})
		cluster = append(cluster, nil)
	}
	for i := range n {
		if err := startNode(i, false); err != nil {
			return err
		}
	}
	for i := range n {
		if err := waitCurrent(cluster[i]); err != nil {
			return err
		}
	}
	return nil
}

// startNode starts node i of the cluster (again); wait: until its
// JetStream is current.
func startNode(i int, wait bool) error {
	s, err := server.NewServer(clusterOpts[i])
	if err != nil {
		return err
	}
	s.Start()
	cluster[i] = s
	if !s.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("%s not ready for connections", s.Name())
	}
	if wait {
		return waitCurrent(s)
	}
	return nil
}

// waitCurrent waits until s's JetStream has a meta leader and is current.
func waitCurrent(s *server.Server) error {
	deadline := time.Now().Add(30 * time.Second)
	for !s.JetStreamIsCurrent() || !s.JetStreamEnabled() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: JetStream not current after 30 s", s.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// waitStreams waits until the events stream and the metadata bucket have
// a leader and every replica of theirs is current again.
func waitStreams(js jetstream.JetStream) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range []string{replica.Stream, "KV_" + replica.Bucket} {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := js.Stream(ctx, name)
			var info *jetstream.StreamInfo
			if err == nil {
				info, err = st.Info(ctx)
			}
			cancel()
			healthy := err == nil && info.Cluster != nil && info.Cluster.Leader != "" && len(info.Cluster.Replicas) == 2
			for _, r := range infoReplicas(info) {
				healthy = healthy && r.Current
			}
			if healthy {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("stream %s not healthy after 30 s (%v)", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func infoReplicas(info *jetstream.StreamInfo) []*jetstream.PeerInfo {
	if info == nil || info.Cluster == nil {
		return nil
	}
	return info.Cluster.Replicas
}

// clientURLs are the cluster's client URLs, node i's first.
func clientURLs(i int) string {
	urls := []string{fmt.Sprintf("nats://127.0.0.1:%d", clusterOpts[i].Port)}
	for j, o := range clusterOpts {
		if j != i {
			urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
		}
	}
	return strings.Join(urls, ",")
}

// replicaServer is one seqd replica: a web server whose node is connected
// to NATS server i first.
type replicaServer struct {
	url   string
	node  *replica.Node
	nats  int // the NATS server it prefers
	js    jetstream.JetStream
	store *trace.Store
	stop  func() // closes its web server
}

// startReplicas starts three replicas, their web configuration changed
// by tune, if any.
func startReplicas(t testing.TB, tune ...func(*web.Config)) []replicaServer {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var out []replicaServer
	for i := range cluster {
		nc, err := nats.Connect(clientURLs(i), nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		var node *replica.Node
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for {
			// The first node to create the stream waits for its
			// replicas' election; the others join it.
			node, err = replica.Start(ctx, nc, replica.Config{Replicas: 3, Logger: quiet})
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		store := &trace.Store{MaxFinished: 1 << 20}
		cfg := web.Config{Logger: quiet, Replicas: node, Limits: web.Limits{MaxSubscribersPerSession: 20_000, MaxSubscribersPerIP: 20_000, MaxSubscribers: 20_000}}
		for _, f := range tune {
			f(&cfg)
		}
		srv, err := web.New(&netcore.Runner{}, store, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		stop := sync.OnceFunc(func() { ts.CloseClientConnections(); ts.Close(); srv.Close(); node.Close() })
		t.Cleanup(stop)
		js, _ := jetstream.New(nc)
		out = append(out, replicaServer{url: ts.URL, node: node, nats: i, js: js, store: store, stop: stop})
	}
	return out
}

// createSession starts scenario on the replica at base and returns its id.
func createSession(t *testing.T, base, body string) string {
	t.Helper()
	return postSession(t, base, body).ID
}

// postSession creates the session body asks for on the replica at base.
func postSession(t *testing.T, base, body string) stepped {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/sessions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created stepped
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, err)
	}
	return created
}

// watch follows session id on the replica at base over its WebSocket from
// seq from, and returns every event it sends and the final state.
func watch(ctx context.Context, base, id string, from int) ([]trace.Event, string, error) {
	return watchCounting(ctx, base, id, from, nil)
}

// watchCounting is watch, adding the events of each message to got.
func watchCounting(ctx context.Context, base, id string, from int, got *atomic.Int64) ([]trace.Event, string, error) {
	return loadgen.Events(ctx, base, id, from, func(n int) {
		if got != nil {
			got.Add(int64(n))
		}
	})
}

// seen is what one viewer saw of a session.
type seen struct {
	events []trace.Event
	state  string
	err    error
}

// watchOn follows session id from its first event on each of replicas at
// once; each viewer's view comes on the channel when its stream ends.
func watchOn(ctx context.Context, replicas []replicaServer, id string) <-chan seen {
	results := make(chan seen, len(replicas))
	for _, r := range replicas {
		go func() {
			evs, state, err := watch(ctx, r.url, id, 0)
			results <- seen{evs, state, err}
		}()
	}
	return results
}

// collect takes n views from results.
func collect(results <-chan seen, n int) []seen {
	var got []seen
	for range n {
		got = append(got, <-results)
	}
	return got
}

// assertSawAll checks that every viewer saw the whole of want, the
// session as the replica that ran it holds it, once each and in order.
func assertSawAll(t *testing.T, got []seen, want trace.Record) {
	t.Helper()
	if want.State != trace.StateDone {
		t.Fatalf("the session on the replica that ran it: %s %s", want.State, want.Error)
	}
	for i, g := range got {
		if g.err != nil {
			t.Errorf("viewer %d: %v after %d events", i, g.err, len(g.events))
			continue
		}
		if g.state != string(trace.StateDone) || !reflect.DeepEqual(g.events, want.Events) {
			t.Errorf("viewer %d: %d events in state %q; want the %d of the replica that ran it, in order, once each", i, len(g.events), g.state, len(want.Events))
		}
	}
}

// snapshot is GET /api/sessions/{id} on the replica at base.
// stepped is a stepped session as its creator knows it.
type stepped struct {
	ID        string `json:"id"`
	StepToken string `json:"step_token"`
}

// createStepped creates a stepped session on the replica at base.
func createStepped(t *testing.T, base, body string) stepped {
	t.Helper()
	created := postSession(t, base, body)
	if created.StepToken == "" {
		t.Fatalf("a stepped session %s was created without its step token", created.ID)
	}
	return created
}

// present asks the replica at base to step or run (action) the stepped
// session, with its token, as its presenter's page does; it returns the
// status.
func present(t *testing.T, base string, sess stepped, action string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/sessions/"+sess.ID+"/"+action, nil)
	req.Header.Set("Authorization", "Bearer "+sess.StepToken)
	req.Header.Set("Origin", base)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// snapshotMeta is a session's metadata on the replica at base.
func snapshotMeta(t *testing.T, base, id string) trace.Meta {
	t.Helper()
	resp, err := http.Get(base + "/api/sessions/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m trace.Meta
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func snapshot(t *testing.T, base, id string) trace.Record {
	t.Helper()
	rec, err := loadgen.Session(context.Background(), http.DefaultClient, base, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestReplicas(t *testing.T) {
	replicas := startReplicas(t)
	a, b, c := replicas[0], replicas[1], replicas[2]

	t.Run("a session run on one replica is watched live on the others, event for event", func(t *testing.T) {
		id := createSession(t, a.url, `{"scenario":"echo","params":{"rounds":20,"pace_ms":5}}`)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		got := collect(watchOn(ctx, []replicaServer{b, c}, id), 2)
		assertSawAll(t, got, snapshot(t, a.url, id))
	})

	t.Run("a viewer on another replica can start from any seq", func(t *testing.T) {
		id := createSession(t, a.url, `{"scenario":"serviceclient"}`)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		all, _, err := watch(ctx, a.url, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		from := len(all) / 2
		tail, state, err := watch(ctx, c.url, id, from)
		if err != nil {
			t.Fatal(err)
		}
		if state != string(trace.StateDone) || !reflect.DeepEqual(tail, all[from:]) {
			t.Errorf("from %d on C: %d events in state %q; want the last %d of A's", from, len(tail), state, len(all)-from)
		}
		if rec := snapshot(t, b.url, id); rec.State != trace.StateDone || len(rec.Events) != len(all) {
			t.Errorf("GET on B: %s with %d events, want done with %d", rec.State, len(rec.Events), len(all))
		}
	})

	t.Run("a session finished on one replica is in every replica's recent list, newest first", func(t *testing.T) {
		first := createSession(t, a.url, `{"scenario":"serviceclient"}`)
		second := createSession(t, b.url, `{"scenario":"serviceclient"}`)
		for _, r := range []replicaServer{a, b} {
			snapshot(t, r.url, map[string]string{a.url: first, b.url: second}[r.url]) // finished
		}
		for _, r := range replicas {
			var ids []string
			deadline := time.Now().Add(10 * time.Second)
			for {
				ids = recentIDs(t, r.url, "")
				if len(ids) >= 2 && ids[0] == second && ids[1] == first {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET /api/sessions on %s lists %v; want %s (run on B) then %s (run on A) first", r.url, ids, second, first)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if page := recentIDs(t, r.url, second); len(page) == 0 || page[0] != first {
				t.Errorf("GET /api/sessions?before=%s on %s lists %v; want %s first", second, r.url, page, first)
			}
		}
	})

	t.Run("a replica stops: its viewers resume on another from their seq, losing nothing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		extra := startReplicas(t) // a replica of its own to stop
		gone := extra[1]
		id := createSession(t, extra[0].url, `{"scenario":"echo","params":{"rounds":40,"pace_ms":10}}`)
		done := make(chan struct{})
		var before []trace.Event
		var got atomic.Int64
		var watchErr error
		go func() {
			defer close(done)
			before, _, watchErr = watchCounting(ctx, gone.url, id, 0, &got)
		}()
	wait:
		for got.Load() < 20 {
			select {
			case <-done:
				break wait
			case <-time.After(10 * time.Millisecond):
			}
		}
		gone.stop()
		<-done
		if len(before) == 0 {
			t.Fatalf("the viewer got nothing before its replica stopped: %v", watchErr)
		}
		rest, state, err := watch(ctx, extra[2].url, id, len(before))
		if err != nil {
			t.Fatal(err)
		}
		want := snapshot(t, extra[0].url, id)
		if all := append(before, rest...); state != string(trace.StateDone) || !reflect.DeepEqual(all, want.Events) {
			t.Errorf("%d events before the stop and %d after, state %q; want the %d of the replica that ran it", len(before), len(rest), state, len(want.Events))
		}
	})

	t.Run("the replica that runs a session is gone: its copies elsewhere end failed, saying so", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		extra := startReplicas(t)
		id := createSession(t, extra[0].url, `{"scenario":"echo","params":{"rounds":200,"pace_ms":20}}`)
		var got atomic.Int64
		result := make(chan seen, 1)
		go func() {
			evs, state, err := watchCounting(ctx, extra[1].url, id, 0, &got)
			result <- seen{evs, state, err}
		}()
		for got.Load() < 10 && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		stopped := time.Now()
		extra[0].node.Close() // no more events, no more heartbeats: gone, as far as the cluster knows
		r := <-result
		if r.err != nil {
			t.Fatal(r.err)
		}
		rec := snapshot(t, extra[1].url, id)
		if r.state != string(trace.StateFailed) || !strings.Contains(rec.Error, "replica that ran this session stopped") {
			t.Errorf("the copy on B: state %q, error %q; want failed, naming the stopped replica", r.state, rec.Error)
		}
		if d := time.Since(stopped); d > replica.Dead+2*replica.Silence {
			t.Errorf("the copy noticed after %v", d)
		}
	})

	t.Run("a session its replica did not save says so on the others too", func(t *testing.T) {
		sess := trace.NewSession("echo", nil, trace.Options{})
		sess.AddActor("client")
		const why = "its address has used its share"
		sess.WhenFinishing(func(int64) string { return why })
		a.node.Publish(sess)
		if err := sess.Record(&trace.Event{Actor: "client", Kind: trace.KindSocket, FD: 3, Ret: 3}, time.Now()); err != nil {
			t.Fatal(err)
		}
		sess.Finish(nil)
		if got := sess.Meta().Unsaved; got != why {
			t.Fatalf("on A, where it ran: unsaved %q; want %q", got, why)
		}
		if rec := snapshot(t, b.url, sess.ID()); rec.State != trace.StateDone || rec.Unsaved != why {
			t.Errorf("on B: %s, unsaved %q; want done, unsaved %q", rec.State, rec.Unsaved, why)
		}
	})

	t.Run("a step sent to another replica steps the session where it runs, with its token only", func(t *testing.T) {
		created := createStepped(t, a.url, `{"scenario":"serviceclient","step":true}`)
		step := func(base, token string, query ...string) (int, trace.Meta) {
			req, _ := http.NewRequest("POST", base+"/api/sessions/"+created.ID+"/step"+strings.Join(query, ""), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Origin", base)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m trace.Meta
			json.NewDecoder(resp.Body).Decode(&m)
			return resp.StatusCode, m
		}
		before := snapshot(t, a.url, created.ID)
		if code, _ := step(c.url, "not-the-token"); code != http.StatusForbidden {
			t.Errorf("a step on C with a wrong token: %d, want 403", code)
		}
		for i := range 3 {
			code, m := step(c.url, created.StepToken)
			if code != http.StatusOK {
				t.Fatalf("step %d on C: %d", i, code)
			}
			if m.ID != created.ID {
				t.Fatalf("step %d on C answered for session %q", i, m.ID)
			}
		}
		after := snapshot(t, a.url, created.ID)
		if len(after.Events) <= len(before.Events) {
			t.Errorf("three steps on C: the session on A went from %d to %d events", len(before.Events), len(after.Events))
		}
		// The step's ?pending= goes along: a step for a call no longer shown is refused where the session runs.
		if code, _ := step(c.url, created.StepToken, "?pending=1000000"); code != http.StatusPreconditionFailed {
			t.Errorf("a step on C for pending call 1000000: %d, want 412", code)
		}
		if now := snapshot(t, a.url, created.ID); len(now.Events) != len(after.Events) {
			t.Errorf("the refused step made %d events", len(now.Events)-len(after.Events))
		}
	})

	t.Run("a stepped session's question shows on another replica, and answers there count where it runs", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		created := createStepped(t, a.url, `{"scenario":"serviceclient","step":true,"questions":true}`)
		// Step on A until a call with a question is next.
		var asked *trace.Question
		for i := 0; i < 40 && asked == nil; i++ {
			if m := snapshotMeta(t, a.url, created.ID); m.Pending != nil && m.Pending.Question != nil {
				asked = m.Pending.Question
				break
			}
			present(t, a.url, created, "step")
		}
		if asked == nil {
			t.Fatal("no question came in 40 steps")
		}
		// A viewer on C sees it, and answers there.
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.url, "http")+"/api/sessions/"+created.ID+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conn.SetReadLimit(-1)
		type message struct {
			Viewer  string         `json:"viewer"`
			Pending *trace.Pending `json:"pending"`
		}
		var viewer string
		next := func(want func(m message) bool) {
			t.Helper()
			for {
				_, b, err := conn.Read(ctx)
				if err != nil {
					t.Fatalf("the stream on C: %v", err)
				}
				var m message
				_ = json.Unmarshal(b, &m)
				if m.Viewer != "" {
					viewer = m.Viewer
				}
				if want(m) {
					return
				}
			}
		}
		next(func(m message) bool {
			return m.Pending != nil && m.Pending.Question != nil && m.Pending.Question.Text == asked.Text
		})
		if viewer == "" {
			t.Fatal("the stream on C gave no viewer token")
		}
		answer := func(token string) int {
			req, _ := http.NewRequest("POST", c.url+"/api/sessions/"+created.ID+"/answer", strings.NewReader(fmt.Sprintf(`{"viewer":%q,"choice":1}`, token)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := answer("not-a-viewer"); code != http.StatusForbidden {
			t.Errorf("an answer on C with no open stream's token: %d, want 403", code)
		}
		if code := answer(viewer); code != http.StatusNoContent {
			t.Fatalf("an answer on C: %d, want 204", code)
		}
		if m := snapshotMeta(t, a.url, created.ID); m.Pending == nil || m.Pending.Question == nil || m.Pending.Question.Tally[1] != 1 {
			t.Errorf("the tally on A after an answer on C: %+v, want one answer for choice 1", m.Pending)
		}
		next(func(m message) bool {
			return m.Pending != nil && m.Pending.Question != nil && len(m.Pending.Question.Tally) > 1 && m.Pending.Question.Tally[1] == 1
		})
		// The tally travels with the call's event: run to the end, and the
		// event asked about carries the question and its one answer, on A
		// and in the copy on C.
		before := len(snapshot(t, a.url, created.ID).Events)
		present(t, a.url, created, "run")
		onA := waitRecordDone(t, a.url, created.ID)
		var votes *trace.Question
		for _, e := range onA.Events[before:] {
			if e.Asked != nil {
				votes = e.Asked
				break
			}
		}
		answers := 0
		if votes != nil {
			for _, n := range votes.Tally {
				answers += n
			}
		}
		if votes == nil || votes.Text != asked.Text || len(votes.Tally) < 2 || votes.Tally[1] != 1 || answers != 1 {
			t.Fatalf("the event asked about on A carries %+v, want the question %q with one answer for choice 1", votes, asked.Text)
		}
		onC := waitRecordDone(t, c.url, created.ID)
		if !reflect.DeepEqual(onC.Events, onA.Events) {
			t.Errorf("the copy on C has other events than A (%d and %d): the tally must travel with them", len(onC.Events), len(onA.Events))
		}
	})

	t.Run("the stream's leader stops mid-session: every viewer still gets every event once, in order", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		info, err := replicas[0].js.Stream(ctx, replica.Stream)
		if err != nil {
			t.Fatal(err)
		}
		si, err := info.Info(ctx)
		if err != nil || si.Cluster == nil {
			t.Fatalf("stream info: %v", err)
		}
		leader := -1
		for i, o := range clusterOpts {
			if o.ServerName == si.Cluster.Leader {
				leader = i
			}
		}
		if leader < 0 {
			t.Fatalf("no node is the stream's leader %q", si.Cluster.Leader)
		}
		// The session runs on a replica whose NATS server stays up.
		runner := replicas[(leader+1)%3]
		id := createSession(t, runner.url, `{"scenario":"echo","params":{"rounds":60,"pace_ms":10}}`)
		results := watchOn(ctx, replicas, id)
		time.Sleep(700 * time.Millisecond)
		cluster[leader].Shutdown()
		cluster[leader].WaitForShutdown()
		defer func() {
			if err := startNode(leader, true); err != nil {
				t.Errorf("start %s again: %v", clusterOpts[leader].ServerName, err)
			}
			if err := waitStreams(runner.js); err != nil {
				t.Error(err)
			}
		}()
		assertSawAll(t, collect(results, 3), snapshot(t, runner.url, id))
	})

	t.Run("a session no replica has is not found on any", func(t *testing.T) {
		resp, err := http.Get(c.url + "/api/sessions/" + trace.NewID())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
	})
}

// TestReplicasArchive checks that a finished session is read back on every
// replica from the archive buckets once the stream no longer holds it.
func TestReplicasArchive(t *testing.T) {
	archives := map[*replica.Node]*replica.Archive{}
	var mu sync.Mutex
	replicas := startReplicas(t, func(cfg *web.Config) {
		node := cfg.Replicas.(*replica.Node)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, err := node.OpenArchive(ctx, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		archives[node] = a
		mu.Unlock()
		cfg.Archive = a
	})
	a, c := replicas[0], replicas[2]
	// archived waits until session id is in the archive, as C reads it.
	archived := func(t *testing.T, id string) trace.Record {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			rec, err := archives[c.node].Load(id)
			if err == nil {
				return rec
			}
			if time.Now().After(end) {
				t.Fatalf("session %s not in the archive 20 s after it finished: %v", id, err)
			}
		}
	}

	// soon calls load until its error is what want accepts, for up to 5 s,
	// and returns the last error: a bucket's reads may be answered by a
	// server of the three that has not yet applied a write made a moment
	// ago (the object stores allow direct gets from followers).
	soon := func(load func() error, want func(error) bool) error {
		err := load()
		for end := time.Now().Add(5 * time.Second); !want(err) && time.Now().Before(end); err = load() {
			time.Sleep(50 * time.Millisecond)
		}
		return err
	}
	isNil := func(err error) bool { return err == nil }
	isGone := func(err error) bool { return errors.Is(err, fs.ErrNotExist) }

	// purgeEvents takes session id's events out of the stream, as its
	// retention would: all of them, or all but the last keep messages
	// (of more than keep).
	purgeEvents := func(t *testing.T, id string, keep uint64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream, err := a.js.Stream(ctx, replica.Stream)
		if err != nil {
			t.Fatal(err)
		}
		subject := replica.Subject + id
		opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(subject)}
		if keep > 0 {
			if info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject)); err != nil || info.State.Subjects[subject] <= keep {
				t.Fatalf("session %s went in %d messages or fewer (%v): nothing to trim", id, keep, err)
			}
			opts = append(opts, jetstream.WithPurgeKeep(keep))
		}
		if err := stream.Purge(ctx, opts...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a session the stream let go is read from the archive on another replica, whole", func(t *testing.T) {
		id := createSession(t, a.url, `{"scenario":"echo","params":{"rounds":5}}`)
		want := waitRecordDone(t, a.url, id)
		archived(t, id)
		purgeEvents(t, id, 0)
		got := snapshot(t, c.url, id)
		if got.State != trace.StateDone || !reflect.DeepEqual(got.Events, want.Events) {
			t.Errorf("on C after the stream let it go: %s with %d events, want done with %d, identical", got.State, len(got.Events), len(want.Events))
		}
	})

	t.Run("a session whose first events the stream let go is read whole from the archive", func(t *testing.T) {
		id := createSession(t, a.url, `{"scenario":"echo","params":{"rounds":150,"pace_ms":1}}`)
		want := waitRecordDone(t, a.url, id)
		archived(t, id)
		purgeEvents(t, id, 1)
		got := snapshot(t, c.url, id)
		if got.State != trace.StateDone || !reflect.DeepEqual(got.Events, want.Events) {
			t.Errorf("on C with only its last message in the stream: %s %q with %d events, want done with %d", got.State, got.Error, len(got.Events), len(want.Events))
		}
	})

	t.Run("a session whose metadata and events are gone is read from the archive", func(t *testing.T) {
		id := createSession(t, a.url, `{"scenario":"echo","params":{"rounds":3}}`)
		want := waitRecordDone(t, a.url, id)
		archived(t, id)
		purgeEvents(t, id, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kv, err := a.js.KeyValue(ctx, replica.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Purge(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(t, c.url, id); !reflect.DeepEqual(got.Events, want.Events) {
			t.Errorf("on C: %d events, want the %d run on A", len(got.Events), len(want.Events))
		}
	})

	t.Run("a bucket that is full lets its oldest sessions go, and only its own class's", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		node := a.node
		small, err := node.OpenArchive(ctx, 4<<20) // the same buckets, smaller
		if err != nil {
			t.Fatal(err)
		}
		course := trace.Record{Meta: trace.Meta{ID: trace.NewID(), Scenario: "echo", State: trace.StateDone}}
		if err := small.Save(course); err != nil {
			t.Fatal(err)
		}
		// Lab sessions of 512 KiB each, which do not compress: sixteen are
		// twice the bucket.
		var labs []string
		for range 16 {
			blob := make([]byte, 256<<10)
			crand.Read(blob)
			rec := trace.Record{Meta: trace.Meta{ID: trace.NewID(), Scenario: "lab", State: trace.StateDone, Error: fmt.Sprintf("%x", blob)}}
			if err := small.Save(rec); err != nil {
				t.Fatalf("save lab session %d: %v", len(labs), err)
			}
			labs = append(labs, rec.ID)
		}
		if err := soon(func() error { _, err := small.Load(labs[0]); return err }, isGone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the oldest lab session in a full bucket: %v, want it gone", err)
		}
		if err := soon(func() error { _, err := small.Load(labs[len(labs)-1]); return err }, isNil); err != nil {
			t.Errorf("the newest lab session: %v", err)
		}
		if err := soon(func() error { _, err := small.Load(course.ID); return err }, isNil); err != nil {
			t.Errorf("the course's session, after the lab bucket filled: %v", err)
		}
		// Many small sessions: a full bucket goes on taking them (what is
		// forgotten must not take room itself).
		tiny, err := node.OpenArchive(ctx, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		var last string
		for i := range 1200 {
			blob := make([]byte, 1000+rand.IntN(1000))
			crand.Read(blob)
			rec := trace.Record{Meta: trace.Meta{ID: trace.NewID(), Scenario: "lab", State: trace.StateDone, Error: fmt.Sprintf("%x", blob)}}
			if err := tiny.Save(rec); err != nil {
				t.Fatalf("save small lab session %d into a full bucket: %v", i, err)
			}
			last = rec.ID
		}
		if err := soon(func() error { _, err := tiny.Load(last); return err }, isNil); err != nil {
			t.Errorf("the newest small session: %v", err)
		}
	})
}

// waitRecordDone waits until session id on the replica at base is done
// and returns its record.
func waitRecordDone(t *testing.T, base, id string) trace.Record {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rec := snapshot(t, base, id)
		if rec.State != trace.StateRunning {
			if rec.State != trace.StateDone {
				t.Fatalf("session %s: %s %s", id, rec.State, rec.Error)
			}
			return rec
		}
		if time.Now().After(end) {
			t.Fatalf("session %s still running after 30 s", id)
		}
	}
}

// TestReplicasCountAnAddressOnce checks that one client address's places
// (stepped sessions here, at most two an address) are counted across the
// replicas, not on each: a load balancer that spreads one address over
// three replicas must not give it three times as many.
func TestReplicasCountAnAddressOnce(t *testing.T) {
	const most = 2
	tune := func(cfg *web.Config) {
		cfg.Limits.MaxSteppedPerIP = most
		cfg.TrustedProxies = []string{"127.0.0.0/8"} // X-Forwarded-For names each test's own address
	}
	replicas := startReplicas(t, tune)
	a, b, c := replicas[0], replicas[1], replicas[2]
	// A fresh client address each time; limits count an IPv6 address by its /64.
	address := func() string { return fmt.Sprintf("2001:db8:%x:%x::1", rand.Uint32()&0xffff, rand.Uint32()&0xffff) }
	create := func(base, addr string) (int, stepped, string) {
		req, _ := http.NewRequest("POST", base+"/api/sessions", strings.NewReader(`{"scenario":"serviceclient","step":true}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var created stepped
		json.Unmarshal(body, &created)
		return resp.StatusCode, created, string(body)
	}
	// accepted waits until the replica at base starts a session for addr
	// (a place given back elsewhere reaches the bucket a moment later).
	accepted := func(base, addr string, within time.Duration) bool {
		for end := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
			if code, _, _ := create(base, addr); code == http.StatusCreated {
				return true
			} else if time.Now().After(end) {
				return false
			}
		}
	}

	t.Run("an address holding its most on two replicas is refused on the third, and on them", func(t *testing.T) {
		addr := address()
		for _, r := range []replicaServer{a, b} {
			if code, _, body := create(r.url, addr); code != http.StatusCreated {
				t.Fatalf("a stepped session of %d allowed: %d %s", most, code, body)
			}
		}
		for name, r := range map[string]replicaServer{"C": c, "A": a} {
			code, _, body := create(r.url, addr)
			if code != http.StatusTooManyRequests || !strings.Contains(body, "the most for one address") {
				t.Errorf("a third stepped session on %s: %d %s, want 429 naming the address's most", name, code, body)
			}
		}
		if code, _, body := create(c.url, address()); code != http.StatusCreated {
			t.Errorf("another address on C: %d %s, want 201", code, body)
		}
	})

	t.Run("an address's sessions asked for at once on every replica get its most, no more", func(t *testing.T) {
		addr := address()
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for i := range 30 {
			r := replicas[i%3]
			wg.Go(func() {
				if code, _, _ := create(r.url, addr); code == http.StatusCreated {
					accepted.Add(1)
				}
			})
		}
		wg.Wait()
		if n := accepted.Load(); n != most {
			t.Errorf("30 stepped sessions of one address asked for at once over three replicas: %d accepted, want %d", n, most)
		}
	})

	t.Run("a place comes back on every replica when its session ends", func(t *testing.T) {
		addr := address()
		_, first, _ := create(a.url, addr)
		create(b.url, addr)
		if code, _, _ := create(c.url, addr); code != http.StatusTooManyRequests {
			t.Fatalf("a third stepped session on C: %d, want 429", code)
		}
		if code := present(t, a.url, first, "run"); code != http.StatusOK {
			t.Fatalf("run the first session to its end: %d", code)
		}
		if !accepted(c.url, addr, 20*time.Second) {
			t.Error("the first session ended, and C still refuses the address a place 20 s later")
		}
	})

	t.Run("the places of a replica that is gone without giving them back are taken back", func(t *testing.T) {
		addr := address()
		gone := startReplicas(t, tune)[0]
		for range most {
			if code, _, body := create(gone.url, addr); code != http.StatusCreated {
				t.Fatalf("on the replica to stop: %d %s", code, body)
			}
		}
		if code, _, _ := create(c.url, addr); code != http.StatusTooManyRequests {
			t.Fatalf("a third on C while the other replica holds two: %d, want 429", code)
		}
		gone.node.Close() // its heartbeat stops; its sessions never give their places back
		if !accepted(c.url, addr, replica.Dead+20*time.Second) {
			t.Errorf("the replica holding the address's places stopped beating, and C still refuses it %v later", replica.Dead+20*time.Second)
		}
	})
}

// recentIDs is the ids GET /api/sessions lists on the replica at base,
// before the id given (none: from the newest).
func recentIDs(t *testing.T, base, before string) []string {
	t.Helper()
	u := base + "/api/sessions?limit=100"
	if before != "" {
		u += "&before=" + before
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Sessions []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list.Sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

func testLogOut() io.Writer {
	if os.Getenv("SEQD_REPLICA_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
