package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Object identifies a local file (Bucket empty, Key the path) or an S3 object.
// It is a plain value, safe to copy and compare.
type Object struct {
	Bucket       string
	Key          string
	VersionID    string
	ETag         string // as S3 returns it, with quotes; empty for local files
	Size         int64  // -1 if unknown
	LastModified time.Time
}

// IsS3 reports whether o names an S3 object.
func (o Object) IsS3() bool { return o.Bucket != "" }

// String returns "s3://bucket/key" (with "?versionId=" when set) or the path.
func (o Object) String() string {
	if !o.IsS3() {
		return o.Key
	}
	s := "s3://" + o.Bucket + "/" + o.Key
	if o.VersionID != "" {
		s += "?versionId=" + o.VersionID
	}
	return s
}

// Checkpoint is a job's resume position in one object: the object's identity
// and the position after the last record done (Position.Record records done,
// Position.Offset the decompressed offset of the next record).
type Checkpoint struct {
	Object   Object
	Position Position
}

// Record is one record with its provenance. Data is valid only during the
// callback that receives it.
type Record struct {
	Object *Object
	Data   []byte
	Offset int64 // decompressed byte offset of the record's first byte
	Line   int64 // 1-based line where the record starts
	Number int64 // 1-based record number in the object
}

// S3API is the part of *s3.Client the Reader uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// Format is the framing of every object (zero value NDJSON).
	Format Format
	// MaxRecordSize as in Options; zero means DefaultMaxRecordSize.
	MaxRecordSize int
	// MaxResumes bounds how many times in a row a broken S3 body is resumed
	// with a Range request without the stream making progress. Zero means 5;
	// negative disables resuming.
	MaxResumes int
}

// Reader reads the records of local files and S3 objects. It holds no
// per-read state and is safe for concurrent use.
type Reader struct {
	s3   S3API
	opts ReaderOptions
}

// NewReader returns a Reader. client may be nil when only local files are read.
func NewReader(client S3API, opts ReaderOptions) (*Reader, error) {
	if _, err := NewScannerOptions(strings.NewReader(""), Options{Format: opts.Format, MaxRecordSize: opts.MaxRecordSize}); err != nil {
		return nil, err
	}
	if opts.MaxResumes == 0 {
		opts.MaxResumes = 5
	}
	return &Reader{s3: client, opts: opts}, nil
}

// ObjectChangedError reports that an S3 object no longer matches the ETag
// (or version) it was first read with, so a resumed read cannot continue.
type ObjectChangedError struct {
	Object string
	ETag   string
	Err    error
}

func (e *ObjectChangedError) Error() string {
	return fmt.Sprintf("source: %s changed while being read (expected ETag %s): %v", e.Object, e.ETag, e.Err)
}

// Unwrap returns the S3 error.
func (e *ObjectChangedError) Unwrap() error { return e.Err }

// ObjectError wraps any error met while reading an object with the object's
// name and, where known, the position of the record being read.
type ObjectError struct {
	Object string
	Offset int64
	Line   int64
	Record int64
	Err    error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("source: %s: record %d (line %d, offset %d): %v", e.Object, e.Record, e.Line, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// ReadObject calls fn for each record of obj after position from (the zero
// Position reads the whole object) and returns the position after the last
// record for which fn returned nil. An error from fn stops the read and is
// returned as is.
//
// Resuming: an uncompressed NDJSON or Concatenated object is reopened at
// from.Offset (a Range read for S3, a seek for files); any other object is read
// from its start and its first from.Record records are skipped. S3 reads are
// pinned to the object's ETag (If-Match) and version, so a changed object
// gives an *ObjectChangedError instead of mixed records.
func (r *Reader) ReadObject(ctx context.Context, obj Object, from Position, fn func(Record) error) (Position, error) {
	done := from
	if done.Line == 0 {
		done.Line = 1
	}
	body, err := r.open(ctx, &obj, 0)
	if err != nil {
		return done, err
	}
	defer func() {
		if body != nil {
			body.Close()
		}
	}()

	start := Position{}
	skip := int64(0)
	if from.Offset > 0 || from.Record > 0 {
		skip = from.Record
		if from.Offset > 0 && (r.opts.Format == NDJSON || r.opts.Format == Concatenated) {
			var magic [4]byte
			n, _ := io.ReadFull(body, magic[:])
			plain := n < 2 || !(magic[0] == 0x1f && magic[1] == 0x8b) && !(n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
			body.Close()
			if plain && obj.IsS3() && obj.Size >= 0 && from.Offset > obj.Size {
				return done, &ObjectError{Object: obj.String(), Offset: from.Offset, Line: done.Line, Record: from.Record + 1,
					Err: fmt.Errorf("resume offset %d past the end of a %d-byte object", from.Offset, obj.Size)}
			}
			if plain {
				body, err = r.open(ctx, &obj, from.Offset)
				start, skip = from, 0
			} else {
				body, err = r.open(ctx, &obj, 0)
			}
			if err != nil {
				return done, err
			}
		}
	}
	sc, err := NewScannerOptions(body, Options{Format: r.opts.Format, MaxRecordSize: r.opts.MaxRecordSize, Start: start})
	if err != nil {
		return done, err
	}
	defer sc.Close()
	for sc.Scan() {
		if sc.Record() <= skip {
			continue
		}
		if err := fn(Record{Object: &obj, Data: sc.Bytes(), Offset: sc.Offset(), Line: sc.Line(), Number: sc.Record()}); err != nil {
			return done, err
		}
		done = sc.Next()
	}
	if err := sc.Err(); err != nil {
		var ce *ObjectChangedError
		if errors.As(err, &ce) {
			return done, ce
		}
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return done, cerr
		}
		return done, &ObjectError{Object: obj.String(), Offset: done.Offset, Line: done.Line, Record: done.Record + 1, Err: err}
	}
	if sc.Record() < skip {
		return done, &ObjectError{Object: obj.String(), Offset: done.Offset, Line: done.Line, Record: sc.Record() + 1,
			Err: fmt.Errorf("resume position past the end: %d records, %d done", sc.Record(), skip)}
	}
	return done, nil
}

// open returns the raw (possibly compressed) bytes of obj from offset on.
func (r *Reader) open(ctx context.Context, obj *Object, offset int64) (io.ReadCloser, error) {
	if !obj.IsS3() {
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
	if r.s3 == nil {
		return nil, fmt.Errorf("source: %s: no S3 client configured", obj)
	}
	b := &s3Body{ctx: ctx, c: r.s3, obj: obj, off: offset, max: r.opts.MaxResumes}
	if err := b.get(); err != nil {
		return nil, err
	}
	return b, nil
}

// s3Body is a GetObject body that resumes with a Range request from the last
// raw byte received when the connection breaks. It lives only for one
// ReadObject call, which is why it may hold that call's ctx.
type s3Body struct {
	ctx     context.Context
	c       S3API
	obj     *Object
	off     int64
	body    io.ReadCloser
	fails   int
	max     int
	resumes int
}

func (b *s3Body) get() error {
	in := &s3.GetObjectInput{Bucket: aws.String(b.obj.Bucket), Key: aws.String(b.obj.Key)}
	if b.obj.VersionID != "" {
		in.VersionId = aws.String(b.obj.VersionID)
	}
	if b.obj.ETag != "" {
		in.IfMatch = aws.String(b.obj.ETag)
	}
	if b.off > 0 {
		in.Range = aws.String("bytes=" + strconv.FormatInt(b.off, 10) + "-")
	}
	out, err := b.c.GetObject(b.ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
			return &ObjectChangedError{Object: b.obj.String(), ETag: b.obj.ETag, Err: err}
		}
		if b.off > 0 && b.obj.Size >= 0 && b.off >= b.obj.Size && errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
			b.body = io.NopCloser(strings.NewReader(""))
			return nil
		}
		return fmt.Errorf("source: get %s at offset %d: %w", b.obj, b.off, err)
	}
	if b.obj.ETag == "" && out.ETag != nil {
		b.obj.ETag = *out.ETag
	}
	if b.obj.VersionID == "" && out.VersionId != nil && *out.VersionId != "" && *out.VersionId != "null" {
		b.obj.VersionID = *out.VersionId
	}
	if out.ContentLength != nil && b.off == 0 {
		b.obj.Size = *out.ContentLength
	} else if out.ContentRange != nil && b.obj.Size <= 0 {
		// "bytes first-last/total"
		if i := strings.LastIndexByte(*out.ContentRange, '/'); i >= 0 {
			if t, perr := strconv.ParseInt((*out.ContentRange)[i+1:], 10, 64); perr == nil {
				b.obj.Size = t
			}
		}
	}
	if out.LastModified != nil && b.obj.LastModified.IsZero() {
		b.obj.LastModified = *out.LastModified
	}
	b.body = out.Body
	return nil
}

func (b *s3Body) Read(p []byte) (int, error) {
	for {
		if b.body == nil {
			if err := b.get(); err != nil {
				return 0, err
			}
		}
		n, err := b.body.Read(p)
		b.off += int64(n)
		if n > 0 {
			b.fails = 0
		}
		if err == nil {
			return n, nil
		}
		if err == io.EOF && (b.obj.Size < 0 || b.off >= b.obj.Size) {
			return n, io.EOF
		}
		if cerr := b.ctx.Err(); cerr != nil {
			return n, cerr
		}
		// the body broke (or ended short): resume from the next raw byte
		b.body.Close()
		b.body = nil
		if b.max < 0 || b.fails >= b.max {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("source: %s body broken at raw offset %d after %d resumes: %w", b.obj, b.off, b.resumes, err)
		}
		b.fails++
		b.resumes++
		if n > 0 {
			return n, nil
		}
	}
}

func (b *s3Body) Close() error {
	if b.body != nil {
		err := b.body.Close()
		b.body = nil
		return err
	}
	return nil
}
