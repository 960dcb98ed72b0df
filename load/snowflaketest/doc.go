// Package snowflaketest is a Snowflake emulator on loopback that the
// unmodified gosnowflake driver talks to over its real wire protocol,
// backed by DuckDB. It is importable like net/http/httptest:
//
//	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
//	if err != nil { ... }
//	defer srv.Close()
//	db := srv.OpenDB() // database/sql through github.com/snowflakedb/gosnowflake
//	defer db.Close()
//
// or, for a custom connector, srv.Config() returns a ready
// gosnowflake.Config (Protocol "http", Host 127.0.0.1, the server's port).
// The standalone command cmd/snowflaketest serves the same Emulator on an
// address of choice for other programs and languages.
//
// Supported: password and key-pair (JWT) login (any user unless
// Options.Users or Options.UserKeys is set) and session renewal; query
// requests with JSON results; DDL and DML executed by DuckDB after
// translating Snowflake types and identifier case, with each column's
// declared Snowflake type and comment kept in the catalog (DESC TABLE and
// INFORMATION_SCHEMA.COLUMNS read back VARCHAR(n), OBJECT, ARRAY,
// TIMESTAMP_TZ as declared); scalar and array bind variables (inline and
// through the driver's temporary bind stage); internal stages (@~,
// @%table, named) with PUT, LIST and REMOVE; external S3 stages
// (URL = 's3://...' with CREDENTIALS or STORAGE_INTEGRATION, read from
// Options.S3's endpoint); COPY INTO <table> of CSV, JSON and Parquet
// files, streamed once per file, with the per-file result rows, load
// metadata (following the transaction), FORCE, PURGE, FILES, PATTERN,
// ON_ERROR, VALIDATION_MODE, MATCH_BY_COLUMN_NAME (CSV with PARSE_HEADER);
// VALIDATE, RESULT_SCAN, LAST_QUERY_ID, COPY_HISTORY, LOAD_HISTORY and
// QUERY_HISTORY (with each statement's QUERY_TAG);
// MERGE (refusing nondeterministic merges), INSERT OVERWRITE, TRUNCATE,
// CREATE TABLE ... LIKE and CLONE, ALTER TABLE ... SWAP WITH, ADD COLUMN
// and column type changes; SHOW TABLES, STAGES and PIPES; asynchronous
// and multi-statement requests and cancellation; the Snowpipe REST API
// (insertFiles, insertReport, loadHistoryScan) over CREATE PIPE, and
// SYSTEM$PIPE_STATUS; and scripted faults (Emulator.InjectFault: HTTP
// statuses, session expiry, errors, held statements, failing files, a
// connection dropped after a statement ran, a panicking handler).
// FIDELITY.md lists what behaves as Snowflake, what differs and what is
// refused.
//
// The statement dispatch is in exec.go (execute). New features go in new
// files that register handlers from init: statements by first word
// (stmtHandlers), CREATE/DROP/ALTER by object kind (ddlHandlers), SHOW
// kinds (showHandlers), all in extend.go; and functions answered from
// the emulator's state in funcs.go (callRewrites, tableFuncs,
// argRewrites, sessionMacros). TIMESTAMP_TZ semantics (comparisons by
// the instant, date functions in the value's own offset) are rewrites
// onto typed-overload session macros, in tzsem.go and tzcompare.go.
//
// # The in-Snowflake pipeline
//
// Named file formats, COPY transformations of $1, METADATA$FILENAME and
// METADATA$FILE_ROW_NUMBER, streams (standard and APPEND_ONLY, consumed by
// the DML that reads them when it commits), tasks (EXECUTE TASK, WHEN,
// schedules run by the clock Options.Now through
// Emulator.RunScheduledTasks, TASK_HISTORY) and external functions over
// API integrations: a call sends the rows in batches with Snowflake's
// request format and headers to the URL's service, in process when
// Options.ExternalServices names a handler for it (an API Gateway and its
// Lambda), retrying 429 and 5xx as Snowflake does.
//
// Unquoted identifiers fold to upper case as in Snowflake. A database or
// schema named at login or in a statement is created the first time it is
// used, so a fresh emulator takes any connection string.
//
// The driver probes cloud metadata endpoints once per process; tests may
// set SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true to skip the probe.
//
// # Concurrency
//
// An Emulator and a Server are safe for concurrent use. Each Snowflake
// session has its own DuckDB connection; the statements of one session run
// one at a time, different sessions run concurrently. A request handler
// that panics (a bug) answers HTTP 500 without holding a lock, and the
// emulator keeps serving.
//
// # Limits
//
// Results are returned in one JSON rowset, without chunking. Request
// bodies are limited to 1 GiB. COPY streams each file into the table in
// batches, keeping Go memory bounded by the longest record and a batch;
// the rows themselves live in DuckDB (in memory unless Options.DBPath is
// set), whose memory Options.MemoryLimit caps (DefaultMemoryLimit, 512MB,
// when empty): beyond it DuckDB spills to disk. The last 10 000 results
// are kept for /queries/<id>/result. Load metadata is kept in memory, and in the DuckDB
// file when Options.DBPath is set.
//
// # Errors
//
// Statement failures are answered as Snowflake does, HTTP 200 with
// success=false and a numeric code, so the driver returns a
// *gosnowflake.SnowflakeError carrying Number, SQLState and the message.
// Inside the package such failures are *SQLError values. Unsupported
// statements and options fail with Number 2 and SQL state 0A000 naming
// the feature; they never succeed silently.
package snowflaketest
