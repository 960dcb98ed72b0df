// Package stagefile writes flattened records to compressed staged files
// (NDJSON, CSV or Parquet) whose column names are a Snowflake table's, for
// COPY INTO, Snowpipe or an external stage. It does not connect to
// Snowflake: package load stages and loads the files it writes (PUT and
// COPY, or S3 for Snowpipe). A program that only writes files (the flatten
// command with -o) imports this package alone, and links neither
// database/sql nor gosnowflake nor the AWS SDK.
//
// # Writers
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
// first rows (WriterOptions.DiscoverRows, default 10,000, at most 4 MiB)
// before opening a file, and the file's columns are every column known by
// then (declared Columns first, then new paths in order of appearance;
// Parquet orders them by name), typed by every value seen. A row that
// brings a column the open file lacks, or a value the file's column type
// cannot hold as encoded (a string in a NUMBER column, a decimal in an
// INT64 column), closes the file; the next file carries the wider header
// or schema and the widened type. Rows of a record lacking a column hold
// NULL there. No column is ever dropped or shifted. File.Schema lists each
// file's columns with the types the writer gave them, for package load to
// create or evolve the table before COPY.
//
// New columns are typed by their values with schema's lattice, VARCHAR
// unsized and NUMBER precisions rounded up to 18 or 38 digits. Parquet
// types: NUMBER(p,0) with p ≤ 18 → INT64; NUMBER(p,s) → DECIMAL(18,s) on
// INT64 or DECIMAL(38,s) on FIXED_LEN_BYTE_ARRAY(16); FLOAT → DOUBLE;
// BOOLEAN → BOOLEAN; VARCHAR → UTF8 strings; VARIANT, OBJECT and ARRAY → the
// JSON logical type; DATE → DATE; TIMESTAMP_NTZ → TIMESTAMP(NANOS,
// isAdjustedToUTC = false) holding the wall clock; TIMESTAMP_LTZ and
// TIMESTAMP_TZ → TIMESTAMP(NANOS, isAdjustedToUTC = true) holding the
// instant (File.FileFormat adds USE_LOGICAL_TYPE = TRUE). When a column's
// type is not known in advance (no Columns), files written before it
// widened keep the narrower encoding: give Columns from a sample or the
// table when one column mixes numbers and strings in CSV or Parquet.
//
// # Dates and timestamps
//
// Columns typed DATE, TIMESTAMP_NTZ, TIMESTAMP_LTZ (schema's Other type
// named TIMESTAMP_LTZ) or TIMESTAMP_TZ in WriterOptions.Columns take strings
// in the forms Snowflake's AUTO detection reads: 2024-01-02,
// 2024-01-02T03:04:05, 2024-01-02 03:04:05.123456789, each optionally
// followed by Z, ±hh, ±hhmm or ±hh:mm, with or without one space before it
// (2024-01-02 03:04:05 +05:00). NDJSON and CSV files keep the text, which
// Snowflake converts. Parquet files hold typed values: a TIMESTAMP_NTZ value
// keeps its wall clock and drops its offset, as Snowflake does with text; a
// TIMESTAMP_LTZ or TIMESTAMP_TZ value keeps its instant, and a zone-less one
// is taken as UTC (from text Snowflake reads it in the session's TIMEZONE:
// write offsets, or load with TIMEZONE = 'UTC', for the same instants);
// TIMESTAMP_TZ loses its offset in Parquet (the column gets the session's),
// so use NDJSON or CSV where offsets matter. TIMESTAMP(NANOS) holds
// 1677-09-22 to 2262-04-10.
//
// A value that is not a time of its column's kind (not a date in a DATE
// column, any other string, a number, or in Parquet a time outside that
// range) is never dropped and never guessed: like any value its column
// type cannot hold, it widens the writer's column to VARCHAR, so the next
// file (or, while rows are held for discovery, the first) holds the column
// as text and says so in File.Schema; package load's Loader then sees the
// mismatch with the table's DATE or TIMESTAMP column before COPY (a
// fallback column or a *load.SchemaMismatchError, as
// load.LoaderOptions.Evolution says).
//
// # Wide objects
//
// A column with schema.Column.Subtree (an object with more than
// schema.InferOptions.MaxObjectKeys keys, kept whole in one VARIANT column) takes
// every field below its path: the writer joins a record's fields below the
// path back into one JSON object (schema.AppendSubtree, WriterOptions.Names'
// Separator splitting the paths), written where the first of them was, so
// no member is dropped and none gets a column of its own. A record whose
// value at the path is not an object (an empty object, a scalar, an array)
// writes that value.
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
// (.ndjson.gz, .csv.zst, .parquet, ...). Names are unique: Parallel's
// workers add their number (…_SHA16_w2.ext), and a writer whose file would
// take a name it already gave (records with equal numbers and content, as
// records all numbered 0 or replayed duplicates make) adds _2, _3, ... The
// same input written with the same options gives the same names, so a
// replayed batch stages files under the names it used before and COPY's
// load metadata refuses to load them twice. Files are written under a
// temporary name in the same directory and renamed when complete.
//
// # Memory and speed
//
// A Writer's memory is bounded: line buffers, the compressor's window
// (klauspost/compress; zstd with one goroutine and a 16 MB history for its
// 8 MB window),
// the rows held for discovery, and for Parquet: the compressed pages of one
// row group (in 4 KiB chunks), flushed when its values reach
// WriterOptions.RowGroupBytes (default 32 MiB); page buffers sized so that
// all columns' together stay within 4 MiB (pages of 4 to 256 KiB), though
// parquet-go's smallest buffers (4 KiB for each of a column's values,
// offsets, rows and levels) make ~24 KiB per column of a wide file; and the
// footer metadata parquet-go keeps until the file closes (no page bounds
// are kept: the column index is written without them), bounded by closing a
// file before it holds more than 8,192 column chunks (row groups × columns;
// with ~700 columns a file then holds 11 row groups). Writing a row
// allocates nothing in steady state (TestWriteAllocs); Parquet allocates
// inside parquet-go when pages and row groups of many sparse columns flush.
// The package sets no process-wide knob (GOGC, memory limit): a program
// that wants a lower peak sets them (the flatten command does). Figures and
// the commands that measure them: load/stagefile/BENCHMARKS.md.
//
// # Concurrency
//
// A Writer and a RowsWriter are not safe for concurrent use. Parallel runs
// one flattener and one Writer per worker; its Add and Close must be called
// from one goroutine. File is a plain value, and so are the option types.
//
// # Errors
//
// Invalid options wrap ErrOptions; a field that cannot be written (an
// unknown kind, a malformed number) wraps ErrValue and rejects only its
// record (Parallel reports it as a *RecordError); I/O errors are sticky.
//
// # Stability
//
// New in this release: the writers moved here from package load, under
// the same names. Names may still change before v1.
package stagefile

import "errors"

// ErrOptions is wrapped by every error about invalid options.
var ErrOptions = errors.New("stagefile: invalid options")
