package netcore

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// Bulk moves total bytes over one loopback connection in writes and reads
// of chunk bytes and returns how long it took: traced, every call recorded
// with payload previews as in a session; untraced, the same calls through
// the same runtime-poller path with nothing recorded. The ratio of the two
// is what tracing costs; seqd bench and the benchmarks report it.
func Bulk(ctx context.Context, total, chunk int, traced bool) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sess := trace.NewSession("bulk", nil, trace.Options{MaxEvents: 1 << 30, MaxBytes: 1 << 40})
	ex := &exchange{ctx: ctx, cancel: cancel, sess: sess, preview: DefaultPreview, open: map[*sock]struct{}{}}
	defer ex.closeAll()
	ls, port, err := ex.listener("server", 1, nil)
	if err != nil {
		return 0, err
	}
	g := &group{ex: ex}
	accepted := make(chan *sock, 1)
	g.spawn(func() error {
		c, err := ls.accept()
		accepted <- c
		return err
	})
	client, err := ex.dial("client", port, nil)
	if err != nil {
		return 0, err
	}
	server := <-accepted
	if err := g.wait(); err != nil {
		return 0, err
	}
	write, read := client.rawWrite, server.rawRead
	if traced {
		write, read = client.writeFrozen, server.read
	}
	buf, out := make([]byte, chunk), make([]byte, chunk)
	start := time.Now()
	g = &group{ex: ex}
	g.spawn(func() error {
		for left := total; left > 0; {
			n, err := write(out[:min(len(out), left)])
			if err != nil {
				return err
			}
			left -= n
		}
		return nil
	})
	g.spawn(func() error {
		for got := 0; got < total; {
			n, err := read(buf)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("bulk: end of file after %d of %d bytes", got, total)
			}
			got += n
		}
		return nil
	})
	if err := g.wait(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// rawWrite and rawRead are write and read through the same poller path as
// sock.write and sock.read, recording nothing: Bulk's baseline.
func (s *sock) rawWrite(p []byte) (n int, err error) {
	err = s.retry(s.rc.Write, func(fd int) (err error) {
		n, err = unix.Write(fd, p)
		return err
	}, nil)
	return max(n, 0), err
}

func (s *sock) rawRead(p []byte) (n int, err error) {
	err = s.retry(s.rc.Read, func(fd int) (err error) {
		n, err = unix.Read(fd, p)
		return err
	}, nil)
	return max(n, 0), err
}
