package load

import "github.com/flatpipe/flatpipe/internal/enumtext"

// Format is a staged file's encoding. Its text form (String, MarshalText,
// UnmarshalText) is the lower-case name: "ndjson", "csv", "parquet".
type Format uint8

const (
	// NDJSON is one flat JSON object per line (the default).
	NDJSON Format = iota
	// CSV is RFC 4180 CSV with a header row.
	CSV
	// Parquet is Apache Parquet with typed columns.
	Parquet
)

var formatText = enumtext.Enum[Format]{Type: "Format", Err: ErrOptions, Names: []string{
	NDJSON: "ndjson", CSV: "csv", Parquet: "parquet"}}

// String returns the format's name.
func (f Format) String() string { return formatText.String(f) }

// MarshalText implements encoding.TextMarshaler.
func (f Format) MarshalText() ([]byte, error) { return formatText.Marshal(f) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Format) UnmarshalText(b []byte) error { return formatText.Unmarshal(b, f) }

// Compression is a staged file's compression. Its text form is "gzip",
// "zstd" or "none".
type Compression uint8

const (
	// Gzip is gzip (the default).
	Gzip Compression = iota
	// Zstd is Zstandard.
	Zstd
	// Uncompressed stores the file as is.
	Uncompressed
)

var compressionText = enumtext.Enum[Compression]{Type: "Compression", Err: ErrOptions, Names: []string{
	Gzip: "gzip", Zstd: "zstd", Uncompressed: "none"}}

// String returns the compression's name.
func (c Compression) String() string { return compressionText.String(c) }

// MarshalText implements encoding.TextMarshaler.
func (c Compression) MarshalText() ([]byte, error) { return compressionText.Marshal(c) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Compression) UnmarshalText(b []byte) error { return compressionText.Unmarshal(b, c) }
