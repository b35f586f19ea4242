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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestHeavyMixStaysUnderTheMemoryBudget runs a real seqd (built without
// the race detector, in a process of its own so that its memory is its
// own) with -memory-limit, drives it for 30 s with a mix of the heaviest
// legal requests — the largest sessions its parameters and budget allow,
// downloads of them, viewers following them — and checks that its
// resident memory never exceeds the budget and that /healthz answers
// within 100 ms throughout. Every request loop is bounded in time.
func TestHeavyMixStaysUnderTheMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s load test")
	}
	// Its /healthz figure is only meaningful with the machine to itself:
	// `go test ./...` runs packages side by side (the browser tests among
	// them). CI runs it alone, after the suite.
	if os.Getenv("SEQD_LOAD_ALONE") == "" {
		t.Skip("set SEQD_LOAD_ALONE=1 and run it alone: go test -run TestHeavyMix ./cmd/seqd (CI does)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build seqd with")
	}
	bin := filepath.Join(t.TempDir(), "seqd")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const budget = 384 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "-addr", "127.0.0.1:0", "-data", "none", "-log-level", "error",
		"-memory-limit", strconv.Itoa(budget), "-create-per-minute", "100000", "-max-downloads-per-ip", "64")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	base := strings.TrimSuffix(regexp.MustCompile(`http://[^ ]+/`).FindString(line), "/")
	if base == "" {
		t.Fatalf("seqd printed %q", line)
	}

	heavy := []string{
		`{"scenario":"stream","params":{"size":1048576,"chunk":256,"writes":100}}`,
		`{"scenario":"backpressure","params":{"total":1048576,"chunk":4096,"read_delay_ms":0}}`,
		`{"scenario":"echo","params":{"rounds":1000}}`,
		`{"scenario":"concurrent","params":{"clients":16}}`,
	}
	var (
		mu       sync.Mutex
		finished []string // ids of sessions to download and watch
		created  atomic.Int64
		refused  atomic.Int64
	)
	end := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	loop := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
				f(i)
			}
		}()
	}
	client := &http.Client{Timeout: 20 * time.Second}
	// Enough clients to keep the server at its limits, few enough to leave
	// the two CPUs some room: the clients run on the same machine.
	for w := range 2 {
		loop(func(i int) {
			resp, err := client.Post(base+"/api/sessions", "application/json", strings.NewReader(heavy[(w+i)%len(heavy)]))
			if err != nil {
				return
			}
			var m struct{ ID string }
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				refused.Add(1)
				time.Sleep(50 * time.Millisecond)
				return
			}
			created.Add(1)
			mu.Lock()
			finished = append(finished, m.ID)
			mu.Unlock()
		})
	}
	pick := func(i int) string {
		mu.Lock()
		defer mu.Unlock()
		if len(finished) == 0 {
			return ""
		}
		return finished[i%len(finished)]
	}
	for range 3 {
		loop(func(i int) {
			id := pick(i)
			if id == "" {
				time.Sleep(10 * time.Millisecond)
				return
			}
			if resp, err := client.Get(base + "/api/sessions/" + id); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for range 1 {
		loop(func(i int) {
			id := pick(i)
			if id == "" {
				time.Sleep(10 * time.Millisecond)
				return
			}
			wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
			defer wcancel()
			c, _, err := websocket.Dial(wctx, strings.Replace(base, "http", "ws", 1)+"/api/sessions/"+id+"/ws", nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			c.SetReadLimit(16 << 20)
			for {
				if _, _, err := c.Read(wctx); err != nil {
					return
				}
			}
		})
	}

	var maxRSS int64
	var slowest time.Duration
	probes := 0
	for time.Now().Before(end) {
		time.Sleep(200 * time.Millisecond)
		if rss := residentBytes(t, cmd.Process.Pid); rss > maxRSS {
			maxRSS = rss
		}
		start := time.Now()
		resp, err := client.Get(base + "/healthz")
		took := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("/healthz under load: %v %v", err, resp)
		} else {
			resp.Body.Close()
		}
		slowest = max(slowest, took)
		probes++
	}
	cancel() // ends the viewers' and downloads' requests
	wg.Wait()
	t.Logf("%d sessions created, %d refused; most resident memory %d MiB (budget %d MiB); slowest of %d /healthz %v",
		created.Load(), refused.Load(), maxRSS>>20, budget>>20, probes, slowest)
	if created.Load() == 0 {
		t.Fatal("no session was created: the load tested nothing")
	}
	if maxRSS > budget {
		t.Errorf("resident memory reached %d MiB, over the budget of %d MiB", maxRSS>>20, budget>>20)
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("the slowest /healthz took %v; want within 100 ms", slowest)
	}
}

// residentBytes reads a process's resident memory from /proc.
func residentBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}
