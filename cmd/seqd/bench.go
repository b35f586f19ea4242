package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"seqd/loadgen"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// bench measures this machine against seqd's performance targets with a
// fresh in-process server, so a course can size its server before a
// lecture. It prints one row per figure: value and target.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seqd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	viewers := fs.Int("viewers", 1000, "viewers of one session for the fan-out latency figure")
	quick := fs.Bool("quick", false, "smaller runs: a rough figure in a few seconds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	events, pairs, sessionsFor := 2000, 5, 3*time.Second
	if *quick {
		events, pairs, sessionsFor = 500, 2, time.Second
	}
	fmt.Fprintf(stderr, "seqd bench: %d CPUs, %s; this takes about %s\n", runtime.NumCPU(), runtime.Version(), map[bool]string{false: "40 s", true: "10 s"}[*quick])

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "figure\tvalue\ttarget")
	row := func(figure, value, target string) {
		fmt.Fprintf(stderr, "  %s: %s\n", figure, value) // progress while the table waits
		fmt.Fprintf(tw, "%s\t%s\t%s\n", figure, value, target)
	}

	ns, allocs := measureRecord(1_000_000)
	row("recording one event", fmt.Sprintf("%.0f ns, %.1f allocs", ns, allocs), "≤ 300 ns, ≤ 1 alloc")

	ratio, traced, raw, err := measureBulk(ctx, pairs)
	if err != nil {
		return err
	}
	row("64 MiB bulk transfer, traced / untraced", fmt.Sprintf("%.2f (%.0f / %.0f MB/s)", ratio, traced, raw), "≥ 0.9")

	srv, base, stop, err := startBenchServer()
	if err != nil {
		return err
	}
	defer stop()
	for _, n := range []int{1, *viewers} {
		p50, p99, err := measureLatency(ctx, srv, base, n, events)
		if err != nil {
			return err
		}
		target := "p99 ≤ 2 ms"
		if n > 1 {
			target = "p99 ≤ 100 ms"
		}
		row(fmt.Sprintf("event latency, %d viewer(s), 1,000 events/s", n), fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(p99)), target)
	}
	n, elapsed, err := loadgen.Sessions(ctx, base, 8, sessionsFor)
	if err != nil {
		return err
	}
	row("serviceclient sessions through the API", fmt.Sprintf("%.0f sessions/s (%d checked)", float64(n)/elapsed.Seconds(), n), "≥ 2,000/s")
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// measureRecord records n events into sessions of the default size and
// returns the time and allocations per event.
func measureRecord(n int) (nsPerOp, allocsPerOp float64) {
	payload := []byte("alice\n")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	sess := trace.NewSession("bench", nil, trace.Options{})
	began := time.Now()
	for i := 0; i < n; i++ {
		if i%trace.DefaultMaxEvents == trace.DefaultMaxEvents-1 {
			sess = trace.NewSession("bench", nil, trace.Options{})
		}
		e := trace.Event{Actor: "client", Kind: trace.KindSend, FD: 3, Ret: 6, Want: 6, Bytes: 6, Conn: "127.0.0.1:1-127.0.0.1:2", TCPState: "ESTABLISHED"}
		e.SetPayload(payload, netcore.DefaultPreview)
		_ = sess.Record(&e, began)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return float64(elapsed.Nanoseconds()) / float64(n), float64(after.Mallocs-before.Mallocs) / float64(n)
}

// measureBulk alternates untraced and traced 64 MiB transfers, pairs
// times, and returns the ratio of the median throughputs and the two
// medians in MB/s.
func measureBulk(ctx context.Context, pairs int) (ratio, traced, raw float64, err error) {
	const total = 64 << 20
	var tt, rt []time.Duration
	for i := 0; i < pairs; i++ {
		r, err := netcore.Bulk(ctx, total, 64<<10, false)
		if err != nil {
			return 0, 0, 0, err
		}
		t, err := netcore.Bulk(ctx, total, 64<<10, true)
		if err != nil {
			return 0, 0, 0, err
		}
		rt, tt = append(rt, r), append(tt, t)
	}
	slices.Sort(rt)
	slices.Sort(tt)
	mbps := func(d time.Duration) float64 { return total / d.Seconds() / 1e6 }
	traced, raw = mbps(tt[len(tt)/2]), mbps(rt[len(rt)/2])
	return traced / raw, traced, raw, nil
}

// benchServer is the in-process server seqd bench measures.
type benchServer struct {
	store *trace.Store
}

func startBenchServer() (*benchServer, string, func(), error) {
	store := &trace.Store{MaxFinished: 1 << 20}
	runner := &netcore.Runner{}
	srv, err := web.New(runner, store, web.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: web.Limits{MaxRunning: 1 << 20, MaxRunningPerIP: 1 << 20, CreatePerMinute: 1 << 30, MaxSubscribersPerSession: 1 << 20, MaxSubscribers: 1 << 20},
	})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		srv.Close()
		runner.Wait()
	}
	return &benchServer{store: store}, "http://" + ln.Addr().String(), stop, nil
}

// measureLatency has n viewers follow a session that records events
// events at 1,000 per second and returns the latency percentiles.
func measureLatency(ctx context.Context, srv *benchServer, base string, n, events int) (p50, p99 time.Duration, err error) {
	sess := trace.NewSession("synthetic", nil, trace.Options{})
	srv.store.Add(sess)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	emitted := make(chan error, 1)
	vs, err := loadgen.Viewers(ctx, "ws"+base[len("http"):]+"/api/sessions/"+sess.ID()+"/ws", n, sess.StartedAt(), func() {
		go func() { emitted <- loadgen.Emit(ctx, sess, events, 1000) }()
	})
	if err := errors.Join(err, <-emitted); err != nil {
		return 0, 0, err
	}
	for _, v := range vs {
		if v.LastSeq != events-1 {
			return 0, 0, fmt.Errorf("a viewer got events up to %d of %d", v.LastSeq, events)
		}
	}
	all := loadgen.Latencies(vs)
	return loadgen.Percentile(all, 0.5), loadgen.Percentile(all, 0.99), nil
}
