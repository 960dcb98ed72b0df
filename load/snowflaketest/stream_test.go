package snowflaketest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

func TestStreams(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE DATABASE sdb")
	mustExec(t, db, "CREATE TABLE src (id INT, v VARIANT)")
	mustExec(t, db, "CREATE TABLE sink (id INT, v VARIANT)")
	mustExec(t, db, "INSERT INTO src SELECT 0, PARSE_JSON('{\"before\":true}')")
	mustExec(t, db, "CREATE STREAM s ON TABLE src")
	mustExec(t, db, "CREATE OR REPLACE STREAM a ON TABLE src APPEND_ONLY = TRUE COMMENT = 'inserts'")
	if got := queryOne(t, db, "SELECT SYSTEM$STREAM_HAS_DATA('S')"); got != "0" {
		t.Errorf("STREAM_HAS_DATA on a new stream = %s, want FALSE (0)", got)
	}
	mustExec(t, db, `INSERT INTO src SELECT 1, PARSE_JSON('{"a":1}') UNION ALL SELECT 2, PARSE_JSON('{"a":2}') UNION ALL SELECT 3, PARSE_JSON('[3]')`)

	cols, rows := queryAll(t, db, "SELECT * FROM s ORDER BY id")
	if got, want := strings.Join(cols, ","), "ID,V,METADATA$ACTION,METADATA$ISUPDATE,METADATA$ROW_ID"; got != want {
		t.Fatalf("stream columns = %s, want %s", got, want)
	}
	if len(rows) != 3 {
		t.Fatalf("stream rows = %v, want the 3 inserted rows", rows)
	}
	ids := map[string]bool{}
	for i, r := range rows {
		if r[0] != fmt.Sprint(i+1) || r[2] != "INSERT" || r[3] != "0" || r[4] == "<nil>" || ids[r[4]] {
			t.Errorf("stream row %d = %v, want id %d, INSERT, not an update, a fresh row id", i, r, i+1)
		}
		ids[r[4]] = true
	}
	if got := queryOne(t, db, "SELECT v FROM s WHERE id = 3"); got != "[3]" {
		t.Errorf("stream VARIANT value = %s, want [3]", got)
	}
	if got := queryOne(t, db, "SELECT SYSTEM$STREAM_HAS_DATA('sdb.public.s')"); got != "1" {
		t.Errorf("STREAM_HAS_DATA after inserts = %s, want true", got)
	}
	// A SELECT does not consume; a rolled-back DML does not either.
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO sink SELECT id, v FROM s")
	mustExec(t, db, "ROLLBACK")
	if got := queryOne(t, db, "SELECT COUNT(*) FROM s"); got != "3" {
		t.Fatalf("stream rows after a rolled-back consumer = %s, want 3", got)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM sink"); got != "0" {
		t.Fatalf("sink rows after ROLLBACK = %s, want 0", got)
	}
	// A committed DML that reads the stream advances its offset.
	r := mustExec(t, db, "INSERT INTO sink SELECT id, v FROM s WHERE METADATA$ACTION = 'INSERT'")
	if n, _ := r.RowsAffected(); n != 3 {
		t.Errorf("consumer inserted %d rows, want 3", n)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM s"); got != "0" {
		t.Errorf("stream rows after a committed consumer = %s, want 0", got)
	}
	if got := queryOne(t, db, "SELECT SYSTEM$STREAM_HAS_DATA('s')"); got != "0" {
		t.Errorf("STREAM_HAS_DATA after consuming = %s, want false", got)
	}
	mustExec(t, db, "CREATE TABLE mirror AS SELECT * FROM src")
	// Each stream has its own offset.
	if got := queryOne(t, db, "SELECT COUNT(*) FROM a"); got != "3" {
		t.Errorf("append-only stream rows = %s, want 3", got)
	}
	// An explicit transaction commits the offset with the DML; until then
	// the stream still shows its rows (repeatable read).
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO sink SELECT id, v FROM a")
	if got := queryOne(t, db, "SELECT COUNT(*) FROM a"); got != "3" {
		t.Errorf("append-only stream inside the consuming transaction = %s rows, want 3", got)
	}
	mustExec(t, db, "COMMIT")
	if got := queryOne(t, db, "SELECT COUNT(*) FROM a"); got != "0" {
		t.Errorf("append-only stream after a committed transaction = %s, want 0", got)
	}

	// Updates and deletes: a standard stream shows net changes, an
	// append-only stream only inserts.
	mustExec(t, db, `UPDATE src SET v = PARSE_JSON('{"a":20}') WHERE id = 2`)
	mustExec(t, db, "DELETE FROM src WHERE id = 3")
	mustExec(t, db, `INSERT INTO src SELECT 4, PARSE_JSON('{"a":4}')`)
	_, rows = queryAll(t, db, "SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE FROM s ORDER BY id, METADATA$ACTION")
	want := `[[2 {"a":2} DELETE 1] [2 {"a":20} INSERT 1] [3 [3] DELETE 0] [4 {"a":4} INSERT 0]]`
	if got := fmt.Sprint(rows); got != want {
		t.Errorf("standard stream after UPDATE/DELETE/INSERT = %s, want %s", got, want)
	}
	_, rows = queryAll(t, db, "SELECT x.id, x.METADATA$ACTION FROM a AS x ORDER BY 1")
	if got := fmt.Sprint(rows); got != "[[4 INSERT]]" {
		t.Errorf("append-only stream = %s, want [[4 INSERT]]", got)
	}
	// MERGE consumes the stream too: it applies the changes to a mirror.
	_, rows = queryAll(t, db, `MERGE INTO mirror m
		USING (SELECT * FROM s WHERE NOT (METADATA$ACTION = 'DELETE' AND METADATA$ISUPDATE)) d ON m.id = d.id
		WHEN MATCHED AND d.METADATA$ACTION = 'DELETE' THEN DELETE
		WHEN MATCHED THEN UPDATE SET v = d.v
		WHEN NOT MATCHED THEN INSERT (id, v) VALUES (d.id, d.v)`)
	if got := fmt.Sprint(rows); got != "[[1 1 1]]" {
		t.Errorf("MERGE counts = %s, want [[1 1 1]]", got)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM s"); got != "0" {
		t.Errorf("stream after MERGE = %s, want 0", got)
	}
	_, a := queryAll(t, db, "SELECT id, v FROM mirror ORDER BY id")
	_, b := queryAll(t, db, "SELECT id, v FROM src ORDER BY id")
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("mirror = %v, want the table %v", a, b)
	}

	// SHOW_INITIAL_ROWS: a new stream shows the rows already there.
	mustExec(t, db, "CREATE STREAM everything ON TABLE src SHOW_INITIAL_ROWS = TRUE")
	if got, want := queryOne(t, db, "SELECT COUNT(*) FROM everything"), queryOne(t, db, "SELECT COUNT(*) FROM src"); got != want || got == "0" {
		t.Errorf("SHOW_INITIAL_ROWS stream has %s rows, want the table's %s", got, want)
	}
	mustExec(t, db, "DROP STREAM everything")

	// SHOW and DESC.
	cols, rows = queryAll(t, db, "SHOW STREAMS LIKE 'a%' IN SCHEMA sdb.public")
	if len(rows) != 1 || rows[0][1] != "A" || rows[0][6] != "SDB.PUBLIC.SRC" || rows[0][11] != "APPEND_ONLY" || rows[0][5] != "inserts" {
		t.Errorf("SHOW STREAMS = %v %v", cols, rows)
	}
	_, rows = queryAll(t, db, "DESC STREAM s")
	if len(rows) != 1 || rows[0][1] != "S" || rows[0][11] != "DEFAULT" {
		t.Errorf("DESC STREAM = %v", rows)
	}

	// Errors.
	_, err := db.Exec("CREATE STREAM s ON TABLE src")
	if se := snowErr(t, err); se.Number != 2002 {
		t.Errorf("CREATE STREAM twice: %v, want 002002", err)
	}
	_, err = db.Exec("CREATE STREAM bad ON TABLE missing")
	if se := snowErr(t, err); se.Number != 2003 {
		t.Errorf("stream on a missing table: %v, want 002003", err)
	}
	_, err = db.Exec("CREATE STREAM v ON VIEW src")
	if se := snowErr(t, err); se.Number != 2 {
		t.Errorf("stream on a view: %v, want 000002", err)
	}
	_, err = db.Query("SELECT SYSTEM$STREAM_HAS_DATA('nope')")
	if se := snowErr(t, err); se.Number != 2003 {
		t.Errorf("STREAM_HAS_DATA of a missing stream: %v, want 002003", err)
	}
	mustExec(t, db, "DROP STREAM a")
	mustExec(t, db, "DROP STREAM IF EXISTS a")
	_, err = db.Query("SELECT * FROM a")
	if se := snowErr(t, err); se.Number != 2003 {
		t.Errorf("SELECT from a dropped stream: %v, want 002003", err)
	}
}
