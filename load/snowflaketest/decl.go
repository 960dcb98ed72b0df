package snowflaketest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Declared types. DuckDB stores fewer types than Snowflake declares
// (VARCHAR(n) is VARCHAR, OBJECT and ARRAY are JSON, TIMESTAMP_TZ is
// TIMESTAMPTZ), so the emulator keeps each column's declared Snowflake
// type in the column's DuckDB comment, with the user's comment after it:
//
//	"\x1f" + declared type + "\x1f" + user comment
//
// The comment lives with the column: it moves with renames and SWAP, is
// dropped with the table, persists in the DuckDB file and follows the
// transaction. DESC TABLE and INFORMATION_SCHEMA.COLUMNS read it back.

const declMark = "\x1f"

// encodeDecl builds a column comment holding a declared type and a user
// comment.
func encodeDecl(decl, comment string) string { return declMark + decl + declMark + comment }

// decodeDecl splits a DuckDB column comment.
func decodeDecl(c string) (decl, comment string) {
	if !strings.HasPrefix(c, declMark) {
		return "", c
	}
	decl, comment, _ = strings.Cut(c[1:], declMark)
	return decl, comment
}

// SQL expressions over duckdb_columns(): the declared type (NULL when the
// column was not made by the emulator's DDL) and the user's comment.
const (
	declSQL    = `(CASE WHEN starts_with(comment, chr(31)) THEN split_part(comment, chr(31), 2) END)`
	commentSQL = `(CASE WHEN starts_with(comment, chr(31)) THEN NULLIF(split_part(comment, chr(31), 3), '') ELSE NULLIF(comment, '') END)`
)

// canonicalType renders a Snowflake type (synonyms, defaults filled in)
// the way DESC TABLE shows it: NUMBER(38,0), VARCHAR(16777216),
// TIMESTAMP_TZ(9), ARRAY, ...
func canonicalType(text string) string {
	u := strings.ToUpper(strings.Join(strings.Fields(text), " "))
	u = strings.ReplaceAll(strings.ReplaceAll(u, "( ", "("), " )", ")")
	u = strings.ReplaceAll(u, " (", "(")
	u = strings.ReplaceAll(strings.ReplaceAll(u, ", ", ","), " ,", ",")
	base, args := u, ""
	if i := strings.IndexByte(u, '('); i >= 0 && strings.HasSuffix(u, ")") {
		base, args = strings.TrimSpace(u[:i]), u[i+1:len(u)-1]
	}
	parts := strings.Split(args, ",")
	arg := func(i, def int) int {
		if i < len(parts) {
			if n, err := strconv.Atoi(strings.TrimSpace(parts[i])); err == nil {
				return n
			}
		}
		return def
	}
	switch base {
	case "NUMBER", "DECIMAL", "NUMERIC":
		return fmt.Sprintf("NUMBER(%d,%d)", arg(0, 38), arg(1, 0))
	case "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT":
		return "NUMBER(38,0)"
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL":
		return "FLOAT"
	case "VARCHAR", "STRING", "TEXT", "NVARCHAR", "NVARCHAR2", "CHAR VARYING", "NCHAR VARYING":
		return fmt.Sprintf("VARCHAR(%d)", arg(0, 16777216))
	case "CHAR", "CHARACTER", "NCHAR":
		return fmt.Sprintf("VARCHAR(%d)", arg(0, 1))
	case "BOOLEAN", "DATE", "VARIANT", "OBJECT", "ARRAY", "GEOGRAPHY", "GEOMETRY":
		return base
	case "TIME":
		return fmt.Sprintf("TIME(%d)", arg(0, 9))
	case "DATETIME", "TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMPNTZ", "TIMESTAMP WITHOUT TIME ZONE":
		return fmt.Sprintf("TIMESTAMP_NTZ(%d)", arg(0, 9))
	case "TIMESTAMP_LTZ", "TIMESTAMPLTZ", "TIMESTAMP WITH LOCAL TIME ZONE":
		return fmt.Sprintf("TIMESTAMP_LTZ(%d)", arg(0, 9))
	case "TIMESTAMP_TZ", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return fmt.Sprintf("TIMESTAMP_TZ(%d)", arg(0, 9))
	case "BINARY", "VARBINARY":
		return fmt.Sprintf("BINARY(%d)", arg(0, 8388608))
	}
	return u
}

// duckTypeOf is the DuckDB type that stores a canonical Snowflake type.
func duckTypeOf(decl string) string {
	base, _, _ := strings.Cut(decl, "(")
	switch base {
	case "NUMBER":
		return "DECIMAL" + strings.TrimPrefix(decl, "NUMBER")
	case "FLOAT":
		return "DOUBLE"
	case "VARCHAR":
		return "VARCHAR"
	case "TIME":
		return "TIME"
	case "TIMESTAMP_NTZ":
		return "TIMESTAMP"
	case "TIMESTAMP_LTZ":
		return "TIMESTAMPTZ"
	case "TIMESTAMP_TZ":
		return tzStruct
	case "VARIANT", "OBJECT", "ARRAY":
		return "JSON"
	case "BINARY":
		return "BLOB"
	case "BOOLEAN", "DATE":
		return base
	}
	return decl
}

var reVarcharLen = regexp.MustCompile(`^VARCHAR\((\d+)\)$`)

// varcharLimit returns n for a declared VARCHAR(n) below Snowflake's
// maximum, else 0.
func varcharLimit(decl string) int {
	m := reVarcharLen.FindStringSubmatch(decl)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	if n >= 16777216 {
		return 0
	}
	return n
}

// colDef is one column definition of CREATE TABLE or ALTER TABLE ADD.
type colDef struct {
	name       string
	decl       string  // canonical Snowflake type
	rest       []token // constraints after the type (NOT NULL, DEFAULT ...)
	comment    string
	hasComment bool
}

// constraintWord reports whether w ends a column's type.
func constraintWord(w token) bool {
	switch w.upper() {
	case "NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "REFERENCES", "COMMENT", "COLLATE", "AUTOINCREMENT",
		"IDENTITY", "CONSTRAINT", "CHECK", "WITH", "MASKING", "TAG", "FOREIGN", "AS", "ENFORCED", "NOVALIDATE":
		return true
	}
	return false
}

// parseColDef parses ws (one column definition, words only).
func parseColDef(ws []token) (colDef, error) {
	if len(ws) < 2 || (ws[0].kind != tkWord && ws[0].kind != tkQuoted) {
		return colDef{}, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: column definition expected")
	}
	d := colDef{name: identName(ws[0])}
	i := 1
	var typ []string
	depth := 0
	for i < len(ws) && (depth > 0 || !constraintWord(ws[i])) {
		switch ws[i].text {
		case "(":
			depth++
		case ")":
			depth--
		}
		typ = append(typ, ws[i].text)
		i++
	}
	if len(typ) == 0 {
		return colDef{}, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: type expected for column %s", d.name)
	}
	d.decl = canonicalType(strings.Join(typ, " "))
	for i < len(ws) {
		if ws[i].is("COMMENT") && i+1 < len(ws) {
			j := i + 1
			if ws[j].text == "=" && j+1 < len(ws) {
				j++
			}
			if ws[j].kind == tkString {
				d.comment, d.hasComment = unquoteString(ws[j].text), true
				i = j + 1
				continue
			}
		}
		d.rest = append(d.rest, ws[i])
		i++
	}
	return d, nil
}

// splitTopLevel splits ws at top-level commas.
func splitTopLevel(ws []token) [][]token {
	var out [][]token
	depth, start := 0, 0
	for i, w := range ws {
		switch w.text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, ws[start:i])
				start = i + 1
			}
		}
	}
	return append(out, ws[start:])
}

// matchingParen returns the index of the ")" closing ws[open].
func matchingParen(ws []token, open int) int {
	depth := 0
	for i := open; i < len(ws); i++ {
		switch ws[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// renderTokens writes words back as SQL text, translated for DuckDB.
func renderTokens(ws []token) (string, error) {
	spaced := make([]token, 0, 2*len(ws))
	for _, t := range ws {
		spaced = append(spaced, t, token{kind: tkSpace, text: " "})
	}
	return translate(spaced, nil)
}

// createTable answers CREATE [OR REPLACE] [TRANSIENT|TEMPORARY] TABLE
// [IF NOT EXISTS] name (columns) [table options]: DuckDB gets the columns
// without Snowflake's COMMENT clauses and options; the declared types and
// comments are stored in the columns' comments. Other forms (AS SELECT,
// LIKE, CLONE) return handled = false.
func (e *Emulator) createTable(ctx context.Context, s *session, ws []token, k int, replace, ifNotExists bool) (*result, bool, error) {
	n := k + 1
	if ifNotExists {
		n += 3
	}
	names, open := parseName(ws, n)
	if len(names) > 0 && open < len(ws) && (ws[open].is("LIKE") || ws[open].is("CLONE")) {
		res, err := e.createLikeClone(ctx, s, ws, names, open, replace, ifNotExists)
		return res, true, err
	}
	if len(names) == 0 || open >= len(ws) || ws[open].text != "(" {
		return nil, false, nil
	}
	closeIdx := matchingParen(ws, open)
	if closeIdx < 0 {
		return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unbalanced parentheses in CREATE TABLE")
	}
	for _, w := range ws[closeIdx+1:] {
		if w.is("AS") {
			return nil, false, nil // CREATE TABLE t (cols) AS SELECT: DuckDB's way
		}
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, true, err
	}
	if err := e.ensureSchema(ctx, db, sch); err != nil {
		return nil, true, err
	}
	var defs []colDef
	var elems []string
	for _, part := range splitTopLevel(ws[open+1 : closeIdx]) {
		if len(part) == 0 {
			continue
		}
		switch part[0].upper() {
		case "PRIMARY", "UNIQUE", "FOREIGN", "CONSTRAINT", "CHECK":
			txt, err := renderTokens(part)
			if err != nil {
				return nil, true, err
			}
			elems = append(elems, txt)
			continue
		}
		d, err := parseColDef(part)
		if err != nil {
			return nil, true, err
		}
		for _, o := range defs {
			if strings.EqualFold(o.name, d.name) {
				return nil, true, sqlErr(errDuplicateColumn, "42S21", "SQL compilation error:\nduplicate column name '%s'", d.name)
			}
		}
		if isTZStruct(duckTypeOf(d.decl)) {
			d.rest = tzDefault(d.rest)
		}
		rest, err := renderTokens(d.rest)
		if err != nil {
			return nil, true, err
		}
		elems = append(elems, quoteIdent(d.name)+" "+duckTypeOf(d.decl)+" "+rest)
		defs = append(defs, d)
	}
	tableComment, hasTableComment := "", false
	opts := ws[closeIdx+1:]
	for i := 0; i < len(opts); i++ {
		if opts[i].is("COMMENT") {
			j := i + 1
			if j < len(opts) && opts[j].text == "=" {
				j++
			}
			if j < len(opts) && opts[j].kind == tkString {
				tableComment, hasTableComment = unquoteString(opts[j].text), true
				i = j
			}
			continue
		}
		if opts[i].is("CLUSTER") {
			return nil, true, unsupported("CREATE TABLE ... CLUSTER BY")
		}
	}
	qn := quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table)
	head := "CREATE TABLE "
	switch {
	case replace:
		head = "CREATE OR REPLACE TABLE "
	case ifNotExists:
		head = "CREATE TABLE IF NOT EXISTS "
	}
	if temp := ws[1 : k+1]; len(temp) > 0 {
		for _, w := range temp {
			if w.is("TEMPORARY") || w.is("TEMP") {
				return nil, false, nil // temporary tables: DuckDB's own temp catalog
			}
		}
	}
	if ifNotExists {
		if _, err := e.tableColumns(ctx, s, db, sch, table); err == nil {
			return status(table + " already exists, statement succeeded."), true, nil
		}
	}
	stmts := []string{head + qn + " (" + strings.Join(elems, ", ") + ")"}
	for _, d := range defs {
		stmts = append(stmts, "COMMENT ON COLUMN "+qn+"."+quoteIdent(d.name)+" IS "+quoteString(encodeDecl(d.decl, d.comment)))
	}
	if hasTableComment {
		stmts = append(stmts, "COMMENT ON TABLE "+qn+" IS "+quoteString(tableComment))
	}
	if err := e.execDDL(ctx, s, stmts); err != nil {
		return nil, true, err
	}
	return status("Table " + table + " successfully created."), true, nil
}

// execDDL runs DDL statements atomically. Concurrent DDL on one table
// does not meet here: ddl holds the table's lock (tableLocks) for the
// whole statement, as Snowflake makes it wait for the table.
func (e *Emulator) execDDL(ctx context.Context, s *session, stmts []string) error {
	return e.execAtomic(ctx, s, stmts)
}

// execAtomic runs statements in one transaction (the session's, when one
// is open).
func (e *Emulator) execAtomic(ctx context.Context, s *session, stmts []string) error {
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
	}
	for _, q := range stmts {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			e.rollback(ctx, s)
			return err
		}
	}
	if !s.inTxn {
		if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
	}
	return nil
}

// addColumns answers ALTER TABLE [IF EXISTS] t ADD [COLUMN] [IF NOT
// EXISTS] c type [constraints] [COMMENT '...'] [, c2 type ...].
func (e *Emulator) addColumns(ctx context.Context, s *session, ws []token) (*result, bool, error) {
	i := 2
	tableIfExists := false
	if i+1 < len(ws) && ws[i].is("IF") && ws[i+1].is("EXISTS") {
		tableIfExists, i = true, i+2
	}
	names, j := parseName(ws, i)
	if len(names) == 0 || j >= len(ws) || !ws[j].is("ADD") {
		return nil, false, nil
	}
	j++
	if j < len(ws) && ws[j].is("COLUMN") {
		j++
	}
	if j < len(ws) {
		switch ws[j].upper() {
		case "CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "ROW", "SEARCH":
			return nil, false, nil
		}
	}
	ifNotExists := false
	if j+2 < len(ws) && ws[j].is("IF") && ws[j+1].is("NOT") && ws[j+2].is("EXISTS") {
		ifNotExists, j = true, j+3
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, true, err
	}
	cols, err := e.tableColumns(ctx, s, db, sch, table)
	if err != nil {
		if tableIfExists {
			return status("Statement executed successfully."), true, nil
		}
		return nil, true, err
	}
	qn := quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table)
	var stmts []string
	seen := map[string]bool{}
	for _, part := range splitTopLevel(ws[j:]) {
		if len(part) > 0 && part[0].is("COLUMN") {
			part = part[1:]
		}
		if len(part) > 3 && part[0].is("IF") && part[1].is("NOT") && part[2].is("EXISTS") {
			ifNotExists, part = true, part[3:]
		}
		d, err := parseColDef(part)
		if err != nil {
			return nil, true, err
		}
		exists := seen[strings.ToUpper(d.name)]
		for _, c := range cols {
			if strings.EqualFold(c.name, d.name) {
				exists = true
			}
		}
		if exists {
			if ifNotExists {
				continue
			}
			return nil, true, sqlErr(errDuplicateColumn, "42S21", "SQL compilation error:\nduplicate column name '%s'", d.name)
		}
		seen[strings.ToUpper(d.name)] = true
		if isTZStruct(duckTypeOf(d.decl)) {
			d.rest = tzDefault(d.rest)
		}
		rest, err := renderTokens(d.rest)
		if err != nil {
			return nil, true, err
		}
		add := " ADD COLUMN "
		if ifNotExists {
			add = " ADD COLUMN IF NOT EXISTS "
		}
		stmts = append(stmts, "ALTER TABLE "+qn+add+quoteIdent(d.name)+" "+duckTypeOf(d.decl)+" "+rest,
			"COMMENT ON COLUMN "+qn+"."+quoteIdent(d.name)+" IS "+quoteString(encodeDecl(d.decl, d.comment)))
	}
	if err := e.execDDL(ctx, s, stmts); err != nil {
		return nil, true, err
	}
	return status("Statement executed successfully."), true, nil
}

// createLikeClone answers CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t
// LIKE src (the columns, declared types, defaults and comments) and
// CREATE TABLE t CLONE src (the same and the rows).
func (e *Emulator) createLikeClone(ctx context.Context, s *session, ws []token, names []string, at int, replace, ifNotExists bool) (*result, error) {
	clone := ws[at].is("CLONE")
	src, end := parseName(ws, at+1)
	if len(src) == 0 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: a table name must follow %s", ws[at].upper())
	}
	if end != len(ws) {
		if clone {
			return nil, unsupported("CREATE TABLE ... CLONE with AT, BEFORE or other options")
		}
		return nil, unsupported("CREATE TABLE ... LIKE with options")
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, err
	}
	sdb, ssch, stable, err := s.qualify(src)
	if err != nil {
		return nil, err
	}
	if err := e.ensureSchema(ctx, db, sch); err != nil {
		return nil, err
	}
	if _, err := e.tableColumns(ctx, s, sdb, ssch, stable); err != nil {
		return nil, err
	}
	if ifNotExists {
		if _, err := e.tableColumns(ctx, s, db, sch, table); err == nil {
			return status(table + " already exists, statement succeeded."), nil
		}
	}
	rows, err := s.conn.QueryContext(ctx, `SELECT column_name, data_type, is_nullable, column_default, coalesce(comment, '') FROM duckdb_columns()
		WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) ORDER BY column_index`, sdb, ssch, stable)
	if err != nil {
		return nil, err
	}
	var defs, comments []string
	qn := quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table)
	for rows.Next() {
		var name, typ, comment string
		var nullable bool
		var def *string
		if err := rows.Scan(&name, &typ, &nullable, &def, &comment); err != nil {
			rows.Close()
			return nil, err
		}
		d := quoteIdent(name) + " " + typ
		if !nullable {
			d += " NOT NULL"
		}
		if def != nil {
			d += " DEFAULT " + *def
		}
		defs = append(defs, d)
		if comment != "" {
			comments = append(comments, "COMMENT ON COLUMN "+qn+"."+quoteIdent(name)+" IS "+quoteString(comment))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	head := "CREATE TABLE "
	if replace {
		head = "CREATE OR REPLACE TABLE "
	}
	stmts := append([]string{head + qn + " (" + strings.Join(defs, ", ") + ")"}, comments...)
	if clone {
		stmts = append(stmts, "INSERT INTO "+qn+" SELECT * FROM "+quoteIdent(sdb)+"."+quoteIdent(ssch)+"."+quoteIdent(stable))
	}
	if err := e.execDDL(ctx, s, stmts); err != nil {
		return nil, err
	}
	return status("Table " + table + " successfully created."), nil
}
