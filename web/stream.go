package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"seqd/trace"
)

// maxBatch bounds the events in one WebSocket message, so that a viewer
// joining a long session gets its history in pieces of bounded size.
const maxBatch = 1000

// stream serves GET /api/sessions/{id}/ws: the session's events from
// ?from= on, history first, then live, each message {"events": [...]},
// and a last message {"state": ..., "error": ...} before a normal close.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	from, err := parseFrom(r.URL.Query().Get("from"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s", err)
		return
	}
	batch, err := parseBatch(r.URL.Query().Get("batch_ms"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s", err)
		return
	}
	if s.memoryFull() {
		s.refuse(w, http.StatusServiceUnavailable, "memory", 5*time.Second, "the server is at its memory budget; try again in a few seconds")
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.origins})
	if err != nil {
		// Accept has answered: 403 for a foreign origin, 400 for a bad
		// handshake.
		s.cfg.Logger.Info("websocket refused", "id", sess.ID(), "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	// The stream goes on in a goroutine of its own, owned by the server:
	// the request's goroutine returns, and with it the deep stack that
	// routing and the handshake grew, so that an idle viewer stays small.
	s.wsWG.Add(1)
	go s.follow(c, sess, from, batch, clientIP(r))
}

// follow streams the session to one viewer until the session ends, the
// viewer leaves or is cut off, or the server shuts down; batch is the
// least time between two of its messages that it asked for.
func (s *Server) follow(c *websocket.Conn, sess *trace.Session, from int, batch time.Duration, ip string) {
	defer s.wsWG.Done()
	defer c.CloseNow()
	// One address may hold a share of all viewers, not all of them.
	if ok, _ := s.viewersByIP.acquire(ip); !ok {
		s.metrics.limitsHit.WithLabelValues("subscribers_per_ip").Inc()
		c.Close(websocket.StatusPolicyViolation, fmt.Sprintf("your address has %d viewers open, its most; close some and try again", s.cfg.Limits.MaxSubscribersPerIP))
		return
	}
	defer s.viewersByIP.release(ip)
	if ok, full := s.subscribers.acquire(sess.ID()); !ok {
		s.metrics.limitsHit.WithLabelValues("subscribers_" + full).Inc()
		reason := "this session has its most viewers; try again later"
		if full == "total" {
			reason = "the server has its most viewers; try again later"
		}
		c.Close(websocket.StatusPolicyViolation, reason)
		return
	}
	defer s.subscribers.release(sess.ID())
	s.metrics.subscribers.Inc()
	defer s.metrics.subscribers.Dec()

	// The stream only writes; CloseRead handles the client's close and
	// pongs and ends ctx when the client goes away. The server's context
	// ends ctx too, but must not reach CloseRead, which would drop the
	// connection without the 1001 close frame.
	ctx, cancel := context.WithCancel(c.CloseRead(context.Background()))
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	sub := sess.Subscribe(from, s.cfg.MaxLag)
	token, release := s.viewers.issue(sess.ID())
	defer release()
	if err := s.send(ctx, c, firstMessage(sess.Meta().Actors, token)); err != nil {
		return
	}
	for {
		// A viewer with nothing to read for a ping interval is pinged: a
		// phone that left the lecture hall's Wi-Fi sends no close. Pinging
		// from this goroutine, not one of its own, keeps an idle viewer
		// small.
		nextCtx, nextCancel := context.WithTimeout(ctx, s.cfg.PingInterval)
		b, err := sub.Next(nextCtx, maxBatch, s.cfg.Limits.MaxMessageBytes-len(`{"events":[]}`))
		nextCancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			pingCtx, pingCancel := context.WithTimeout(ctx, s.cfg.PingInterval)
			err := c.Ping(pingCtx)
			pingCancel()
			switch {
			case err == nil:
				continue
			case s.ctx.Err() != nil:
				c.Close(websocket.StatusGoingAway, "the server is shutting down; resume later")
			case ctx.Err() == nil:
				s.metrics.cutOff.WithLabelValues("ping").Inc()
			}
			return
		}
		switch {
		case errors.Is(err, trace.ErrTooSlow):
			s.metrics.cutOff.WithLabelValues("too_slow").Inc()
			c.Close(websocket.StatusPolicyViolation, fmt.Sprintf("too slow; resume from %d", sub.Resume()))
			return
		case err != nil && s.ctx.Err() != nil:
			c.Close(websocket.StatusGoingAway, "the server is shutting down; resume later")
			return
		case err != nil:
			return // the viewer left
		}
		sent := time.Now()
		if b.To > b.From {
			if err := s.sendEvents(ctx, c, b.JSON); err != nil {
				// Only send's own deadline ends a write (it ignores ctx).
				// Not ctx.Err(): the timeout closes the connection, which
				// ends CloseRead's ctx too, at times before this check.
				if errors.Is(err, context.DeadlineExceeded) && s.ctx.Err() == nil {
					s.metrics.cutOff.WithLabelValues("write_timeout").Inc()
					s.cfg.Logger.Info("viewer cut off", "id", sess.ID(), "resume", b.From, "err", err)
				}
				return
			}
			s.metrics.eventsSent.Add(float64(b.To - b.From))
		}
		// The next call of a stepped session, after the events before it.
		if b.PendingChanged && !b.Final {
			pending, _ := json.Marshal(struct {
				Pending *trace.Pending `json:"pending"`
			}{b.Pending})
			if err := s.send(ctx, c, pending); err != nil {
				return
			}
		}
		if !b.Final {
			if err := s.spaceWrites(ctx, sent, batch); err != nil {
				if s.ctx.Err() != nil {
					c.Close(websocket.StatusGoingAway, "the server is shutting down; resume later")
				}
				return
			}
			continue
		}
		// Whether it was saved is decided as it ends (Server.watch), so
		// that its viewers learn it with its end.
		end, _ := json.Marshal(struct {
			State   trace.State `json:"state"`
			Error   string      `json:"error,omitempty"`
			Unsaved string      `json:"unsaved,omitempty"`
		}{b.State, b.Error, sess.Meta().Unsaved})
		if err := s.send(ctx, c, end); err != nil {
			return
		}
		if s.ctx.Err() != nil {
			// The session ended because the server is shutting down.
			c.Close(websocket.StatusGoingAway, "the server is shutting down")
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
}

// firstMessage is a stream's first message: the lifelines, and the token
// this viewer answers questions with.
func firstMessage(actors []string, viewer string) []byte {
	b, _ := json.Marshal(struct {
		Actors []string `json:"actors"`
		Viewer string   `json:"viewer"`
	}{actors, viewer})
	return b
}

// send writes one text message within the write timeout: a viewer that does
// not read for that long is cut off, and only its own handler waited. The
// write is not cancelled with ctx: coder/websocket drops the connection
// when a write is cancelled, and a server shutting down must still send
// its close frame after the message in flight.
func (s *Server) send(ctx context.Context, c *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.WriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, msg)
}

// sendEvents writes {"events":[…]} around events, the batch's JSON that
// every viewer shares, within the write timeout as send does. A small batch
// is copied into one message of one frame; a large one is written in
// frames straight from the shared bytes, so that a viewer that does not
// read holds no copy of its own (a thousand such viewers of a history of
// 1 MiB messages held a gigabyte).
func (s *Server) sendEvents(ctx context.Context, c *websocket.Conn, events []byte) error {
	const head, tail = `{"events":[`, `]}`
	if len(events) <= copiedEventBytes {
		msg := make([]byte, 0, len(head)+len(events)+len(tail))
		msg = append(append(append(msg, head...), events...), tail...)
		return s.send(ctx, c, msg)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.WriteTimeout)
	defer cancel()
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for _, part := range [][]byte{[]byte(head), events, []byte(tail)} {
		if _, err := w.Write(part); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// copiedEventBytes is the largest batch sendEvents copies into one frame:
// the size of the connection's write buffer, which joins a larger one's
// frames again, so that the copy a viewer that does not read holds stays
// small (10,000 such viewers: 40 MiB).
const copiedEventBytes = 4 << 10

// maxBatchWait bounds the batch_ms a viewer may ask for: a second of events in
// one message is already more than any page would wait for.
const maxBatchWait = time.Second

// parseBatch reads a stream's batch_ms: the least time in milliseconds
// between two messages that the viewer wants. A browser draws at most once
// a frame and spends a task on each message it receives (an IPC, a parse,
// a wake-up): a session writing 500 events a second sent as 500 messages
// cost seqd's page a quarter of its main thread for nothing it could show
// sooner, so the page asks for 16. A Go client that asks for nothing gets
// each event as it comes.
func parseBatch(q string) (time.Duration, error) {
	if q == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 0 || int64(n) > maxBatchWait.Milliseconds() {
		return 0, fmt.Errorf("batch_ms=%q: want the least milliseconds between two messages, a whole number from 0 to %d", trace.Clip(q, 20), maxBatchWait.Milliseconds())
	}
	return time.Duration(n) * time.Millisecond, nil
}

// spaceWrites waits until this viewer's share of the write budget, and at
// least the batch it asked for, has passed since its last message was
// sent, so that events arriving meanwhile are batched into the next one.
// An event after a pause is still sent at once; only a burst waits.
func (s *Server) spaceWrites(ctx context.Context, last time.Time, batch time.Duration) error {
	gap := time.Duration(int64(s.subscribers.held()) * int64(time.Second) / int64(s.cfg.WriteBudget))
	gap = max(gap, batch)
	wait := time.Until(last.Add(gap))
	if wait < 100*time.Microsecond {
		return nil // no wait is worth a timer
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
