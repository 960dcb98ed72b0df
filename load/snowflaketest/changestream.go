package snowflaketest

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// stream is a CREATE STREAM on a table. Its offset is a snapshot of the
// table taken when the offset last advanced: a DuckDB table holding each
// row's rowid (and, for a standard stream, the row's values). Reading the
// stream compares the table with the snapshot by rowid, which DuckDB keeps
// for a row across UPDATEs and never reuses after a DELETE. The snapshot
// lives in the source table's database, so that the DML statement that
// consumes the stream and the snapshot's refresh commit in one DuckDB
// transaction (a rollback keeps the offset).
type stream struct {
	key, db, sch, name string
	tdb, tsch, table   string // the source table
	appendOnly         bool
	snap               string // quoted DuckDB name of the snapshot table
	created            time.Time
	owner, comment     string
}

// streamSchema is the DuckDB schema, in each database, that holds stream
// snapshots.
const streamSchema = "__SNOWFLAKETEST_STREAMS"

func (st *stream) source() string {
	return quoteIdent(st.tdb) + "." + quoteIdent(st.tsch) + "." + quoteIdent(st.table)
}

func (st *stream) mode() string {
	if st.appendOnly {
		return "APPEND_ONLY"
	}
	return "DEFAULT"
}

// streamDDL answers CREATE [OR REPLACE] STREAM [IF NOT EXISTS] s ON TABLE t
// [APPEND_ONLY = TRUE|FALSE] [SHOW_INITIAL_ROWS = TRUE|FALSE] [COMMENT =
// '…'] and DROP STREAM [IF EXISTS] s.
func (e *Emulator) streamDDL(ctx context.Context, s *session, d ddlArgs) (*result, error) {
	key, db, sch, name, err := objectKey(s, d.names)
	if err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	old := e.ext.streams[key]
	e.ext.mu.Unlock()
	switch d.verb {
	case "DROP":
		if old == nil {
			return missingObject(d, "Stream", key, name)
		}
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+old.snap); err != nil {
			return nil, err
		}
		e.ext.mu.Lock()
		delete(e.ext.streams, key)
		e.ext.mu.Unlock()
		return status(name + " successfully dropped."), nil
	case "ALTER":
		return nil, unsupported("ALTER STREAM")
	}
	if old != nil && !d.replace {
		return objectExists(d, name)
	}
	ws := d.ws
	i := d.end
	if i < len(ws) && ws[i].is("COPY") {
		i += 2 // COPY GRANTS
	}
	if i >= len(ws) || !ws[i].is("ON") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: CREATE STREAM needs ON TABLE <name>")
	}
	i++
	if i >= len(ws) || !ws[i].is("TABLE") {
		kind := "this source"
		if i < len(ws) {
			kind = ws[i].upper()
		}
		return nil, unsupported("streams on " + kind + " (only ON TABLE)")
	}
	tnames, j := parseName(ws, i+1)
	_, tdb, tsch, table, err := objectKey(s, tnames)
	if err != nil {
		return nil, err
	}
	st := &stream{key: key, db: db, sch: sch, name: name, tdb: tdb, tsch: tsch, table: table,
		created: e.now(), owner: s.role}
	opts, _, err := parseOptions(ws, j)
	if err != nil {
		return nil, err
	}
	initial := false
	for k, v := range opts {
		switch k {
		case "APPEND_ONLY":
			if st.appendOnly, err = boolOpt(opts, k, false); err != nil {
				return nil, err
			}
		case "SHOW_INITIAL_ROWS":
			if initial, err = boolOpt(opts, k, false); err != nil {
				return nil, err
			}
		case "COMMENT":
			st.comment = v.s
		case "AT", "BEFORE":
			return nil, unsupported("CREATE STREAM ... " + k + " (time travel)")
		case "INSERT_ONLY":
			return nil, unsupported("INSERT_ONLY streams (external tables)")
		default:
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid property '%s' for 'STREAM'", k)
		}
	}
	if _, err := extColumns(ctx, s.conn, tdb, tsch, table); err != nil {
		return nil, err
	}
	if err := e.ensureSchema(ctx, tdb, streamSchema); err != nil {
		return nil, err
	}
	st.snap = quoteIdent(tdb) + "." + quoteIdent(streamSchema) + "." + quoteIdent(db+"."+sch+"."+name)
	where := ""
	if initial {
		where = " WHERE FALSE"
	}
	if _, err := s.conn.ExecContext(ctx, snapshotSQL(st)+where); err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	e.ext.streams[key] = st
	e.ext.mu.Unlock()
	return status("Stream " + name + " successfully created."), nil
}

// snapshotSQL (re)creates the stream's snapshot from its table.
func snapshotSQL(st *stream) string {
	if st.appendOnly {
		return "CREATE OR REPLACE TABLE " + st.snap + " AS SELECT rowid AS __sf_rid FROM " + st.source()
	}
	return "CREATE OR REPLACE TABLE " + st.snap + " AS SELECT rowid AS __sf_rid, * FROM " + st.source()
}

// extColumns lists a table's columns in order.
func extColumns(ctx context.Context, conn *sql.Conn, db, sch, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT column_name FROM duckdb_columns()
		WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index`, db, sch, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, sqlErr(errDoesNotExist, "42S02", "SQL compilation error:\nTable '%s.%s.%s' does not exist or not authorized.", db, sch, table)
	}
	return cols, nil
}

// lookupStream resolves a one- to three-part name to a stream, or nil.
func (e *Emulator) lookupStream(s *session, names []string) *stream {
	key, _, _, _, err := objectKey(s, names)
	if err != nil {
		return nil
	}
	e.ext.mu.Lock()
	defer e.ext.mu.Unlock()
	return e.ext.streams[key]
}

// streamSQL is the query that reads a stream: the table's columns, then
// METADATA$ACTION, METADATA$ISUPDATE and METADATA$ROW_ID. A standard
// stream gives the net changes since the offset (an updated row as a
// DELETE and an INSERT with METADATA$ISUPDATE = TRUE); an append-only
// stream gives the inserted rows.
func (e *Emulator) streamSQL(ctx context.Context, s *session, st *stream) (string, error) {
	cols, err := extColumns(ctx, s.conn, st.tdb, st.tsch, st.table)
	if err != nil {
		return "", sqlErr(91901, "01000", "Base table '%s.%s.%s' dropped, cannot read from stream '%s'.", st.tdb, st.tsch, st.table, st.name)
	}
	rowID := func(rid string) string {
		return "md5(" + quoteString(strings.ToLower(st.tdb+"."+st.tsch+"."+st.table)+"#") + " || CAST(" + rid + " AS VARCHAR))"
	}
	var tcols, b strings.Builder
	for i, c := range cols {
		if i > 0 {
			tcols.WriteString(", ")
		}
		tcols.WriteString("t." + quoteIdent(c))
	}
	if st.appendOnly {
		b.WriteString("SELECT " + tcols.String() + `, 'INSERT' AS "METADATA$ACTION", FALSE AS "METADATA$ISUPDATE", ` +
			rowID("t.rowid") + ` AS "METADATA$ROW_ID" FROM ` + st.source() + " AS t LEFT JOIN " + st.snap +
			" AS s ON s.__sf_rid = t.rowid WHERE s.__sf_rid IS NULL")
		return b.String(), nil
	}
	snapCols, err := snapshotColumns(ctx, s.conn, st)
	if err != nil {
		return "", err
	}
	var scols, tcmp, scmp strings.Builder
	for i, c := range cols {
		if i > 0 {
			scols.WriteString(", ")
		}
		if snapCols[c] {
			scols.WriteString("s." + quoteIdent(c))
			if tcmp.Len() > 0 {
				tcmp.WriteString(", ")
				scmp.WriteString(", ")
			}
			tcmp.WriteString("t." + quoteIdent(c))
			scmp.WriteString("s." + quoteIdent(c))
		} else {
			scols.WriteString("NULL")
		}
	}
	differs := "FALSE"
	if tcmp.Len() > 0 {
		differs = "ROW(" + tcmp.String() + ") IS DISTINCT FROM ROW(" + scmp.String() + ")"
	}
	b.WriteString("SELECT " + tcols.String() + `, 'INSERT' AS "METADATA$ACTION", (s.__sf_rid IS NOT NULL) AS "METADATA$ISUPDATE", ` +
		rowID("t.rowid") + ` AS "METADATA$ROW_ID" FROM ` + st.source() + " AS t LEFT JOIN " + st.snap +
		" AS s ON s.__sf_rid = t.rowid WHERE s.__sf_rid IS NULL OR " + differs)
	b.WriteString(" UNION ALL SELECT " + scols.String() + `, 'DELETE', (t.rowid IS NOT NULL), ` + rowID("s.__sf_rid") +
		" FROM " + st.snap + " AS s LEFT JOIN " + st.source() + " AS t ON t.rowid = s.__sf_rid WHERE t.rowid IS NULL OR " + differs)
	return b.String(), nil
}

// snapshotColumns is the set of table columns the snapshot holds.
func snapshotColumns(ctx context.Context, conn *sql.Conn, st *stream) (map[string]bool, error) {
	cols, err := extColumns(ctx, conn, st.tdb, streamSchema, st.db+"."+st.sch+"."+st.name)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(cols))
	for _, c := range cols {
		m[c] = true
	}
	return m, nil
}

// streamHasData answers SYSTEM$STREAM_HAS_DATA('name').
func (e *Emulator) streamHasData(ctx context.Context, s *session, name string) (bool, error) {
	var names []string
	for _, t := range words(lex(name)) {
		if t.text != "." {
			names = append(names, identName(t))
		}
	}
	st := e.lookupStream(s, names)
	if st == nil {
		return false, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nStream '%s' does not exist or not authorized.", name)
	}
	q, err := e.streamSQL(ctx, s, st)
	if err != nil {
		return false, err
	}
	var has bool
	if err := s.conn.QueryRowContext(ctx, "SELECT EXISTS ("+q+")").Scan(&has); err != nil {
		return false, err
	}
	return has, nil
}

// consumeStreams runs a DML statement that reads streams and advances
// their offsets when it commits: in the session's open transaction (so a
// ROLLBACK keeps the offsets), or in a transaction of its own.
func (e *Emulator) consumeStreams(ctx context.Context, s *session, streams []*stream, run func() (*result, error)) (*result, error) {
	if s.inTxn {
		// The session's transaction: the offsets move when it commits
		// (until then the stream still shows its rows, as Snowflake's
		// repeatable read does), and stay on ROLLBACK.
		res, err := run()
		if err != nil {
			return nil, err
		}
		e.ext.mu.Lock()
		if e.ext.pendingStreams == nil {
			e.ext.pendingStreams = map[*session][]*stream{}
		}
		for _, st := range streams {
			e.ext.pendingStreams[s] = appendStream(e.ext.pendingStreams[s], st)
		}
		e.ext.mu.Unlock()
		return res, nil
	}
	return e.inOwnTxn(ctx, s, func() (*result, error) {
		res, err := run()
		if err != nil {
			return nil, err
		}
		return res, e.advanceStreams(ctx, s, streams)
	})
}

// advanceStreams moves the streams' offsets to the table as the session's
// transaction sees it.
func (e *Emulator) advanceStreams(ctx context.Context, s *session, streams []*stream) error {
	for _, st := range streams {
		if _, err := s.conn.ExecContext(ctx, snapshotSQL(st)); err != nil {
			return err
		}
	}
	return nil
}

// endTxnStreams is called before COMMIT and ROLLBACK: a COMMIT first moves
// the offsets of the streams the transaction consumed, inside it.
func (e *Emulator) endTxnStreams(ctx context.Context, s *session, commit bool) error {
	e.ext.mu.Lock()
	pending := e.ext.pendingStreams[s]
	delete(e.ext.pendingStreams, s)
	e.ext.mu.Unlock()
	if !commit || !s.inTxn || len(pending) == 0 {
		return nil
	}
	return e.advanceStreams(ctx, s, pending)
}

// descStream answers DESC STREAM.
func (e *Emulator) descStream(ctx context.Context, s *session, names []string) (*result, error) {
	st := e.lookupStream(s, names)
	if st == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nStream '%s' does not exist or not authorized.", strings.Join(names, "."))
	}
	return streamRows([]*stream{st}), nil
}

// showStreams answers SHOW STREAMS.
func (e *Emulator) showStreams(match func(db, sch, name string) bool) *result {
	e.ext.mu.Lock()
	var list []*stream
	for _, st := range e.ext.streams {
		if match(st.db, st.sch, st.name) {
			list = append(list, st)
		}
	}
	e.ext.mu.Unlock()
	sortBy(list, func(st *stream) string { return st.key })
	return streamRows(list)
}

func streamRows(list []*stream) *result {
	names := []string{"name", "database_name", "schema_name", "owner", "comment", "table_name", "source_type", "base_tables", "type", "stale", "mode", "stale_after", "invalid_reason", "owner_role_type"}
	res := &result{typeID: stmtSelect, rowtype: []rowType{timeCol("created_on")}}
	for _, n := range names {
		res.rowtype = append(res.rowtype, textCol(n))
	}
	res.rowtype[12] = timeCol("stale_after")
	for _, st := range list {
		tbl := st.tdb + "." + st.tsch + "." + st.table
		res.rowset = append(res.rowset, []*string{ltz(st.created), strp(st.name), strp(st.db), strp(st.sch), strp(st.owner),
			strp(st.comment), strp(tbl), strp("Table"), strp(tbl), strp("DELTA"), strp("false"), strp(st.mode()),
			ltz(st.created.Add(14 * 24 * time.Hour)), strp("N/A"), strp("ROLE")})
	}
	return res
}
