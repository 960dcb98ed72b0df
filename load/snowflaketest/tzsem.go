package snowflaketest

import (
	"context"
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
}

// tzContext says which tokens of a statement may stand for a
// TIMESTAMP_TZ value: the names of TIMESTAMP_TZ columns, the words that
// make one, and placeholders bound to one (by token position).
type tzContext struct {
	names  map[string]bool
	params map[int]bool
}

// tzWords make a TIMESTAMP_TZ value whatever the columns are.
var tzWords = map[string]bool{"TIMESTAMP_TZ": true, "TIMESTAMPTZ": true, "TO_TIMESTAMP_TZ": true, "TRY_TO_TIMESTAMP_TZ": true}

// tzRewrite applies TIMESTAMP_TZ semantics to a statement (see above);
// binds is one row of the statement's bind values. A statement that
// names no TIMESTAMP_TZ column, cast or bind is returned as it is.
func (e *Emulator) tzRewrite(ctx context.Context, s *session, toks []token, binds []bindValue) []token {
	tc := tzContext{names: map[string]bool{}, params: map[int]bool{}}
	next := 0
	for _, t := range toks {
		if t.kind != tkParam {
			continue
		}
		idx := next
		if t.text != "?" {
			n, _ := strconv.Atoi(t.text[1:])
			idx = n - 1
		} else {
			next++
		}
		if idx >= 0 && idx < len(binds) && !binds[idx].null && strings.EqualFold(binds[idx].typ, "TIMESTAMP_TZ") {
			tc.params[t.pos] = true
		}
	}
	rows, err := s.conn.QueryContext(ctx, "SELECT DISTINCT upper(column_name) FROM duckdb_columns() WHERE data_type LIKE 'STRUCT(sf_instant %'")
	if err == nil {
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				tc.names[n] = true
			}
		}
		_ = rows.Close()
	}
	if !tc.marked(toks) {
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
			if j > 0 && toks[j].is("DATE") {
				if start := operandStart(out); start >= 0 && tc.marked(out[start:]) {
					operand := append([]token(nil), out[start:]...)
					out = append(out[:start], call("SF_DATE", operand)...)
					i = j
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
	case (fn == "TO_DATE" || fn == "DATE") && len(args) == 1 && tc.marked(args[0]):
		return call("SF_DATE", args[0]), true
	case fn == "TRY_TO_DATE" && len(args) == 1 && tc.marked(args[0]):
		return call("SF_TRY_DATE", args[0]), true
	case (fn == "CAST" || fn == "TRY_CAST") && len(args) == 1 && tc.marked(args[0]):
		w := words(args[0])
		if len(w) < 3 || !w[len(w)-1].is("DATE") || !w[len(w)-2].is("AS") {
			return nil, false
		}
		var expr []token
		for k, t := range args[0] {
			if t.pos == w[len(w)-2].pos && t.is("AS") {
				expr = args[0][:k]
			}
		}
		if fn == "TRY_CAST" {
			return call("SF_TRY_DATE", expr), true
		}
		return call("SF_DATE", expr), true
	case tzDateFuncs[fn] && len(args) == 1 && tc.marked(args[0]):
		return call(fn, call("SF_WALL", args[0])), true
	case fn == "DATE_PART" && len(args) == 2 && tc.marked(args[1]):
		p, ok := datePart(args[0])
		if !ok {
			return nil, false
		}
		return call("DATE_PART", []token{{kind: tkString, text: quoteString(p), pos: -1}}, call("SF_WALL", args[1])), true
	case fn == "EXTRACT" && len(args) == 1 && tc.marked(args[0]):
		w := words(args[0])
		if len(w) < 3 || !w[1].is("FROM") || strings.HasPrefix(w[0].upper(), "TIMEZONE") {
			return nil, false
		}
		via := "SF_WALL"
		if w[0].is("EPOCH") {
			via = "SF_KEY" // seconds since the epoch of the instant
		}
		for k, t := range args[0] {
			if t.pos == w[1].pos && t.is("FROM") {
				head := append(append([]token(nil), args[0][:k+1]...), tzSpace())
				return call("EXTRACT", append(head, call(via, args[0][k+1:])...)), true
			}
		}
	}
	return nil, false
}
