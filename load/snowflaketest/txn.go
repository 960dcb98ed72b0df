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

// guardDML runs a DML statement so that Snowflake's after-the-fact checks
// (VARCHAR(n) lengths) can undo it: in its own transaction unless the
// session has one open.
func (e *Emulator) guardDML(ctx context.Context, s *session, ws []token, run func() (*result, error)) (*result, error) {
	qn, bounded := e.boundedColumns(ctx, s, dmlTarget(ws))
	if len(bounded) == 0 {
		return run()
	}
	own := !s.inTxn
	if own {
		if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return nil, err
		}
		s.inTxn = true
	}
	res, err := run()
	if err == nil {
		err = e.checkLengths(ctx, s, qn, bounded)
	}
	if !own {
		return res, err
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
