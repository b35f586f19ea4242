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

	gate    *gate    // holds each call until stepped; nil unless the session is stepped
	capture *capture // nil unless segments are captured; set before the first connect

	// mu guards the fields below.
	mu        sync.Mutex
	open      map[*sock]struct{}
	listening map[int]bool                 // ports with a listening socket
	ended     map[string]map[string]string // conn → actor → "shutdown" or "close": how it ended writing
	addrs     map[string]string            // socket address → actor, for segments
	asked     map[askedKey]*trace.Question // calls let through after a question, until their event
	senders   map[string]*sendSide         // "CONN|SRCADDR" → what that end sent (preview.go)
}

// record records e, a call that emits nothing, in its turn: after any
// emitting call that holds the session's order and may have fed it.
func (ex *exchange) record(e *trace.Event, began time.Time) error {
	return ex.recordTaken(e, began, nil)
}

// recordTaken records e, a call that took something in or emitted nothing,
// waiting only for an emitting call that may have fed it; b is the blocked
// call e ends, or nil.
func (ex *exchange) recordTaken(e *trace.Event, began time.Time, b *trace.Blocked) error {
	return ex.recordWith(e, func() error { return ex.sess.RecordTaken(e, began, b) })
}

// recordHeld records e for a caller that holds the session's order; b is
// the blocked call e ends, or nil.
func (ex *exchange) recordHeld(e *trace.Event, began time.Time, b *trace.Blocked) error {
	return ex.recordWith(e, func() error { return ex.sess.RecordHeld(e, began, b) })
}

// recordWith records e with rec, grading it first if it answers a
// question, then noting what step mode's questions ask about.
func (ex *exchange) recordWith(e *trace.Event, rec func() error) error {
	if ex.gate != nil && e.Phase != trace.PhaseBegin {
		if q := ex.takeAsked(e.Actor, e.Kind); q != nil {
			e.Answer = q.Grade(e)
			e.Asked = q
		}
	}
	if err := rec(); err != nil {
		ex.cancel(err)
		return err
	}
	if ex.gate != nil && e.Errno == "" {
		ex.note(e)
	}
	return nil
}

// note keeps what step mode's questions ask about: listening ports, and
// the ends of connections that shut down writing or closed.
func (ex *exchange) note(e *trace.Event) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	switch {
	case e.Kind == trace.KindListen:
		if ap, err := netip.ParseAddrPort(e.Local); err == nil {
			if ex.listening == nil {
				ex.listening = map[int]bool{}
			}
			ex.listening[int(ap.Port())] = true
		}
	case e.Conn != "" && (e.Kind == trace.KindClose || e.Kind == trace.KindShutdown && e.How != "SHUT_RD"):
		if ex.ended == nil {
			ex.ended = map[string]map[string]string{}
		}
		if ex.ended[e.Conn] == nil {
			ex.ended[e.Conn] = map[string]string{}
		}
		if ex.ended[e.Conn][e.Actor] != "close" {
			ex.ended[e.Conn][e.Actor] = string(e.Kind)
		}
	}
}

// noteAddr remembers which actor owns a socket address, so that captured
// segments name their sending end.
func (ex *exchange) noteAddr(addr, actor string) {
	if addr == "" {
		return
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.addrs == nil {
		ex.addrs = map[string]string{}
	}
	ex.addrs[addr] = actor
}

// actorOf returns the actor that owns addr, and whether one does. Every
// address is noted before its first segment can be recorded: a connect
// notes its port inside its turn in the session's order, and segments are
// recorded only in turn.
func (ex *exchange) actorOf(addr string) (string, bool) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	actor, ok := ex.addrs[addr]
	return actor, ok
}

// peerEnd says how the other end of conn ended writing: "close" when it
// closed its socket, "shutdown" when it only shut down writing (the
// connection is half-closed: it can still read), "" when it did neither.
func (ex *exchange) peerEnd(conn, actor string) string {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	how := ""
	for a, h := range ex.ended[conn] {
		if a != actor && how != "close" {
			how = h
		}
	}
	return how
}

// isListening reports whether a socket of this exchange listens on port.
func (ex *exchange) isListening(port int) bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.listening[port]
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

// before runs before every call: in step mode it waits for the step that
// lets the call through; otherwise it waits the scenario's pace, so a class
// can watch the exchange unfold. It returns early with the cause when the
// exchange ends.
func (ex *exchange) before(c call) error {
	if ex.gate != nil {
		if err := ex.ctx.Err(); err != nil {
			return context.Cause(ex.ctx)
		}
		return ex.gate.wait(c)
	}
	return ex.sleep(ex.pace)
}

// actor adds a lifeline to the session.
func (ex *exchange) actor(name string) string {
	ex.sess.AddActor(name)
	return name
}

// getaddrinfo records the client's lookup of the server's address. seqd
// only ever talks to 127.0.0.1, so the lookup is numeric (AI_NUMERICHOST,
// AI_NUMERICSERV): no resolver, no DNS.
func (ex *exchange) getaddrinfo(actor string, port int) error {
	if err := ex.before(call{actor: actor, kind: trace.KindGetaddrinfo}); err != nil {
		return err
	}
	began := time.Now()
	addr := netip.AddrPortFrom(netip.AddrFrom4(loopback), uint16(port))
	e := trace.Event{Kind: trace.KindGetaddrinfo, Actor: actor, FD: -1, Host: addr.Addr().String(), Service: strconv.Itoa(port), Peer: addr.String()}
	ex.sourceLine(&e, "", "")
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

// askedKey names a call let through after a question: one actor makes one
// call at a time of each kind.
type askedKey struct {
	actor string
	kind  trace.Kind
}

// ask notes that c, about which the viewers were asked q, is let through:
// its event will carry the answer.
func (ex *exchange) ask(c call, q *trace.Question) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.asked == nil {
		ex.asked = map[askedKey]*trace.Question{}
	}
	ex.asked[askedKey{c.actor, c.kind}] = q
}

// takeAsked returns, once, the question asked about actor's call of kind.
func (ex *exchange) takeAsked(actor string, kind trace.Kind) *trace.Question {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	k := askedKey{actor, kind}
	q := ex.asked[k]
	delete(ex.asked, k)
	return q
}

// await waits until ready is closed (another goroutine of the scenario
// hands over the turn) or the exchange ends.
func (ex *exchange) await(ready <-chan struct{}) error {
	select {
	case <-ready:
		return nil
	case <-ex.ctx.Done():
		return context.Cause(ex.ctx)
	}
}
