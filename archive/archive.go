// Package archive keeps finished sessions on disk, one JSON file each, so
// that permalinks and embedded diagrams in course pages survive restarts.
//
// Files are written whole or not at all: to a temporary file in the same
// directory, fsynced, then renamed over the final name. A file that is
// corrupt or truncated anyway (a full disk, a hand edit) is skipped with a
// log line when the directory is opened, never trusted and never a crash.
// The oldest files go first when the directory holds more than its limits.
package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"seqd/trace"
)

// ErrNotFound is returned by Load for an id with no file. It wraps
// fs.ErrNotExist.
var ErrNotFound = fmt.Errorf("no saved session with that id: %w", fs.ErrNotExist)

// Defaults for Options.
const (
	DefaultMaxFiles = 10_000
	DefaultMaxBytes = 1 << 30
)

// Options bounds a Dir.
type Options struct {
	MaxFiles int          // files kept per class of session (trace.Class); defaults to DefaultMaxFiles
	MaxBytes int64        // bytes kept per class; defaults to DefaultMaxBytes
	Logger   *slog.Logger // defaults to slog.Default()
}

// Dir is a directory of saved sessions. It is safe for concurrent use.
type Dir struct {
	path string
	opt  Options

	// mu guards the index.
	mu    sync.Mutex
	files map[string]file
	order []string // ids, oldest first
	usage map[string]*quota
}

// quota is what one class of sessions holds on disk.
type quota struct {
	files int
	bytes int64
}

type file struct {
	size     int64
	finished time.Time
	class    string // trace.Class of its scenario: its quota
}

// Open opens (creating it if needed) the directory at path and indexes the
// sessions in it, skipping files that do not hold a valid finished session.
// It returns how many it skipped.
func Open(path string, opt Options) (*Dir, int, error) {
	if opt.MaxFiles <= 0 {
		opt.MaxFiles = DefaultMaxFiles
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, 0, fmt.Errorf("open session directory: %w", err)
	}
	d := &Dir{path: path, opt: opt, files: map[string]file{}, usage: map[string]*quota{}}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open session directory: %w", err)
	}
	skipped := 0
	for _, ent := range ents {
		name := ent.Name()
		if strings.HasPrefix(name, ".tmp-") {
			// A save interrupted before its rename: never a whole file.
			_ = os.Remove(filepath.Join(path, name))
			continue
		}
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !ent.Type().IsRegular() {
			continue
		}
		rec, size, err := d.read(id)
		if err != nil {
			skipped++
			opt.Logger.Warn("skipping saved session", "file", filepath.Join(path, name), "err", err)
			continue
		}
		d.add(id, file{size: size, finished: finishedAt(rec), class: trace.Class(rec.Scenario)})
	}
	for id := range d.files {
		d.order = append(d.order, id)
	}
	sort.Slice(d.order, func(i, j int) bool { return d.files[d.order[i]].finished.Before(d.files[d.order[j]].finished) })
	d.mu.Lock()
	for class := range d.usage {
		d.pruneLocked(class)
	}
	d.mu.Unlock()
	return d, skipped, nil
}

func finishedAt(rec trace.Record) time.Time {
	if rec.FinishedAt != nil {
		return *rec.FinishedAt
	}
	return rec.StartedAt
}

// Len returns the number of saved sessions.
func (d *Dir) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.files)
}

// read reads and checks one file.
func (d *Dir) read(id string) (trace.Record, int64, error) {
	var rec trace.Record
	if !trace.ValidID(id) {
		return rec, 0, fmt.Errorf("%q is not a session id", id)
	}
	f, err := os.Open(filepath.Join(d.path, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, 0, ErrNotFound
	}
	if err != nil {
		return rec, 0, err
	}
	defer f.Close()
	// A file's size is known before any of it is read: one over the limit
	// (planted, or from another program) costs a stat, not its bytes.
	if fi, err := f.Stat(); err != nil {
		return rec, 0, err
	} else if fi.Size() > trace.MaxRecordBytes {
		return rec, 0, fmt.Errorf("larger than %d bytes (%d): not read", trace.MaxRecordBytes, fi.Size())
	}
	b, err := io.ReadAll(io.LimitReader(f, trace.MaxRecordBytes+1))
	if err != nil {
		return rec, 0, err
	}
	if len(b) > trace.MaxRecordBytes {
		return rec, 0, fmt.Errorf("larger than %d bytes", trace.MaxRecordBytes)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, 0, fmt.Errorf("not a saved session: %w", err)
	}
	if rec.ID != id {
		return rec, 0, fmt.Errorf("holds session %q, not %q", rec.ID, id)
	}
	if _, err := trace.Restore(rec); err != nil {
		return rec, 0, err
	}
	return rec, int64(len(b)), nil
}

// Load reads the saved session with the given id.
func (d *Dir) Load(id string) (trace.Record, error) {
	d.mu.Lock()
	_, ok := d.files[id]
	d.mu.Unlock()
	if !ok {
		return trace.Record{}, ErrNotFound
	}
	rec, _, err := d.read(id)
	return rec, err
}

// Save writes a finished session: to a temporary file, fsynced, renamed
// into place, and the directory fsynced, so that a crash leaves either the
// whole file or none. Then the oldest files beyond the limits are removed.
func (d *Dir) Save(rec trace.Record) error {
	if !trace.ValidID(rec.ID) {
		return fmt.Errorf("save: %q is not a session id", rec.ID)
	}
	if rec.State == trace.StateRunning {
		return fmt.Errorf("save session %s: it is still running", rec.ID)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("save session %s: %w", rec.ID, err)
	}
	tmp, err := os.CreateTemp(d.path, ".tmp-*")
	if err != nil {
		return fmt.Errorf("save session %s: %w", rec.ID, err)
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save session %s: %w", rec.ID, err)
	}
	final := filepath.Join(d.path, rec.ID+".json")
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save session %s: %w", rec.ID, err)
	}
	if dir, err := os.Open(d.path); err == nil {
		_ = dir.Sync() // make the rename itself durable
		dir.Close()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f := file{size: int64(len(b)), finished: finishedAt(rec), class: trace.Class(rec.Scenario)}
	if old, ok := d.files[rec.ID]; ok {
		d.drop(rec.ID, old)
	}
	d.order = append(d.order, rec.ID)
	d.add(rec.ID, f)
	d.pruneLocked(f.class)
	return nil
}

// add indexes a file; d.order is the caller's.
func (d *Dir) add(id string, f file) {
	d.files[id] = f
	q := d.usage[f.class]
	if q == nil {
		q = &quota{}
		d.usage[f.class] = q
	}
	q.files++
	q.bytes += f.size
}

// drop forgets a file of the index, and its place in d.order.
func (d *Dir) drop(id string, f file) {
	delete(d.files, id)
	if q := d.usage[f.class]; q != nil {
		q.files--
		q.bytes -= f.size
	}
	if i := slices.Index(d.order, id); i >= 0 {
		d.order = slices.Delete(d.order, i, i+1)
	}
}

// pruneLocked removes the oldest files of class while the class holds more
// than its limits: each class (trace.Class) has MaxFiles and MaxBytes of
// its own, so that one class can never remove another's sessions.
// Sessions are saved as they finish, so order is oldest first.
func (d *Dir) pruneLocked(class string) {
	q := d.usage[class]
	for i := 0; q != nil && (q.files > d.opt.MaxFiles || q.bytes > d.opt.MaxBytes) && i < len(d.order); {
		id := d.order[i]
		f := d.files[id]
		if f.class != class {
			i++
			continue
		}
		if err := os.Remove(filepath.Join(d.path, id+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.opt.Logger.Warn("retention: could not remove a saved session", "id", id, "err", err)
		}
		d.drop(id, f)
	}
}

// DefaultPath is where seqd keeps saved sessions when no directory is
// given: $XDG_STATE_HOME/seqd/sessions, else ~/.local/state/seqd/sessions.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "seqd", "sessions"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w; give one with -data DIR", err)
	}
	return filepath.Join(home, ".local", "state", "seqd", "sessions"), nil
}
