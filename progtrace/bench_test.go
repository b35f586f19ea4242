package progtrace_test

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"seqd/progtrace"
	"seqd/trace"
)

// bulkMiB is the size of BenchmarkBulkTracedSideBySide's transfer.
const bulkMiB = 64

// BenchmarkBulkTracedSideBySide times one C bulk transfer of bulkMiB MiB
// over loopback (testdata/bulk.c: a process writes it in 64 KiB writes to
// its forked child) three ways in each iteration, side by side: untraced,
// under seqd trace, and under strace -f (the anchor: one tracer for both
// processes, as seqd trace is; skipped where strace is missing). Each time
// is the whole run, the program started to both processes ended. It
// reports each way's MB/s (median of the iterations) and
// traced/untraced and strace/untraced.
func BenchmarkBulkTracedSideBySide(b *testing.B) {
	bulk := cc(b, "testdata/bulk.c")
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	_, strace := exec.LookPath("strace")
	mib := strconv.Itoa(bulkMiB)
	untraced := func() error { return exec.Command(bulk, freePort(b), mib).Run() }
	straced := func() error {
		return exec.Command("strace", "-f", "-qq", "-o", os.DevNull, bulk, freePort(b), mib).Run()
	}
	traced := func() error {
		sess := trace.NewSession("trace", nil, trace.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return progtrace.Run(ctx, sess, progtrace.Config{
			Programs: [][]string{{bulk, freePort(b), mib}},
			Helper:   []string{self, progtrace.HelperArg}, Preview: 4096,
		})
	}
	ways := []struct {
		name string
		run  func() error
		skip bool
	}{{"untraced", untraced, false}, {"traced", traced, false}, {"strace", straced, strace != nil}}
	times := make([][]float64, len(ways))
	for i := 0; i < b.N; i++ {
		for w, way := range ways {
			if way.skip {
				continue
			}
			t0 := time.Now()
			if err := way.run(); err != nil {
				b.Fatalf("%s: %v", way.name, err)
			}
			times[w] = append(times[w], time.Since(t0).Seconds())
		}
	}
	mbps := func(w int) float64 {
		ts := times[w]
		sort.Float64s(ts)
		return bulkMiB * 1.048576 / ts[len(ts)/2]
	}
	b.ReportMetric(mbps(0), "untraced-MB/s")
	b.ReportMetric(mbps(1), "traced-MB/s")
	b.ReportMetric(mbps(1)/mbps(0), "traced/untraced")
	if strace == nil {
		b.ReportMetric(mbps(2), "strace-MB/s")
		b.ReportMetric(mbps(2)/mbps(0), "strace/untraced")
	}
}
