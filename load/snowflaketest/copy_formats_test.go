package snowflaketest_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

func TestValidationMode(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (id INT, d DATE)")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "bad.csv", "1,2024-01-01\nx,2024-01-02\n3,2024-01-03\n4,notadate\n")+" @%t AUTO_COMPRESS=FALSE")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "good.csv", "7,2024-07-07\n8,2024-08-08\n9,2024-09-09\n")+" @%t AUTO_COMPRESS=FALSE")

	cols, rows := queryAll(t, db, "COPY INTO t FROM @%t VALIDATION_MODE = RETURN_ERRORS")
	if got, want := fmt.Sprint(cols), "[ERROR FILE LINE CHARACTER BYTE_OFFSET CATEGORY CODE SQL_STATE COLUMN_NAME ROW_NUMBER ROW_START_LINE REJECTED_RECORD]"; got != want {
		t.Errorf("RETURN_ERRORS columns = %s, want %s", got, want)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", r[0], r[1], r[2], r[3], r[6], r[8], r[9]))
	}
	want := []string{
		`Numeric value 'x' is not recognized|bad.csv|2|1|100038|"T"["ID":1]|2`,
		`Date 'notadate' is not recognized|bad.csv|4|3|100040|"T"["D":2]|4`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RETURN_ERRORS =\n%v\nwant\n%v", got, want)
	}
	_, rows = queryAll(t, db, "COPY INTO t FROM @%t FILES = ('good.csv') VALIDATION_MODE = RETURN_2_ROWS")
	if got, want := fmt.Sprint(rows), "[[7 2024-07-07T00:00:00Z] [8 2024-08-08T00:00:00Z]]"; got != want {
		t.Errorf("RETURN_2_ROWS = %s, want %s", got, want)
	}
	if _, err := db.Query("COPY INTO t FROM @%t FILES = ('bad.csv') VALIDATION_MODE = RETURN_10_ROWS"); err == nil || snowErr(t, err).Number != 100038 {
		t.Errorf("RETURN_10_ROWS on a bad file = %v, want 100038", err)
	}
	if n := queryOne(t, db, "SELECT COUNT(*) FROM t"); n != "0" {
		t.Errorf("COUNT(*) after validation = %s, want 0 (nothing loaded)", n)
	}
	res, _ := copyInto(t, db, "COPY INTO t FROM @%t ON_ERROR = CONTINUE")
	if len(res) != 2 {
		t.Errorf("COPY after validation = %+v, want both files (validation records no load metadata)", res)
	}
}

// TestPutLocalFSDriverBugs pins down the gosnowflake v1.19.1 LOCAL_FS bugs
// FIDELITY.md describes, and the emulator's workaround for OVERWRITE. If
// the first check fails after a driver upgrade, the bug is fixed: update
// FIDELITY.md.
func TestPutLocalFSDriverBugs(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{PutMode: snowflaketest.PutLocalFS})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (a INT)")

	ctx := gosnowflake.WithFileStream(context.Background(), strings.NewReader("1\n2\n3\n"))
	if _, err := db.ExecContext(ctx, "PUT file:///nonexistent/stream.csv @%t AUTO_COMPRESS=FALSE"); err != nil {
		t.Fatalf("streaming PUT: %v", err)
	}
	_, list := queryAll(t, db, "LIST @%t")
	if len(list) != 1 || list[0][1] != "0" {
		t.Errorf("LOCAL_FS streaming PUT stored %v, want the driver bug's 0-byte file", list)
	}
	mustExec(t, db, "REMOVE @%t")

	// OVERWRITE: the driver does not truncate; the emulator deletes the target first.
	p := writeFile(t, dir, "o.csv", "1234567890\n")
	mustExec(t, db, "PUT file://"+p+" @%t AUTO_COMPRESS=FALSE")
	p = writeFile(t, dir, "o.csv", "7\n")
	mustExec(t, db, "PUT file://"+p+" @%t AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
	res, _ := copyInto(t, db, "COPY INTO t FROM @%t")
	if len(res) != 1 || res[0].loaded != 1 || queryOne(t, db, "SELECT a FROM t") != "7" {
		t.Errorf("COPY after an overwriting LOCAL_FS PUT = %+v, want exactly the new row 7", res)
	}
	if _, err := db.Exec("GET @%t file://" + dir); err == nil || snowErr(t, err).Number != 2 {
		t.Errorf("GET = %v, want unsupported (2)", err)
	}
}

func TestCopyParquet(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	// Write a Parquet file with DuckDB itself (the test binary links it anyway).
	pq := filepath.Join(dir, "rows.parquet")
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	if _, err := duck.Exec(`COPY (SELECT * FROM (VALUES (1, 'a', 1.5, {'k': [1, 2]}), (2, 'b', NULL, NULL)) v(Id, NAME, score, extra))
		TO ` + "'" + pq + "'" + ` (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (id INT, name STRING, score FLOAT, extra VARIANT)")
	mustExec(t, db, "PUT file://"+pq+" @%t")
	res, _ := copyInto(t, db, "COPY INTO t FROM @%t FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
	if len(res) != 1 || res[0].file != "rows.parquet" || res[0].status != "LOADED" || res[0].loaded != 2 {
		t.Fatalf("COPY PARQUET = %+v, want rows.parquet LOADED 2", res)
	}
	_, got := queryAll(t, db, "SELECT id, name, score, extra FROM t ORDER BY id")
	if want := `[[1 a 1.5 {"k":[1,2]}] [2 b <nil> <nil>]]`; fmt.Sprint(got) != want {
		t.Errorf("rows = %v, want %s", got, want)
	}
	mustExec(t, db, "CREATE TABLE raw (v VARIANT)")
	mustExec(t, db, "PUT file://"+pq+" @%raw")
	res, _ = copyInto(t, db, "COPY INTO raw FROM @%raw FILE_FORMAT = (TYPE = PARQUET)")
	if len(res) != 1 || res[0].loaded != 2 {
		t.Fatalf("COPY PARQUET into VARIANT = %+v, want 2 rows", res)
	}
	if got := queryOne(t, db, "SELECT v FROM raw WHERE v LIKE '%\"Id\":1%'"); got != `{"Id":1,"NAME":"a","score":1.5,"extra":{"k":[1,2]}}` {
		t.Errorf("VARIANT row = %s", got)
	}
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "junk.parquet", "not parquet")+" @%raw")
	res, _ = copyInto(t, db, "COPY INTO raw FROM @%raw FILES = ('junk.parquet.gz') FILE_FORMAT = (TYPE = PARQUET) ON_ERROR = CONTINUE")
	if len(res) != 1 || res[0].status != "LOAD_FAILED" {
		t.Errorf("COPY of a corrupt Parquet file = %+v, want LOAD_FAILED", res)
	}
}

// TestCopyJSONNulls: with MATCH_BY_COLUMN_NAME a JSON null loads into a
// VARIANT column as a VARIANT null (not SQL NULL: IS NULL is FALSE, the
// text is null), into other columns (OBJECT, ARRAY, VARCHAR, NUMBER) as SQL
// NULL, and a missing member as SQL NULL. STRIP_NULL_VALUES = TRUE drops
// null members and array elements at every depth, so the VARIANT column
// gets SQL NULL.
func TestCopyJSONNulls(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	content := `{"id":1,"v":null,"o":null,"a":null,"s":null}` + "\n" +
		`{"id":2,"v":{"x":null,"y":[1,null,{"z":null}]},"s":"q"}` + "\n" +
		`{"id":3}` + "\n"
	path := writeFile(t, dir, "n.json", content)
	for _, tt := range []struct {
		format string
		want   string
	}{
		{"TYPE = JSON",
			`[[1 0 null <nil> <nil> <nil>] [2 0 {"x":null,"y":[1,null,{"z":null}]} <nil> <nil> q] [3 1 <nil> <nil> <nil> <nil>]]`},
		{"TYPE = JSON STRIP_NULL_VALUES = TRUE",
			`[[1 1 <nil> <nil> <nil> <nil>] [2 0 {"y":[1,{}]} <nil> <nil> q] [3 1 <nil> <nil> <nil> <nil>]]`},
	} {
		t.Run(tt.format, func(t *testing.T) {
			mustExec(t, db, "CREATE OR REPLACE TABLE n (id NUMBER, v VARIANT, o OBJECT, a ARRAY, s VARCHAR)")
			mustExec(t, db, "PUT file://"+path+" @%n OVERWRITE = TRUE")
			res, _ := copyInto(t, db, "COPY INTO n FROM @%n FILE_FORMAT = ("+tt.format+") MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE FORCE = TRUE")
			if len(res) != 1 || res[0].status != "LOADED" || res[0].loaded != 3 {
				t.Fatalf("COPY = %+v, want 3 rows LOADED", res)
			}
			_, rows := queryAll(t, db, "SELECT id, v IS NULL, v, o, a, s FROM n ORDER BY id")
			if got := fmt.Sprint(rows); got != tt.want {
				t.Errorf("rows =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	// One VARIANT column: STRIP_NULL_VALUES strips the whole document.
	mustExec(t, db, "CREATE TABLE raw (v VARIANT)")
	mustExec(t, db, "PUT file://"+path+" @%raw")
	copyInto(t, db, "COPY INTO raw FROM @%raw FILE_FORMAT = (TYPE = JSON STRIP_NULL_VALUES = TRUE)")
	_, rows := queryAll(t, db, "SELECT v FROM raw")
	if got, want := fmt.Sprint(rows), `[[{"id":1}] [{"id":2,"v":{"y":[1,{}]},"s":"q"}] [{"id":3}]]`; got != want {
		t.Errorf("raw rows = %s, want %s", got, want)
	}
}

// TestCopyBatches: files of more records than one staging batch (65 536)
// load in several batches with the same outcome as in one: errors in every
// batch are found and counted, a file that fails after some of its
// batches went in leaves none of its rows, and a COPY that aborts inside
// the session's transaction takes its rows out and leaves the
// transaction's own rows.
func TestCopyBatches(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	const n = 150000
	var good, bad strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&good, "%d,r%d\n", i, i)
		if i == 70000 || i == 140000 {
			fmt.Fprintf(&bad, "x%d,r%d\n", i, i) // one bad row in the second and the third batch
		} else {
			fmt.Fprintf(&bad, "%d,r%d\n", i, i)
		}
	}
	goodPath := writeGzip(t, dir, "good.csv", good.String())
	badPath := writeGzip(t, dir, "bad.csv", bad.String())
	mustExec(t, db, "CREATE TABLE t (id NUMBER, s VARCHAR)")
	mustExec(t, db, "PUT file://"+goodPath+" @%t")
	mustExec(t, db, "PUT file://"+badPath+" @%t")

	t.Run("CONTINUE", func(t *testing.T) {
		res, _ := copyInto(t, db, "COPY INTO t FROM @%t FILES = ('bad.csv') ON_ERROR = CONTINUE")
		if r := res[0]; r.status != "PARTIALLY_LOADED" || r.parsed != n || r.loaded != n-2 || r.seen != 2 || r.firstLine.String != "70000" {
			t.Errorf("COPY = %+v, want PARTIALLY_LOADED %d parsed, %d loaded, 2 errors, the first on line 70000", r, n, n-2)
		}
		if got := queryOne(t, db, "SELECT COUNT(*) || ' ' || SUM(id) FROM t"); got != fmt.Sprintf("%d %d", n-2, n*(n+1)/2-70000-140000) {
			t.Errorf("COUNT, SUM = %s", got)
		}
		_, rows := queryAll(t, db, "SELECT line, rejected_record FROM TABLE(VALIDATE(t, JOB_ID => '_last'))")
		if got := fmt.Sprint(rows); got != "[[70000 x70000,r70000] [140000 x140000,r140000]]" {
			t.Errorf("VALIDATE = %s", got)
		}
	})
	t.Run("SKIP_FILE", func(t *testing.T) {
		mustExec(t, db, "TRUNCATE TABLE t")
		res, _ := copyInto(t, db, "COPY INTO t FROM @%t ON_ERROR = SKIP_FILE_2 FORCE = TRUE")
		if len(res) != 2 || res[0].status != "LOAD_FAILED" || res[1].status != "LOADED" || res[1].loaded != n {
			t.Errorf("COPY = %+v, want bad.csv LOAD_FAILED after two batches went in, good.csv LOADED", res)
		}
		if got := queryOne(t, db, "SELECT COUNT(*) || ' ' || COUNT(DISTINCT id) FROM t"); got != fmt.Sprintf("%d %d", n, n) {
			t.Errorf("COUNT, COUNT(DISTINCT) = %s, want only good.csv's rows", got)
		}
	})
	t.Run("ABORT_STATEMENT in a transaction", func(t *testing.T) {
		mustExec(t, db, "TRUNCATE TABLE t")
		conn, err := db.Conn(context.Background()) // the DB's one connection: close it before the next subtest
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, q := range []string{"BEGIN", "INSERT INTO t VALUES (-1, 'mine')"} {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatal(q, err)
			}
		}
		_, err = conn.ExecContext(context.Background(), "COPY INTO t FROM @%t FORCE = TRUE")
		if err == nil || snowErr(t, err).Number != 100038 {
			t.Fatalf("COPY = %v, want 100038", err)
		}
		var got string
		if err := conn.QueryRowContext(context.Background(), "SELECT COUNT(*) || ' ' || MIN(s) FROM t").Scan(&got); err != nil || got != "1 mine" {
			t.Errorf("in the transaction after the COPY failed: %q, %v; want only its own row", got, err)
		}
		if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM t").Scan(&got); err != nil || got != "1" {
			t.Errorf("after COMMIT: %s rows, %v; want 1", got, err)
		}
	})
}
