package netcore

import (
	"context"
	"testing"
	"time"

	"seqd/trace"
)

// BenchmarkServiceClientSession runs whole serviceclient sessions, one
// after another: the report's sessions/s is 1e9 / ns/op.
func BenchmarkServiceClientSession(b *testing.B) {
	var r Runner
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sess, err := r.Prepare("serviceclient", nil, trace.Features{})
		if err != nil {
			b.Fatal(err)
		}
		r.Run(context.Background(), sess)
		if m := sess.Meta(); m.State != trace.StateDone {
			b.Fatal(m.Error)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkBulk moves 64 MiB over one loopback connection with 64 KiB
// writes and reads, traced (payload previews on) and untraced.
func BenchmarkBulk(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "untraced"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(64 << 20)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				d, err := Bulk(context.Background(), 64<<20, 64<<10, traced)
				if err != nil {
					b.Fatal(err)
				}
				total += d
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
		})
	}
}

// BenchmarkBulkSideBySide moves 64 MiB untraced and then traced in each
// iteration (the order alternating) and reports the ratio of their
// throughputs, traced/untraced: the two run seconds apart on the same
// machine, so the ratio holds still where BenchmarkBulk's two figures,
// minutes apart on a shared machine, do not.
func BenchmarkBulkSideBySide(b *testing.B) {
	b.SetBytes(2 * 64 << 20)
	var untraced, traced time.Duration
	for i := 0; i < b.N; i++ {
		for j := range 2 {
			trace := (i+j)%2 == 1
			d, err := Bulk(context.Background(), 64<<20, 64<<10, trace)
			if err != nil {
				b.Fatal(err)
			}
			if trace {
				traced += d
			} else {
				untraced += d
			}
		}
	}
	b.ReportMetric(float64(untraced)/float64(traced), "traced/untraced")
}
