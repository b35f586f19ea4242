package archive

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"seqd/trace"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func finished(t *testing.T, events int) trace.Record {
	t.Helper()
	s := trace.NewSession("echo", map[string]any{"rounds": 1}, trace.Options{})
	s.AddActor("client")
	for i := 0; i < events; i++ {
		e := trace.Event{Actor: "client", Kind: trace.KindSend, Bytes: 1, Data: "x"}
		if err := s.Record(&e, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	s.Finish(nil)
	return s.Snapshot()
}

func TestSavedSessionsSurviveReopening(t *testing.T) {
	dir := t.TempDir()
	d, _, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	rec := finished(t, 5)
	if err := d.Save(rec); err != nil {
		t.Fatal(err)
	}
	d2, skipped, err := Open(dir, Options{Logger: quiet()})
	if err != nil || skipped != 0 {
		t.Fatalf("reopen: %v, skipped %d", err, skipped)
	}
	got, err := d2.Load(rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || len(got.Events) != 5 || got.State != trace.StateDone {
		t.Errorf("loaded %s with %d events, %s", got.ID, len(got.Events), got.State)
	}
	if _, err := d2.Load(trace.NewID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load(unknown): %v; want ErrNotFound", err)
	}
	if _, err := d2.Load("../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load(traversal): %v; want ErrNotFound", err)
	}
}

func TestCorruptFilesAreSkipped(t *testing.T) {
	dir := t.TempDir()
	d, _, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	good := finished(t, 3)
	if err := d.Save(good); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, good.ID+".json"))
	other := finished(t, 3)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(trace.NewID()+".json", b[:len(b)/2])       // truncated
	write(trace.NewID()+".json", []byte("not json")) // garbage
	write(other.ID+".json", b)                       // holds another id
	write("notes.json", []byte("{}"))                // not a session id
	write(".tmp-123", []byte("half a save"))         // an interrupted save
	d2, skipped, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 4 || d2.Len() != 1 {
		t.Errorf("skipped %d, kept %d; want 4 skipped, 1 kept", skipped, d2.Len())
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the interrupted save was not cleaned up")
	}
}

func TestRetentionRemovesTheOldest(t *testing.T) {
	dir := t.TempDir()
	d, _, err := Open(dir, Options{MaxFiles: 3, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 5; i++ {
		rec := finished(t, 2)
		if err := d.Save(rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	for i, id := range ids {
		_, err := d.Load(id)
		if kept := err == nil; kept != (i >= 2) {
			t.Errorf("session %d kept = %v; want the newest 3 kept", i, kept)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("%d files on disk; want 3", len(ents))
	}
	t.Run("a byte limit removes the oldest too", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(dir, ids[4]+".json"))
		d, _, err := Open(dir, Options{MaxBytes: int64(2*len(b) + 10), Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 2 {
			t.Errorf("%d kept; want 2 within the byte limit", d.Len())
		}
	})
}

// FuzzOpen writes arbitrary bytes as a saved session file: opening the
// directory must skip or keep it, never panic. The seeds replay in every
// ordinary test run.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"id":"aaaaaaaaaaaaaaaaaaaaaaaaaa","state":"done","events":[{"seq":0}]}`))
	f.Add([]byte(`{"id":"aaaaaaaaaaaaaaaaaaaaaaaaaa","state":"done","events":[{"seq":1}]}`))
	f.Add([]byte(`{"id":"aaaaaaaaaaaaaaaaaaaaaaaaaa","state":"running"}`))
	f.Add([]byte(`{"events":null}`))
	f.Add([]byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "aaaaaaaaaaaaaaaaaaaaaaaaaa.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, skipped, err := Open(dir, Options{Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if skipped+d.Len() != 1 {
			t.Fatalf("skipped %d + kept %d; want 1", skipped, d.Len())
		}
		if d.Len() == 1 {
			if _, err := d.Load("aaaaaaaaaaaaaaaaaaaaaaaaaa"); err != nil {
				t.Fatalf("kept but cannot load: %v", err)
			}
		}
	})
}

// TestOversizedFileIsSkippedUnread plants a 300 MB (sparse) file among the
// saved sessions: Open must skip it by its size, without reading it.
func TestOversizedFileIsSkippedUnread(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, trace.NewID()+".json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, skipped, err := Open(dir, Options{Logger: quiet()})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 || d.Len() != 0 {
		t.Errorf("skipped %d, kept %d; want the big file skipped", skipped, d.Len())
	}
	if read := after.TotalAlloc - before.TotalAlloc; read > 8<<20 {
		t.Errorf("Open allocated %d MiB for a file it must skip by its size", read>>20)
	}
}
