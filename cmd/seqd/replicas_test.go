package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"seqd/loadgen"
	"seqd/replica"
	"seqd/trace"
)

// replicaProc is one `seqd serve -nats-embed` in a process of its own, so
// that it can be killed outright (SIGKILL: no shutdown, no last words).
type replicaProc struct {
	args []string
	url  string
	cmd  *exec.Cmd
}

// freeLoopbackPorts returns n ports free on loopback now.
func freeLoopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		defer l.Close()
	}
	return ports
}

// run starts the replica (again: with the same ports and JetStream
// directory) and returns once it serves; it may run on any goroutine. The
// test that made p kills it when it ends (kill).
func (p *replicaProc) run() error {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SEQD_TEST_CHILD_ARGS="+strings.Join(p.args, " "))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd = cmd
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "http://") {
				lines <- sc.Text()
			}
		}
	}()
	select {
	case <-lines:
		return nil
	case <-time.After(90 * time.Second):
		return fmt.Errorf("replica %s did not serve within 90 s", p.url)
	}
}

// kill ends the process at once, if it runs.
func (p *replicaProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// followWS reads session id from the replica at base until its stream
// ends (trying again on 503, as a page does).
func followWS(ctx context.Context, base, id string) ([]trace.Event, string, error) {
	return loadgen.Events(ctx, base, id, 0, nil)
}

// TestReplicasSurviveHardKills runs three replicas that embed a NATS
// JetStream cluster of their own, each in its own process, and kills them
// outright: a NATS node (with its replica) in the middle of a session that
// another runs, and then the replica that runs a session.
func TestReplicasSurviveHardKills(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes and two kills, about 45 s: not with -short")
	}
	httpPorts, natsPorts, routePorts := freeLoopbackPorts(t, 3), freeLoopbackPorts(t, 3), freeLoopbackPorts(t, 3)
	dir := t.TempDir()
	procs := make([]*replicaProc, 3)
	for i := range procs {
		var routes []string
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
			}
		}
		procs[i] = &replicaProc{
			url: fmt.Sprintf("http://127.0.0.1:%d", httpPorts[i]),
			args: []string{"serve", "-addr", fmt.Sprintf("127.0.0.1:%d", httpPorts[i]), "-data", "none", "-log-level", "warn",
				"-nats-embed", "-nats-name", fmt.Sprintf("n%d", i), "-nats-store", filepath.Join(dir, fmt.Sprintf("n%d", i)),
				"-nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPorts[i]), "-nats-cluster-listen", fmt.Sprintf("127.0.0.1:%d", routePorts[i]),
				"-nats-routes", strings.Join(routes, ",")},
		}
	}
	// They start together: the first to make the stream waits for the others.
	errs := make(chan error, 3)
	for _, p := range procs {
		t.Cleanup(func() { p.kill() })
		go func() { errs <- p.run() }()
	}
	for range procs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("a NATS node killed mid-session: the viewer on another replica gets every event once, in order", func(t *testing.T) {
		id := post(t, procs[0].url, `{"scenario":"echo","params":{"rounds":60,"pace_ms":15}}`)
		type result struct {
			events []trace.Event
			state  string
			err    error
		}
		got := make(chan result, 1)
		go func() { evs, state, err := followWS(ctx, procs[2].url, id); got <- result{evs, state, err} }()
		time.Sleep(800 * time.Millisecond)
		procs[1].kill()
		r := <-got
		rec := fetchRecord(t, procs[0].url, id)
		if r.err != nil || r.state != string(trace.StateDone) || rec.State != trace.StateDone || !reflect.DeepEqual(r.events, rec.Events) {
			t.Errorf("viewer on C: %d events, state %q (%q), %v; the runner holds %d, %s", len(r.events), r.state, fetchRecord(t, procs[2].url, id).Error, r.err, len(rec.Events), rec.State)
		}
		// The cluster whole again for the next case, for the rest of the
		// test (the node was killed in this subtest, and a cleanup of this
		// subtest's would kill it again as it ends: the next case then ran
		// on one node of three, without a quorum, and could not open a copy).
		if err := procs[1].run(); err != nil {
			t.Fatal(err)
		}
		waitCurrent(t, fmt.Sprintf("nats://127.0.0.1:%d", natsPorts[1]))
		waitReplicated(t, procs[0].url, procs[2].url)
	})

	t.Run("the replica that runs a session killed: its viewer elsewhere sees it end failed, saying why", func(t *testing.T) {
		id := post(t, procs[0].url, `{"scenario":"echo","params":{"rounds":400,"pace_ms":20}}`)
		type result struct {
			state string
			err   error
		}
		got := make(chan result, 1)
		go func() { _, state, err := followWS(ctx, procs[2].url, id); got <- result{state, err} }()
		time.Sleep(800 * time.Millisecond)
		killed := time.Now()
		procs[0].kill()
		r := <-got
		if r.err != nil || r.state != string(trace.StateFailed) {
			t.Fatalf("viewer on C: state %q, %v; want failed", r.state, r.err)
		}
		if rec := fetchRecord(t, procs[2].url, id); !strings.Contains(rec.Error, "replica that ran this session stopped") {
			t.Errorf("the copy on C says %q", rec.Error)
		}
		t.Logf("the copy on C ended %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	})
}

// waitCurrent waits until the NATS node at url, started again, has caught
// up: it answers for seqd's stream and bucket, each with a leader and
// every other replica current. Killing another node before then leaves no
// quorum, and JetStream rightly refuses everything (503 "temporarily
// unavailable") until the node has caught up, which took minutes.
func waitCurrent(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		behind := ""
		for _, name := range []string{replica.Stream, "KV_" + replica.Bucket} {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := js.Stream(ctx, name)
			cancel()
			if err != nil {
				behind = fmt.Sprintf("%s: %v", name, err)
				break
			}
			cl := st.CachedInfo().Cluster
			if cl == nil || cl.Leader == "" || len(cl.Replicas) != 2 {
				behind = fmt.Sprintf("%s: cluster %+v", name, cl)
				break
			}
			for _, r := range cl.Replicas {
				if !r.Current || r.Offline {
					behind = fmt.Sprintf("%s: replica %s not current (lag %d)", name, r.Name, r.Lag)
				}
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the NATS node at %s did not catch up in 120 s: %s", url, behind)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitReplicated waits until a session run on the replica at from can be
// read whole on the one at to: a node started again has caught up and the
// leaders are elected.
func waitReplicated(t *testing.T, from, to string) {
	t.Helper()
	id := post(t, from, `{"scenario":"serviceclient"}`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(to + "/api/sessions/" + id)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("a session run on %s could not be read on %s for 60 s", from, to)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fetchRecord is GET /api/sessions/{id} on the replica at base.
func fetchRecord(t *testing.T, base, id string) trace.Record {
	t.Helper()
	rec, err := loadgen.Session(context.Background(), http.DefaultClient, base, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
