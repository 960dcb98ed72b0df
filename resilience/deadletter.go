package resilience

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// DeadLetter is a record that could not be processed, kept for inspection
// and replay. Provenance is plain values, as every flatpipe package passes it.
type DeadLetter struct {
	// Time is when the record was given up on.
	Time time.Time
	// Object names the source object ("s3://bucket/key", a path).
	Object string
	// Offset is the record's byte offset in the (decompressed) object.
	Offset int64
	// Line is the record's 1-based line number, 0 when unknown.
	Line int64
	// Reason is a short machine-readable cause chosen by the caller
	// ("parse", "schema", "load-rejected", ...).
	Reason string
	// ErrorType is the Go type of the error (see ErrorType).
	ErrorType string
	// Error is the error's message. It is stored as is: errors must not
	// carry secrets (house rule), and invalid UTF-8 in it is replaced.
	Error string
	// Record is the raw record, byte for byte.
	Record []byte
}

// NewDeadLetter fills Reason, ErrorType, Error and Record (not copied) from
// its arguments; the caller adds provenance and Time (or leaves Time zero
// for the sink to set).
func NewDeadLetter(record []byte, reason string, err error) DeadLetter {
	d := DeadLetter{Reason: reason, Record: record}
	if err != nil {
		d.ErrorType, d.Error = ErrorType(err), err.Error()
	}
	return d
}

// ErrorType names the type of err, looking through the anonymous wrappers
// of fmt.Errorf and errors.Join to the first error with a type of its own:
// "*flatten.SyntaxError", "*errors.errorString".
func ErrorType(err error) string {
	for err != nil {
		switch t := reflect.TypeOf(err).String(); t {
		case "*fmt.wrapError":
			err = errors.Unwrap(err)
		case "*fmt.wrapErrors", "*errors.joinError":
			errs := err.(interface{ Unwrap() []error }).Unwrap()
			if len(errs) == 0 {
				return t
			}
			err = errs[0]
		default:
			return t
		}
	}
	return ""
}

// Record encodings in the NDJSON form.
const (
	encodingUTF8   = "utf-8"
	encodingBase64 = "base64"
)

type deadLetterJSON struct {
	Time      time.Time `json:"time"`
	Object    string    `json:"object,omitempty"`
	Offset    int64     `json:"offset"`
	Line      int64     `json:"line,omitempty"`
	Reason    string    `json:"reason"`
	ErrorType string    `json:"error_type,omitempty"`
	Error     string    `json:"error,omitempty"`
	Encoding  string    `json:"record_encoding"`
	Record    string    `json:"record"`
}

// AppendNDJSON appends d as one line of JSON (with the trailing newline) to
// dst. The record is a JSON string when it is valid UTF-8
// ("record_encoding":"utf-8") and standard base64 otherwise
// ("record_encoding":"base64"), so its bytes survive exactly.
func (d DeadLetter) AppendNDJSON(dst []byte) ([]byte, error) {
	j := deadLetterJSON{Time: d.Time.UTC(), Object: d.Object, Offset: d.Offset, Line: d.Line,
		Reason: d.Reason, ErrorType: d.ErrorType, Error: d.Error, Encoding: encodingUTF8}
	if utf8.Valid(d.Record) {
		j.Record = string(d.Record)
	} else {
		j.Encoding, j.Record = encodingBase64, base64.StdEncoding.EncodeToString(d.Record)
	}
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil { // Encode adds the newline
		return dst, fmt.Errorf("resilience: encode dead letter: %w", err)
	}
	return buf.Bytes(), nil
}

// ParseDeadLetter decodes one NDJSON line written by AppendNDJSON.
func ParseDeadLetter(line []byte) (DeadLetter, error) {
	var j deadLetterJSON
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return DeadLetter{}, err
	}
	if dec.More() {
		return DeadLetter{}, errors.New("more than one JSON value on the line")
	}
	d := DeadLetter{Time: j.Time, Object: j.Object, Offset: j.Offset, Line: j.Line,
		Reason: j.Reason, ErrorType: j.ErrorType, Error: j.Error}
	switch j.Encoding {
	case encodingUTF8:
		d.Record = []byte(j.Record)
	case encodingBase64:
		b, err := base64.StdEncoding.DecodeString(j.Record)
		if err != nil {
			return DeadLetter{}, fmt.Errorf("record: %w", err)
		}
		d.Record = b
	default:
		return DeadLetter{}, fmt.Errorf("unknown record_encoding %q", j.Encoding)
	}
	return d, nil
}

// DeadLetterSink receives dead letters. Implementations must be safe for
// concurrent use and must not keep d.Record after Write returns.
type DeadLetterSink interface {
	Write(ctx context.Context, d DeadLetter) error
}

// FileDeadLetterSink appends dead letters as NDJSON lines to a local file,
// one write(2) per entry with O_APPEND, so concurrent writers (also other
// processes) do not interleave lines. Opening a file whose last line was torn
// by a crash ends that line first, so later entries stay readable (see
// DeadLetterReaderOptions.SkipInvalid). It is safe for concurrent use.
type FileDeadLetterSink struct {
	clock Clock
	sync  bool

	mu      sync.Mutex
	f       *os.File
	buf     []byte
	written int64
}

// FileDeadLetterOptions configures a FileDeadLetterSink.
type FileDeadLetterOptions struct {
	// Path of the NDJSON file, created (0o600: records may hold personal
	// data) or appended to.
	Path string
	// Sync makes every Write fsync the file before it returns.
	Sync bool
	// Clock sets Time on entries that have none; nil means SystemClock.
	Clock Clock
}

// NewFileDeadLetterSink opens opts.Path for appending.
func NewFileDeadLetterSink(opts FileDeadLetterOptions) (*FileDeadLetterSink, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("%w: empty dead-letter path", ErrOptions)
	}
	f, err := os.OpenFile(opts.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("resilience: open dead-letter file: %w", err)
	}
	if err := endLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("resilience: open dead-letter file: %w", err)
	}
	return &FileDeadLetterSink{f: f, clock: clockOrSystem(opts.Clock), sync: opts.Sync}, nil
}

// endLine terminates a last line torn by a crash, so that the next entry
// starts on a line of its own and only the torn one is unreadable.
func endLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], fi.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	_, err = f.Write([]byte{'\n'})
	return err
}

// Write appends d.
func (s *FileDeadLetterSink) Write(ctx context.Context, d DeadLetter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Time.IsZero() {
		d.Time = s.clock.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return os.ErrClosed
	}
	var err error
	if s.buf, err = d.AppendNDJSON(s.buf[:0]); err != nil {
		return err
	}
	if _, err := s.f.Write(s.buf); err != nil {
		return fmt.Errorf("resilience: write dead letter: %w", err)
	}
	if cap(s.buf) > 1<<20 {
		s.buf = nil // do not keep a huge record's buffer
	}
	if s.sync {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("resilience: sync dead letters: %w", err)
		}
	}
	s.written++
	return nil
}

// Written returns the number of entries written by this sink.
func (s *FileDeadLetterSink) Written() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// Close syncs and closes the file. Later Writes fail with os.ErrClosed.
func (s *FileDeadLetterSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		return fmt.Errorf("resilience: close dead letters: %w", err)
	}
	return nil
}

// S3DeadLetterOptions configures an S3DeadLetterSink.
type S3DeadLetterOptions struct {
	Client ObjectStore
	Bucket string
	// Prefix of the object keys, e.g. "dead-letters/orders/".
	Prefix string
	// MaxBytes flushes the buffer from Write once it holds this much; 0
	// means 8 MiB.
	MaxBytes int
	// Clock stamps entries and names objects; nil means SystemClock.
	Clock Clock
}

// S3DeadLetterSink buffers dead letters and writes them, on Flush or when
// the buffer is full, as one NDJSON object per flush named
// <Prefix>YYYY/MM/DD/<unix-nanos>-<sink id>-<seq>.ndjson, created with
// If-None-Match: * so no object is ever overwritten. A failed flush puts its
// entries back for the next one. It is safe for concurrent use. The lock is
// held only to swap buffers, never across PutObject: Write buffers while a
// flush uploads, Buffered and Written never wait on S3; only the Write that
// fills the buffer waits for the flush it starts.
type S3DeadLetterSink struct {
	client   ObjectStore
	bucket   string
	prefix   string
	maxBytes int
	clock    Clock
	id       string

	mu            sync.Mutex
	buf           []byte // entries not yet taken by a flush
	entries       int
	spare         []byte // a drained buffer to swap in
	inflight      int    // entries being uploaded
	inflightBytes int
	seq           int64
	written       int64
}

// NewS3DeadLetterSink checks opts and returns a sink.
func NewS3DeadLetterSink(opts S3DeadLetterOptions) (*S3DeadLetterSink, error) {
	if opts.Client == nil || opts.Bucket == "" {
		return nil, fmt.Errorf("%w: S3 dead-letter sink needs a client and a bucket", ErrOptions)
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("%w: negative MaxBytes", ErrOptions)
	}
	var id [6]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &S3DeadLetterSink{client: opts.Client, bucket: opts.Bucket, prefix: opts.Prefix,
		maxBytes: cmp0(opts.MaxBytes, 8<<20), clock: clockOrSystem(opts.Clock), id: hex.EncodeToString(id[:])}, nil
}

// Write buffers d and flushes when the buffer reaches MaxBytes. When that
// flush fails, Write returns its error but d stays buffered for the next
// flush: do not write it again. When 4×MaxBytes are buffered or uploading,
// Write returns ErrSinkFull and drops d.
func (s *S3DeadLetterSink) Write(ctx context.Context, d DeadLetter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Time.IsZero() {
		d.Time = s.clock.Now()
	}
	s.mu.Lock()
	if n := len(s.buf) + s.inflightBytes; n >= 4*s.maxBytes {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d bytes buffered after failed flushes", ErrSinkFull, n)
	}
	var err error
	if s.buf, err = d.AppendNDJSON(s.buf); err != nil {
		s.mu.Unlock()
		return err
	}
	s.entries++
	full := len(s.buf) >= s.maxBytes
	s.mu.Unlock()
	if full {
		return s.Flush(ctx)
	}
	return nil
}

// ErrSinkFull is returned by S3DeadLetterSink.Write, without buffering the
// entry, when failed flushes have left 4×MaxBytes buffered.
var ErrSinkFull = errors.New("resilience: dead-letter buffer full")

// Flush writes the buffered entries, if any, as one object. Entries written
// while it uploads wait for the next flush.
func (s *S3DeadLetterSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.entries == 0 {
		s.mu.Unlock()
		return nil
	}
	batch, n := s.buf, s.entries
	s.buf, s.spare, s.entries = s.spare[:0], nil, 0
	s.inflight += n
	s.inflightBytes += len(batch)
	now := s.clock.Now().UTC()
	key := s.prefix + now.Format("2006/01/02/") + strconv.FormatInt(now.UnixNano(), 10) + "-" + s.id + "-" + strconv.FormatInt(s.seq, 10) + ".ndjson"
	s.seq++
	s.mu.Unlock()

	_, err := s.client.PutObject(ctx, s.bucket, key, batch, PutCondition{IfNoneMatch: "*"})

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight -= n
	s.inflightBytes -= len(batch)
	if err != nil {
		// Put the batch back in front of what was written meanwhile.
		s.buf = append(batch, s.buf...)
		s.entries += n
		return fmt.Errorf("resilience: put dead letters (%d entries kept for the next flush): %w", n, err)
	}
	s.written += int64(n)
	if cap(batch) <= 2*s.maxBytes && s.spare == nil {
		s.spare = batch[:0]
	}
	return nil
}

// Buffered returns the number of entries not yet flushed, including those
// of a flush in progress. It does not wait for a flush.
func (s *S3DeadLetterSink) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries + s.inflight
}

// Written returns the number of entries flushed.
func (s *S3DeadLetterSink) Written() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// DeadLetterFormatError reports a line of a dead-letter file that does not
// parse. Line is 1-based.
type DeadLetterFormatError struct {
	Line int64
	Err  error
}

// Error gives the line number and the cause.
func (e *DeadLetterFormatError) Error() string {
	return "resilience: dead-letter line " + strconv.FormatInt(e.Line, 10) + ": " + errString(e.Err)
}

// Unwrap returns the cause.
func (e *DeadLetterFormatError) Unwrap() error { return e.Err }

// ErrLineTooLong is the cause of a DeadLetterFormatError for a line longer
// than the reader's limit.
var ErrLineTooLong = errors.New("resilience: dead-letter line too long")

// DeadLetterReader reads dead letters back from NDJSON (a file sink's file,
// an S3 sink's object) for replay, in the style of bufio.Scanner:
//
//	for r.Next() { d := r.DeadLetter(); ... }
//	if err := r.Err(); err != nil { ... }
//
// Errors are sticky. Blank lines are skipped. It is not safe for concurrent
// use.
type DeadLetterReader struct {
	r       *bufio.Reader
	max     int
	skip    bool
	skipped int
	line    int64
	buf     []byte
	cur     DeadLetter
	err     error
}

// DeadLetterReaderOptions configures a DeadLetterReader. The zero value
// accepts lines up to 256 MiB and stops at the first invalid line.
type DeadLetterReaderOptions struct {
	// MaxLine is the longest line accepted, in bytes; 0 means 256 MiB.
	MaxLine int
	// SkipInvalid skips lines that do not parse (a line torn by a crash)
	// instead of stopping; Skipped counts them. Read errors and lines over
	// MaxLine still stop the reader.
	SkipInvalid bool
}

// NewDeadLetterReader reads NDJSON dead letters from r.
func NewDeadLetterReader(r io.Reader, opts DeadLetterReaderOptions) *DeadLetterReader {
	if opts.MaxLine <= 0 {
		opts.MaxLine = 256 << 20
	}
	return &DeadLetterReader{r: bufio.NewReaderSize(r, 64<<10), max: opts.MaxLine, skip: opts.SkipInvalid}
}

// Skipped returns the number of invalid lines skipped (with SkipInvalid).
func (r *DeadLetterReader) Skipped() int { return r.skipped }

// Next advances to the next dead letter and reports whether there is one.
func (r *DeadLetterReader) Next() bool {
	for r.err == nil {
		r.buf = r.buf[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = r.r.ReadSlice('\n')
			r.buf = append(r.buf, chunk...)
			if len(r.buf) > r.max+1 {
				r.line++
				r.err = &DeadLetterFormatError{Line: r.line, Err: ErrLineTooLong}
				return false
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			r.err = fmt.Errorf("resilience: read dead letters: %w", err)
			return false
		}
		if len(r.buf) == 0 && err == io.EOF {
			r.err = io.EOF
			return false
		}
		r.line++
		if len(bytes.TrimSpace(r.buf)) == 0 {
			continue
		}
		d, perr := ParseDeadLetter(r.buf)
		if perr != nil && r.skip {
			r.skipped++
			continue
		}
		if perr != nil {
			if err == io.EOF { // a last line without newline: torn by a crash
				perr = fmt.Errorf("%w: %w", io.ErrUnexpectedEOF, perr)
			}
			r.err = &DeadLetterFormatError{Line: r.line, Err: perr}
			return false
		}
		r.cur = d
		return true
	}
	return false
}

// DeadLetter returns the entry Next found. Its Record is its own copy.
func (r *DeadLetterReader) DeadLetter() DeadLetter { return r.cur }

// Err returns the first error other than io.EOF.
func (r *DeadLetterReader) Err() error {
	if r.err == io.EOF {
		return nil
	}
	return r.err
}
