package snowflaketest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Transactions, session parameters and the checks Snowflake makes after a
// DML statement.

// txnStmt answers BEGIN/START TRANSACTION, COMMIT and ROLLBACK. COMMIT and
// ROLLBACK without an open transaction are no-ops, as in Snowflake. Load
// metadata recorded by COPY inside the transaction is kept on COMMIT and
// dropped on ROLLBACK.
func (e *Emulator) txnStmt(ctx context.Context, s *session, ws []token) (*result, error) {
	switch ws[0].upper() {
	case "BEGIN", "START":
		if s.inTxn {
			return status("Statement executed successfully."), nil
		}
		if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return nil, err
		}
		s.inTxn = true
		return status("Statement executed successfully."), nil
	case "COMMIT":
		if !s.inTxn {
			return status("Statement executed successfully."), nil
		}
		s.inTxn = false
		pending := s.pendingLoads
		s.pendingLoads = nil
		if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return nil, err
		}
		for _, p := range pending {
			if err := e.recordLoads(ctx, p.table, p.files); err != nil {
				return nil, err
			}
		}
		return status("Statement executed successfully."), nil
	default: // ROLLBACK
		if !s.inTxn {
			return status("Statement executed successfully."), nil
		}
		s.inTxn = false
		s.pendingLoads = nil
		if _, err := s.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return nil, err
		}
		return status("Statement executed successfully."), nil
	}
}

// pendingLoad is load metadata of a COPY inside an open transaction.
type pendingLoad struct {
	table string
	files []string
}

// noteLoads records a COPY's loaded files now, or at COMMIT when a
// transaction is open.
func (e *Emulator) noteLoads(ctx context.Context, s *session, tableKey string, files []string) error {
	if len(files) == 0 {
		return nil
	}
	if s.inTxn {
		s.pendingLoads = append(s.pendingLoads, pendingLoad{table: tableKey, files: files})
		return nil
	}
	return e.recordLoads(ctx, tableKey, files)
}

// alterSession answers ALTER SESSION SET k = v [...] and UNSET k: the
// parameters the emulator acts on are kept per session, the others are
// accepted and ignored.
func (e *Emulator) alterSession(ws []token, s *session) (*result, error) {
	if len(ws) < 3 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: ALTER SESSION needs SET or UNSET")
	}
	switch ws[2].upper() {
	case "SET":
		opts, _, err := parseOptions(ws, 3)
		if err != nil {
			return nil, err
		}
		for k, v := range opts {
			if s.params == nil {
				s.params = map[string]string{}
			}
			s.params[k] = strings.ToUpper(v.s)
		}
	case "UNSET":
		for _, w := range ws[3:] {
			if w.kind == tkWord {
				delete(s.params, w.upper())
			}
		}
	}
	return status("Statement executed successfully."), nil
}

// dmlTarget returns the table an INSERT, UPDATE or MERGE writes.
func dmlTarget(ws []token) []string {
	i := 1
	switch ws[0].upper() {
	case "INSERT":
		for i < len(ws) && (ws[i].is("OVERWRITE") || ws[i].is("INTO")) {
			i++
		}
	case "MERGE":
		if i < len(ws) && ws[i].is("INTO") {
			i++
		}
	case "UPDATE":
	default:
		return nil
	}
	names, _ := parseName(ws, i)
	return names
}

// boundedColumns returns the table's VARCHAR(n) columns.
func (e *Emulator) boundedColumns(ctx context.Context, s *session, names []string) (string, []column) {
	if len(names) == 0 {
		return "", nil
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return "", nil
	}
	cols, err := e.tableColumns(ctx, s, db, sch, table)
	if err != nil {
		return "", nil
	}
	var out []column
	for _, c := range cols {
		if c.maxLen > 0 {
			out = append(out, c)
		}
	}
	return quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table), out
}

// checkLengths fails with 100074 when a VARCHAR(n) column of table holds a
// longer value.
func (e *Emulator) checkLengths(ctx context.Context, s *session, qn string, cols []column) error {
	for _, c := range cols {
		var v string
		err := s.conn.QueryRowContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE length(%s) > %d LIMIT 1", quoteIdent(c.name), qn, quoteIdent(c.name), c.maxLen)).Scan(&v)
		if err == nil {
			return tooLongError(c.maxLen, v)
		}
		if !isNoRows(err) {
			return err
		}
	}
	return nil
}

// guardDML runs a DML statement so that a refusal by Snowflake's checks
// (VARCHAR(n) lengths) leaves the table as it was: in its own transaction
// (undone on refusal) unless the session has one open. DuckDB has no
// savepoints and aborts a transaction on any error, so inside an open
// one the statement runs once on the table and a refusal puts the
// table back by hand (guardInTxn).
func (e *Emulator) guardDML(ctx context.Context, s *session, toks, ws []token, run func(toks, ws []token) (*result, error)) (*result, error) {
	qn, bounded := e.boundedColumns(ctx, s, dmlTarget(ws))
	if len(bounded) == 0 {
		return run(toks, ws)
	}
	if s.inTxn {
		return e.guardInTxn(ctx, s, qn, bounded, toks, ws, run)
	}
	if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	s.inTxn = true
	res, err := run(toks, ws)
	if err == nil {
		err = e.checkLengths(ctx, s, qn, bounded)
	}
	s.inTxn = false
	if err != nil {
		_, _ = s.conn.ExecContext(ctx, "ROLLBACK")
		return nil, err
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, err
	}
	return res, nil
}

// undoTable is the session's copy of a DML statement's target taken
// before the statement, to put back when Snowflake's checks refuse it.
const undoTable = `temp.main."__sf_undo"`

// guardInTxn runs a DML statement once, inside the session's open
// transaction, on the table qn, then checks its VARCHAR(n) columns; on a
// refusal it undoes the statement: the rows an INSERT added (those past
// the table's highest rowid before it; DuckDB numbers a transaction's new
// rows upwards) are deleted, and for UPDATE, MERGE and INSERT OVERWRITE
// the table's rows are replaced by a copy taken before the statement.
// Every expression of the statement (an external function, RANDOM(), a
// sequence) is evaluated once, as in Snowflake.
func (e *Emulator) guardInTxn(ctx context.Context, s *session, qn string, bounded []column, toks, ws []token, run func(toks, ws []token) (*result, error)) (*result, error) {
	appendOnly := ws[0].is("INSERT") && !(len(ws) > 1 && ws[1].is("OVERWRITE"))
	var mark int64
	if appendOnly {
		if err := s.conn.QueryRowContext(ctx, "SELECT COALESCE(max(rowid), -1) FROM "+qn).Scan(&mark); err != nil {
			return nil, err
		}
	} else {
		if _, err := s.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE \"__sf_undo\" AS SELECT * FROM "+qn); err != nil {
			return nil, err
		}
		defer func() { _, _ = s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+undoTable) }()
	}
	res, err := run(toks, ws)
	if err != nil {
		return nil, err
	}
	refusal := e.checkLengths(ctx, s, qn, bounded)
	if refusal == nil {
		return res, nil
	}
	var undo []string
	if appendOnly {
		undo = []string{fmt.Sprintf("DELETE FROM %s WHERE rowid > %d", qn, mark)}
	} else {
		undo = []string{"DELETE FROM " + qn, "INSERT INTO " + qn + " SELECT * FROM " + undoTable}
	}
	for _, q := range undo {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("snowflaketest: undoing a refused statement: %w", err)
		}
	}
	return nil, refusal
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// mergeParts splits a MERGE statement's tokens: the target (name and
// alias), the source and the ON condition, each as tokens, and the name
// the target is referred to by (its alias, else its last name part).
type mergeParts struct {
	target, source, cond []token
	ref                  string
	hasMatched           bool
}

func splitMerge(toks []token) (mergeParts, bool) {
	var mp mergeParts
	depth := 0
	stage := 0 // 0 before INTO's name, 1 target, 2 source, 3 condition, 4 clauses
	for i, t := range toks {
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth == 0 && t.kind == tkWord {
			switch {
			case stage == 0 && t.is("INTO"):
				stage = 1
				continue
			case stage == 1 && t.is("USING"):
				stage = 2
				continue
			case stage == 2 && t.is("ON"):
				stage = 3
				continue
			case stage == 3 && t.is("WHEN"):
				stage = 4
			}
		}
		switch stage {
		case 1:
			mp.target = append(mp.target, toks[i])
		case 2:
			mp.source = append(mp.source, toks[i])
		case 3:
			mp.cond = append(mp.cond, toks[i])
		case 4:
			if t.is("MATCHED") && i > 0 {
				if w := words(toks[:i]); len(w) > 0 && w[len(w)-1].is("WHEN") {
					mp.hasMatched = true
				}
			}
		}
	}
	if stage < 4 {
		return mp, false
	}
	tw := words(mp.target)
	if len(tw) == 0 {
		return mp, false
	}
	names, end := parseName(tw, 0)
	if len(names) == 0 {
		return mp, false
	}
	mp.ref = names[len(names)-1]
	if end < len(tw) && tw[end].is("AS") {
		end++
	}
	if end < len(tw) && (tw[end].kind == tkWord || tw[end].kind == tkQuoted) {
		mp.ref = identName(tw[end])
	}
	return mp, true
}

// unqualifySet drops the target's qualifier from MERGE's UPDATE SET
// assignments (SET t.col = ...), which DuckDB does not accept.
func unqualifySet(toks []token, ref string) []token {
	out := make([]token, 0, len(toks))
	inSet, depth := false, 0
	atStart := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if t.kind == tkWord && depth == 0 {
			if t.is("SET") {
				inSet, atStart = true, true
				out = append(out, t)
				continue
			}
			if t.is("WHEN") {
				inSet = false
			}
		}
		if inSet && depth == 0 && t.text == "," {
			atStart = true
			out = append(out, t)
			continue
		}
		if inSet && atStart && t.kind != tkSpace {
			atStart = false
			if (t.kind == tkWord || t.kind == tkQuoted) && strings.EqualFold(identName(t), ref) {
				j := nextNonSpace(toks, i+1)
				if j > 0 && toks[j].text == "." {
					i = j
					continue
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// checkMergeDeterministic fails with 100090 when a target row of a MERGE
// with a WHEN MATCHED clause joins several source rows, unless the session
// set ERROR_ON_NONDETERMINISTIC_MERGE = FALSE.
func (e *Emulator) checkMergeDeterministic(ctx context.Context, s *session, toks []token, binds []bindValue) error {
	if v := s.params["ERROR_ON_NONDETERMINISTIC_MERGE"]; v == "FALSE" {
		return nil
	}
	mp, ok := splitMerge(toks)
	if !ok || !mp.hasMatched {
		return nil
	}
	// The parts are translated together so that placeholders number
	// across them as in the statement.
	all := append(append(append(append(append([]token{}, mp.target...), token{kind: tkSpace, text: "\x00"}), mp.source...), token{kind: tkSpace, text: "\x00"}), mp.cond...)
	q, err := translate(all, binds)
	if err != nil {
		return nil // the MERGE itself reports it
	}
	parts := strings.Split(q, "\x00")
	if len(parts) != 3 {
		return nil
	}
	check := "SELECT 1 FROM " + parts[0] + " JOIN " + parts[1] + " ON " + parts[2] + " GROUP BY " + quoteIdent(mp.ref) + ".rowid HAVING count(*) > 1 LIMIT 1"
	var one int
	err = s.conn.QueryRowContext(ctx, check).Scan(&one)
	if err == nil {
		return sqlErr(errNondeterministicMerge, "21000", "Duplicate row detected during DML action\nRow Values: []")
	}
	return nil
}

// truncate answers TRUNCATE [TABLE] [IF EXISTS] name: the rows go, and so
// does the table's load metadata, as in Snowflake (the same files can be
// loaded again).
func (e *Emulator) truncate(ctx context.Context, s *session, ws []token) (*result, error) {
	i := 1
	if i < len(ws) && ws[i].is("TABLE") {
		i++
	}
	ifExists := false
	if i+1 < len(ws) && ws[i].is("IF") && ws[i+1].is("EXISTS") {
		ifExists, i = true, i+2
	}
	names, end := parseName(ws, i)
	if len(names) == 0 || end != len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: TRUNCATE TABLE needs a table name")
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, err
	}
	cols, err := e.tableColumns(ctx, s, db, sch, table)
	if err != nil {
		if ifExists {
			return status("Statement executed successfully."), nil
		}
		return nil, err
	}
	_ = cols
	if _, err := s.conn.ExecContext(ctx, "DELETE FROM "+quoteIdent(db)+"."+quoteIdent(sch)+"."+quoteIdent(table)); err != nil {
		return nil, err
	}
	if err := e.forgetLoads(ctx, db+"."+sch+"."+table); err != nil {
		return nil, err
	}
	return status("Statement executed successfully."), nil
}

// forgetLoads drops a table's load metadata.
func (e *Emulator) forgetLoads(ctx context.Context, tableKey string) error {
	e.locked(func() { delete(e.loadMeta, tableKey) })
	if e.opts.DBPath == "" {
		return nil
	}
	if _, err := e.db.ExecContext(ctx, "DELETE FROM "+e.meta("load_history")+" WHERE table_key = ?", tableKey); err != nil {
		return fmt.Errorf("snowflaketest: load metadata: %w", err)
	}
	return nil
}

// retryConflict reruns a statement that runs in its own transaction when
// DuckDB reports a conflict with a concurrent session (a table altered or
// written meanwhile); Snowflake would have serialized the two.
func retryConflict[T any](ctx context.Context, s *session, run func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := run()
		if err == nil || s.inTxn || attempt >= 100 || !strings.Contains(strings.ToLower(err.Error()), "conflict") {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(time.Duration(1+attempt%10) * 2 * time.Millisecond):
		}
	}
}

// valueMacros are the session macros that convert a value written into a
// timestamp column, by the column's DuckDB type: Snowflake's input
// formats (an offset after a space or without a colon, epoch strings),
// which DuckDB's own casts refuse, and for TIMESTAMP_TZ the STRUCT of
// instant and offset (tzStruct), which DuckDB cannot cast to at all.
var valueMacros = map[string]string{"TIMESTAMP": "SF_TS_NTZ_STRICT", "TIMESTAMP WITH TIME ZONE": "SF_TS_TZ_STRICT", "TIMESTAMPTZ": "SF_TS_TZ_STRICT"}

// wrapTZValues makes the values an INSERT, UPDATE or MERGE writes into
// timestamp columns go through the column's valueMacros entry (and
// sf_tz_strict for TIMESTAMP_TZ).
func (e *Emulator) wrapTZValues(ctx context.Context, s *session, toks, ws []token) []token {
	names := dmlTarget(ws)
	if len(names) == 0 {
		return toks
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return toks
	}
	cols, err := e.tableColumns(ctx, s, db, sch, table)
	if err != nil {
		return toks
	}
	tz := map[string]string{}
	all := make([]string, len(cols))
	for i, c := range cols {
		all[i] = strings.ToUpper(c.name)
		if isTZStruct(c.duckType) {
			tz[all[i]] = "SF_TZ_STRICT"
		} else if m, ok := valueMacros[strings.ToUpper(c.duckType)]; ok {
			tz[all[i]] = m
		}
	}
	if len(tz) == 0 {
		return toks
	}
	// The index in toks after the target's name.
	_, after := parseName(ws, targetIndex(ws))
	i0 := len(toks)
	if after < len(ws) {
		i0 = tokIndex(toks, ws[after].pos)
	}
	switch ws[0].upper() {
	case "INSERT":
		return wrapInsert(toks, i0, tz, all)
	case "UPDATE":
		return wrapSets(toks, i0, tz)
	case "MERGE":
		return wrapMerge(toks, i0, tz, all)
	}
	return toks
}

// targetIndex is the index in ws of the name dmlTarget reads.
func targetIndex(ws []token) int {
	i := 1
	for i < len(ws) && (ws[i].is("OVERWRITE") || ws[i].is("INTO")) {
		i++
	}
	return i
}

// tokIndex returns the index of the token at byte position pos.
func tokIndex(toks []token, pos int) int {
	for i, t := range toks {
		if t.pos == pos && t.kind != tkSpace {
			return i
		}
	}
	return len(toks)
}

// wrapCall wraps expression tokens in fn(...).
func wrapCall(fn string, expr []token) []token {
	out := []token{{kind: tkWord, text: fn}, {kind: tkPunct, text: "("}}
	out = append(out, expr...)
	return append(out, token{kind: tkPunct, text: ")"})
}

// wrapTuple wraps the elements of the tuple toks[open:closeIdx+1] that
// go into the columns of tz.
func wrapTuple(toks []token, tz map[string]string, cols []string) []token {
	out := []token{toks[0]}
	for n, arg := range splitArgs(toks[1 : len(toks)-1]) {
		if n > 0 {
			out = append(out, token{kind: tkPunct, text: ","})
		}
		if n < len(cols) && tz[cols[n]] != "" {
			arg = wrapCall(tz[cols[n]], arg)
		}
		out = append(out, arg...)
	}
	return append(out, toks[len(toks)-1])
}

// insertColumns reads an optional column list at toks[j]; it returns the
// columns and the index after the list.
func insertColumns(toks []token, j int, all []string) ([]string, int) {
	if j < 0 || j >= len(toks) || toks[j].text != "(" {
		return all, j
	}
	if k := nextNonSpace(toks, j+1); k > 0 && (toks[k].is("SELECT") || toks[k].is("WITH") || toks[k].text == "(") {
		return all, j
	}
	c := matchingParen(toks, j)
	if c < 0 {
		return all, j
	}
	var cols []string
	for _, part := range splitArgs(toks[j+1 : c]) {
		w := words(part)
		if len(w) > 0 {
			cols = append(cols, strings.ToUpper(identName(w[len(w)-1])))
		}
	}
	return cols, nextNonSpace(toks, c+1)
}

// wrapInsert rewrites INSERT ... [(cols)] VALUES (...), ... or
// INSERT ... [(cols)] <query> from toks[i0] on.
func wrapInsert(toks []token, i0 int, tz map[string]string, all []string) []token {
	cols, j := insertColumns(toks, nextNonSpace(toks, i0), all)
	if j < 0 {
		return toks
	}
	out := append([]token(nil), toks[:j]...)
	if toks[j].is("VALUES") {
		out = append(out, toks[j])
		for k := j + 1; k < len(toks); k++ {
			if toks[k].text != "(" {
				out = append(out, toks[k])
				continue
			}
			c := matchingParen(toks, k)
			if c < 0 {
				return toks
			}
			out = append(out, wrapTuple(toks[k:c+1], tz, cols)...)
			k = c
		}
		return out
	}
	// A query: its columns are renamed and wrapped.
	var sel, alias []string
	for n, c := range cols {
		a := fmt.Sprintf("__sf_c%d", n+1)
		alias = append(alias, a)
		if fn := tz[c]; fn != "" {
			a = fn + "(" + a + ")"
		}
		sel = append(sel, a)
	}
	out = append(out, token{kind: tkPunct, text: "SELECT " + strings.Join(sel, ", ") + " FROM ("})
	out = append(out, toks[j:]...)
	return append(out, token{kind: tkPunct, text: ") AS __sf_src(" + strings.Join(alias, ", ") + ")"})
}

// wrapSets wraps the right sides of SET a = x, ... that assign the
// columns of tz, from the SET after toks[i0] to a FROM, WHERE,
// RETURNING or WHEN at the same depth.
func wrapSets(toks []token, i0 int, tz map[string]string) []token {
	set := -1
	for k := i0; k < len(toks); k++ {
		if toks[k].is("SET") {
			set = k
			break
		}
	}
	if set < 0 {
		return toks
	}
	end := setListEnd(toks, set+1)
	out := append([]token(nil), toks[:set+1]...)
	for n, a := range splitArgs(toks[set+1 : end]) {
		if n > 0 {
			out = append(out, token{kind: tkPunct, text: ","})
		}
		eq := -1
		for k, t := range a {
			if t.text == "=" {
				eq = k
				break
			}
		}
		if eq > 0 {
			if w := words(a[:eq]); len(w) > 0 && tz[strings.ToUpper(identName(w[len(w)-1]))] != "" {
				fn := tz[strings.ToUpper(identName(w[len(w)-1]))]
				a = append(append(append([]token(nil), a[:eq+1]...), wrapCall(fn, a[eq+1:])...), token{kind: tkSpace, text: " "})
			}
		}
		out = append(out, a...)
	}
	return append(out, toks[end:]...)
}

// setListEnd returns the index where a SET list starting at toks[from]
// ends: a FROM, WHERE, RETURNING or WHEN at its depth, a ")" closing an
// enclosing parenthesis, or the end of toks.
func setListEnd(toks []token, from int) int {
	depth := 0
	for k := from; k < len(toks); k++ {
		switch {
		case toks[k].text == "(":
			depth++
		case toks[k].text == ")":
			if depth == 0 {
				return k
			}
			depth--
		case depth == 0 && (toks[k].is("FROM") || toks[k].is("WHERE") || toks[k].is("RETURNING") || toks[k].is("WHEN")):
			return k
		}
	}
	return len(toks)
}

// wrapMerge wraps the timestamp values of MERGE's THEN UPDATE SET and
// THEN INSERT [(cols)] VALUES (...) clauses.
func wrapMerge(toks []token, i0 int, tz map[string]string, all []string) []token {
	for k := i0; k < len(toks); k++ {
		if !toks[k].is("THEN") {
			continue
		}
		j := nextNonSpace(toks, k+1)
		if j < 0 {
			break
		}
		switch {
		case toks[j].is("UPDATE"):
			toks = wrapSets(toks, j, tz)
		case toks[j].is("INSERT"):
			cols, v := insertColumns(toks, nextNonSpace(toks, j+1), all)
			if v < 0 || !toks[v].is("VALUES") {
				continue
			}
			open := nextNonSpace(toks, v+1)
			if open < 0 || toks[open].text != "(" {
				continue
			}
			c := matchingParen(toks, open)
			if c < 0 {
				continue
			}
			tuple := wrapTuple(toks[open:c+1], tz, cols)
			toks = append(append(append([]token(nil), toks[:open]...), tuple...), toks[c+1:]...)
			k = open + len(tuple) - 1
		}
	}
	return toks
}
