package source

import (
	"fmt"
	"strconv"
)

// Format says how a byte stream is split into records. It implements
// encoding.TextMarshaler and encoding.TextUnmarshaler with the names String
// returns, so it can be a flag or a configuration field.
type Format int

const (
	// NDJSON is newline-delimited JSON: one record per line. Blank and
	// whitespace-only lines are skipped (but counted); a trailing '\r' is
	// stripped; the final line needs no newline. It is the zero value.
	NDJSON Format = iota
	// Document treats the whole stream as one record. A JSON text holds a
	// value, so an empty or whitespace-only stream is a *SyntaxError.
	Document
	// Array reads a top-level JSON array and returns each element as a record.
	Array
	// Concatenated reads JSON values written back to back, with optional
	// whitespace between them.
	Concatenated
)

var formatNames = [...]string{NDJSON: "ndjson", Document: "document", Array: "array", Concatenated: "concatenated"}

// String returns "ndjson", "document", "array" or "concatenated".
func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (f Format) MarshalText() ([]byte, error) {
	if f < 0 || int(f) >= len(formatNames) {
		return nil, fmt.Errorf("%w: unknown format %d", ErrOptions, int(f))
	}
	return []byte(formatNames[f]), nil
}

// UnmarshalText sets f from one of the names String returns; anything else
// is an error wrapping ErrOptions.
func (f *Format) UnmarshalText(text []byte) error {
	for i, n := range formatNames {
		if string(text) == n {
			*f = Format(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown format %q (want ndjson, document, array or concatenated)", ErrOptions, text)
}

// Compression is the compression detected at the start of a stream. It
// implements encoding.TextMarshaler and encoding.TextUnmarshaler with the
// names String returns.
type Compression int

const (
	// Uncompressed means the stream is read as is.
	Uncompressed Compression = iota
	// Gzip is detected by the magic bytes 1f 8b; multi-member streams are read whole.
	Gzip
	// Zstd is detected by the magic bytes 28 b5 2f fd.
	Zstd
)

var compressionNames = [...]string{Uncompressed: "none", Gzip: "gzip", Zstd: "zstd"}

// String returns "none", "gzip" or "zstd".
func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return "Compression(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (c Compression) MarshalText() ([]byte, error) {
	if c < 0 || int(c) >= len(compressionNames) {
		return nil, fmt.Errorf("%w: unknown compression %d", ErrOptions, int(c))
	}
	return []byte(compressionNames[c]), nil
}

// UnmarshalText sets c from one of the names String returns; anything else
// is an error wrapping ErrOptions.
func (c *Compression) UnmarshalText(text []byte) error {
	for i, n := range compressionNames {
		if string(text) == n {
			*c = Compression(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown compression %q (want none, gzip or zstd)", ErrOptions, text)
}
