package snowflaketest

import (
	"context"
	"os"
	"strings"
)

// COPY INTO <table> FROM @stage runs in steps, one file each:
//
//	copy.go          the statement: parse it, pick the files, load them in one transaction, answer
//	copy_options.go  FILE_FORMAT, ON_ERROR and the other copy options
//	copy_load.go     each file's load: read, decide its status, undo the rows of a file that fails
//	copy_stage.go    records staged in bounded batches, checked, inserted; a failed file's rows undone
//	copy_batch.go    a batch held in Go, read by DuckDB through the table function sf_copy_batch
//	copy_csv.go      CSV records
//	copy_json.go     JSON documents and Parquet rows
//	copy_result.go   result rows, VALIDATION_MODE, PURGE

// column is a target table column.
type column struct {
	name     string
	duckType string
	notNull  bool
	maxLen   int    // declared VARCHAR(n) length; 0 when unbounded
	decl     string // declared Snowflake type; "" when not known
}

// isVariant reports whether the column is a VARIANT (not an OBJECT or an
// ARRAY, which DuckDB also stores as JSON).
func (c column) isVariant() bool {
	return strings.EqualFold(c.duckType, "JSON") && (c.decl == "" || strings.EqualFold(c.decl, "VARIANT"))
}

func (e *Emulator) tableColumns(ctx context.Context, s *session, db, sch, table string) ([]column, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT column_name, data_type, NOT is_nullable, coalesce(comment, '') FROM duckdb_columns()
		WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)
		ORDER BY column_index`, db, sch, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		var comment string
		if err := rows.Scan(&c.name, &c.duckType, &c.notNull, &comment); err != nil {
			return nil, err
		}
		c.decl, _ = decodeDecl(comment)
		c.maxLen = varcharLimit(c.decl)
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, sqlErr(errDoesNotExist, "42S02", "SQL compilation error:\nTable '%s.%s.%s' does not exist or not authorized.", db, sch, table)
	}
	return cols, nil
}

// isLoaded reports whether a file key is in a table's load metadata.
func (e *Emulator) isLoaded(tableKey, fileKey string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loadMeta[tableKey][fileKey]
}

// copyStmt is a parsed COPY INTO <table> FROM @stage.
type copyStmt struct {
	db, sch, table string
	target         []column // the columns records load into, in order
	sr             *stageRef
	opts           map[string]optVal
	ff             fileFormat
	oe             onError
	force, purge   bool
	match          string // MATCH_BY_COLUMN_NAME: "", CASE_SENSITIVE or CASE_INSENSITIVE
	validation     string // VALIDATION_MODE; "" when loading
}

func (c *copyStmt) tableKey() string { return c.db + "." + c.sch + "." + c.table }

// copyInto runs COPY INTO <table> FROM @stage: the files not loaded yet
// load in one transaction (the session's, when it has one open), retried
// from the start when DuckDB reports a conflict with a concurrent session.
func (e *Emulator) copyInto(ctx context.Context, s *session, ws []token) (*result, error) {
	c, err := e.parseCopy(ctx, s, ws)
	if err != nil {
		return nil, err
	}
	pending, err := e.pendingLoads(c)
	if err != nil {
		return nil, err
	}
	if len(pending) == 0 {
		return noFilesResult(), nil
	}
	var loaded []*fileLoad
	res, err := retryConflict(ctx, s, func() (*result, error) {
		loads := make([]*fileLoad, len(pending))
		for i, fl := range pending {
			loads[i] = fl.fresh()
		}
		return e.inCopyTxn(ctx, s, func() (res *result, err error) {
			res, loaded, err = e.loadFiles(ctx, s, c, loads)
			return res, err
		})
	})
	if err != nil {
		return nil, err
	}
	if c.purge {
		if err := purgeLoaded(ctx, c.sr, loaded); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// inCopyTxn runs a COPY in a transaction of its own, or in the session's
// open one (the COPY then undoes its own rows when it fails).
func (e *Emulator) inCopyTxn(ctx context.Context, s *session, fn func() (*result, error)) (*result, error) {
	if s.inTxn {
		return fn()
	}
	return e.inOwnTxn(ctx, s, fn)
}

func noFilesResult() *result {
	return &result{typeID: stmtCopy, rowtype: []rowType{textCol("status")}, rowset: [][]*string{{strp("Copy executed with 0 files processed.")}}}
}

// parseCopy parses COPY INTO <table> [(columns)] FROM @stage [options].
func (e *Emulator) parseCopy(ctx context.Context, s *session, ws []token) (*copyStmt, error) {
	if len(ws) < 3 || !ws[1].is("INTO") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: expected COPY INTO")
	}
	if ws[2].kind == tkStage {
		return nil, unsupported("COPY INTO <location> (unloading)")
	}
	c := &copyStmt{}
	i, err := e.parseCopyTarget(ctx, s, ws, c)
	if err != nil {
		return nil, err
	}
	if i >= len(ws) || !ws[i].is("FROM") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: expected FROM in COPY INTO")
	}
	i++
	if i < len(ws) && ws[i].text == "(" {
		return nil, unsupported("COPY INTO with a transformation (FROM (SELECT ...))")
	}
	if i >= len(ws) || ws[i].kind != tkStage {
		if i < len(ws) && ws[i].kind == tkString {
			return nil, unsupported("COPY FROM an external location")
		}
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: expected a stage after FROM")
	}
	if c.sr, err = e.resolveStage(ctx, s, ws[i].text, true); err != nil {
		return nil, err
	}
	if c.opts, _, err = parseOptions(ws, i+1); err != nil {
		return nil, err
	}
	if err := c.setOptions(); err != nil {
		return nil, err
	}
	return c, c.checkFormat()
}

// parseCopyTarget parses the table name and the optional column list at
// ws[2:], and returns the index after them.
func (e *Emulator) parseCopyTarget(ctx context.Context, s *session, ws []token, c *copyStmt) (int, error) {
	names, i := parseName(ws, 2)
	c.db, c.sch = s.db, s.schema
	switch len(names) {
	case 1:
		c.table = names[0]
	case 2:
		c.sch, c.table = names[0], names[1]
	case 3:
		c.db, c.sch, c.table = names[0], names[1], names[2]
	default:
		return 0, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: table name expected after COPY INTO")
	}
	if c.db == "" {
		return 0, sqlErr(errNoCurrentDB, "22000", "Cannot perform COPY. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.")
	}
	cols, err := e.tableColumns(ctx, s, c.db, c.sch, c.table)
	if err != nil {
		return 0, err
	}
	c.target = cols
	if i >= len(ws) || ws[i].text != "(" {
		return i, nil
	}
	c.target = nil
	for i++; i < len(ws) && ws[i].text != ")"; i++ {
		if ws[i].text == "," {
			continue
		}
		n := identName(ws[i])
		k := -1
		for j, col := range cols {
			if strings.EqualFold(col.name, n) {
				k = j
				break
			}
		}
		if k < 0 {
			return 0, sqlErr(errInvalidIdent, "42000", "SQL compilation error:\ninvalid identifier '%s'", n)
		}
		c.target = append(c.target, cols[k])
	}
	return i + 1, nil
}

// loadErr is one rejected row.
type loadErr struct {
	row    int // 0-based record index within the file
	line   int
	char   int
	column string
	err    *SQLError
	record *string // the rejected record's text, when known
}

// fileLoad is the outcome of one file.
type fileLoad struct {
	name    string
	file    stageFile
	key     string
	parsed  int
	errs    []loadErr
	status  string
	loaded  int
	limit   int
	missing bool
	// keyPrefix + content hash is the load metadata key.
	keyPrefix string
	skipped   bool // already loaded: found out after reading it

	idx       int   // position in the COPY's files
	before    int64 // the table's largest rowid before the file's first row went in; noRows until then
	previewed int   // rows in the VALIDATION_MODE preview
}

// fresh returns a copy of a file to load that has not been read yet.
func (fl *fileLoad) fresh() *fileLoad {
	return &fileLoad{name: fl.name, file: fl.file, key: fl.key, missing: fl.missing, keyPrefix: fl.keyPrefix, idx: fl.idx, before: noRows}
}

// pendingLoads lists the files a COPY loads: those selected (FILES,
// PATTERN or all) that are not in the table's load metadata, unless FORCE.
// A file whose hash is known (it came through PUT, or an earlier COPY read
// it) and that is already loaded is skipped unread; otherwise the hash is
// computed while the file is read.
func (e *Emulator) pendingLoads(c *copyStmt) ([]*fileLoad, error) {
	files, err := e.copyFiles(c.sr, c.opts)
	if err != nil {
		return nil, err
	}
	var loads []*fileLoad
	for _, f := range files {
		fl := &fileLoad{name: c.sr.prefix + f.rel, file: f, idx: len(loads)}
		switch {
		case f.remote:
			// External stages: the ETag identifies the content; the
			// object is fetched only when it is to be loaded.
			fl.keyPrefix = c.sr.url + "\x00" + f.rel + "\x00"
			fl.key = fl.keyPrefix + f.etag
		case f.abs == "":
			fl.missing = true
		default:
			fl.keyPrefix = c.sr.dir + "\x00" + f.rel + "\x00"
			if sum, ok := e.hashes.get(f.abs, f.size, f.mod); ok {
				fl.key = fl.keyPrefix + sum
			}
		}
		if fl.key != "" && !c.force && e.isLoaded(c.tableKey(), fl.key) {
			continue
		}
		loads = append(loads, fl)
	}
	return loads, nil
}

// copyFiles selects the stage files a COPY considers: FILES, or PATTERN,
// or every file under the stage path. A FILES entry that does not exist
// comes back with an empty abs path.
func (e *Emulator) copyFiles(sr *stageRef, opts map[string]optVal) ([]stageFile, error) {
	all, err := listStage(sr)
	if err != nil {
		return nil, err
	}
	if v, ok := opts["FILES"]; ok {
		list := v.list
		if list == nil && v.s != "" {
			list = []string{v.s}
		}
		if len(list) > 1000 {
			return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nFILES can name at most 1000 files")
		}
		prefix := sr.sub
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		var out []stageFile
		for _, n := range list {
			rel := prefix + strings.TrimLeft(n, "/")
			found := stageFile{rel: rel}
			for _, f := range all {
				if f.rel == rel {
					found = f
				}
			}
			out = append(out, found)
		}
		return out, nil
	}
	re, err := patternOpt(opts)
	if err != nil {
		return nil, err
	}
	if re == nil {
		return all, nil
	}
	var out []stageFile
	for _, f := range all {
		if re.MatchString(f.rel) {
			out = append(out, f)
		}
	}
	return out, nil
}

// purgeLoaded removes the files that loaded (PURGE = TRUE).
func purgeLoaded(ctx context.Context, sr *stageRef, loads []*fileLoad) error {
	for _, fl := range loads {
		if fl.status == "LOAD_FAILED" || fl.file.abs == "" {
			continue
		}
		if fl.file.remote {
			if err := removeExternal(ctx, sr, fl.file); err != nil {
				return err
			}
		} else {
			_ = os.Remove(fl.file.abs)
		}
	}
	return nil
}
