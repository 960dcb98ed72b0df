package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Opener opens the raw (possibly compressed) bytes of an object that is not
// a local file (one with a Bucket), starting at a byte offset. The first Open
// of a read may fill in obj's ETag, VersionID, Size and LastModified; later
// Opens of the same read must return the same version of the object or fail.
// s3source.Opener is the implementation for S3.
type Opener interface {
	Open(ctx context.Context, obj *Object, offset int64) (io.ReadCloser, error)
}

// ReaderOptions configures a Reader. The zero value reads local files as
// NDJSON with the default limits.
type ReaderOptions struct {
	// Format is the framing of every object (zero value NDJSON).
	Format Format
	// MaxRecordSize as in Options; zero means DefaultMaxRecordSize.
	MaxRecordSize int
	// Opener opens objects with a Bucket; nil means only local files can be
	// read.
	Opener Opener
}

// Reader reads the records of local files and, through its Opener, remote
// objects. It is safe for concurrent use: each ReadObject takes a Scanner
// from a pool, so buffers and decompressors are reused across objects.
type Reader struct {
	opts      ReaderOptions
	scanners  sync.Pool // of *Scanner
	scanOpts  Options
	hasOpener bool
}

// NewReader returns a Reader, or an error wrapping ErrOptions.
func NewReader(opts ReaderOptions) (*Reader, error) {
	so := Options{Format: opts.Format, MaxRecordSize: opts.MaxRecordSize}
	if err := so.check(); err != nil {
		return nil, err
	}
	return &Reader{opts: opts, scanOpts: so, hasOpener: opts.Opener != nil}, nil
}

// ObjectError wraps any error met while reading an object with the object's
// name and, where known, the position of the record being read. It unwraps
// to the cause, which for framing errors unwraps to this package's sentinels.
type ObjectError struct {
	Object string
	Offset int64
	Line   int64
	Number int64 // 1-based number of the record being read
	Err    error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("source: %s: record %d (line %d, offset %d): %v", e.Object, e.Number, e.Line, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// ReadObject calls fn for each record of obj after position from (the zero
// Position reads the whole object) and returns the position after the last
// record for which fn returned nil. An error from fn stops the read and is
// returned as is; other errors are *ObjectError, or the context's error.
//
// Resuming: an uncompressed NDJSON or Concatenated object is reopened at
// from.Offset (a ranged open for remote objects, a seek for files); any
// other object is read from its start and its first from.Records records are
// skipped.
func (r *Reader) ReadObject(ctx context.Context, obj Object, from Position, fn func(Record) error) (Position, error) {
	done := from
	if done.Line == 0 {
		done.Line = 1
	}
	body, start, skip, err := r.openAt(ctx, &obj, from)
	if err != nil {
		return done, err
	}
	defer body.Close()

	sc := r.scanner()
	defer r.putScanner(sc)
	sc.resetAt(body, start)
	for sc.Scan() {
		if sc.Number() <= skip {
			continue
		}
		if err := fn(Record{Object: &obj, Data: sc.Bytes(), Offset: sc.Offset(), Line: sc.Line(), Number: sc.Number()}); err != nil {
			return done, err
		}
		done = sc.ResumeAt()
	}
	if err := sc.Err(); err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return done, cerr
		}
		return done, &ObjectError{Object: obj.String(), Offset: done.Offset, Line: done.Line, Number: done.Records + 1, Err: err}
	}
	if sc.Number() < skip {
		return done, &ObjectError{Object: obj.String(), Offset: done.Offset, Line: done.Line, Number: sc.Number() + 1,
			Err: fmt.Errorf("resume position past the end: %d records, %d done", sc.Number(), skip)}
	}
	return done, nil
}

// openAt opens obj for a read that resumes at from: it returns the body, the
// position of the body's first byte and the records to skip.
func (r *Reader) openAt(ctx context.Context, obj *Object, from Position) (io.ReadCloser, Position, int64, error) {
	body, err := r.open(ctx, obj, 0)
	if err != nil {
		return nil, Position{}, 0, err
	}
	if from.Offset <= 0 && from.Records <= 0 {
		return body, Position{}, 0, nil
	}
	if from.Offset <= 0 || (r.opts.Format != NDJSON && r.opts.Format != Concatenated) {
		return body, Position{}, from.Records, nil
	}
	var magic [4]byte
	n, _ := io.ReadFull(body, magic[:])
	body.Close()
	if compressed(magic[:n]) {
		body, err = r.open(ctx, obj, 0)
		return body, Position{}, from.Records, err
	}
	if obj.IsS3() && obj.Size >= 0 && from.Offset > obj.Size {
		return nil, Position{}, 0, &ObjectError{Object: obj.String(), Offset: from.Offset, Line: max(from.Line, 1), Number: from.Records + 1,
			Err: fmt.Errorf("resume offset %d past the end of a %d-byte object", from.Offset, obj.Size)}
	}
	body, err = r.open(ctx, obj, from.Offset)
	return body, from, 0, err
}

// compressed reports whether p starts with the gzip or zstd magic bytes.
func compressed(p []byte) bool {
	return len(p) >= 2 && p[0] == 0x1f && p[1] == 0x8b ||
		len(p) == 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd
}

func (r *Reader) scanner() *Scanner {
	if sc, ok := r.scanners.Get().(*Scanner); ok {
		return sc
	}
	return &Scanner{opts: r.scanOpts}
}

// putScanner drops the scanner's references to the body and pools it with
// its buffer and decompressors.
func (r *Reader) putScanner(sc *Scanner) {
	sc.src, sc.raw, sc.rd, sc.tok = nil, rawReader{}, nil, nil
	r.scanners.Put(sc)
}

// open returns the raw (possibly compressed) bytes of obj from offset on.
func (r *Reader) open(ctx context.Context, obj *Object, offset int64) (io.ReadCloser, error) {
	if obj.IsS3() {
		if !r.hasOpener {
			return nil, fmt.Errorf("source: %s: no Opener configured for remote objects", obj)
		}
		return r.opts.Opener.Open(ctx, obj, offset)
	}
	f, err := os.Open(obj.Key)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("source: %s: %w", obj.Key, err)
		}
	}
	return f, nil
}
