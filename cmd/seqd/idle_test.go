package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/progtrace"
)

// TestMain lets the test binary serve as a separate seqd process for
// BenchmarkIdleViewers, so that the server's memory is measured apart from
// the clients'.
func TestMain(m *testing.M) {
	progtrace.BecomeHelperIfAsked("seqd trace") // as in main: the tests run seqd trace in process
	if args := os.Getenv("SEQD_TEST_CHILD_ARGS"); args != "" {
		// SEQD_TEST_CHILD_LOG=1 shows what the child logs (with -log-level in its args).
		var logs io.Writer = io.Discard
		if os.Getenv("SEQD_TEST_CHILD_LOG") != "" {
			logs = os.Stderr
		}
		if err := run(context.Background(), strings.Fields(args), os.Stdout, logs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverMetrics reads gauges from a seqd /metrics.
func serverMetrics(b *testing.B, base string, names ...string) []float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []float64
	for _, name := range names {
		m := regexp.MustCompile(`(?m)^` + name + ` ([0-9.e+]+)$`).FindSubmatch(body)
		if m == nil {
			b.Fatalf("no %s in /metrics", name)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		out = append(out, v)
	}
	return out
}

// BenchmarkIdleViewers connects 10,000 WebSocket viewers to one session
// that waits for a step (so nothing is sent) on a seqd server running in
// its own process, and reports the server's memory per viewer: Go heap and
// stacks in use, from its /metrics, before and after.
func BenchmarkIdleViewers(b *testing.B) {
	const viewers = 10_000
	for i := 0; i < b.N; i++ {
		exe, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "SEQD_TEST_CHILD_ARGS=serve -addr 127.0.0.1:0 -data none -log-level error -max-viewers 20000 -max-viewers-per-session 20000")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		base := strings.TrimSuffix(regexp.MustCompile(`http://[^ ]+/`).FindString(line), "/")
		resp, err := http.Post(base+"/api/sessions", "application/json", strings.NewReader(`{"scenario":"echo","step":true}`))
		if err != nil {
			b.Fatal(err)
		}
		var created struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		time.Sleep(200 * time.Millisecond) // let the fresh process settle before the first reading
		before := serverMetrics(b, base, "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines")

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		conns := make([]*websocket.Conn, viewers)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 100) // the listen queue holds a few thousand at most
		var dialErr error
		var mu sync.Mutex
		for j := range conns {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c, _, err := websocket.Dial(ctx, "ws"+base[4:]+"/api/sessions/"+created.ID+"/ws", nil)
				if err != nil {
					mu.Lock()
					dialErr = err
					mu.Unlock()
					return
				}
				c.SetReadLimit(1 << 20)
				if _, _, err := c.Read(ctx); err != nil { // the actors message: the stream is live
					mu.Lock()
					dialErr = err
					mu.Unlock()
				}
				conns[j] = c
			}()
		}
		wg.Wait()
		if dialErr != nil {
			b.Fatal(dialErr)
		}
		time.Sleep(500 * time.Millisecond) // let the server's handlers reach their wait
		after := serverMetrics(b, base, "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines")
		heap, stack := (after[0]-before[0])/viewers/1024, (after[1]-before[1])/viewers/1024
		b.ReportMetric(heap+stack, "KiB/viewer")
		b.ReportMetric(heap, "heap-KiB/viewer")
		b.ReportMetric(stack, "stack-KiB/viewer")
		b.ReportMetric((after[2]-before[2])/viewers, "goroutines/viewer")
		for _, c := range conns {
			c.CloseNow()
		}
	}
}
