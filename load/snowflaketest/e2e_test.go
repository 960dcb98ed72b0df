package snowflaketest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

func TestMain(m *testing.M) {
	// The driver probes cloud metadata endpoints and loads a telemetry
	// library on first connect; neither is useful against the emulator.
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	os.Setenv("SF_DISABLE_MINICORE", "true")
	_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	os.Exit(m.Run())
}

// newDB starts an emulator and opens a *sql.DB on it through gosnowflake.
func newDB(t *testing.T, opts snowflaketest.Options) (*snowflaketest.Server, *sql.DB) {
	t.Helper()
	srv, err := snowflaketest.NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	db := srv.OpenDB()
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // one session: USE and transactions stick
	return srv, db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) sql.Result {
	t.Helper()
	r, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("Exec(%q): %v", q, err)
	}
	return r
}

// queryAll returns all rows as strings ("<nil>" for NULL) and the column names.
func queryAll(t *testing.T, db *sql.DB, q string, args ...any) ([]string, [][]string) {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("Query(%q): %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("Scan(%q): %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "<nil>"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows(%q): %v", q, err)
	}
	return cols, out
}

func queryOne(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	_, rows := queryAll(t, db, q, args...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("Query(%q) = %v, want one value", q, rows)
	}
	return rows[0][0]
}

func snowErr(t *testing.T, err error) *gosnowflake.SnowflakeError {
	t.Helper()
	var se *gosnowflake.SnowflakeError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *gosnowflake.SnowflakeError", err, err)
	}
	return se
}

func writeGzip(t *testing.T, dir, name, content string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(content))
	zw.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSelectTypes(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	tests := []struct {
		q    string
		want string
	}{
		{"SELECT 1", "1"},
		{"select 'a''b'", "a'b"},
		{"SELECT CAST(10.5 AS NUMBER(10,2))", "10.50"},
		{"SELECT 1.5::FLOAT", "1.5"},
		{"SELECT TRUE", "1"},
		{"SELECT NULL", "<nil>"},
		{"SELECT CURRENT_DATABASE()", "TEST_DB"},
		{"SELECT CURRENT_SCHEMA()", "PUBLIC"},
		{"SELECT PARSE_JSON('{\"a\": [1, 2]}')", `{"a":[1,2]}`},
		{"SELECT IFF(1 < 2, 'yes', 'no')", "yes"},
		{"SELECT NVL(NULL, 'x')", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			if got := queryOne(t, db, tt.q); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.q, got, tt.want)
			}
		})
	}
	var d, ts any
	var b bool
	if err := db.QueryRow("SELECT DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.5', 1 < 2").Scan(&d, &ts, &b); err != nil {
		t.Fatal(err)
	}
	if !b {
		t.Errorf("1 < 2 scanned into bool = false, want true")
	}
	if got := fmt.Sprint(d); !strings.HasPrefix(got, "2024-02-29 00:00:00") {
		t.Errorf("DATE = %v, want 2024-02-29", got)
	}
	if got := fmt.Sprint(ts); !strings.HasPrefix(got, "2024-02-29 12:34:56.5 ") {
		t.Errorf("TIMESTAMP = %v, want 2024-02-29 12:34:56.5", got)
	}
}

func TestLoginPassword(t *testing.T) {
	srv, _ := newDB(t, snowflaketest.Options{Users: map[string]string{"ALICE": "s3cret"}})
	tests := []struct {
		name, user, pw string
		wantErr        int
	}{
		{"good", "ALICE", "s3cret", 0},
		{"wrong password", "ALICE", "nope", 390100},
		{"unknown user", "BOB", "s3cret", 390100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srv.Config()
			cfg.User, cfg.Password = tt.user, tt.pw
			db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
			defer db.Close()
			err := db.Ping()
			if tt.wantErr == 0 {
				if err != nil {
					t.Fatalf("Ping = %v, want nil", err)
				}
				return
			}
			if se := snowErr(t, err); se.Number != tt.wantErr {
				t.Errorf("Ping error number = %d, want %d", se.Number, tt.wantErr)
			}
			if strings.Contains(err.Error(), tt.pw) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestDDLAndDML(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "create table people (id int, name varchar(20), score number(10,2), tags variant)")
	r := mustExec(t, db, "INSERT INTO people (id, name, score) VALUES (?, ?, ?)", 1, "ann", 1.25)
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("INSERT RowsAffected = %d, %v; want 1", n, err)
	}
	mustExec(t, db, "INSERT INTO people (id, name, score, tags) SELECT 2, 'bob', 2, PARSE_JSON('[\"x\"]')")
	r = mustExec(t, db, "UPDATE people SET score = score + 1 WHERE id >= :1", 1)
	if n, _ := r.RowsAffected(); n != 2 {
		t.Errorf("UPDATE RowsAffected = %d, want 2", n)
	}
	cols, rows := queryAll(t, db, "select id, name, score, tags from PEOPLE order by id")
	if got, want := strings.Join(cols, ","), "ID,NAME,SCORE,TAGS"; got != want {
		t.Errorf("columns = %s, want %s (unquoted identifiers fold to upper case)", got, want)
	}
	if got, want := fmt.Sprint(rows), `[[1 ann 2.25 <nil>] [2 bob 3.00 ["x"]]]`; got != want {
		t.Errorf("rows = %s, want %s", got, want)
	}
	r = mustExec(t, db, "DELETE FROM people WHERE name = ?", "ann")
	if n, _ := r.RowsAffected(); n != 1 {
		t.Errorf("DELETE RowsAffected = %d, want 1", n)
	}
	mustExec(t, db, `CREATE TABLE "MixedCase" ("id" INT)`)
	mustExec(t, db, `INSERT INTO "MixedCase" VALUES (7)`)
	if cols, _ := queryAll(t, db, `SELECT "id" FROM "MixedCase"`); cols[0] != "id" {
		t.Errorf("quoted column = %q, want id", cols[0])
	}
	mustExec(t, db, "CREATE DATABASE other")
	mustExec(t, db, "CREATE TABLE other.public.t (x string)")
	mustExec(t, db, "USE DATABASE test_db")
	mustExec(t, db, "INSERT INTO other.public.t VALUES ('q')")
	if got := queryOne(t, db, "SELECT x FROM OTHER.PUBLIC.T"); got != "q" {
		t.Errorf("cross-database select = %q, want q", got)
	}
	mustExec(t, db, "CREATE TABLE newdb.newschema.auto (x int)") // created on first use
	mustExec(t, db, "DROP TABLE people")
}

func TestStatementErrors(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE t (id NUMBER(5,0) NOT NULL)")
	tests := []struct {
		q        string
		number   int
		sqlState string
	}{
		{"SELECT * FROM missing_table", 2003, "42S02"},
		{"SELEC 1", 1003, "42000"},
		{"SHOW WAREHOUSES", 2, "0A000"},
		{"SELECT 1; SELECT 2", 8, "0A000"},
		{"INSERT INTO t VALUES ('abc')", 100038, "22018"},
		{"INSERT INTO t VALUES (NULL)", 100072, "22000"},
		{"CREATE TABLE t (x int)", 2002, "42710"},
		{"ALTER FILE FORMAT f SET COMMENT = 'x'", 2, "0A000"},
		{"COPY INTO t FROM (SELECT $1:a FROM @%t)", 2, "0A000"},
		{"SELECT * FROM t WHERE id = ?", 2049, "42601"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			_, err := db.Exec(tt.q)
			if err == nil {
				t.Fatalf("Exec(%q) succeeded, want error %d", tt.q, tt.number)
			}
			se := snowErr(t, err)
			if se.Number != tt.number || se.SQLState != tt.sqlState {
				t.Errorf("Exec(%q) = %d (%s) %q, want %d (%s)", tt.q, se.Number, se.SQLState, se.Message, tt.number, tt.sqlState)
			}
			if se.QueryID == "" {
				t.Errorf("Exec(%q) error has no query id", tt.q)
			}
		})
	}
}

// copyRow is one row of a COPY INTO result.
type copyRow struct {
	file, status                                      string
	parsed, loaded, limit, seen                       int
	firstError, firstLine, firstChar, firstColumnName sql.NullString
}

func copyInto(t *testing.T, db *sql.DB, q string) ([]copyRow, string) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("Query(%q): %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if len(cols) == 1 {
		var s string
		if !rows.Next() {
			t.Fatalf("COPY returned no rows")
		}
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		return nil, s
	}
	want := "file,status,rows_parsed,rows_loaded,error_limit,errors_seen,first_error,first_error_line,first_error_character,first_error_column_name"
	if got := strings.Join(cols, ","); got != want {
		t.Fatalf("COPY columns = %s, want %s", got, want)
	}
	var out []copyRow
	for rows.Next() {
		var r copyRow
		if err := rows.Scan(&r.file, &r.status, &r.parsed, &r.loaded, &r.limit, &r.seen, &r.firstError, &r.firstLine, &r.firstChar, &r.firstColumnName); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, ""
}

func TestPutCopyCSV(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE sales (id INT, name STRING, amount NUMBER(10,2))")
	src := writeGzip(t, dir, "sales1.csv.gz", "1,alice,10.5\n2,\"bob, jr\",3\n3,carol,\n")
	_, put := queryAll(t, db, "PUT file://"+src+" @%sales")
	if len(put) != 1 || put[0][1] != "sales1.csv.gz" || put[0][6] != "UPLOADED" {
		t.Fatalf("PUT = %v, want sales1.csv.gz UPLOADED", put)
	}
	_, list := queryAll(t, db, "LIST @%sales")
	if len(list) != 1 || list[0][0] != "sales1.csv.gz" || list[0][1] == "0" {
		t.Fatalf("LIST = %v, want sales1.csv.gz with its size", list)
	}
	res, _ := copyInto(t, db, "COPY INTO sales FROM @%sales FILE_FORMAT = (TYPE = CSV FIELD_OPTIONALLY_ENCLOSED_BY = '\"')")
	if len(res) != 1 || res[0].file != "sales1.csv.gz" || res[0].status != "LOADED" || res[0].parsed != 3 || res[0].loaded != 3 || res[0].seen != 0 || res[0].firstError.Valid {
		t.Fatalf("COPY = %+v, want sales1.csv.gz LOADED 3/3", res)
	}
	_, got := queryAll(t, db, "SELECT id, name, amount FROM sales ORDER BY id")
	if want := `[[1 alice 10.50] [2 bob, jr 3.00] [3 carol <nil>]]`; fmt.Sprint(got) != want {
		t.Errorf("rows = %v, want %s", got, want)
	}
	// Load metadata: the same file is not loaded twice.
	if _, status := copyInto(t, db, "COPY INTO sales FROM @%sales FILE_FORMAT = (TYPE = CSV FIELD_OPTIONALLY_ENCLOSED_BY = '\"')"); status != "Copy executed with 0 files processed." {
		t.Errorf("second COPY status = %q, want 0 files processed", status)
	}
	// A new file is loaded, the old one still skipped.
	src2 := writeFile(t, dir, "sales2.csv", "4,dan,1\n")
	mustExec(t, db, "PUT file://"+src2+" @%sales AUTO_COMPRESS = FALSE")
	res, _ = copyInto(t, db, "COPY INTO sales FROM @%sales")
	if len(res) != 1 || res[0].file != "sales2.csv" || res[0].loaded != 1 {
		t.Errorf("third COPY = %+v, want only sales2.csv", res)
	}
	// FORCE reloads everything.
	res, _ = copyInto(t, db, "COPY INTO sales FROM @%sales FILE_FORMAT = (TYPE = CSV FIELD_OPTIONALLY_ENCLOSED_BY = '\"') FORCE = TRUE")
	if len(res) != 2 {
		t.Errorf("FORCE COPY = %+v, want 2 files", res)
	}
	if n := queryOne(t, db, "SELECT COUNT(*) FROM sales"); n != "8" {
		t.Errorf("COUNT(*) = %s, want 8", n)
	}
	// COPY through Exec: like Snowflake, no RowsAffected (statement type COPY).
	r, err := db.Exec("COPY INTO sales FROM @%sales")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RowsAffected(); err == nil {
		t.Errorf("COPY RowsAffected error = nil, want the driver's no-RowsAffected error")
	}
	// A re-PUT of changed content is a new file for load metadata.
	src2 = writeFile(t, dir, "sales2.csv", "5,eve,2\n")
	mustExec(t, db, "PUT file://"+src2+" @%sales AUTO_COMPRESS = FALSE OVERWRITE = TRUE")
	res, _ = copyInto(t, db, "COPY INTO sales FROM @%sales FILES = ('sales2.csv')")
	if len(res) != 1 || res[0].loaded != 1 {
		t.Errorf("COPY of overwritten file = %+v, want 1 row loaded", res)
	}
}

func TestCopyOnError(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (id INT, d DATE)")
	bad := writeFile(t, dir, "bad.csv", "1,2024-01-01\nx,2024-01-02\n3,2024-01-03\n4,notadate\n5,2024-01-05\n")
	mustExec(t, db, "PUT file://"+bad+" @%t AUTO_COMPRESS = FALSE")
	tests := []struct {
		onError    string
		status     string
		loaded     int
		limit      int
		firstError string
	}{
		{"CONTINUE", "PARTIALLY_LOADED", 3, 5, "Numeric value 'x' is not recognized"},
		{"SKIP_FILE", "LOAD_FAILED", 0, 1, "Numeric value 'x' is not recognized"},
		{"SKIP_FILE_3", "PARTIALLY_LOADED", 3, 3, "Numeric value 'x' is not recognized"},
		{"SKIP_FILE_2", "LOAD_FAILED", 0, 2, "Numeric value 'x' is not recognized"},
		{"'SKIP_FILE_50%'", "PARTIALLY_LOADED", 3, 3, "Numeric value 'x' is not recognized"},
		{"'SKIP_FILE_10%'", "LOAD_FAILED", 0, 1, "Numeric value 'x' is not recognized"},
	}
	for _, tt := range tests {
		t.Run(tt.onError, func(t *testing.T) {
			mustExec(t, db, "TRUNCATE TABLE t")
			res, _ := copyInto(t, db, "COPY INTO t FROM @%t FORCE = TRUE ON_ERROR = "+tt.onError)
			if len(res) != 1 {
				t.Fatalf("COPY = %+v, want one file", res)
			}
			r := res[0]
			if r.status != tt.status || r.parsed != 5 || r.loaded != tt.loaded || r.limit != tt.limit || r.seen != 2 {
				t.Errorf("COPY ON_ERROR=%s = %s parsed %d loaded %d limit %d seen %d, want %s 5 %d %d 2",
					tt.onError, r.status, r.parsed, r.loaded, r.limit, r.seen, tt.status, tt.loaded, tt.limit)
			}
			if r.firstError.String != tt.firstError || r.firstLine.String != "2" || r.firstChar.String != "1" || r.firstColumnName.String != `"T"["ID":1]` {
				t.Errorf("first error = %q line %s char %s column %s", r.firstError.String, r.firstLine.String, r.firstChar.String, r.firstColumnName.String)
			}
			if n := queryOne(t, db, "SELECT COUNT(*) FROM t"); n != fmt.Sprint(tt.loaded) {
				t.Errorf("COUNT(*) = %s, want %d", n, tt.loaded)
			}
		})
	}
	t.Run("ABORT_STATEMENT", func(t *testing.T) {
		mustExec(t, db, "TRUNCATE TABLE t")
		good := writeFile(t, dir, "good.csv", "9,2024-01-09\n")
		mustExec(t, db, "PUT file://"+good+" @%t AUTO_COMPRESS = FALSE")
		_, err := db.Query("COPY INTO t FROM @%t FORCE = TRUE")
		if err == nil {
			t.Fatal("COPY with a bad row and ON_ERROR=ABORT_STATEMENT succeeded")
		}
		se := snowErr(t, err)
		if se.Number != 100038 || se.SQLState != "22018" || !strings.Contains(se.Message, "File 'bad.csv', line 2, character 1") {
			t.Errorf("error = %d (%s) %q, want 100038 (22018) naming bad.csv line 2", se.Number, se.SQLState, se.Message)
		}
		if n := queryOne(t, db, "SELECT COUNT(*) FROM t"); n != "0" {
			t.Errorf("COUNT(*) after aborted COPY = %s, want 0 (good.csv not loaded either)", n)
		}
		// The aborted files were not recorded as loaded.
		res, _ := copyInto(t, db, "COPY INTO t FROM @%t FILES = ('good.csv')")
		if len(res) != 1 || res[0].loaded != 1 {
			t.Errorf("COPY good.csv after abort = %+v, want loaded 1", res)
		}
	})
	t.Run("column count", func(t *testing.T) {
		mm := writeFile(t, dir, "mismatch.csv", "1,2024-01-01,extra\n")
		mustExec(t, db, "PUT file://"+mm+" @%t AUTO_COMPRESS = FALSE")
		res, _ := copyInto(t, db, "COPY INTO t FROM @%t FILES = ('mismatch.csv') ON_ERROR = CONTINUE")
		if len(res) != 1 || res[0].status != "LOAD_FAILED" || !strings.HasPrefix(res[0].firstError.String, "Number of columns in file (3) does not match") {
			t.Errorf("COPY mismatch.csv = %+v, want LOAD_FAILED with column count error", res)
		}
	})
}

func TestCopyJSON(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE events (id INT, name STRING, payload VARIANT)")
	nd := writeGzip(t, dir, "events.json.gz", `{"ID": 1, "name": "a", "payload": {"k": [1, 2]}, "extra": true}
{"id": 2, "Name": "b", "payload": "s"}
`)
	mustExec(t, db, "PUT file://"+nd+" @%events")
	res, _ := copyInto(t, db, "COPY INTO events FROM @%events FILE_FORMAT = (TYPE = JSON) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
	if len(res) != 1 || res[0].status != "LOADED" || res[0].loaded != 2 {
		t.Fatalf("COPY JSON = %+v, want LOADED 2", res)
	}
	_, got := queryAll(t, db, "SELECT id, name, payload FROM events ORDER BY id")
	if want := `[[1 a {"k":[1,2]}] [2 b "s"]]`; fmt.Sprint(got) != want {
		t.Errorf("rows = %v, want %s", got, want)
	}

	mustExec(t, db, "CREATE TABLE raw (v VARIANT)")
	arr := writeFile(t, dir, "arr.json", "[\n {\"a\": 1},\n {\"a\": 2},\n [3]\n]")
	mustExec(t, db, "PUT file://"+arr+" @%raw")
	res, _ = copyInto(t, db, "COPY INTO raw FROM @%raw FILE_FORMAT = (TYPE = 'JSON' STRIP_OUTER_ARRAY = TRUE)")
	if len(res) != 1 || res[0].file != "arr.json.gz" || res[0].loaded != 3 {
		t.Fatalf("COPY STRIP_OUTER_ARRAY = %+v, want arr.json.gz loaded 3", res)
	}
	if n := queryOne(t, db, "SELECT COUNT(*) FROM raw"); n != "3" {
		t.Errorf("COUNT(*) = %s, want 3", n)
	}

	brokenFile := writeFile(t, dir, "broken.json", "{\"a\": 1}\n{\"a\": \n")
	mustExec(t, db, "PUT file://"+brokenFile+" @%raw")
	res, _ = copyInto(t, db, "COPY INTO raw FROM @%raw FILES = ('broken.json.gz') FILE_FORMAT = (TYPE = JSON) ON_ERROR = CONTINUE")
	if len(res) != 1 || res[0].status != "PARTIALLY_LOADED" || res[0].loaded != 1 || res[0].seen != 1 || !strings.HasPrefix(res[0].firstError.String, "Error parsing JSON") {
		t.Errorf("COPY broken JSON = %+v, want PARTIALLY_LOADED 1 with a JSON error", res)
	}

	_, err := db.Query("COPY INTO events FROM @%events FILE_FORMAT = (TYPE = JSON) FORCE = TRUE")
	if se := snowErr(t, err); se.Number != 2019 {
		t.Errorf("JSON into 3 columns without MATCH_BY_COLUMN_NAME: %d %q, want 2019", se.Number, se.Message)
	}
}

func TestNamedStage(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (a INT, b STRING)")
	mustExec(t, db, "CREATE STAGE my_stage FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = '|' SKIP_HEADER = 1)")
	for i, name := range []string{"p1.csv", "p2.csv", "other.txt"} {
		p := writeFile(t, dir, name, fmt.Sprintf("a|b\n%d|x%d\n", i, i))
		mustExec(t, db, "PUT 'file://"+p+"' @my_stage/day=1/ AUTO_COMPRESS=FALSE")
	}
	_, list := queryAll(t, db, "LIST @my_stage PATTERN = '.*[.]csv'")
	if fmt.Sprint(list) == "" || len(list) != 2 || list[0][0] != "my_stage/day=1/p1.csv" {
		t.Fatalf("LIST = %v, want my_stage/day=1/p1.csv and p2.csv", list)
	}
	res, _ := copyInto(t, db, "COPY INTO t FROM @my_stage/day=1/ PATTERN = '.*p[0-9][.]csv' PURGE = TRUE")
	if len(res) != 2 || res[0].file != "my_stage/day=1/p1.csv" || res[0].loaded != 1 {
		t.Fatalf("COPY = %+v, want 2 files of 1 row", res)
	}
	_, list = queryAll(t, db, "LIST @my_stage")
	if len(list) != 1 || !strings.HasSuffix(list[0][0], "other.txt") {
		t.Errorf("LIST after PURGE = %v, want only other.txt", list)
	}
	_, rm := queryAll(t, db, "REMOVE @my_stage/day=1/")
	if len(rm) != 1 || rm[0][1] != "removed" {
		t.Errorf("REMOVE = %v, want one removed file", rm)
	}
	if _, err := db.Exec("LIST @no_such_stage"); snowErr(t, err).Number != 2003 {
		t.Errorf("LIST of a missing stage: %v, want 2003", err)
	}
	if _, err := db.Exec("COPY INTO t FROM @my_stage SIZE_LIMIT = 10"); snowErr(t, err).Number != 2 {
		t.Errorf("SIZE_LIMIT: %v, want unsupported (2)", err)
	}
	if _, err := db.Exec("CREATE STAGE ext URL = 'azure://account/container/'"); snowErr(t, err).Number != 2 {
		t.Errorf("Azure external stage: %v, want unsupported (2)", err)
	}
}

func TestPutStreamAndUserStage(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE t (a INT)")
	ctx := gosnowflake.WithFileStream(context.Background(), strings.NewReader("1\n2\n3\n"))
	if _, err := db.ExecContext(ctx, "PUT file:///nonexistent/stream.csv @~/in AUTO_COMPRESS=FALSE"); err != nil {
		t.Fatalf("streaming PUT: %v", err)
	}
	_, list := queryAll(t, db, "LIST @~")
	if len(list) != 1 || list[0][0] != "in/stream.csv" || list[0][1] != "6" {
		t.Fatalf("LIST @~ = %v, want in/stream.csv of 6 bytes (streaming PUT is not empty in presigned mode)", list)
	}
	res, _ := copyInto(t, db, "COPY INTO t FROM @~/in")
	if len(res) != 1 || res[0].loaded != 3 {
		t.Errorf("COPY = %+v, want 3 rows", res)
	}
}

func TestPutLocalFS(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{PutMode: snowflaketest.PutLocalFS})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (a INT)")
	p := writeFile(t, dir, "x.csv", "1\n2\n")
	_, put := queryAll(t, db, "PUT file://"+p+" @%t")
	if len(put) != 1 || put[0][1] != "x.csv.gz" || put[0][6] != "UPLOADED" {
		t.Fatalf("PUT = %v, want x.csv.gz UPLOADED", put)
	}
	res, _ := copyInto(t, db, "COPY INTO t FROM @%t")
	if len(res) != 1 || res[0].loaded != 2 {
		t.Errorf("COPY = %+v, want 2 rows", res)
	}
}
