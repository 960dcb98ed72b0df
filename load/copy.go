package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/snowflakedb/gosnowflake"
)

// maxCopyFiles is Snowflake's limit on FILES = (…) in one COPY.
const maxCopyFiles = 1000

// copyResult is what one COPY statement reported.
type copyResult struct {
	queryID string
	files   map[string]FileResult // by base name; absent: skipped
}

// loadAppend uploads files, COPYs them into the target and checks each
// file's result against the ledger.
func (l *Loader) loadAppend(ctx context.Context, files []stagefile.File, res *Result) error {
	start := time.Now()
	if err := l.upload(ctx, l.table, files); err != nil {
		return err
	}
	res.Upload = time.Since(start)
	start = time.Now()
	defer func() { res.Copy = time.Since(start) }()
	if err := l.ensureLedger(ctx); err != nil {
		return err
	}
	tag := copyTag()
	recorded, err := l.ledgerIntent(ctx, files, tag)
	if err != nil {
		return err
	}
	results := make(map[string]FileResult, len(files))
	jobs := &jobFinder{l: l, files: files}
	for _, group := range copyGroups(files) {
		var cr copyResult
		err := l.do(ctx, func(ctx context.Context) error {
			var err error
			cr, err = l.copy(gosnowflake.WithQueryTag(ctx, tag), l.table, group, false)
			return err
		})
		if err != nil {
			return err
		}
		for _, f := range group {
			r, ok := cr.files[f.Name]
			if !ok {
				// COPY skipped the file: this stage path with this content
				// was loaded into the table before.
				r, err = l.skipped(ctx, f, recorded, tag, jobs)
				if err != nil {
					res.Files = collect(files, results)
					return err
				}
			}
			ferr := l.checkFile(ctx, l.table, r.QueryID, &r)
			results[f.Name] = r
			if ferr != nil {
				// Record what COPY did (a partial load stays an error on
				// every rerun), then fail.
				res.Files = collect(files, results)
				return errors.Join(ferr, l.ledgerDone(ctx, group, results))
			}
			l.event(Event{Step: StepFile, File: f.Name, Rows: r.RowsLoaded})
		}
		if err := l.ledgerDone(ctx, group, results); err != nil {
			return err
		}
	}
	res.Files = collect(files, results)
	for _, r := range res.Files {
		res.RowsLoaded += r.RowsLoaded
		res.RowsRejected += r.Rejected
	}
	return nil
}

// wholeFiles reports whether the ON_ERROR policy loads a file whole or not
// at all, so that a file COPY skips as loaded before has every row in the
// table.
func (l *Loader) wholeFiles() bool {
	return l.o.OnError == "ABORT_STATEMENT" || l.o.OnError == "SKIP_FILE"
}

// skipped returns the result of a file COPY skipped because load metadata
// says it was loaded before, judged by the ledger as it was before this
// load (rec) and, where the earlier COPY's answer was lost, by that COPY's
// own result, found through its query tag.
func (l *Loader) skipped(ctx context.Context, f stagefile.File, recorded map[string]ledgerRecord, tag string, jobs *jobFinder) (FileResult, error) {
	rec, have := recorded[f.Name]
	done := FileResult{File: f, Status: "LOAD_SKIPPED", RowsParsed: f.Rows, RowsLoaded: rec.rows}
	switch {
	case have && rec.sha != f.SHA256:
		// The ledger knows this name with other content: the skip may be
		// that content's (a PUT that kept the old file), and our rows may
		// be missing.
		return FileResult{}, fmt.Errorf("%w: %s into %s: the ledger %s recorded this name with SHA-256 %s, not %s", ErrNotOurs, f.Name, l.table, l.o.Ledger, rec.sha, f.SHA256)
	case have && (rec.status == "LOADED" || rec.status == "ACCEPTED"):
		// Checked and recorded by an earlier load (its rejected rows, if
		// any, went to the dead-letter sink then).
		return done, nil
	case have && rec.status == "PARTIAL" && !l.o.AcceptPartial:
		return FileResult{}, &FileError{Result: done, Reason: "an earlier load of this file was partial, and COPY will not load it again"}
	case l.wholeFiles() && (!have || rec.status == "STAGED"):
		// A COPY whose answer was lost (a crash after COPY, or a dropped
		// connection the driver retried), or the same content loaded by
		// another loader: under this policy it loaded every row.
		done.RowsLoaded = f.Rows
		return done, nil
	}
	// STAGED (or PARTIAL, now accepted) under a policy that loads files in
	// part: the COPY that loaded the file may have rejected rows, which
	// only its own result and VALIDATE can tell.
	tags := rec.tags
	if !have {
		tags = []string{tag}
	}
	r, ok, err := jobs.find(ctx, f, tags)
	if err != nil {
		return FileResult{}, err
	}
	if !ok {
		return FileResult{}, &FileError{Result: done, Reason: "COPY skipped the file as loaded before, but the COPY that loaded it cannot be found " +
			"(among the user's latest 10,000 statements of QUERY_HISTORY, which keeps 7 days, and RESULT_SCAN, 24 hours), so its rejected rows cannot be recovered"}
	}
	return r, nil
}

func collect(files []stagefile.File, m map[string]FileResult) []FileResult {
	out := make([]FileResult, 0, len(m))
	for _, f := range files {
		if r, ok := m[f.Name]; ok {
			out = append(out, r)
		}
	}
	return out
}

// copyGroups splits files into COPY statements: files with the same file
// format and copy options, at most maxCopyFiles each, in input order.
func copyGroups(files []stagefile.File) [][]stagefile.File {
	var groups [][]stagefile.File
	idx := map[string]int{}
	for _, f := range files {
		k := f.FileFormat() + "\x00" + f.CopyOptions()
		i, ok := idx[k]
		if !ok || len(groups[i]) == maxCopyFiles {
			groups = append(groups, nil)
			i = len(groups) - 1
			idx[k] = i
		}
		groups[i] = append(groups[i], f)
	}
	return groups
}

// copy runs one COPY INTO table of files (same format) with QueryContext
// and reads its per-file result rows.
func (l *Loader) copy(ctx context.Context, table string, files []stagefile.File, force bool) (copyResult, error) {
	start := time.Now()
	ref, err := l.stageRef(table)
	if err != nil {
		return copyResult{}, err
	}
	var b strings.Builder
	b.WriteString("COPY INTO " + l.qualified(table) + " FROM " + ref + " FILES = (")
	for i, f := range files {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(literal(f.Name))
	}
	b.WriteString(") FILE_FORMAT = (" + files[0].FileFormat() + ") " + files[0].CopyOptions())
	b.WriteString(" ON_ERROR = ")
	if strings.HasSuffix(l.o.OnError, "%") {
		b.WriteString("'" + l.o.OnError + "'")
	} else {
		b.WriteString(l.o.OnError)
	}
	if l.o.Purge {
		b.WriteString(" PURGE = TRUE")
	}
	if force {
		b.WriteString(" FORCE = TRUE")
	}
	var cr copyResult
	err = l.stmt(ctx, func(db DB) error {
		qid := make(chan string, 1)
		rows, err := db.QueryContext(gosnowflake.WithQueryIDChan(ctx, qid), b.String())
		if err != nil {
			return err
		}
		defer rows.Close()
		cr = copyResult{}
		cr.files, err = readCopyRows(rows, files, true)
		if err != nil {
			return err
		}
		select {
		case cr.queryID = <-qid:
		default:
		}
		return nil
	})
	if err != nil {
		return cr, &CopyError{Table: table, Files: len(files), Err: err}
	}
	for name, r := range cr.files {
		r.QueryID = cr.queryID
		cr.files[name] = r
	}
	var n int64
	for _, r := range cr.files {
		n += r.RowsLoaded
	}
	l.event(Event{Step: StepCopy, Files: len(files), Rows: n, Duration: time.Since(start)})
	return cr, nil
}

// readCopyRows reads COPY's per-file result rows (from the COPY or from
// RESULT_SCAN of it) for files, by file name; files absent were skipped. A
// row of a file not in files is an error when strict, else ignored.
func readCopyRows(rows *sql.Rows, files []stagefile.File, strict bool) (map[string]FileResult, error) {
	out := map[string]FileResult{}
	byName := make(map[string]stagefile.File, len(files))
	for _, f := range files {
		byName[f.Name] = f
	}
	row, err := newNamedRow(rows)
	if err != nil {
		return nil, err
	}
	get := row.null
	num := func(k string) (int64, error) {
		v := get(k)
		if !v.Valid || v.String == "" {
			return 0, nil
		}
		return strconv.ParseInt(v.String, 10, 64)
	}
	perFile := row.has("file")
	for rows.Next() {
		if err := row.scan(rows); err != nil {
			return nil, err
		}
		if !perFile {
			// "Copy executed with 0 files processed.": every file skipped.
			if s := get("status").String; !strings.Contains(s, "0 files processed") {
				return nil, fmt.Errorf("unexpected COPY result %q", s)
			}
			continue
		}
		name := path.Base(get("file").String)
		f, ok := byName[name]
		if !ok && !strict {
			continue
		}
		if !ok {
			return nil, fmt.Errorf("COPY reported file %q, which was not in FILES", get("file").String)
		}
		r := FileResult{File: f, Status: get("status").String}
		var errs [6]error
		r.RowsParsed, errs[0] = num("rows_parsed")
		r.RowsLoaded, errs[1] = num("rows_loaded")
		r.ErrorLimit, errs[2] = num("error_limit")
		r.ErrorsSeen, errs[3] = num("errors_seen")
		if fe := get("first_error"); fe.Valid && fe.String != "" {
			r.FirstError = &RowError{Message: fe.String, Column: get("first_error_column_name").String}
			r.FirstError.Line, errs[4] = num("first_error_line")
			r.FirstError.Character, errs[5] = num("first_error_character")
		}
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("COPY result for %s: %w", name, e)
			}
		}
		out[name] = r
	}
	return out, rows.Err()
}

// CopyError reports a COPY statement that failed as a whole (with
// ON_ERROR = ABORT_STATEMENT, the first bad row fails it; nothing of the
// statement's files is loaded). Err is the driver's error
// (*gosnowflake.SnowflakeError, with the file, line and column in its
// message).
type CopyError struct {
	Table string
	Files int
	Err   error
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("load: COPY INTO %s (%d files): %v", e.Table, e.Files, e.Err)
}

// Unwrap returns ErrCopy and Err.
func (e *CopyError) Unwrap() []error { return []error{ErrCopy, e.Err} }

// ErrCopy is wrapped by every *CopyError.
var ErrCopy = errors.New("load: COPY failed")

// checkFile turns a file's COPY result into an error unless every row
// loaded, or the policy accepts the partial load and the rejected rows are
// handed to the dead-letter sink.
func (l *Loader) checkFile(ctx context.Context, table, queryID string, r *FileResult) error {
	switch {
	case r.Status == "LOAD_SKIPPED":
		return nil
	case r.Status == "LOADED" && r.RowsLoaded == r.File.Rows && r.ErrorsSeen == 0:
		return nil
	case r.Status == "LOADED":
		return &FileError{Result: *r, Reason: "COPY's row count differs from the rows written"}
	case r.Status == "PARTIALLY_LOADED" && l.o.AcceptPartial:
		n, err := l.deadLetters(ctx, table, queryID, r.File)
		r.Rejected = n
		if err != nil {
			return err
		}
		if r.RowsLoaded+n != r.File.Rows {
			return &FileError{Result: *r, Reason: fmt.Sprintf("%d rows loaded and %d rejected do not add up to the rows written", r.RowsLoaded, n)}
		}
		return nil
	case r.Status == "PARTIALLY_LOADED":
		return &FileError{Result: *r, Reason: "partially loaded and the policy does not accept partial loads"}
	default:
		return &FileError{Result: *r, Reason: "COPY did not load the file"}
	}
}

// deadLetters reads the rows COPY rejected from file with VALIDATE and sends
// them to the dead-letter sink, in VALIDATE's order, one per rejected row
// (a row with several errors is reported with its first).
func (l *Loader) deadLetters(ctx context.Context, table, queryID string, f stagefile.File) (int64, error) {
	if queryID == "" {
		return 0, fmt.Errorf("load: file %s: no query id to VALIDATE the COPY with", f.Name)
	}
	start := time.Now()
	var n int64
	var sinkErr error
	err := l.stmt(ctx, func(db DB) error {
		n = 0
		rows, err := db.QueryContext(ctx, "SELECT * FROM TABLE(VALIDATE("+l.qualified(table)+", JOB_ID => "+literal(queryID)+"))")
		if err != nil {
			return err
		}
		defer rows.Close()
		row, err := newNamedRow(rows)
		if err != nil {
			return err
		}
		get := row.str
		atoi := func(k string) int64 { n, _ := strconv.ParseInt(get(k), 10, 64); return n }
		seen := map[int64]bool{} // a record with several errors is one rejected row
		for rows.Next() {
			if err := row.scan(rows); err != nil {
				return err
			}
			if path.Base(get("FILE")) != f.Name {
				continue
			}
			if rn := atoi("ROW_NUMBER"); rn > 0 {
				if seen[rn] {
					continue
				}
				seen[rn] = true
			}
			rr := RejectedRow{Table: l.table, File: get("FILE"), SHA256: f.SHA256,
				RowError: RowError{Message: get("ERROR"), Line: atoi("LINE"), Character: atoi("CHARACTER"), Column: get("COLUMN_NAME")},
				Code:     get("CODE"), SQLState: get("SQL_STATE"), Row: atoi("ROW_NUMBER"), Record: get("REJECTED_RECORD"), QueryID: queryID}
			if err := l.o.DeadLetter.RejectedRow(ctx, rr); err != nil {
				sinkErr = fmt.Errorf("load: dead letter for %s line %d: %w", f.Name, rr.Line, err)
				return nil
			}
			n++
		}
		return rows.Err()
	})
	if sinkErr != nil {
		return n, sinkErr
	}
	if err != nil {
		return n, fmt.Errorf("%w: VALIDATE %s: %w", ErrStatement, f.Name, err)
	}
	if fl, ok := l.o.DeadLetter.(DeadLetterFlusher); ok {
		if err := fl.FlushRejected(ctx); err != nil {
			// None counts as taken: the ledger keeps the file STAGED, so
			// a rerun hands its rows again.
			return 0, fmt.Errorf("load: dead letters for %s: %w", f.Name, err)
		}
	}
	l.event(Event{Step: StepRejected, File: f.Name, Rows: n, Duration: time.Since(start)})
	return n, nil
}
