package snowflaketest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// snowTypeSQL is a SQL CASE expression mapping a DuckDB data_type column
// to the Snowflake type name DESC TABLE shows.
const snowTypeSQL = `CASE
	WHEN data_type LIKE 'DECIMAL(%' THEN 'NUMBER' || substr(data_type, 8)
	WHEN data_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT','UTINYINT','USMALLINT','UINTEGER','UBIGINT','UHUGEINT') THEN 'NUMBER(38,0)'
	WHEN data_type IN ('DOUBLE','FLOAT') THEN 'FLOAT'
	WHEN data_type = 'VARCHAR' THEN 'VARCHAR(16777216)'
	WHEN data_type = 'JSON' THEN 'VARIANT'
	WHEN data_type = 'BLOB' THEN 'BINARY(8388608)'
	WHEN data_type = 'TIMESTAMP' THEN 'TIMESTAMP_NTZ(9)'
	WHEN data_type = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_LTZ(9)'
	WHEN data_type LIKE 'STRUCT(sf_instant %' THEN 'TIMESTAMP_TZ(9)'
	WHEN data_type = 'TIME' THEN 'TIME(9)'
	ELSE data_type END`

// snowDataTypeSQL maps data_type to INFORMATION_SCHEMA.COLUMNS.DATA_TYPE.
const snowDataTypeSQL = `CASE
	WHEN data_type LIKE 'DECIMAL(%' OR data_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT','UTINYINT','USMALLINT','UINTEGER','UBIGINT','UHUGEINT') THEN 'NUMBER'
	WHEN data_type IN ('DOUBLE','FLOAT') THEN 'FLOAT'
	WHEN data_type = 'VARCHAR' THEN 'TEXT'
	WHEN data_type = 'JSON' THEN 'VARIANT'
	WHEN data_type = 'BLOB' THEN 'BINARY'
	WHEN data_type = 'TIMESTAMP' THEN 'TIMESTAMP_NTZ'
	WHEN data_type = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_LTZ'
	WHEN data_type LIKE 'STRUCT(sf_instant %' THEN 'TIMESTAMP_TZ'
	ELSE data_type END`

// descTable answers DESC[RIBE] TABLE name.
func (e *Emulator) descTable(ctx context.Context, s *session, ws []token) (*result, error) {
	i := 1
	if i < len(ws) && (ws[i].is("TABLE") || ws[i].is("VIEW")) {
		i++
	}
	names, end := parseName(ws, i)
	if len(names) == 0 || end != len(ws) {
		if i < len(ws) && ws[i].kind == tkWord && !ws[i].is("TABLE") {
			return nil, unsupported("DESCRIBE " + ws[i].upper())
		}
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: DESC TABLE needs a table name")
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, err
	}
	if _, err := e.tableColumns(ctx, s, db, sch, table); err != nil {
		return nil, err
	}
	q := `SELECT column_name AS "name", coalesce(` + declSQL + `, ` + snowTypeSQL + `) AS "type", 'COLUMN' AS "kind",
		CASE WHEN is_nullable THEN 'Y' ELSE 'N' END AS "null?", column_default AS "default",
		'N' AS "primary key", 'N' AS "unique key", CAST(NULL AS VARCHAR) AS "check", CAST(NULL AS VARCHAR) AS "expression",
		` + commentSQL + ` AS "comment", CAST(NULL AS VARCHAR) AS "policy name", CAST(NULL AS VARCHAR) AS "privacy domain"
		FROM duckdb_columns()
		WHERE lower(database_name) = lower(` + quoteString(db) + `) AND lower(schema_name) = lower(` + quoteString(sch) + `)
		AND lower(table_name) = lower(` + quoteString(table) + `) ORDER BY column_index`
	return queryRows(ctx, s.conn, q)
}

// qualify completes a one- to three-part name with the session's database
// and schema.
func (s *session) qualify(names []string) (db, sch, name string, err error) {
	db, sch = s.db, s.schema
	switch len(names) {
	case 1:
		name = names[0]
	case 2:
		sch, name = names[0], names[1]
	case 3:
		db, sch, name = names[0], names[1], names[2]
	default:
		return "", "", "", sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid object name")
	}
	if db == "" {
		return "", "", "", sqlErr(errNoCurrentDB, "22000", "This session does not have a current database. Call 'USE DATABASE', or use a qualified name.")
	}
	return db, sch, name, nil
}

// swapTables answers ALTER TABLE a SWAP WITH b: both tables exchange their
// names atomically, in one DuckDB transaction.
func (e *Emulator) swapTables(ctx context.Context, s *session, ws []token) (*result, error) {
	// ALTER TABLE [IF EXISTS] a SWAP WITH b
	i := 2
	if i+1 < len(ws) && ws[i].is("IF") && ws[i+1].is("EXISTS") {
		i += 2
	}
	a, j := parseName(ws, i)
	if j+1 >= len(ws) || !ws[j].is("SWAP") || !ws[j+1].is("WITH") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: expected SWAP WITH")
	}
	b, end := parseName(ws, j+2)
	if end != len(ws) || len(a) == 0 || len(b) == 0 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error in ALTER TABLE ... SWAP WITH")
	}
	adb, asch, an, err := s.qualify(a)
	if err != nil {
		return nil, err
	}
	bdb, bsch, bn, err := s.qualify(b)
	if err != nil {
		return nil, err
	}
	if _, err := e.tableColumns(ctx, s, adb, asch, an); err != nil {
		return nil, err
	}
	if _, err := e.tableColumns(ctx, s, bdb, bsch, bn); err != nil {
		return nil, err
	}
	if !strings.EqualFold(adb, bdb) || !strings.EqualFold(asch, bsch) {
		return nil, unsupported("ALTER TABLE ... SWAP WITH a table in another schema")
	}
	qa := quoteIdent(adb) + "." + quoteIdent(asch) + "."
	tmp := "__sfswap_" + randomHex(6)
	stmts := []string{
		"ALTER TABLE " + qa + quoteIdent(an) + " RENAME TO " + quoteIdent(tmp),
		"ALTER TABLE " + qa + quoteIdent(bn) + " RENAME TO " + quoteIdent(an),
		"ALTER TABLE " + qa + quoteIdent(tmp) + " RENAME TO " + quoteIdent(bn),
	}
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return nil, err
		}
	}
	for _, q := range stmts {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			e.rollback(ctx, s)
			return nil, err
		}
	}
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return nil, err
		}
	}
	// Load metadata belongs to the table object, so it moves with it.
	ka, kb := adb+"."+asch+"."+an, bdb+"."+bsch+"."+bn
	e.locked(func() { e.loadMeta[ka], e.loadMeta[kb] = e.loadMeta[kb], e.loadMeta[ka] })
	if e.opts.DBPath != "" {
		if _, err := e.db.ExecContext(ctx, "UPDATE "+e.meta("load_history")+" SET table_key = CASE WHEN table_key = ? THEN ? ELSE ? END WHERE table_key IN (?, ?)", ka, kb, ka, ka, kb); err != nil {
			return nil, fmt.Errorf("snowflaketest: swap load metadata: %w", err)
		}
	}
	return status("Statement executed successfully."), nil
}

// rewriteInfoSchema replaces references to [db.]INFORMATION_SCHEMA.COLUMNS
// and .TABLES with subqueries over DuckDB's catalog that have Snowflake's
// column names and type names, scoped to one database as in Snowflake.
func rewriteInfoSchema(toks []token, currentDB string) ([]token, error) {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tkWord || !t.is("INFORMATION_SCHEMA") {
			out = append(out, t)
			continue
		}
		// Collect "." VIEW after it.
		j := nextNonSpace(toks, i+1)
		if j < 0 || toks[j].text != "." {
			out = append(out, t)
			continue
		}
		k := nextNonSpace(toks, j+1)
		if k < 0 || (toks[k].kind != tkWord && toks[k].kind != tkQuoted) {
			out = append(out, t)
			continue
		}
		view := identName(toks[k])
		db := currentDB
		// A preceding "db ." qualifies it.
		if n := len(out); n >= 1 {
			p := lastNonSpace(out)
			if p >= 0 && out[p].text == "." {
				q := lastNonSpace(out[:p])
				if q >= 0 && (out[q].kind == tkWord || out[q].kind == tkQuoted) {
					db = identName(out[q])
					out = out[:q]
				}
			}
		}
		var sub string
		switch view {
		case "COLUMNS":
			sub = `(SELECT database_name AS TABLE_CATALOG, schema_name AS TABLE_SCHEMA, table_name AS TABLE_NAME,
				column_name AS COLUMN_NAME, CAST(column_index AS DECIMAL(38,0)) AS ORDINAL_POSITION, column_default AS COLUMN_DEFAULT,
				CASE WHEN is_nullable THEN 'YES' ELSE 'NO' END AS IS_NULLABLE,
				CASE WHEN ` + declSQL + ` LIKE 'VARCHAR%' THEN 'TEXT' WHEN ` + declSQL + ` IS NOT NULL THEN regexp_replace(` + declSQL + `, '\(.*$', '') ELSE ` + snowDataTypeSQL + ` END AS DATA_TYPE,
				CAST(CASE WHEN ` + declSQL + ` LIKE 'VARCHAR(%' THEN regexp_extract(` + declSQL + `, '\((\d+)\)', 1) WHEN data_type = 'VARCHAR' THEN '16777216' END AS DECIMAL(38,0)) AS CHARACTER_MAXIMUM_LENGTH,
				CAST(CASE WHEN ` + declSQL + ` LIKE 'VARCHAR(%' THEN 4 * CAST(regexp_extract(` + declSQL + `, '\((\d+)\)', 1) AS BIGINT) WHEN data_type = 'VARCHAR' THEN 16777216 END AS DECIMAL(38,0)) AS CHARACTER_OCTET_LENGTH,
				CAST(CASE WHEN data_type LIKE 'DECIMAL(%' THEN numeric_precision WHEN numeric_precision IS NOT NULL AND data_type NOT IN ('DOUBLE','FLOAT') THEN 38 END AS DECIMAL(38,0)) AS NUMERIC_PRECISION,
				CAST(CASE WHEN data_type LIKE 'DECIMAL(%' OR (numeric_precision IS NOT NULL AND data_type NOT IN ('DOUBLE','FLOAT')) THEN 10 END AS DECIMAL(38,0)) AS NUMERIC_PRECISION_RADIX,
				CAST(CASE WHEN data_type LIKE 'DECIMAL(%' THEN numeric_scale WHEN numeric_precision IS NOT NULL AND data_type NOT IN ('DOUBLE','FLOAT') THEN 0 END AS DECIMAL(38,0)) AS NUMERIC_SCALE,
				CAST(CASE WHEN data_type LIKE 'TIME%' THEN 9 END AS DECIMAL(38,0)) AS DATETIME_PRECISION,
				` + commentSQL + ` AS COMMENT
				FROM duckdb_columns() WHERE database_name = ` + quoteString(db) + ` AND NOT internal)`
		case "TABLES":
			sub = `(SELECT database_name AS TABLE_CATALOG, schema_name AS TABLE_SCHEMA, table_name AS TABLE_NAME,
				CASE WHEN temporary THEN 'TEMPORARY TABLE' ELSE 'BASE TABLE' END AS TABLE_TYPE,
				CAST(estimated_size AS DECIMAL(38,0)) AS ROW_COUNT, comment AS COMMENT
				FROM duckdb_tables() WHERE database_name = ` + quoteString(db) + ` AND NOT internal
				UNION ALL SELECT database_name, schema_name, view_name, 'VIEW', NULL, comment
				FROM duckdb_views() WHERE database_name = ` + quoteString(db) + ` AND NOT internal)`
		default:
			return nil, unsupported("INFORMATION_SCHEMA." + view)
		}
		alias := " AS " + view
		if n := nextNonSpace(toks, k+1); n >= 0 && (toks[n].is("AS") || (toks[n].kind == tkWord && !isClauseWord(toks[n].upper())) || toks[n].kind == tkQuoted) {
			alias = ""
		}
		out = append(out, token{kind: tkPunct, text: sub + alias, pos: t.pos})
		i = k
	}
	return out, nil
}

func isClauseWord(w string) bool {
	switch w {
	case "WHERE", "ORDER", "GROUP", "LIMIT", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING",
		"UNION", "EXCEPT", "INTERSECT", "MINUS", "HAVING", "QUALIFY", "OFFSET", "FETCH", "WINDOW":
		return true
	}
	return false
}

func nextNonSpace(toks []token, i int) int {
	for ; i < len(toks); i++ {
		if toks[i].kind != tkSpace {
			return i
		}
	}
	return -1
}

func lastNonSpace(toks []token) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind != tkSpace {
			return i
		}
	}
	return -1
}

// merge runs MERGE and reports Snowflake's per-action counts: one column
// per kind of clause present (inserted, updated, deleted).
func (e *Emulator) merge(ctx context.Context, s *session, toks, ws []token, binds []bindValue) (*result, error) {
	if mp, ok := splitMerge(toks); ok {
		toks = unqualifySet(toks, mp.ref)
	}
	if err := e.checkMergeDeterministic(ctx, s, toks, binds); err != nil {
		return nil, err
	}
	q, err := translate(toks, binds)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.QueryContext(ctx, q+"\nRETURNING merge_action")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		counts[strings.ToUpper(a)]++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	hasIns, hasUpd, hasDel := false, false, false
	for i := 0; i+1 < len(ws); i++ {
		if ws[i].is("THEN") {
			switch ws[i+1].upper() {
			case "INSERT":
				hasIns = true
			case "UPDATE":
				hasUpd = true
			case "DELETE":
				hasDel = true
			}
		}
	}
	res := &result{typeID: stmtMerge}
	var row []*string
	add := func(name, action string) {
		res.rowtype = append(res.rowtype, fixedCol(name))
		row = append(row, strp(itoa(counts[action])))
	}
	if hasIns {
		add("number of rows inserted", "INSERT")
	}
	if hasUpd {
		add("number of rows updated", "UPDATE")
	}
	if hasDel {
		add("number of rows deleted", "DELETE")
	}
	if len(row) == 0 {
		add("number of rows inserted", "INSERT")
	}
	res.rowset = [][]*string{row}
	return res, nil
}

// alterColumnType handles ALTER TABLE t {ALTER|MODIFY} [COLUMN] c [SET
// DATA] TYPE type with Snowflake's rules: only the same type family, a
// NUMBER's precision may grow with its scale unchanged, VARCHAR length
// may change (lengths are not tracked). Anything else is 002108.
func (e *Emulator) alterColumnType(ctx context.Context, s *session, ws []token) (*result, bool, error) {
	names, i := parseName(ws, 2)
	if len(names) == 0 || i >= len(ws) || !(ws[i].is("ALTER") || ws[i].is("MODIFY")) {
		return nil, false, nil
	}
	ti := -1
	for j := i + 1; j < len(ws); j++ {
		if ws[j].is("TYPE") {
			ti = j
			break
		}
	}
	if ti < 0 {
		return nil, false, nil
	}
	j := i + 1
	if j < len(ws) && ws[j].is("COLUMN") {
		j++
	}
	if j >= len(ws) || (ws[j].kind != tkWord && ws[j].kind != tkQuoted) {
		return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: column name expected")
	}
	colName := identName(ws[j])
	for k := j + 1; k < ti; k++ {
		if !ws[k].is("SET") && !ws[k].is("DATA") {
			return nil, true, unsupported("ALTER TABLE ... ALTER COLUMN with several changes")
		}
	}
	if ti+1 >= len(ws) {
		return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: type expected")
	}
	var typ []string
	for _, w := range ws[ti+1:] {
		typ = append(typ, w.text)
	}
	newDecl := canonicalType(strings.Join(typ, " "))
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, true, err
	}
	cols, err := e.tableColumns(ctx, s, db, sch, table)
	if err != nil {
		return nil, true, err
	}
	var old *column
	for k := range cols {
		if strings.EqualFold(cols[k].name, colName) {
			old = &cols[k]
		}
	}
	if old == nil {
		return nil, true, sqlErr(errInvalidIdent, "42000", "SQL compilation error:\ninvalid identifier '%s'", colName)
	}
	oldDecl := old.decl
	if oldDecl == "" {
		oldDecl = snowTypeName(old.duckType)
	}
	if !compatibleTypeChange(oldDecl, newDecl) {
		return nil, true, sqlErr(2108, "22000", "SQL compilation error: cannot change column %s from type %s to %s", old.name, oldDecl, newDecl)
	}
	qn := quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table)
	_, comment, err := e.columnComment(ctx, s, db, sch, table, old.name)
	if err != nil {
		return nil, true, err
	}
	stmts := []string{"COMMENT ON COLUMN " + qn + "." + quoteIdent(old.name) + " IS " + quoteString(encodeDecl(newDecl, comment))}
	if nt := duckTypeOf(newDecl); !strings.EqualFold(strings.ReplaceAll(nt, " ", ""), strings.ReplaceAll(old.duckType, " ", "")) && !(isTZStruct(nt) && isTZStruct(old.duckType)) {
		stmts = append([]string{"ALTER TABLE " + qn + " ALTER COLUMN " + quoteIdent(old.name) + " SET DATA TYPE " + nt}, stmts...)
	}
	if err := e.execDDL(ctx, s, stmts); err != nil {
		return nil, true, err
	}
	return status("Statement executed successfully."), true, nil
}

// compatibleTypeChange applies Snowflake's ALTER COLUMN ... TYPE rules to
// canonical declared types: a NUMBER's precision may grow at the same
// scale, a VARCHAR's length may grow; nothing else changes.
func compatibleTypeChange(oldT, newT string) bool {
	if oldT == newT {
		return true
	}
	var p1, s1, p2, s2 int
	if _, err := fmt.Sscanf(oldT, "NUMBER(%d,%d)", &p1, &s1); err == nil {
		if _, err := fmt.Sscanf(newT, "NUMBER(%d,%d)", &p2, &s2); err == nil {
			return s1 == s2 && p2 >= p1
		}
		return false
	}
	if strings.HasPrefix(oldT, "VARCHAR(") && strings.HasPrefix(newT, "VARCHAR(") {
		var n1, n2 int
		_, err1 := fmt.Sscanf(oldT, "VARCHAR(%d)", &n1)
		_, err2 := fmt.Sscanf(newT, "VARCHAR(%d)", &n2)
		return err1 == nil && err2 == nil && n2 >= n1
	}
	return false
}

// columnComment returns a column's declared type and user comment.
func (e *Emulator) columnComment(ctx context.Context, s *session, db, sch, table, col string) (decl, comment string, err error) {
	var c string
	err = s.conn.QueryRowContext(ctx, `SELECT coalesce(comment, '') FROM duckdb_columns() WHERE lower(database_name) = lower(?)
		AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) AND column_name = ?`, db, sch, table, col).Scan(&c)
	if err != nil {
		return "", "", err
	}
	decl, comment = decodeDecl(c)
	return decl, comment, nil
}

// snowTypeName renders a DuckDB type the way DESC TABLE shows it.
func snowTypeName(duckType string) string {
	t := strings.ToUpper(strings.ReplaceAll(duckType, " ", ""))
	switch {
	case reDecimal.MatchString(t):
		return "NUMBER" + strings.TrimPrefix(t, "DECIMAL")
	case strings.HasPrefix(t, "VARCHAR"):
		return "VARCHAR(16777216)"
	case t == "DOUBLE", t == "FLOAT":
		return "FLOAT"
	case t == "JSON":
		return "VARIANT"
	case t == "BLOB":
		return "BINARY(8388608)"
	case t == "TIMESTAMP":
		return "TIMESTAMP_NTZ(9)"
	case t == "TIMESTAMPWITHTIMEZONE", t == "TIMESTAMPTZ":
		return "TIMESTAMP_LTZ(9)"
	case isTZStruct(t):
		return "TIMESTAMP_TZ(9)"
	}
	return t
}

// tableLocks serialize DDL on a table, as Snowflake makes a statement
// wait for the table's lock: two sessions evolving one table (ADD COLUMN
// IF NOT EXISTS, type changes, CREATE ... IF NOT EXISTS) run one after
// the other, each seeing what the other committed, instead of meeting
// in a DuckDB write-write conflict. The zero value is ready to use.
type tableLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{} // by DB.SCHEMA.TABLE; a token in the channel is the lock
}

// lock takes the locks of keys in order (so two statements that lock the
// same tables cannot deadlock), waiting at most until ctx is done.
func (l *tableLocks) lock(ctx context.Context, keys []string) (unlock func(), err error) {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var held []chan struct{}
	unlock = func() {
		for _, c := range held {
			<-c
		}
	}
	for _, k := range keys {
		l.mu.Lock()
		if l.m == nil {
			l.m = map[string]chan struct{}{}
		}
		c, ok := l.m[k]
		if !ok {
			c = make(chan struct{}, 1)
			l.m[k] = c
		}
		l.mu.Unlock()
		select {
		case c <- struct{}{}:
			held = append(held, c)
		case <-ctx.Done():
			unlock()
			return nil, ctx.Err()
		}
	}
	return unlock, nil
}

// lockTables takes the DDL locks of the table a CREATE, ALTER or DROP
// TABLE names (and of the other table of ALTER TABLE ... SWAP WITH).
func (e *Emulator) lockTables(ctx context.Context, s *session, ws []token, names []string) (func(), error) {
	var keys []string
	add := func(names []string) {
		if db, sch, t, err := s.qualify(names); err == nil {
			keys = append(keys, strings.ToUpper(db+"."+sch+"."+t))
		}
	}
	add(names)
	for i := 0; i+2 < len(ws); i++ {
		if ws[i].is("SWAP") && ws[i+1].is("WITH") {
			other, _ := parseName(ws, i+2)
			add(other)
		}
	}
	return e.tableLocks.lock(ctx, keys)
}
