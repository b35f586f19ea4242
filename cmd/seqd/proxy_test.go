package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startCommand runs a seqd command in-process until the test ends and
// returns its output lines as they come; stop sends the equivalent of
// SIGTERM and returns run's error.
func startCommand(t *testing.T, args ...string) (lines <-chan string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.Close()
		errc <- err
	}()
	out := make(chan string, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case out <- sc.Text():
			default: // nobody reads: drop, never block the command
			}
		}
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("the command did not stop within 30 s")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return out, stop
}

// nextLine waits for the command's next output line.
func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the command ended its output")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no output line within 10 s")
	}
	return ""
}

// labSessions reads GET /api/lab.
func labSessions(t *testing.T, url string) (enabled bool, addr string, sessions []struct{ ID, Scenario, State, Client, Error string }) {
	t.Helper()
	resp, err := http.Get(url + "/api/lab")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Enabled  bool
		Addr     string
		Sessions []struct{ ID, Scenario, State, Client, Error string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/lab: %d %v", resp.StatusCode, err)
	}
	return body.Enabled, body.Addr, body.Sessions
}

// waitState polls a session until it has ended.
func waitState(t *testing.T, url, id string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, state := getState(t, url, id); state != "running" {
			return state
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s still running after 10 s", id)
		}
		time.Sleep(10 * time.Millisecond) // polling an HTTP API: nothing to wait on
	}
}

// freePort returns a port on 127.0.0.1 that nothing listened on a moment
// ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestProxyCommandTracesAClientAndAServer(t *testing.T) {
	// A plain server that answers after the client's end of file: only a
	// half-close passed on by the proxy lets it answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "you sent %q\n", b)
	}()

	lines, stop := startCommand(t, "proxy", "-listen", "127.0.0.1:0", "-target", ln.Addr().String(), "-addr", "127.0.0.1:0", "-log-level", "error")
	first := nextLine(t, lines)
	m := regexp.MustCompile(`^seqd proxy: (127\.0\.0\.1:\d+) → (\S+), .* watch at (http://\S+)/ `).FindStringSubmatch(first)
	if m == nil || m[2] != ln.Addr().String() {
		t.Fatalf("first line %q; want the proxy's address, the target %s and the URL to watch", first, ln.Addr())
	}
	proxyAddr, url := m[1], m[3]
	if enabled, addr, _ := labSessions(t, url); !enabled || addr != proxyAddr {
		t.Errorf("GET /api/lab: enabled %v at %q; want enabled at %s", enabled, addr, proxyAddr)
	}

	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "alice\nbob\n")
	c.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(c)
	if want := "you sent \"alice\\nbob\\n\"\n"; string(reply) != want || err != nil {
		t.Errorf("the client got %q, %v; want %q", reply, err, want)
	}
	if l := nextLine(t, lines); !strings.HasPrefix(l, "seqd proxy: "+c.LocalAddr().String()+" connected: "+url+"/s/") {
		t.Errorf("line %q; want the new session's URL", l)
	}
	_, _, sessions := labSessions(t, url)
	if len(sessions) != 1 || sessions[0].Scenario != "proxy" || sessions[0].Client != c.LocalAddr().String() {
		t.Fatalf("GET /api/lab sessions %+v; want the proxy session of %s", sessions, c.LocalAddr())
	}
	if state := waitState(t, url, sessions[0].ID); state != "done" {
		t.Errorf("the proxy session ended %s; want done", state)
	}
	if err := stop(); err != nil {
		t.Errorf("proxy after SIGTERM: %v; want a clean exit", err)
	}
}

func TestProxyCommandRefusesBadTargets(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a target is required", []string{"proxy"}, "-target is required"},
		{"a remote target needs -allow-remote-target", []string{"proxy", "-target", "192.0.2.1:80"}, "-allow-remote-target"},
		{"names other than localhost are not looked up", []string{"proxy", "-target", "example.com:80"}, "looks up no names"},
		{"a target needs a port", []string{"proxy", "-target", "127.0.0.1"}, "HOST:PORT"},
		{"port 0 is no target", []string{"proxy", "-target", "127.0.0.1:0"}, "from 1 to 65535"},
		{"IPv6 is not spoken", []string{"proxy", "-target", "[::1]:7000"}, "IPv4 only"},
		{"a bad -listen is named", []string{"proxy", "-target", "127.0.0.1:7000", "-listen", "nowhere"}, "-listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run %v: %v; want an error mentioning %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestServeLabPort(t *testing.T) {
	port := freePort(t)
	url, stop := startServe(t, "-data", "none", "-lab-port", fmt.Sprint(port), "-lab-idle-timeout", "5s")
	enabled, addr, _ := labSessions(t, url)
	if want := fmt.Sprintf("127.0.0.1:%d", port); !enabled || addr != want {
		t.Fatalf("GET /api/lab: enabled %v at %q; want enabled at %s", enabled, addr, want)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "ada\n")
	c.(*net.TCPConn).CloseWrite()
	if reply, err := io.ReadAll(c); string(reply) != "1 ada\n" || err != nil {
		t.Errorf("the lab replied %q, %v; want %q", reply, err, "1 ada\n")
	}
	_, _, sessions := labSessions(t, url)
	if len(sessions) != 1 || sessions[0].Scenario != "lab" {
		t.Fatalf("GET /api/lab sessions %+v; want one lab session", sessions)
	}
	if state := waitState(t, url, sessions[0].ID); state != "done" {
		t.Errorf("the lab session ended %s; want done", state)
	}
	if err := stop(); err != nil {
		t.Errorf("serve after SIGTERM: %v; want a clean exit", err)
	}
}

func TestServeLabFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a port out of range is refused", []string{"serve", "-data", "none", "-addr", "127.0.0.1:0", "-lab-port", "70000"}, "-lab-port 70000"},
		{"a lab address must be IPv4", []string{"serve", "-data", "none", "-addr", "127.0.0.1:0", "-lab-port", "7000", "-lab-addr", "::1"}, "IPv4 only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run %v: %v; want an error mentioning %q", tt.args, err, tt.wantErr)
			}
		})
	}
	t.Run("a lab port in use says so", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		err = run(context.Background(), []string{"serve", "-data", "none", "-addr", "127.0.0.1:0", "-lab-port", port}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "-lab-port") {
			t.Errorf("serve with the lab port taken: %v; want EADDRINUSE and the flag to change", err)
		}
	})
}
