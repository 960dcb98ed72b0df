package source

import (
	"errors"
	"fmt"
)

// ErrRecordTooLarge is matched (with errors.Is) by every *RecordTooLargeError.
var ErrRecordTooLarge = errors.New("source: record too large")

// ErrSyntax is matched (with errors.Is) by every *SyntaxError.
var ErrSyntax = errors.New("source: cannot frame records")

// RecordTooLargeError reports a record longer than the scanner's MaxRecordSize.
// Offset and Line locate the record's first byte in the decompressed stream;
// Record is the 1-based number the record would have had.
type RecordTooLargeError struct {
	Offset int64
	Line   int64
	Record int64
	Limit  int
}

func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("source: record %d at offset %d (line %d) exceeds the %d-byte limit",
		e.Record, e.Offset, e.Line, e.Limit)
}

// Is reports whether target is ErrRecordTooLarge.
func (e *RecordTooLargeError) Is(target error) bool { return target == ErrRecordTooLarge }

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

// Is reports whether target is ErrSyntax.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

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

// Unwrap returns the decompressor's error.
func (e *DecompressError) Unwrap() error { return e.Err }

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

// Unwrap returns the underlying reader's error.
func (e *ReadError) Unwrap() error { return e.Err }
