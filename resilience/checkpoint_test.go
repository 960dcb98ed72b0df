package resilience

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// storeFactories makes each store under test; same(t) returns a second
// handle on the same underlying storage (another worker).
var storeFactories = []struct {
	name string
	make func(t *testing.T) (CheckpointStore, func() CheckpointStore)
}{
	{"file", func(t *testing.T) (CheckpointStore, func() CheckpointStore) {
		dir := filepath.Join(t.TempDir(), "cp")
		s, err := NewFileCheckpointStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s, func() CheckpointStore {
			s2, err := NewFileCheckpointStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s2
		}
	}},
	{"s3", func(t *testing.T) (CheckpointStore, func() CheckpointStore) {
		m := newMemObjectStore()
		mk := func() CheckpointStore {
			s, err := NewS3CheckpointStore(m, "jobs", "checkpoints/")
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return mk(), mk
	}},
}

func TestCheckpointStoreCAS(t *testing.T) {
	ctx := context.Background()
	for _, sf := range storeFactories {
		t.Run(sf.name, func(t *testing.T) {
			s, _ := sf.make(t)
			if _, _, err := s.Load(ctx, "orders"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load(missing) = %v, want ErrNotFound", err)
			}
			cp := Checkpoint{Bucket: "in", Key: "a.ndjson", VersionID: "v1", ETag: `"e1"`, Size: 100, RecordsDone: 2, NextOffset: 40}
			v1, err := s.Save(ctx, "orders", cp, "")
			if err != nil || v1 == "" {
				t.Fatalf("Save(create) = %q, %v", v1, err)
			}
			if _, err := s.Save(ctx, "orders", cp, ""); !errors.Is(err, ErrConflict) {
				t.Fatalf("Save(create again) = %v, want ErrConflict", err)
			}
			got, v, err := s.Load(ctx, "orders")
			if err != nil || v != v1 || got != cp {
				t.Fatalf("Load() = %+v, %q, %v, want %+v, %q", got, v, err, cp, v1)
			}
			cp2 := cp
			cp2.RecordsDone, cp2.NextOffset = 3, 60
			v2, err := s.Save(ctx, "orders", cp2, v1)
			if err != nil || v2 == v1 {
				t.Fatalf("Save(v1) = %q, %v, want a new version", v2, err)
			}
			// The same bytes again must still be a new version (no ABA).
			v3, err := s.Save(ctx, "orders", cp2, v2)
			if err != nil || v3 == v2 {
				t.Fatalf("Save(same checkpoint) = %q, %v, want a new version", v3, err)
			}
			var ce *ConflictError
			if _, err := s.Save(ctx, "orders", cp, v1); !errors.As(err, &ce) || ce.Name != "orders" {
				t.Fatalf("Save(stale version) = %v, want *ConflictError", err)
			}
			if _, err := s.Save(ctx, "other", cp, v1); !errors.Is(err, ErrConflict) {
				t.Fatalf("Save(version for a missing checkpoint) = %v, want ErrConflict", err)
			}
			for _, bad := range []string{"", "../x", "a/b", "a b", ".."} {
				if _, err := s.Save(ctx, bad, cp, ""); err == nil {
					t.Errorf("Save(name %q) = nil error", bad)
				}
			}
			if _, err := s.Save(ctx, "orders", Checkpoint{Size: 5, NextOffset: -1}, v3); err == nil {
				t.Error("Save(negative offset) = nil error")
			}
			if _, err := s.Save(ctx, "orders", Checkpoint{Size: 5, NextLine: -1}, v3); err == nil {
				t.Error("Save(negative line) = nil error")
			}
		})
	}
}

// Two workers race to advance the same checkpoint from the same version:
// exactly one wins, every time.
func TestCheckpointStoreRace(t *testing.T) {
	ctx := context.Background()
	for _, sf := range storeFactories {
		t.Run(sf.name, func(t *testing.T) {
			_, another := sf.make(t)
			a, b := another(), another()
			v, err := a.Save(ctx, "job", Checkpoint{Key: "k", Size: 1000}, "")
			if err != nil {
				t.Fatal(err)
			}
			for round := range 50 {
				var wg sync.WaitGroup
				var mu sync.Mutex
				var wins []Version
				conflicts := 0
				for w, s := range []CheckpointStore{a, b} {
					wg.Go(func() {
						nv, err := s.Save(ctx, "job", Checkpoint{Key: "k", Size: 1000, RecordsDone: int64(round*2 + w), NextOffset: int64(round*10 + w)}, v)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							wins = append(wins, nv)
						case errors.Is(err, ErrConflict):
							conflicts++
						default:
							t.Errorf("Save() = %v", err)
						}
					})
				}
				wg.Wait()
				if len(wins) != 1 || conflicts != 1 {
					t.Fatalf("round %d: %d winners, %d conflicts, want 1 and 1", round, len(wins), conflicts)
				}
				v = wins[0]
				if _, lv, err := a.Load(ctx, "job"); err != nil || lv != v {
					t.Fatalf("Load() version %q, %v, want the winner's %q", lv, err, v)
				}
			}
			// Racing creations: one worker creates, the other conflicts.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, s := range []CheckpointStore{a, b} {
				wg.Go(func() { _, errs[i] = s.Save(ctx, "fresh", Checkpoint{}, "") })
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrConflict) {
				t.Errorf("racing creations: %v, want one success and one conflict", errs)
			}
		})
	}
}

func TestFileCheckpointStoreCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFileCheckpointStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"", "{", `{"format":2,"generation":1,"checkpoint":{}}`, `{"format":1,"generation":1,"checkpoint":{"size":-1}}`, `{"format":1,"junk":1}`} {
		if err := os.WriteFile(filepath.Join(dir, "x.checkpoint.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Load(context.Background(), "x"); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%q) = %v, want a corruption error", body, err)
		}
	}
	if _, err := s.Save(context.Background(), "y", Checkpoint{}, ""); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestS3CheckpointStoreErrors(t *testing.T) {
	m := newMemObjectStore()
	s, err := NewS3CheckpointStore(m, "b", "p/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewS3CheckpointStore(nil, "b", ""); err == nil {
		t.Error("NewS3CheckpointStore(nil) = nil error")
	}
	// A 409 ConditionalRequestConflict mapped by the adapter is a conflict.
	m.failPut = fmt.Errorf("ConditionalRequestConflict (409): %w", ErrPreconditionFailed)
	if _, err := s.Save(context.Background(), "j", Checkpoint{}, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("Save() under a 409 = %v, want ErrConflict", err)
	}
	boom := errors.New("connection reset")
	m.failPut = boom
	if _, err := s.Save(context.Background(), "j", Checkpoint{}, ""); !errors.Is(err, boom) || errors.Is(err, ErrConflict) {
		t.Errorf("Save() under a network error = %v, want it wrapped, not a conflict", err)
	}
	if _, err := s.Save(context.Background(), "j", Checkpoint{}, ""); err != nil {
		t.Fatal(err)
	}
	if ks := m.keys(); !slices.Equal(ks, []string{"b/p/j.json"}) {
		t.Errorf("keys = %v", ks)
	}
}

func TestProgress(t *testing.T) {
	ctx := context.Background()
	s, _ := NewFileCheckpointStore(t.TempDir())
	clk := newFakeClock()
	p, err := ResumeProgress(ctx, s, "job", clk)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Checkpoint(); ok {
		t.Fatal("fresh Progress has a checkpoint")
	}
	cp := Checkpoint{Key: "a", Size: 10, RecordsDone: 1, NextOffset: 5}
	if err := p.Commit(ctx, cp); err != nil {
		t.Fatal(err)
	}
	back := cp
	back.NextOffset = 2
	if err := p.Commit(ctx, back); !errors.Is(err, ErrRegress) {
		t.Errorf("Commit(backwards) = %v, want ErrRegress", err)
	}
	other, _ := ResumeProgress(ctx, s, "job", clk)
	got, ok := other.Checkpoint()
	if cp.UpdatedAt = clk.Now(); !ok || got != cp {
		t.Errorf("resumed checkpoint = %+v, want %+v", got, cp)
	}
	cp.NextOffset = 10
	if err := other.Commit(ctx, cp); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx, cp); !errors.Is(err, ErrConflict) {
		t.Errorf("Commit by the worker that lost = %v, want ErrConflict", err)
	}
}

// --- the crash test ---

var errCrash = errors.New("simulated crash")

// warehouse is the durable side of the simulated pipeline: a stage whose
// files are named by their source position (so a re-put replaces, like PUT
// OVERWRITE) and a table loaded by COPY with load history (a file loaded once
// is skipped, like Snowflake's COPY). It survives crashes; the pipeline's
// memory does not.
type warehouse struct {
	stage   map[string][]string
	history map[string]bool
	table   []string
	skipped int // COPYs skipped by the load history: work redone after a crash
}

// object is one input object of NDJSON lines.
type object struct {
	key  string
	body []byte
}

// runPipeline processes objects in order from the checkpoint, batch records
// at a time. Every step boundary calls crash, which returns errCrash at the
// boundary chosen by the test; the process "dies" there.
func runPipeline(ctx context.Context, store CheckpointStore, w *warehouse, objects []object, batch int, crash func() error) error {
	p, err := ResumeProgress(ctx, store, "pipeline", nil)
	if err != nil {
		return err
	}
	cp, ok := p.Checkpoint()
	start := 0
	if ok {
		start = slices.IndexFunc(objects, func(o object) bool { return o.key == cp.Key })
		if start < 0 {
			return fmt.Errorf("checkpoint names unknown object %q", cp.Key)
		}
	}
	for i := start; i < len(objects); i++ {
		o := objects[i]
		cur := Checkpoint{Bucket: "in", Key: o.key, ETag: fmt.Sprintf(`"%x"`, len(o.body)), Size: int64(len(o.body))}
		if ok && cp.Key == o.key {
			if !cur.SameObject(cp) {
				return errors.New("object changed under the checkpoint")
			}
			cur = cp
		}
		for cur.NextOffset < cur.Size {
			// Read a batch from the checkpoint's offset.
			var rows []string
			off := cur.NextOffset
			for len(rows) < batch && off < cur.Size {
				n := bytes.IndexByte(o.body[off:], '\n')
				rows = append(rows, string(o.body[off:off+int64(n)]))
				off += int64(n) + 1
			}
			if err := crash(); err != nil {
				return err
			}
			file := fmt.Sprintf("%s@%d", o.key, cur.NextOffset)
			w.stage[file] = rows
			if err := crash(); err != nil {
				return err
			}
			if w.history[file] {
				w.skipped++
			} else {
				w.table = append(w.table, w.stage[file]...)
				w.history[file] = true
			}
			if err := crash(); err != nil {
				return err
			}
			next := cur
			next.NextOffset, next.RecordsDone = off, cur.RecordsDone+int64(len(rows))
			if err := p.Commit(ctx, next); err != nil {
				return err
			}
			cur, _ = p.Checkpoint()
			if err := crash(); err != nil {
				return err
			}
		}
	}
	return nil
}

func crashTestInput() ([]object, []string) {
	var objects []object
	var want []string
	for i, n := range []int{5, 1, 4, 0, 3} {
		var b bytes.Buffer
		for j := range n {
			line := fmt.Sprintf(`{"object":%d,"line":%d}`, i, j)
			b.WriteString(line + "\n")
			want = append(want, line)
		}
		objects = append(objects, object{key: fmt.Sprintf("part-%d.ndjson", i), body: b.Bytes()})
	}
	return objects, want
}

func TestCrashAtEveryStepBoundary(t *testing.T) {
	ctx := context.Background()
	objects, want := crashTestInput()
	for _, sf := range storeFactories {
		t.Run(sf.name, func(t *testing.T) {
			// Count the boundaries of a run without crashes.
			store, _ := sf.make(t)
			boundaries := 0
			w := &warehouse{stage: map[string][]string{}, history: map[string]bool{}}
			if err := runPipeline(ctx, store, w, objects, 2, func() error { boundaries++; return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.table, want) || boundaries < 20 {
				t.Fatalf("clean run: %d boundaries, table %v", boundaries, w.table)
			}
			for k := 1; k <= boundaries; k++ {
				store, _ := sf.make(t)
				w := &warehouse{stage: map[string][]string{}, history: map[string]bool{}}
				n := 0
				err := runPipeline(ctx, store, w, objects, 2, func() error {
					if n++; n == k {
						return errCrash
					}
					return nil
				})
				if !errors.Is(err, errCrash) {
					t.Fatalf("crash at %d: run = %v, want the crash", k, err)
				}
				if err := runPipeline(ctx, store, w, objects, 2, func() error { return nil }); err != nil {
					t.Fatalf("crash at %d: resume = %v", k, err)
				}
				if !slices.Equal(w.table, want) {
					t.Fatalf("crash at boundary %d: table after resume =\n%v\nwant\n%v", k, w.table, want)
				}
				// The resume started at the checkpoint: at most the one batch
				// loaded but not yet committed was redone.
				if w.skipped > 1 {
					t.Fatalf("crash at boundary %d: %d batches redone, want <= 1", k, w.skipped)
				}
			}
			// Crash every process after a few boundaries until done: many
			// resumes in a row.
			for life := 4; life <= 6; life++ {
				store, _ := sf.make(t)
				w := &warehouse{stage: map[string][]string{}, history: map[string]bool{}}
				runs := 0
				for ; ; runs++ {
					n := 0
					err := runPipeline(ctx, store, w, objects, 2, func() error {
						if n++; n == life {
							return errCrash
						}
						return nil
					})
					if err == nil {
						break
					}
					if !errors.Is(err, errCrash) || runs > 100 {
						t.Fatalf("life %d: run %d = %v", life, runs, err)
					}
				}
				if w.skipped > runs {
					t.Fatalf("life %d: %d batches redone in %d crashes, want <= 1 per crash", life, w.skipped, runs)
				}
				if !slices.Equal(w.table, want) {
					t.Fatalf("life %d: table =\n%v\nwant\n%v", life, w.table, want)
				}
			}
		})
	}
}

// TestCheckpointOfCompressedObject: a checkpoint holds source's position in
// the decompressed stream, which for a gzip object lies past the object's
// size, with its line and the Done mark, and reads back unchanged.
func TestCheckpointOfCompressedObject(t *testing.T) {
	s, err := NewFileCheckpointStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cp := Checkpoint{Bucket: "in", Key: "a.ndjson.gz", ETag: `"e"`, Size: 1000, RecordsDone: 500, NextOffset: 40_000, NextLine: 502}
	v, err := s.Save(ctx, "gz", cp, "")
	if err != nil {
		t.Fatalf("Save(offset past the compressed size) = %v", err)
	}
	cp.Done = true
	if _, err := s.Save(ctx, "gz", cp, v); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Load(ctx, "gz")
	if err != nil || got.NextOffset != 40_000 || got.NextLine != 502 || got.RecordsDone != 500 || !got.Done {
		t.Errorf("Load = %+v, %v; want the saved position and Done", got, err)
	}
}
