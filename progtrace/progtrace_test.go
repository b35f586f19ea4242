package progtrace_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"seqd/internal/testneed"
	"seqd/progtrace"
	"seqd/trace"
)

// TestMain lets the test binary be the tracer's helper too, as seqd is.
func TestMain(m *testing.M) {
	progtrace.BecomeHelperIfAsked("helper")
	os.Exit(m.Run())
}

var (
	buildOnce sync.Map // C source → *built
	binDir    = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "progtrace-bin") })
)

type built struct {
	once sync.Once
	path string
	err  error
}

// cc compiles a C source of the repository (relative to progtrace/) once
// per test run and returns the program's path.
func cc(t testing.TB, src string) string {
	t.Helper()
	testneed.Program(t, "SEQD_REQUIRE_CC", "these tests compile C programs: apt-get install gcc", "cc")
	v, _ := buildOnce.LoadOrStore(src, &built{})
	b := v.(*built)
	b.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			b.err = err
			return
		}
		// A listing's server.c of echo/ becomes echo-server: its lifeline's name.
		name := strings.TrimSuffix(filepath.Base(src), ".c")
		if d := filepath.Base(filepath.Dir(src)); d != "testdata" {
			name = d + "-" + name
		}
		b.path = filepath.Join(dir, name)
		out, err := exec.Command("cc", "-Wall", "-O2", "-o", b.path, src).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("cc %s: %v\n%s", src, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// freePort is a loopback port no one listens on just now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// traceRun traces programs to their end and returns the session.
func traceRun(t testing.TB, programs ...[]string) trace.Record {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess := trace.NewSession("trace", nil, trace.Options{})
	out, err := os.CreateTemp(t.TempDir(), "output")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	err = progtrace.Run(ctx, sess, progtrace.Config{
		Programs: programs, Helper: []string{self, progtrace.HelperArg}, Preview: 4096,
		Grace: 300 * time.Millisecond, Stdout: out, Stderr: out,
	})
	if err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("tracing %v: %v\nthe programs wrote:\n%s", programs, err, b)
	}
	return sess.Snapshot()
}

// checkExchange checks a traced session's invariants: the causal order,
// and per connection and direction the bytes read equal the bytes
// written, with contiguous offsets from 0.
func checkExchange(t *testing.T, rec trace.Record) {
	t.Helper()
	for _, v := range trace.CausalViolations(rec.Events) {
		t.Errorf("causal order: %s", v)
	}
	type dir struct {
		conn string
		kind trace.Kind
		sock string // the end: its actor's socket, by the address it has
	}
	next := map[dir]int64{}
	total := map[string]map[trace.Kind]int64{}
	for _, e := range rec.Events {
		if !e.IsData() || e.Phase == trace.PhaseBegin || e.Conn == "" {
			continue
		}
		d := dir{e.Conn, e.Kind, e.Local}
		if e.Offset != next[d] {
			t.Errorf("#%d %s %s on %s at offset %d, want %d (contiguous)", e.Seq, e.Actor, e.Kind, e.Conn, e.Offset, next[d])
		}
		next[d] = e.Offset + int64(e.Bytes)
		if total[e.Conn+" "+e.Local] == nil {
			total[e.Conn+" "+e.Local] = map[trace.Kind]int64{}
		}
		total[e.Conn+" "+e.Local][e.Kind] += int64(e.Bytes)
	}
	for key, sums := range total {
		conn, local, _ := strings.Cut(key, " ")
		client, server, _ := strings.Cut(conn, "-")
		peer := client
		if local == client {
			peer = server
		}
		if got, want := total[conn+" "+peer][trace.KindRecv], sums[trace.KindSend]; got != want {
			t.Errorf("%s: %s wrote %d bytes, %s read %d", conn, local, want, peer, got)
		}
	}
}

// calls lists an actor's recorded calls as strace would show them: kind,
// descriptor, return value (a split call by its end; not the name lookups
// drawn for glibc's sockets, which are no call of the program's).
func calls(rec trace.Record, actor string) []string {
	var out []string
	for _, e := range rec.Events {
		if e.Actor == actor && e.Phase != trace.PhaseBegin && !e.Inferred {
			out = append(out, fmt.Sprintf("%s(%d) = %d", e.Kind, e.FD, e.Ret))
		}
	}
	return out
}

func actorOf(rec trace.Record, prefix string) string {
	for _, a := range rec.Actors {
		if strings.HasPrefix(a, prefix) {
			return a
		}
	}
	return ""
}

func TestTracedProgramsDrawTheirOwnCalls(t *testing.T) {
	t.Run("the serviceclient server and client keep the scenario's invariants", func(t *testing.T) {
		server, client := cc(t, "../netcore/listings/serviceclient/server.c"), cc(t, "../netcore/listings/serviceclient/client.c")
		port := freePort(t)
		rec := traceRun(t, []string{server, port}, []string{client, "127.0.0.1", port, "alice", "bob", "carol"})
		checkExchange(t, rec)
		if rec.State != trace.StateDone {
			t.Errorf("state %s (%s), want done", rec.State, rec.Error)
		}
		if len(rec.Actors) != 2 {
			t.Errorf("actors %v, want the server and the client", rec.Actors)
		}
		// EOF after SHUT_WR: the server's end of file comes after the client's shutdown.
		shut, eof := -1, -1
		for _, e := range rec.Events {
			if e.Kind == trace.KindShutdown && e.How == "SHUT_WR" && shut < 0 {
				shut = e.Seq
			}
			if e.Kind == trace.KindRecv && e.EOF && strings.Contains(e.Actor, "server") && eof < 0 {
				eof = e.Seq
			}
		}
		if shut < 0 || eof < shut {
			t.Errorf("the server's end of file (#%d) is not after the client's SHUT_WR (#%d)", eof, shut)
		}
	})
	t.Run("the echo pair keeps the scenario's invariants", func(t *testing.T) {
		server, client := cc(t, "../netcore/listings/echo/server.c"), cc(t, "../netcore/listings/echo/client.c")
		port := freePort(t)
		rec := traceRun(t, []string{server, port}, []string{client, "127.0.0.1", port, "3"})
		checkExchange(t, rec)
		sends := 0
		for _, e := range rec.Events {
			if e.Kind == trace.KindSend && e.Phase != trace.PhaseBegin {
				sends++
			}
		}
		if sends < 6 {
			t.Errorf("%d writes, want 3 of the client's and 3 echoes", sends)
		}
	})
	t.Run("a server that forks a child per connection has a lifeline per process", func(t *testing.T) {
		server, client := cc(t, "../netcore/listings/concurrent/server.c"), cc(t, "../netcore/listings/concurrent/client.c")
		port := freePort(t)
		rec := traceRun(t, []string{server, port, "2"}, []string{client, "127.0.0.1", port, "ann"}, []string{client, "127.0.0.1", port, "bo"})
		checkExchange(t, rec)
		base := filepath.Base(server)
		for _, want := range []string{base, base + "[2]", base + "[3]"} {
			if !slices.Contains(rec.Actors, want) {
				t.Errorf("actors %v: no %s", rec.Actors, want)
			}
		}
		pids, _ := rec.Params["pids"].(map[string]int)
		if len(pids) != len(rec.Actors) {
			t.Errorf("pids %v for actors %v: want one each", rec.Params["pids"], rec.Actors)
		}
		// Each child reads its client's name and writes the greeting.
		for _, child := range []string{base + "[2]", base + "[3]"} {
			var kinds []trace.Kind
			for _, e := range rec.Events {
				if e.Actor == child && e.Phase != trace.PhaseBegin {
					kinds = append(kinds, e.Kind)
				}
			}
			if !slices.Contains(kinds, trace.KindRecv) || !slices.Contains(kinds, trace.KindSend) {
				t.Errorf("%s's calls %v: want its reads and its write", child, kinds)
			}
		}
	})
	t.Run("a descriptor that dup2 makes a socket is traced as one", func(t *testing.T) {
		server, client := cc(t, "../netcore/listings/serviceclient/server.c"), cc(t, "testdata/dup2client.c")
		port := freePort(t)
		rec := traceRun(t, []string{server, port}, []string{client, port, "ann", "bo"})
		checkExchange(t, rec)
		var wrote []string
		for _, e := range rec.Events {
			if e.Actor == actorOf(rec, "dup2client") && e.Kind == trace.KindSend && e.Phase != trace.PhaseBegin {
				wrote = append(wrote, fmt.Sprintf("fd %d %q", e.FD, e.Data))
			}
		}
		if want := []string{`fd 1 "ann\nbo\n"`}; !slices.Equal(wrote, want) {
			t.Errorf("the client's writes on sockets %v, want %v (its first write to fd 1 went to a file)", wrote, want)
		}
	})
	t.Run("a write that blocks while the reader takes its bytes is split, its arrows from its begin", func(t *testing.T) {
		rec := traceRun(t, []string{cc(t, "testdata/bigwrite.c"), freePort(t)})
		checkExchange(t, rec)
		writer := actorOf(rec, "bigwrite")
		var begin, end *trace.Event
		for i := range rec.Events {
			e := &rec.Events[i]
			if e.Actor == writer && e.Kind == trace.KindSend {
				switch e.Phase {
				case trace.PhaseBegin:
					begin = e
				case trace.PhaseEnd:
					end = e
				}
			}
		}
		if begin == nil || end == nil || !begin.Flowing || begin.Want != 4<<20 || end.Bytes != 4<<20 || begin.CallID != end.CallID {
			t.Fatalf("the 4 MiB write: begin %+v, end %+v; want a Flowing begin and its end", begin, end)
		}
		between := 0
		for _, m := range trace.Messages(rec.Events) {
			if m.SendSeq != begin.Seq {
				t.Errorf("a read of the write's bytes is paired with #%d, not its begin #%d", m.SendSeq, begin.Seq)
			}
			if m.RecvSeq < end.Seq {
				between++
			}
		}
		if between == 0 {
			t.Errorf("no read of the write's bytes comes before its end (#%d): the write did not show that it waited for them", end.Seq)
		}
	})
	t.Run("a name lookup is one greyed getaddrinfo, not glibc's own sockets", func(t *testing.T) {
		server, client := cc(t, "../netcore/listings/serviceclient/server.c"), cc(t, "testdata/lookupclient.c")
		port := freePort(t)
		rec := traceRun(t, []string{server, port}, []string{client, "127.0.0.1", port, "ann"})
		checkExchange(t, rec)
		var kinds []trace.Kind
		for _, e := range rec.Events {
			if e.Actor == actorOf(rec, "lookupclient") {
				kinds = append(kinds, e.Kind)
				if e.Kind == trace.KindGetaddrinfo && !e.Inferred {
					t.Errorf("the lookup #%d is not marked inferred (greyed)", e.Seq)
				}
			}
		}
		if len(kinds) < 2 || kinds[0] != trace.KindGetaddrinfo || kinds[1] != trace.KindSocket || slices.Index(kinds[1:], trace.KindGetaddrinfo) >= 0 {
			t.Errorf("the client's calls %v: want one getaddrinfo, then its TCP socket", kinds)
		}
	})
	t.Run("the lecture's stdio client writes its three names in one write", func(t *testing.T) {
		server, client := cc(t, "../netcore/listings/serviceclient/server.c"), cc(t, "testdata/stdioclient.c")
		port := freePort(t)
		rec := traceRun(t, []string{server, port}, []string{client, "127.0.0.1", port, "alice", "bob", "carol"})
		checkExchange(t, rec)
		actor := actorOf(rec, "stdioclient")
		var writes []trace.Event
		shut := -1
		for _, e := range rec.Events {
			if e.Actor != actor || e.Phase == trace.PhaseBegin {
				continue
			}
			if e.Kind == trace.KindSend {
				writes = append(writes, e)
			}
			if e.Kind == trace.KindShutdown && shut < 0 {
				shut = e.Seq
			}
		}
		if len(writes) != 1 || writes[0].Data != "alice\nbob\ncarol\n" {
			t.Fatalf("the client's writes %v, want one of %q", writes, "alice\nbob\ncarol\n")
		}
		if shut < writes[0].Seq {
			t.Errorf("the shutdown (#%d) is not after the write (#%d)", shut, writes[0].Seq)
		}
	})
}

func TestTracerLeavesNoProcessBehind(t *testing.T) {
	t.Run("a child that left the process group ends with the session", func(t *testing.T) {
		escaper := cc(t, "testdata/escaper.c")
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.CreateTemp(t.TempDir(), "output")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		err = progtrace.Run(ctx, trace.NewSession("trace", nil, trace.Options{}), progtrace.Config{
			Programs: [][]string{{escaper}}, Helper: []string{self, progtrace.HelperArg}, Grace: 200 * time.Millisecond, Stdout: out,
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Run took %v: the child that left its group was not ended", d)
		}
		b, _ := os.ReadFile(out.Name())
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("the escaper printed %q, not its child's pid", b)
		}
		if st := procState(pid); st != "" && !strings.HasPrefix(st, "Z") {
			t.Errorf("the escaper's child %d outlived the session: state %s", pid, st)
		}
	})
}

// procState is process pid's state in /proc ("S (sleeping)", "t
// (tracing stop)", "Z (zombie)": dead, its parent, init here, not having
// reaped it yet), or "" when there is no such process.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// straceLine is one line of strace -yy: a call on a TCP socket (or
// socket() making one), and its return value.
var straceLine = regexp.MustCompile(`^(?:\d+ +)?(\w+)\((?:(\d+)<TCP(?:v6)?:|AF_INET6?, SOCK_STREAM).*\)\s+= (-?\d+)`)

// straceKinds maps the calls strace names to the kinds seqd records.
var straceKinds = map[string]trace.Kind{
	"socket": trace.KindSocket, "setsockopt": trace.KindSetsockopt, "bind": trace.KindBind, "listen": trace.KindListen,
	"accept": trace.KindAccept, "accept4": trace.KindAccept, "connect": trace.KindConnect,
	"read": trace.KindRecv, "recvfrom": trace.KindRecv, "readv": trace.KindRecv, "recvmsg": trace.KindRecv,
	"write": trace.KindSend, "sendto": trace.KindSend, "writev": trace.KindSend, "sendmsg": trace.KindSend,
	"shutdown": trace.KindShutdown, "close": trace.KindClose,
}

// underStrace is the command that runs argv under strace -f, writing to
// the file out the calls it makes on sockets, reads, writes and closes.
func underStrace(t *testing.T, ctx context.Context, argv []string) (cmd *exec.Cmd, out string) {
	t.Helper()
	out = filepath.Join(t.TempDir(), "strace.out")
	args := append([]string{"-f", "-qq", "-yy", "-s", "0", "-e", "trace=%network,read,write,close", "-o", out}, argv...)
	return exec.CommandContext(ctx, "strace", args...), out
}

// parseStrace reads strace's output file as calls does.
func parseStrace(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := straceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		kind, ok := straceKinds[m[1]]
		if !ok {
			continue
		}
		fd := m[2]
		if kind == trace.KindSocket {
			fd = m[3]
		}
		out = append(out, fmt.Sprintf("%s(%s) = %s", kind, fd, m[3]))
	}
	return out
}

// readBytes adds up the return values of the reads in calls.
func readBytes(calls []string) int {
	n := 0
	for _, c := range calls {
		if v, ok := strings.CutPrefix(c, "recv("); ok {
			_, ret, _ := strings.Cut(v, " = ")
			r, _ := strconv.Atoi(ret)
			n += max(r, 0)
		}
	}
	return n
}

func TestTracedCallsMatchStrace(t *testing.T) {
	testneed.Program(t, "SEQD_REQUIRE_STRACE", "apt-get install strace; .ci/run installs it", "strace")
	server, client := cc(t, "../netcore/listings/serviceclient/server.c"), cc(t, "../netcore/listings/serviceclient/client.c")
	names := []string{"alice", "bob", "carol"}

	port := freePort(t)
	rec := traceRun(t, []string{server, port}, append([]string{client, "127.0.0.1", port}, names...))
	ours := calls(rec, actorOf(rec, filepath.Base(client)))

	// The same programs under strace: the server in the background, the client to its end.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	port = freePort(t)
	srv, srvOut := underStrace(t, ctx, []string{server, port})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(srvOut); strings.Contains(string(b), "listen(") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server under strace never listened")
		}
	}
	cli, cliOut := underStrace(t, ctx, append([]string{client, "127.0.0.1", port}, names...))
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("the client under strace: %v\n%s", err, out)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("the server under strace: %v", err)
	}
	if theirs := parseStrace(t, cliOut); !slices.Equal(ours, theirs) || len(ours) == 0 {
		t.Errorf("the client's calls differ:\nseqd trace: %v\nstrace:     %v", ours, theirs)
	}
	// The server's calls but its reads, whose number depends on how the
	// client's writes arrive (together or apart), and the bytes it read.
	notReads := func(calls []string) []string {
		return slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return strings.HasPrefix(c, "recv(4) = ") && c != "recv(4) = 0" })
	}
	ourServer := calls(rec, actorOf(rec, filepath.Base(server)))
	theirServer := parseStrace(t, srvOut)
	if a, b := notReads(ourServer), notReads(theirServer); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("the server's calls differ:\nseqd trace: %v\nstrace:     %v", a, b)
	}
	if a, b := readBytes(ourServer), readBytes(theirServer); a != b {
		t.Errorf("the server read %d bytes under seqd trace, %d under strace", a, b)
	}
}

// TestHelperSaysWhyItCannotRun traces a program the kernel cannot
// execute (execute permission, but no program inside: LookPath passes it,
// execve fails with ENOEXEC): the session fails saying it could not be
// started, and the helper (this test binary, as TestMain makes it) says
// which program and why on the programs' stderr.
func TestHelperSaysWhyItCannotRun(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	notAProgram := filepath.Join(t.TempDir(), "notes")
	if err := os.WriteFile(notAProgram, []byte("\x00\x01 not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(t.TempDir(), "output")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess := trace.NewSession("trace", nil, trace.Options{})
	err = progtrace.Run(ctx, sess, progtrace.Config{
		Programs: [][]string{{notAProgram}}, Helper: []string{self, progtrace.HelperArg}, Grace: 200 * time.Millisecond, Stdout: out, Stderr: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := sess.Snapshot()
	if rec.State != trace.StateFailed || !strings.Contains(rec.Error, "notes could not be started") || !strings.Contains(rec.Error, "status 127") {
		t.Errorf("the session ended %s with %q; want failed: notes could not be started, the helper's status 127", rec.State, rec.Error)
	}
	said, _ := os.ReadFile(out.Name())
	if want := "helper: " + notAProgram + ": exec format error"; !strings.Contains(string(said), want) {
		t.Errorf("the helper said %q; want %q", said, want)
	}
}
