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
// first rows (WriterOptions.DiscoverRows, default 10,000, at most 4 MiB)
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
// as text and says so in File.Schema; the loader then sees the mismatch
// with the table's DATE or TIMESTAMP column before COPY (a fallback column
// or a *SchemaMismatchError, as LoaderOptions.Evolution says).
//
// # Wide objects
//
// A column with schema.Column.Subtree (an object with more than
// InferOptions.MaxObjectKeys keys, kept whole in one VARIANT column) takes
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
// (klauspost/compress; zstd with one goroutine and its lower-memory mode),
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
// the commands that measure them: load/BENCHMARKS.md.
//
// # Connecting
//
// Config holds what Snowflake's tools take (account, user, password or a
// PKCS#8 key-pair key from a file or a value, encrypted or not, role,
// warehouse, database, schema, query tag, login timeout) plus Host, Port and
// Protocol to reach the emulator (load/snowflaketest). ConfigFromEnv fills it
// from SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD,
// SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_PRIVATE_KEY,
// SNOWFLAKE_PRIVATE_KEY_PASSPHRASE, SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE,
// SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, SNOWFLAKE_HOST, SNOWFLAKE_PORT and
// SNOWFLAKE_PROTOCOL; Config.OpenDB returns a *sql.DB through gosnowflake,
// with the session kept alive (sessions otherwise expire after 4 idle
// hours). No secret appears in Config.String or in any error.
//
// # Loading
//
// A Loader loads Files into one table through a DB (*sql.DB, *sql.Conn or
// *sql.Tx over gosnowflake):
//
//	l, err := load.NewLoader(db, load.LoaderOptions{Table: "events"})
//	res, err := l.Load(ctx, inferred, files) // a result per file
//
// The whole flow, from nested JSON to rows of a table, runs as Example_loader
// in load/snowflaketest/loadtest, against the emulator (a module of its own,
// as the emulator links DuckDB).
//
// Before COPY the table exists with the batch's columns: DESC TABLE, then
// schema.PlanChanges under LoaderOptions.Evolution, then CREATE TABLE IF NOT EXISTS
// IF NOT EXISTS or ALTER TABLE … ADD COLUMN IF NOT EXISTS / SET DATA TYPE.
// The table is then read back and planned again, so two loaders evolving one
// table both succeed with the union of their columns, and a column another
// loader added with another type gets its fallback column; files whose
// columns the table cannot take fail with a *SchemaMismatchError before
// COPY (Loader.Prepare returns the plan to write files against). Column
// comments hold each column's path; a fallback column's comment adds which
// column and type it stands in for and why, for whoever reads DESC TABLE.
// New VARCHAR columns are unsized unless LoaderOptions.SizedVarchar. An unquoted
// LoaderOptions.Table is normalised like a column name ("events" → EVENTS, the
// table an unquoted SELECT finds); a quoted one is kept as written.
//
// Files are staged on the table stage (default), a named internal stage
// (created if Stage.Create, temporary if Stage.Temporary) with PUT of the
// local files (never the driver's stream PUT), LoaderOptions.Parallel at once, or
// on an external S3 stage by an S3Sink with the AWS SDK. They are loaded by
// COPY INTO … FILES = (…) (at most 1,000 per statement) with each file's
// FILE_FORMAT and copy options, LoaderOptions.OnError and PURGE. The COPY runs as
// a query and its rows become a FileResult per file (status, rows parsed
// and loaded, errors seen, first error with line, character and column);
// RowsAffected is never used.
//
// Nothing is silent: a file whose loaded rows differ from File.Rows fails
// the load with a *FileError, unless LoaderOptions.AcceptPartial lets a
// PARTIALLY_LOADED file through after its rejected rows (VALIDATE(…,
// JOB_ID => …)) went to LoaderOptions.DeadLetter and add up. A COPY that fails as
// a whole (ON_ERROR = ABORT_STATEMENT) is a *CopyError.
//
// # Exactly once
//
// Files have deterministic names, and COPY's load metadata skips a file
// (stage path and content) already loaded into the table, so a rerun of a
// load after a crash loads only what did not load. Snowflake reports a
// skipped file by leaving it out of COPY's result ("0 files processed" when
// all are), so the Loader keeps a ledger table (LoaderOptions.Ledger,
// default FLATPIPE_LOADS: table, file name, SHA-256, rows, status, the query
// tags of the COPYs that may load the file) written before each COPY
// ('STAGED') and after its result is checked ('LOADED', 'ACCEPTED' for a
// partial load whose rejected rows reached the dead-letter sink, or
// 'PARTIAL'). A skipped file counts as loaded when the ledger held its name
// with its SHA-256 before the load (a crash after COPY), or did not hold
// the name at all (a COPY of this load whose answer was lost and which the
// driver retried); it fails with ErrNotOurs when the ledger holds the name
// with other content (the skip may be that content's), and with a
// *FileError when that load was partial and not accepted. Under an ON_ERROR
// that loads files in part (CONTINUE, SKIP_FILE_n), a COPY whose answer was
// lost may have rejected rows: the Loader finds that COPY by its query tag
// (QUERY_HISTORY_BY_USER), reads its result (RESULT_SCAN) and its rejected
// rows (VALIDATE), so a crash between COPY and the ledger loses no dead
// letter. Dead letters are delivered at least once (see RejectedRow: twice
// under Append only when the load stops after the sink took a file's rows
// and before the ledger recorded it), a repeat with the same
// RejectedRow.Key.
// Replace and Merge load into a table rebuilt on
// every attempt (COPY with FORCE), then SWAP it in or MERGE it, so a rerun
// is just as safe. The end-to-end tests kill a loading process with
// SIGKILL after PUT, during COPY and before the caller's checkpoint, rerun
// it, and find every record once.
//
// # Dispositions
//
// Append (default) adds rows. Replace loads into a new table and swaps it
// with the target (ALTER TABLE … SWAP WITH). Merge loads into a transient
// table and MERGEs it into the target by LoaderOptions.MergeKeys: rows of one key
// are ranked by LoaderOptions.MergeOrder (greatest wins; without it duplicates
// fail with ErrDuplicateKey), and a TRUE in LoaderOptions.MergeDelete deletes.
//
// # Snowpipe
//
// S3Sink writes files to an S3 prefix (deterministic keys, SHA-256
// checksums, multipart uploads, no upload of what is already there) for
// Snowpipe auto-ingest or an external stage. Snowpipe is a client of the
// Snowpipe REST API (insertFiles, insertReport, loadHistoryScan) with
// key-pair JWTs, a request id per call and backoff on 429; WaitLoaded
// reports per file what Snowpipe did. SnowpipeOptions.BaseURL reaches the
// emulator.
//
// # Retries and hooks
//
// ErrorClassifier tells which errors are worth another attempt, which mean
// throttling and which a dead session; resilience's retry takes it. The
// package does not import resilience: LoaderOptions.Retry (a Retrier),
// LoaderOptions.Progress and LoaderOptions.DeadLetter are small interfaces. The driver
// itself retries HTTP 5xx, 429 and 408 and renews expired session tokens.
// On a *sql.DB each statement runs on a connection of its own; a session
// gone for good (390114, 390111, 390115) makes the Loader drop that
// connection from the pool, which the driver does not do, and send the
// statement again on another one (StepSession).
//
// # Concurrency
//
// A Writer is not safe for concurrent use. Parallel runs one flattener and
// one Writer per worker; its Add and Close must be called from one
// goroutine. File is a plain value. Loader, S3Sink (with a safe client),
// Snowpipe and ErrorClassifier are safe for concurrent use; Config and the
// option types are plain values.
//
// # Errors
//
// Invalid options wrap ErrOptions; a field that cannot be written (an
// unknown kind, a malformed number) wraps ErrValue and rejects only its
// record; I/O errors are sticky. A Config's problems are a *ConfigError
// (ErrConfig), listing every one; a key that its passphrase does not open is
// ErrPassphrase, any other unusable key ErrPrivateKey. Loading fails with
// *FileError (ErrIncomplete), *CopyError (ErrCopy and the driver's
// *gosnowflake.SnowflakeError), *SchemaMismatchError (ErrSchemaMismatch),
// ErrNotOurs, ErrDuplicateKey, or ErrStatement wrapping the driver's error
// of another statement; Snowpipe with *SnowpipeError (ErrSnowpipe) or
// *PipeLoadError (ErrIncomplete). ErrorClassifier reads all of them.
package load

import "errors"

// ErrOptions is wrapped by every error about invalid options.
var ErrOptions = errors.New("load: invalid options")
