package source

import "github.com/flatpipe/flatpipe/internal/enumtext"

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

var formatText = enumtext.Enum[Format]{Type: "Format", Err: ErrOptions, Names: []string{
	NDJSON: "ndjson", Document: "document", Array: "array", Concatenated: "concatenated"}}

// String returns "ndjson", "document", "array" or "concatenated".
func (f Format) String() string { return formatText.String(f) }

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (f Format) MarshalText() ([]byte, error) { return formatText.Marshal(f) }

// UnmarshalText sets f from one of the names String returns; anything else
// is an error wrapping ErrOptions.
func (f *Format) UnmarshalText(text []byte) error { return formatText.Unmarshal(text, f) }

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

var compressionText = enumtext.Enum[Compression]{Type: "Compression", Err: ErrOptions, Names: []string{
	Uncompressed: "none", Gzip: "gzip", Zstd: "zstd"}}

// String returns "none", "gzip" or "zstd".
func (c Compression) String() string { return compressionText.String(c) }

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (c Compression) MarshalText() ([]byte, error) { return compressionText.Marshal(c) }

// UnmarshalText sets c from one of the names String returns; anything else
// is an error wrapping ErrOptions.
func (c *Compression) UnmarshalText(text []byte) error { return compressionText.Unmarshal(text, c) }
