package replica_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"seqd/loadgen"
	"seqd/trace"
)

// BenchmarkReplicaLatency measures, for viewers spread evenly over three
// replicas of one live session emitting 1,000 events/s, the time from a
// call's return (its event recorded on the replica that runs it) to the
// WebSocket message carrying it arriving at a Go client. The viewers of
// the replica that runs the session and those of the two that follow it
// over NATS are timed in the same run: their difference is what viewing
// through another replica costs.
//
//	go test -run XXX -bench ReplicaLatency -benchtime 1x ./replica
func BenchmarkReplicaLatency(b *testing.B) {
	for _, viewers := range []int{3, 300, 3000} {
		b.Run(fmt.Sprintf("viewers=%d", viewers), func(b *testing.B) {
			replicas := startReplicas(b)
			var local, remote []time.Duration
			for i := 0; i < b.N; i++ {
				sess := trace.NewSession("synthetic", nil, trace.Options{})
				replicas[0].store.Add(sess)
				replicas[0].node.Publish(sess)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				var ready, done sync.WaitGroup
				ready.Add(len(replicas))
				got := make([][]*loadgen.Viewer, len(replicas))
				errs := make([]error, len(replicas))
				for j, r := range replicas {
					done.Add(1)
					go func() {
						defer done.Done()
						got[j], errs[j] = loadgen.Viewers(ctx, "ws"+r.url[4:]+"/api/sessions/"+sess.ID()+"/ws", viewers/len(replicas), sess.StartedAt(), ready.Done)
					}()
				}
				ready.Wait()
				emitErr := loadgen.Emit(ctx, sess, 2000, 1000)
				done.Wait()
				cancel()
				for j, err := range errs {
					if err != nil || emitErr != nil {
						b.Fatalf("replica %d: %v %v", j, err, emitErr)
					}
					for _, v := range got[j] {
						if v.LastSeq != 1999 {
							b.Fatalf("a viewer of replica %d got events up to %d of 2,000", j, v.LastSeq)
						}
					}
				}
				local = append(local, loadgen.Latencies(got[0])...)
				remote = append(remote, loadgen.Latencies(got[1])...)
				remote = append(remote, loadgen.Latencies(got[2])...)
			}
			b.ReportMetric(float64(loadgen.Percentile(local, 0.5).Microseconds()), "p50-runner-µs")
			b.ReportMetric(float64(loadgen.Percentile(local, 0.99).Microseconds()), "p99-runner-µs")
			b.ReportMetric(float64(loadgen.Percentile(remote, 0.5).Microseconds()), "p50-other-µs")
			b.ReportMetric(float64(loadgen.Percentile(remote, 0.99).Microseconds()), "p99-other-µs")
			b.ReportMetric(float64((loadgen.Percentile(remote, 0.99) - loadgen.Percentile(local, 0.99)).Microseconds()), "p99-extra-µs")
		})
	}
}
