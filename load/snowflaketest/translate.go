package snowflaketest

import (
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bindValue is one bound value of one row.
type bindValue struct {
	null bool
	typ  string // Snowflake binding type: FIXED, REAL, TEXT, BOOLEAN, DATE, TIME, TIMESTAMP_*, BINARY, ANY
	s    string
}

var (
	reInt   = regexp.MustCompile(`^[+-]?[0-9]+$`)
	reFloat = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
)

// literal renders v as a DuckDB literal; text is escaped, never spliced.
func (v bindValue) literal() (string, error) {
	if v.null {
		return "NULL", nil
	}
	switch strings.ToUpper(v.typ) {
	case "FIXED":
		if reInt.MatchString(v.s) || reFloat.MatchString(v.s) {
			return v.s, nil
		}
		return quoteString(v.s), nil
	case "REAL":
		if reFloat.MatchString(v.s) {
			return "CAST(" + v.s + " AS DOUBLE)", nil
		}
		return "CAST(" + quoteString(v.s) + " AS DOUBLE)", nil
	case "BOOLEAN":
		switch strings.ToLower(v.s) {
		case "true", "1":
			return "TRUE", nil
		case "false", "0":
			return "FALSE", nil
		}
		return quoteString(v.s), nil
	case "DATE":
		ms, err := strconv.ParseInt(v.s, 10, 64)
		if err != nil {
			return quoteString(v.s), nil
		}
		return "DATE " + quoteString(time.UnixMilli(ms).UTC().Format("2006-01-02")), nil
	case "TIME":
		ns, err := strconv.ParseInt(v.s, 10, 64)
		if err != nil {
			return quoteString(v.s), nil
		}
		return "TIME " + quoteString(time.Unix(0, ns).UTC().Format("15:04:05.999999999")), nil
	case "TIMESTAMP_NTZ", "TIMESTAMP":
		ns, err := strconv.ParseInt(strings.Fields(v.s + " ")[0], 10, 64)
		if err != nil {
			return quoteString(v.s), nil
		}
		return "TIMESTAMP " + quoteString(time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.999999999")), nil
	case "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
		f := strings.Fields(v.s)
		if len(f) == 0 {
			return quoteString(v.s), nil
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return quoteString(v.s), nil
		}
		instant := "TIMESTAMPTZ " + quoteString(time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.999999999Z07:00"))
		if strings.ToUpper(v.typ) == "TIMESTAMP_LTZ" {
			return instant, nil
		}
		// TIMESTAMP_TZ: "<nanoseconds> <offset minutes + 1440>" (no
		// offset: UTC, the session's zone), kept as tzStruct.
		off := int64(0)
		if len(f) > 1 {
			o, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || o < 0 || o > 2880 {
				return "", sqlErr(errSyntax, "42000", "Invalid TIMESTAMP_TZ binding '%s'.", v.s)
			}
			off = o - 1440
		}
		return "CAST({'sf_instant': " + instant + ", 'sf_offset': " + strconv.FormatInt(off, 10) + "} AS " + tzStruct + ")", nil
	case "BINARY":
		if _, err := hex.DecodeString(v.s); err != nil {
			return "", sqlErr(errHex, "22000", "The following string is not a legal hex-encoded value: '%s'", v.s)
		}
		return "from_hex(" + quoteString(v.s) + ")", nil
	}
	return quoteString(v.s), nil
}

// parseBindings turns the request's bindings into rows of values. Scalar
// bindings give one row; array bindings give one row per element.
func parseBindings(b map[string]bindingParam) ([][]bindValue, error) {
	if len(b) == 0 {
		return nil, nil
	}
	n := len(b)
	cols := make([][]bindValue, n)
	rows := -1
	for i := 1; i <= n; i++ {
		p, ok := b[strconv.Itoa(i)]
		if !ok {
			return nil, sqlErr(2049, "42601", "SQL compilation error: Bind variable :%d not set.", i)
		}
		raw := strings.TrimSpace(string(p.Value))
		switch {
		case raw == "" || raw == "null":
			cols[i-1] = []bindValue{{null: true, typ: p.Type}}
		case raw[0] == '[':
			var arr []*string
			if err := json.Unmarshal(p.Value, &arr); err != nil {
				return nil, unsupported("binding of structured type " + p.Type)
			}
			for _, s := range arr {
				if s == nil {
					cols[i-1] = append(cols[i-1], bindValue{null: true, typ: p.Type})
				} else {
					cols[i-1] = append(cols[i-1], bindValue{typ: p.Type, s: *s})
				}
			}
			if rows >= 0 && rows != len(arr) {
				return nil, sqlErr(errSyntax, "42000", "Array bind variables have different lengths (%d and %d).", rows, len(arr))
			}
			rows = len(arr)
			continue
		case raw[0] == '"':
			var s string
			if err := json.Unmarshal(p.Value, &s); err != nil {
				return nil, sqlErr(errSyntax, "42000", "Invalid binding %d.", i)
			}
			cols[i-1] = []bindValue{{typ: p.Type, s: s}}
		default:
			return nil, unsupported("binding of structured type " + p.Type)
		}
	}
	if rows < 0 {
		rows = 1
	}
	out := make([][]bindValue, rows)
	for r := range out {
		out[r] = make([]bindValue, n)
		for c := range cols {
			if len(cols[c]) == 1 && rows != 1 {
				out[r][c] = cols[c][0]
			} else if r < len(cols[c]) {
				out[r][c] = cols[c][r]
			}
		}
	}
	return out, nil
}

// typeMap maps Snowflake type names to DuckDB ones. An entry ending in
// "()" drops a following parenthesized length.
var typeMap = map[string]string{
	"INT": "DECIMAL(38,0)", "INTEGER": "DECIMAL(38,0)", "BIGINT": "DECIMAL(38,0)", "SMALLINT": "DECIMAL(38,0)",
	"TINYINT": "DECIMAL(38,0)", "BYTEINT": "DECIMAL(38,0)",
	"FLOAT": "DOUBLE", "FLOAT4": "DOUBLE", "FLOAT8": "DOUBLE", "REAL": "DOUBLE", "DOUBLE": "DOUBLE",
	"STRING": "VARCHAR", "TEXT": "VARCHAR", "NVARCHAR": "VARCHAR", "NCHAR": "VARCHAR", "NVARCHAR2": "VARCHAR", "CHAR VARYING": "VARCHAR",
	"VARIANT": "JSON", "OBJECT": "JSON", "ARRAY": "JSON",
	"TIMESTAMP": "TIMESTAMP()", "TIMESTAMP_NTZ": "TIMESTAMP()", "DATETIME": "TIMESTAMP()",
	"TIMESTAMP_LTZ": "TIMESTAMPTZ()", "TIMESTAMP_TZ": tzStruct + "()",
	"BINARY": "BLOB()", "VARBINARY": "BLOB()",
}

// funcMap renames Snowflake functions that DuckDB spells differently.
var funcMap = map[string]string{"NVL": "COALESCE", "IFF": "IF", "PARSE_JSON": "JSON",
	"OBJECT_CONSTRUCT": "JSON_OBJECT", "OBJECT_CONSTRUCT_KEEP_NULL": "JSON_OBJECT", "ARRAY_CONSTRUCT": "JSON_ARRAY",
	"TO_TIMESTAMP": "SF_TS_NTZ_STRICT", "TO_TIMESTAMP_NTZ": "SF_TS_NTZ_STRICT", "TO_TIMESTAMP_LTZ": "SF_TS_TZ_STRICT", "TO_TIMESTAMP_TZ": "SF_TZ_STRICT",
	"TRY_TO_TIMESTAMP": "SF_TS_NTZ", "TRY_TO_TIMESTAMP_NTZ": "SF_TS_NTZ", "TRY_TO_TIMESTAMP_LTZ": "SF_TS_TZ", "TRY_TO_TIMESTAMP_TZ": "SF_TZV",
	"MOD":               "SF_MOD",
	"CURRENT_TIMESTAMP": "GET_CURRENT_TIMESTAMP", "LOCALTIMESTAMP": "GET_CURRENT_TIMESTAMP", "GETDATE": "GET_CURRENT_TIMESTAMP",
	"SYSTIMESTAMP": "GET_CURRENT_TIMESTAMP"}

// inTypeContext reports whether the word at toks[i] stands where a type
// name does: after "::", after AS inside CAST, after TYPE, or after a
// column name that follows "(" or "," or ADD/COLUMN in DDL.
func inTypeContext(toks []token, i int, ddl bool) bool {
	var prev []token
	for j := i - 1; j >= 0 && len(prev) < 2; j-- {
		if toks[j].kind != tkSpace {
			prev = append(prev, toks[j])
		}
	}
	if len(prev) == 0 {
		return false
	}
	p := prev[0]
	switch {
	case p.text == "::", p.is("TYPE"):
		return true
	case p.is("AS"):
		return insideCast(toks, i)
	case ddl && (p.kind == tkWord || p.kind == tkQuoted) && len(prev) == 2:
		pp := prev[1]
		return pp.text == "(" || pp.text == "," || pp.is("COLUMN") || pp.is("ADD")
	}
	return false
}

// insideCast reports whether toks[i] is inside CAST( or TRY_CAST(.
func insideCast(toks []token, i int) bool {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch toks[j].text {
		case ")":
			depth++
		case "(":
			if depth == 0 {
				for k := j - 1; k >= 0; k-- {
					if toks[k].kind != tkSpace {
						return toks[k].is("CAST") || toks[k].is("TRY_CAST")
					}
				}
				return false
			}
			depth--
		}
	}
	return false
}

// translate rewrites Snowflake SQL tokens into DuckDB SQL: unquoted
// identifiers fold to upper case, types and a few functions are renamed,
// and placeholders are replaced by the literals of binds.
func translate(toks []token, binds []bindValue) (string, error) {
	ddl := false
	if w := words(toks); len(w) > 0 && (w[0].is("CREATE") || w[0].is("ALTER")) {
		ddl = true
	}
	if !ddl {
		// Not in DDL: a view or a default must not call a session macro.
		toks = rewriteTZCasts(wrapDivisors(toks))
	}
	var b strings.Builder
	next := 0
	prevWord := func(i int) token {
		for j := i - 1; j >= 0; j-- {
			if toks[j].kind != tkSpace {
				return toks[j]
			}
		}
		return token{}
	}
	nextIdx := func(i int) int {
		for j := i + 1; j < len(toks); j++ {
			if toks[j].kind != tkSpace {
				return j
			}
		}
		return -1
	}
	skipUntil := -1
	for i, t := range toks {
		if i <= skipUntil {
			continue
		}
		switch t.kind {
		case tkParam:
			idx := bindIndex(t, &next)
			if idx < 0 || idx >= len(binds) {
				return "", sqlErr(2049, "42601", "SQL compilation error: Bind variable %s not set.", t.text)
			}
			lit, err := binds[idx].literal()
			if err != nil {
				return "", err
			}
			b.WriteString(lit)
		case tkWord:
			up := strings.ToUpper(t.text)
			if up == "TRANSIENT" || up == "VOLATILE" {
				continue
			}
			if !inTypeContext(toks, i, ddl) {
				if j := nextIdx(i); j >= 0 && toks[j].text == "(" && prevWord(i).text != "." {
					if f, ok := funcMap[up]; ok {
						up = f
					}
				}
				b.WriteString(up)
				continue
			}
			mapped, ok := typeMap[up]
			if !ok {
				switch up {
				case "NUMBER", "DECIMAL", "NUMERIC":
					if j := nextIdx(i); j >= 0 && toks[j].text == "(" {
						mapped = "DECIMAL"
					} else {
						mapped = "DECIMAL(38,0)"
					}
				default:
					mapped = up
				}
			}
			if strings.HasSuffix(mapped, "()") {
				mapped = strings.TrimSuffix(mapped, "()")
				if j := nextIdx(i); j >= 0 && toks[j].text == "(" {
					for k := j; k < len(toks); k++ {
						if toks[k].text == ")" {
							skipUntil = k
							break
						}
					}
				}
			}
			if mapped == "DOUBLE" {
				if j := nextIdx(i); j >= 0 && toks[j].is("PRECISION") {
					skipUntil = j
				}
			}
			b.WriteString(mapped)
		case tkStage:
			return "", unsupported("stage reference " + t.text + " in this statement")
		default:
			b.WriteString(t.text)
		}
	}
	return b.String(), nil
}

// countParams returns the number of placeholders in toks.
func countParams(toks []token) int {
	n := 0
	for _, t := range toks {
		if t.kind == tkParam {
			n++
		}
	}
	return n
}

// wrapDivisors makes division by zero an error, as in Snowflake (DuckDB
// answers NULL or infinity): the right operand of every "/" and "%" becomes
// sf_nz(operand), a session macro that fails on zero. The operand is a
// primary expression: an optional sign, then a literal, a placeholder, a
// (possibly qualified) name or call, or a parenthesized expression, with
// "::type" casts after it.
func wrapDivisors(toks []token) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		out = append(out, t)
		if t.kind != tkPunct || (t.text != "/" && t.text != "%") {
			continue
		}
		j := nextNonSpace(toks, i+1)
		if j < 0 {
			continue
		}
		k := operandEnd(toks, j)
		if k < j {
			continue
		}
		out = append(out, token{kind: tkPunct, text: " sf_nz("})
		out = append(out, wrapDivisors(toks[j:k+1])...)
		out = append(out, token{kind: tkPunct, text: ")"})
		i = k
	}
	return out
}

// operandEnd returns the index of the last token of the primary
// expression starting at toks[j], or -1.
func operandEnd(toks []token, j int) int {
	if toks[j].text == "-" || toks[j].text == "+" {
		n := nextNonSpace(toks, j+1)
		if n < 0 {
			return -1
		}
		j = n
	}
	end := -1
	switch t := toks[j]; {
	case t.text == "(":
		end = matchingParen(toks, j)
	case t.kind == tkNumber, t.kind == tkString, t.kind == tkParam:
		end = j
	case t.kind == tkWord, t.kind == tkQuoted:
		end = j
		for {
			n := nextNonSpace(toks, end+1)
			if n < 0 {
				break
			}
			if toks[n].text == "." {
				if m := nextNonSpace(toks, n+1); m > 0 && (toks[m].kind == tkWord || toks[m].kind == tkQuoted) {
					end = m
					continue
				}
			}
			if toks[n].text == "(" {
				end = matchingParen(toks, n)
			}
			break
		}
	}
	if end < 0 {
		return -1
	}
	// "::type" and "::type(p, s)" casts.
	for {
		n := nextNonSpace(toks, end+1)
		if n < 0 || toks[n].text != "::" {
			return end
		}
		m := nextNonSpace(toks, n+1)
		if m < 0 || toks[m].kind != tkWord {
			return end
		}
		end = m
		if p := nextNonSpace(toks, m+1); p > 0 && toks[p].text == "(" {
			if c := matchingParen(toks, p); c > 0 {
				end = c
			}
		}
	}
}

// castMacros are the session macros that casts to timestamp types become
// (strict for CAST and "::", lenient for TRY_CAST): they read Snowflake's
// input formats (an offset after a space or without a colon, epochs) and
// TIMESTAMP_TZ values, and build a TIMESTAMP_TZ value (tzStruct, the
// offset kept), which DuckDB's own casts cannot.
var castMacros = map[string][2]string{
	"TIMESTAMP_TZ":  {"SF_TZ_STRICT", "SF_TZV"},
	"TIMESTAMP_LTZ": {"SF_TS_TZ_STRICT", "SF_TS_TZ"},
	"TIMESTAMP_NTZ": {"SF_TS_NTZ_STRICT", "SF_TS_NTZ"},
	"TIMESTAMP":     {"SF_TS_NTZ_STRICT", "SF_TS_NTZ"},
	"DATETIME":      {"SF_TS_NTZ_STRICT", "SF_TS_NTZ"},
}

// rewriteTZCasts turns casts to timestamp types (CAST(x AS type),
// TRY_CAST(...), x::type) into calls of their castMacros.
func rewriteTZCasts(toks []token) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.is("CAST") || t.is("TRY_CAST") {
			if open := nextNonSpace(toks, i+1); open > 0 && toks[open].text == "(" {
				if closeIdx := matchingParen(toks, open); closeIdx > 0 {
					if as, m := tzCastAs(toks[open+1 : closeIdx]); as >= 0 {
						fn := m[0]
						if t.is("TRY_CAST") {
							fn = m[1]
						}
						out = append(out, token{kind: tkWord, text: fn, pos: t.pos}, token{kind: tkPunct, text: "("})
						out = append(out, rewriteTZCasts(toks[open+1:open+1+as])...)
						out = append(out, token{kind: tkPunct, text: ")"})
						i = closeIdx
						continue
					}
				}
			}
		}
		if t.text == "::" {
			j := nextNonSpace(toks, i+1)
			m, ok := [2]string{}, false
			if j > 0 && toks[j].kind == tkWord {
				m, ok = castMacros[toks[j].upper()]
			}
			if ok {
				if start := operandStart(out); start >= 0 {
					operand := append([]token(nil), out[start:]...)
					out = append(out[:start], token{kind: tkWord, text: m[0]}, token{kind: tkPunct, text: "("})
					out = append(out, operand...)
					out = append(out, token{kind: tkPunct, text: ")"})
					i = j
					if p := nextNonSpace(toks, j+1); p > 0 && toks[p].text == "(" {
						if c := matchingParen(toks, p); c > 0 {
							i = c
						}
					}
					continue
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// tzCastAs returns the index in inner (a CAST's arguments) of the
// top-level AS and the castMacros entry when the cast is to one of their
// types (with an optional precision), else -1.
func tzCastAs(inner []token) (int, [2]string) {
	depth := 0
	for k, t := range inner {
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case depth == 0 && t.is("AS"):
			rest := words(inner[k+1:])
			if len(rest) == 0 || rest[0].kind != tkWord || (len(rest) > 1 && rest[1].text != "(") {
				return -1, [2]string{}
			}
			m, ok := castMacros[rest[0].upper()]
			if !ok {
				return -1, [2]string{}
			}
			return k, m
		}
	}
	return -1, [2]string{}
}

// operatorWords are keywords that may stand before a parenthesized
// operand (which is then not a call).
var operatorWords = map[string]bool{"SELECT": true, "WHERE": true, "AND": true, "OR": true, "NOT": true, "ON": true, "WHEN": true,
	"THEN": true, "ELSE": true, "IN": true, "AS": true, "BY": true, "VALUES": true, "SET": true, "HAVING": true, "IS": true,
	"LIKE": true, "BETWEEN": true, "CASE": true, "DISTINCT": true, "EXISTS": true, "RETURNING": true, "QUALIFY": true}

// typedLiteralWords are the type names that may precede a string to make
// a typed literal (DATE '2024-01-02').
var typedLiteralWords = map[string]bool{"DATE": true, "TIME": true, "TIMESTAMP": true, "TIMESTAMPTZ": true, "INTERVAL": true,
	"TIMESTAMP_NTZ": true, "TIMESTAMP_LTZ": true, "TIMESTAMP_TZ": true}

// operandStart returns the index in toks of the first token of the
// primary expression that ends toks (a literal, a placeholder, a
// possibly qualified name or call, a parenthesized expression, with any
// "::type" casts), or -1.
func operandStart(toks []token) int {
	end := lastNonSpace(toks)
	if end < 0 {
		return -1
	}
	start := -1
	switch t := toks[end]; {
	case t.text == ")":
		depth := 0
		for k := end; k >= 0; k-- {
			if toks[k].text == ")" {
				depth++
			} else if toks[k].text == "(" {
				depth--
				if depth == 0 {
					start = k
					break
				}
			}
		}
		if start < 0 {
			return -1
		}
		if p := lastNonSpace(toks[:start]); p >= 0 && (toks[p].kind == tkQuoted || (toks[p].kind == tkWord && !operatorWords[toks[p].upper()])) {
			start = p // a call
		}
	case t.is("END"):
		depth := 0
		for k := end; k >= 0; k-- {
			if toks[k].is("END") {
				depth++
			} else if toks[k].is("CASE") {
				depth--
				if depth == 0 {
					start = k
					break
				}
			}
		}
		if start < 0 {
			return -1
		}
	case t.kind == tkString:
		start = end
		if p := lastNonSpace(toks[:start]); p >= 0 && typedLiteralWords[toks[p].upper()] && toks[p].kind == tkWord {
			start = p // DATE '...'
		}
	case t.kind == tkWord && operatorWords[t.upper()]:
		return -1
	case t.kind == tkWord, t.kind == tkQuoted, t.kind == tkNumber, t.kind == tkParam:
		start = end
	default:
		return -1
	}
	// Qualifiers (a.b.c) and earlier casts (x::VARCHAR).
	for {
		p := lastNonSpace(toks[:start])
		if p < 0 {
			return start
		}
		switch toks[p].text {
		case ".":
			q := lastNonSpace(toks[:p])
			if q < 0 || (toks[q].kind != tkWord && toks[q].kind != tkQuoted) {
				return start
			}
			start = q
		case "::":
			s := operandStart(toks[:p])
			if s < 0 {
				return start
			}
			start = s
		default:
			return start
		}
	}
}

// bindIndex is the 0-based bind variable a parameter token stands for:
// :N names the Nth, and each ? takes the next one (next counts them).
func bindIndex(t token, next *int) int {
	if t.text != "?" {
		n, _ := strconv.Atoi(t.text[1:])
		return n - 1
	}
	*next++
	return *next - 1
}
