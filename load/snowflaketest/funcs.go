package snowflaketest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Snowflake functions and table functions that need the emulator's own
// state (the session's user and last queries, COPY jobs, load history,
// pipes) are rewritten before translation: a call becomes a literal, a
// table function becomes a subquery over VALUES.
//
// To add one: give callRewrites (scalar calls, answered with a literal)
// or tableFuncs (TABLE(f(...)) and bare f(...) in FROM, answered with a
// virtual table) an entry.

// vtable is a virtual table: column names (as Snowflake names them), their
// DuckDB types and rows of text values (nil is NULL).
type vtable struct {
	cols  []string
	types []string
	rows  [][]*string
}

// sql renders t as a parenthesized subquery.
func (t *vtable) sql() string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "CAST(_v%d AS %s) AS %s", i+1, t.types[i], quoteIdent(c))
	}
	b.WriteString(" FROM (VALUES ")
	if len(t.rows) == 0 {
		b.WriteString("(")
		for i := range t.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("NULL")
		}
		b.WriteString(")")
	}
	for r, row := range t.rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i := range t.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			if i >= len(row) || row[i] == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(quoteString(*row[i]))
			}
		}
		b.WriteString(")")
	}
	b.WriteString(") AS _vt(")
	for i := range t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "_v%d", i+1)
	}
	b.WriteString(")")
	if len(t.rows) == 0 {
		b.WriteString(" WHERE false")
	}
	b.WriteString(")")
	return b.String()
}

// funcArgs are the evaluated arguments of a call: positional ones and
// named ones (NAME => value), as text. Arguments must be literals or
// calls the rewrite already turned into literals.
type funcArgs struct {
	pos   []string
	named map[string]string
}

// parseArgs reads the arguments between toks[open] "(" and its ")".
func parseArgs(toks []token, open, closeIdx int) (funcArgs, error) {
	a := funcArgs{named: map[string]string{}}
	ws := words(toks[open+1 : closeIdx])
	if len(ws) == 0 {
		return a, nil
	}
	for _, part := range splitTopLevel(ws) {
		name := ""
		if len(part) >= 3 && part[1].text == "=>" {
			name, part = strings.ToUpper(part[0].text), part[2:]
		}
		val := ""
		switch {
		case len(part) == 1 && part[0].kind == tkString:
			val = unquoteString(part[0].text)
		case len(part) == 1 && part[0].kind == tkNumber:
			val = part[0].text
		case len(part) == 2 && part[0].text == "-" && part[1].kind == tkNumber:
			val = "-" + part[1].text
		case len(part) == 1 && (part[0].kind == tkWord || part[0].kind == tkQuoted):
			val = identName(part[0])
		default:
			val = "\x00expr" // an expression the emulator does not evaluate
		}
		if name != "" {
			a.named[name] = val
		} else {
			a.pos = append(a.pos, val)
		}
	}
	return a, nil
}

// callRewrites answer scalar functions with a literal (nil: SQL NULL).
var callRewrites = map[string]func(e *Emulator, s *session, a funcArgs) (*string, error){
	"LAST_QUERY_ID": func(e *Emulator, s *session, a funcArgs) (*string, error) {
		n := -1
		if len(a.pos) > 0 {
			v, err := strconv.Atoi(a.pos[0])
			if err != nil {
				return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nLAST_QUERY_ID takes an integer")
			}
			n = v
		}
		ids := s.queryIDs
		switch {
		case n < 0 && -n <= len(ids):
			return &ids[len(ids)+n], nil
		case n > 0 && n <= len(ids):
			return &ids[n-1], nil
		}
		return nil, nil
	},
	"CURRENT_USER": func(e *Emulator, s *session, a funcArgs) (*string, error) { return strp(s.user), nil },
	"CURRENT_ROLE": func(e *Emulator, s *session, a funcArgs) (*string, error) { return strp(s.role), nil },
	"CURRENT_WAREHOUSE": func(e *Emulator, s *session, a funcArgs) (*string, error) {
		if s.warehouse == "" {
			return nil, nil
		}
		return strp(s.warehouse), nil
	},
	"CURRENT_ACCOUNT": func(e *Emulator, s *session, a funcArgs) (*string, error) { return strp("EMULATOR"), nil },
	"SYSTEM$PIPE_STATUS": func(e *Emulator, s *session, a funcArgs) (*string, error) {
		if len(a.pos) != 1 {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nSYSTEM$PIPE_STATUS takes the pipe's name")
		}
		return e.pipeStatus(s, a.pos[0])
	},
}

// tableFuncs answer table functions with a virtual table.
var tableFuncs = map[string]func(e *Emulator, ctx context.Context, s *session, a funcArgs) (*vtable, error){
	"VALIDATE":     (*Emulator).validateFunc,
	"RESULT_SCAN":  (*Emulator).resultScan,
	"COPY_HISTORY": (*Emulator).copyHistoryFunc,
}

// rewriteCalls applies callRewrites and tableFuncs to toks.
func (e *Emulator) rewriteCalls(ctx context.Context, s *session, toks []token) ([]token, error) {
	// Scalar calls first: their literals may be arguments of table
	// functions (RESULT_SCAN(LAST_QUERY_ID())).
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		f, ok := callRewrites[t.upper()]
		if !ok || (len(out) > 0 && lastNonSpace(out) >= 0 && out[lastNonSpace(out)].text == ".") {
			out = append(out, t)
			continue
		}
		open := nextNonSpace(toks, i+1)
		if open < 0 || toks[open].text != "(" {
			out = append(out, t)
			continue
		}
		closeIdx := matchingParen(toks, open)
		if closeIdx < 0 {
			out = append(out, t)
			continue
		}
		args, err := parseArgs(toks, open, closeIdx)
		if err != nil {
			return nil, err
		}
		v, err := f(e, s, args)
		if err != nil {
			return nil, err
		}
		lit := token{kind: tkPunct, text: "CAST(NULL AS VARCHAR)", pos: t.pos}
		if v != nil {
			lit = token{kind: tkString, text: quoteString(*v), pos: t.pos}
		}
		out = append(out, lit)
		i = closeIdx
	}
	toks = rewriteArgCalls(out)
	out = nil
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		// TABLE( f(...) ) or a bare f(...); f may be qualified
		// ([db.]INFORMATION_SCHEMA.COPY_HISTORY).
		start, fi := i, i
		wrapped := false
		if t.is("TABLE") {
			if open := nextNonSpace(toks, i+1); open > 0 && toks[open].text == "(" {
				fi, wrapped = nextNonSpace(toks, open+1), true
				if fi < 0 {
					out = append(out, t)
					continue
				}
			}
		}
		// Skip a qualifier a.b. before the function name.
		j := fi
		for {
			k := nextNonSpace(toks, j+1)
			if k > 0 && toks[k].text == "." && toks[j].kind != tkPunct {
				if n := nextNonSpace(toks, k+1); n > 0 {
					j = n
					continue
				}
			}
			break
		}
		f, ok := tableFuncs[toks[j].upper()]
		if !ok {
			out = append(out, t)
			continue
		}
		open := nextNonSpace(toks, j+1)
		if open < 0 || toks[open].text != "(" {
			out = append(out, t)
			continue
		}
		closeIdx := matchingParen(toks, open)
		if closeIdx < 0 {
			out = append(out, t)
			continue
		}
		end := closeIdx
		if wrapped {
			end = nextNonSpace(toks, closeIdx+1)
			if end < 0 || toks[end].text != ")" {
				out = append(out, t)
				continue
			}
		}
		args, err := parseArgs(toks, open, closeIdx)
		if err != nil {
			return nil, err
		}
		vt, err := f(e, ctx, s, args)
		if err != nil {
			return nil, err
		}
		if toks[j].is("COPY_HISTORY") {
			out = append(out, timeRange(vt, namedArgToks(toks[open+1:closeIdx]), toks[start].pos)...)
		} else {
			out = append(out, token{kind: tkPunct, text: vt.sql(), pos: toks[start].pos})
		}
		i = end
	}
	return rewriteLoadHistory(e, s, out)
}

// copyJob is what VALIDATE needs of one COPY: its table and rejected rows.
type copyJob struct {
	table string // DB.SCHEMA.TABLE
	errs  [][]*string
}

var validateCols = []string{"ERROR", "FILE", "LINE", "CHARACTER", "BYTE_OFFSET", "CATEGORY", "CODE", "SQL_STATE", "COLUMN_NAME", "ROW_NUMBER", "ROW_START_LINE", "REJECTED_RECORD"}
var validateTypes = []string{"VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "BIGINT", "VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR"}

// errorRows renders rejected rows as VALIDATE and VALIDATION_MODE show them.
func errorRows(loads []*fileLoad) [][]*string {
	var out [][]*string
	for _, fl := range loads {
		for _, le := range fl.errs {
			cat := "conversion"
			switch le.err.Number {
			case errColumnCount, errJSON, 100109, errDecompress:
				cat = "parsing"
			}
			out = append(out, []*string{strp(le.err.Message), strp(fl.name), strp(strconv.Itoa(le.line)), strp(strconv.Itoa(le.char)),
				nil, strp(cat), strp(strconv.Itoa(le.err.Number)), strp(le.err.SQLState), strp(le.column), strp(strconv.Itoa(le.row + 1)),
				strp(strconv.Itoa(le.line)), le.record})
		}
	}
	return out
}

// validateFunc answers VALIDATE(table, JOB_ID => 'id' | '_last'): the rows
// the COPY job rejected.
func (e *Emulator) validateFunc(ctx context.Context, s *session, a funcArgs) (*vtable, error) {
	if len(a.pos) != 1 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nVALIDATE takes a table and JOB_ID => '<query id>'")
	}
	jobID, ok := a.named["JOB_ID"]
	if !ok {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nVALIDATE needs JOB_ID => '<query id>' or '_last'")
	}
	db, sch, table, err := s.qualify(lexNamePartsNorm(a.pos[0]))
	if err != nil {
		return nil, err
	}
	key := db + "." + sch + "." + table
	if jobID == "_last" {
		jobID = s.lastCopy[key]
		if jobID == "" {
			return nil, sqlErr(errInvalidJob, "22023", "Invalid argument [_last] for VALIDATE: no COPY into %s in this session", key)
		}
	}
	var job *copyJob
	e.locked(func() { job = e.jobs[jobID] })
	if job == nil || job.table != key {
		return nil, sqlErr(errInvalidJob, "22023", "Invalid argument [%s] for VALIDATE: not a COPY job of table %s", jobID, key)
	}
	return &vtable{cols: validateCols, types: validateTypes, rows: job.errs}, nil
}

// lexNamePartsNorm splits a dotted name given as text and normalizes each
// part as an identifier.
func lexNamePartsNorm(s string) []string {
	parts := lexNameParts(s)
	for i, p := range parts {
		parts[i] = normName(p)
	}
	return parts
}

// resultScan answers RESULT_SCAN('query id'): the result of an earlier
// statement as a table; values are typed from the result's rowtype
// (numbers, floats, booleans and text; other types as their wire text).
func (e *Emulator) resultScan(ctx context.Context, s *session, a funcArgs) (*vtable, error) {
	if len(a.pos) != 1 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nRESULT_SCAN takes a query id")
	}
	var st *stored
	e.locked(func() { st = e.results[a.pos[0]] })
	if st == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nQuery ID '%s' does not exist or not authorized.", a.pos[0])
	}
	select {
	case <-st.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	data, _ := st.body["data"].(map[string]any)
	ok, _ := st.body["success"].(bool)
	if !ok || data == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nQuery ID '%s' has no result.", a.pos[0])
	}
	rt, _ := data["rowtype"].([]rowType)
	rs, _ := data["rowset"].([][]*string)
	vt := &vtable{rows: rs}
	for _, c := range rt {
		vt.cols = append(vt.cols, c.Name)
		switch c.Type {
		case "fixed":
			if c.Scale > 0 {
				vt.types = append(vt.types, fmt.Sprintf("DECIMAL(%d,%d)", max(c.Precision, c.Scale), c.Scale))
			} else {
				vt.types = append(vt.types, "HUGEINT")
			}
		case "real":
			vt.types = append(vt.types, "DOUBLE")
		default:
			vt.types = append(vt.types, "VARCHAR")
		}
	}
	return vt, nil
}

// copyHist is one file of a COPY, for COPY_HISTORY and LOAD_HISTORY.
type copyHist struct {
	db, sch, table string
	file, stageLoc string
	at             time.Time
	rows, parsed   int
	size           int64
	firstErr       *string
	firstLine      *string
	firstChar      *string
	firstCol       *string
	errors, limit  int
	status         string // LOADED, LOAD_FAILED, PARTIALLY_LOADED
	pipe           string // DB.SCHEMA.PIPE for Snowpipe loads
}

// historyStatus is the STATUS text of COPY_HISTORY and LOAD_HISTORY.
func historyStatus(s string) string {
	switch s {
	case "LOADED":
		return "Loaded"
	case "LOAD_FAILED":
		return "Load failed"
	case "PARTIALLY_LOADED":
		return "Partially loaded"
	}
	return s
}

// copyHistoryFunc answers INFORMATION_SCHEMA.COPY_HISTORY(TABLE_NAME =>
// 't', START_TIME => ...): the files loaded into the table, bulk and
// Snowpipe. rewriteCalls applies START_TIME and END_TIME (timeRange).
func (e *Emulator) copyHistoryFunc(ctx context.Context, s *session, a funcArgs) (*vtable, error) {
	name, ok := a.named["TABLE_NAME"]
	if !ok {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nCOPY_HISTORY needs TABLE_NAME => '<table>'")
	}
	db, sch, table, err := s.qualify(lexNamePartsNorm(name))
	if err != nil {
		return nil, err
	}
	vt := &vtable{
		cols: []string{"FILE_NAME", "STAGE_LOCATION", "LAST_LOAD_TIME", "ROW_COUNT", "ROW_PARSED", "FILE_SIZE", "FIRST_ERROR_MESSAGE",
			"FIRST_ERROR_LINE_NUMBER", "FIRST_ERROR_CHARACTER_POS", "FIRST_ERROR_COLUMN_NAME", "ERROR_COUNT", "ERROR_LIMIT", "STATUS",
			"TABLE_CATALOG_NAME", "TABLE_SCHEMA_NAME", "TABLE_NAME", "PIPE_CATALOG_NAME", "PIPE_SCHEMA_NAME", "PIPE_NAME", "PIPE_RECEIVED_TIME"},
		types: []string{"VARCHAR", "VARCHAR", "TIMESTAMPTZ", "BIGINT", "BIGINT", "BIGINT", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR",
			"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMPTZ"},
	}
	for _, h := range e.history(db, sch, table) {
		var pdb, psch, pname, recv *string
		if h.pipe != "" {
			p := lexNameParts(h.pipe)
			if len(p) == 3 {
				pdb, psch, pname = strp(p[0]), strp(p[1]), strp(p[2])
			}
			recv = strp(h.at.UTC().Format(time.RFC3339Nano))
		}
		vt.rows = append(vt.rows, []*string{strp(h.file), strp(h.stageLoc), strp(h.at.UTC().Format(time.RFC3339Nano)), strp(strconv.Itoa(h.rows)),
			strp(strconv.Itoa(h.parsed)), strp(strconv.FormatInt(h.size, 10)), h.firstErr, h.firstLine, h.firstChar, h.firstCol,
			strp(strconv.Itoa(h.errors)), strp(strconv.Itoa(h.limit)), strp(historyStatus(h.status)), strp(h.db), strp(h.sch), strp(h.table),
			pdb, psch, pname, recv})
	}
	return vt, nil
}

// history returns the load history of one table, or of every table of db
// when table is "".
func (e *Emulator) history(db, sch, table string) []copyHist {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []copyHist
	for _, h := range e.copyHistory {
		if h.db == db && (table == "" || (h.sch == sch && h.table == table)) {
			out = append(out, h)
		}
	}
	return out
}

// rewriteLoadHistory replaces [db.]INFORMATION_SCHEMA.LOAD_HISTORY (the
// view: bulk loads only) with a virtual table.
func rewriteLoadHistory(e *Emulator, s *session, toks []token) ([]token, error) {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		j := nextNonSpace(toks, i+1)
		k := -1
		if j > 0 && toks[j].text == "." {
			k = nextNonSpace(toks, j+1)
		}
		if !t.is("INFORMATION_SCHEMA") || k < 0 || !toks[k].is("LOAD_HISTORY") {
			out = append(out, t)
			continue
		}
		db := s.db
		if p := lastNonSpace(out); p >= 0 && out[p].text == "." {
			if q := lastNonSpace(out[:p]); q >= 0 && (out[q].kind == tkWord || out[q].kind == tkQuoted) {
				db = identName(out[q])
				out = out[:q]
			}
		}
		vt := &vtable{
			cols: []string{"SCHEMA_NAME", "FILE_NAME", "TABLE_NAME", "LAST_LOAD_TIME", "STATUS", "ROW_COUNT", "ROW_PARSED", "FIRST_ERROR_MESSAGE",
				"FIRST_ERROR_LINE_NUMBER", "FIRST_ERROR_CHARACTER_POSITION", "FIRST_ERROR_COL_NAME", "ERROR_COUNT", "ERROR_LIMIT"},
			types: []string{"VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR", "BIGINT", "BIGINT"},
		}
		for _, h := range e.history(db, "", "") {
			if h.pipe != "" {
				continue
			}
			vt.rows = append(vt.rows, []*string{strp(h.sch), strp(h.file), strp(h.table), strp(h.at.UTC().Format(time.RFC3339Nano)), strp(strings.ToUpper(h.status)),
				strp(strconv.Itoa(h.rows)), strp(strconv.Itoa(h.parsed)), h.firstErr, h.firstLine, h.firstChar, h.firstCol, strp(strconv.Itoa(h.errors)), strp(strconv.Itoa(h.limit))})
		}
		alias := " AS LOAD_HISTORY"
		if n := nextNonSpace(toks, k+1); n >= 0 && (toks[n].is("AS") || (toks[n].kind == tkWord && !isClauseWord(toks[n].upper())) || toks[n].kind == tkQuoted) {
			alias = ""
		}
		out = append(out, token{kind: tkPunct, text: vt.sql() + alias, pos: t.pos})
		i = k
	}
	return out, nil
}

// noteHistory adds a COPY's files to the load history.
func (e *Emulator) noteHistory(s *session, db, sch, table string, sr *stageRef, loads []*fileLoad) {
	now := e.now()
	var hs []copyHist
	for _, fl := range loads {
		h := copyHist{db: db, sch: sch, table: table, file: fl.name, stageLoc: sr.location(), at: now, rows: fl.loaded, parsed: fl.parsed,
			size: fl.file.size, errors: len(fl.errs), limit: fl.limit, status: fl.status, pipe: s.pipe}
		if len(fl.errs) > 0 {
			le := fl.errs[0]
			h.firstErr = strp(le.err.Message)
			if !fl.missing {
				h.firstLine, h.firstChar, h.firstCol = strp(strconv.Itoa(le.line)), strp(strconv.Itoa(le.char)), strp(le.column)
			}
		}
		hs = append(hs, h)
	}
	e.locked(func() {
		e.copyHistory = append(e.copyHistory, hs...)
		if n := len(e.copyHistory); n > 100000 {
			e.copyHistory = e.copyHistory[n-100000:]
		}
	})
}

// pipeStatus answers SYSTEM$PIPE_STATUS('pipe'). Files load when
// insertFiles is called, so nothing is ever pending.
func (e *Emulator) pipeStatus(s *session, name string) (*string, error) {
	db, sch, p, err := s.qualify(lexNamePartsNorm(name))
	if err != nil {
		return nil, err
	}
	key := db + "." + sch + "." + p
	var pp *pipe
	e.locked(func() { pp = e.pipes[key] })
	if pp == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nPipe '%s' does not exist or not authorized.", key)
	}
	state := "RUNNING"
	if pp.paused {
		state = "PAUSED"
	}
	st := fmt.Sprintf(`{"executionState":"%s","pendingFileCount":0,"lastIngestedTimestamp":%q,"lastIngestedFilePath":%q,"notificationChannelName":null,"numOutstandingMessagesOnChannel":0,"lastReceivedMessageTimestamp":null,"lastForwardedMessageTimestamp":null}`,
		state, pp.lastIngestedAt, pp.lastIngestedPath)
	return &st, nil
}

// sessionMacros are DuckDB macros each session's connection gets: the
// Snowflake functions DuckDB lacks, and Snowflake's timestamp parsing
// (its default formats: ISO 8601 with T or a space, Z or an offset with
// or without a colon and with or without a space before it, and integer
// strings as epoch seconds, milliseconds, microseconds or nanoseconds by
// magnitude). TIMESTAMP_NTZ drops an offset; TIMESTAMP_LTZ/TZ apply it.
var sessionMacros = []string{
	`CREATE OR REPLACE TEMP MACRO sysdate() AS CAST(timezone('UTC', get_current_timestamp()) AS TIMESTAMP)`,
	`CREATE OR REPLACE TEMP MACRO uuid_string() AS CAST(uuid() AS VARCHAR)`,
	`CREATE OR REPLACE TEMP MACRO sf_nz(x) AS (CASE WHEN x = 0 THEN error('Division by zero') ELSE x END)`,
	`CREATE OR REPLACE TEMP MACRO sf_epoch_us(n) AS (CASE WHEN abs(n) < 31536000000 THEN n * 1000000 WHEN abs(n) < 31536000000000 THEN n * 1000
		WHEN abs(n) < 31536000000000000 THEN n ELSE n // 1000 END)`,
	`CREATE OR REPLACE TEMP MACRO sf_is_epoch(s) AS regexp_full_match(s, '[+-]?[0-9]+')`,
	// A TIMESTAMP_TZ value (tzStruct) seen as text: its instant and offset.
	`CREATE OR REPLACE TEMP MACRO sf_is_tz_text(t) AS starts_with(t, '{''sf_instant''')`,
	`CREATE OR REPLACE TEMP MACRO sf_tz_text_instant(t) AS TRY_CAST(regexp_extract(t, '''sf_instant'': ''?([^'',]+)', 1) AS TIMESTAMPTZ)`,
	`CREATE OR REPLACE TEMP MACRO sf_tz_text_offset(t) AS TRY_CAST(regexp_extract(t, '''sf_offset'': (-?[0-9]+)', 1) AS SMALLINT)`,
	// DuckDB's own casts take the common forms (and an NTZ cast drops an
	// offset, a TZ cast applies it, as Snowflake does); the slow forms
	// handle epochs and offsets written with a space or without a colon.
	`CREATE OR REPLACE TEMP MACRO sf_ts_ntz_slow(x) AS (CASE WHEN x IS NULL THEN NULL
		WHEN sf_is_epoch(trim(CAST(x AS VARCHAR))) THEN make_timestamp(CAST(sf_epoch_us(CAST(trim(CAST(x AS VARCHAR)) AS HUGEINT)) AS BIGINT))
		WHEN sf_is_tz_text(CAST(x AS VARCHAR)) THEN CAST(timezone('UTC', sf_tz_text_instant(CAST(x AS VARCHAR))) AS TIMESTAMP) + to_minutes(CAST(sf_tz_text_offset(CAST(x AS VARCHAR)) AS BIGINT))
		ELSE TRY_CAST(regexp_replace(trim(CAST(x AS VARCHAR)), '\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$', '') AS TIMESTAMP) END)`,
	`CREATE OR REPLACE TEMP MACRO sf_ts_tz_slow(x) AS (CASE WHEN x IS NULL THEN NULL
		WHEN sf_is_epoch(trim(CAST(x AS VARCHAR))) THEN timezone('UTC', make_timestamp(CAST(sf_epoch_us(CAST(trim(CAST(x AS VARCHAR)) AS HUGEINT)) AS BIGINT)))
		WHEN sf_is_tz_text(CAST(x AS VARCHAR)) THEN sf_tz_text_instant(CAST(x AS VARCHAR))
		ELSE TRY_CAST(regexp_replace(regexp_replace(trim(CAST(x AS VARCHAR)), '\s*([+-][0-9]{2}):?([0-9]{2})$', '\1:\2'), '\s*[Zz]$', '+00:00') AS TIMESTAMPTZ) END)`,
	// DuckDB's own cast takes an offset after a space, or one without a
	// colon, for a time zone name and looks it up (milliseconds a value):
	// those forms go to the slow path at once.
	`CREATE OR REPLACE TEMP MACRO sf_ts_zoned(x) AS regexp_matches(CAST(x AS VARCHAR), '(\s[+-][0-9]{2}(:?[0-9]{2})?|[+-][0-9]{4}|\s[Zz])\s*$')`,
	`CREATE OR REPLACE TEMP MACRO sf_ts_ntz(x) AS (CASE WHEN sf_ts_zoned(x) THEN sf_ts_ntz_slow(x) ELSE COALESCE(TRY_CAST(x AS TIMESTAMP), sf_ts_ntz_slow(x)) END)`,
	`CREATE OR REPLACE TEMP MACRO sf_ts_tz(x) AS (CASE WHEN sf_ts_zoned(x) THEN sf_ts_tz_slow(x) ELSE COALESCE(TRY_CAST(x AS TIMESTAMPTZ), sf_ts_tz_slow(x)) END)`,
	// TO_TIMESTAMP_* fail on what they cannot parse (TRY_TO_TIMESTAMP_*
	// are sf_ts_ntz, sf_ts_tz and sf_tzv, NULL there).
	`CREATE OR REPLACE TEMP MACRO sf_ts_fail(x) AS error('Timestamp ''' || CAST(x AS VARCHAR) || ''' is not recognized')`,
	`CREATE OR REPLACE TEMP MACRO sf_ts_ntz_strict(x) AS (CASE WHEN x IS NOT NULL AND sf_ts_ntz(x) IS NULL THEN sf_ts_fail(x) ELSE sf_ts_ntz(x) END)`,
	`CREATE OR REPLACE TEMP MACRO sf_ts_tz_strict(x) AS (CASE WHEN x IS NOT NULL AND sf_ts_tz(x) IS NULL THEN sf_ts_fail(x) ELSE sf_ts_tz(x) END)`,
	// TIMESTAMP_TZ values are a STRUCT of the instant and the offset in
	// minutes (tzStruct). sf_tzv converts any value through its text: a
	// TIMESTAMP_TZ's own text, or a timestamp in Snowflake's input
	// formats (the offset written in it, else UTC, the session's zone).
	`CREATE OR REPLACE TEMP MACRO sf_tz_off(t) AS (CASE WHEN regexp_matches(t, '` + reTZOffset + `')
		THEN (CASE WHEN regexp_extract(t, '` + reTZOffset + `', 3) = '-' THEN -1 ELSE 1 END)
			* (CAST(regexp_extract(t, '` + reTZOffset + `', 4) AS INTEGER) * 60 + COALESCE(TRY_CAST(regexp_extract(t, '` + reTZOffset + `', 5) AS INTEGER), 0))
		ELSE 0 END)`,
	`CREATE OR REPLACE TEMP MACRO sf_tz_of(t) AS (CASE WHEN t IS NULL THEN NULL
		WHEN sf_is_tz_text(t) THEN {'sf_instant': sf_tz_text_instant(t), 'sf_offset': sf_tz_text_offset(t)}
		WHEN sf_ts_tz(t) IS NULL THEN NULL
		ELSE {'sf_instant': sf_ts_tz(t), 'sf_offset': CAST(sf_tz_off(trim(t)) AS SMALLINT)} END)`,
	`CREATE OR REPLACE TEMP MACRO sf_tzv(x) AS sf_tz_of(CAST(x AS VARCHAR))`,
	`CREATE OR REPLACE TEMP MACRO sf_tz_strict(x) AS (CASE WHEN x IS NOT NULL AND sf_tzv(x) IS NULL THEN sf_ts_fail(x) ELSE sf_tzv(x) END)`,
	// TO_VARCHAR renders a TIMESTAMP_TZ in Snowflake's default output
	// format (YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM), in its own offset.
	`CREATE OR REPLACE TEMP MACRO sf_tz_text(v) AS (strftime(CAST(timezone('UTC', v.sf_instant) AS TIMESTAMP) + to_minutes(CAST(v.sf_offset AS BIGINT)), '%Y-%m-%d %H:%M:%S.%g')
		|| (CASE WHEN v.sf_offset < 0 THEN ' -' ELSE ' +' END) || lpad(CAST(abs(v.sf_offset) // 60 AS VARCHAR), 2, '0') || lpad(CAST(abs(v.sf_offset) % 60 AS VARCHAR), 2, '0'))`,
	`CREATE OR REPLACE TEMP MACRO to_varchar(x) AS (CASE WHEN sf_is_tz_text(CAST(x AS VARCHAR)) THEN sf_tz_text(sf_tz_of(CAST(x AS VARCHAR))) ELSE CAST(x AS VARCHAR) END)`,
	`CREATE OR REPLACE TEMP MACRO to_char(x) AS to_varchar(x)`,
	// MOD and % by zero fail as "/" does (sf_nz).
	`CREATE OR REPLACE TEMP MACRO sf_mod(a, b) AS (a % sf_nz(b))`,
}

// reTZOffset finds the offset at the end of a timestamp's text: group 3
// is its sign, 4 its hours, 5 its minutes (if any). It needs a time of
// day before it, so a date's "-02" is not taken for one.
const reTZOffset = `[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)?\s*([+-])([0-9]{2}):?([0-9]{2})?$`

// tzStruct is the DuckDB type that stores TIMESTAMP_TZ: the instant and
// the offset in minutes east of UTC.
const tzStruct = "STRUCT(sf_instant TIMESTAMPTZ, sf_offset SMALLINT)"

// isTZStruct reports whether a DuckDB type name is tzStruct.
func isTZStruct(duckType string) bool {
	return strings.Contains(strings.ToLower(duckType), "sf_instant")
}

// argRewrites restructure calls whose arguments DuckDB takes in another
// form; args are the argument token slices (already rewritten).
var argRewrites = map[string]func(args [][]token) (string, bool){
	"OBJECT_CONSTRUCT": objectConstruct,
	"DATEADD":          dateAdd,
	"TIMESTAMPADD":     dateAdd,
	"DATEDIFF":         dateDiff,
	"TIMESTAMPDIFF":    dateDiff,
	"CONVERT_TIMEZONE": convertTimezone,
}

// dateParts maps Snowflake date part names and abbreviations to DuckDB's.
var dateParts = map[string]string{
	"YEAR": "year", "Y": "year", "YY": "year", "YYY": "year", "YYYY": "year", "YR": "year", "YEARS": "year", "YRS": "year",
	"MONTH": "month", "MM": "month", "MON": "month", "MONS": "month", "MONTHS": "month",
	"DAY": "day", "D": "day", "DD": "day", "DAYS": "day", "DAYOFMONTH": "day",
	"WEEK": "week", "W": "week", "WK": "week", "WEEKOFYEAR": "week", "WOY": "week", "WY": "week",
	"QUARTER": "quarter", "Q": "quarter", "QTR": "quarter", "QTRS": "quarter", "QUARTERS": "quarter",
	"HOUR": "hour", "H": "hour", "HH": "hour", "HR": "hour", "HOURS": "hour", "HRS": "hour",
	"MINUTE": "minute", "M": "minute", "MI": "minute", "MIN": "minute", "MINUTES": "minute", "MINS": "minute",
	"SECOND": "second", "S": "second", "SEC": "second", "SECONDS": "second", "SECS": "second",
	"MILLISECOND": "millisecond", "MS": "millisecond", "MSEC": "millisecond", "MILLISECONDS": "millisecond",
	"MICROSECOND": "microsecond", "US": "microsecond", "USEC": "microsecond", "MICROSECONDS": "microsecond",
}

func datePart(arg []token) (string, bool) {
	w := words(arg)
	if len(w) != 1 {
		return "", false
	}
	name := strings.ToUpper(w[0].text)
	if w[0].kind == tkString {
		name = strings.ToUpper(unquoteString(w[0].text))
	}
	p, ok := dateParts[name]
	return p, ok
}

func tokText(ts []token) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.text)
	}
	return b.String()
}

// dateAdd: DATEADD(part, n, expr) → (expr + (n) * INTERVAL '1 part').
func dateAdd(args [][]token) (string, bool) {
	if len(args) != 3 {
		return "", false
	}
	p, ok := datePart(args[0])
	if !ok {
		return "", false
	}
	return "(" + tokText(args[2]) + " + (" + tokText(args[1]) + ") * INTERVAL '1 " + p + "')", true
}

// dateDiff: DATEDIFF(part, a, b) → date_diff('part', a, b).
func dateDiff(args [][]token) (string, bool) {
	if len(args) != 3 {
		return "", false
	}
	p, ok := datePart(args[0])
	if !ok {
		return "", false
	}
	return "date_diff('" + p + "', " + tokText(args[1]) + ", " + tokText(args[2]) + ")", true
}

// convertTimezone: CONVERT_TIMEZONE(target, x) → sf_convert_tz2(target,
// x), CONVERT_TIMEZONE(source, target, x) → sf_convert_tz3(source,
// target, x) (tzsem.go).
func convertTimezone(args [][]token) (string, bool) {
	if len(args) != 2 && len(args) != 3 {
		return "", false
	}
	texts := make([]string, len(args))
	for i, a := range args {
		texts[i] = tokText(a)
	}
	return "sf_convert_tz" + strconv.Itoa(len(args)) + "(" + strings.Join(texts, ", ") + ")", true
}

// rewriteArgCalls applies argRewrites, innermost calls first. The
// rewritten text is translated later, so its words must be DuckDB's or
// translate's own.
func rewriteArgCalls(toks []token) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		f, ok := argRewrites[t.upper()]
		open := nextNonSpace(toks, i+1)
		if !ok || open < 0 || toks[open].text != "(" {
			out = append(out, t)
			continue
		}
		closeIdx := matchingParen(toks, open)
		if closeIdx < 0 {
			out = append(out, t)
			continue
		}
		var args [][]token
		depth, start := 0, open+1
		for j := open + 1; j < closeIdx; j++ {
			switch toks[j].text {
			case "(":
				depth++
			case ")":
				depth--
			case ",":
				if depth == 0 {
					args = append(args, rewriteArgCalls(toks[start:j]))
					start = j + 1
				}
			}
		}
		args = append(args, rewriteArgCalls(toks[start:closeIdx]))
		// The arguments are translated first (they are Snowflake SQL), then
		// spliced in as DuckDB text.
		var targs [][]token
		for _, a := range args {
			txt, err := translate(a, nil)
			if err != nil {
				targs = nil
				break
			}
			targs = append(targs, []token{{kind: tkPunct, text: txt}})
		}
		if targs == nil {
			out = append(out, t)
			continue
		}
		if args[0] != nil {
			targs[0] = args[0] // the date part stays a word
		}
		txt, ok := f(targs)
		if !ok {
			out = append(out, t)
			continue
		}
		out = append(out, token{kind: tkPunct, text: txt, pos: t.pos})
		i = closeIdx
	}
	return out
}

// objectConstruct: OBJECT_CONSTRUCT(k1, v1, ...) → a JSON object without
// the pairs whose value is SQL NULL, as Snowflake builds it (a JSON null,
// PARSE_JSON('null'), stays). OBJECT_CONSTRUCT(*) is left to DuckDB.
func objectConstruct(args [][]token) (string, bool) {
	if len(args) == 1 && len(words(args[0])) == 0 {
		return "CAST('{}' AS JSON)", true
	}
	if len(args)%2 != 0 {
		return "", false
	}
	var pairs []string
	for i := 0; i < len(args); i += 2 {
		k, v := tokText(args[i]), tokText(args[i+1])
		if strings.TrimSpace(k) == "*" {
			return "", false
		}
		pairs = append(pairs, "CASE WHEN ("+v+") IS NULL THEN NULL ELSE CAST(to_json(CAST(("+k+") AS VARCHAR)) AS VARCHAR) || ':' || CAST(to_json("+v+") AS VARCHAR) END")
	}
	return "CAST('{' || concat_ws(',', " + strings.Join(pairs, ", ") + ") || '}' AS JSON)", true
}

// namedArgToks returns the NAME => expression arguments of a call (the
// tokens between its parentheses) by upper-case name.
func namedArgToks(toks []token) map[string][]token {
	out := map[string][]token{}
	for _, part := range splitArgs(toks) {
		w := words(part)
		if len(w) < 3 || w[1].text != "=>" {
			continue
		}
		for k, t := range part {
			if t.pos == w[1].pos && t.text == "=>" {
				out[w[0].upper()] = part[k+1:]
				break
			}
		}
	}
	return out
}

// timeRange renders COPY_HISTORY's virtual table restricted to
// START_TIME <= LAST_LOAD_TIME <= END_TIME. The bounds stay tokens, so
// translate renders them (functions, placeholders) with the statement.
func timeRange(vt *vtable, named map[string][]token, pos int) []token {
	start, hasStart := named["START_TIME"]
	end, hasEnd := named["END_TIME"]
	if !hasStart && !hasEnd {
		return []token{{kind: tkPunct, text: vt.sql(), pos: pos}}
	}
	out := []token{{kind: tkPunct, text: "(SELECT * FROM " + vt.sql() + " AS __sf_h WHERE TRUE", pos: pos}}
	if hasStart {
		out = append(out, token{kind: tkPunct, text: " AND __sf_h.LAST_LOAD_TIME >= sf_ts_tz_strict(("})
		out = append(out, start...)
		out = append(out, token{kind: tkPunct, text: "))"})
	}
	if hasEnd {
		out = append(out, token{kind: tkPunct, text: " AND __sf_h.LAST_LOAD_TIME <= sf_ts_tz_strict(("})
		out = append(out, end...)
		out = append(out, token{kind: tkPunct, text: "))"})
	}
	return append(out, token{kind: tkPunct, text: ")"})
}
