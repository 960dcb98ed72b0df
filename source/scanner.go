package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// DefaultMaxRecordSize is the record size limit used when Options.MaxRecordSize is zero.
const DefaultMaxRecordSize = 128 << 20

// MaxZstdWindow is the largest zstd window the scanner accepts; larger windows
// are rejected as a DecompressError, which bounds the decoder's memory.
const MaxZstdWindow = 128 << 20

const (
	initialBufSize = 256 << 10 // first buffer, grown by doubling up to the record limit
	minRead        = 64 << 10  // never issue a read smaller than this
	trimSlack      = 64        // bytes of surrounding whitespace tolerated past the limit while searching
	maxLimit       = 1 << 40   // upper bound accepted for MaxRecordSize
)

// Position locates a point in a decompressed stream.
type Position struct {
	// Offset is the byte offset in the decompressed stream.
	Offset int64
	// Line is the 1-based line number at Offset (0 means 1).
	Line int64
	// Records is the number of records before Offset: the records done
	// when Offset is a resume position.
	Records int64
}

// Options configures a Scanner. The zero value is NDJSON with the default limits.
type Options struct {
	// Format selects the framing. The zero value is NDJSON.
	Format Format
	// MaxRecordSize is the largest record in bytes (after trimming surrounding
	// whitespace). Zero means DefaultMaxRecordSize. Memory use is bounded by
	// about twice the largest record seen, plus 256 KiB.
	MaxRecordSize int
	// Start gives the positions of the stream's first byte when the stream
	// starts inside an object, for example after a Range read at a resume
	// position. Offsets, lines and record numbers count on from it. Only
	// NDJSON and Concatenated streams can be resumed this way.
	Start Position
}

// Scanner splits a possibly compressed stream of JSON into records, in the
// manner of bufio.Scanner. It is not safe for concurrent use. The zero value
// is ready after Reset, with the zero Options (NDJSON, default limits); without
// a reader, Scan fails with ErrNoReader.
type Scanner struct {
	opts  Options
	limit int

	src io.Reader // underlying (raw) reader
	raw rawReader // counts raw bytes and replays the magic-byte prefix
	rd  io.Reader // decompressed stream

	gz *gzip.Reader
	zd *zstd.Decoder

	comp    Compression
	started bool
	eof     bool
	readErr error // error to report once the complete records are delivered
	err     error // sticky
	done    bool

	buf   []byte
	start int   // first unconsumed byte
	end   int   // end of valid data
	scan  int   // NDJSON: bytes before scan hold no newline
	base  int64 // decompressed offset of buf[0]

	line    int64 // line number at buf[counted]
	counted int   // newlines before this index are counted in line

	record int64

	tok     []byte
	tokOff  int64
	tokLine int64
	next    Position

	// value scanner state (Array, Concatenated)
	arr    int // array state
	vIn    bool
	vStart int
	vPos   int
	vDepth int
	vStr   bool
	vKind  int
}

const (
	aOpen  = iota // expect '['
	aFirst        // after '[': an element or ']'
	aAfter        // after an element: ',' or ']'
	aElem         // after ',': an element
	aEnd          // after ']': only whitespace
)

const (
	kContainer = iota + 1
	kString
	kScalar
)

// rawReader wraps the underlying reader, replays the bytes read to detect the
// compression, counts raw bytes and remembers the underlying reader's error so
// that it can be told apart from a decompression error.
type rawReader struct {
	r      io.Reader
	prefix [4]byte
	np, ip int
	n      int64
	err    error
}

func (r *rawReader) Read(p []byte) (int, error) {
	if r.ip < r.np {
		n := copy(p, r.prefix[r.ip:r.np])
		r.ip += n
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err != nil {
		r.err = err
	}
	return n, err
}

// NewScanner returns a Scanner reading records from r as opts say. Invalid
// options are reported here, as an error wrapping ErrOptions, never later by
// Scan. Compression is detected from the first bytes.
func NewScanner(r io.Reader, opts Options) (*Scanner, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	s := &Scanner{opts: opts}
	s.Reset(r)
	return s, nil
}

func (o *Options) check() error {
	if o.Format < NDJSON || o.Format > Concatenated {
		return fmt.Errorf("%w: unknown format %d", ErrOptions, int(o.Format))
	}
	if o.MaxRecordSize < 0 || o.MaxRecordSize > maxLimit {
		return fmt.Errorf("%w: MaxRecordSize %d out of range [0, %d]", ErrOptions, o.MaxRecordSize, int64(maxLimit))
	}
	if o.Start.Offset < 0 || o.Start.Line < 0 || o.Start.Records < 0 {
		return fmt.Errorf("%w: negative start position", ErrOptions)
	}
	return nil
}

// Reset makes s read from r with its options, keeping its buffers and
// decompressors. A zero Scanner after Reset reads NDJSON with the default
// limits, as NewScanner(r, Options{}) does.
func (s *Scanner) Reset(r io.Reader) {
	s.resetAt(r, s.opts.Start)
}

func (s *Scanner) resetAt(r io.Reader, start Position) {
	s.limit = s.opts.MaxRecordSize
	if s.limit == 0 {
		s.limit = DefaultMaxRecordSize
	}
	s.src = r
	s.raw = rawReader{r: r}
	s.rd = nil
	s.comp = Uncompressed
	s.started, s.eof, s.done = false, false, false
	s.readErr, s.err = nil, nil
	s.start, s.end, s.scan = 0, 0, 0
	s.base = start.Offset
	s.line = start.Line
	if s.line == 0 {
		s.line = 1
	}
	s.counted = 0
	s.record = start.Records
	s.tok = nil
	s.tokOff, s.tokLine = 0, 0
	s.next = Position{Offset: s.base, Line: s.line, Records: s.record}
	s.arr = aOpen
	s.vIn = false
}

// Close releases the decompressor's resources and the buffer. It does not
// close the underlying reader. After Close, Scan returns false until Reset.
func (s *Scanner) Close() error {
	s.err = ErrClosed
	s.tok = nil
	if s.zd != nil {
		s.zd.Close()
		s.zd = nil
	}
	s.gz = nil
	s.buf = nil
	return nil
}

// Bytes returns the current record, without surrounding whitespace. The slice
// is valid until the next call to Scan, Reset or Close.
func (s *Scanner) Bytes() []byte { return s.tok }

// Err returns the first error met, or nil if the stream ended cleanly.
func (s *Scanner) Err() error { return s.err }

// Offset returns the decompressed byte offset of the current record's first byte.
func (s *Scanner) Offset() int64 { return s.tokOff }

// Line returns the 1-based line number on which the current record starts.
func (s *Scanner) Line() int64 { return s.tokLine }

// Number returns the 1-based number of the current record in the stream
// (counting on from Options.Start.Records).
func (s *Scanner) Number() int64 { return s.record }

// ResumeAt returns the position just after the current record (after its
// newline for NDJSON), with Records equal to the records done. Before the
// first Scan it is the start position. An NDJSON or Concatenated stream
// restarted at ResumeAt().Offset with Options.Start set to ResumeAt() yields
// the remaining records with the same positions and numbers.
func (s *Scanner) ResumeAt() Position { return s.next }

// Compression returns the compression detected; valid after the first Scan.
func (s *Scanner) Compression() Compression { return s.comp }

// Scan advances to the next record, which Bytes then returns. It returns false
// at the end of the stream or on error; Err tells which.
func (s *Scanner) Scan() bool {
	s.tok = nil
	if s.err != nil || s.done {
		return false
	}
	if !s.started {
		if !s.prime() {
			return false
		}
	}
	var ok bool
	switch s.opts.Format {
	case NDJSON:
		ok = s.scanNDJSON()
	case Document:
		ok = s.scanDocument()
	default:
		ok = s.scanValues()
	}
	if !ok {
		s.done = true
		s.tok = nil
	}
	return ok
}

// prime detects the compression, opens the decompressor and skips a UTF-8
// byte order mark.
func (s *Scanner) prime() bool {
	s.started = true
	if s.src == nil {
		s.err = ErrNoReader
		return false
	}
	s.raw.readMagic()
	if !s.openDecompressor(s.raw.prefix[:s.raw.np]) {
		return false
	}
	if s.buf == nil {
		n := initialBufSize
		if s.limit+trimSlack < n {
			n = max(s.limit+trimSlack, minRead)
		}
		s.buf = make([]byte, n)
	}
	if s.base == 0 {
		for s.end < 3 && !s.eof {
			if !s.fill() {
				break
			}
		}
		if s.end >= 3 && s.buf[0] == 0xef && s.buf[1] == 0xbb && s.buf[2] == 0xbf {
			s.start, s.scan, s.counted = 3, 3, 3
		}
	}
	return true
}

// readMagic reads up to 4 bytes into r.prefix, to be replayed, and keeps
// the reader's error (io.EOF included) for later.
func (r *rawReader) readMagic() {
	var err error
	for r.np < 4 && err == nil {
		var n int
		n, err = r.r.Read(r.prefix[r.np:4])
		r.np += n
		r.n += int64(n)
		if n == 0 && err == nil {
			// tolerate a few empty reads, as bufio does
			for i := 0; i < 100 && n == 0 && err == nil; i++ {
				n, err = r.r.Read(r.prefix[r.np:4])
				r.np += n
				r.n += int64(n)
			}
			if n == 0 && err == nil {
				err = io.ErrNoProgress
			}
		}
	}
	if err != nil {
		r.err = err
	}
}

// openDecompressor sets s.comp and s.rd from the magic bytes p, reusing
// the Scanner's gzip and zstd readers.
func (s *Scanner) openDecompressor(p []byte) bool {
	r := &s.raw
	switch {
	case len(p) >= 2 && p[0] == 0x1f && p[1] == 0x8b:
		s.comp = Gzip
		if s.gz == nil {
			gz, err := gzip.NewReader(r)
			if err != nil {
				s.setDecompErr(err)
				return false
			}
			s.gz = gz
		} else if err := s.gz.Reset(r); err != nil {
			s.setDecompErr(err)
			return false
		}
		s.gz.Multistream(true)
		s.rd = s.gz
	case len(p) == 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd:
		s.comp = Zstd
		if s.zd == nil {
			zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxZstdWindow))
			if err != nil {
				s.setDecompErr(err)
				return false
			}
			s.zd = zd
		}
		if err := s.zd.Reset(r); err != nil {
			s.setDecompErr(err)
			return false
		}
		s.rd = s.zd
	default:
		s.comp = Uncompressed
		s.rd = r
	}
	return true
}

func (s *Scanner) setDecompErr(err error) {
	if s.raw.err != nil && s.raw.err != io.EOF && errors.Is(err, s.raw.err) {
		s.err = &ReadError{Offset: s.base + int64(s.end), RawOffset: s.raw.n, Err: s.raw.err}
		return
	}
	if err == io.EOF && s.raw.n == 0 {
		// an empty stream cannot be gzip; unreachable in practice
		err = io.ErrUnexpectedEOF
	}
	s.err = &DecompressError{Compression: s.comp, Offset: s.base + int64(s.end), RawOffset: s.raw.n, Err: err}
}

// fill reads more data into the buffer. It returns false if nothing was added
// (end of stream or error, recorded in eof/readErr).
func (s *Scanner) fill() bool {
	if s.eof {
		return false
	}
	if len(s.buf)-s.end < minRead {
		if s.start > 0 {
			s.lines(s.start)
			n := copy(s.buf, s.buf[s.start:s.end])
			d := s.start
			s.base += int64(d)
			s.end = n
			s.scan = max(s.scan-d, 0)
			s.counted -= d
			if s.vIn {
				s.vStart -= d
				s.vPos -= d
			}
			s.start = 0
		}
		if len(s.buf)-s.end < minRead {
			n := 2 * len(s.buf)
			if c := s.limit + trimSlack + minRead; n > c {
				n = c
			}
			if n < s.end+minRead {
				n = s.end + minRead
			}
			nb := make([]byte, n)
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
	}
	for i := 0; i < 100; i++ {
		n, err := s.rd.Read(s.buf[s.end:])
		if n < 0 || n > len(s.buf)-s.end {
			n = 0
			err = errors.New("source: reader returned an invalid count")
		}
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.readErr = s.wrapReadErr(err)
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof = true
	s.readErr = s.wrapReadErr(io.ErrNoProgress)
	return false
}

func (s *Scanner) wrapReadErr(err error) error {
	off := s.base + int64(s.end)
	if s.comp == Uncompressed || (s.raw.err != nil && s.raw.err != io.EOF && errors.Is(err, s.raw.err)) {
		return &ReadError{Offset: off, RawOffset: s.raw.n, Err: err}
	}
	return &DecompressError{Compression: s.comp, Offset: off, RawOffset: s.raw.n, Err: err}
}

// lines brings the line count up to buffer index p.
func (s *Scanner) lines(p int) {
	if p > s.counted {
		s.line += int64(bytes.Count(s.buf[s.counted:p], []byte{'\n'}))
		s.counted = p
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// emit makes buf[rs:re] the current record and consumes input up to next.
// ndjson says that buf[next-1] is the only newline between rs and next.
func (s *Scanner) emit(rs, re int, next int, ndjson bool) bool {
	if re-rs > s.limit {
		s.lines(rs)
		s.err = &RecordTooLargeError{Offset: s.base + int64(rs), Line: s.line, Number: s.record + 1, Limit: s.limit}
		return false
	}
	s.lines(rs)
	s.tok = s.buf[rs:re:re]
	s.tokOff = s.base + int64(rs)
	s.tokLine = s.line
	s.record++
	if ndjson {
		s.line++
		s.counted = next
	} else {
		s.lines(next)
	}
	s.start = next
	if s.scan < next {
		s.scan = next
	}
	s.next = Position{Offset: s.base + int64(next), Line: s.line, Records: s.record}
	return true
}

func (s *Scanner) tooLarge(rs int) bool {
	for rs < s.end && isSpace(s.buf[rs]) {
		rs++
	}
	s.lines(rs)
	s.err = &RecordTooLargeError{Offset: s.base + int64(rs), Line: s.line, Number: s.record + 1, Limit: s.limit}
	return false
}

func (s *Scanner) finish() bool {
	if s.readErr != nil {
		s.err = s.readErr
	}
	return false
}

func (s *Scanner) scanNDJSON() bool {
	for {
		i := bytes.IndexByte(s.buf[s.scan:s.end], '\n')
		if i >= 0 {
			e := s.scan + i
			rs, re := trimSpace(s.buf, s.start, e)
			if rs == re {
				s.start = e + 1
				s.scan = s.start
				s.line++
				s.counted = s.start
				continue
			}
			return s.emit(rs, re, e+1, true)
		}
		s.scan = s.end
		if s.eof {
			if s.readErr != nil {
				return s.finish()
			}
			rs, re := trimSpace(s.buf, s.start, s.end)
			if rs == re {
				s.lines(s.end)
				s.start = s.end
				return false
			}
			return s.emit(rs, re, s.end, false)
		}
		if s.end-s.start > s.limit+trimSlack {
			return s.tooLarge(s.start)
		}
		s.fill()
	}
}

func (s *Scanner) scanDocument() bool {
	for !s.eof {
		if s.end-s.start > s.limit+trimSlack {
			return s.tooLarge(s.start)
		}
		s.fill()
	}
	if s.readErr != nil {
		return s.finish()
	}
	rs, re := trimSpace(s.buf, s.start, s.end)
	if rs == re {
		// A JSON text holds a value: an empty stream is not a document.
		return s.syntax(re, "empty document")
	}
	s.done = true // the one record; the next Scan returns false
	return s.emit(rs, re, s.end, false)
}

// trimSpace returns the bounds of buf[start:end] without its leading and
// trailing whitespace.
func trimSpace(buf []byte, start, end int) (int, int) {
	for start < end && isSpace(buf[start]) {
		start++
	}
	for end > start && isSpace(buf[end-1]) {
		end--
	}
	return start, end
}

func (s *Scanner) syntax(p int, msg string) bool {
	s.lines(p)
	s.err = &SyntaxError{Offset: s.base + int64(p), Line: s.line, Msg: msg}
	return false
}

// skipSpace advances start over whitespace, reading more as needed. It
// returns false at the end of the stream (or on a read error).
func (s *Scanner) skipSpace() bool {
	for {
		for s.start < s.end {
			if !isSpace(s.buf[s.start]) {
				return true
			}
			s.start++
		}
		if s.eof {
			return false
		}
		s.fill()
	}
}

// scanValues splits the Array and Concatenated formats: whitespace and the
// array's punctuation between values, then each value, which may span
// several reads.
func (s *Scanner) scanValues() bool {
	for {
		if !s.vIn {
			if !s.skipSpace() {
				return s.valuesEnd()
			}
			c := s.buf[s.start]
			if s.opts.Format == Array {
				consumed, ok := s.arrayPunct(c)
				if !ok {
					return false
				}
				if consumed {
					continue
				}
			}
			if !s.startValue(c) {
				return false
			}
		}
		end, ok := s.valueEnd()
		if ok {
			s.vIn = false
			if s.opts.Format == Array {
				s.arr = aAfter
			}
			return s.emit(s.vStart, end, end, false)
		}
		if s.eof {
			return s.valueCut()
		}
		if s.end-s.vStart > s.limit {
			return s.tooLarge(s.vStart)
		}
		s.fill()
	}
}

// valuesEnd is scanValues at the end of the stream between values.
func (s *Scanner) valuesEnd() bool {
	if s.readErr != nil {
		return s.finish()
	}
	if s.opts.Format == Array && s.arr != aEnd && s.arr != aOpen {
		return s.syntax(s.end, "unterminated array")
	}
	s.lines(s.end)
	return false
}

// arrayPunct reads c, at s.start between the Array format's values: the
// opening '[', a ',' or the closing ']'. It reports whether it consumed c,
// and false for ok after a syntax error. When c is neither consumed nor an
// error, a value starts at c.
func (s *Scanner) arrayPunct(c byte) (consumed, ok bool) {
	switch s.arr {
	case aOpen:
		if c != '[' {
			return false, s.syntax(s.start, fmt.Sprintf("expected '[' at the start of an array, found %q", c))
		}
		s.arr = aFirst
	case aFirst:
		if c != ']' {
			return false, true
		}
		s.arr = aEnd
	case aAfter:
		switch c {
		case ',':
			s.arr = aElem
		case ']':
			s.arr = aEnd
		default:
			return false, s.syntax(s.start, fmt.Sprintf("expected ',' or ']' after an array element, found %q", c))
		}
	case aEnd:
		return false, s.syntax(s.start, fmt.Sprintf("unexpected %q after the top-level array", c))
	default: // aElem: a value must start here
		return false, true
	}
	s.start++
	return true, true
}

// startValue starts the value whose first byte, c, is at s.start; it
// returns false after a syntax error.
func (s *Scanner) startValue(c byte) bool {
	switch c {
	case ']', '}', ',', ':':
		return s.syntax(s.start, fmt.Sprintf("unexpected %q where a value should start", c))
	case '{', '[':
		s.vKind = kContainer
	case '"':
		s.vKind = kString
	default:
		s.vKind = kScalar
	}
	s.vIn = true
	s.vStart = s.start
	s.vPos = s.start
	s.vDepth = 0
	s.vStr = false
	return true
}

// valueCut is scanValues when the stream ends inside a value: a scalar
// (a number, a literal) ends with the stream, anything else is cut short.
func (s *Scanner) valueCut() bool {
	if s.readErr != nil {
		return s.finish()
	}
	if s.vKind == kScalar {
		s.vIn = false
		if s.opts.Format == Array {
			return s.syntax(s.end, "unterminated array")
		}
		return s.emit(s.vStart, s.end, s.end, false)
	}
	if s.vStr {
		return s.syntax(s.vStart, "unterminated string")
	}
	return s.syntax(s.vStart, "unterminated value")
}

// valueEnd continues scanning the value that starts at vStart. It returns the
// index just past the value and true, or false if more data is needed.
func (s *Scanner) valueEnd() (int, bool) {
	b := s.buf[:s.end]
	i := s.vPos
	if s.vKind == kScalar {
		for ; i < len(b); i++ {
			switch b[i] {
			case ' ', '\t', '\n', '\r', ',', ']', '}', '[', '{', '"', ':':
				s.vPos = i
				return i, true
			}
		}
		s.vPos = i
		return 0, false
	}
	for i < len(b) {
		if s.vStr {
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				s.vPos = len(b)
				return 0, false
			}
			q := i + j
			n := 0
			for k := q - 1; k > s.vStart && b[k] == '\\'; k-- {
				n++
			}
			i = q + 1
			if n%2 == 1 {
				continue
			}
			s.vStr = false
			if s.vDepth == 0 {
				s.vPos = i
				return i, true
			}
			continue
		}
		switch b[i] {
		case '"':
			s.vStr = true
		case '{', '[':
			s.vDepth++
		case '}', ']':
			s.vDepth--
			if s.vDepth == 0 {
				s.vPos = i + 1
				return i + 1, true
			}
		}
		i++
	}
	s.vPos = i
	return 0, false
}
