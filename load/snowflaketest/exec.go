package snowflaketest

import (
	"context"
	"strings"
)

// execute runs one statement of a session.
func (e *Emulator) execute(ctx context.Context, s *session, req *queryRequest, host string) (*result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := rePut.FindStringSubmatch(req.SQLText); m != nil {
		return e.put(ctx, s, req.SQLText, host)
	}
	toks := lex(req.SQLText)
	ws := stageStrings(words(toks))
	for len(ws) > 0 && ws[len(ws)-1].text == ";" {
		toks = toks[:lastIndex(toks, ws[len(ws)-1])]
		ws = ws[:len(ws)-1]
	}
	if len(ws) == 0 {
		return nil, sqlErr(900, "42000", "Empty SQL statement.")
	}
	if n := len(splitStatements(req.SQLText)); n > 1 {
		return nil, sqlErr(8, "0A000", "Actual statement count %d did not match the desired statement count 1.", n)
	}
	if res, done, err := e.extStatement(ctx, s, &req, &toks, &ws); done { // streams, tasks, external functions, file formats: ext.go
		return res, err
	}
	if h, ok := stmtHandlers[ws[0].upper()]; ok {
		return h(e, ctx, s, stmt{req: req, toks: toks, ws: ws})
	}
	switch ws[0].upper() {
	case "PUT":
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: PUT needs a file URL and a stage")
	case "GET":
		return nil, unsupported("GET")
	case "LIST", "LS":
		return e.list(ctx, s, ws)
	case "REMOVE", "RM":
		return e.remove(ctx, s, ws)
	case "COPY":
		return e.copyInto(ctx, s, ws)
	case "USE":
		return e.useStmt(ctx, s, ws)
	case "DESC", "DESCRIBE":
		return e.descTable(ctx, s, ws)
	case "SHOW":
		return e.show(ctx, s, ws)
	case "UNDROP", "GRANT", "REVOKE", "CALL", "EXECUTE":
		return nil, unsupported(ws[0].upper())
	case "CREATE", "DROP", "ALTER":
		return e.ddl(ctx, s, req.SQLText, toks, ws)
	case "BEGIN", "START", "COMMIT", "ROLLBACK":
		return e.txnStmt(ctx, s, ws)
	}
	return e.runDuck(ctx, s, toks, ws, req)
}

// stageStrings turns quoted stage references ('@SYSTEM$BIND/x', as the
// driver writes them) into stage tokens.
func stageStrings(ws []token) []token {
	for i, t := range ws {
		if t.kind == tkString {
			if v := unquoteString(t.text); strings.HasPrefix(v, "@") {
				ws[i] = token{kind: tkStage, text: v, pos: t.pos}
			}
		}
	}
	return ws
}

func lastIndex(toks []token, t token) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].pos == t.pos {
			return i
		}
	}
	return len(toks)
}

// skipCreateModifiers returns the index in ws of the object kind of a
// CREATE/DROP/ALTER statement, and whether OR REPLACE was given.
func skipCreateModifiers(ws []token) (int, bool) {
	i, replace := 1, false
	if len(ws) > 2 && ws[1].is("OR") && ws[2].is("REPLACE") {
		i, replace = 3, true
	}
	for i < len(ws) {
		switch ws[i].upper() {
		case "TEMPORARY", "TEMP", "TRANSIENT", "VOLATILE", "LOCAL", "GLOBAL":
			i++
			continue
		}
		break
	}
	return i, replace
}

func (e *Emulator) ddl(ctx context.Context, s *session, text string, toks, ws []token) (*result, error) {
	k, replace := skipCreateModifiers(ws)
	if k >= len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error line 1 at position %d unexpected '<EOF>'.", len(toks))
	}
	verb, kind := ws[0].upper(), ws[k].upper()
	ifExists, ifNotExists := false, false
	n := k + 1
	if n+1 < len(ws) && ws[n].is("IF") && ws[n+1].is("EXISTS") {
		ifExists, n = true, n+2
	} else if n+2 < len(ws) && ws[n].is("IF") && ws[n+1].is("NOT") && ws[n+2].is("EXISTS") {
		ifNotExists, n = true, n+3
	}
	names, _ := parseName(ws, n)
	if h, ok := ddlHandlers[kind]; ok {
		return h(e, ctx, s, ddlStmt{stmt: stmt{req: &queryRequest{SQLText: text}, toks: toks, ws: ws}, verb: verb, kind: kind,
			nameAt: n, names: names, replace: replace, ifExists: ifExists, ifNotExists: ifNotExists})
	}
	switch kind {
	case "DATABASE":
		if len(names) != 1 {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid database name")
		}
		db := names[0]
		switch verb {
		case "CREATE":
			e.mu.Lock()
			exists := e.databases[db]
			e.mu.Unlock()
			if exists && replace {
				if err := e.dropDatabase(ctx, s, db, false); err != nil {
					return nil, err
				}
			} else if exists && !ifNotExists {
				return nil, sqlErr(errAlreadyExists, "42710", "SQL compilation error:\nObject '%s' already exists.", db)
			}
			if err := s.use(ctx, db, "PUBLIC"); err != nil {
				return nil, err
			}
			return status("Database " + db + " successfully created."), nil
		case "DROP":
			if err := e.dropDatabase(ctx, s, db, ifExists); err != nil {
				return nil, err
			}
			return status(db + " successfully dropped."), nil
		}
		return nil, unsupported("ALTER DATABASE")
	case "SCHEMA":
		db, sch := s.db, ""
		switch len(names) {
		case 1:
			sch = names[0]
		case 2:
			db, sch = names[0], names[1]
		default:
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid schema name")
		}
		if verb == "CREATE" {
			if err := e.ensureDatabase(ctx, db); err != nil {
				return nil, err
			}
			if _, err := translateAndExec(ctx, s, toks, nil); err != nil {
				return nil, err
			}
			if err := s.use(ctx, db, sch); err != nil {
				return nil, err
			}
			return status("Schema " + sch + " successfully created."), nil
		}
	case "STAGE":
		return e.stageDDL(ctx, s, verb, ws, n, names, replace, ifExists, ifNotExists)
	case "PIPE":
		return e.pipeDDL(ctx, s, verb, text, ws, n, names, replace, ifExists, ifNotExists)
	case "FILE", "STREAM", "TASK", "WAREHOUSE", "ROLE", "USER", "FUNCTION", "PROCEDURE", "INTEGRATION", "STORAGE", "NOTIFICATION", "EXTERNAL", "DYNAMIC", "ICEBERG", "HYBRID", "MATERIALIZED":
		return nil, unsupported(verb + " " + kind)
	case "SESSION":
		if verb == "ALTER" {
			return e.alterSession(ws, s)
		}
	}
	if kind == "TABLE" {
		unlock, err := e.lockTables(ctx, s, ws, names)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if verb == "CREATE" && kind == "TABLE" {
		if res, handled, err := e.createTable(ctx, s, ws, k, replace, ifNotExists); handled {
			return res, err
		}
	}
	if verb == "ALTER" && kind == "TABLE" {
		if res, handled, err := e.addColumns(ctx, s, ws); handled {
			return res, err
		}
		for _, w := range ws {
			if w.is("SWAP") {
				return e.swapTables(ctx, s, ws)
			}
			if w.is("CLUSTER") {
				return nil, unsupported("ALTER TABLE ... CLUSTER BY")
			}
		}
		if res, handled, err := e.alterColumnType(ctx, s, ws); handled {
			return res, err
		}
	}
	if err := e.ensureQualified(ctx, s, ws); err != nil {
		return nil, err
	}
	if verb == "CREATE" && (kind == "TABLE" || kind == "VIEW") {
		toks = e.tzRewriteQuery(ctx, s, toks)
	}
	if _, err := translateAndExec(ctx, s, toks, nil); err != nil {
		return nil, err
	}
	last := ""
	if len(names) > 0 {
		last = names[len(names)-1]
	}
	switch {
	case verb == "CREATE" && kind == "TABLE":
		return status("Table " + last + " successfully created."), nil
	case verb == "CREATE" && kind == "VIEW":
		return status("View " + last + " successfully created."), nil
	case verb == "DROP":
		return status(last + " successfully dropped."), nil
	}
	return status("Statement executed successfully."), nil
}

// status is a DDL-style one-row result.
func status(msg string) *result {
	return &result{typeID: stmtDDL, rowtype: []rowType{textCol("status")}, rowset: [][]*string{{strp(msg)}}}
}

// parseName reads a dotted name of up to three parts starting at ws[i]. It
// returns the Snowflake names and the index after the name.
func parseName(ws []token, i int) ([]string, int) {
	var out []string
	for i < len(ws) {
		t := ws[i]
		if t.kind != tkWord && t.kind != tkQuoted {
			break
		}
		out = append(out, identName(t))
		i++
		if i < len(ws) && ws[i].text == "." && len(out) < 3 {
			i++
			continue
		}
		break
	}
	return out, i
}

// ensureQualified creates the databases and schemas that qualified object
// names after TABLE, INTO, FROM, JOIN, UPDATE, USING or VIEW refer to.
func (e *Emulator) ensureQualified(ctx context.Context, s *session, ws []token) error {
	for i := 0; i < len(ws)-1; i++ {
		switch ws[i].upper() {
		case "TABLE", "INTO", "FROM", "JOIN", "UPDATE", "USING", "VIEW", "EXISTS", "WITH":
		default:
			continue
		}
		names, _ := parseName(ws, i+1)
		switch len(names) {
		case 3:
			if err := e.ensureSchema(ctx, names[0], names[1]); err != nil {
				return err
			}
		case 2:
			if s.db != "" {
				if err := e.ensureSchema(ctx, s.db, names[0]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (e *Emulator) useStmt(ctx context.Context, s *session, ws []token) (*result, error) {
	i := 1
	kind := "DATABASE"
	if i < len(ws) && ws[i].kind == tkWord {
		switch ws[i].upper() {
		case "DATABASE", "SCHEMA", "WAREHOUSE", "ROLE", "SECONDARY":
			kind = ws[i].upper()
			i++
		}
	}
	names, _ := parseName(ws, i)
	if len(names) == 0 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: USE needs a name")
	}
	switch kind {
	case "WAREHOUSE":
		s.warehouse = names[0]
	case "ROLE":
		s.role = names[0]
	case "SECONDARY":
	case "SCHEMA":
		db, sch := s.db, names[0]
		if len(names) == 2 {
			db, sch = names[0], names[1]
		}
		if err := s.use(ctx, db, sch); err != nil {
			return nil, err
		}
	default:
		sch := "PUBLIC"
		if len(names) == 2 {
			sch = names[1]
		}
		if err := s.use(ctx, names[0], sch); err != nil {
			return nil, err
		}
	}
	return status("Statement executed successfully."), nil
}

// translateAndExec translates toks with binds and executes them.
func translateAndExec(ctx context.Context, s *session, toks []token, binds []bindValue) (int64, error) {
	q, err := translate(toks, binds)
	if err != nil {
		return 0, err
	}
	r, err := s.conn.ExecContext(ctx, q)
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	return n, nil
}

// runDuck runs a statement that DuckDB executes after translation.
func (e *Emulator) runDuck(ctx context.Context, s *session, toks, ws []token, req *queryRequest) (*result, error) {
	if err := e.ensureQualified(ctx, s, ws); err != nil {
		return nil, err
	}
	var rows [][]bindValue
	var err error
	if req.BindStage != "" {
		rows, err = e.bindStageRows(ctx, s, req.BindStage, countParams(toks))
	} else {
		rows, err = parseBindings(req.Bindings)
	}
	if err != nil {
		return nil, err
	}
	toks = e.tzRewrite(ctx, s, toks, firstRow(rows))
	toks, err = e.rewriteCalls(ctx, s, toks)
	if err != nil {
		return nil, err
	}
	toks, err = rewriteInfoSchema(toks, s.db)
	if err != nil {
		return nil, err
	}
	first := ws[0].upper()
	switch first {
	case "SELECT", "WITH", "VALUES", "(", "FROM", "EXPLAIN", "SUMMARIZE", "PRAGMA":
		if len(rows) > 1 {
			return nil, unsupported("array binding in a query")
		}
		var binds []bindValue
		if len(rows) == 1 {
			binds = rows[0]
		}
		q, err := translate(toks, binds)
		if err != nil {
			return nil, err
		}
		return queryRows(ctx, s.conn, q)
	case "TRUNCATE":
		return e.truncate(ctx, s, ws)
	case "INSERT", "UPDATE", "DELETE", "MERGE":
		toks = e.wrapTZValues(ctx, s, toks, ws)
		return retryConflict(ctx, s, func() (*result, error) {
			return e.guardDML(ctx, s, toks, ws, func(toks, ws []token) (*result, error) { return e.dml(ctx, s, toks, ws, rows, first) })
		})
	}
	if _, err := translateAndExec(ctx, s, toks, firstRow(rows)); err != nil {
		return nil, err
	}
	return status("Statement executed successfully."), nil
}

// dml runs INSERT [OVERWRITE], UPDATE, DELETE, MERGE or TRUNCATE with
// the request's bind rows.
func (e *Emulator) dml(ctx context.Context, s *session, toks, ws []token, rows [][]bindValue, first string) (*result, error) {
	if first == "INSERT" && len(ws) > 1 && ws[1].is("OVERWRITE") {
		// INSERT OVERWRITE: the table is emptied and filled in one
		// transaction.
		names := dmlTarget(ws)
		db, sch, table, err := s.qualify(names)
		if err != nil {
			return nil, err
		}
		kept := make([]token, 0, len(toks))
		for _, t := range toks {
			if t.pos != ws[1].pos {
				kept = append(kept, t)
			}
		}
		toks, ws = kept, words(kept)
		own := !s.inTxn
		if own {
			if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
				return nil, err
			}
			s.inTxn = true
		}
		_, err = s.conn.ExecContext(ctx, "DELETE FROM "+quoteIdent(db)+"."+quoteIdent(sch)+"."+quoteIdent(table))
		var res *result
		if err == nil {
			res, err = e.dml(ctx, s, toks, ws, rows, first)
		}
		if own {
			s.inTxn = false
			if err != nil {
				_, _ = s.conn.ExecContext(ctx, "ROLLBACK")
				return nil, err
			}
			if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
				return nil, err
			}
		}
		return res, err
	}
	if first == "MERGE" {
		if len(rows) > 1 {
			return nil, unsupported("array binding in MERGE")
		}
		return e.merge(ctx, s, toks, ws, firstRow(rows))
	}
	var total int64
	if len(rows) == 0 {
		rows = [][]bindValue{nil}
	}
	if len(rows) > 1 && first == "INSERT" {
		n, err := e.insertMany(ctx, s, toks, rows)
		if err != nil {
			return nil, err
		}
		total = n
	} else {
		if len(rows) > 1 && !s.inTxn {
			if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
				return nil, err
			}
		}
		for _, r := range rows {
			n, err := translateAndExec(ctx, s, toks, r)
			if err != nil {
				if len(rows) > 1 && !s.inTxn {
					_, _ = s.conn.ExecContext(ctx, "ROLLBACK")
				}
				return nil, err
			}
			total += n
		}
		if len(rows) > 1 && !s.inTxn {
			if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
				return nil, err
			}
		}
	}
	return dmlResult(first, total), nil
}

func firstRow(rows [][]bindValue) []bindValue {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// dmlResult is the one-row result of INSERT, UPDATE, DELETE.
func dmlResult(verb string, n int64) *result {
	v := strp(itoa(n))
	switch verb {
	case "INSERT":
		return &result{typeID: stmtInsert, rowtype: []rowType{fixedCol("number of rows inserted")}, rowset: [][]*string{{v}}}
	case "UPDATE":
		return &result{typeID: stmtUpdate, rowtype: []rowType{fixedCol("number of rows updated"), fixedCol("number of multi-joined rows updated")}, rowset: [][]*string{{v, strp("0")}}}
	case "DELETE":
		return &result{typeID: stmtDelete, rowtype: []rowType{fixedCol("number of rows deleted")}, rowset: [][]*string{{v}}}
	}
	return status("Statement executed successfully.")
}

// insertMany runs an INSERT ... VALUES (placeholders) once with many rows:
// the VALUES tuple is repeated per row, in chunks, inside one transaction.
func (e *Emulator) insertMany(ctx context.Context, s *session, toks []token, rows [][]bindValue) (int64, error) {
	vi, open, closeIdx := -1, -1, -1
	for i, t := range toks {
		if t.is("VALUES") {
			vi = i
			break
		}
	}
	if vi >= 0 {
		depth := 0
		for j := vi + 1; j < len(toks); j++ {
			if toks[j].text == "(" {
				if depth == 0 && open < 0 {
					open = j
				}
				depth++
			} else if toks[j].text == ")" {
				depth--
				if depth == 0 {
					closeIdx = j
					break
				}
			}
		}
	}
	tail := toks[closeIdx+1:]
	if open < 0 || closeIdx < 0 || len(words(tail)) > 0 {
		return 0, unsupported("array binding of this INSERT form (only INSERT ... VALUES (?, ...))")
	}
	prefix, err := translate(toks[:open], nil)
	if err != nil {
		return 0, err
	}
	tuple := toks[open : closeIdx+1]
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return 0, err
		}
	}
	var total int64
	const chunk = 2000
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		var b strings.Builder
		b.WriteString(prefix)
		for i, r := range rows[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			t, err := translate(tuple, r)
			if err != nil {
				e.rollback(ctx, s)
				return 0, err
			}
			b.WriteString(t)
		}
		res, err := s.conn.ExecContext(ctx, b.String())
		if err != nil {
			e.rollback(ctx, s)
			return 0, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func (e *Emulator) rollback(ctx context.Context, s *session) {
	if !s.inTxn {
		_, _ = s.conn.ExecContext(ctx, "ROLLBACK")
	}
}
