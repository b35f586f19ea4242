package replica

import (
	"context"
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

// MaxArchivedBytes bounds one session read back from the bucket: no real
// session is larger (the directory archive's bound).
const MaxArchivedBytes = 256 << 20

// ErrNotArchived is Load's error for an id no bucket has a session for.
// It wraps fs.ErrNotExist, as the directory archive's does.
var ErrNotArchived = fmt.Errorf("no archived session with that id: %w", fs.ErrNotExist)

// Archive keeps finished sessions in the cluster's Object Store buckets;
// it implements web.Archive. Each bucket holds at most maxBytes: a save
// that would not fit first deletes its class's oldest sessions (a bucket
// itself refuses new objects when full, it does not drop old ones).
type Archive struct {
	buckets  map[string]*archiveBucket // by class
	maxBytes int64
	ctx      context.Context // the node's: its end ends the archive's requests
}

// archiveBucket is one class's bucket.
type archiveBucket struct {
	obs jetstream.ObjectStore
	// evicting makes this replica's saves that need room take turns.
	evicting sync.Mutex
}

// OpenArchive makes (or joins) the archive buckets, kept on as many NATS
// servers as the node's stream, each holding at most maxBytes (0: 1 GiB).
func (n *Node) OpenArchive(ctx context.Context, maxBytes int64) (*Archive, error) {
	if maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	a := &Archive{buckets: map[string]*archiveBucket{}, maxBytes: maxBytes, ctx: n.ctx}
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
		a.buckets[class] = &archiveBucket{obs: obs}
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
	if int64(len(data)) > min(a.maxBytes/2, MaxArchivedBytes) {
		return fmt.Errorf("archive %s: %d bytes, more than the bucket keeps of one session", rec.ID, len(data))
	}
	ctx, cancel := context.WithTimeout(a.ctx, PublishPatience)
	defer cancel()
	b := a.buckets[trace.Class(rec.Scenario)]
	if err := b.makeRoom(ctx, int64(len(data)), a.maxBytes); err != nil {
		return fmt.Errorf("archive %s: %w", rec.ID, err)
	}
	if _, err := b.obs.PutBytes(ctx, rec.ID, data); err != nil {
		return fmt.Errorf("archive %s: %w", rec.ID, err)
	}
	return nil
}

// makeRoom deletes the bucket's oldest sessions until size more bytes
// fit in maxBytes, with a tenth to spare, so that a full bucket is listed
// once per many saves, not at each.
func (b *archiveBucket) makeRoom(ctx context.Context, size, maxBytes int64) error {
	b.evicting.Lock()
	defer b.evicting.Unlock()
	status, err := b.obs.Status(ctx)
	if err != nil {
		return fmt.Errorf("bucket status: %w", err)
	}
	used := int64(status.Size())
	if used+size <= maxBytes {
		return nil
	}
	objects, err := b.obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return fmt.Errorf("list the bucket to make room: %w", err)
	}
	slices.SortFunc(objects, func(x, y *jetstream.ObjectInfo) int { return x.ModTime.Compare(y.ModTime) })
	for _, o := range objects {
		if used+size <= maxBytes-maxBytes/10 {
			break
		}
		if err := b.obs.Delete(ctx, o.Name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("delete %s to make room: %w", o.Name, err)
		}
		used -= int64(o.Size)
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
	if info.Size > MaxArchivedBytes {
		return trace.Record{}, fmt.Errorf("archived session %s: %d bytes, more than %d: not read", id, info.Size, MaxArchivedBytes)
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
