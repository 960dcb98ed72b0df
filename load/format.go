package load

import "fmt"

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

var formatNames = [...]string{NDJSON: "ndjson", CSV: "csv", Parquet: "parquet"}

// String returns the format's name.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// MarshalText implements encoding.TextMarshaler.
func (f Format) MarshalText() ([]byte, error) {
	if int(f) >= len(formatNames) {
		return nil, fmt.Errorf("%w: unknown format %d", ErrOptions, uint8(f))
	}
	return []byte(formatNames[f]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Format) UnmarshalText(b []byte) error {
	for i, n := range formatNames {
		if string(b) == n {
			*f = Format(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown format %q (want ndjson, csv or parquet)", ErrOptions, b)
}

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

var compressionNames = [...]string{Gzip: "gzip", Zstd: "zstd", Uncompressed: "none"}

// String returns the compression's name.
func (c Compression) String() string {
	if int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// MarshalText implements encoding.TextMarshaler.
func (c Compression) MarshalText() ([]byte, error) {
	if int(c) >= len(compressionNames) {
		return nil, fmt.Errorf("%w: unknown compression %d", ErrOptions, uint8(c))
	}
	return []byte(compressionNames[c]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Compression) UnmarshalText(b []byte) error {
	for i, n := range compressionNames {
		if string(b) == n {
			*c = Compression(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown compression %q (want gzip, zstd or none)", ErrOptions, b)
}
