// Package replica lets several seqd processes behind one load balancer
// serve the same sessions, through NATS JetStream: the replica that runs a
// session publishes its events, in batches, to one stream for all sessions
// (subject seqd.ev.<id>) and its metadata to a key-value bucket; any other
// replica that is asked for the session opens an ordered consumer on its
// subject and feeds a local copy (trace.NewMirror), which its viewers read
// like a session of its own. NATS traffic grows with sessions × replicas,
// not with viewers.
//
// It knows trace and NATS, nothing of sockets or HTTP: cmd/seqd wires it
// into web (web.Config.Replicas).
package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"seqd/keylock"
	"seqd/trace"
)

// The stream, its subjects and the metadata bucket every replica shares,
// and the subject of the requests for the replica that runs a session.
const (
	Stream  = "SEQD_EVENTS"
	Subject = "seqd.ev." // + session id
	Bucket  = "seqd_sessions"
	Control = "seqd.ctl." // + session id
)

// Batch bounds: a published message holds at most this many events or
// about this many bytes of them. A message goes as soon as the last one is
// acknowledged, with every event recorded meanwhile: a fast session makes
// fuller messages without any waiting.
const (
	BatchEvents = 256
	BatchBytes  = 64 << 10
)

// Config tunes a Node.
type Config struct {
	// Replicas is how many NATS servers keep each message (1 or 3).
	Replicas int
	// MaxAge and MaxBytes bound what the stream keeps of finished
	// sessions; 0 keeps them for a day and at most 1 GiB.
	MaxAge   time.Duration
	MaxBytes int64
	// Logger receives a line per session published or followed.
	Logger *slog.Logger
}

// Node is one replica's part: it publishes the sessions this replica runs
// and opens copies of the others'. Close ends its goroutines.
type Node struct {
	id     string // this replica's: in its heartbeat's key and the metadata of the sessions it runs
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream // the events stream's handle: asking for it again costs a request
	kv     jetstream.KeyValue
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	replicas int           // how many NATS servers keep each message
	maxAge   time.Duration // how long the stream and the bucket keep a session
	recentMu sync.Mutex
	recent   map[string]recentSession // the sessions the replicas published, by id (watchRecent)

	claimLocks keylock.Locks // this replica's claims of an address's places, by key
}

// recentSession is a session's metadata and when the bucket got it.
type recentSession struct {
	meta trace.Meta
	put  time.Time
}

// Start makes (or joins) the stream and the bucket on the NATS cluster nc
// is connected to and returns the replica's node.
func Start(ctx context.Context, nc *nats.Conn, cfg Config) (*Node, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("replica: jetstream: %w", err)
	}
	cfg.Replicas = max(cfg.Replicas, 1)
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 1 << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       Stream,
		Subjects:   []string{Subject + ">"},
		Replicas:   cfg.Replicas,
		MaxAge:     cfg.MaxAge,
		MaxBytes:   cfg.MaxBytes,
		Duplicates: time.Minute,
		Storage:    jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("replica: stream %s: %w", Stream, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   Bucket,
		Replicas: cfg.Replicas,
		TTL:      cfg.MaxAge,
	})
	if err != nil {
		return nil, fmt.Errorf("replica: bucket %s: %w", Bucket, err)
	}
	nctx, cancel := context.WithCancel(context.Background())
	n := &Node{id: trace.NewID()[:10], nc: nc, js: js, stream: stream, kv: kv, log: cfg.Logger, ctx: nctx, cancel: cancel, replicas: cfg.Replicas, maxAge: cfg.MaxAge, recent: map[string]recentSession{}}
	n.wg.Add(2)
	go n.beat()
	go n.watchRecent()
	return n, nil
}

// RecentKept is how many sessions' metadata a replica keeps for the list
// of recent sessions, the newest.
const RecentKept = 500

// watchRecent keeps n.recent, the metadata of the sessions every replica
// published, from the bucket, until the node closes. Sessions' keys are
// their ids, one token; the heartbeats' (replica.<id>) are two and stay
// out of the watch.
func (n *Node) watchRecent() {
	defer n.wg.Done()
	for n.ctx.Err() == nil {
		w, err := n.kv.Watch(n.ctx, "*", jetstream.IgnoreDeletes())
		if err != nil {
			n.log.Debug("watch the sessions' metadata, again", "err", err)
			select {
			case <-time.After(time.Second):
			case <-n.ctx.Done():
			}
			continue
		}
		n.takeRecent(w.Updates())
		_ = w.Stop()
	}
}

// takeRecent remembers the metadata that updates bring until they end or
// the node closes.
func (n *Node) takeRecent(updates <-chan jetstream.KeyValueEntry) {
	for {
		select {
		case e, ok := <-updates:
			if !ok {
				return
			}
			if e == nil {
				continue // the bucket's values at the start are all in
			}
			var pub published
			if err := json.Unmarshal(e.Value(), &pub); err != nil || !trace.ValidID(pub.Meta.ID) {
				continue
			}
			n.remember(pub.Meta, e.Created())
		case <-n.ctx.Done():
			return
		}
	}
}

// remember keeps m, which the bucket got at put, forgetting the oldest
// session once RecentKept are kept.
func (n *Node) remember(m trace.Meta, put time.Time) {
	m.Params, m.Actors, m.Pending = nil, nil, nil // the list shows none of them
	n.recentMu.Lock()
	defer n.recentMu.Unlock()
	n.recent[m.ID] = recentSession{m, put}
	if len(n.recent) <= RecentKept {
		return
	}
	oldest := m
	for _, o := range n.recent {
		if o.meta.StartedAt.Before(oldest.StartedAt) {
			oldest = o.meta
		}
	}
	delete(n.recent, oldest.ID)
}

// Recent returns the finished sessions the cluster's replicas published
// (the newest RecentKept known), newest first. A session the bucket and
// the stream no longer keep (MaxAge: they expire without a word to the
// watch) is forgotten.
func (n *Node) Recent() []trace.Meta {
	n.recentMu.Lock()
	out := make([]trace.Meta, 0, len(n.recent))
	for id, r := range n.recent {
		switch {
		case time.Since(r.put) > n.maxAge:
			delete(n.recent, id)
		case r.meta.State != trace.StateRunning:
			out = append(out, r.meta)
		}
	}
	n.recentMu.Unlock()
	slices.SortFunc(out, trace.NewestFirst)
	return out
}

// Silence is how long a copy hears no event before it asks whether the
// replica that runs its session is still there (its heartbeat).
const Silence = 5 * time.Second

// Heartbeat is how often a replica puts in the bucket that it is up.
const Heartbeat = time.Second

// beat puts this replica's heartbeat in the bucket until the node closes.
func (n *Node) beat() {
	defer n.wg.Done()
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(n.ctx, Heartbeat)
		_, _ = n.kv.Put(ctx, heartbeatKey(n.id), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
		cancel()
		select {
		case <-t.C:
		case <-n.ctx.Done():
			return
		}
	}
}

func heartbeatKey(id string) string { return "replica." + id }

// beating reports whether replica runner put a heartbeat in the bucket
// within Dead, or the bucket cannot tell (NATS itself in trouble).
func (n *Node) beating(ctx context.Context, runner string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	entry, err := n.kv.Get(ctx, heartbeatKey(runner))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false
	}
	return err != nil || time.Since(entry.Created()) < Dead
}

// Dead is how old a replica's last heartbeat must be for it to count as
// gone. Heartbeats stall for seconds while the bucket elects a leader (a
// NATS server killed): a replica that is up misses a few.
const Dead = 3 * Silence

// published is what the bucket holds of a session: its metadata and the
// replica that runs it.
type published struct {
	Meta   trace.Meta `json:"meta"`
	Runner string     `json:"runner"`
}

// Close stops publishing and following, and waits for its goroutines.
// The copies it opened end failed: their source is no longer followed.
func (n *Node) Close() {
	n.cancel()
	n.wg.Wait()
}

// message is what one published message holds: events [From, To) of a
// session, the lifelines it has, and, on the last, how it ended.
type message struct {
	From   int               `json:"from"`
	To     int               `json:"to"`
	Actors []string          `json:"actors"`
	Events []json.RawMessage `json:"events,omitempty"`
	Final  bool              `json:"final,omitempty"`
	State  trace.State       `json:"state,omitempty"`
	Error  string            `json:"error,omitempty"`
	// Unsaved, with Final, is why the session was not saved
	// (trace.Meta.Unsaved).
	Unsaved string `json:"unsaved,omitempty"`
	// PendingSet says that a stepped session's next call, or its
	// question's tally, changed: Pending is it now (nil: none).
	PendingSet bool           `json:"pending_set,omitempty"`
	Pending    *trace.Pending `json:"pending,omitempty"`
}

// Publish shares sess, a session this replica runs, from its first event
// to its end: its metadata goes in the bucket before Publish returns (so
// that any replica finds the session once its id is known), its events to
// the stream as they are recorded, by a goroutine of the node's. A publish
// that fails is logged; the session's copies elsewhere then end failed.
func (n *Node) Publish(sess *trace.Session) {
	ctx, cancel := context.WithTimeout(n.ctx, PublishPatience)
	defer cancel()
	if err := n.putMeta(ctx, sess.Meta()); err != nil {
		n.log.Warn("publish session", "id", sess.ID(), "err", err)
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.publish(sess); err != nil && n.ctx.Err() == nil {
			n.log.Warn("publish session", "id", sess.ID(), "err", err)
		}
	}()
}

// putMeta puts m in the bucket, trying again while a leader moves.
func (n *Node) putMeta(ctx context.Context, m trace.Meta) error {
	meta, err := json.Marshal(published{Meta: m, Runner: n.id})
	if err != nil {
		return err
	}
	for {
		req, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := n.kv.Put(req, m.ID, meta)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("metadata: %w", err)
		}
	}
}

func (n *Node) publish(sess *trace.Session) error {
	sub := sess.Subscribe(0, 0)
	subject := Subject + sess.ID()
	var last uint64 // the stream sequence of this subject's last message
	batch := 0      // the batches published
	for {
		b, err := sub.Next(n.ctx, BatchEvents, BatchBytes)
		if err != nil {
			return err
		}
		m := sess.Meta()
		body, err := json.Marshal(message{From: b.From, To: b.To, Actors: m.Actors, Final: b.Final, State: b.State, Error: b.Error,
			Unsaved: m.Unsaved, PendingSet: b.PendingChanged, Pending: b.Pending})
		if err != nil {
			return err
		}
		if b.To > b.From {
			// The events' JSON is the shared encoding, spliced in as is.
			body = append(body[:len(body)-1], `,"events":[`...)
			body = append(body, b.JSON...)
			body = append(body, "]}"...)
		}
		// Its id is this batch's own, the same for each try of it: a
		// batch of only a step's next call has the From of the events
		// after it, and an id made of From took those for its duplicate.
		batch++
		ack, err := n.publishMsg(&nats.Msg{Subject: subject, Data: body}, sess.ID()+":"+strconv.Itoa(batch), last)
		if isWrongLast(err) {
			// The stream's last message for the session is not the one
			// this publisher sent last (a leader that died took an
			// acknowledged try's place with another, or the reverse):
			// go on from where the stream is, which the copies share.
			to, seq, final, ok := n.streamAt(subject)
			if !ok {
				return fmt.Errorf("events %d..%d: %w", b.From, b.To, err)
			}
			if final {
				break
			}
			n.log.Debug("publish session: resumed from the stream", "id", sess.ID(), "from", to)
			last, sub = seq, sess.Subscribe(to, 0)
			continue
		}
		if err != nil {
			return fmt.Errorf("events %d..%d: %w", b.From, b.To, err)
		}
		last = ack.Sequence
		if b.Final {
			break
		}
	}
	ctx, cancel := context.WithTimeout(n.ctx, PublishPatience)
	defer cancel()
	return n.putMeta(ctx, sess.Meta())
}

// isWrongLast reports whether err is the stream's refusal of a message
// that expected another last sequence for its subject.
func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// streamAt returns where the stream is with a session's subject: the seq
// after the last event its last message holds, that message's sequence,
// and whether it was the last of the session.
func (n *Node) streamAt(subject string) (to int, seq uint64, final, ok bool) {
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	m, err := n.stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return 0, 0, false, false
	}
	var msg message
	if err := json.Unmarshal(m.Data, &msg); err != nil {
		return 0, 0, false, false
	}
	return msg.To, m.Sequence, msg.Final, true
}

// publishMsg publishes msg once: its id makes a retry that the stream
// took already a duplicate, not a second copy, and the subject's last
// sequence makes one lost in between an error, not a gap. While the
// stream's leader moves (a NATS server stopped) publishing fails for a
// moment: it tries again for up to PublishPatience.
func (n *Node) publishMsg(msg *nats.Msg, id string, last uint64) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(PublishPatience)
	for {
		ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
		ack, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectLastSequencePerSubject(last))
		cancel()
		if err == nil || n.ctx.Err() != nil || time.Now().After(deadline) {
			return ack, err
		}
		if isWrongLast(err) {
			// A try whose acknowledgement was lost while the leader moved
			// may have been stored: then the subject's last message is ours.
			if seq, ok := n.storedLast(msg.Subject, id); ok {
				return &jetstream.PubAck{Stream: Stream, Sequence: seq, Duplicate: true}, nil
			}
			return nil, err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-n.ctx.Done():
			return nil, n.ctx.Err()
		}
	}
}

// storedLast reports whether the last message on subject has the
// message id id, and its sequence.
func (n *Node) storedLast(subject, id string) (uint64, bool) {
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	m, err := n.stream.GetLastMsgForSubject(ctx, subject)
	if err != nil || m.Header.Get(jetstream.MsgIDHeader) != id {
		return 0, false
	}
	return m.Sequence, true
}

// PublishPatience is how long a publish is tried again before the session
// is given up on.
const PublishPatience = 30 * time.Second

// Open returns a local copy of session id, which another replica runs or
// ran, fed from the stream until it ends; ok is false when no replica
// published it. The copy holds every event the stream has and follows the
// live ones; it ends failed if following breaks off.
func (n *Node) Open(ctx context.Context, id string) (_ *trace.Session, ok bool, _ error) {
	// While a NATS server is down or just back, a stream's leader may be
	// moving and a request go unanswered: ask again until ctx ends.
	notFound := 0
	for {
		sess, ok, err := n.open(ctx, id)
		if errors.Is(err, errGone) {
			return nil, false, nil // the archive's, if anyone's
		}
		if err == nil && !ok && notFound < NotFoundTries {
			// The bucket's reads may come from a server that has not
			// caught up with a session created a moment ago: ask again
			// before calling it unknown.
			notFound++
			err = errNotYet
		}
		if errors.Is(err, errNotYet) && ctx.Err() != nil {
			return nil, false, nil // not found, as far as there was time to ask
		}
		if err == nil || ctx.Err() != nil {
			return sess, ok, err
		}
		n.log.Debug("open session of another replica, again", "id", id, "err", err)
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			if errors.Is(err, errNotYet) {
				return nil, false, nil
			}
			return nil, false, err
		}
	}
}

// NotFoundTries is how many times Open asks again, 200 ms apart, for a
// session the bucket says it does not have.
const NotFoundTries = 5

var errNotYet = errors.New("not in the bucket (yet)")

// errGone is open's word for a finished session whose events the stream
// no longer holds from the first: not found here, asked no more.
var errGone = errors.New("its events are no longer in the stream")

// streamHasStart reports whether the stream still holds subject's first
// message, the one with the session's first events (or cannot tell).
func (n *Node) streamHasStart(ctx context.Context, subject string) bool {
	first, err := n.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subject))
	if err != nil {
		return !errors.Is(err, jetstream.ErrMsgNotFound)
	}
	var m struct {
		From int `json:"from"`
	}
	return json.Unmarshal(first.Data, &m) != nil || m.From == 0
}

func (n *Node) open(ctx context.Context, id string) (_ *trace.Session, ok bool, _ error) {
	// Each request has a moment; the history may take longer (ctx's).
	req, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	entry, err := n.kv.Get(req, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("replica: metadata of %s: %w", id, err)
	}
	var pub published
	if err := json.Unmarshal(entry.Value(), &pub); err != nil {
		return nil, false, fmt.Errorf("replica: metadata of %s: %w", id, err)
	}
	meta := pub.Meta
	meta.Events = 0
	mirror, err := trace.NewMirror(meta)
	if err != nil {
		return nil, false, err
	}
	cons, err := n.js.OrderedConsumer(req, Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Subject + id},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, false, fmt.Errorf("replica: follow %s: %w", id, err)
	}
	info, err := cons.Info(req)
	if err != nil {
		return nil, false, fmt.Errorf("replica: follow %s: %w", id, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return nil, false, fmt.Errorf("replica: follow %s: %w", id, err)
	}
	if meta.State != trace.StateRunning && (info.NumPending == 0 || !n.streamHasStart(req, Subject+id)) {
		// Finished, and its events, or its first ones, are no longer in
		// the stream (MaxBytes and MaxAge let the oldest messages go
		// before the bucket's metadata): the archive may have it whole.
		msgs.Stop()
		return nil, false, errGone
	}
	// The copy is handed out once it holds what the stream held when it
	// was asked for: a finished session whole, a live one up to now.
	caughtUp := make(chan struct{})
	if info.NumPending == 0 {
		close(caughtUp)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		mirror.Finish(n.follow(mirror, msgs, caughtUp, pub.Runner))
	}()
	select {
	case <-caughtUp:
	case <-mirror.Done():
	case <-ctx.Done():
		msgs.Stop() // the copy goes unused: its follower ends
		return nil, false, fmt.Errorf("replica: follow %s: the stream's history did not come in time: %w", id, ctx.Err())
	}
	return mirror, true, nil
}

// follow feeds mirror from msgs until its last message, closing caughtUp
// (unless closed) once no message that was in the stream is left: it
// returns how the source ended (nil for done) or why following broke off,
// such as runner, the replica that runs the session, being gone.
//
// A consumer can stall for good while the stream's leader moves (its NATS
// server stopped, this replica's connection moved to another): each
// second without a message it asks the stream whether the session has
// messages past the last it got, and if so follows again from there with
// a new consumer (the copy skips what it holds already).
func (n *Node) follow(mirror *trace.Session, msgs jetstream.MessagesContext, caughtUp chan struct{}, runner string) error {
	subject := Subject + mirror.ID()
	var current sync.Mutex // guards msgs, which n's end stops
	stop := context.AfterFunc(n.ctx, func() {
		current.Lock()
		msgs.Stop()
		current.Unlock()
	})
	defer stop()
	defer func() {
		current.Lock()
		msgs.Stop()
		current.Unlock()
	}()
	waiting := true
	select {
	case <-caughtUp:
		waiting = false
	default:
	}
	var last uint64 // the stream sequence of the last message taken
	quiet := time.Duration(0)
	var broken time.Time // since when Next has failed, if it does
	for {
		msg, err := msgs.Next(jetstream.NextMaxWait(StallCheck))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			quiet += StallCheck
			if n.ctx.Err() == nil && n.streamAhead(subject, last) {
				next, err := n.consumeFrom(subject, last+1)
				if err != nil {
					// NATS is busy electing: ask again at the next check.
					if broken.IsZero() {
						broken = time.Now()
					}
					if time.Since(broken) > PublishPatience {
						return fmt.Errorf("following the session again after its consumer stalled: %w", err)
					}
					continue
				}
				broken = time.Time{}
				n.log.Debug("follow session: its consumer stalled, following again", "id", mirror.ID(), "from_seq", last+1)
				current.Lock()
				msgs.Stop()
				msgs = next
				current.Unlock()
				quiet = 0
				continue
			}
			if quiet < Silence {
				continue
			}
			// Quiet for a while: a paced or stepped session, or its
			// replica is gone.
			if n.beating(n.ctx, runner) {
				quiet = 0
				continue
			}
			return fmt.Errorf("the replica that ran this session stopped (no heartbeat for %s): the session ended there without its end", Dead)
		}
		if err != nil {
			if n.ctx.Err() != nil {
				return fmt.Errorf("this replica stopped following the session: %w", context.Cause(n.ctx))
			}
			// The consumer broke off (its NATS server killed, the stream's
			// leader moving): follow again from the last message taken,
			// for up to PublishPatience.
			if broken.IsZero() {
				broken = time.Now()
			}
			if time.Since(broken) > PublishPatience {
				return fmt.Errorf("following the session from the replica that runs it: %w", err)
			}
			n.log.Debug("follow session: its consumer broke off, following again", "id", mirror.ID(), "err", err)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-n.ctx.Done():
				continue
			}
			if next, cerr := n.consumeFrom(subject, last+1); cerr == nil {
				current.Lock()
				msgs.Stop()
				msgs = next
				current.Unlock()
			}
			continue
		}
		broken = time.Time{}
		quiet = 0
		md, mdErr := msg.Metadata()
		if mdErr == nil {
			last = md.Sequence.Stream
		}
		var m struct {
			message
			Events []trace.Event `json:"events"`
		}
		if err := json.Unmarshal(msg.Data(), &m); err != nil {
			return fmt.Errorf("a message of the session: %w", err)
		}
		if err := mirror.Mirror(m.Actors, m.Events); err != nil {
			return err
		}
		if m.PendingSet && !m.Final {
			mirror.MirrorPending(m.Pending)
		}
		if m.Final {
			mirror.SetUnsaved(m.Unsaved)
			// Open hands the copy out once it has ended (mirror.Done).
			if m.State == trace.StateFailed {
				return errors.New(m.Error)
			}
			return nil
		}
		if waiting && (mdErr != nil || md.NumPending == 0) {
			waiting = false
			close(caughtUp)
		}
	}
}

// StallCheck is how often a quiet copy asks the stream whether its
// consumer has fallen behind (follow).
const StallCheck = time.Second

// streamAhead reports whether the stream holds a message for subject past
// stream sequence last.
func (n *Node) streamAhead(subject string, last uint64) bool {
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	m, err := n.stream.GetLastMsgForSubject(ctx, subject)
	return err == nil && m.Sequence > last
}

// consumeFrom is a new ordered consumer of subject from stream sequence
// seq on.
func (n *Node) consumeFrom(subject string, seq uint64) (jetstream.MessagesContext, error) {
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	cons, err := n.js.OrderedConsumer(ctx, Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    seq,
	})
	if err != nil {
		return nil, err
	}
	return cons.Messages()
}

// ServeControl answers, with serve, the control requests (steps) that
// other replicas forward for sess, a session this replica runs, until it
// ends. Requests and replies are the caller's bytes (web's JSON).
func (n *Node) ServeControl(sess *trace.Session, serve func(request []byte) []byte) {
	sub, err := n.nc.Subscribe(Control+sess.ID(), func(m *nats.Msg) {
		_ = m.Respond(serve(m.Data))
	})
	if err != nil {
		n.log.Warn("serve control requests", "id", sess.ID(), "err", err)
		return
	}
	// The server has it before the session's creation is answered.
	_ = n.nc.FlushTimeout(time.Second)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		select {
		case <-sess.Done():
		case <-n.ctx.Done():
		}
		_ = sub.Unsubscribe()
	}()
}

// Forward sends request to the replica that runs session id and returns
// its reply; ok is false when no replica serves the session's control
// requests (it ended, or its replica is gone).
func (n *Node) Forward(ctx context.Context, id string, request []byte) (reply []byte, ok bool, _ error) {
	m, err := n.nc.RequestWithContext(ctx, Control+id, request)
	// A subscription reaches the other NATS servers a moment after it is
	// made: a step sent at once to another replica may find none yet.
	for try := 0; errors.Is(err, nats.ErrNoResponders) && try < 10 && ctx.Err() == nil; try++ {
		time.Sleep(100 * time.Millisecond)
		m, err = n.nc.RequestWithContext(ctx, Control+id, request)
	}
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("replica: forward a request for %s: %w", id, err)
	}
	return m.Data, true, nil
}
