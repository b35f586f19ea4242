package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startServe runs `seqd serve` in-process on a free port and returns its
// URL and a stop function that sends the equivalent of SIGTERM and returns
// run's error.
func startServe(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	lines, stop := startCommand(t, append([]string{"serve", "-addr", "127.0.0.1:0", "-log-level", "error"}, args...)...)
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed nothing in 30 s (stopped: %v)", stop())
	}
	url := regexp.MustCompile(`http://[^ ]+/`).FindString(line)
	if url == "" {
		t.Fatalf("serve printed %q; want the URL to open", line)
	}
	return strings.TrimSuffix(url, "/"), stop
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url+"/api/sessions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST: %d %v", resp.StatusCode, err)
	}
	return out.ID
}

func getState(t *testing.T, url, id string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/api/sessions/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ State string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.State
}

func TestServeSavesSessionsAcrossRestarts(t *testing.T) {
	data := t.TempDir()
	url, stop := startServe(t, "-data", data)
	id := post(t, url, `{"scenario":"serviceclient","params":{"names":["ada"]}}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, state := getState(t, url, id); state == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session never finished")
		}
		time.Sleep(10 * time.Millisecond) // polling an HTTP API: nothing to wait on
	}
	if err := stop(); err != nil {
		t.Fatalf("serve after SIGTERM: %v; want a clean exit", err)
	}
	url2, _ := startServe(t, "-data", data)
	if code, state := getState(t, url2, id); code != 200 || state != "done" {
		t.Errorf("after a restart the session answers %d %q; want 200 done", code, state)
	}
}

func TestShutdownClosesStreamsGoingAway(t *testing.T) {
	for _, tc := range []struct{ name, query string }{
		{"a viewer waiting for its next event", ""},
		{"a viewer whose messages are spaced (batch_ms)", "?batch_ms=1000"},
	} {
		t.Run(tc.name+" gets 1001 going away", func(t *testing.T) {
			url, stop := startServe(t, "-data", "none", "-grace", "200ms")
			id := post(t, url, `{"scenario":"echo","params":{"rounds":1000,"pace_ms":100}}`)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/api/sessions/"+id+"/ws"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			for range 2 { // the lifelines, then events: the stream is live
				if _, _, err := c.Read(ctx); err != nil {
					t.Fatal(err)
				}
			}
			stopErr := make(chan error, 1)
			go func() { stopErr <- stop() }()
			for {
				_, _, err := c.Read(ctx)
				if err != nil {
					if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
						t.Errorf("stream ended with %v (status %d); want 1001 going away", err, got)
					}
					break
				}
			}
			if err := <-stopErr; err != nil {
				t.Errorf("serve: %v; want a clean exit", err)
			}
		})
	}
}

func TestRunCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // empty: success
		wantOut string
	}{
		{"run prints a transcript", []string{"run", "serviceclient", "-names", "ada,grace"}, "", "SHUT_WR) = 0"},
		{"run -json prints the session", []string{"run", "echo", "-rounds", "2", "-json"}, "", `"scenario": "echo"`},
		{"run -ladder draws a ladder", []string{"run", "http", "-ladder"}, "", "0 (EOF)"}, // "read 0 (EOF)", or "<… read resumed> = 0 (EOF)" when the read waited
		{"list lists the scenarios", []string{"list"}, "", "backpressure"},
		{"a bad parameter names its flag", []string{"run", "echo", "-rounds", "0"}, "-rounds", ""},
		{"a non-number names its flag", []string{"run", "echo", "-rounds", "x"}, "-rounds", ""},
		{"an unknown scenario says how to list them", []string{"run", "ftp"}, "seqd list", ""},
		{"run without a scenario says so", []string{"run"}, "needs a scenario", ""},
		{"an unknown command is refused", []string{"frobnicate"}, "unknown command", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("run %v: %v", tt.args, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error()+errOut.String(), tt.wantErr)) {
				t.Fatalf("run %v: error %v; want one mentioning %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}

func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	base, _ := startServe(t, "-data", "none", "-keepalive-timeout", "200ms")
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Idle now, kept alive: the server must close it after 200 ms.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("reading an idle kept-alive connection: %v; want EOF", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the idle connection was closed after %v; want about 200 ms", took)
	}
}
