package resilience

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrConflict is matched (errors.Is) by a *ConflictError.
var ErrConflict = errors.New("resilience: checkpoint changed by another writer")

// ErrRegress is returned by Progress.Commit for a checkpoint that would move
// backwards within the same object.
var ErrRegress = errors.New("resilience: checkpoint moves backwards")

// ConflictError is returned by CheckpointStore.Save when the stored
// checkpoint is not the version the caller read: another worker advanced it
// (or created it first). The caller must stop working on this name, or load
// again and start from the newer checkpoint.
type ConflictError struct {
	Name string // the checkpoint's name
	Err  error  // the store's error, e.g. wrapping ErrPreconditionFailed
}

// Error names the checkpoint and the store's error.
func (e *ConflictError) Error() string {
	return "resilience: checkpoint " + strconv.Quote(e.Name) + " changed by another writer: " + errString(e.Err)
}

// Unwrap returns ErrConflict and the store's error.
func (e *ConflictError) Unwrap() []error { return []error{ErrConflict, e.Err} }

// Checkpoint records what a job has durably done: the object being read (its
// identity, so a replaced object is noticed), how many records of it were
// done and where the next record starts. The position is source's: a
// source.Position{Offset: NextOffset, Line: NextLine, Records: RecordsDone}
// resumes Reader.ReadObject there. All fields are plain values.
type Checkpoint struct {
	Bucket    string `json:"bucket,omitempty"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	ETag      string `json:"etag,omitempty"`
	Size      int64  `json:"size"`
	// RecordsDone counts the records of the object durably processed.
	RecordsDone int64 `json:"records_done"`
	// NextOffset is the byte offset of the first record not yet done, in
	// the decompressed stream (source.Position.Offset): for a compressed
	// object it may exceed Size. For an uncompressed object NextOffset ==
	// Size means the object is finished; Done says so for any object.
	NextOffset int64 `json:"next_offset"`
	// NextLine is the 1-based line on which the next record starts
	// (source.Position.Line); 0 means unknown (a resumed read then counts
	// lines from 1).
	NextLine int64 `json:"next_line,omitempty"`
	// Done marks the object as completely processed.
	Done bool `json:"done,omitempty"`
	// UpdatedAt is when the checkpoint was committed (set by
	// Progress.Commit from its clock).
	UpdatedAt time.Time `json:"updated_at"`
}

// SameObject reports whether c and o name the same version of the same
// object.
func (c Checkpoint) SameObject(o Checkpoint) bool {
	return c.Bucket == o.Bucket && c.Key == o.Key && c.VersionID == o.VersionID && c.ETag == o.ETag && c.Size == o.Size
}

// Validate checks that no count is negative. NextOffset is not bounded by
// Size: it counts decompressed bytes.
func (c Checkpoint) Validate() error {
	if c.Size < 0 || c.RecordsDone < 0 || c.NextOffset < 0 || c.NextLine < 0 {
		return errors.New("resilience: negative value in checkpoint")
	}
	return nil
}

// Version identifies one saved state of a checkpoint: an ETag for
// S3CheckpointStore, a generation for FileCheckpointStore. The empty Version
// means "no checkpoint yet".
type Version string

// CheckpointStore keeps named checkpoints with compare-and-swap semantics,
// so two workers cannot both advance the same one. Implementations must be
// safe for concurrent use.
type CheckpointStore interface {
	// Load returns the checkpoint and its version, or an error matching
	// ErrNotFound when there is none.
	Load(ctx context.Context, name string) (Checkpoint, Version, error)
	// Save stores cp if the stored version is prev (prev == "": only if
	// none exists) and returns the new version. Otherwise it stores nothing
	// and returns a *ConflictError.
	Save(ctx context.Context, name string, cp Checkpoint, prev Version) (Version, error)
}

// checkpointFile is the stored form. Generation grows with every save, so
// two saves never have the same bytes (no ABA through equal ETags).
type checkpointFile struct {
	Format     int        `json:"format"`
	Generation int64      `json:"generation"`
	Checkpoint Checkpoint `json:"checkpoint"`
}

func encodeCheckpoint(gen int64, cp Checkpoint) ([]byte, error) {
	b, err := json.Marshal(checkpointFile{Format: 1, Generation: gen, Checkpoint: cp})
	if err != nil {
		return nil, fmt.Errorf("resilience: encode checkpoint: %w", err)
	}
	return append(b, '\n'), nil
}

func decodeCheckpoint(name string, b []byte) (checkpointFile, error) {
	var f checkpointFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("resilience: checkpoint %q is corrupt: %w", name, err)
	}
	if f.Format != 1 {
		return f, fmt.Errorf("resilience: checkpoint %q has unknown format %d", name, f.Format)
	}
	if err := f.Checkpoint.Validate(); err != nil {
		return f, fmt.Errorf("checkpoint %q: %w", name, err)
	}
	return f, nil
}

// checkName allows names that are safe as file names and S3 key parts.
func checkName(name string) error {
	if name == "" || len(name) > 200 || name == "." || name == ".." {
		return fmt.Errorf("resilience: invalid checkpoint name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("resilience: invalid checkpoint name %q: use [A-Za-z0-9._-]", name)
		}
	}
	return nil
}

// FileCheckpointStore keeps checkpoints as JSON files in a directory:
// <dir>/<name>.checkpoint.json, written to a temporary file, fsynced and
// renamed over the old one, then the directory is fsynced, so a crash leaves
// either the old or the new checkpoint. Compare-and-swap is enforced between
// goroutines by a mutex and, on Linux, macOS and the BSDs, between processes by an flock on
// <name>.checkpoint.lock. It is safe for concurrent use.
type FileCheckpointStore struct {
	dir string
	mu  sync.Mutex
}

// NewFileCheckpointStore returns a store in dir, creating dir if needed.
func NewFileCheckpointStore(dir string) (*FileCheckpointStore, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty checkpoint directory", ErrOptions)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("resilience: checkpoint directory: %w", err)
	}
	return &FileCheckpointStore{dir: dir}, nil
}

func (s *FileCheckpointStore) path(name string) string {
	return filepath.Join(s.dir, name+".checkpoint.json")
}

// Load reads the named checkpoint.
func (s *FileCheckpointStore) Load(ctx context.Context, name string) (Checkpoint, Version, error) {
	if err := checkName(name); err != nil {
		return Checkpoint{}, "", err
	}
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, "", err
	}
	f, err := s.read(name)
	if err != nil {
		return Checkpoint{}, "", err
	}
	return f.Checkpoint, Version(strconv.FormatInt(f.Generation, 10)), nil
}

func (s *FileCheckpointStore) read(name string) (checkpointFile, error) {
	b, err := os.ReadFile(s.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return checkpointFile{}, fmt.Errorf("resilience: checkpoint %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return checkpointFile{}, fmt.Errorf("resilience: read checkpoint: %w", err)
	}
	return decodeCheckpoint(name, b)
}

// Save writes cp if the stored generation is prev.
func (s *FileCheckpointStore) Save(ctx context.Context, name string, cp Checkpoint, prev Version) (Version, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := cp.Validate(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(filepath.Join(s.dir, name+".checkpoint.lock"))
	if err != nil {
		return "", fmt.Errorf("resilience: lock checkpoint: %w", err)
	}
	defer unlock()

	var gen int64
	cur, err := s.read(name)
	switch {
	case errors.Is(err, ErrNotFound):
		if prev != "" {
			return "", &ConflictError{Name: name, Err: fmt.Errorf("expected version %s, none stored: %w", prev, ErrPreconditionFailed)}
		}
	case err != nil:
		return "", err
	default:
		if curV := Version(strconv.FormatInt(cur.Generation, 10)); curV != prev {
			return "", &ConflictError{Name: name, Err: fmt.Errorf("expected version %q, stored %s: %w", prev, curV, ErrPreconditionFailed)}
		}
		gen = cur.Generation
	}
	gen++
	body, err := encodeCheckpoint(gen, cp)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(s.path(name), body); err != nil {
		return "", err
	}
	return Version(strconv.FormatInt(gen, 10)), nil
}

// writeFileAtomic writes body to path through a synced temporary file and a
// rename, then syncs the directory.
func writeFileAtomic(path string, body []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("resilience: write checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(body); err != nil {
		return fmt.Errorf("resilience: write checkpoint: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("resilience: sync checkpoint: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("resilience: close checkpoint: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("resilience: rename checkpoint: %w", err)
	}
	return syncDir(dir)
}

// PutCondition is the precondition of ObjectStore.PutObject. At most one
// field is set; the zero value writes unconditionally.
type PutCondition struct {
	// IfNoneMatch "*" creates the object only if the key does not exist
	// (S3 If-None-Match: *).
	IfNoneMatch string
	// IfMatch writes only if the current object's ETag equals it (S3
	// If-Match).
	IfMatch string
}

// ObjectStore is the small part of an S3 client that S3CheckpointStore and
// S3DeadLetterSink need; an adapter over the AWS SDK lives outside this
// package. Implementations must be safe for concurrent use and:
//
//   - GetObject returns the whole body and the ETag (as S3 sends it, with
//     quotes) or an error matching ErrNotFound (404, NoSuchKey).
//   - PutObject stores body under the condition and returns the new ETag,
//     or an error matching ErrPreconditionFailed when the condition fails
//     (HTTP 412 PreconditionFailed, and also HTTP 409
//     ConditionalRequestConflict, which S3 returns to the loser of two
//     concurrent conditional writes). It sends cond.IfNoneMatch as the
//     If-None-Match header and cond.IfMatch as If-Match, each only when
//     not empty, byte for byte.
//   - The ETags of GetObject and PutObject are the same strings for the same
//     object version (S3 returns both quoted), because a Version read by
//     Load is sent back as If-Match.
//   - Errors keep their cause for errors.Is/As (wrap with %w) and carry no
//     credentials; other errors (throttling, network) pass through wrapped,
//     for the caller's retry classifier.
type ObjectStore interface {
	GetObject(ctx context.Context, bucket, key string) (body []byte, etag string, err error)
	PutObject(ctx context.Context, bucket, key string, body []byte, cond PutCondition) (etag string, err error)
}

// S3CheckpointStore keeps checkpoints as JSON objects <Prefix><name>.json in
// a bucket, created with If-None-Match: * and advanced with If-Match: <ETag>,
// so only one of two racing workers can advance a checkpoint. It is safe for
// concurrent use if the ObjectStore is.
type S3CheckpointStore struct {
	client ObjectStore
	bucket string
	prefix string
}

// NewS3CheckpointStore returns a store writing to bucket under prefix (e.g.
// "checkpoints/orders/").
func NewS3CheckpointStore(client ObjectStore, bucket, prefix string) (*S3CheckpointStore, error) {
	if client == nil || bucket == "" {
		return nil, fmt.Errorf("%w: S3 checkpoint store needs a client and a bucket", ErrOptions)
	}
	if strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("%w: S3 prefix %q starts with /", ErrOptions, prefix)
	}
	return &S3CheckpointStore{client: client, bucket: bucket, prefix: prefix}, nil
}

func (s *S3CheckpointStore) key(name string) string { return s.prefix + name + ".json" }

// Load reads the named checkpoint; its Version is the object's ETag.
func (s *S3CheckpointStore) Load(ctx context.Context, name string) (Checkpoint, Version, error) {
	if err := checkName(name); err != nil {
		return Checkpoint{}, "", err
	}
	f, etag, err := s.read(ctx, name)
	if err != nil {
		return Checkpoint{}, "", err
	}
	return f.Checkpoint, Version(etag), nil
}

func (s *S3CheckpointStore) read(ctx context.Context, name string) (checkpointFile, string, error) {
	body, etag, err := s.client.GetObject(ctx, s.bucket, s.key(name))
	if err != nil {
		return checkpointFile{}, "", fmt.Errorf("resilience: load checkpoint %q: %w", name, err)
	}
	if etag == "" {
		return checkpointFile{}, "", fmt.Errorf("resilience: load checkpoint %q: object has no ETag", name)
	}
	f, err := decodeCheckpoint(name, body)
	return f, etag, err
}

// Save writes cp with If-None-Match: * when prev is empty and If-Match: prev
// otherwise.
func (s *S3CheckpointStore) Save(ctx context.Context, name string, cp Checkpoint, prev Version) (Version, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := cp.Validate(); err != nil {
		return "", err
	}
	// The generation inside only has to differ from the previous body's;
	// the ETag does the compare-and-swap. Nanoseconds of the wall clock
	// would do, but a counter from the previous body is deterministic.
	gen := int64(1)
	cond := PutCondition{IfNoneMatch: "*"}
	if prev != "" {
		cur, etag, err := s.read(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
			return "", &ConflictError{Name: name, Err: err}
		case err != nil:
			return "", err
		case Version(etag) != prev:
			return "", &ConflictError{Name: name, Err: fmt.Errorf("expected ETag %s, stored %s: %w", prev, etag, ErrPreconditionFailed)}
		}
		gen = cur.Generation + 1
		cond = PutCondition{IfMatch: string(prev)}
	}
	body, err := encodeCheckpoint(gen, cp)
	if err != nil {
		return "", err
	}
	etag, err := s.client.PutObject(ctx, s.bucket, s.key(name), body, cond)
	if errors.Is(err, ErrPreconditionFailed) {
		return "", &ConflictError{Name: name, Err: err}
	}
	if err != nil {
		return "", fmt.Errorf("resilience: save checkpoint %q: %w", name, err)
	}
	return Version(etag), nil
}

// Progress is one worker's handle on a named checkpoint: it remembers the
// version it read and commits only on top of it. It is not safe for
// concurrent use; give each worker its own.
type Progress struct {
	store   CheckpointStore
	name    string
	clock   Clock
	version Version
	cp      Checkpoint
}

// ResumeProgress loads the named checkpoint, if any, so the caller can
// resume from it. A nil clock means SystemClock.
func ResumeProgress(ctx context.Context, store CheckpointStore, name string, clock Clock) (*Progress, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil checkpoint store", ErrOptions)
	}
	p := &Progress{store: store, name: name, clock: clockOrSystem(clock)}
	cp, v, err := store.Load(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		p.cp, p.version = cp, v
	}
	return p, nil
}

// Checkpoint returns the last checkpoint loaded or committed, and whether
// there is one.
func (p *Progress) Checkpoint() (Checkpoint, bool) { return p.cp, p.version != "" }

// Version returns the version of the last checkpoint loaded or committed.
func (p *Progress) Version() Version { return p.version }

// Commit stores cp (with UpdatedAt set) on top of the version this Progress
// holds. It returns an error matching ErrConflict when another worker
// advanced the checkpoint meanwhile, and ErrRegress when cp is the same
// object as the current checkpoint but further back.
func (p *Progress) Commit(ctx context.Context, cp Checkpoint) error {
	if p.version != "" && cp.SameObject(p.cp) && (cp.NextOffset < p.cp.NextOffset || cp.RecordsDone < p.cp.RecordsDone) {
		return fmt.Errorf("%w: offset %d < %d", ErrRegress, cp.NextOffset, p.cp.NextOffset)
	}
	cp.UpdatedAt = p.clock.Now().UTC()
	v, err := p.store.Save(ctx, p.name, cp, p.version)
	if err != nil {
		return err
	}
	p.cp, p.version = cp, v
	return nil
}
