package snowflaketest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TIMESTAMP_TZ semantics. DuckDB stores a TIMESTAMP_TZ value as tzStruct
// (instant and offset), whose own comparisons and functions are not
// Snowflake's: a STRUCT compares field by field (so equal instants with
// other offsets differ), and DuckDB's date functions take no STRUCT.
// Where a statement names a TIMESTAMP_TZ column (or casts to the type, or
// binds a TIMESTAMP_TZ value), tzRewrite routes the expressions that may
// hold such a value through the session macros below. Each has a typed
// overload for tzStruct and an untyped one that leaves any other value as
// it was, so DuckDB's binder picks by the value's real type.

// tzMacros are the session macros of TIMESTAMP_TZ semantics (typed macro
// parameters need a TEMP macro).
var tzMacros = []string{
	// sf_key: the instant, which Snowflake compares, groups and joins by.
	`CREATE OR REPLACE TEMP MACRO sf_key(x ` + tzStruct + `) AS x.sf_instant, (x) AS x`,
	// sf_wall: the wall clock in the value's own offset, in which
	// Snowflake's date functions work on a TIMESTAMP_TZ.
	`CREATE OR REPLACE TEMP MACRO sf_wall(x ` + tzStruct + `) AS CAST(timezone('UTC', x.sf_instant) AS TIMESTAMP) + to_minutes(CAST(x.sf_offset AS BIGINT)), (x) AS x`,
	// sf_tz_at: the TIMESTAMP_TZ of wall clock w in offset o.
	`CREATE OR REPLACE TEMP MACRO sf_tz_at(w, o) AS {'sf_instant': timezone('UTC', CAST(w AS TIMESTAMP) - to_minutes(CAST(o AS BIGINT))), 'sf_offset': CAST(o AS SMALLINT)}`,
	// DATEADD and DATE_TRUNC keep the value's offset.
	`CREATE OR REPLACE TEMP MACRO sf_dateadd(x ` + tzStruct + `, i) AS sf_tz_at(sf_wall(x) + i, x.sf_offset), (x, i) AS (x + i)`,
	`CREATE OR REPLACE TEMP MACRO sf_date_trunc(p, x ` + tzStruct + `) AS sf_tz_at(date_trunc(p, sf_wall(x)), x.sf_offset), (p, x) AS date_trunc(p, x)`,
	// ::DATE, TO_DATE: the date of the wall clock.
	`CREATE OR REPLACE TEMP MACRO sf_date(x ` + tzStruct + `) AS CAST(sf_wall(x) AS DATE), (x) AS CAST(x AS DATE)`,
	`CREATE OR REPLACE TEMP MACRO sf_try_date(x ` + tzStruct + `) AS CAST(sf_wall(x) AS DATE), (x) AS TRY_CAST(x AS DATE)`,
	// ::TIME, TO_TIME: the time of day of the wall clock.
	`CREATE OR REPLACE TEMP MACRO sf_time(x ` + tzStruct + `) AS CAST(sf_wall(x) AS TIME), (x) AS CAST(x AS TIME)`,
	`CREATE OR REPLACE TEMP MACRO sf_try_time(x ` + tzStruct + `) AS CAST(sf_wall(x) AS TIME), (x) AS TRY_CAST(x AS TIME)`,
	// EXTRACT/DATE_PART of timezone_hour and timezone_minute: the parts
	// of the value's offset (both negative west of UTC).
	`CREATE OR REPLACE TEMP MACRO sf_tz_hour(x ` + tzStruct + `) AS CAST(trunc(x.sf_offset / 60) AS BIGINT), (x) AS date_part('timezone_hour', x)`,
	`CREATE OR REPLACE TEMP MACRO sf_tz_minute(x ` + tzStruct + `) AS CAST(x.sf_offset % 60 AS BIGINT), (x) AS date_part('timezone_minute', x)`,
	// CONVERT_TIMEZONE(target, x): x's instant in the target zone, a
	// TIMESTAMP_TZ (a TIMESTAMP_NTZ or text without offset is read in the
	// session's zone, UTC). CONVERT_TIMEZONE(source, target, x): the wall
	// clock of x (a TIMESTAMP_TZ's own) in source as a wall clock in
	// target, a TIMESTAMP_NTZ.
	`CREATE OR REPLACE TEMP MACRO sf_tz_in(t, i) AS (CASE WHEN t IS NULL OR i IS NULL THEN NULL
		ELSE {'sf_instant': CAST(i AS TIMESTAMPTZ), 'sf_offset': CAST(date_diff('minute', timezone('UTC', CAST(i AS TIMESTAMPTZ)), timezone(t, CAST(i AS TIMESTAMPTZ))) AS SMALLINT)} END)`,
	`CREATE OR REPLACE TEMP MACRO sf_convert_tz2(t, x ` + tzStruct + `) AS sf_tz_in(t, x.sf_instant), (t, x) AS sf_tz_in(t, sf_ts_tz_strict(x))`,
	`CREATE OR REPLACE TEMP MACRO sf_convert_tz3(s, t, x ` + tzStruct + `) AS timezone(t, timezone(s, sf_wall(x))), (s, t, x) AS timezone(t, timezone(s, sf_ts_ntz_strict(x)))`,
}

// tzContext says which tokens of a statement may stand for a
// TIMESTAMP_TZ value: the names of TIMESTAMP_TZ columns, the words that
// make one, and placeholders bound to one (by token position).
type tzContext struct {
	names  map[string]bool
	params map[int]bool
	tables map[string]bool // tables and views with a TIMESTAMP_TZ column
}

// tzWords make a TIMESTAMP_TZ value whatever the columns are.
var tzWords = map[string]bool{"TIMESTAMP_TZ": true, "TIMESTAMPTZ": true, "TO_TIMESTAMP_TZ": true, "TRY_TO_TIMESTAMP_TZ": true}

// tzRewrite applies TIMESTAMP_TZ semantics to a statement (see above);
// binds is one row of the statement's bind values. A statement that
// names no TIMESTAMP_TZ column, cast or bind is returned as it is.
func (e *Emulator) tzRewrite(ctx context.Context, s *session, toks []token, binds []bindValue) []token {
	tc := tzContext{names: map[string]bool{}, params: map[int]bool{}, tables: map[string]bool{}}
	next := 0
	for _, t := range toks {
		if t.kind != tkParam {
			continue
		}
		idx := bindIndex(t, &next)
		if idx >= 0 && idx < len(binds) && !binds[idx].null && strings.EqualFold(binds[idx].typ, "TIMESTAMP_TZ") {
			tc.params[t.pos] = true
		}
	}
	rows, err := s.conn.QueryContext(ctx, "SELECT DISTINCT upper(column_name), upper(table_name) FROM duckdb_columns() WHERE data_type LIKE 'STRUCT(sf_instant %'")
	if err == nil {
		for rows.Next() {
			var n, tab string
			if rows.Scan(&n, &tab) == nil {
				tc.names[n] = true
				tc.tables[tab] = true
			}
		}
		_ = rows.Close()
	}
	if !tc.marked(toks) && !tc.touched(toks) {
		return toks
	}
	return tc.level(tc.funcs(toks))
}

// marked reports whether ts may hold a TIMESTAMP_TZ value.
func (tc tzContext) marked(ts []token) bool {
	for _, t := range ts {
		switch t.kind {
		case tkWord:
			if tzWords[t.upper()] || tc.names[t.upper()] {
				return true
			}
		case tkQuoted:
			if tc.names[strings.ToUpper(identName(t))] {
				return true
			}
		case tkParam:
			if tc.params[t.pos] {
				return true
			}
		}
	}
	return false
}

// touched reports whether ts may hold a TIMESTAMP_TZ value or names a
// table or view with a TIMESTAMP_TZ column (whose values a * or a set
// operation compares).
func (tc tzContext) touched(ts []token) bool {
	if tc.marked(ts) {
		return true
	}
	for _, t := range ts {
		if (t.kind == tkWord && tc.tables[t.upper()]) || (t.kind == tkQuoted && tc.tables[strings.ToUpper(identName(t))]) {
			return true
		}
	}
	return false
}

// literal reports whether ts is a bare literal (a string, number, NULL,
// TRUE, FALSE, a typed literal such as DATE '…', or a placeholder not
// bound to a TIMESTAMP_TZ value): DuckDB casts it to the other side's
// type, and a macro would take a string literal for a tzStruct.
func (tc tzContext) literal(ts []token) bool {
	w := words(ts)
	switch {
	case len(w) == 1:
		t := w[0]
		return t.kind == tkString || t.kind == tkNumber || t.is("NULL") || t.is("TRUE") || t.is("FALSE") ||
			(t.kind == tkParam && !tc.params[t.pos])
	case len(w) == 2:
		return (w[0].kind == tkWord && typedLiteralWords[w[0].upper()] && w[1].kind == tkString) ||
			((w[0].text == "-" || w[0].text == "+") && w[1].kind == tkNumber)
	}
	return false
}

// Token builders for generated SQL (pos -1: no source position).
func tzWord(s string) token  { return token{kind: tkWord, text: s, pos: -1} }
func tzPunct(s string) token { return token{kind: tkPunct, text: s, pos: -1} }
func tzSpace() token         { return token{kind: tkSpace, text: " ", pos: -1} }

// call returns fn(args[0], args[1], …).
func call(fn string, args ...[]token) []token {
	out := []token{tzWord(fn), tzPunct("(")}
	for i, a := range args {
		if i > 0 {
			out = append(out, tzPunct(","), tzSpace())
		}
		out = append(out, a...)
	}
	return append(out, tzPunct(")"))
}

// key wraps ts in sf_key unless it is a bare literal.
func (tc tzContext) key(ts []token) []token {
	if tc.literal(ts) || len(words(ts)) == 0 {
		return ts
	}
	return call("SF_KEY", trimSpace(ts))
}

// trimSpace drops leading and trailing space tokens.
func trimSpace(ts []token) []token {
	for len(ts) > 0 && ts[0].kind == tkSpace {
		ts = ts[1:]
	}
	for len(ts) > 0 && ts[len(ts)-1].kind == tkSpace {
		ts = ts[:len(ts)-1]
	}
	return ts
}

// tzDateFuncs take one date or timestamp argument and read its wall
// clock.
var tzDateFuncs = map[string]bool{"YEAR": true, "MONTH": true, "DAY": true, "DAYOFMONTH": true, "DAYOFWEEK": true,
	"DAYOFWEEKISO": true, "DAYOFYEAR": true, "WEEK": true, "WEEKOFYEAR": true, "WEEKISO": true, "YEAROFWEEK": true,
	"YEAROFWEEKISO": true, "QUARTER": true, "HOUR": true, "MINUTE": true, "SECOND": true, "LAST_DAY": true}

// funcs rewrites the calls and casts that take a TIMESTAMP_TZ value:
// DATEADD/TIMESTAMPADD, DATE_TRUNC, EXTRACT, DATE_PART, YEAR() and the
// other part functions, ::DATE, CAST/TRY_CAST(… AS DATE), TO_DATE,
// TRY_TO_DATE, DATE(). Arguments are rewritten first.
func (tc tzContext) funcs(toks []token) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.text == "::" {
			j := nextNonSpace(toks, i+1)
			if j > 0 && (toks[j].is("DATE") || toks[j].is("TIME")) {
				if start := operandStart(out); start >= 0 && tc.marked(out[start:]) {
					fn, end := "SF_DATE", j
					if toks[j].is("TIME") {
						fn = "SF_TIME"
						// TIME(p): the precision is dropped.
						if k := nextNonSpace(toks, j+1); k > 0 && toks[k].text == "(" {
							if c := matchingParen(toks, k); c > 0 {
								end = c
							}
						}
					}
					operand := append([]token(nil), out[start:]...)
					out = append(out[:start], call(fn, operand)...)
					i = end
					continue
				}
			}
		}
		open := nextNonSpace(toks, i+1)
		if t.kind != tkWord || open < 0 || toks[open].text != "(" {
			out = append(out, t)
			continue
		}
		if p := lastNonSpace(out); p >= 0 && out[p].text == "." {
			out = append(out, t)
			continue
		}
		closeIdx := matchingParen(toks, open)
		if closeIdx < 0 {
			out = append(out, t)
			continue
		}
		inner := tc.funcs(toks[open+1 : closeIdx])
		if r, ok := tc.funcCall(t, inner); ok {
			out = append(out, r...)
		} else {
			out = append(out, toks[i:open+1]...)
			out = append(out, inner...)
			out = append(out, toks[closeIdx])
		}
		i = closeIdx
	}
	return out
}

// funcCall rewrites the call name(inner) when it takes a TIMESTAMP_TZ
// value.
func (tc tzContext) funcCall(name token, inner []token) ([]token, bool) {
	args := splitArgs(inner)
	fn := name.upper()
	switch {
	case (fn == "DATEADD" || fn == "TIMESTAMPADD") && len(args) == 3 && tc.marked(args[2]):
		p, ok := datePart(args[0])
		if !ok {
			return nil, false
		}
		i := append(append([]token{tzPunct("(")}, args[1]...), tzPunct(")"), tzPunct(" * INTERVAL '1 "+p+"'"))
		return call("SF_DATEADD", args[2], i), true
	case fn == "DATE_TRUNC" && len(args) == 2 && tc.marked(args[1]):
		p, ok := datePart(args[0])
		if !ok {
			return nil, false
		}
		return call("SF_DATE_TRUNC", []token{{kind: tkString, text: quoteString(p), pos: -1}}, args[1]), true
	case (fn == "DATEDIFF" || fn == "TIMESTAMPDIFF") && len(args) == 3 && (tc.marked(args[1]) || tc.marked(args[2])):
		// On the wall clocks, each in its value's own offset.
		return call(fn, args[0], tc.wall(args[1]), tc.wall(args[2])), true
	case (fn == "TO_DATE" || fn == "DATE") && len(args) == 1 && tc.marked(args[0]):
		return call("SF_DATE", args[0]), true
	case fn == "TRY_TO_DATE" && len(args) == 1 && tc.marked(args[0]):
		return call("SF_TRY_DATE", args[0]), true
	case fn == "TO_TIME" && len(args) == 1 && tc.marked(args[0]):
		return call("SF_TIME", args[0]), true
	case fn == "TRY_TO_TIME" && len(args) == 1 && tc.marked(args[0]):
		return call("SF_TRY_TIME", args[0]), true
	case (fn == "CAST" || fn == "TRY_CAST") && len(args) == 1 && tc.marked(args[0]):
		w := words(args[0])
		if len(w) < 3 {
			return nil, false
		}
		as, typ := len(w)-2, w[len(w)-1]
		if len(w) >= 6 && w[len(w)-1].text == ")" && w[len(w)-3].text == "(" && w[len(w)-2].kind == tkNumber {
			as, typ = len(w)-5, w[len(w)-4] // TIME(p)
		}
		if !w[as].is("AS") || !(typ.is("DATE") || typ.is("TIME")) || (typ.is("DATE") && as != len(w)-2) {
			return nil, false
		}
		var expr []token
		for k, t := range args[0] {
			if t.pos == w[as].pos && t.is("AS") {
				expr = args[0][:k]
			}
		}
		if expr == nil {
			return nil, false
		}
		name := "SF_" + typ.upper()
		if fn == "TRY_CAST" {
			name = "SF_TRY_" + typ.upper()
		}
		return call(name, expr), true
	case tzDateFuncs[fn] && len(args) == 1 && tc.marked(args[0]):
		return call(fn, call("SF_WALL", args[0])), true
	case fn == "DATE_PART" && len(args) == 2 && tc.marked(args[1]):
		return tc.part(args[0], args[1])
	case fn == "EXTRACT" && len(args) == 1 && tc.marked(args[0]):
		w := words(args[0])
		if len(w) < 3 || !w[1].is("FROM") {
			return nil, false
		}
		for k, t := range args[0] {
			if t.pos == w[1].pos && t.is("FROM") {
				if w[0].is("EPOCH") {
					// EXTRACT(epoch …) as DuckDB has it: the instant's
					// seconds, with their fraction.
					head := append(append([]token(nil), args[0][:k+1]...), tzSpace())
					return call("EXTRACT", append(head, call("SF_KEY", args[0][k+1:])...)), true
				}
				return tc.part([]token{w[0]}, args[0][k+1:])
			}
		}
	}
	return nil, false
}

// wall wraps ts in sf_wall unless it is a bare literal.
func (tc tzContext) wall(ts []token) []token {
	if tc.literal(ts) || len(words(ts)) == 0 {
		return ts
	}
	return call("SF_WALL", trimSpace(ts))
}

// epochParts are the date parts that count from the epoch, with the
// DuckDB function that counts the instant in that unit.
var epochParts = map[string]string{"EPOCH": "EPOCH", "EPOCH_SECOND": "EPOCH", "EPOCH_SECONDS": "EPOCH",
	"EPOCH_MILLISECOND": "EPOCH_MS", "EPOCH_MILLISECONDS": "EPOCH_MS", "EPOCH_MICROSECOND": "EPOCH_US",
	"EPOCH_MICROSECONDS": "EPOCH_US", "EPOCH_NANOSECOND": "EPOCH_NS", "EPOCH_NANOSECONDS": "EPOCH_NS"}

// tzParts are the time zone parts, with the macro that reads them.
var tzParts = map[string]string{"TIMEZONE_HOUR": "SF_TZ_HOUR", "TZH": "SF_TZ_HOUR", "TIMEZONE_MINUTE": "SF_TZ_MINUTE", "TZM": "SF_TZ_MINUTE"}

// part rewrites DATE_PART(p, x) and EXTRACT(p FROM x) of a value x that
// may be a TIMESTAMP_TZ: the epoch parts count the instant, the time
// zone parts read the offset, the others the wall clock.
func (tc tzContext) part(p, x []token) ([]token, bool) {
	w := words(p)
	if len(w) != 1 {
		return nil, false
	}
	name := w[0].upper()
	if w[0].kind == tkString {
		name = strings.ToUpper(unquoteString(w[0].text))
	}
	if f, ok := epochParts[name]; ok {
		v := call(f, call("SF_KEY", x))
		if f == "EPOCH" {
			v = call("CAST", append(call("FLOOR", v), tzSpace(), tzWord("AS"), tzSpace(), tzWord("BIGINT")))
		}
		return v, true
	}
	if f, ok := tzParts[name]; ok {
		return call(f, x), true
	}
	d, ok := datePart(p)
	if !ok {
		return nil, false
	}
	return call("DATE_PART", []token{{kind: tkString, text: quoteString(d), pos: -1}}, call("SF_WALL", x)), true
}

// tzDefaultOffset finds the offset at the end of a default's text.
var tzDefaultOffset = regexp.MustCompile(`[0-9]\s*([+-])([0-9]{2}):?([0-9]{2})?\s*$`)

// tzDefault makes the DEFAULT in rest (the words after a TIMESTAMP_TZ
// column's type) a TIMESTAMP_TZ value: the expression's instant, in the
// offset a string literal ends with, else in the session's zone (UTC). A
// default outlives the session, so it may not call a session macro: the
// conversion is written out.
func tzDefault(rest []token) []token {
	for i, t := range rest {
		if !t.is("DEFAULT") {
			continue
		}
		end, depth := len(rest), 0
		for j := i + 1; j < len(rest) && end == len(rest); j++ {
			switch rest[j].text {
			case "(":
				depth++
			case ")":
				depth--
			}
			if depth == 0 && j > i+1 && rest[j].kind == tkWord && constraintWord(rest[j]) {
				end = j
			}
		}
		expr := rest[i+1 : end]
		if len(expr) == 0 || (len(expr) == 1 && expr[0].is("NULL")) {
			return rest
		}
		off := 0
		if len(expr) == 1 && expr[0].kind == tkString {
			v := unquoteString(expr[0].text)
			if m := tzDefaultOffset.FindStringSubmatchIndex(v); m != nil {
				h, _ := strconv.Atoi(v[m[4]:m[5]])
				mi := 0
				if m[6] >= 0 {
					mi, _ = strconv.Atoi(v[m[6]:m[7]])
				}
				off = h*60 + mi
				if v[m[2]:m[3]] == "-" {
					off = -off
				}
				// DuckDB reads "+05:00" only right after the time.
				norm := v[:m[0]+1] + v[m[2]:m[3]] + fmt.Sprintf("%02d:%02d", h, mi)
				expr = []token{{kind: tkString, text: quoteString(norm), pos: expr[0].pos}}
			}
		}
		out := append([]token(nil), rest[:i+1]...)
		out = append(out, tzPunct("CAST({'sf_instant': CAST(("))
		out = append(out, expr...)
		out = append(out, tzPunct(") AS TIMESTAMPTZ), 'sf_offset': CAST("+strconv.Itoa(off)+" AS SMALLINT)} AS "+tzStruct+")"))
		return append(out, rest[end:]...)
	}
	return rest
}

// tzRewriteQuery applies TIMESTAMP_TZ semantics to the query of CREATE
// TABLE … AS SELECT and CREATE VIEW … AS SELECT: the query after the
// first top-level AS that a SELECT, WITH, VALUES or "(" follows. Its
// calls get the rewrites a query gets (DATEADD, DATEDIFF,
// CONVERT_TIMEZONE) only when it may hold a TIMESTAMP_TZ value, so other
// statements stay as they were. A view's query then calls the session
// macros, which every session defines.
func (e *Emulator) tzRewriteQuery(ctx context.Context, s *session, toks []token) []token {
	depth := 0
	for i, t := range toks {
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth != 0 || !t.is("AS") {
			continue
		}
		j := nextNonSpace(toks, i+1)
		if j < 0 || !(toks[j].is("SELECT") || toks[j].is("WITH") || toks[j].is("VALUES") || toks[j].text == "(") {
			continue
		}
		q := toks[i+1:]
		r := e.tzRewrite(ctx, s, q, nil)
		if len(r) == len(q) && tokText(r) == tokText(q) {
			return toks
		}
		out := append(append([]token(nil), toks[:i+1]...), tzSpace())
		return append(out, rewriteArgCalls(r)...)
	}
	return toks
}
