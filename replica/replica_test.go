package replica_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"seqd/netcore"
	"seqd/replica"
	"seqd/trace"
	"seqd/web"
)

// cluster is the three-node NATS JetStream cluster the tests share: its
// leader elections take seconds, too long to repeat for every test.
var cluster []*server.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seqd-nats-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster, err = startCluster(dir, 3)
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

// startCluster starts n embedded NATS servers with JetStream, routed to
// one another on loopback, and waits until JetStream answers on each.
func startCluster(dir string, n int) ([]*server.Server, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var servers []*server.Server
	for i := range n {
		var routes []*url.URL
		for j, p := range ports {
			if j != i {
				routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i)),
			Cluster:    server.ClusterOpts{Name: "seqd", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			return servers, err
		}
		s.Start()
		servers = append(servers, s)
	}
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			return servers, fmt.Errorf("%s not ready for connections", s.Name())
		}
	}
	// JetStream answers once the cluster has elected its meta leader.
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range servers {
		for !s.JetStreamIsCurrent() || !s.JetStreamEnabled() {
			if time.Now().After(deadline) {
				return servers, fmt.Errorf("%s: JetStream not current after 30 s", s.Name())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return servers, nil
}

// replicaServer is one seqd replica: a web server whose node is connected
// to NATS server i.
type replicaServer struct {
	url  string
	node *replica.Node
}

func startReplicas(t *testing.T) []replicaServer {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out []replicaServer
	for i, ns := range cluster {
		nc, err := nats.Connect(ns.ClientURL())
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
		srv, err := web.New(&netcore.Runner{}, &trace.Store{}, web.Config{Logger: quiet, Replicas: node})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(func() { ts.Close(); srv.Close(); node.Close() })
		out = append(out, replicaServer{url: ts.URL, node: node})
	}
	return out
}

// createSession starts scenario on the replica at base and returns its id.
func createSession(t *testing.T, base, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/sessions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, err)
	}
	return m.ID
}

// watch follows session id on the replica at base over its WebSocket from
// seq from, and returns every event it sends and the final state.
func watch(ctx context.Context, base, id string, from int) ([]trace.Event, string, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/sessions/" + id + "/ws?from=" + fmt.Sprint(from)
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		return nil, "", err
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)
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
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil {
			return events, "", err
		}
		events = append(events, m.Events...)
		if m.State != "" {
			return events, m.State, nil
		}
	}
}

// snapshot is GET /api/sessions/{id} on the replica at base.
func snapshot(t *testing.T, base, id string) trace.Record {
	t.Helper()
	resp, err := http.Get(base + "/api/sessions/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec trace.Record
	if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil {
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
		type seen struct {
			events []trace.Event
			state  string
			err    error
		}
		results := make(chan seen, 2)
		for _, r := range []replicaServer{b, c} {
			go func() {
				evs, state, err := watch(ctx, r.url, id, 0)
				results <- seen{evs, state, err}
			}()
		}
		var got []seen
		for range 2 {
			got = append(got, <-results)
		}
		want := snapshot(t, a.url, id)
		if want.State != trace.StateDone {
			t.Fatalf("the session on the replica that ran it: %s %s", want.State, want.Error)
		}
		for i, g := range got {
			if g.err != nil {
				t.Fatalf("viewer %d: %v", i, g.err)
			}
			if g.state != string(trace.StateDone) {
				t.Errorf("viewer %d: final state %q", i, g.state)
			}
			if !reflect.DeepEqual(g.events, want.Events) {
				t.Errorf("viewer %d: %d events, the replica that ran it has %d; they differ", i, len(g.events), len(want.Events))
			}
		}
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
