package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/archive"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// Tests of what a hostile visitor tries (issue 13's findings), each on a
// real server on loopback, bounded in count and time.

// newHostileServer serves seqd with cfg as given (no test conveniences:
// metrics stay off the main handler unless cfg says otherwise).
func newHostileServer(t *testing.T, cfg web.Config) (*httptest.Server, *web.Server) {
	return newHostileServerWith(t, &fakeRunner{Runner: &netcore.Runner{}}, cfg)
}

func newHostileServerWith(t *testing.T, runner *fakeRunner, cfg web.Config) (*httptest.Server, *web.Server) {
	t.Helper()
	return serveForTest(t, runner, cfg)
}

func TestSessionCreationWithoutAContentTypeIsRefused(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{})
	// What a cross-site no-cors fetch can send without a preflight.
	req, _ := http.NewRequest("POST", ts.URL+"/api/sessions", strings.NewReader(`{"scenario":"echo"}`))
	req.Header.Del("Content-Type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("POST without Content-Type: %d; want 415", resp.StatusCode)
	}
}

func TestTheSecurityPolicyHoldsNoRequestText(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{})
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "evil.example;script-src *"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "evil") || csp == "" {
		t.Errorf("CSP %q; want one without the request's Host", csp)
	}
}

func TestOtherHostsGet421WhenTheServerKnowsItsName(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{Hosts: []string{"seqd.course.example.edu"}})
	for _, tc := range []struct {
		host string
		want int
	}{
		{"seqd.course.example.edu", http.StatusOK},
		{"SEQD.course.example.edu", http.StatusOK},
		{"rebound.attacker.example", http.StatusMisdirectedRequest},
		{strings.TrimPrefix(ts.URL, "http://"), http.StatusMisdirectedRequest},
	} {
		if got := statusForHost(t, ts.URL, tc.host); got != tc.want {
			t.Errorf("Host %q: %d; want %d", tc.host, got, tc.want)
		}
	}
}

func TestHEADIsAnsweredOnEveryGETRoute(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{})
	id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1}}`)
	for _, path := range []string{"/", "/healthz", "/api/scenarios", "/api/lab", "/api/capabilities",
		"/api/sessions/" + id, "/api/sessions/" + id + "/ladder", "/s/" + id, "/embed/s/" + id, "/seq-diagram.js", "/style.css"} {
		resp, err := http.Head(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: %d; want 200", path, resp.StatusCode)
		}
	}
}

func TestMetricsAreOffThePublicListener(t *testing.T) {
	ts, srv := newHostileServer(t, web.Config{})
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("GET /metrics on the public handler: 200; want no metrics there")
	}
	ms := httptest.NewServer(srv.MetricsHandler())
	defer ms.Close()
	_, b := do(t, "GET", ms.URL+"/", "", "")
	if !strings.Contains(string(b), "seqd_") {
		t.Errorf("the metrics handler serves %q; want seqd's metrics", b[:min(len(b), 200)])
	}
}

func TestSlowClientsAreCutOff(t *testing.T) {
	const timeout = 300 * time.Millisecond
	// Events of 32 KiB each: an export far larger than the sockets' buffers.
	big := &fakeRunner{Runner: &netcore.Runner{MaxBytes: 1 << 30}, payload: 32 << 10}
	ts, _ := newHostileServerWith(t, big, web.Config{ReadTimeout: timeout, ResponseTimeout: timeout})
	addr := strings.TrimPrefix(ts.URL, "http://")

	t.Run("an unfinished request body is cut off at the read timeout", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"scen")
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.ReadAll(c) // the server answers and closes, or just closes
		if took := time.Since(start); took > 10*timeout {
			t.Errorf("the connection stayed open %v with an unfinished body; want it closed near %v", took, timeout)
		}
	})
	t.Run("a reader that stops reading a big export is cut off at the response timeout", func(t *testing.T) {
		id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1000}}`)
		big.Wait() // the session has finished: 32 MiB recorded
		// A receive buffer far smaller than the export, set before the
		// connection opens (loopback's can grow to 32 MiB here), but not
		// so small that TCP's window probes are the slow part.
		c := dialWithReceiveBuffer(t, addr, 256<<10)
		defer c.Close()
		io.WriteString(c, "GET /api/sessions/"+id+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		time.Sleep(4 * timeout) // read nothing while the server writes
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		if err == nil {
			t.Errorf("the whole export arrived after stalling %v; want the connection cut", 4*timeout)
		}
		if took := time.Since(start); took > 60*time.Second {
			t.Errorf("reading the cut response took %v: the server held the connection", took)
		}
	})
}

// dialWithReceiveBuffer connects to addr with SO_RCVBUF set to size before
// the handshake, so that the window it advertises stays small.
func dialWithReceiveBuffer(t *testing.T, addr string, size int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOneAddressCannotTakeEveryViewerSlot(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{Limits: web.Limits{MaxSubscribers: 10, MaxSubscribersPerIP: 3}})
	id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":50,"pace_ms":100}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 4; i++ {
		c := dialStream(ctx, t, ts.URL, id)
		_, _, err := c.Read(ctx)
		if i < 3 && err != nil {
			t.Fatalf("viewer %d of the address's 3: %v", i+1, err)
		}
		if i == 3 {
			var ce websocket.CloseError
			if !asCloseError(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "your address") {
				t.Errorf("the address's 4th viewer: %v; want close 1008 naming the address's limit", err)
			}
		}
	}
}

// TestLabConnectionsCannotEraseOtherPermalinks opens 1,000 lab connections
// from one address against a server that keeps few sessions, and checks
// that the API sessions' saved files and permalinks are all still there:
// most connections are refused before they become sessions, and those
// that do count against the lab's own quota.
func TestLabConnectionsCannotEraseOtherPermalinks(t *testing.T) {
	dir := t.TempDir()
	saved, _, err := archive.Open(dir, archive.Options{MaxFiles: 5, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts, lab := newLabServerWith(t, netcore.LabConfig{}, web.Config{Archive: saved}, &trace.Store{MaxFinished: 5})
	var ids []string
	for range 3 {
		id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1}}`)
		waitDone(t, ts.URL, id)
		ids = append(ids, id)
	}
	// Let the archive save them (it does as they finish).
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			if _, err := os.Stat(filepath.Join(dir, id+".json")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session %s was never saved", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	refused, start := 0, time.Now()
	for range 1000 {
		c, err := net.DialTimeout("tcp", lab.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		c.(*net.TCPConn).CloseWrite() // nothing to send: the session ends at once
		b, _ := io.ReadAll(c)
		c.Close()
		if strings.Contains(string(b), "too many connections") {
			refused++
		}
	}
	t.Logf("1,000 lab connections in %v: %d refused before they became sessions", time.Since(start).Round(time.Millisecond), refused)
	if refused < 1000-netcore.DefaultMaxConnsPerMinute {
		t.Errorf("%d of 1,000 connections refused; want all but the minute's allowance (%d)", refused, netcore.DefaultMaxConnsPerMinute)
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(dir, id+".json")); err != nil {
			t.Errorf("API session %s: saved file gone: %v", id, err)
		}
		if resp, _ := do(t, "GET", ts.URL+"/api/sessions/"+id, "", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("API session %s: permalink answers %d", id, resp.StatusCode)
		}
	}
}

func TestOneLegalRequestCannotMakeAHugeSession(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{})
	for _, tc := range []struct{ body, param string }{
		// 100,000 events in 0.4 s before: the finding.
		{`{"scenario":"stream","params":{"size":1048576,"chunk":1,"writes":2}}`, "chunk"},
		{`{"scenario":"stream","params":{"size":1048576,"chunk":100,"writes":100}}`, "chunk"},
	} {
		resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", tc.body)
		var e struct{ Error string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, `parameter "`+tc.param+`"`) || !strings.Contains(e.Error, "MiB") {
			t.Errorf("%s: %d %s; want 400 naming %q and the budget", tc.body, resp.StatusCode, b, tc.param)
		}
	}
}

// TestALectureHallBehindOneAddressCanAllWatch starts 300 paced sessions
// from one address within a minute with the default limits, as a hall
// behind one NAT would, and watches each: every one must be accepted. One
// address's share of each global capacity stays bounded by the defaults.
func TestALectureHallBehindOneAddressCanAllWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("300 sessions")
	}
	def := web.DefaultLimits
	if def.MaxRunningPerIP*2 > def.MaxRunning || def.MaxSteppedPerIP*2 > def.MaxStepped || def.MaxSubscribersPerIP*2 > def.MaxSubscribers {
		t.Errorf("default limits %+v let one address take more than half of a capacity", def)
	}
	runner := &netcore.Runner{Timeout: time.Minute}
	srv, err := web.New(runner, &trace.Store{}, web.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close(); runner.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	for i := range 300 {
		resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", `{"scenario":"serviceclient","params":{"pace_ms":100}}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("student %d of 300: %d %s", i+1, resp.StatusCode, b)
		}
		var m struct{ ID string }
		_ = json.Unmarshal(b, &m)
		c, _, err := websocket.Dial(ctx, wsURL(ts.URL, m.ID, ""), nil)
		if err != nil {
			t.Fatalf("student %d watches: %v", i+1, err)
		}
		defer c.CloseNow()
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatalf("student %d's first message: %v", i+1, err)
		}
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("starting 300 sessions took %v; the test means within a minute", took)
	}
}

func TestAnswersNeedAViewerTokenAndJSON(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{Limits: web.Limits{AnswersPerMinute: 5}})
	id, _ := stepSession(t, ts.URL, `{"scenario":"echo","step":true,"questions":true}`)
	answer := func(ctype, body string) int {
		resp, _ := do(t, "POST", ts.URL+"/api/sessions/"+id+"/answer", ctype, body)
		return resp.StatusCode
	}
	if got := answer("text/plain", `{"viewer":"x","choice":0}`); got != http.StatusUnsupportedMediaType {
		t.Errorf("a text/plain answer (a cross-site form can send one): %d; want 415", got)
	}
	if got := answer("application/json", `{"viewer":"made-up","choice":0}`); got != http.StatusForbidden {
		t.Errorf("an answer with a made-up viewer: %d; want 403", got)
	}
	other, _ := stepSession(t, ts.URL, `{"scenario":"echo","step":true,"questions":true}`)
	if got := answer("application/json", `{"viewer":"`+viewerToken(t, ts.URL, other)+`","choice":0}`); got != http.StatusForbidden {
		t.Errorf("an answer with another session's viewer token: %d; want 403", got)
	}
	token := viewerToken(t, ts.URL, id)
	statuses := []int{}
	for range 5 {
		statuses = append(statuses, answer("application/json", `{"viewer":"`+token+`","choice":0}`))
	}
	if last := statuses[len(statuses)-1]; last != http.StatusTooManyRequests {
		t.Errorf("answers past the address's limit per minute: %v; want the last refused with 429", statuses)
	}
}

func TestDownloadsPerAddressAreBounded(t *testing.T) {
	big := &fakeRunner{Runner: &netcore.Runner{MaxBytes: 1 << 30}, payload: 32 << 10}
	ts, _ := newHostileServerWith(t, big, web.Config{Limits: web.Limits{MaxDownloadsPerIP: 2}})
	id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1000}}`)
	big.Wait()
	// Two slow downloads hold the address's places; a third is refused.
	for range 2 {
		c := dialWithReceiveBuffer(t, strings.TrimPrefix(ts.URL, "http://"), 4096)
		defer c.Close()
		io.WriteString(c, "GET /api/sessions/"+id+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		time.Sleep(300 * time.Millisecond) // its handler has taken its place
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, b := do(t, "GET", ts.URL+"/api/sessions/"+id+"/ladder", "", "")
		if resp.StatusCode == http.StatusTooManyRequests && strings.Contains(string(b), "downloads") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a third download from one address: %d; want 429 while two are under way", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTheServerRefusesWorkAtItsMemoryBudget(t *testing.T) {
	// A budget the test process is already over: everything new is refused.
	ts, _ := newHostileServer(t, web.Config{MemoryLimit: 1 << 20})
	resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", `{"scenario":"echo"}`)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "memory") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a session at the memory budget: %d %s; want 503 naming memory, with Retry-After", resp.StatusCode, b)
	}
	if resp, _ := do(t, "GET", ts.URL+"/healthz", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz at the memory budget: %d; want 200", resp.StatusCode)
	}
}

func TestWithoutAPublicURLOnlyAddressesAndLocalhostAreAnswered(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{})
	for _, tc := range []struct {
		host string
		want int
	}{
		{strings.TrimPrefix(ts.URL, "http://"), http.StatusOK},
		{"localhost:8080", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"10.1.2.3", http.StatusOK},
		{"rebound.attacker.example", http.StatusMisdirectedRequest},
	} {
		if got := statusForHost(t, ts.URL, tc.host); got != tc.want {
			t.Errorf("Host %q: %d; want %d", tc.host, got, tc.want)
		}
	}
}

func TestAViewerTokenDiesWithItsStream(t *testing.T) {
	ts, _ := newHostileServer(t, web.Config{})
	id, _ := stepSession(t, ts.URL, `{"scenario":"echo","step":true,"questions":true}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dialStream(ctx, t, ts.URL, id)
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ Viewer string }
	_ = json.Unmarshal(b, &first)
	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := do(t, "POST", ts.URL+"/api/sessions/"+id+"/answer", "application/json", `{"viewer":"`+first.Viewer+`","choice":0}`)
		if resp.StatusCode == http.StatusForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an answer with the token of a closed stream: %d; want 403", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statusForHost is the status of GET /api/scenarios asked for host.
func statusForHost(t *testing.T, base, host string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/scenarios", nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// slowReplicas is a cluster of replicas that takes its time to say it has
// no such session, as a cluster electing a NATS leader does; it records
// whether each Open's context was still alive when it answered.
type slowReplicas struct {
	delay time.Duration
	alive chan bool
}

func (s *slowReplicas) Publish(*trace.Session) {}

func (s *slowReplicas) Open(ctx context.Context, _ string) (*trace.Session, bool, error) {
	select {
	case <-time.After(s.delay):
		s.alive <- true
		return nil, false, nil
	case <-ctx.Done():
		s.alive <- false
		return nil, false, ctx.Err()
	}
}

func (s *slowReplicas) ServeControl(*trace.Session, func([]byte) []byte) {}

func (s *slowReplicas) Recent() []trace.Meta { return nil }
func (s *slowReplicas) Claim(context.Context, string, string, string, int) (func(), bool, error) {
	return func() {}, true, nil
}

func (s *slowReplicas) Forward(context.Context, string, []byte) ([]byte, bool, error) {
	return nil, false, nil
}

func TestSlowAnswersKeepTheirRequestsContext(t *testing.T) {
	const timeout = 200 * time.Millisecond
	replicas := &slowReplicas{delay: 3 * timeout, alive: make(chan bool, 2)}
	ts := newServerWith(t, &fakeRunner{Runner: &netcore.Runner{}}, web.Config{ReadTimeout: timeout, Replicas: replicas})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	// Two requests on one keep-alive connection, each answered after the
	// read timeout: the read timeout bounds sending a body, not the answer;
	// before, it cancelled the first request's context and every later
	// one's on the connection.
	for i, what := range []string{"a GET answered after the read timeout", "the next GET on its connection"} {
		t.Run(what+" keeps its context", func(t *testing.T) {
			io.WriteString(c, "GET /api/sessions/"+strings.Repeat("a", 26)+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if alive := <-replicas.alive; !alive || resp.StatusCode != http.StatusNotFound {
				t.Errorf("request %d: %d, its context alive when the replicas answered: %v; want 404 and alive", i+1, resp.StatusCode, alive)
			}
		})
	}
}

// TestOneAddressCannotEraseOtherPermalinks saves a victim's session, then
// has one other address start many sessions against an archive that holds
// few: the address's sessions past its share of an hour, in bytes or in
// count, are not saved, so the archive never has to prune the victim's to
// make room.
func TestOneAddressCannotEraseOtherPermalinks(t *testing.T) {
	r := &netcore.Runner{}
	probe, err := r.Prepare("echo", map[string]any{"rounds": 1}, trace.Features{})
	if err != nil {
		t.Fatal(err)
	}
	r.Run(context.Background(), probe)
	size := probe.Bytes()
	for _, c := range []struct {
		name   string
		limits web.Limits
	}{
		{"a share of about three sessions' bytes", web.Limits{SavedBytesPerIP: int(3*size + size/2)}},
		{"a share of three sessions, whatever their bytes", web.Limits{SavedBytesPerIP: 1 << 30, SavedFilesPerIP: 3}},
	} {
		t.Run(c.name+" keeps the others' permalinks", func(t *testing.T) {
			dir := t.TempDir()
			saved, _, err := archive.Open(dir, archive.Options{MaxFiles: 8, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			c.limits.CreatePerMinute = 1000
			ts := newServerWith(t, &netcore.Runner{Timeout: 30 * time.Second}, web.Config{Archive: saved, Limits: c.limits, TrustedProxies: []string{"127.0.0.0/8"}})
			checkFloodKeepsVictim(t, ts.URL, dir)
		})
	}
}

// checkFloodKeepsVictim saves a session from one address, starts 20 from
// another, and checks that the first is still saved and served and that
// the other saved about its share of 3 (the archive at dir holds 8).
func checkFloodKeepsVictim(t *testing.T, base, dir string) {
	t.Helper()
	from := func(addr string) string {
		req, _ := http.NewRequest("POST", base+"/api/sessions", strings.NewReader(`{"scenario":"echo","params":{"rounds":1}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", addr)
		resp, b := send(t, req)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/sessions from %s: %d %s", addr, resp.StatusCode, b)
		}
		var out struct{ ID string }
		json.Unmarshal(b, &out)
		waitDone(t, base, out.ID)
		return out.ID
	}
	isSaved := func(id string) bool {
		_, err := os.Stat(filepath.Join(dir, id+".json"))
		return err == nil
	}
	victim := from("10.0.0.1")
	var flood []string
	for range 20 {
		flood = append(flood, from("10.0.0.2"))
	}
	time.Sleep(200 * time.Millisecond) // the last saves, made as the sessions finish
	n := 0
	for _, id := range flood {
		if isSaved(id) {
			n++
		}
	}
	if !isSaved(victim) {
		t.Errorf("the victim's session was pruned from the archive after one other address started 20 (%d of them saved)", n)
	}
	// Each session says whether it was saved: its viewers are told.
	for _, id := range append(flood, victim) {
		_, b := do(t, "GET", base+"/api/sessions/"+id, "", "")
		var m trace.Meta
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("GET session %s: %v", id, err)
		}
		if saved := isSaved(id); saved != (m.Unsaved == "") {
			t.Errorf("session %s: saved %v, but its record's unsaved is %q", id, saved, m.Unsaved)
		} else if !saved && !strings.Contains(m.Unsaved, "share") {
			t.Errorf("session %s: unsaved %q does not say that its address's share is used up", id, m.Unsaved)
		}
	}
	if n == 0 || n > 4 {
		t.Errorf("%d of one address's 20 sessions saved; want about its share of 3", n)
	}
	if resp, b := do(t, "GET", base+"/api/sessions/"+victim, "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the victim's permalink after the flood: %d %s", resp.StatusCode, b)
	}
}

// TestViewersAreToldWhenASessionIsNotSaved follows a session past its
// address's share live: its stream's last message says it was not saved
// and why, as its record does, and the archive has no file of it.
func TestViewersAreToldWhenASessionIsNotSaved(t *testing.T) {
	dir := t.TempDir()
	saved, _, err := archive.Open(dir, archive.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := newServerWith(t, &netcore.Runner{Timeout: 30 * time.Second}, web.Config{Archive: saved, Limits: web.Limits{SavedFilesPerIP: 1}})
	first := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1}}`)
	waitDone(t, ts.URL, first)
	// Paced, so that the viewer is there before it ends.
	second := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":2,"pace_ms":100}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialStream(ctx, t, ts.URL, second)
	var end struct{ State, Unsaved string }
	for end.State == "" {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if err := json.Unmarshal(b, &end); err != nil {
			t.Fatalf("message %q: %v", b, err)
		}
	}
	if end.State != "done" || !strings.Contains(end.Unsaved, "share") {
		t.Errorf("the stream's last message: state %q, unsaved %q; want done, and why it was not saved", end.State, end.Unsaved)
	}
	_, b := do(t, "GET", ts.URL+"/api/sessions/"+second, "", "")
	var m trace.Meta
	json.Unmarshal(b, &m)
	if m.Unsaved != end.Unsaved {
		t.Errorf("the record's unsaved %q; the stream said %q", m.Unsaved, end.Unsaved)
	}
	time.Sleep(100 * time.Millisecond) // a save would be made as it finished
	for id, want := range map[string]bool{first: true, second: false} {
		if _, err := os.Stat(filepath.Join(dir, id+".json")); (err == nil) != want {
			t.Errorf("session %s saved: %v; want %v", id, err == nil, want)
		}
	}
}

// TestASessionEndedBeforeItIsWatchedStillTakesItsShare hands the server
// lab sessions that have ended already: they are saved within their
// address's share as any other, and the one past it says it was not.
func TestASessionEndedBeforeItIsWatchedStillTakesItsShare(t *testing.T) {
	dir := t.TempDir()
	saved, _, err := archive.Open(dir, archive.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(&netcore.Runner{}, &trace.Store{}, web.Config{Archive: saved, Limits: web.Limits{SavedFilesPerIP: 1}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	var ids []string
	for range 2 {
		sess := trace.NewSession("lab", nil, trace.Options{})
		sess.AddActor("client")
		sess.Finish(nil)
		srv.AddLabSession(sess, "10.0.0.5:40000")
		ids = append(ids, sess.ID())
	}
	time.Sleep(200 * time.Millisecond) // saved as they are watched, in either order
	kept := 0
	for i, id := range ids {
		_, b := do(t, "GET", ts.URL+"/api/sessions/"+id, "", "")
		var m trace.Meta
		json.Unmarshal(b, &m)
		_, statErr := os.Stat(filepath.Join(dir, id+".json"))
		if statErr == nil {
			kept++
		}
		if (statErr == nil) != (m.Unsaved == "") || (m.Unsaved != "" && !strings.Contains(m.Unsaved, "share")) {
			t.Errorf("session %d: saved %v, unsaved %q; want unsaved saying why exactly when it was not saved", i, statErr == nil, m.Unsaved)
		}
	}
	if kept != 1 {
		t.Errorf("%d of the address's 2 sessions saved; want its share of 1", kept)
	}
}
