package netcore

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"seqd/trace"
)

// exchange is one running scenario: the session it records into, the
// context every call obeys, and the sockets still open, so that every path
// out of a scenario closes them.
type exchange struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	sess    *trace.Session
	pace    time.Duration
	preview int

	// mu guards open.
	mu   sync.Mutex
	open map[*sock]struct{}
}

func (ex *exchange) record(e *trace.Event, began time.Time) error {
	if err := ex.sess.Record(e, began); err != nil {
		ex.cancel(err)
		return err
	}
	return nil
}

func (ex *exchange) track(s *sock) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ex.open[s] = struct{}{}
}

func (ex *exchange) untrack(s *sock) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	delete(ex.open, s)
}

// closeAll closes the sockets a scenario left open, as the kernel does when
// a process exits. It runs after every goroutine of the scenario ended.
func (ex *exchange) closeAll() {
	ex.mu.Lock()
	left := make([]*sock, 0, len(ex.open))
	for s := range ex.open {
		left = append(left, s)
	}
	ex.mu.Unlock()
	for _, s := range left {
		_ = s.close()
	}
}

// pause waits the scenario's pace before a call, so a class can watch the
// exchange unfold. It returns early with the cause when the exchange ends.
func (ex *exchange) pause() error { return ex.sleep(ex.pace) }

// actor adds a lifeline to the session.
func (ex *exchange) actor(name string) string {
	ex.sess.AddActor(name)
	return name
}

// getaddrinfo records the client's lookup of the server's address. seqd
// only ever talks to 127.0.0.1, so the lookup is numeric (AI_NUMERICHOST,
// AI_NUMERICSERV): no resolver, no DNS.
func (ex *exchange) getaddrinfo(actor string, port int) error {
	if err := ex.pause(); err != nil {
		return err
	}
	began := time.Now()
	addr := netip.AddrPortFrom(netip.AddrFrom4(loopback), uint16(port))
	e := trace.Event{Kind: trace.KindGetaddrinfo, Actor: actor, FD: -1, Host: addr.Addr().String(), Service: strconv.Itoa(port), Peer: addr.String()}
	return ex.record(&e, began)
}

// spawn runs f in a goroutine of the exchange; the first error cancels the
// exchange so that the others' blocked calls return. wait collects them.
type group struct {
	ex   *exchange
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

func (g *group) spawn(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() {
				g.err = err
				g.ex.cancel(err)
			})
		}
	}()
}

// wait waits for every goroutine and returns the first error.
func (g *group) wait() error {
	g.wg.Wait()
	return g.err
}

// sleep waits d, a scenario's own work between calls, or until the
// exchange ends.
func (ex *exchange) sleep(d time.Duration) error {
	if ex.ctx.Err() != nil {
		return context.Cause(ex.ctx)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ex.ctx.Done():
		return context.Cause(ex.ctx)
	}
}
