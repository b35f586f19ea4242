package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"seqd/internal/testneed"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// newLabServer serves seqd with a lab port on 127.0.0.1 behind it, wired
// as seqd serve -lab-port wires them.
func newLabServer(t *testing.T, cfg netcore.LabConfig) (*httptest.Server, *netcore.Lab) {
	return newLabServerWith(t, cfg, web.Config{}, &trace.Store{})
}

// newLabServerWith is newLabServer with the web server's configuration
// and store.
func newLabServerWith(t *testing.T, cfg netcore.LabConfig, wcfg web.Config, store *trace.Store) (*httptest.Server, *netcore.Lab) {
	t.Helper()
	runner := &netcore.Runner{Timeout: 30 * time.Second, Preview: 1 << 20}
	wcfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := web.New(runner, store, wcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnSession = srv.AddLabSession
	lab, err := runner.ListenLab(cfg)
	if err != nil {
		t.Fatalf("ListenLab: %v", err)
	}
	srv.EnableLab(lab.Addr().String())
	served := make(chan error, 1)
	go func() { served <- lab.Serve(srv.Context()) }()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := lab.Close(); err != nil {
			t.Errorf("lab Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("lab Serve: %v", err)
		}
		srv.Close() // cancels the lab sessions still running
		lab.Wait()
		runner.Wait()
	})
	return ts, lab
}

// labList is the body of GET /api/lab.
type labList struct {
	Enabled  bool   `json:"enabled"`
	Addr     string `json:"addr"`
	Sessions []struct {
		ID        string      `json:"id"`
		Scenario  string      `json:"scenario"`
		State     trace.State `json:"state"`
		Error     string      `json:"error"`
		StartedAt time.Time   `json:"started_at"`
		Client    string      `json:"client"`
		URL       string      `json:"url"`
	} `json:"sessions"`
}

// getJSON GETs url and decodes its 200 response into a T.
func getJSON[T any](t *testing.T, url string) (T, []byte) {
	t.Helper()
	var v T
	resp, b := do(t, "GET", url, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, b)
	}
	return v, b
}

func getLab(t *testing.T, base string) labList {
	t.Helper()
	l, b := getJSON[labList](t, base+"/api/lab")
	if l.Sessions == nil {
		t.Fatalf("GET /api/lab: %s; want sessions as a JSON array, even empty", b)
	}
	return l
}

// externalClient is a program, not seqd's, that sends the lines alice and
// bob to a server, shuts down writing and prints the reply.
type externalClient struct {
	name    string
	command func(ctx context.Context, host, port string) *exec.Cmd
}

// externalClients finds the clients this machine can run: nc, when it is
// a netcat that can half-close, and the lecture's client.c built with cc.
func externalClients(t *testing.T) []externalClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []externalClient
	if nc, err := exec.LookPath("nc"); err == nil {
		help, _ := exec.CommandContext(ctx, nc, "-h").CombinedOutput() // exits 1 with some netcats
		var flags []string
		switch {
		case regexp.MustCompile(`(?m)^\s*-N\s`).Match(help): // OpenBSD netcat: -N shuts down writing at end of input
			flags = []string{"-N"}
		case bytes.Contains(help, []byte("Ncat")): // nmap's ncat half-closes by default
			flags = []string{}
		default:
			t.Logf("%s cannot shut down writing at the end of its input: not used", nc)
		}
		if flags != nil {
			out = append(out, externalClient{name: "nc", command: func(ctx context.Context, host, port string) *exec.Cmd {
				cmd := exec.CommandContext(ctx, nc, append(flags, host, port)...)
				cmd.Stdin = strings.NewReader("alice\nbob\n")
				return cmd
			}})
		}
	}
	if cc, err := exec.LookPath("cc"); err == nil {
		bin := filepath.Join(t.TempDir(), "serviceclient")
		src := filepath.Join("..", "netcore", "listings", "serviceclient", "client.c")
		if b, err := exec.CommandContext(ctx, cc, "-Wall", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("cc %s: %v\n%s", src, err, b)
		}
		out = append(out, externalClient{name: "the lecture's client.c", command: func(ctx context.Context, host, port string) *exec.Cmd {
			return exec.CommandContext(ctx, bin, host, port, "alice", "bob")
		}})
	}
	if len(out) == 0 {
		testneed.Missing(t, "SEQD_REQUIRE_CC", "neither a netcat that half-closes (nc -N, ncat) nor a C compiler (cc) is installed: no external client to run")
	}
	return out
}

func TestLabTracesAnExternalClient(t *testing.T) {
	for _, client := range externalClients(t) {
		t.Run(client.name, func(t *testing.T) {
			testExternalClient(t, client)
		})
	}
}

func testExternalClient(t *testing.T, client externalClient) {
	ts, lab := newLabServer(t, netcore.LabConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := client.command(ctx, lab.Addr().Addr().String(), strconv.Itoa(int(lab.Addr().Port())))
	t.Logf("client: %s", strings.Join(cmd.Args, " "))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	printed, err := cmd.Output()
	if err != nil {
		t.Fatalf("the client: %v\n%s", err, stderr.Bytes())
	}
	if want := "1 alice\n2 bob\n"; string(printed) != want {
		t.Errorf("the client printed %q; want %q", printed, want)
	}

	l := getLab(t, ts.URL)
	if !l.Enabled || l.Addr != lab.Addr().String() || len(l.Sessions) != 1 {
		t.Fatalf("GET /api/lab: %+v; want enabled at %s with one session", l, lab.Addr())
	}
	info := l.Sessions[0]
	if info.Scenario != "lab" || info.URL != "/s/"+info.ID || !strings.HasPrefix(info.Client, "127.0.0.1:") || info.StartedAt.IsZero() {
		t.Errorf("listed session %+v; want a lab session of a client on 127.0.0.1", info)
	}
	rec := waitDone(t, ts.URL, info.ID)
	if rec.State != trace.StateDone {
		t.Fatalf("session %s (%s); want done", rec.State, rec.Error)
	}
	if strings.Join(rec.Actors, ",") != "server,client" {
		t.Errorf("actors %v; want [server client]", rec.Actors)
	}

	var accepts, eofs int
	var read, wrote, clientSent, clientRead []byte
	clientKinds := map[trace.Kind]bool{}
	for _, e := range rec.Events {
		switch {
		case e.Actor == "server" && e.Inferred, e.Actor == "client" && !e.Inferred:
			t.Errorf("event %d: %s with inferred %v; the server's calls are traced, the client's inferred", e.Seq, e.Actor, e.Inferred)
		case e.Actor == "server" && e.Kind == trace.KindAccept:
			accepts++
			if e.Conn != info.Client+"-"+lab.Addr().String() || e.Peer != info.Client {
				t.Errorf("accept %+v; want the connection from %s", e, info.Client)
			}
		case e.Actor == "server" && e.Kind == trace.KindRecv && e.EOF:
			eofs++
		case e.Actor == "server" && e.Kind == trace.KindRecv:
			read = append(read, e.Payload()...)
		case e.Actor == "server" && e.Kind == trace.KindSend:
			wrote = append(wrote, e.Payload()...)
		case e.Actor == "client":
			clientKinds[e.Kind] = true
			if e.Kind == trace.KindSend {
				clientSent = append(clientSent, e.Payload()...)
			}
			if e.Kind == trace.KindRecv {
				clientRead = append(clientRead, e.Payload()...)
			}
		}
	}
	if accepts != 1 || eofs != 1 {
		t.Errorf("%d accepts and %d end-of-file reads by the server; want 1 and 1", accepts, eofs)
	}
	if string(read) != "alice\nbob\n" || string(clientSent) != "alice\nbob\n" {
		t.Errorf("the server read %q and the client's inferred writes hold %q; want exactly what the client sent, %q", read, clientSent, "alice\nbob\n")
	}
	if !bytes.Equal(wrote, printed) || !bytes.Equal(clientRead, printed) {
		t.Errorf("the server wrote %q and the client's inferred reads hold %q; want what the client printed, %q", wrote, clientRead, printed)
	}
	for _, k := range []trace.Kind{trace.KindConnect, trace.KindSend, trace.KindShutdown, trace.KindRecv, trace.KindClose} {
		if !clientKinds[k] {
			t.Errorf("no inferred %s by the client", k)
		}
	}
}

func TestLabSessionIsLiveWhileConnected(t *testing.T) {
	ts, lab := newLabServer(t, netcore.LabConfig{})
	c, err := net.DialTimeout("tcp", lab.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "ECHO\nhello\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, want := range []string{"ECHO\n", "hello\n"} {
		if line, err := r.ReadString('\n'); line != want || err != nil {
			t.Fatalf("echoed %q, %v; want %q", line, err, want)
		}
	}
	l := getLab(t, ts.URL)
	if len(l.Sessions) != 1 || l.Sessions[0].State != trace.StateRunning {
		t.Fatalf("GET /api/lab while connected: %+v; want one running session", l.Sessions)
	}
	id := l.Sessions[0].ID
	resp, b := do(t, "GET", ts.URL+"/api/sessions/"+id, "", "")
	var rec trace.Record
	if err := json.Unmarshal(b, &rec); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET the running session: %d %v", resp.StatusCode, err)
	}
	if rec.State != trace.StateRunning || !strings.Contains(string(b), `"data":"ECHO\nhello\n"`) {
		t.Errorf("the running session %s; want running, with the echoed bytes so far", b)
	}
	c.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(r); len(rest) != 0 || err != nil {
		t.Errorf("after the client's end of file: %q, %v; want the server's end of file", rest, err)
	}
	if rec := waitDone(t, ts.URL, id); rec.State != trace.StateDone {
		t.Errorf("session %s (%s); want done once the connection closed", rec.State, rec.Error)
	}
}

func TestLabListIsNewestFirstAndBounded(t *testing.T) {
	ts, lab := newLabServer(t, netcore.LabConfig{MaxConnsPerMinute: 100}) // one address makes them all
	const n = 53
	for range n {
		c, err := net.DialTimeout("tcp", lab.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		c.(*net.TCPConn).CloseWrite()
		io.ReadAll(c)
		c.Close()
	}
	l := getLab(t, ts.URL)
	if len(l.Sessions) != 50 {
		t.Fatalf("%d sessions listed; want the newest 50 of %d", len(l.Sessions), n)
	}
	for i := 1; i < len(l.Sessions); i++ {
		if l.Sessions[i].StartedAt.After(l.Sessions[i-1].StartedAt) {
			t.Errorf("session %d started after session %d; want newest first", i, i-1)
		}
	}
}

func TestLabIsOffWithoutALabPort(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	if l := getLab(t, ts.URL); l.Enabled || l.Addr != "" || len(l.Sessions) != 0 {
		t.Errorf("GET /api/lab: %+v; want disabled, no address, no sessions", l)
	}
}
