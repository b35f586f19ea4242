package replica

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"seqd/trace"
)

// ArchiveBucket is the prefix of the JetStream Object Store buckets of
// finished sessions in the clustered modes, one bucket a class of
// sessions (trace.Class: seqd_archive_api, seqd_archive_lab, …) and one
// object a session, named by its id: a permalink works on every replica
// after the stream has let the session go (MaxAge, MaxBytes), and after
// the replica that ran it is gone. A bucket a class, as the directory
// archive has a quota a class: a flood of lab sessions cannot push the
// course's permalinks out.
const ArchiveBucket = "seqd_archive_"

// ErrNotArchived is Load's error for an id no bucket has a session for.
// It wraps fs.ErrNotExist, as the directory archive's does.
var ErrNotArchived = fmt.Errorf("no archived session with that id: %w", fs.ErrNotExist)

// Archive keeps finished sessions in the cluster's Object Store buckets;
// it implements web.Archive. A save that would not fit in its bucket
// first forgets the class's oldest sessions (a bucket itself refuses new
// objects when full, it does not drop old ones).
type Archive struct {
	buckets map[string]*archiveBucket // by class
	ctx     context.Context           // the node's: its end ends the archive's requests
}

// archiveBucket is one class's bucket and the stream under it.
type archiveBucket struct {
	name   string
	obs    jetstream.ObjectStore
	stream jetstream.Stream
	// evicting makes this replica's saves that need room take turns.
	evicting sync.Mutex
}

// objectOverhead is about what a stored object costs beyond its bytes: its
// chunks' headers and its metadata message.
const objectOverhead = 1 << 10

// OpenArchive makes (or joins) the archive buckets, kept on as many NATS
// servers as the node's stream, each holding at most maxBytes (0: 1 GiB).
func (n *Node) OpenArchive(ctx context.Context, maxBytes int64) (*Archive, error) {
	if maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	a := &Archive{buckets: map[string]*archiveBucket{}, ctx: n.ctx}
	for _, class := range trace.Classes {
		obs, err := n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      ArchiveBucket + class,
			Description: "seqd's finished sessions of class " + class + ", one object each",
			MaxBytes:    maxBytes,
			Replicas:    n.replicas,
			Storage:     jetstream.FileStorage,
			Compression: true, // a session's JSON repeats itself: field names, lifelines
		})
		if err != nil {
			return nil, fmt.Errorf("replica: archive bucket %s: %w", ArchiveBucket+class, err)
		}
		stream, err := n.js.Stream(ctx, "OBJ_"+ArchiveBucket+class)
		if err != nil {
			return nil, fmt.Errorf("replica: archive bucket %s: %w", ArchiveBucket+class, err)
		}
		a.buckets[class] = &archiveBucket{name: ArchiveBucket + class, obs: obs, stream: stream}
	}
	return a, nil
}

// Save puts rec in the bucket, deleting the oldest sessions first if the
// bucket has no room for it.
func (a *Archive) Save(rec trace.Record) error {
	if !trace.ValidID(rec.ID) {
		return fmt.Errorf("archive: session id %q is not one", rec.ID)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("archive %s: %w", rec.ID, err)
	}
	if len(data) > trace.MaxRecordBytes {
		return fmt.Errorf("archive %s: %d bytes, more than %d: not kept", rec.ID, len(data), trace.MaxRecordBytes)
	}
	ctx, cancel := context.WithTimeout(a.ctx, PublishPatience)
	defer cancel()
	b := a.buckets[trace.Class(rec.Scenario)]
	if err := b.makeRoom(ctx, int64(len(data))); err != nil {
		return fmt.Errorf("archive %s: %w", rec.ID, err)
	}
	_, err = b.obs.PutBytes(ctx, rec.ID, data)
	if err != nil {
		// Another replica's save took the room meanwhile: once more.
		if err = b.makeRoom(ctx, int64(len(data))); err == nil {
			_, err = b.obs.PutBytes(ctx, rec.ID, data)
		}
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", rec.ID, err)
	}
	return nil
}

// usage is what the bucket may hold and holds now, in bytes as its
// stream counts them (uncompressed, metadata and deletions included).
// The bound is the bucket's own, which the replica started last set.
func (b *archiveBucket) usage(ctx context.Context) (limit, used int64, err error) {
	info, err := b.stream.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("bucket %s: %w", b.name, err)
	}
	return info.Config.MaxBytes, int64(info.State.Bytes), nil
}

// makeRoom forgets the bucket's oldest sessions until size more bytes fit
// under its bound, with a tenth to spare, so that a full bucket is listed
// once per many saves, not at each. Sessions are forgotten by purging
// their messages, which takes no room (a delete writes a marker, and a
// full bucket refuses it).
func (b *archiveBucket) makeRoom(ctx context.Context, size int64) error {
	b.evicting.Lock()
	defer b.evicting.Unlock()
	limit, used, err := b.usage(ctx)
	if err != nil {
		return err
	}
	size += objectOverhead
	if limit > 0 && size > limit/2 {
		return fmt.Errorf("bucket %s: %d bytes, more than it keeps of one session (half its %d)", b.name, size, limit)
	}
	if limit <= 0 || used+size <= limit {
		return nil
	}
	objects, err := b.obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return fmt.Errorf("list bucket %s to make room: %w", b.name, err)
	}
	slices.SortFunc(objects, func(x, y *jetstream.ObjectInfo) int { return x.ModTime.Compare(y.ModTime) })
	for _, o := range objects {
		if used+size <= limit-limit/10 {
			break
		}
		if err := b.forget(ctx, o); err != nil {
			return err
		}
		used -= int64(o.Size) + objectOverhead
	}
	if _, used, err = b.usage(ctx); err != nil {
		return err
	}
	if used+size > limit {
		return fmt.Errorf("bucket %s: no room for %d bytes in %d (it holds %d)", b.name, size, limit, used)
	}
	return nil
}

// forget purges object o's chunks and metadata from the bucket's stream.
func (b *archiveBucket) forget(ctx context.Context, o *jetstream.ObjectInfo) error {
	for _, subject := range []string{
		"$O." + b.name + ".C." + o.NUID,
		"$O." + b.name + ".M." + base64.URLEncoding.EncodeToString([]byte(o.Name)),
	} {
		if err := b.stream.Purge(ctx, jetstream.WithPurgeSubject(subject)); err != nil {
			return fmt.Errorf("forget %s to make room in %s: %w", o.Name, b.name, err)
		}
	}
	return nil
}

// Load reads session id back from the buckets; its error wraps
// fs.ErrNotExist when none has such a session. The id does not say its
// class: the buckets are asked in turn, the API's first.
func (a *Archive) Load(id string) (trace.Record, error) {
	if !trace.ValidID(id) {
		return trace.Record{}, ErrNotArchived
	}
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	for _, class := range trace.Classes {
		rec, err := a.buckets[class].load(ctx, id)
		if !errors.Is(err, ErrNotArchived) {
			return rec, err
		}
	}
	return trace.Record{}, ErrNotArchived
}

// load reads session id back from the bucket.
func (b *archiveBucket) load(ctx context.Context, id string) (trace.Record, error) {
	info, err := b.obs.GetInfo(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return trace.Record{}, ErrNotArchived
	}
	if err != nil {
		return trace.Record{}, fmt.Errorf("archived session %s: %w", id, err)
	}
	if info.Size > trace.MaxRecordBytes {
		return trace.Record{}, fmt.Errorf("archived session %s: %d bytes, more than %d: not read", id, info.Size, trace.MaxRecordBytes)
	}
	data, err := b.obs.GetBytes(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return trace.Record{}, ErrNotArchived // deleted meanwhile to make room
	}
	if err != nil {
		return trace.Record{}, fmt.Errorf("archived session %s: %w", id, err)
	}
	var rec trace.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return trace.Record{}, fmt.Errorf("archived session %s: %w", id, err)
	}
	if rec.ID != id {
		return trace.Record{}, fmt.Errorf("archived session %s holds session %q", id, rec.ID)
	}
	return rec, nil
}
