package snowflaketest

import (
	"strconv"
	"strings"
)

// TIMESTAMP_TZ comparisons by the instant (see tzsem.go): both sides of a
// comparison, BETWEEN or IN, the keys of SELECT DISTINCT and COUNT(DISTINCT …),
// and the GROUP BY items that may hold a TIMESTAMP_TZ value go through
// sf_key.

// comparisonOps compare two values.
var comparisonOps = map[string]bool{"=": true, "==": true, "<>": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true}

// level rewrites one parenthesis level of a statement (inner levels
// first): comparisons and IN by the instant, SELECT DISTINCT and GROUP BY
// by the instant, COUNT(DISTINCT …) by the instant.
func (tc tzContext) level(toks []token) []token {
	var flat []token
	for i := 0; i < len(toks); i++ {
		if toks[i].text != "(" {
			flat = append(flat, toks[i])
			continue
		}
		c := matchingParen(toks, i)
		if c < 0 {
			flat = append(flat, toks[i:]...)
			break
		}
		inner := tc.level(toks[i+1 : c])
		if p := lastNonSpace(flat); p >= 0 && flat[p].is("COUNT") {
			if w := words(inner); len(w) > 1 && w[0].is("DISTINCT") {
				k := 0
				for inner[k].pos != w[0].pos || !inner[k].is("DISTINCT") {
					k++
				}
				if rest := inner[k+1:]; tc.marked(rest) && len(splitArgs(rest)) == 1 {
					inner = append(append(append([]token(nil), inner[:k+1]...), tzSpace()), tc.key(rest)...)
				}
			}
		}
		flat = append(flat, toks[i])
		flat = append(flat, inner...)
		flat = append(flat, toks[c])
		i = c
	}
	return tc.partitions(tc.setOps(tc.selects(tc.comparisons(flat))))
}

// setOps makes UNION, EXCEPT (MINUS) and INTERSECT without ALL of one
// level compare rows by their instants: q1 UNION q2 … becomes SELECT
// DISTINCT ON (sf_key(COLUMNS(*))) * FROM (q1 UNION ALL q2 …); q1 EXCEPT
// q2 is exceptKeys(q1, q2), q1 INTERSECT q2 is q1 EXCEPT (q1 EXCEPT q2).
// A chain of UNIONs is rewritten, EXCEPT and INTERSECT only alone; a
// trailing ORDER BY, LIMIT, OFFSET or FETCH applies to the result.
func (tc tzContext) setOps(toks []token) []token {
	var ops []int
	for k := 0; k < len(toks); k++ {
		if toks[k].text == "(" {
			c := matchingParen(toks, k)
			if c < 0 {
				return toks
			}
			k = c
			continue
		}
		if toks[k].is("UNION") || toks[k].is("EXCEPT") || toks[k].is("INTERSECT") || toks[k].is("MINUS") {
			ops = append(ops, k)
		}
	}
	if len(ops) == 0 || !tc.touched(toks) {
		return toks
	}
	kind := func(k int) string {
		if toks[k].is("MINUS") {
			return "EXCEPT"
		}
		return toks[k].upper()
	}
	for _, o := range ops {
		j := nextNonSpace(toks, o+1)
		if kind(o) != kind(ops[0]) || j < 0 || toks[j].is("ALL") || toks[j].is("BY") || toks[j].is("DISTINCT") {
			return toks
		}
	}
	op := kind(ops[0])
	if op != "UNION" && len(ops) > 1 {
		return toks
	}
	start := nextNonSpace(toks, 0)
	if start < 0 {
		return toks
	}
	if toks[start].is("WITH") {
		start = -1
		for k := 0; k < ops[0]; k++ {
			if toks[k].text == "(" {
				if c := matchingParen(toks, k); c > 0 {
					k = c
				}
				continue
			}
			if toks[k].is("SELECT") {
				start = k
				break
			}
		}
		if start < 0 {
			return toks
		}
	}
	end := len(toks)
	for k := ops[len(ops)-1]; k < len(toks) && end == len(toks); k++ {
		if toks[k].text == "(" {
			if c := matchingParen(toks, k); c > 0 {
				k = c
			}
			continue
		}
		if toks[k].is("ORDER") || toks[k].is("LIMIT") || toks[k].is("OFFSET") || toks[k].is("FETCH") {
			end = k
		}
	}
	var parts [][]token
	prev := start
	for _, o := range ops {
		parts = append(parts, toks[prev:o])
		prev = o + 1
	}
	parts = append(parts, toks[prev:end])
	for _, p := range parts {
		if len(words(p)) == 0 {
			return toks
		}
	}
	out := append([]token(nil), toks[:start]...)
	if op == "UNION" {
		out = append(out, tzPunct("SELECT DISTINCT ON (SF_KEY(COLUMNS(*))) * FROM ("))
		for n, p := range parts {
			if n > 0 {
				out = append(out, tzPunct(" UNION ALL "))
			}
			out = append(out, p...)
		}
		out = append(out, tzPunct(") __sf_set "))
	} else {
		for _, t := range parts[0] {
			if t.kind == tkParam && op == "INTERSECT" {
				return toks // q1 is written twice below: its binds would shift
			}
		}
		if op == "EXCEPT" {
			out = append(out, exceptKeys(parts[0], parts[1])...)
		} else {
			out = append(out, exceptKeys(parts[0], exceptKeys(parts[0], parts[1]))...)
		}
		out = append(out, tzSpace())
	}
	return append(out, toks[end:]...)
}

// partitions puts the PARTITION BY items of a window (OVER (…), one
// level) that may hold a TIMESTAMP_TZ value under sf_key.
func (tc tzContext) partitions(toks []token) []token {
	p := nextNonSpace(toks, 0)
	if p < 0 || !toks[p].is("PARTITION") {
		return toks
	}
	by := nextNonSpace(toks, p+1)
	if by < 0 || !toks[by].is("BY") {
		return toks
	}
	end := len(toks)
	for k := by + 1; k < len(toks); k++ {
		if toks[k].text == "(" {
			if c := matchingParen(toks, k); c > 0 {
				k = c
				continue
			}
		}
		if toks[k].is("ORDER") || toks[k].is("ROWS") || toks[k].is("RANGE") || toks[k].is("GROUPS") {
			end = k
			break
		}
	}
	items := splitArgs(toks[by+1 : end])
	if !tc.marked(toks[by+1 : end]) {
		return toks
	}
	out := append([]token(nil), toks[:by+1]...)
	for n, it := range items {
		if n > 0 {
			out = append(out, tzPunct(","))
		}
		out = append(out, tzSpace())
		if tc.marked(it) {
			out = append(out, tc.key(it)...)
		} else {
			out = append(out, trimSpace(it)...)
		}
	}
	out = append(out, tzSpace())
	return append(out, toks[end:]...)
}

// comparisons wraps both sides of the comparisons and IN lists of one
// level (toks' parenthesized parts are operands) in sf_key when either
// side may hold a TIMESTAMP_TZ value.
func (tc tzContext) comparisons(toks []token) []token {
	var out []token
	inSet := false // in UPDATE's or MERGE's SET list, whose "=" assign
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.is("SET"):
			inSet = true
		case t.is("FROM") || t.is("WHERE") || t.is("WHEN") || t.is("RETURNING"):
			inSet = false
		}
		switch {
		case t.text == "(":
			// An inner level, rewritten already (level).
			if c := matchingParen(toks, i); c > 0 {
				out = append(out, toks[i:c+1]...)
				i = c
				continue
			}
		case t.kind == tkPunct && comparisonOps[t.text]:
			start := operandStart(out)
			j := nextNonSpace(toks, i+1)
			if start < 0 || j < 0 {
				break
			}
			if p := lastNonSpace(out[:start]); inSet && t.text == "=" && p >= 0 && (out[p].is("SET") || out[p].text == ",") {
				break
			}
			k := operandEnd(toks, j)
			if k < j {
				break
			}
			left, right := out[start:], toks[j:k+1]
			if !tc.marked(left) && !tc.marked(right) || windowed(left) || windowed(right) {
				break
			}
			l := tc.key(append([]token(nil), left...))
			out = append(append(out[:start], l...), tzSpace(), t, tzSpace())
			out = append(out, tc.key(right)...)
			i = k
			continue
		case t.is("BETWEEN"):
			end := len(out)
			if p := lastNonSpace(out); p >= 0 && out[p].is("NOT") {
				end = p
			}
			start := operandStart(out[:end])
			lo := nextNonSpace(toks, i+1)
			if start < 0 || lo < 0 {
				break
			}
			loEnd := operandEnd(toks, lo)
			and := nextNonSpace(toks, loEnd+1)
			if loEnd < lo || and < 0 || !toks[and].is("AND") {
				break
			}
			hi := nextNonSpace(toks, and+1)
			if hi < 0 {
				break
			}
			hiEnd := operandEnd(toks, hi)
			if hiEnd < hi {
				break
			}
			left, low, high := out[start:end], toks[lo:loEnd+1], toks[hi:hiEnd+1]
			if !tc.marked(left) && !tc.marked(low) && !tc.marked(high) || windowed(left) || windowed(low) || windowed(high) {
				break
			}
			tail := append([]token(nil), out[end:]...)
			out = append(append(out[:start], tc.key(append([]token(nil), left...))...), tzSpace())
			out = append(out, tail...)
			out = append(append(out, t, tzSpace()), tc.key(low)...)
			out = append(append(out, tzSpace(), toks[and], tzSpace()), tc.key(high)...)
			i = hiEnd
			continue
		case t.is("IN"):
			end := len(out)
			if p := lastNonSpace(out); p >= 0 && out[p].is("NOT") {
				end = p
			}
			start := operandStart(out[:end])
			j := nextNonSpace(toks, i+1)
			if start < 0 || j < 0 || toks[j].text != "(" {
				break
			}
			c := matchingParen(toks, j)
			if c < 0 {
				break
			}
			left, list := out[start:end], toks[j+1:c]
			if !tc.marked(left) && !tc.marked(list) {
				break
			}
			var items []token
			if w := words(list); len(w) > 0 && w[0].is("SELECT") {
				items = tc.keySelectList(list)
			} else {
				for n, a := range splitArgs(list) {
					if n > 0 {
						items = append(items, tzPunct(","), tzSpace())
					}
					items = append(items, tc.key(a)...)
				}
			}
			tail := append([]token(nil), out[end:]...)
			out = append(append(out[:start], tc.key(append([]token(nil), left...))...), tzSpace())
			out = append(out, tail...)
			out = append(out, t, tzSpace(), toks[j])
			out = append(out, items...)
			out = append(out, toks[c])
			i = c
			continue
		}
		out = append(out, t)
	}
	return out
}

// windowed reports whether ts holds a window (OVER …), which DuckDB
// cannot type outside its query (so no macro may take it).
func windowed(ts []token) bool {
	for _, t := range ts {
		if t.is("OVER") {
			return true
		}
	}
	return false
}

// selectList finds the select list of a query block starting at
// toks[sel] (the SELECT): the index after SELECT [DISTINCT] and the index
// of the FROM (or another clause, or the end) that ends it.
func selectList(toks []token, sel int) (from, to int, distinct int) {
	distinct = -1
	from = sel + 1
	if j := nextNonSpace(toks, sel+1); j > 0 && toks[j].is("DISTINCT") {
		distinct, from = j, j+1
		// DISTINCT ON (…), as selects writes it.
		if on := nextNonSpace(toks, j+1); on > 0 && toks[on].is("ON") {
			if open := nextNonSpace(toks, on+1); open > 0 && toks[open].text == "(" {
				if c := matchingParen(toks, open); c > 0 {
					from = c + 1
				}
			}
		}
	}
	depth := 0
	for k := from; k < len(toks); k++ {
		switch {
		case toks[k].text == "(":
			depth++
		case toks[k].text == ")":
			depth--
		case depth == 0 && toks[k].kind == tkWord && (toks[k].is("FROM") || isClauseWord(toks[k].upper()) || toks[k].is("INTO")):
			return from, k, distinct
		}
	}
	return from, len(toks), distinct
}

// itemExpr splits a select item into its expression and its alias (nil
// when it has none).
func itemExpr(item []token) (expr []token, alias []token) {
	w := words(item)
	if len(w) >= 3 && w[len(w)-2].is("AS") {
		for k, t := range item {
			if t.pos == w[len(w)-2].pos && t.is("AS") {
				return item[:k], item[k+1:]
			}
		}
	}
	return item, nil
}

// keySelectList wraps the expression of a subquery's one select item in
// sf_key (IN (SELECT …)).
func (tc tzContext) keySelectList(q []token) []token {
	sel := nextNonSpace(q, 0)
	if sel < 0 {
		return q
	}
	from, to, _ := selectList(q, sel)
	items := splitArgs(q[from:to])
	if len(items) != 1 {
		return q
	}
	expr, alias := itemExpr(items[0])
	out := append(append([]token(nil), q[:from]...), tzSpace())
	out = append(out, tc.key(expr)...)
	if alias != nil {
		out = append(append(out, tzSpace(), tzWord("AS"), tzSpace()), alias...)
	}
	out = append(out, tzSpace())
	return append(out, q[to:]...)
}

// tokKey is the text of ts for comparing expressions (words upper-cased,
// spaces dropped).
func tokKey(ts []token) string {
	var b strings.Builder
	for _, t := range words(ts) {
		if t.kind == tkWord {
			b.WriteString(strings.ToUpper(t.text))
		} else {
			b.WriteString(t.text)
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// aggregateItem reports whether a select item is one aggregate call.
func aggregateItem(expr []token) bool {
	w := words(expr)
	if len(w) < 3 || w[1].text != "(" || w[len(w)-1].text != ")" {
		return false
	}
	switch w[0].upper() {
	case "COUNT", "MIN", "MAX", "ANY_VALUE", "ARRAY_AGG", "LISTAGG", "SUM", "AVG", "COUNT_IF", "MODE":
		return true
	}
	return false
}

// selects applies the instant to SELECT DISTINCT (DISTINCT ON the
// instants) and GROUP BY (grouped by the instant; the grouped value
// itself answered by any_value) of the query blocks of one level.
func (tc tzContext) selects(toks []token) []token {
	for sel := 0; sel < len(toks); sel++ {
		if !toks[sel].is("SELECT") || depthAt(toks, sel) != 0 {
			continue
		}
		from, to, distinct := selectList(toks, sel)
		items := splitArgs(toks[from:to])
		if len(items) == 0 {
			continue
		}
		if w := words(toks[from:to]); distinct >= 0 && len(w) == 1 && w[0].text == "*" && tc.touched(toks) {
			// SELECT DISTINCT *: every column by its instant, if it has one.
			repl := []token{toks[distinct], tzSpace(), tzWord("ON"), tzSpace(), tzPunct("(")}
			repl = append(append(repl, call("SF_KEY", call("COLUMNS", []token{tzPunct("*")}))...), tzPunct(")"), tzSpace())
			toks = append(append(append([]token(nil), toks[:distinct]...), repl...), toks[distinct+1:]...)
			continue
		}
		if distinct >= 0 && tc.marked(toks[from:to]) {
			var on []token
			ok := true
			for n, it := range items {
				expr, _ := itemExpr(it)
				if w := words(expr); len(w) == 0 || w[len(w)-1].text == "*" {
					ok = false
					break
				}
				if n > 0 {
					on = append(on, tzPunct(","), tzSpace())
				}
				on = append(on, tc.key(expr)...)
			}
			if ok {
				repl := append(append([]token{toks[distinct], tzSpace(), tzWord("ON"), tzSpace(), tzPunct("(")}, on...), tzPunct(")"), tzSpace())
				toks = append(append(append([]token(nil), toks[:distinct]...), repl...), toks[distinct+1:]...)
				continue // the block's positions moved; GROUP BY with DISTINCT stays as it was
			}
		}
		toks = tc.groupBy(toks, from, to, items)
	}
	return toks
}

// depthAt returns the parenthesis depth of toks[i].
func depthAt(toks []token, i int) int {
	d := 0
	for _, t := range toks[:i] {
		switch t.text {
		case "(":
			d++
		case ")":
			d--
		}
	}
	return d
}

// groupBy rewrites the GROUP BY of the query block whose select list is
// toks[from:to] (items): a grouping item that may hold a TIMESTAMP_TZ
// value groups by sf_key(item), and select items equal to it become
// any_value(item) under their name. Left as it is when another select
// item uses the value outside an aggregate.
func (tc tzContext) groupBy(toks []token, from, to int, items [][]token) []token {
	g := -1
	for k := to; k < len(toks); k++ {
		if toks[k].text == "(" {
			if c := matchingParen(toks, k); c > 0 {
				k = c
				continue
			}
		}
		if toks[k].text == ")" || toks[k].is("SELECT") || toks[k].is("UNION") || toks[k].is("EXCEPT") || toks[k].is("INTERSECT") || toks[k].is("MINUS") {
			break
		}
		if toks[k].is("GROUP") {
			if j := nextNonSpace(toks, k+1); j > 0 && toks[j].is("BY") {
				g = j + 1
			}
			break
		}
	}
	if g < 0 {
		return toks
	}
	gEnd := len(toks)
	for k, depth := g, 0; k < len(toks); k++ {
		switch {
		case toks[k].text == "(":
			depth++
		case toks[k].text == ")":
			if depth == 0 {
				gEnd = k
			}
			depth--
		case depth == 0 && toks[k].kind == tkWord && (isClauseWord(toks[k].upper()) || toks[k].is("HAVING") || toks[k].is("QUALIFY")):
			gEnd = k
		}
		if gEnd != len(toks) {
			break
		}
	}
	groups := splitArgs(toks[g:gEnd])
	keyed := map[string]bool{} // tokKey of grouped expressions put under sf_key
	newGroups := make([][]token, len(groups))
	for n, gi := range groups {
		newGroups[n] = gi
		expr := gi
		if w := words(gi); len(w) == 1 && w[0].kind == tkNumber {
			p, err := strconv.Atoi(w[0].text)
			if err != nil || p < 1 || p > len(items) {
				continue
			}
			expr, _ = itemExpr(items[p-1])
		}
		if !tc.marked(expr) || tc.literal(expr) {
			continue
		}
		keyed[tokKey(expr)] = true
		newGroups[n] = tc.key(expr)
	}
	if len(keyed) == 0 {
		return toks
	}
	newItems := make([][]token, len(items))
	for n, it := range items {
		expr, alias := itemExpr(it)
		switch {
		case keyed[tokKey(expr)]:
			if alias == nil {
				alias = []token{{kind: tkQuoted, text: quoteIdent(itemName(expr)), pos: -1}}
			}
			v := append(call("ANY_VALUE", trimSpace(expr)), tzSpace(), tzWord("AS"), tzSpace())
			newItems[n] = append(append([]token{tzSpace()}, v...), alias...)
		case tc.marked(expr) && !aggregateItem(expr):
			return toks // the value is used otherwise: left as DuckDB groups it
		default:
			newItems[n] = it
		}
	}
	var out []token
	out = append(out, toks[:from]...)
	for n, it := range newItems {
		if n > 0 {
			out = append(out, tzPunct(","))
		}
		out = append(out, it...)
	}
	out = append(out, tzSpace())
	out = append(out, toks[to:g]...)
	out = append(out, tzSpace())
	for n, gi := range newGroups {
		if n > 0 {
			out = append(out, tzPunct(","), tzSpace())
		}
		out = append(out, gi...)
	}
	out = append(out, tzSpace())
	return append(out, groupedTail(toks[gEnd:], keyed)...)
}

// groupedTail rewrites the HAVING, QUALIFY and ORDER BY after a GROUP BY
// (up to the end of the query block): a grouped expression there,
// outside an aggregate, becomes any_value(expression), as the select
// list has it.
func groupedTail(toks []token, keyed map[string]bool) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT") || t.is("MINUS") {
			return append(out, toks[i:]...)
		}
		if t.kind != tkWord && t.kind != tkQuoted {
			out = append(out, t)
			continue
		}
		open := nextNonSpace(toks, i+1)
		if open > 0 && toks[open].text == "(" {
			// A call: an aggregate's arguments stay; other calls are
			// looked into.
			c := matchingParen(toks, open)
			if c < 0 {
				return append(out, toks[i:]...)
			}
			if aggregateItem(toks[i : c+1]) {
				out = append(out, toks[i:c+1]...)
			} else {
				out = append(out, toks[i:open+1]...)
				out = append(out, groupedTail(toks[open+1:c], keyed)...)
				out = append(out, toks[c])
			}
			i = c
			continue
		}
		if p := lastNonSpace(out); p >= 0 && out[p].text == "." {
			out = append(out, t)
			continue
		}
		// A (qualified) name.
		name := i
		for {
			d := nextNonSpace(toks, name+1)
			if d < 0 || toks[d].text != "." {
				break
			}
			m := nextNonSpace(toks, d+1)
			if m < 0 || (toks[m].kind != tkWord && toks[m].kind != tkQuoted) {
				break
			}
			name = m
		}
		if keyed[tokKey(toks[i:name+1])] {
			out = append(out, call("ANY_VALUE", toks[i:name+1])...)
			i = name
			continue
		}
		out = append(out, t)
	}
	return out
}

// itemName is the result column name of a select item without an alias:
// a column's name, else the item's text, upper-cased as Snowflake does.
func itemName(expr []token) string {
	w := words(expr)
	if len(w) > 0 && (w[len(w)-1].kind == tkWord || w[len(w)-1].kind == tkQuoted) {
		simple := true
		for k, t := range w {
			if (k%2 == 0 && t.kind != tkWord && t.kind != tkQuoted) || (k%2 == 1 && t.text != ".") {
				simple = false
			}
		}
		if simple {
			return identName(w[len(w)-1])
		}
	}
	return strings.ToUpper(strings.TrimSpace(tokText(expr)))
}

// exceptKeys returns a query of the rows of a, one a key, whose key
// (every column through sf_key) no row of b has: of a UNION ALL b marked
// by side, DISTINCT ON the key keeps b's row where there is one, and
// only a's rows are kept. (DuckDB takes COLUMNS(*) in DISTINCT ON, not in
// PARTITION BY or GROUP BY, and no column names are known here.)
func exceptKeys(a, b []token) []token {
	out := []token{tzPunct("SELECT COLUMNS(* EXCLUDE (__sf_side)) FROM (SELECT DISTINCT ON (SF_KEY(COLUMNS(* EXCLUDE (__sf_side)))) * FROM (SELECT *, 1 AS __sf_side FROM (")}
	out = append(out, a...)
	out = append(out, tzPunct(") UNION ALL SELECT *, 2 FROM ("))
	out = append(out, b...)
	return append(out, tzPunct(")) ORDER BY __sf_side DESC) __sf_set WHERE __sf_side = 1"))
}
