package source

import (
	"errors"
	"fmt"
)

// Sentinels. Every error of this package is one of them or a typed error
// that unwraps to one of them (and to its cause, if any), so errors.Is
// tells the kind and errors.As the details.
var (
	// ErrOptions is wrapped by every error about invalid Options,
	// ReaderOptions or enum text.
	ErrOptions = errors.New("source: invalid options")
	// ErrRecordTooLarge is wrapped by every *RecordTooLargeError.
	ErrRecordTooLarge = errors.New("source: record too large")
	// ErrSyntax is wrapped by every *SyntaxError.
	ErrSyntax = errors.New("source: cannot frame records")
	// ErrDecompress is wrapped by every *DecompressError.
	ErrDecompress = errors.New("source: corrupt compressed stream")
	// ErrRead is wrapped by every *ReadError.
	ErrRead = errors.New("source: read failed")
	// ErrClosed is returned by Err after Close.
	ErrClosed = errors.New("source: scanner closed")
	// ErrNoReader is returned by Err when a Scanner has no reader: a zero
	// Scanner that was never Reset, or Reset(nil).
	ErrNoReader = errors.New("source: scanner has no reader (use NewScanner or Reset)")
)

// RecordTooLargeError reports a record longer than the scanner's MaxRecordSize.
// Offset and Line locate the record's first byte in the decompressed stream;
// Number is the 1-based number the record would have had.
type RecordTooLargeError struct {
	Offset int64
	Line   int64
	Number int64
	Limit  int
}

func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("source: record %d at offset %d (line %d) exceeds the %d-byte limit",
		e.Number, e.Offset, e.Line, e.Limit)
}

// Unwrap returns ErrRecordTooLarge.
func (e *RecordTooLargeError) Unwrap() error { return ErrRecordTooLarge }

// SyntaxError reports that the stream cannot be split into records in the
// scanner's format, for example an unterminated array or string. Offset and
// Line locate the problem in the decompressed stream.
type SyntaxError struct {
	Offset int64
	Line   int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("source: syntax error at offset %d (line %d): %s", e.Offset, e.Line, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// DecompressError reports a corrupt or truncated compressed stream. Offset is
// the number of decompressed bytes produced before the failure, RawOffset the
// number of compressed bytes read from the underlying reader.
type DecompressError struct {
	Compression Compression
	Offset      int64
	RawOffset   int64
	Err         error
}

func (e *DecompressError) Error() string {
	return fmt.Sprintf("source: %s stream broken at decompressed offset %d (compressed offset %d): %v",
		e.Compression, e.Offset, e.RawOffset, e.Err)
}

// Unwrap returns ErrDecompress and the decompressor's error.
func (e *DecompressError) Unwrap() []error { return []error{ErrDecompress, e.Err} }

// ReadError reports an error returned by the underlying reader. Offset is the
// decompressed offset reached, RawOffset the number of raw bytes read.
type ReadError struct {
	Offset    int64
	RawOffset int64
	Err       error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("source: read failed at offset %d (raw offset %d): %v", e.Offset, e.RawOffset, e.Err)
}

// Unwrap returns ErrRead and the underlying reader's error.
func (e *ReadError) Unwrap() []error { return []error{ErrRead, e.Err} }
