package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"seqd/internal/testneed"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// buildSeqd builds this command into dir: the trace tests run it as a
// user would, signals and all.
func buildSeqd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "seqd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// listening reports whether a socket listens on port (/proc/net/tcp).
func listening(port int) bool {
	b, _ := os.ReadFile("/proc/net/tcp")
	return strings.Contains(string(b), fmt.Sprintf(":%04X 00000000:0000 0A", port))
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func TestTraceLeavesNoTraceeBehind(t *testing.T) {
	testneed.Program(t, "SEQD_REQUIRE_CC", "this test compiles a C server: apt-get install gcc", "cc")
	dir := t.TempDir()
	bin := buildSeqd(t, dir)
	server := filepath.Join(dir, "serviceserver")
	if out, err := exec.Command("cc", "-Wall", "-o", server, "../../netcore/listings/serviceclient/server.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	port := freePort(t)

	// The server waits for a client that never comes: seqd is stopped with
	// Ctrl-C (SIGINT) while its tracee is blocked in accept.
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "trace", "-json", "--", server, strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	for deadline := time.Now().Add(10 * time.Second); !listening(port); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the traced server never listened on %d; seqd said:\n%s", port, stderr.String())
		}
	}
	tracees := childrenOf(cmd.Process.Pid)
	if len(tracees) == 0 {
		t.Fatal("seqd trace has no child process while its program runs")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("seqd trace did not end within 10 s of SIGINT; it said:\n%s", stderr.String())
	}
	for _, pid := range tracees {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			t.Errorf("process %d outlived seqd trace:\n%s", pid, b)
		}
	}
	var rec trace.Record
	if err := json.Unmarshal(stdout.Bytes(), &rec); err != nil {
		t.Fatalf("seqd trace -json printed no session after SIGINT: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if rec.State != trace.StateFailed || !strings.Contains(rec.Error, "stopped before the programs ended") {
		t.Errorf("session %s (%q), want failed: stopped before the programs ended", rec.State, rec.Error)
	}
	if len(rec.Events) == 0 || rec.Events[len(rec.Events)-1].Kind != trace.KindAccept {
		t.Errorf("the session's last event is not the accept the server was in: %d events", len(rec.Events))
	}
}

func TestTraceRefusesWhatCannotRun(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"no program at all", "trace needs a program", []string{"trace"}},
		{"a program that does not exist", "not found or not executable", []string{"trace", "--", "./no-such-program"}},
		{"an empty program between :::", "program 2 is empty", []string{"trace", "--", "true", ":::"}},
	} {
		t.Run("it refuses "+tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tc.args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("seqd %s: %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}

// ccListing compiles one of netcore's C listings into dir.
func ccListing(t *testing.T, dir, listing, name string) string {
	t.Helper()
	testneed.Program(t, "SEQD_REQUIRE_CC", "this test compiles C programs: apt-get install gcc", "cc")
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("cc", "-Wall", "-o", bin, "../../netcore/listings/"+listing).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", listing, err, out)
	}
	return bin
}

func TestTracePublishesToACourseServer(t *testing.T) {
	dir := t.TempDir()
	server := ccListing(t, dir, "serviceclient/server.c", "serviceserver")
	client := ccListing(t, dir, "serviceclient/client.c", "serviceclient")
	store := &trace.Store{}
	srv, err := web.New(&netcore.Runner{}, store, web.Config{TraceToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()
	port := strconv.Itoa(freePort(t))
	programs := []string{"--", server, port, ":::", client, "127.0.0.1", port, "alice", "bob"}

	t.Run("a wrong token is refused with what to do", func(t *testing.T) {
		var out bytes.Buffer
		err := run(t.Context(), append([]string{"trace", "-publish", ts.URL, "-token", "guess"}, programs...), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "-token") {
			t.Errorf("publishing with a wrong token: %v, want 401 and how to give the token", err)
		}
	})
	t.Run("the course server shows the whole session, done", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"trace", "-publish", ts.URL, "-token", "s3cret"}, programs...), &out, &out); err != nil {
			t.Fatalf("seqd trace -publish: %v\n%s", err, out.String())
		}
		m := regexp.MustCompile(`/s/([a-z0-9]+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("seqd trace -publish printed no session URL:\n%s", out.String())
		}
		sess, ok := store.Get(m[1])
		if !ok {
			t.Fatalf("the course server has no session %s", m[1])
		}
		rec := sess.Snapshot()
		if rec.State != trace.StateDone || len(rec.Events) < 10 || len(rec.Actors) != 2 {
			t.Fatalf("the published session: %s (%s), %d events, actors %v", rec.State, rec.Error, len(rec.Events), rec.Actors)
		}
		if v := trace.CausalViolations(rec.Events); len(v) > 0 {
			t.Errorf("the published session is out of causal order: %v", v)
		}
		var names string
		for _, e := range rec.Events {
			if e.Kind == trace.KindSend && strings.HasPrefix(e.Actor, "serviceclient") {
				names += e.Data
			}
		}
		if names != "alice\nbob\n" {
			t.Errorf("the client's writes on the course server: %q, want %q", names, "alice\nbob\n")
		}
	})
}
