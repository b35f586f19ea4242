package netcore

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// BenchmarkServiceClientSession runs whole serviceclient sessions, one
// after another: the report's sessions/s is 1e9 / ns/op.
func BenchmarkServiceClientSession(b *testing.B) {
	var r Runner
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sess, err := r.Prepare("serviceclient", nil)
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

const (
	bulkTotal = 64 << 20
	bulkChunk = 64 << 10
)

// connectedPair sets up one traced connection for the bulk benchmarks.
func connectedPair(b *testing.B) (ex *exchange, client, server *sock, done func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sess := trace.NewSession("bulk", nil, trace.Options{MaxEvents: 1 << 30})
	ex = &exchange{ctx: ctx, cancel: cancel, sess: sess, preview: DefaultPreview, open: map[*sock]struct{}{}}
	ls, port, err := ex.listener("server", 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	accepted := make(chan *sock, 1)
	go func() {
		c, err := ls.accept()
		if err != nil {
			b.Error(err)
		}
		accepted <- c
	}()
	client, err = ex.dial("client", port, nil)
	if err != nil {
		b.Fatal(err)
	}
	server = <-accepted
	return ex, client, server, func() { ex.closeAll(); cancel(nil) }
}

// rawWrite and rawRead are the same calls through the same poller,
// untraced: the baseline the traced calls are measured against.
func (s *sock) rawWrite(p []byte) (n int, err error) {
	if werr := s.rc.Write(func(fd uintptr) bool {
		n, err = unix.Write(int(fd), p)
		return err != unix.EAGAIN
	}); werr != nil {
		return 0, werr
	}
	return n, err
}

func (s *sock) rawRead(p []byte) (n int, err error) {
	if rerr := s.rc.Read(func(fd uintptr) bool {
		n, err = unix.Read(int(fd), p)
		return err != unix.EAGAIN
	}); rerr != nil {
		return 0, rerr
	}
	return n, err
}

func benchBulk(b *testing.B, traced bool) {
	_, client, server, done := connectedPair(b)
	defer done()
	write, read := client.rawWrite, server.rawRead
	if traced {
		write, read = client.write, server.read
	}
	chunk := make([]byte, bulkChunk)
	buf := make([]byte, bulkChunk)
	b.SetBytes(bulkTotal)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		errc := make(chan error, 1)
		go func() {
			for left := bulkTotal; left > 0; {
				n, err := write(chunk[:min(len(chunk), left)])
				if err != nil {
					errc <- err
					return
				}
				left -= n
			}
			errc <- nil
		}()
		for got := 0; got < bulkTotal; {
			n, err := read(buf)
			if err != nil || n == 0 {
				b.Fatalf("read after %d bytes: %d, %v", got, n, err)
			}
			got += n
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulk moves 64 MiB over one loopback connection with 64 KiB
// writes and reads, traced (payload previews on) and untraced.
func BenchmarkBulk(b *testing.B) {
	b.Run("untraced", func(b *testing.B) { benchBulk(b, false) })
	b.Run("traced", func(b *testing.B) { benchBulk(b, true) })
}
