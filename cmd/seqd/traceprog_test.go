package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"seqd/trace"
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
	if _, err := exec.LookPath("cc"); err != nil {
		t.Fatal("this test compiles a C server: install a C compiler (Debian: apt-get install gcc)")
	}
	dir := t.TempDir()
	bin := buildSeqd(t, dir)
	server := filepath.Join(dir, "serviceserver")
	if out, err := exec.Command("cc", "-Wall", "-o", server, "../../netcore/listings/serviceclient/server.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

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
