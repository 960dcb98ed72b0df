package snowflaketest

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
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
	"github.com/klauspost/compress/zstd"
)

// column is a target table column.
type column struct {
	name     string
	duckType string
	notNull  bool
}

func (e *Emulator) tableColumns(ctx context.Context, s *session, db, sch, table string) ([]column, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT column_name, data_type, NOT is_nullable FROM duckdb_columns()
		WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)
		ORDER BY column_index`, db, sch, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.duckType, &c.notNull); err != nil {
			return nil, err
		}
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
		case "STRIP_OUTER_ARRAY":
			f.stripOuterArray, err = boolOpt(o, k, false)
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
	if match != "" && ff.typ == "CSV" {
		return nil, unsupported("MATCH_BY_COLUMN_NAME with CSV (needs PARSE_HEADER)")
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
		if f.abs == "" {
			fl.missing = true
			loads = append(loads, fl)
			continue
		}
		data, err := os.ReadFile(f.abs)
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: copy: %w", err)
		}
		sum := sha256.Sum256(data)
		fl.key = sr.dir + "\x00" + f.rel + "\x00" + hex.EncodeToString(sum[:])
		e.mu.Lock()
		done := e.loadMeta[tableKey][fl.key]
		e.mu.Unlock()
		if done && !force {
			continue
		}
		fl.file.size = int64(len(data))
		loads = append(loads, fl)
		_ = data
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
		if err := e.stageFile(ctx, s, fl, ff, target, match, table); err != nil {
			return nil, err
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
	if err := e.insertStaged(ctx, s, loads, db, sch, table, target); err != nil {
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
	if err := e.recordLoads(ctx, tableKey, loaded); err != nil {
		return nil, err
	}
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
			_ = os.Remove(fl.file.abs)
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
				casts = append(casts, fmt.Sprintf("CAST(c%d AS %s) AS %s", k+1, c.duckType, quoteIdent(c.name)))
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
	res := &result{typeID: stmtCopy, rowtype: []rowType{
		textCol("ERROR"), textCol("FILE"), fixedCol("LINE"), fixedCol("CHARACTER"), fixedCol("BYTE_OFFSET"), textCol("CATEGORY"),
		fixedCol("CODE"), textCol("SQL_STATE"), textCol("COLUMN_NAME"), fixedCol("ROW_NUMBER"), fixedCol("ROW_START_LINE"), textCol("REJECTED_RECORD"),
	}}
	for _, fl := range loads {
		for _, le := range fl.errs {
			cat := "conversion"
			switch le.err.Number {
			case errColumnCount, errJSON, 100109:
				cat = "parsing"
			}
			res.rowset = append(res.rowset, []*string{strp(le.err.Message), strp(fl.name), strp(strconv.Itoa(le.line)), strp(strconv.Itoa(le.char)),
				nil, strp(cat), strp(strconv.Itoa(le.err.Number)), strp(le.err.SQLState), strp(le.column), strp(strconv.Itoa(le.row + 1)),
				strp(strconv.Itoa(le.line)), nil})
		}
	}
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

// decompress returns the file's content per COMPRESSION.
func decompress(data []byte, comp string) ([]byte, error) {
	if comp == "AUTO" {
		switch {
		case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
			comp = "GZIP"
		case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			comp = "ZSTD"
		case bytes.HasPrefix(data, []byte("BZh")):
			comp = "BZ2"
		default:
			comp = "NONE"
		}
	}
	var r io.Reader
	switch comp {
	case "NONE":
		return data, nil
	case "GZIP":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		r = zr
	case "ZSTD":
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	case "BZ2":
		r = bzip2.NewReader(bytes.NewReader(data))
	}
	return io.ReadAll(r)
}

// record is one parsed CSV record or JSON document.
type record struct {
	line   int
	fields []field
}

type field struct {
	val  *string
	char int
}

// parseCSV splits data into records per the CSV file format.
func parseCSV(data []byte, ff fileFormat) []record {
	var recs []record
	delim := []byte(ff.delimiter)
	line, pos := 1, 0
	for pos < len(data) {
		lineStart := pos
		rec := record{line: line}
		for {
			f := field{char: pos - lineStart + 1}
			var val []byte
			quoted := false
			if ff.enclosure != 0 && pos < len(data) && data[pos] == ff.enclosure {
				quoted = true
				pos++
				for pos < len(data) {
					c := data[pos]
					if c == ff.enclosure {
						if pos+1 < len(data) && data[pos+1] == ff.enclosure {
							val = append(val, c)
							pos += 2
							continue
						}
						pos++
						break
					}
					if c == '\n' {
						line++
						lineStart = pos + 1
					}
					val = append(val, c)
					pos++
				}
				for pos < len(data) && data[pos] != '\n' && !bytes.HasPrefix(data[pos:], delim) {
					val = append(val, data[pos])
					pos++
				}
			} else {
				for pos < len(data) && data[pos] != '\n' && !bytes.HasPrefix(data[pos:], delim) {
					if ff.escape != 0 && data[pos] == ff.escape && pos+1 < len(data) && data[pos+1] != '\n' {
						val = append(val, data[pos], data[pos+1])
						pos += 2
						continue
					}
					val = append(val, data[pos])
					pos++
				}
			}
			atEOL := pos >= len(data) || data[pos] == '\n'
			if atEOL && !quoted {
				val = bytes.TrimSuffix(val, []byte("\r"))
			}
			f.val = csvValue(val, quoted, ff)
			rec.fields = append(rec.fields, f)
			if atEOL {
				pos++
				break
			}
			pos += len(delim)
		}
		line++
		recs = append(recs, rec)
	}
	if ff.skipHeader > 0 {
		if ff.skipHeader >= len(recs) {
			return nil
		}
		recs = recs[ff.skipHeader:]
	}
	return recs
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

// stageFile parses one file into a temporary VARCHAR table and finds the
// rows whose values do not convert to the target columns.
func (e *Emulator) stageFile(ctx context.Context, s *session, fl *fileLoad, ff fileFormat, target []column, match, table string) error {
	raw, err := os.ReadFile(fl.file.abs)
	if err != nil {
		return fmt.Errorf("snowflaketest: copy: %w", err)
	}
	var data []byte
	if ff.typ != "PARQUET" {
		data, err = decompress(raw, ff.compression)
	}
	if err != nil {
		fl.errs = append(fl.errs, loadErr{line: 1, char: 1, err: sqlErr(100074, "22000", "Invalid data encountered during decompression for file: '%s', compression type used: '%s', cause: '%v'", fl.name, ff.compression, err)})
		return nil
	}
	colName := func(k int) string {
		return fmt.Sprintf("%s[%s:%d]", quoteIdent(table), quoteIdent(target[k].name), k+1)
	}
	var rows [][]*string
	var rowIdx []int // record index of each staged row
	var recs []record
	if ff.typ == "CSV" {
		recs = parseCSV(data, ff)
		for ri, r := range recs {
			if len(r.fields) != len(target) && ff.countMismatch {
				fl.errs = append(fl.errs, loadErr{row: ri, line: r.line, char: 1, column: fmt.Sprintf("%s[%d]", quoteIdent(table), len(r.fields)),
					err: sqlErr(errColumnCount, "22000", "Number of columns in file (%d) does not match that of the corresponding table (%d), use file format option error_on_column_count_mismatch=false to ignore this error", len(r.fields), len(target))})
				continue
			}
			vals := make([]*string, len(target))
			for k := range vals {
				if k < len(r.fields) {
					vals[k] = r.fields[k].val
				}
			}
			rows, rowIdx = append(rows, vals), append(rowIdx, ri)
		}
		fl.parsed = len(recs)
	} else {
		var docs []jsonDoc
		var perr *jsonParseErr
		if ff.typ == "PARQUET" {
			docs, perr = parquetDocs(ctx, s, fl.file.abs)
		} else {
			docs, perr = parseJSONDocs(data, ff.stripOuterArray)
		}
		for ri, d := range docs {
			recs = append(recs, record{line: d.line, fields: []field{{char: 1}}})
			vals := make([]*string, len(target))
			if match == "" {
				v := string(d.raw)
				vals[0] = &v
			} else {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(d.raw, &obj); err != nil {
					fl.errs = append(fl.errs, loadErr{row: ri, line: d.line, char: 1, column: quoteIdent(table),
						err: sqlErr(errJSON, "22P02", "JSON file format with MATCH_BY_COLUMN_NAME requires each document to be an object")})
					continue
				}
				for key, rv := range obj {
					for k, c := range target {
						if key == c.name || (match == "CASE_INSENSITIVE" && strings.EqualFold(key, c.name)) {
							vals[k] = jsonCell(rv, c.duckType)
						}
					}
				}
			}
			rows, rowIdx = append(rows, vals), append(rowIdx, ri)
		}
		fl.parsed = len(docs)
		if perr != nil {
			fl.parsed++
			pe := sqlErr(errJSON, "22P02", "Error parsing JSON: %s", perr.msg)
			if ff.typ == "PARQUET" {
				pe = sqlErr(errGeneric, "22000", "%s", perr.msg)
			}
			fl.errs = append(fl.errs, loadErr{row: len(docs), line: perr.line, char: perr.char, column: quoteIdent(table), err: pe})
		}
	}
	if len(rows) > 0 {
		fl.tmp = fmt.Sprintf("_sfcopy_%s", randomHex(6))
		defs := []string{"__row INTEGER"}
		for k := range target {
			defs = append(defs, fmt.Sprintf("c%d VARCHAR", k+1))
		}
		if _, err := s.conn.ExecContext(ctx, "CREATE TEMP TABLE "+fl.tmp+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return fmt.Errorf("snowflaketest: copy staging: %w", err)
		}
		err := s.conn.Raw(func(dc any) error {
			app, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", fl.tmp)
			if err != nil {
				return err
			}
			args := make([]driver.Value, len(target)+1)
			for i, r := range rows {
				args[0] = int32(i)
				for k, v := range r {
					if v == nil {
						args[k+1] = nil
					} else {
						args[k+1] = *v
					}
				}
				if err := app.AppendRow(args...); err != nil {
					_ = app.Close()
					return err
				}
			}
			return app.Close()
		})
		if err != nil {
			return fmt.Errorf("snowflaketest: copy staging: %w", err)
		}
		// Find rows whose values do not convert.
		var cases []string
		for k, c := range target {
			cases = append(cases, fmt.Sprintf("WHEN c%d IS NOT NULL AND TRY_CAST(c%d AS %s) IS NULL THEN %d", k+1, k+1, c.duckType, k+1))
			if c.notNull {
				cases = append(cases, fmt.Sprintf("WHEN c%d IS NULL THEN %d", k+1, -(k+1)))
			}
		}
		q := "SELECT __row, bad FROM (SELECT __row, CASE " + strings.Join(cases, " ") + " END AS bad FROM temp.main." + fl.tmp + ") WHERE bad IS NOT NULL ORDER BY __row"
		brows, err := s.conn.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("snowflaketest: copy validation: %w", err)
		}
		var badRows []int
		for brows.Next() {
			var r, bad int
			if err := brows.Scan(&r, &bad); err != nil {
				brows.Close()
				return fmt.Errorf("snowflaketest: copy validation: %w", err)
			}
			badRows = append(badRows, r)
			k := bad
			if k < 0 {
				k = -k
			}
			k--
			ri := rowIdx[r]
			rec := recs[ri]
			char := 1
			if k < len(rec.fields) {
				char = rec.fields[k].char
			}
			var se *SQLError
			if bad < 0 {
				se = sqlErr(errNotNull, "22000", "NULL result in a non-nullable column")
			} else {
				se = conversionError(target[k].duckType, *rows[r][k], nil)
			}
			fl.errs = append(fl.errs, loadErr{row: ri, line: rec.line, char: char, column: colName(k), err: se})
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
	}
	sort.SliceStable(fl.errs, func(i, j int) bool { return fl.errs[i].row < fl.errs[j].row })
	return nil
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
			casts = append(casts, fmt.Sprintf("CAST(c%d AS %s)", k+1, c.duckType))
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
			strings.Join(casts, ", ") + " FROM temp.main." + fl.tmp + " ORDER BY __row"
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

// jsonDoc is one JSON document of a file.
type jsonDoc struct {
	raw  json.RawMessage
	line int
}

type jsonParseErr struct {
	line, char int
	msg        string
}

// parseJSONDocs reads concatenated JSON documents (NDJSON included), or the
// elements of one outer array when strip is set. Parsing stops at the first
// syntax error, which is returned with its position.
func parseJSONDocs(data []byte, strip bool) ([]jsonDoc, *jsonParseErr) {
	posErr := func(off int64, err error) *jsonParseErr {
		o := int(off)
		if o > len(data) {
			o = len(data)
		}
		line := 1 + bytes.Count(data[:o], []byte("\n"))
		char := o - bytes.LastIndexByte(data[:o], '\n')
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &jsonParseErr{line: line, char: char, msg: se.Error()}
		}
		return &jsonParseErr{line: line, char: char, msg: err.Error()}
	}
	lineAt := func(off int64) int {
		o := int(off)
		for o < len(data) && (data[o] == ' ' || data[o] == '\n' || data[o] == '\r' || data[o] == '\t' || data[o] == ',') {
			o++
		}
		return 1 + bytes.Count(data[:min(o, len(data))], []byte("\n"))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var docs []jsonDoc
	if strip {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return nil, nil
			}
			return nil, posErr(dec.InputOffset(), err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			// Not an array: the whole file is one document.
			dec = json.NewDecoder(bytes.NewReader(data))
			strip = false
		} else {
			for dec.More() {
				line := lineAt(dec.InputOffset())
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return docs, posErr(dec.InputOffset(), err)
				}
				docs = append(docs, jsonDoc{raw: raw, line: line})
			}
			if _, err := dec.Token(); err != nil {
				return docs, posErr(dec.InputOffset(), err)
			}
			return docs, nil
		}
	}
	for {
		line := lineAt(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, posErr(dec.InputOffset(), err)
		}
		docs = append(docs, jsonDoc{raw: raw, line: line})
	}
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
func jsonCell(v json.RawMessage, duckType string) *string {
	t := strings.TrimSpace(string(v))
	if t == "null" {
		return nil
	}
	if strings.EqualFold(duckType, "JSON") {
		return &t
	}
	if strings.HasPrefix(t, `"`) {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return &s
		}
	}
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
		raw, err := os.ReadFile(f.abs)
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: bind stage: %w", err)
		}
		data, err := decompress(raw, "AUTO")
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
