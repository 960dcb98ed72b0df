package snowflaketest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// This file is the entry point of the objects the in-Snowflake pipeline
// needs: named file formats (fileformat.go), streams (stream.go), tasks
// (task.go), API integrations and external functions (extfunc.go). The
// statement dispatcher calls extStatement first; everything else lives in
// those files.

// extState holds the definitions of those objects. Its zero value is
// ready to use. Definitions live in memory (not persisted with DBPath).
type extState struct {
	mu           sync.Mutex
	formats      map[string]*namedFormat    // DB.SCHEMA.NAME
	streams      map[string]*stream         // DB.SCHEMA.NAME
	tasks        map[string]*task           // DB.SCHEMA.NAME
	integrations map[string]*apiIntegration // NAME (account level)
	functions    map[string]*extFunction    // DB.SCHEMA.NAME
	runs         []taskRun                  // task history, oldest first
	// pendingStreams are the streams consumed in a session's open
	// transaction, whose offsets move at its COMMIT.
	pendingStreams map[*session][]*stream
	udfSeq         int
	scheduler      sync.Once
}

// maxTaskHistory bounds the task runs kept for TASK_HISTORY().
const maxTaskHistory = 10000

func (x *extState) init() {
	if x.formats == nil {
		x.formats = map[string]*namedFormat{}
		x.streams = map[string]*stream{}
		x.tasks = map[string]*task{}
		x.integrations = map[string]*apiIntegration{}
		x.functions = map[string]*extFunction{}
	}
}

// extStatement handles the statements of streams, tasks, file formats,
// API integrations and external functions, and statements that use them.
// It returns handled=false for any other statement; it may then have
// rewritten *req, *toks and *ws (a FILE_FORMAT = (FORMAT_NAME = …) made
// inline) for the dispatcher to go on with.
func (e *Emulator) extStatement(ctx context.Context, s *session, req **queryRequest, toks, ws *[]token) (*result, bool, error) {
	w := *ws
	e.ext.mu.Lock()
	e.ext.init()
	e.ext.mu.Unlock()
	switch w[0].upper() {
	case "CREATE", "DROP", "ALTER":
		k, replace := skipCreateModifiers(w)
		for k < len(w) && (w[k].is("SECURE") || w[k].is("RECURSIVE")) {
			k++
		}
		if k >= len(w) {
			return nil, false, nil
		}
		kind := w[k].upper()
		if (kind == "FILE" || kind == "API" || kind == "EXTERNAL") && k+1 < len(w) {
			kind += " " + w[k+1].upper()
			k++
		}
		n := k + 1
		ifExists, ifNotExists := false, false
		if n+1 < len(w) && w[n].is("IF") && w[n+1].is("EXISTS") {
			ifExists, n = true, n+2
		} else if n+2 < len(w) && w[n].is("IF") && w[n+1].is("NOT") && w[n+2].is("EXISTS") {
			ifNotExists, n = true, n+3
		}
		d := ddlArgs{verb: w[0].upper(), text: (*req).SQLText, toks: *toks, ws: w, n: n, replace: replace, ifExists: ifExists, ifNotExists: ifNotExists}
		d.names, d.end = parseName(w, n)
		switch kind {
		case "FILE FORMAT":
			res, err := e.fileFormatDDL(ctx, s, d)
			return res, true, err
		case "STREAM":
			res, err := e.streamDDL(ctx, s, d)
			return res, true, err
		case "TASK":
			res, err := e.taskDDL(ctx, s, d)
			return res, true, err
		case "API INTEGRATION", "INTEGRATION":
			if kind == "INTEGRATION" && d.verb == "CREATE" {
				return nil, false, nil // storage and notification integrations stay unsupported
			}
			res, err := e.integrationDDL(ctx, s, d)
			return res, true, err
		case "EXTERNAL FUNCTION":
			res, err := e.extFunctionDDL(ctx, s, d)
			return res, true, err
		case "FUNCTION":
			if d.verb == "DROP" || d.verb == "ALTER" {
				res, err := e.extFunctionDDL(ctx, s, d)
				return res, true, err
			}
		}
	case "DESC", "DESCRIBE":
		if len(w) > 2 {
			kind := w[1].upper()
			i := 2
			if (kind == "FILE" || kind == "API" || kind == "EXTERNAL") && len(w) > 3 {
				kind += " " + w[2].upper()
				i = 3
			}
			names, _ := parseName(w, i)
			switch kind {
			case "STREAM":
				res, err := e.descStream(ctx, s, names)
				return res, true, err
			case "TASK":
				res, err := e.descTask(ctx, s, names)
				return res, true, err
			case "FILE FORMAT":
				res, err := e.descFileFormat(ctx, s, names)
				return res, true, err
			case "INTEGRATION", "API INTEGRATION":
				res, err := e.descIntegration(ctx, s, names)
				return res, true, err
			case "FUNCTION", "EXTERNAL FUNCTION":
				res, err := e.descExtFunction(ctx, s, names)
				return res, true, err
			}
		}
	case "SHOW":
		if res, ok, err := e.showExt(ctx, s, w); ok {
			return res, true, err
		}
	case "EXECUTE":
		if len(w) > 2 && w[1].is("TASK") {
			res, err := e.executeTask(ctx, s, w)
			return res, true, err
		}
	case "COMMIT", "ROLLBACK":
		if err := e.endTxnStreams(ctx, s, !w[0].is("ROLLBACK")); err != nil {
			return nil, true, err
		}
		return nil, false, nil
	}
	changed, err := e.inlineFormatNames(s, req, toks, ws)
	if err != nil {
		return nil, true, err
	}
	if res, ok, err := e.copyTransform(ctx, s, (*req).SQLText, *ws); ok || changed {
		return res, ok, err
	}
	return e.runWithExtRefs(ctx, s, *req, *toks, *ws)
}

// ddlArgs is a parsed CREATE/DROP/ALTER statement head.
type ddlArgs struct {
	verb                           string
	text                           string
	toks, ws                       []token
	n                              int // index in ws after the kind and IF [NOT] EXISTS
	names                          []string
	end                            int // index in ws after the name
	replace, ifExists, ifNotExists bool
}

// objectKey qualifies a name with the session's database and schema.
func objectKey(s *session, names []string) (key, db, sch, name string, err error) {
	db, sch, name, err = s.qualify(names)
	if err != nil {
		return "", "", "", "", err
	}
	return db + "." + sch + "." + name, db, sch, name, nil
}

// textFrom returns the statement text from token ws[i] on.
func textFrom(text string, ws []token, i int) string {
	if i >= len(ws) {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(text[ws[i].pos:]), "; \t\r\n")
}

// timeCol is a TIMESTAMP_LTZ result column.
func timeCol(name string) rowType {
	return rowType{Name: name, Type: "timestamp_ltz", Scale: 9, Nullable: true}
}

// ltz renders t as a TIMESTAMP_LTZ result value (seconds.nanoseconds).
func ltz(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	sec := t.Unix()
	ns := t.Nanosecond()
	return strp(itoa(sec) + "." + pad9(ns))
}

func pad9(n int) string {
	s := itoa(int64(n))
	return strings.Repeat("0", 9-len(s)) + s
}

// likeMatch reports whether name matches a SHOW … LIKE pattern
// (case-insensitive, % and _ wildcards).
func likeMatch(pattern, name string) bool {
	p, n := strings.ToUpper(pattern), strings.ToUpper(name)
	var match func(pi, ni int) bool
	match = func(pi, ni int) bool {
		for pi < len(p) {
			switch p[pi] {
			case '%':
				for k := ni; k <= len(n); k++ {
					if match(pi+1, k) {
						return true
					}
				}
				return false
			case '_':
				if ni >= len(n) {
					return false
				}
			default:
				if ni >= len(n) || n[ni] != p[pi] {
					return false
				}
			}
			pi++
			ni++
		}
		return ni == len(n)
	}
	return match(0, 0)
}

// showExt answers SHOW STREAMS, TASKS, FILE FORMATS, [API] INTEGRATIONS
// and EXTERNAL FUNCTIONS [LIKE '…'] [IN …]. Other SHOW commands are left
// to the dispatcher.
func (e *Emulator) showExt(ctx context.Context, s *session, ws []token) (*result, bool, error) {
	i := 1
	for i < len(ws) && (ws[i].is("TERSE") || ws[i].is("USER")) {
		i++
	}
	if i >= len(ws) {
		return nil, false, nil
	}
	kind := ws[i].upper()
	if (kind == "FILE" || kind == "API" || kind == "EXTERNAL") && i+1 < len(ws) {
		kind += " " + ws[i+1].upper()
		i++
	}
	i++
	like := ""
	if i+1 < len(ws) && ws[i].is("LIKE") && ws[i+1].kind == tkString {
		like = unquoteString(ws[i+1].text)
		i += 2
	}
	scopeDB, scopeSch := s.db, s.schema
	if i < len(ws) && ws[i].is("IN") {
		i++
		if i < len(ws) && ws[i].is("ACCOUNT") {
			scopeDB, scopeSch = "", ""
		} else {
			sub := ""
			if i < len(ws) && (ws[i].is("DATABASE") || ws[i].is("SCHEMA")) {
				sub = ws[i].upper()
				i++
			}
			names, _ := parseName(ws, i)
			switch {
			case sub == "DATABASE" && len(names) == 1:
				scopeDB, scopeSch = names[0], ""
			case len(names) == 2:
				scopeDB, scopeSch = names[0], names[1]
			case len(names) == 1:
				scopeSch = names[0]
			}
		}
	}
	inScope := func(db, sch, name string) bool {
		if scopeDB != "" && db != scopeDB || scopeSch != "" && sch != scopeSch {
			return false
		}
		return like == "" || likeMatch(like, name)
	}
	switch kind {
	case "STREAMS":
		return e.showStreams(inScope), true, nil
	case "TASKS":
		return e.showTasks(inScope), true, nil
	case "FILE FORMATS":
		return e.showFileFormats(inScope), true, nil
	case "INTEGRATIONS", "API INTEGRATIONS":
		return e.showIntegrations(func(name string) bool { return like == "" || likeMatch(like, name) }), true, nil
	case "EXTERNAL FUNCTIONS":
		return e.showExtFunctions(inScope), true, nil
	}
	return nil, false, nil
}

// runWithExtRefs runs a query or DML statement that reads a stream, calls
// SYSTEM$STREAM_HAS_DATA, TASK_HISTORY or an external function: the
// references are rewritten into DuckDB SQL, and a DML statement that reads
// a stream advances the stream's offset in the same transaction.
func (e *Emulator) runWithExtRefs(ctx context.Context, s *session, req *queryRequest, toks, ws []token) (*result, bool, error) {
	switch ws[0].upper() {
	case "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "(", "VALUES":
	default:
		return nil, false, nil
	}
	if !e.mayReferenceExt(ws) {
		return nil, false, nil
	}
	rw := &extRewrite{e: e, s: s}
	out, err := rw.rewrite(ctx, toks)
	if err != nil {
		return nil, true, err
	}
	if !rw.changed {
		return nil, false, nil
	}
	if rw.call != nil {
		ctx = context.WithValue(ctx, extCallKey{}, rw.call)
	}
	nws := words(out)
	dml := ws[0].upper() != "SELECT" && ws[0].upper() != "WITH" && ws[0].upper() != "(" && ws[0].upper() != "VALUES"
	if ws[0].is("WITH") {
		for _, t := range ws {
			if t.is("INSERT") || t.is("UPDATE") || t.is("DELETE") || t.is("MERGE") {
				dml = true
			}
		}
	}
	var res *result
	if !dml || len(rw.streams) == 0 {
		res, err = e.runDuck(ctx, s, out, nws, req)
	} else {
		res, err = e.consumeStreams(ctx, s, rw.streams, func() (*result, error) {
			return e.runDuck(ctx, s, out, nws, req)
		})
	}
	if err != nil && rw.call != nil {
		if cerr := rw.call.failure(); cerr != nil {
			err = cerr
		}
	}
	return res, true, err
}

// mayReferenceExt is a cheap test whether a statement can name one of the
// objects runWithExtRefs rewrites.
func (e *Emulator) mayReferenceExt(ws []token) bool {
	e.ext.mu.Lock()
	defined := len(e.ext.streams) > 0 || len(e.ext.functions) > 0
	e.ext.mu.Unlock()
	if defined {
		return true
	}
	for _, t := range ws {
		if t.kind == tkWord && (strings.ContainsRune(t.text, '$') || t.is("TASK_HISTORY")) {
			return true
		}
	}
	return false
}

// extRewrite rewrites the references of one statement.
type extRewrite struct {
	e       *Emulator
	s       *session
	changed bool
	streams []*stream // streams the statement reads
	call    *extCall  // set when the statement calls an external function
}

// nameAt reads a dotted name (word or quoted parts, "." between, spaces
// allowed) starting at toks[i]. It returns the Snowflake names and the
// index after the last part.
func nameAt(toks []token, i int) ([]string, int) {
	var names []string
	end := i
	for i < len(toks) && (toks[i].kind == tkWord || toks[i].kind == tkQuoted) && len(names) < 3 {
		names = append(names, identName(toks[i]))
		end = i + 1
		j := nextTok(toks, i+1)
		if j < 0 || toks[j].text != "." {
			break
		}
		i = nextTok(toks, j+1)
		if i < 0 {
			break
		}
	}
	return names, end
}

// nextTok returns the index of the first non-space token at or after i, or -1.
func nextTok(toks []token, i int) int {
	for ; i >= 0 && i < len(toks); i++ {
		if toks[i].kind != tkSpace {
			return i
		}
	}
	return -1
}

// prevTok returns the index of the last non-space token of toks, or -1.
func prevTok(toks []token) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind != tkSpace {
			return i
		}
	}
	return -1
}

// splitArgs splits the tokens between parentheses at top-level commas;
// no tokens is no arguments.
func splitArgs(toks []token) [][]token {
	if nextTok(toks, 0) < 0 {
		return nil
	}
	return splitTopLevel(toks)
}

// sqlToks lexes generated SQL, placing its tokens at pos.
func sqlToks(text string, pos int) []token {
	toks := lex(text)
	for i := range toks {
		toks[i].pos = pos
	}
	return toks
}

// rewrite returns toks with stream references, METADATA$ columns,
// SYSTEM$STREAM_HAS_DATA, TASK_HISTORY and external function calls
// turned into DuckDB SQL.
func (rw *extRewrite) rewrite(ctx context.Context, toks []token) ([]token, error) {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tkWord && t.kind != tkQuoted {
			out = append(out, t)
			continue
		}
		up := t.upper()
		switch up {
		case "METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID":
			out = append(out, token{kind: tkQuoted, text: `"` + up + `"`, pos: t.pos})
			rw.changed = true
			continue
		}
		if p := prevTok(out); p >= 0 && out[p].text == "." {
			out = append(out, t)
			continue
		}
		names, after := nameAt(toks, i)
		open := nextTok(toks, after)
		isCall := open >= 0 && toks[open].text == "("
		last := names[len(names)-1]
		if up == "TABLE" && isCall {
			close := matchingParen(toks, open)
			j := nextTok(toks, open+1)
			if close > 0 && j > 0 {
				inner, innerAfter := nameAt(toks, j)
				if len(inner) > 0 && inner[len(inner)-1] == "TASK_HISTORY" {
					io := nextTok(toks, innerAfter)
					if io < 0 || toks[io].text != "(" {
						return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: TASK_HISTORY needs arguments in parentheses")
					}
					ic := matchingParen(toks, io)
					if ic < 0 || nextTok(toks, ic+1) != close {
						return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error in TABLE(TASK_HISTORY(...))")
					}
					sub, err := rw.e.taskHistorySQL(rw.s, toks[io+1:ic])
					if err != nil {
						return nil, err
					}
					out = append(out, sqlToks(sub, t.pos)...)
					rw.changed = true
					i = close
					continue
				}
			}
		}
		if isCall && last == "SYSTEM$STREAM_HAS_DATA" {
			close := matchingParen(toks, open)
			if close < 0 {
				return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed SYSTEM$STREAM_HAS_DATA(")
			}
			args := words(toks[open+1 : close])
			if len(args) != 1 || args[0].kind != tkString {
				return nil, sqlErr(1044, "42P13", "SQL compilation error:\nInvalid argument types for function 'SYSTEM$STREAM_HAS_DATA': it takes one string literal, the name of a stream")
			}
			has, err := rw.e.streamHasData(ctx, rw.s, unquoteString(args[0].text))
			if err != nil {
				return nil, err
			}
			lit := "FALSE"
			if has {
				lit = "TRUE"
			}
			out = append(out, token{kind: tkWord, text: lit, pos: t.pos})
			rw.changed = true
			i = close
			continue
		}
		if isCall {
			if f := rw.e.lookupExtFunction(rw.s, names); f != nil {
				close := matchingParen(toks, open)
				if close < 0 {
					return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed call of %s(", f.name)
				}
				call, err := rw.callExtFunction(ctx, f, toks[open+1:close], t.pos)
				if err != nil {
					return nil, err
				}
				out = append(out, call...)
				rw.changed = true
				i = close
				continue
			}
		}
		if !isCall {
			if p := prevTok(out); p >= 0 && (out[p].is("FROM") || out[p].is("JOIN") || out[p].is("USING")) {
				if st := rw.e.lookupStream(rw.s, names); st != nil {
					sub, err := rw.e.streamSQL(ctx, rw.s, st)
					if err != nil {
						return nil, err
					}
					out = append(out, sqlToks("("+sub+")", t.pos)...)
					if n := nextTok(toks, after); n < 0 || !(toks[n].is("AS") || toks[n].kind == tkQuoted || toks[n].kind == tkWord && !isClauseWord(toks[n].upper()) && !toks[n].is("SET") && !toks[n].is("WHEN")) {
						out = append(out, sqlToks(" AS "+quoteIdent(st.name), t.pos)...)
					}
					rw.streams = appendStream(rw.streams, st)
					rw.changed = true
					i = after - 1
					continue
				}
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func appendStream(list []*stream, st *stream) []*stream {
	for _, x := range list {
		if x == st {
			return list
		}
	}
	return append(list, st)
}

// sortBy sorts list by a string key.
func sortBy[T any](list []T, key func(T) string) {
	slices.SortFunc(list, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}

// inOwnTxn runs fn in a transaction of its own unless the session has one
// open (then fn joins it): committed with the load metadata of the COPYs
// it ran, or rolled back without it.
func (e *Emulator) inOwnTxn(ctx context.Context, s *session, fn func() (*result, error)) (*result, error) {
	if s.inTxn {
		return fn()
	}
	if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	s.inTxn = true
	mark := len(s.pendingLoads)
	res, err := fn()
	s.inTxn = false
	pending := append([]pendingLoad(nil), s.pendingLoads[mark:]...)
	s.pendingLoads = s.pendingLoads[:mark]
	if err != nil {
		_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return nil, err
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, err
	}
	for _, p := range pending {
		if err := e.recordLoads(ctx, p.table, p.files); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// missingObject answers DROP of an object that does not exist: success
// with IF EXISTS, otherwise Snowflake's 002003 naming the object's kind.
func missingObject(d ddlArgs, kind, key, name string) (*result, error) {
	if d.ifExists {
		return status("Drop statement executed successfully (" + name + " already dropped)."), nil
	}
	return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\n%s '%s' does not exist or not authorized.", kind, key)
}

// objectExists answers CREATE without OR REPLACE of an object that exists:
// success with IF NOT EXISTS, otherwise Snowflake's 002002.
func objectExists(d ddlArgs, name string) (*result, error) {
	if d.ifNotExists {
		return status(name + " already exists, statement succeeded."), nil
	}
	return nil, sqlErr(errAlreadyExists, "42710", "SQL compilation error:\nObject '%s' already exists.", name)
}
