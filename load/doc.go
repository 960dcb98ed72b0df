// Package load turns flattened records into rows of a Snowflake table: it
// writes them to compressed staged files (NDJSON, CSV or Parquet) whose
// column names are the table's, and loads those files with PUT and
// COPY INTO through github.com/snowflakedb/gosnowflake.
//
// This package is under construction; its API is not yet stable.
//
// # Staged files
//
// A Writer takes the fields of one record at a time (flatten's Append) and
// writes rows of one table to files in a directory; Parallel does the same
// with several workers from one stream of raw records. Each finished file
// is described by a File, which states the FILE_FORMAT and copy options
// that load it (File.FileFormat, File.CopyOptions).
//
// Column names are the table's: a field whose path is the Path of one of
// WriterOptions.Columns (an inferred schema.Table, or the existing table's
// columns with their paths) goes to that column; any other path gets a new
// column named by a schema.Namer with WriterOptions.Names (the DDL's
// naming), so COPY … MATCH_BY_COLUMN_NAME = CASE_SENSITIVE maps every file
// column to its table column. Values are written so that they load exactly:
// number literals verbatim (JSON numbers in NDJSON, text in CSV, INT64 or
// DECIMAL in Parquet, and JSON strings into text columns so Snowflake keeps
// their text), JSON null apart from a missing key and from "" (see
// File.FileFormat for CSV), kept arrays and objects as JSON.
//
// # How a file's columns are chosen
//
// NDJSON: each line holds the keys of its record, so a file's columns
// (File.Columns) are those its rows used, in order of first use; a key
// that appears or disappears mid-stream changes nothing.
//
// CSV and Parquet have one header or schema per file. A writer holds its
// first rows (WriterOptions.DiscoverRows, default 10,000, at most 8 MiB)
// before opening a file, and the file's columns are every column known by
// then (declared Columns first, then new paths in order of appearance;
// Parquet orders them by name), typed by every value seen. A row that
// brings a column the open file lacks, or a value the file's column type
// cannot hold as encoded (a string in a NUMBER column, a decimal in an
// INT64 column), closes the file; the next file carries the wider header
// or schema and the widened type. Rows of a record lacking a column hold
// NULL there. No column is ever dropped or shifted. File.Schema lists each
// file's columns with the types the writer gave them, for the loader to
// create or evolve the table before COPY.
//
// New columns are typed by their values with schema's lattice, VARCHAR
// unsized and NUMBER precisions rounded up to 18 or 38 digits. Parquet
// types: NUMBER(p,0) with p ≤ 18 → INT64; NUMBER(p,s) → DECIMAL(18,s) on
// INT64 or DECIMAL(38,s) on FIXED_LEN_BYTE_ARRAY(16); FLOAT → DOUBLE;
// BOOLEAN → BOOLEAN; VARCHAR, DATE and TIMESTAMP_* → UTF8 strings (their
// text, which Snowflake converts); VARIANT, OBJECT and ARRAY → the JSON
// logical type. When a column's type is not known in advance (no Columns),
// files written before it widened keep the narrower encoding: give Columns
// from a sample or the table when one column mixes numbers and strings in
// CSV or Parquet.
//
// # Names and rotation
//
// A file is closed when its stored size reaches WriterOptions.FileSize
// (default DefaultFileSize, 128 MiB, inside Snowflake's advised 100–250 MB)
// or its row count MaxRows, and when the source changes (Writer.SetSource).
// Its name is deterministic:
//
//	TABLE_SOURCE-h8_FIRST-LAST_SHA16.ext
//
// with the table, the source's base name and 8 hex digits of a hash of the
// whole source identity, the first and last record numbers, 16 hex digits
// of the SHA-256 of the file's bytes (File.SHA256), and the extension
// (.ndjson.gz, .csv.zst, .parquet, ...). The same input written with the
// same options gives the same names, so a replayed batch stages files
// under the names it used before and COPY's load metadata refuses to load
// them twice. Files are written under a temporary name in the same
// directory and renamed when complete.
//
// # Memory and speed
//
// A Writer's memory is bounded: line buffers, the compressor's window
// (klauspost/compress; zstd with one goroutine and its lower-memory mode),
// the rows held for discovery, and for Parquet one row group, flushed when
// its values reach WriterOptions.RowGroupBytes (default 16 MiB). Writing a
// row allocates nothing in steady state for NDJSON and CSV (Parquet: less
// than 0.1 allocation per row, from parquet-go's pages); see
// TestWriteAllocs and BENCHMARKS.md.
//
// # Concurrency
//
// A Writer is not safe for concurrent use. Parallel runs one flattener and
// one Writer per worker; its Add and Close must be called from one
// goroutine. File is a plain value.
//
// # Errors
//
// Invalid options wrap ErrOptions; a field that cannot be written (an
// unknown kind, a malformed number) wraps ErrValue and rejects only its
// record; I/O errors are sticky.
package load

import "errors"

// ErrOptions is wrapped by every error about invalid options.
var ErrOptions = errors.New("load: invalid options")
