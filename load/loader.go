package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flatpipe/flatpipe/internal/enumtext"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// DB is what a Loader needs of a database handle: *sql.DB, *sql.Conn and
// *sql.Tx (over gosnowflake) satisfy it. PUTs run in parallel only on a
// *sql.DB; a *sql.Conn or *sql.Tx runs one statement at a time. On a
// *sql.DB each statement runs on a connection of its own, and a connection
// whose session is gone for good leaves the pool (see StepSession).
type DB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Retrier runs fn, perhaps several times. resilience's *Retry and *Policy
// satisfy it. A Loader retries only units that are safe to repeat: one PUT
// of a fixed name, one COPY (load metadata skips what a lost answer already
// loaded), DDL with IF NOT EXISTS, one MERGE, and the rebuild of a replace or
// merge staging table; never a SWAP.
type Retrier interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// DeadLetterSink receives the rows COPY rejected when LoaderOptions.AcceptPartial
// lets a load go on without them.
type DeadLetterSink interface {
	RejectedRow(ctx context.Context, r RejectedRow) error
}

// DeadLetterFlusher is a DeadLetterSink that holds the rows it took (to
// write them in one batch): the Loader calls FlushRejected after handing
// it a file's rejected rows and before the ledger records the file as
// done, so a sink that returns nil there has every row durable, and a
// crash after the ledger update loses none of them.
type DeadLetterFlusher interface {
	DeadLetterSink
	FlushRejected(ctx context.Context) error
}

// Progress receives an Event after each step of a load (metrics, logs,
// progress bars). It must be safe for concurrent use: uploads run in
// parallel.
type Progress interface {
	Progress(e Event)
}

// Step names a step of a load in an Event.
type Step string

// Steps of a load.
const (
	StepTable    Step = "table"    // the target table was created or evolved
	StepUpload   Step = "upload"   // one file was PUT or uploaded to S3
	StepCopy     Step = "copy"     // one COPY statement ran
	StepFile     Step = "file"     // one file's load result is known
	StepMerge    Step = "merge"    // MERGE into the target ran
	StepSwap     Step = "swap"     // the replacement table was swapped in
	StepRejected Step = "rejected" // rejected rows were sent to the dead-letter sink
	StepSession  Step = "session"  // a connection whose session was gone left the pool; its statement runs again
)

// Event is one step of a load.
type Event struct {
	Step     Step
	Table    string
	File     string // StepUpload, StepFile
	Files    int    // StepCopy: files in the statement
	Rows     int64  // rows loaded, merged or rejected
	Bytes    int64  // StepUpload
	Duration time.Duration
}

// Disposition says what a load does to the rows already in the table. Its
// text form (String, MarshalText, UnmarshalText) is "append", "replace" or
// "merge".
type Disposition uint8

const (
	// Append adds the files' rows (the default). Load metadata makes a
	// replayed file a no-op.
	Append Disposition = iota
	// Replace loads into a new table and swaps it with the target
	// (ALTER TABLE … SWAP WITH), atomically; the old rows are dropped.
	Replace
	// Merge loads into a transient staging table and MERGEs it into the
	// target by LoaderOptions.MergeKeys.
	Merge
)

var dispositionText = enumtext.Enum[Disposition]{Type: "Disposition", Err: ErrOptions, Names: []string{
	Append: "append", Replace: "replace", Merge: "merge"}}

// String returns "append", "replace" or "merge".
func (d Disposition) String() string { return dispositionText.String(d) }

// MarshalText implements encoding.TextMarshaler.
func (d Disposition) MarshalText() ([]byte, error) { return dispositionText.Marshal(d) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Disposition) UnmarshalText(b []byte) error { return dispositionText.Unmarshal(b, d) }

// LoaderOptions configure a Loader. The zero value of every field but Table is a
// documented default.
type LoaderOptions struct {
	// Table is the target table. An unquoted name is normalised like a
	// column name ("events" → EVENTS, as Snowflake resolves an unquoted
	// identifier); a name in double quotes is used as written.
	Table string
	// Database and Schema qualify the table, stages and the ledger; empty
	// means the session's current ones.
	Database, Schema string
	// Stage is where files are staged; the zero value is the table stage.
	Stage Stage
	// Disposition is Append (default), Replace or Merge.
	Disposition Disposition
	// MergeKeys are the columns (table column names) a Merge matches rows
	// by. Required for Merge.
	MergeKeys []string
	// MergeOrder is the column that orders rows with the same key inside a
	// batch: the row with the greatest value wins (ties are broken
	// arbitrarily). Empty: rows have no defined order, so a key that
	// appears twice fails the load with ErrDuplicateKey.
	MergeOrder string
	// MergeDelete is a BOOLEAN column: a winning row whose flag is TRUE
	// deletes the target row instead of upserting it.
	MergeDelete string
	// OnError is COPY's ON_ERROR: "ABORT_STATEMENT" (default), "CONTINUE",
	// "SKIP_FILE", "SKIP_FILE_n" or "SKIP_FILE_n%".
	OnError string
	// AcceptPartial accepts a file COPY loaded in part
	// (PARTIALLY_LOADED): its rejected rows, read back with VALIDATE, go
	// to DeadLetter, which must be set. Without it a file whose loaded
	// rows are fewer than stagefile.File.Rows fails the load. The COPY statements
	// of an Append load carry a query tag of their own
	// ("flatpipe-copy-…", replacing a session's QUERY_TAG for them), by
	// which a rerun finds a COPY whose answer a crash lost.
	AcceptPartial bool
	// DeadLetter receives rejected rows under AcceptPartial.
	DeadLetter DeadLetterSink
	// Purge removes loaded files from the stage (COPY's PURGE).
	Purge bool
	// NoOverwrite PUTs with OVERWRITE = FALSE. By default a PUT replaces a
	// staged file of the same name (a file left half-written by a crash
	// never survives a rerun).
	NoOverwrite bool
	// Parallel is how many files are uploaded at once. Default 4.
	Parallel int
	// Evolution says how the table may change (evolve, freeze, discard),
	// for schema.PlanChanges.
	Evolution schema.Evolution
	// Plan configures schema.PlanChanges.
	Plan schema.PlanOptions
	// SizedVarchar keeps the VARCHAR lengths of the inferred table. By
	// default new VARCHAR columns are unsized (VARCHAR(16777216), which
	// costs nothing in Snowflake), so a longer value in a later batch
	// needs no widening.
	SizedVarchar bool
	// NoColumnComments leaves out the column comments that hold each
	// column's flattened path (schema.Column.Comment), which later plans
	// use to map paths back to columns; without them, columns map by name.
	NoColumnComments bool
	// Ledger is the table, in the target's schema, that records which
	// files (name and SHA-256) were loaded into which table, so that a
	// file COPY skips as already loaded counts as loaded only when it is
	// ours. Default "FLATPIPE_LOADS".
	Ledger string
	// Retry, when set, runs each retryable unit (see Retrier).
	Retry Retrier
	// Progress, when set, receives an Event per step.
	Progress Progress
	// Now is the clock for the ledger's timestamps. Default time.Now.
	Now func() time.Time
}

// ErrStatement is wrapped by the errors of statements the Loader sends
// (DDL, PUT, the ledger's, MERGE, VALIDATE), together with the driver's
// error (a *gosnowflake.SnowflakeError, or a network error).
var ErrStatement = errors.New("load: statement failed")

// ErrIncomplete is wrapped by every *FileError: a file COPY did not load
// whole.
var ErrIncomplete = errors.New("load: file not loaded completely")

// ErrNotOurs reports a file that COPY skipped as already loaded while the
// ledger holds its name with other content: the skipped load may have been
// of that content, not of the file's rows.
var ErrNotOurs = errors.New("load: file skipped as already loaded, but the ledger records other content under its name")

// Loader loads staged Files into one Snowflake table. A Loader is safe for
// concurrent use; concurrent loads into one table evolve it without
// conflict (IF NOT EXISTS, re-planned on a conflict).
type Loader struct {
	db    DB
	o     LoaderOptions
	table string // unquoted, normalised
	qual  schema.DDLOptions

	ledgerMu    sync.Mutex
	ledgerReady bool // the ledger table exists with every column
}

var onErrorRE = regexp.MustCompile(`^(ABORT_STATEMENT|CONTINUE|SKIP_FILE|SKIP_FILE_[0-9]+|SKIP_FILE_[0-9]+%)$`)

// NewLoader returns a Loader writing through db. It checks o and returns an
// error wrapping ErrOptions listing what is wrong.
func NewLoader(db DB, o LoaderOptions) (*Loader, error) {
	var p []string
	if db == nil {
		p = append(p, "no database handle")
	}
	name, err := TableName(o.Table)
	if err != nil {
		p = append(p, err.Error())
	}
	o.OnError = strings.ToUpper(strings.TrimSpace(o.OnError))
	if o.OnError == "" {
		o.OnError = "ABORT_STATEMENT"
	}
	if !onErrorRE.MatchString(o.OnError) {
		p = append(p, fmt.Sprintf("ON_ERROR %q is not ABORT_STATEMENT, CONTINUE, SKIP_FILE, SKIP_FILE_n or SKIP_FILE_n%%", o.OnError))
	}
	if o.AcceptPartial && o.DeadLetter == nil {
		p = append(p, "AcceptPartial needs a DeadLetter sink")
	}
	if o.Parallel < 0 {
		p = append(p, "Parallel is negative")
	}
	if o.Parallel == 0 {
		o.Parallel = 4
	}
	switch o.Disposition {
	case Append, Replace:
	case Merge:
		if len(o.MergeKeys) == 0 {
			p = append(p, "Merge needs MergeKeys")
		}
	default:
		p = append(p, fmt.Sprintf("unknown disposition %d", o.Disposition))
	}
	if o.Disposition != Merge && (len(o.MergeKeys) > 0 || o.MergeOrder != "" || o.MergeDelete != "") {
		p = append(p, "MergeKeys, MergeOrder and MergeDelete apply to the Merge disposition only")
	}
	if err := o.Stage.check(); err != nil {
		p = append(p, err.Error())
	}
	if o.Ledger == "" {
		o.Ledger = "FLATPIPE_LOADS"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(p) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrOptions, strings.Join(p, "; "))
	}
	l := &Loader{db: db, o: o, table: name}
	for _, q := range []string{o.Database, o.Schema} {
		if q != "" {
			l.qual.Qualifier = append(l.qual.Qualifier, q)
		}
	}
	return l, nil
}

// Table returns the target table's name as the Loader uses it (normalised,
// unquoted).
func (l *Loader) Table() string { return l.table }

// TableName normalises a user's table name: an unquoted name becomes a
// column-style identifier (upper case, "_" for characters outside
// [A-Z0-9_$]), so it names the table that an unquoted SELECT finds; a name in
// double quotes keeps its case and characters (a doubled quote inside stands
// for one).
func TableName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", errors.New("table name is empty")
	}
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		in := name[1 : len(name)-1]
		if in == "" {
			return "", errors.New("table name is empty")
		}
		if strings.Contains(strings.ReplaceAll(in, `""`, ""), `"`) {
			return "", fmt.Errorf("table name %s has an unpaired quote inside", name)
		}
		return strings.ReplaceAll(in, `""`, `"`), nil
	}
	if strings.Contains(name, `"`) {
		return "", fmt.Errorf("table name %q: quote the whole name or none of it", name)
	}
	n := string(schema.Normalize(nil, name, schema.NameOptions{}))
	if len(n) > schema.MaxIdentLength {
		return "", fmt.Errorf("table name is longer than %d characters", schema.MaxIdentLength)
	}
	return n, nil
}

// FileResult is what COPY did with one file.
type FileResult struct {
	// File is the staged file.
	File stagefile.File
	// Status is COPY's status: "LOADED", "PARTIALLY_LOADED",
	// "LOAD_FAILED", or "LOAD_SKIPPED" for a file COPY skipped because
	// the ledger shows this name and content loaded before. A file whose
	// earlier COPY's answer was lost (see the ledger) has the result of
	// that COPY, found by its query tag, and its QueryID.
	Status string
	// RowsParsed, RowsLoaded, ErrorLimit and ErrorsSeen are COPY's counts
	// (for a skipped file, RowsLoaded is stagefile.File.Rows as recorded).
	RowsParsed, RowsLoaded, ErrorLimit, ErrorsSeen int64
	// FirstError is COPY's first error in the file, if any.
	FirstError *RowError
	// Rejected is the number of rejected rows sent to the dead-letter sink.
	Rejected int64
	// QueryID is the COPY statement's query id ("" for a skipped file),
	// for VALIDATE, COPY_HISTORY or support.
	QueryID string
}

// RowError is one error COPY reported, with its position in the file.
type RowError struct {
	Message   string
	Line      int64 // 1-based line in the file (0 if unknown)
	Character int64 // 1-based character in the line
	Column    string
}

// RejectedRow is a row COPY rejected, as VALIDATE reports it.
//
// A sink receives each rejected row at least once. Under Append, exactly
// once unless the load stops (a crash, a failed ledger update, an error of
// the sink) after the sink took the file's rows and before the ledger
// recorded the file as done; the rerun then hands the file's rejected rows
// again, the same values in the same order (VALIDATE of the same COPY job).
// Under Replace and Merge every run of a Load loads its files again into a
// rebuilt staging table, so a rerun hands their rejected rows again, with
// the same values but another QueryID. Key identifies a row across such
// repeats, for a sink that must not keep duplicates. Once RejectedRow (or,
// for a DeadLetterFlusher, FlushRejected) returned nil, the ledger may
// record the file as done and no rerun hands its rows again: a sink must
// hold them durably by then.
type RejectedRow struct {
	Table  string // the Loader's target table
	File   string // stage file name as COPY reports it
	SHA256 string // the file's content hash (File.SHA256)
	RowError
	Code     string
	SQLState string
	Row      int64  // row number in the file
	Record   string // the rejected record, where Snowflake keeps it
	QueryID  string // the COPY job that rejected it (for VALIDATE)
}

// Key identifies the rejected row: table, file name and content, and row
// number in the file. Two deliveries of one row have the same Key; two rows
// of a file have different Keys as long as VALIDATE reports row numbers
// (Snowflake and the emulator do; without one, the line stands in).
func (r RejectedRow) Key() string {
	n := "#" + strconv.FormatInt(r.Row, 10)
	if r.Row <= 0 {
		n = "#L" + strconv.FormatInt(r.Line, 10)
	}
	return r.Table + "/" + path.Base(r.File) + "@" + r.SHA256 + n
}

// FileError reports a file that did not load whole. It wraps ErrIncomplete.
type FileError struct {
	Result FileResult
	Reason string
}

func (e *FileError) Error() string {
	r := e.Result
	s := fmt.Sprintf("load: file %s: %s (status %s, %d of %d rows loaded, %d errors)", r.File.Name, e.Reason, r.Status, r.RowsLoaded, r.File.Rows, r.ErrorsSeen)
	if r.FirstError != nil {
		s += fmt.Sprintf("; first error at line %d, character %d, column %s: %s", r.FirstError.Line, r.FirstError.Character, r.FirstError.Column, r.FirstError.Message)
	}
	return s
}

// Unwrap returns ErrIncomplete.
func (e *FileError) Unwrap() error { return ErrIncomplete }

// Result is the outcome of one Load.
type Result struct {
	// Table is the target table, unquoted.
	Table string
	// Plan is the schema plan applied to the table.
	Plan *schema.Plan
	// Files has one entry per file, in the order given.
	Files []FileResult
	// RowsLoaded is the sum of the files' RowsLoaded; RowsRejected the
	// rows sent to the dead-letter sink.
	RowsLoaded, RowsRejected int64
	// Merged counts the MERGE's inserted, updated and deleted rows.
	Inserted, Updated, Deleted int64
	// Upload, Copy and Finish are the time spent uploading, in COPY, and
	// in MERGE or SWAP.
	Upload, Copy, Finish time.Duration
}

// Load loads files, written for table t (the batch's inferred table, its
// Name ignored, widened by the files' own Schema, see TableOf; or the zero
// Table), into the Loader's table: it creates or evolves the
// table, stages the files, COPYs them and checks every file's result, then
// swaps or merges as the disposition says. It returns the per-file results;
// on error, the results known so far.
//
// A Load can be repeated after a crash or an error with the same files:
// files already loaded are skipped (append), or the staging table is
// rebuilt (replace, merge), so every row lands once.
func (l *Loader) Load(ctx context.Context, t schema.Table, files []stagefile.File) (*Result, error) {
	res := &Result{Table: l.table}
	if len(files) == 0 {
		return res, nil
	}
	if err := l.checkFiles(files); err != nil {
		return res, err
	}
	t = mergeTables(t, TableOf(files))
	ctx, unpin, err := l.pin(ctx)
	if err != nil {
		return res, err
	}
	defer unpin()
	plan, err := l.ensureTable(ctx, t, files)
	if err != nil {
		return res, err
	}
	res.Plan = plan
	switch l.o.Disposition {
	case Replace, Merge:
		err = l.loadVia(ctx, plan, files, res)
	default:
		err = l.loadAppend(ctx, files, res)
	}
	return res, err
}

func (l *Loader) checkFiles(files []stagefile.File) error {
	seen := make(map[string]bool, len(files))
	for i, f := range files {
		switch {
		case f.Name == "":
			return fmt.Errorf("%w: file %d has no name", ErrOptions, i)
		case seen[f.Name]:
			return fmt.Errorf("%w: file name %s appears twice in one load", ErrOptions, f.Name)
		case strings.ContainsAny(f.Name, "'/\\*?[\x00"):
			return fmt.Errorf("%w: file name %q has a character a stage path cannot hold", ErrOptions, f.Name)
		case len(f.Columns) == 0:
			return fmt.Errorf("%w: file %s has no columns", ErrOptions, f.Name)
		case f.Rows < 0:
			return fmt.Errorf("%w: file %s has a negative row count", ErrOptions, f.Name)
		case len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "":
			return fmt.Errorf("%w: file %s has no lower-case hex SHA-256 (the ledger needs it)", ErrOptions, f.Name)
		}
		seen[f.Name] = true
		if l.o.Stage.Kind != ExternalStage || l.o.Stage.S3 != nil {
			if f.Path == "" {
				return fmt.Errorf("%w: file %s has no path", ErrOptions, f.Name)
			}
			if strings.ContainsAny(f.Path, "'*?[\x00") {
				return fmt.Errorf("%w: file path %q has a character PUT cannot take", ErrOptions, f.Path)
			}
			if _, err := os.Stat(f.Path); err != nil {
				return fmt.Errorf("load: file %s: %w", f.Name, err)
			}
		}
	}
	return nil
}

func (l *Loader) event(e Event) {
	if l.o.Progress != nil {
		e.Table = l.table
		l.o.Progress.Progress(e)
	}
}

// do runs fn through the retry hook, if any.
func (l *Loader) do(ctx context.Context, fn func(context.Context) error) error {
	if l.o.Retry == nil {
		return fn(ctx)
	}
	return l.o.Retry.Do(ctx, fn)
}

// qualified returns the quoted, qualified name of table name.
func (l *Loader) qualified(name string) string {
	return string(l.qual.AppendTableName(nil, name))
}

func quote(name string) string { return string(schema.QuoteIdent(nil, name)) }

func literal(s string) string { return string(schema.QuoteString(nil, s)) }

// mergeTables returns t with the columns of u added or widened by name.
func mergeTables(t, u schema.Table) schema.Table {
	if len(u.Columns) == 0 {
		return t
	}
	out := t
	out.Columns = append([]schema.Column(nil), t.Columns...)
	idx := make(map[string]int, len(out.Columns))
	for i, c := range out.Columns {
		idx[c.Name] = i
	}
	for _, c := range u.Columns {
		i, ok := idx[c.Name]
		if !ok {
			idx[c.Name] = len(out.Columns)
			out.Columns = append(out.Columns, c)
			continue
		}
		have := &out.Columns[i]
		n := max(have.MaxLength, c.MaxLength)
		have.Type = schema.Widen(have.Type, c.Type, n)
		have.MaxLength, have.Nullable = n, have.Nullable || c.Nullable
	}
	return out
}

// TableOf returns the table a set of files needs: the columns of their
// stagefile.File.Schema, in order of first appearance, each with a type that covers
// every file's type for it (schema.Widen).
func TableOf(files []stagefile.File) schema.Table {
	var t schema.Table
	idx := map[string]int{}
	for _, f := range files {
		for _, c := range f.Schema {
			i, ok := idx[c.Name]
			if !ok {
				idx[c.Name] = len(t.Columns)
				t.Columns = append(t.Columns, c)
				continue
			}
			have := &t.Columns[i]
			n := max(have.MaxLength, c.MaxLength)
			have.Type = schema.Widen(have.Type, c.Type, n)
			have.MaxLength = n
			have.Nullable = have.Nullable || c.Nullable
			if have.Path == "" {
				have.Path = c.Path
			}
		}
		t.Records += f.Rows
	}
	return t
}
