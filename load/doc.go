// Package load loads staged files into rows of a Snowflake table: it
// stages the files that package load/stagefile writes (NDJSON, CSV or
// Parquet, with the table's column names) and loads them with PUT and
// COPY INTO through github.com/snowflakedb/gosnowflake, or writes them to S3
// for Snowpipe.
//
// This package is under construction; its API is not yet stable.
//
// # Staged files
//
// A stagefile.Writer (or stagefile.Parallel) writes the rows of one table to
// files in a directory; each finished file is a stagefile.File, which states
// the FILE_FORMAT and copy options that load it. Its column names are the
// table's, so COPY … MATCH_BY_COLUMN_NAME = CASE_SENSITIVE maps every file
// column to its table column, and stagefile.File.Schema lists the columns
// with the types the writer gave them, for the Loader to create or evolve
// the table before COPY. See package stagefile for the writers.
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
// COPY (Loader.Prepare returns the plan to write files against; Loader.Columns
// reads the table's columns without changing it). Column
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
// Nothing is silent: a file whose loaded rows differ from stagefile.File.Rows fails
// the load with a *FileError, unless LoaderOptions.AcceptPartial lets a
// PARTIALLY_LOADED file through after its rejected rows (VALIDATE(…,
// JOB_ID => …)) went to LoaderOptions.DeadLetter and add up (a sink that
// batches them is a DeadLetterFlusher, flushed before the ledger records the
// file as done). A COPY that fails as a whole (ON_ERROR = ABORT_STATEMENT)
// is a *CopyError.
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
// Loader, S3Sink (with a safe client),
// Snowpipe and ErrorClassifier are safe for concurrent use; Config and the
// option types are plain values.
//
// # Errors
//
// Invalid options wrap ErrOptions (the writers' options wrap
// stagefile.ErrOptions). A Config's problems are a *ConfigError
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
