package snowflaketest

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// column is a target table column.
type column struct {
	name     string
	duckType string
	notNull  bool
	maxLen   int    // declared VARCHAR(n) length; 0 when unbounded
	decl     string // declared Snowflake type; "" when not known
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

// onError is the parsed ON_ERROR copy option.
type onError struct {
	mode    string // ABORT_STATEMENT, CONTINUE, SKIP_FILE
	limit   int    // SKIP_FILE_n
	percent float64
}

func parseOnError(v string) (onError, error) {
	u := strings.ToUpper(strings.TrimSpace(v))
	switch {
	case u == "ABORT_STATEMENT", u == "CONTINUE":
		return onError{mode: u}, nil
	case u == "SKIP_FILE":
		return onError{mode: "SKIP_FILE", limit: 1}, nil
	case strings.HasPrefix(u, "SKIP_FILE_"):
		n := strings.TrimPrefix(u, "SKIP_FILE_")
		if p, ok := strings.CutSuffix(n, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err == nil && f > 0 && f <= 100 {
				return onError{mode: "SKIP_FILE", percent: f}, nil
			}
		} else if k, err := strconv.Atoi(n); err == nil && k > 0 {
			return onError{mode: "SKIP_FILE", limit: k}, nil
		}
	}
	return onError{}, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'ON_ERROR'", v)
}

// fileFormat is the effective FILE_FORMAT of a COPY.
type fileFormat struct {
	typ             string
	compression     string
	delimiter       string
	skipHeader      int
	enclosure       byte
	nullIf          []string
	emptyAsNull     bool
	countMismatch   bool
	trimSpace       bool
	escape          byte
	stripOuterArray bool
	stripNulls      bool
	parseHeader     bool
	countMismatchN  int // fields a record must have (the header's), when PARSE_HEADER is set
}

func buildFormat(o map[string]optVal) (fileFormat, error) {
	f := fileFormat{typ: "CSV", compression: "AUTO", delimiter: ",", nullIf: []string{`\N`}, emptyAsNull: true, countMismatch: true, escape: '\\'}
	if v, ok := o["TYPE"]; ok {
		f.typ = strings.ToUpper(v.s)
	}
	switch f.typ {
	case "CSV", "JSON", "PARQUET":
	case "AVRO", "ORC", "XML":
		return f, unsupported("FILE_FORMAT TYPE = " + f.typ)
	default:
		return f, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'TYPE'", f.typ)
	}
	bad := func(k, v string) error {
		return sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter '%s'", v, k)
	}
	for k, v := range o {
		var err error
		switch k {
		case "TYPE":
		case "COMPRESSION":
			f.compression = strings.ToUpper(v.s)
			switch f.compression {
			case "AUTO", "GZIP", "ZSTD", "BZ2", "NONE":
			default:
				return f, unsupported("COMPRESSION = " + f.compression)
			}
		case "FIELD_DELIMITER":
			if f.typ != "CSV" || v.s == "" {
				return f, bad(k, v.s)
			}
			f.delimiter = v.s
		case "SKIP_HEADER":
			f.skipHeader, err = strconv.Atoi(v.s)
			if err != nil || f.skipHeader < 0 {
				return f, bad(k, v.s)
			}
		case "FIELD_OPTIONALLY_ENCLOSED_BY":
			switch {
			case strings.EqualFold(v.s, "NONE"):
				f.enclosure = 0
			case len(v.s) == 1:
				f.enclosure = v.s[0]
			default:
				return f, bad(k, v.s)
			}
		case "NULL_IF":
			f.nullIf = v.list
			if v.list == nil && v.s != "" {
				f.nullIf = []string{v.s}
			}
		case "EMPTY_FIELD_AS_NULL":
			f.emptyAsNull, err = boolOpt(o, k, true)
		case "ERROR_ON_COLUMN_COUNT_MISMATCH":
			f.countMismatch, err = boolOpt(o, k, true)
		case "TRIM_SPACE":
			f.trimSpace, err = boolOpt(o, k, false)
		case "ESCAPE_UNENCLOSED_FIELD":
			switch {
			case strings.EqualFold(v.s, "NONE"):
				f.escape = 0
			case len(v.s) == 1:
				f.escape = v.s[0]
			default:
				return f, bad(k, v.s)
			}
		case "BINARY_AS_TEXT":
			if f.typ != "PARQUET" {
				return f, unsupported("file format option BINARY_AS_TEXT for " + f.typ)
			}
			if on, err := boolOpt(o, k, true); err != nil || !on {
				return f, unsupported("BINARY_AS_TEXT = FALSE")
			}
		case "USE_LOGICAL_TYPE":
			// DuckDB's read_parquet always reads DATE and TIMESTAMP
			// logical types as such.
			if f.typ != "PARQUET" {
				return f, unsupported("file format option USE_LOGICAL_TYPE for " + f.typ)
			}
			if on, err := boolOpt(o, k, false); err != nil || !on {
				return f, unsupported("USE_LOGICAL_TYPE = FALSE")
			}
		case "STRIP_OUTER_ARRAY":
			f.stripOuterArray, err = boolOpt(o, k, false)
		case "PARSE_HEADER":
			if f.typ != "CSV" {
				return f, bad(k, v.s)
			}
			f.parseHeader, err = boolOpt(o, k, false)
		case "STRIP_NULL_VALUES":
			f.stripNulls, err = boolOpt(o, k, false)
		case "RECORD_DELIMITER":
			if v.s != "\n" && v.s != `\n` && !strings.EqualFold(v.s, "NONE") {
				return f, unsupported("RECORD_DELIMITER other than newline")
			}
		case "FORMAT_NAME":
			return f, unsupported("named file formats (FORMAT_NAME)")
		default:
			return f, unsupported("file format option " + k)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
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
	tmp     string
	missing bool
	// keyPrefix + content hash is the load metadata key.
	keyPrefix string
	skipped   bool // already loaded: found out after reading it
}

// copyInto runs COPY INTO <table> FROM @stage.
func (e *Emulator) copyInto(ctx context.Context, s *session, ws []token) (*result, error) {
	if len(ws) < 3 || !ws[1].is("INTO") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: expected COPY INTO")
	}
	if ws[2].kind == tkStage {
		return nil, unsupported("COPY INTO <location> (unloading)")
	}
	names, i := parseName(ws, 2)
	db, sch := s.db, s.schema
	var table string
	switch len(names) {
	case 1:
		table = names[0]
	case 2:
		sch, table = names[0], names[1]
	case 3:
		db, sch, table = names[0], names[1], names[2]
	default:
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: table name expected after COPY INTO")
	}
	if db == "" {
		return nil, sqlErr(errNoCurrentDB, "22000", "Cannot perform COPY. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.")
	}
	cols, err := e.tableColumns(ctx, s, db, sch, table)
	if err != nil {
		return nil, err
	}
	target := cols
	if i < len(ws) && ws[i].text == "(" {
		target = nil
		for i++; i < len(ws) && ws[i].text != ")"; i++ {
			if ws[i].text == "," {
				continue
			}
			n := identName(ws[i])
			found := false
			for _, c := range cols {
				if strings.EqualFold(c.name, n) {
					target, found = append(target, c), true
					break
				}
			}
			if !found {
				return nil, sqlErr(errInvalidIdent, "42000", "SQL compilation error:\ninvalid identifier '%s'", n)
			}
		}
		i++
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
	sr, err := e.resolveStage(ctx, s, ws[i].text, true)
	if err != nil {
		return nil, err
	}
	opts, _, err := parseOptions(ws, i+1)
	if err != nil {
		return nil, err
	}
	ffOpts := sr.stageFormat()
	if v, ok := opts["FILE_FORMAT"]; ok {
		for k, sv := range v.sub {
			ffOpts[k] = sv
		}
	}
	ff, err := buildFormat(ffOpts)
	if err != nil {
		return nil, err
	}
	oe := onError{mode: "ABORT_STATEMENT"}
	force, purge := false, false
	match, validation := "", ""
	for k, v := range opts {
		switch k {
		case "FILE_FORMAT", "FILES", "PATTERN":
		case "ON_ERROR":
			if oe, err = parseOnError(v.s); err != nil {
				return nil, err
			}
		case "FORCE":
			if force, err = boolOpt(opts, k, false); err != nil {
				return nil, err
			}
		case "PURGE":
			if purge, err = boolOpt(opts, k, false); err != nil {
				return nil, err
			}
		case "VALIDATION_MODE":
			validation = strings.ToUpper(v.s)
			if validation != "RETURN_ERRORS" && validation != "RETURN_ALL_ERRORS" && !reReturnRows.MatchString(validation) {
				return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'VALIDATION_MODE'", v.s)
			}
		case "MATCH_BY_COLUMN_NAME":
			match = strings.ToUpper(v.s)
			switch match {
			case "NONE":
				match = ""
			case "CASE_SENSITIVE", "CASE_INSENSITIVE":
			default:
				return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'MATCH_BY_COLUMN_NAME'", v.s)
			}
		default:
			return nil, unsupported("copy option " + k)
		}
	}
	if ff.typ == "CSV" && ff.parseHeader && ff.skipHeader > 0 {
		return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nPARSE_HEADER = TRUE and SKIP_HEADER cannot be used together")
	}
	if match != "" && ff.typ == "CSV" && !ff.parseHeader {
		return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nMATCH_BY_COLUMN_NAME with CSV requires PARSE_HEADER = TRUE in the file format")
	}
	if ff.typ != "CSV" && match == "" && (len(target) != 1 || !strings.EqualFold(target[0].duckType, "JSON")) {
		return nil, sqlErr(errOneVariant, "0A000", "SQL compilation error:\n%s file format can produce one and only one column of type variant, object, or array. Use CSV file format if you want to load more than one column.", ff.typ)
	}
	files, err := e.copyFiles(sr, opts)
	if err != nil {
		return nil, err
	}
	tableKey := db + "." + sch + "." + table
	var loads []*fileLoad
	for _, f := range files {
		fl := &fileLoad{name: sr.prefix + f.rel, file: f}
		if f.remote {
			// External stages: the ETag identifies the content; the
			// object is fetched only when it is to be loaded.
			fl.keyPrefix = sr.url + "\x00" + f.rel + "\x00"
			fl.key = fl.keyPrefix + f.etag
			if e.isLoaded(tableKey, fl.key) && !force {
				continue
			}
			loads = append(loads, fl)
			continue
		}
		if f.abs == "" {
			fl.missing = true
			loads = append(loads, fl)
			continue
		}
		// A file whose hash is known (it came through PUT, or an earlier
		// COPY read it) and that is already loaded is skipped unread;
		// otherwise the hash is computed while the file is parsed.
		fl.keyPrefix = sr.dir + "\x00" + f.rel + "\x00"
		if sum, ok := e.hashes.get(f.abs, f.size, f.mod); ok {
			fl.key = fl.keyPrefix + sum
			if e.isLoaded(tableKey, fl.key) && !force {
				continue
			}
		}
		loads = append(loads, fl)
	}
	if len(loads) == 0 {
		return &result{typeID: stmtCopy, rowtype: []rowType{textCol("status")}, rowset: [][]*string{{strp("Copy executed with 0 files processed.")}}}, nil
	}
	defer func() {
		for _, fl := range loads {
			if fl.tmp != "" {
				_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.main."+fl.tmp)
			}
		}
	}()
	for _, fl := range loads {
		if fl.missing {
			fl.errs = []loadErr{{line: 0, err: sqlErr(100109, "22000", "Remote file '%s' was not found. There are several potential causes. The file might not exist. The required credentials may be missing or invalid.", fl.name)}}
			continue
		}
		if fl.file.remote {
			p, err := e.fetchExternal(ctx, sr, fl.file)
			if err != nil {
				return nil, err
			}
			defer os.Remove(p)
			fl.file.abs = p
			key := fl.key
			if err := e.stageFile(ctx, s, fl, ff, target, match, table); err != nil {
				return nil, err
			}
			fl.key = key
		} else {
			known := fl.key != ""
			if err := e.stageFile(ctx, s, fl, ff, target, match, table); err != nil {
				return nil, err
			}
			if !known && fl.key != "" {
				e.hashes.put(fl.file.abs, strings.TrimPrefix(fl.key, fl.keyPrefix))
				if e.isLoaded(tableKey, fl.key) && !force {
					fl.skipped = true
					continue
				}
			}
		}
		if e.failFile(fl.name) {
			fl.errs = fl.errs[:0]
			for r := 0; r < max(fl.parsed, 1); r++ {
				fl.errs = append(fl.errs, loadErr{row: r, line: r + 1, char: 1, column: quoteIdent(table),
					err: sqlErr(errGeneric, "XX000", "Injected load failure for file '%s'", fl.name)})
			}
			fl.parsed = max(fl.parsed, 1)
		}
	}
	kept := loads[:0:0]
	for _, fl := range loads {
		if fl.skipped {
			if fl.tmp != "" {
				_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.main."+fl.tmp)
				fl.tmp = ""
			}
			continue
		}
		kept = append(kept, fl)
	}
	if len(kept) == 0 {
		return &result{typeID: stmtCopy, rowtype: []rowType{textCol("status")}, rowset: [][]*string{{strp("Copy executed with 0 files processed.")}}}, nil
	}
	loads = kept
	if validation != "" {
		return e.validate(ctx, s, loads, validation, target)
	}
	// Decide each file's status.
	for _, fl := range loads {
		nerr := len(fl.errs)
		switch oe.mode {
		case "ABORT_STATEMENT":
			fl.limit = 1
			if nerr > 0 {
				le := fl.errs[0]
				msg := le.err.Message
				if !fl.missing {
					msg = fmt.Sprintf("%s\n  File '%s', line %d, character %d\n  Row %d, column %s\n  If you would like to continue loading when an error is encountered, use other values such as 'SKIP_FILE' or 'CONTINUE' for the ON_ERROR option. For more information on loading options, please run 'info loading_data' in a SQL client.",
						le.err.Message, fl.name, le.line, le.char, le.row+1, le.column)
				}
				// VALIDATE of this failed job lists every error of every file.
				s.failedJob = &copyJob{table: tableKey, errs: errorRows(loads)}
				return nil, &SQLError{Number: le.err.Number, SQLState: le.err.SQLState, Message: msg, Err: le.err.Err}
			}
			fl.status, fl.loaded = "LOADED", fl.parsed
		case "CONTINUE":
			fl.limit = fl.parsed
			fl.loaded = fl.parsed - nerr
			switch {
			case nerr == 0:
				fl.status = "LOADED"
			case fl.loaded > 0:
				fl.status = "PARTIALLY_LOADED"
			default:
				fl.status, fl.loaded = "LOAD_FAILED", 0
			}
		case "SKIP_FILE":
			fl.limit = oe.limit
			if oe.percent > 0 {
				fl.limit = int(math.Floor(float64(fl.parsed)*oe.percent/100)) + 1
			}
			switch {
			case nerr == 0:
				fl.status, fl.loaded = "LOADED", fl.parsed
			case nerr >= fl.limit:
				fl.status, fl.loaded = "LOAD_FAILED", 0
			default:
				fl.status, fl.loaded = "PARTIALLY_LOADED", fl.parsed-nerr
			}
		}
	}
	if _, err := retryConflict(ctx, s, func() (bool, error) { return true, e.insertStaged(ctx, s, loads, db, sch, table, target) }); err != nil {
		return nil, err
	}
	res := &result{typeID: stmtCopy, rowtype: []rowType{
		textCol("file"), textCol("status"), fixedCol("rows_parsed"), fixedCol("rows_loaded"), fixedCol("error_limit"),
		fixedCol("errors_seen"), textCol("first_error"), fixedCol("first_error_line"), fixedCol("first_error_character"), textCol("first_error_column_name"),
	}}
	var loaded []string
	for _, fl := range loads {
		if fl.status != "LOAD_FAILED" && fl.key != "" {
			loaded = append(loaded, fl.key)
		}
	}
	if err := e.noteLoads(ctx, s, tableKey, loaded); err != nil {
		return nil, err
	}
	res.job = &copyJob{table: tableKey, errs: errorRows(loads)}
	e.noteHistory(s, db, sch, table, sr, loads)
	for _, fl := range loads {
		row := []*string{strp(fl.name), strp(fl.status), strp(strconv.Itoa(fl.parsed)), strp(strconv.Itoa(fl.loaded)),
			strp(strconv.Itoa(fl.limit)), strp(strconv.Itoa(len(fl.errs))), nil, nil, nil, nil}
		if len(fl.errs) > 0 {
			le := fl.errs[0]
			row[6] = strp(le.err.Message)
			if !fl.missing {
				row[7], row[8], row[9] = strp(strconv.Itoa(le.line)), strp(strconv.Itoa(le.char)), strp(le.column)
			}
		}
		res.rowset = append(res.rowset, row)
		if purge && fl.status != "LOAD_FAILED" && fl.file.abs != "" {
			if fl.file.remote {
				if err := removeExternal(ctx, sr, fl.file); err != nil {
					return nil, err
				}
			} else {
				_ = os.Remove(fl.file.abs)
			}
		}
	}
	return res, nil
}

var reReturnRows = regexp.MustCompile(`^RETURN_([0-9]+)_ROWS$`)

// validate answers COPY with VALIDATION_MODE: nothing is loaded.
// RETURN_ERRORS and RETURN_ALL_ERRORS list every rejected row;
// RETURN_n_ROWS returns the first n rows as they would load, or fails
// with the first error.
func (e *Emulator) validate(ctx context.Context, s *session, loads []*fileLoad, mode string, target []column) (*result, error) {
	if m := reReturnRows.FindStringSubmatch(mode); m != nil {
		n, _ := strconv.Atoi(m[1])
		for _, fl := range loads {
			if len(fl.errs) > 0 {
				le := fl.errs[0]
				return nil, &SQLError{Number: le.err.Number, SQLState: le.err.SQLState, Err: le.err.Err,
					Message: fmt.Sprintf("%s\n  File '%s', line %d, character %d\n  Row %d, column %s", le.err.Message, fl.name, le.line, le.char, le.row+1, le.column)}
			}
		}
		res := &result{typeID: stmtCopy}
		for _, c := range target {
			res.rowtype = append(res.rowtype, snowType(c.name, c.duckType))
		}
		var parts []string
		for i, fl := range loads {
			if fl.tmp == "" {
				continue
			}
			var casts []string
			for k, c := range target {
				casts = append(casts, castExpr(fmt.Sprintf("c%d", k+1), c.duckType, false)+" AS "+quoteIdent(c.name))
			}
			parts = append(parts, fmt.Sprintf("SELECT %d AS __f, __row, %s FROM temp.main.%s", i, strings.Join(casts, ", "), fl.tmp))
		}
		if len(parts) == 0 {
			return res, nil
		}
		var names []string
		for _, c := range target {
			names = append(names, quoteIdent(c.name))
		}
		q := "SELECT " + strings.Join(names, ", ") + " FROM (" + strings.Join(parts, " UNION ALL ") + ") ORDER BY __f, __row LIMIT " + strconv.Itoa(n)
		return queryRows(ctx, s.conn, q)
	}
	res := &result{typeID: stmtCopy}
	for i, c := range validateCols {
		if validateTypes[i] == "BIGINT" {
			res.rowtype = append(res.rowtype, fixedCol(c))
		} else {
			res.rowtype = append(res.rowtype, textCol(c))
		}
	}
	res.rowset = errorRows(loads)
	return res, nil
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

// record is one parsed CSV record or JSON document.
type record struct {
	line   int
	fields []field
	off    int64 // decompressed byte offset of the record in its file
	n      int   // its length in bytes
}

type field struct {
	val  *string
	char int
}

func csvValue(raw []byte, quoted bool, ff fileFormat) *string {
	s := string(raw)
	if ff.trimSpace {
		s = strings.TrimSpace(s)
	}
	if !quoted {
		for _, n := range ff.nullIf {
			if s == n {
				return nil
			}
		}
		if s == "" && ff.emptyAsNull {
			return nil
		}
		if ff.escape != 0 && strings.IndexByte(s, ff.escape) >= 0 {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				if s[i] == ff.escape && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte(s[i])
					}
					continue
				}
				b.WriteByte(s[i])
			}
			s = b.String()
		}
	} else {
		for _, n := range ff.nullIf {
			if s == n && n != "" {
				return nil
			}
		}
	}
	return &s
}

// stageFile streams one file into a temporary VARCHAR table (one row per
// record, with its record index, line and field positions) and finds the
// rows whose values do not convert to the target columns. The file is read
// once: decompressed, parsed and hashed (fl.key) in the same pass.
func (e *Emulator) stageFile(ctx context.Context, s *session, fl *fileLoad, ff fileFormat, target []column, match, table string) error {
	colName := func(k int) string {
		return fmt.Sprintf("%s[%s:%d]", quoteIdent(table), quoteIdent(target[k].name), k+1)
	}
	fl.tmp = fmt.Sprintf("_sfcopy_%s", randomHex(6))
	defs := []string{"__row INTEGER", "__line INTEGER", "__chars VARCHAR", "__off BIGINT", "__len INTEGER"}
	for k := range target {
		defs = append(defs, fmt.Sprintf("c%d VARCHAR", k+1))
	}
	if _, err := s.conn.ExecContext(ctx, "CREATE TEMP TABLE "+fl.tmp+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("snowflaketest: copy staging: %w", err)
	}
	var docs []jsonDoc // Parquet rows, read by DuckDB before the appender opens
	if ff.typ == "PARQUET" {
		var perr *jsonParseErr
		docs, perr = parquetDocs(ctx, s, fl.file.abs)
		if perr != nil {
			docs = append(docs, jsonDoc{line: perr.line, err: perr})
		}
		sum, err := hashFile(fl.file.abs)
		if err != nil {
			return fmt.Errorf("snowflaketest: copy: %w", err)
		}
		fl.key = fl.keyPrefix + sum
	}
	staged := 0
	err := s.conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", fl.tmp)
		if err != nil {
			return err
		}
		args := make([]driver.Value, len(target)+5)
		vals := make([]*string, len(target))
		byName, byUpper := make(map[string]int, len(target)), make(map[string]int, len(target))
		for k, c := range target {
			byName[c.name] = k
			if _, dup := byUpper[strings.ToUpper(c.name)]; !dup {
				byUpper[strings.ToUpper(c.name)] = k
			}
		}
		var chars []byte
		emit := func(ri, line int, chars []byte, off int64, n int) error {
			args[0], args[1] = int32(ri), int32(line)
			args[2] = nil
			if chars != nil {
				args[2] = string(chars)
			}
			args[3], args[4] = off, int32(n)
			for k, v := range vals {
				if v == nil {
					args[k+5] = nil
				} else {
					args[k+5] = *v
				}
			}
			staged++
			return app.AppendRow(args...)
		}
		jsonDocRow := func(ri int, d jsonDoc) error {
			if d.err != nil {
				pe := sqlErr(errJSON, "22P02", "Error parsing JSON: %s", d.err.msg)
				if ff.typ == "PARQUET" {
					pe = sqlErr(errGeneric, "22000", "%s", d.err.msg)
				}
				rec := strings.TrimRight(string(d.raw), "\r\n")
				fl.errs = append(fl.errs, loadErr{row: ri, line: d.err.line, char: d.err.char, column: quoteIdent(table), err: pe, record: &rec})
				return nil
			}
			clear(vals)
			if match == "" {
				v := string(d.raw)
				vals[0] = &v
			} else {
				isObj := objectMembers(d.raw, func(key, val []byte) {
					k, ok := byName[jsonString(key)]
					if !ok && match == "CASE_INSENSITIVE" {
						k, ok = byUpper[strings.ToUpper(jsonString(key))]
					}
					if ok {
						vals[k] = jsonCell(val, target[k].duckType)
					}
				})
				if !isObj {
					fl.errs = append(fl.errs, loadErr{row: ri, line: d.line, char: 1, column: quoteIdent(table),
						err: sqlErr(errJSON, "22P02", "JSON file format with MATCH_BY_COLUMN_NAME requires each document to be an object")})
					return nil
				}
			}
			return emit(ri, d.line, nil, d.off, len(d.raw))
		}
		if ff.typ == "PARQUET" {
			for ri, d := range docs {
				if err := jsonDocRow(ri, d); err != nil {
					_ = app.Close()
					return err
				}
			}
			fl.parsed = len(docs)
			return app.Close()
		}
		st, err := openStageStream(fl.file.abs, ff.compression)
		if err != nil {
			if os.IsNotExist(err) || errors.Is(err, os.ErrPermission) {
				_ = app.Close()
				return err
			}
			fl.errs = append(fl.errs, loadErr{line: 1, char: 1, err: decompressionError(fl.name, ff.compression, err)})
			sum, herr := hashFile(fl.file.abs)
			fl.key = fl.keyPrefix + sum
			if herr != nil {
				_ = app.Close()
				return herr
			}
			return app.Close()
		}
		defer st.close()
		ri := 0
		var readErr error
		var readLine int
		if ff.typ == "CSV" {
			cr := newCSVReader(st.r, ff)
			// With PARSE_HEADER, the first record names the fields;
			// MATCH_BY_COLUMN_NAME maps them to columns (pos[k] is the
			// field of target column k, -1 for none).
			var pos []int
			if ff.parseHeader {
				hdr, err := cr.next()
				if err != nil && err != io.EOF {
					readErr = err
				}
				pos = make([]int, len(target))
				for k := range pos {
					pos[k] = -1
				}
				for hi, f := range hdr.fields {
					if f.val == nil {
						continue
					}
					name := *f.val
					if k, ok := byName[name]; ok {
						pos[k] = hi
					} else if k, ok := byUpper[strings.ToUpper(name)]; ok && match != "CASE_SENSITIVE" {
						pos[k] = hi
					}
				}
				if match == "" {
					pos = nil
				}
				if ff.countMismatch {
					ff.countMismatchN = len(hdr.fields)
				}
			}
			for skip := ff.skipHeader; skip > 0; skip-- {
				if _, err := cr.next(); err != nil {
					if err != io.EOF {
						readErr = err
					}
					break
				}
			}
			for readErr == nil {
				r, err := cr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr, readLine = err, cr.line
					break
				}
				want := len(target)
				if ff.countMismatchN > 0 {
					want = ff.countMismatchN
				}
				if len(r.fields) != want && ff.countMismatch {
					rec := strings.TrimRight(string(cr.buf), "\r\n")
					fl.errs = append(fl.errs, loadErr{row: ri, line: r.line, char: 1, column: fmt.Sprintf("%s[%d]", quoteIdent(table), len(r.fields)), record: &rec,
						err: sqlErr(errColumnCount, "22000", "Number of columns in file (%d) does not match that of the corresponding table (%d), use file format option error_on_column_count_mismatch=false to ignore this error", len(r.fields), want)})
					ri++
					continue
				}
				chars = chars[:0]
				for k := range vals {
					vals[k] = nil
					fi := k
					if pos != nil {
						fi = pos[k]
					}
					if k > 0 {
						chars = append(chars, ',')
					}
					if fi >= 0 && fi < len(r.fields) {
						vals[k] = r.fields[fi].val
						chars = strconv.AppendInt(chars, int64(r.fields[fi].char), 10)
					} else {
						chars = append(chars, '1')
					}
				}
				if err := emit(ri, r.line, chars, r.off, r.n); err != nil {
					_ = app.Close()
					return err
				}
				ri++
			}
		} else {
			jr := newJSONReader(st.r, ff.stripOuterArray)
			for {
				d, err := jr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr, readLine = err, jr.line
					break
				}
				if err := jsonDocRow(ri, d); err != nil {
					_ = app.Close()
					return err
				}
				ri++
			}
		}
		fl.parsed = ri
		if readErr != nil {
			fl.errs = append(fl.errs, loadErr{row: ri, line: max(readLine, 1), char: 1, err: decompressionError(fl.name, ff.compression, readErr)})
			fl.parsed++
		}
		sum, err := st.finish()
		if err != nil {
			_ = app.Close()
			return err
		}
		fl.key = fl.keyPrefix + sum
		return app.Close()
	})
	if err != nil {
		return fmt.Errorf("snowflaketest: copy staging: %w", err)
	}
	if staged == 0 {
		sort.SliceStable(fl.errs, func(i, j int) bool { return fl.errs[i].row < fl.errs[j].row })
		return nil
	}
	// Find rows whose values do not convert, are NULL in a NOT NULL
	// column, or are longer than their VARCHAR(n).
	var cases, picks []string
	for k, c := range target {
		cases = append(cases, fmt.Sprintf("WHEN c%d IS NOT NULL AND %s IS NULL THEN %d", k+1, castExpr(fmt.Sprintf("c%d", k+1), c.duckType, true), k+1))
		if c.maxLen > 0 {
			cases = append(cases, fmt.Sprintf("WHEN c%d IS NOT NULL AND length(c%d) > %d THEN %d", k+1, k+1, c.maxLen, badTooLong+k+1))
		}
		if c.notNull {
			cases = append(cases, fmt.Sprintf("WHEN c%d IS NULL THEN %d", k+1, -(k+1)))
		}
		picks = append(picks, fmt.Sprintf("WHEN %d THEN c%d", k+1, k+1))
	}
	q := "SELECT __row, __line, __chars, __off, __len, bad, CASE abs(bad) % " + strconv.Itoa(badTooLong) + " " + strings.Join(picks, " ") + " END FROM (SELECT *, CASE " +
		strings.Join(cases, " ") + " END AS bad FROM temp.main." + fl.tmp + ") WHERE bad IS NOT NULL ORDER BY __row"
	brows, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("snowflaketest: copy validation: %w", err)
	}
	var badRows []int
	var spans []recordSpan
	for brows.Next() {
		var r, line, bad, n int
		var off int64
		var chars, val sql.NullString
		if err := brows.Scan(&r, &line, &chars, &off, &n, &bad, &val); err != nil {
			brows.Close()
			return fmt.Errorf("snowflaketest: copy validation: %w", err)
		}
		badRows = append(badRows, r)
		k := bad
		if k < 0 {
			k = -k
		}
		k = k%badTooLong - 1
		char := 1
		if chars.Valid {
			if parts := strings.Split(chars.String, ","); k < len(parts) {
				char, _ = strconv.Atoi(parts[k])
			}
		}
		var se *SQLError
		switch {
		case bad < 0:
			se = sqlErr(errNotNull, "22000", "NULL result in a non-nullable column")
		case bad > badTooLong:
			se = tooLongError(target[k].maxLen, val.String)
		default:
			se = conversionError(target[k].duckType, val.String, nil)
		}
		fl.errs = append(fl.errs, loadErr{row: r, line: line, char: char, column: colName(k), err: se})
		spans = append(spans, recordSpan{err: len(fl.errs) - 1, off: off, n: n})
	}
	brows.Close()
	if err := brows.Err(); err != nil {
		return fmt.Errorf("snowflaketest: copy validation: %w", err)
	}
	for start := 0; start < len(badRows); start += 1000 {
		end := min(start+1000, len(badRows))
		ids := make([]string, 0, end-start)
		for _, r := range badRows[start:end] {
			ids = append(ids, strconv.Itoa(r))
		}
		if _, err := s.conn.ExecContext(ctx, "DELETE FROM temp.main."+fl.tmp+" WHERE __row IN ("+strings.Join(ids, ",")+")"); err != nil {
			return fmt.Errorf("snowflaketest: copy validation: %w", err)
		}
	}
	if len(spans) > 0 && ff.typ != "PARQUET" {
		if err := fillRecords(fl, ff, spans); err != nil {
			return fmt.Errorf("snowflaketest: copy: rejected records: %w", err)
		}
	}
	sort.SliceStable(fl.errs, func(i, j int) bool { return fl.errs[i].row < fl.errs[j].row })
	return nil
}

// recordSpan locates the text of a rejected record in the decompressed
// file: fl.errs[err] gets it.
type recordSpan struct {
	err int
	off int64
	n   int
}

// maxRejectedRecords bounds the rejected records kept per file (VALIDATE's
// REJECTED_RECORD); later errors have none.
const maxRejectedRecords = 10000

// fillRecords reads the rejected records' text: the file is read a second
// time, only when some of its rows were rejected, up to the last one.
func fillRecords(fl *fileLoad, ff fileFormat, spans []recordSpan) error {
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	if len(spans) > maxRejectedRecords {
		spans = spans[:maxRejectedRecords]
	}
	st, err := openStageStream(fl.file.abs, ff.compression)
	if err != nil {
		return err
	}
	defer st.close()
	var pos int64
	for _, sp := range spans {
		if sp.off < pos {
			continue
		}
		if _, err := io.CopyN(io.Discard, st.r, sp.off-pos); err != nil {
			return err
		}
		buf := make([]byte, sp.n)
		if _, err := io.ReadFull(st.r, buf); err != nil {
			return err
		}
		pos = sp.off + int64(sp.n)
		rec := strings.TrimRight(string(buf), "\r\n")
		fl.errs[sp.err].record = &rec
	}
	return nil
}

// castExpr converts the VARCHAR expression col to duckType (TRY_CAST when
// try is set). DuckDB converts text to a DECIMAL wider than 18 digits
// about 100 times slower than to one of at most 18, so such casts try the
// narrow type first and fall back to the wide one only for the values
// that need it.
func castExpr(col, duckType string, try bool) string {
	c := "CAST"
	if try {
		c = "TRY_CAST"
	}
	if strings.EqualFold(duckType, "JSON") && try {
		return "CASE WHEN json_valid(" + col + ") THEN " + col + " END"
	}
	switch strings.ToUpper(duckType) {
	case "TIMESTAMP":
		return "sf_ts_ntz(" + col + ")"
	case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return "sf_ts_tz(" + col + ")"
	}
	if m := reDecimal.FindStringSubmatch(strings.ToUpper(strings.ReplaceAll(duckType, " ", ""))); m != nil {
		p, _ := strconv.Atoi(m[1])
		sc, _ := strconv.Atoi(m[2])
		if p > 18 && sc <= 18 {
			return fmt.Sprintf("COALESCE(CAST(TRY_CAST(%s AS DECIMAL(18,%d)) AS %s), %s(%s AS %s))", col, sc, duckType, c, col, duckType)
		}
	}
	return c + "(" + col + " AS " + duckType + ")"
}

// badTooLong offsets the validation code of a value longer than its
// column's VARCHAR(n).
const badTooLong = 1 << 20

// tooLongError is Snowflake's error for a string longer than its column.
func tooLongError(n int, value string) *SQLError {
	return sqlErr(errTooLong, "22000", "User character length limit (%d) exceeded by string '%s'", n, value)
}

func decompressionError(name, comp string, err error) *SQLError {
	return sqlErr(errDecompress, "22000", "Invalid data encountered during decompression for file: '%s', compression type used: '%s', cause: '%v'", name, comp, err)
}

// insertStaged moves the good rows of every file that is not LOAD_FAILED
// into the table, in one transaction unless the session has one open.
func (e *Emulator) insertStaged(ctx context.Context, s *session, loads []*fileLoad, db, sch, table string, target []column) error {
	var colList, casts []string
	for k, c := range target {
		colList = append(colList, quoteIdent(c.name))
		if strings.EqualFold(c.duckType, "JSON") {
			casts = append(casts, fmt.Sprintf("json(c%d)", k+1)) // minified, as Snowflake stores parsed VARIANT
		} else {
			casts = append(casts, castExpr(fmt.Sprintf("c%d", k+1), c.duckType, false))
		}
	}
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
	}
	for _, fl := range loads {
		if fl.status == "LOAD_FAILED" || fl.tmp == "" || fl.loaded == 0 {
			continue
		}
		q := "INSERT INTO " + quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table) + " (" + strings.Join(colList, ", ") + ") SELECT " +
			strings.Join(casts, ", ") + " FROM temp.main." + fl.tmp
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			e.rollback(ctx, s)
			return err
		}
	}
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
	}
	return nil
}

// parquetDocs reads a Parquet file with DuckDB, one JSON object per row
// (column name → value), so Parquet loads share the JSON path: a single
// VARIANT column, or MATCH_BY_COLUMN_NAME.
func parquetDocs(ctx context.Context, s *session, path string) ([]jsonDoc, *jsonParseErr) {
	rows, err := s.conn.QueryContext(ctx, "SELECT CAST(to_json(p) AS VARCHAR) FROM read_parquet("+quoteString(path)+") AS p")
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		return nil, &jsonParseErr{line: 1, char: 1, msg: "Error parsing the parquet file: " + first}
	}
	defer rows.Close()
	var docs []jsonDoc
	for rows.Next() {
		var j string
		if err := rows.Scan(&j); err != nil {
			return docs, &jsonParseErr{line: len(docs) + 1, char: 1, msg: err.Error()}
		}
		docs = append(docs, jsonDoc{raw: json.RawMessage(j), line: len(docs) + 1})
	}
	if err := rows.Err(); err != nil {
		return docs, &jsonParseErr{line: len(docs) + 1, char: 1, msg: err.Error()}
	}
	return docs, nil
}

// jsonCell renders a JSON value for a column: JSON columns get the JSON
// text, other columns get strings unquoted and scalars as written.
func jsonCell(v []byte, duckType string) *string {
	v = bytes.TrimSpace(v)
	if string(v) == "null" {
		return nil
	}
	if len(v) > 0 && v[0] == '"' && !strings.EqualFold(duckType, "JSON") {
		s := jsonString(v)
		return &s
	}
	t := string(v)
	return &t
}

// bindStageRows reads the CSV files the driver uploaded to its temporary
// bind stage (bindStage "@SYSTEM$BIND/<request id>") as rows of text binds.
func (e *Emulator) bindStageRows(ctx context.Context, s *session, stage string, nParams int) ([][]bindValue, error) {
	sr, err := e.resolveStage(ctx, s, stage, true)
	if err != nil {
		return nil, err
	}
	files, err := listStage(sr)
	if err != nil {
		return nil, err
	}
	ff := fileFormat{typ: "CSV", delimiter: ",", enclosure: '"', emptyAsNull: true, countMismatch: true}
	var out [][]bindValue
	for _, f := range files {
		st, err := openStageStream(f.abs, "AUTO")
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: bind stage: %w", err)
		}
		data, err := io.ReadAll(st.r)
		st.close()
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: bind stage: %w", err)
		}
		for _, r := range parseCSV(data, ff) {
			if len(r.fields) != nParams {
				return nil, sqlErr(errColumnCount, "22000", "Number of columns in file (%d) does not match the number of bind variables (%d)", len(r.fields), nParams)
			}
			row := make([]bindValue, nParams)
			for k, fld := range r.fields {
				if fld.val == nil {
					row[k] = bindValue{null: true, typ: "TEXT"}
				} else {
					row[k] = bindValue{typ: "TEXT", s: *fld.val}
				}
			}
			out = append(out, row)
		}
	}
	return out, nil
}
