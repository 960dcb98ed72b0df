package snowflaketest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

// snowpipeCall sends one Snowpipe REST request with a key-pair token.
func snowpipeCall(t *testing.T, srv *snowflaketest.Server, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// keyPairDB opens a driver connection logged in with a key pair.
func keyPairDB(t *testing.T, srv *snowflaketest.Server, user string, key *rsa.PrivateKey) *sql.DB {
	t.Helper()
	cfg := srv.Config()
	cfg.User, cfg.Password, cfg.Authenticator, cfg.PrivateKey = user, "", gosnowflake.AuthTypeJwt, key
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

// TestNoHang: a Snowpipe report for a file missing from the stage used to
// dereference the missing line under the emulator's lock, after which
// every request (new logins included) hung. A handler that panics answers
// 500 and the emulator keeps serving.
func TestNoHang(t *testing.T) {
	key := sharedKey(t)
	srv, err := snowflaketest.NewServer(snowflaketest.Options{UserKeys: map[string]*rsa.PublicKey{"LOADER": &key.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := keyPairDB(t, srv, "LOADER", key)
	mustExec(t, db, "CREATE TABLE t (a INT)")
	mustExec(t, db, "CREATE STAGE st")
	mustExec(t, db, "CREATE PIPE p AS COPY INTO t FROM @st FILE_FORMAT = (TYPE = CSV)")
	tok := signJWT(t, key, "EMULATOR", "LOADER")
	code, out := snowpipeCall(t, srv, "POST", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertFiles?requestId=r1", `{"files":[{"path":"missing.csv"}]}`, tok)
	if code != 200 || out["responseCode"] != "SUCCESS" {
		t.Fatalf("insertFiles of a missing file = %d %v, want 200 SUCCESS", code, out)
	}
	code, out = snowpipeCall(t, srv, "GET", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertReport", "", tok)
	files, _ := out["files"].([]any)
	if code != 200 || len(files) != 1 {
		t.Fatalf("insertReport = %d %v, want one file", code, out)
	}
	f := files[0].(map[string]any)
	if f["status"] != "LOAD_FAILED" || !strings.Contains(f["firstError"].(string), "missing.csv") || f["firstErrorLineNum"] != nil {
		t.Errorf("report entry = %v, want LOAD_FAILED with a first error naming the file and no line", f)
	}
	// The emulator still serves: a fresh login and a statement, bounded in time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db2 := keyPairDB(t, srv, "LOADER", key)
	var n int
	if err := db2.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("new session after the report = %d, %v", n, err)
	}

	// A panicking handler answers 500; the emulator carries on.
	srv.InjectFault(snowflaketest.Fault{Path: "/session/heartbeat", Panic: true})
	resp, err := http.Post(srv.URL+"/session/heartbeat", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("panicking handler = HTTP %d, want 500", resp.StatusCode)
	}
	// A statement whose handler panics once: the driver retries the 500 and
	// the emulator answers the retry.
	srv.InjectFault(snowflaketest.Fault{SQL: "SELECT 42", Panic: true})
	if err := db2.QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
		t.Errorf("SELECT 42 after a panicking attempt = %d, %v, want 42", n, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Errorf("first session after the panics = %d, %v", n, err)
	}
}

// TestDropMidCopy: Fault.Drop lets the COPY load and commit, then closes
// the connection without an answer. The driver retries; the retried COPY
// finds the file in the load metadata, so the rows are there exactly once.
func TestDropMidCopy(t *testing.T) {
	srv, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (a INT, b STRING)")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "a.csv", "1,x\n2,y\n3,z\n")+" @%t")
	srv.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Drop: true})
	rows, err := db.Query("COPY INTO t FROM @%t")
	t.Logf("COPY through a dropped connection: err = %v", err)
	if err == nil {
		var got []string
		for rows.Next() {
			var s sql.NullString
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			vals[0] = &s
			for i := 1; i < len(cols); i++ {
				vals[i] = new(sql.RawBytes)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			got = append(got, s.String)
		}
		rows.Close()
		if len(got) != 1 || got[0] != "Copy executed with 0 files processed." {
			t.Errorf("retried COPY after a dropped connection = %v, want the file skipped by load metadata", got)
		}
	}
	_, all := queryAll(t, db, "SELECT a, b FROM t ORDER BY a")
	if len(all) != 3 || all[0][0] != "1" || all[2][1] != "z" {
		t.Errorf("table after a dropped COPY = %v, want the 3 rows once", all)
	}
}

// TestCopyMalformedNDJSON: one malformed line in an NDJSON file costs one
// record; the records after it are parsed, counted and loaded, and the
// error names the right line. Line numbers stay right across
// pretty-printed documents, and CSV fields enclosed across lines.
func TestCopyMalformedNDJSON(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE j (v VARIANT)")
	content := `{"n":1}` + "\n" + `{"n":2}` + "\n" + `{"n":3,` + "\n" + `{"n":4}` + "\n" + "{\n  \"n\": 5\n}\n" + `{"n":6}` + "\n"
	mustExec(t, db, "PUT file://"+writeGzip(t, dir, "j.json.gz", content)+" @%j")
	res, _ := copyInto(t, db, "COPY INTO j FROM @%j FILE_FORMAT = (TYPE = JSON) ON_ERROR = CONTINUE")
	if len(res) != 1 {
		t.Fatalf("COPY = %+v, want one file", res)
	}
	r := res[0]
	if r.status != "PARTIALLY_LOADED" || r.parsed != 6 || r.loaded != 5 || r.seen != 1 || r.firstLine.String != "3" {
		t.Errorf("COPY = %s parsed %d loaded %d errors %d line %s, want PARTIALLY_LOADED 6/5, 1 error on line 3", r.status, r.parsed, r.loaded, r.seen, r.firstLine.String)
	}
	_, got := queryAll(t, db, "SELECT v FROM j")
	var ns []string
	for _, g := range got {
		ns = append(ns, g[0])
	}
	if strings.Join(ns, " ") != `{"n":1} {"n":2} {"n":4} {"n":5} {"n":6}` {
		t.Errorf("loaded = %v, want documents 1, 2, 4, 5, 6 in file order", ns)
	}
	var rejected string
	if err := db.QueryRow("SELECT rejected_record FROM TABLE(VALIDATE(j, JOB_ID => '_last'))").Scan(&rejected); err != nil || rejected != `{"n":3,` {
		t.Errorf("VALIDATE rejected record = %q, %v; want the malformed line", rejected, err)
	}
	// A bad value after a pretty-printed document reports its own line.
	mustExec(t, db, "CREATE TABLE m (n NUMBER, s STRING)")
	content = "{\n \"n\": 1,\n \"s\": \"a\"\n}\n{\"n\": \"x\", \"s\": \"b\"}\n{\"n\": 3, \"s\": \"c\"}\n"
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "m.json", content)+" @%m AUTO_COMPRESS = FALSE")
	res, _ = copyInto(t, db, "COPY INTO m FROM @%m FILE_FORMAT = (TYPE = JSON) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = CONTINUE")
	if r := res[0]; r.parsed != 3 || r.loaded != 2 || r.firstLine.String != "5" || !strings.Contains(r.firstError.String, "'x'") {
		t.Errorf("COPY = %+v, want 3 parsed, 2 loaded, first error on line 5 about 'x'", r)
	}
	if err := db.QueryRow("SELECT rejected_record FROM TABLE(VALIDATE(m, JOB_ID => '_last'))").Scan(&rejected); err != nil || rejected != `{"n": "x", "s": "b"}` {
		t.Errorf("VALIDATE rejected record = %q, %v; want the document of line 5", rejected, err)
	}
	// CSV: a field enclosed across lines moves the next record's line.
	mustExec(t, db, "CREATE TABLE c (a NUMBER, b STRING)")
	content = "1,\"two\nlines\"\n2,ok\nx,bad\n"
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "c.csv", content)+" @%c")
	res, _ = copyInto(t, db, "COPY INTO c FROM @%c FILE_FORMAT = (TYPE = CSV FIELD_OPTIONALLY_ENCLOSED_BY = '\"') ON_ERROR = CONTINUE")
	if r := res[0]; r.parsed != 3 || r.loaded != 2 || r.firstLine.String != "4" {
		t.Errorf("CSV COPY = %+v, want 3 parsed, 2 loaded, first error on line 4", r)
	}
	if got := queryOne(t, db, "SELECT b FROM c WHERE a = 1"); got != "two\nlines" {
		t.Errorf("enclosed field = %q", got)
	}
}

// TestRefusals: where Snowflake refuses, the emulator refuses with
// Snowflake's error, and the table is left as it was.
func TestRefusals(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE s5 (id INT, code VARCHAR(5))")
	t.Run("VARCHAR(n) in COPY", func(t *testing.T) {
		mustExec(t, db, "PUT file://"+writeFile(t, dir, "s5.csv", "1,abc\n2,abcdef\n3,abcde\n")+" @%s5")
		res, _ := copyInto(t, db, "COPY INTO s5 FROM @%s5 ON_ERROR = CONTINUE")
		if r := res[0]; r.loaded != 2 || r.seen != 1 || r.firstLine.String != "2" || !strings.Contains(r.firstError.String, "User character length limit (5) exceeded by string 'abcdef'") {
			t.Errorf("COPY = %+v, want 2 loaded and the length error on line 2", r)
		}
		if _, err := db.Query("COPY INTO s5 FROM @%s5 FORCE = TRUE"); snowErr(t, err).Number != 100074 {
			t.Errorf("COPY with ABORT_STATEMENT = %v, want 100074", err)
		}
	})
	t.Run("VARCHAR(n) in INSERT and UPDATE", func(t *testing.T) {
		_, err := db.Exec("INSERT INTO s5 VALUES (9, 'ok'), (10, 'too long')")
		if se := snowErr(t, err); se.Number != 100074 || !strings.Contains(se.Message, "'too long'") {
			t.Errorf("INSERT of a long value = %v, want 100074", err)
		}
		if _, err := db.Exec("UPDATE s5 SET code = code || 'xyz' WHERE id = 1"); snowErr(t, err).Number != 100074 {
			t.Errorf("UPDATE to a long value = %v, want 100074", err)
		}
		if got := queryOne(t, db, "SELECT COUNT(*) || ' ' || MAX(code) FROM s5"); got != "2 abcde" {
			t.Errorf("table after refused DML = %s, want the 2 rows loaded before, unchanged", got)
		}
		mustExec(t, db, "INSERT INTO s5 VALUES (?, ?)", 11, "fits")
	})
	t.Run("MERGE with duplicate source keys", func(t *testing.T) {
		mustExec(t, db, "CREATE TABLE tgt (k INT, v STRING)")
		mustExec(t, db, "CREATE TABLE src (k INT, v STRING)")
		mustExec(t, db, "INSERT INTO tgt VALUES (1, 'a'), (2, 'b')")
		mustExec(t, db, "INSERT INTO src VALUES (1, 'x'), (1, 'y'), (3, 'z')")
		merge := "MERGE INTO tgt t USING src s ON t.k = s.k WHEN MATCHED THEN UPDATE SET t.v = s.v WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)"
		if _, err := db.Exec(merge); snowErr(t, err).Number != 100090 {
			t.Errorf("MERGE with duplicate source keys = %v, want 100090", err)
		}
		if got := rowsText(t, db, "SELECT k, v FROM tgt ORDER BY k"); got != "1 a,2 b" {
			t.Errorf("target after the refused MERGE = %s, want 1a,2b", got)
		}
		mustExec(t, db, "ALTER SESSION SET ERROR_ON_NONDETERMINISTIC_MERGE = FALSE")
		mustExec(t, db, merge)
		if got := queryOne(t, db, "SELECT COUNT(*) FROM tgt WHERE k = 1 AND v IN ('x', 'y')"); got != "1" {
			t.Errorf("nondeterministic MERGE allowed: row 1 = %s matches, want 1", got)
		}
		mustExec(t, db, "ALTER SESSION UNSET ERROR_ON_NONDETERMINISTIC_MERGE")
		mustExec(t, db, "DELETE FROM src WHERE v = 'y'")
		r := mustExec(t, db, merge)
		if n, _ := r.RowsAffected(); n != 2 {
			t.Errorf("MERGE with qualified SET t.v = %d rows, want 2", n)
		}
		if got := rowsText(t, db, "SELECT k, v FROM tgt ORDER BY k"); got != "1 x,2 b,3 z" {
			t.Errorf("target after MERGE = %s, want 1x,2b,3z", got)
		}
	})
	t.Run("load metadata follows the transaction", func(t *testing.T) {
		mustExec(t, db, "CREATE TABLE lm (a INT)")
		mustExec(t, db, "PUT file://"+writeFile(t, dir, "lm.csv", "1\n2\n")+" @%lm")
		mustExec(t, db, "BEGIN")
		copyInto(t, db, "COPY INTO lm FROM @%lm")
		mustExec(t, db, "ROLLBACK")
		if got := queryOne(t, db, "SELECT COUNT(*) FROM lm"); got != "0" {
			t.Fatalf("rows after ROLLBACK = %s, want 0", got)
		}
		res, _ := copyInto(t, db, "COPY INTO lm FROM @%lm")
		if len(res) != 1 || res[0].status != "LOADED" || res[0].loaded != 2 {
			t.Errorf("COPY after a rolled-back COPY = %+v, want the file LOADED again", res)
		}
		mustExec(t, db, "BEGIN")
		_, msg := copyInto(t, db, "COPY INTO lm FROM @%lm")
		mustExec(t, db, "COMMIT")
		if msg != "Copy executed with 0 files processed." {
			t.Errorf("COPY of a loaded file = %q, want 0 files", msg)
		}
		mustExec(t, db, "COMMIT")   // no transaction: a no-op
		mustExec(t, db, "ROLLBACK") // likewise
		mustExec(t, db, "TRUNCATE TABLE IF EXISTS no_such_table")
		mustExec(t, db, "TRUNCATE TABLE IF EXISTS lm") // drops the load metadata too
		res, _ = copyInto(t, db, "COPY INTO lm FROM @%lm")
		if len(res) != 1 || res[0].loaded != 2 {
			t.Errorf("COPY after TRUNCATE = %+v, want the file loaded again", res)
		}
		if _, err := db.Exec("TRUNCATE TABLE no_such_table"); snowErr(t, err).Number != 2003 {
			t.Errorf("TRUNCATE of a missing table = %v, want 2003", err)
		}
	})
	t.Run("INSERT OVERWRITE", func(t *testing.T) {
		mustExec(t, db, "CREATE TABLE ow (a INT)")
		mustExec(t, db, "INSERT INTO ow VALUES (1), (2)")
		r := mustExec(t, db, "INSERT OVERWRITE INTO ow VALUES (7)")
		if n, _ := r.RowsAffected(); n != 1 {
			t.Errorf("INSERT OVERWRITE rows = %d, want 1", n)
		}
		if got := queryOne(t, db, "SELECT LISTAGG(a, ',') FROM ow"); got != "7" {
			t.Errorf("table after INSERT OVERWRITE = %s, want 7", got)
		}
	})
}

// rowsText renders a query's rows as "a b,c d".
func rowsText(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	_, rows := queryAll(t, db, q)
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, " "))
	}
	return strings.Join(out, ",")
}

// TestLoaderQueries: the statements a loader sends after a COPY, through
// the driver: VALIDATE by job id and '_last', RESULT_SCAN(LAST_QUERY_ID()),
// COPY_HISTORY, LOAD_HISTORY, CURRENT_USER().
func TestLoaderQueries(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (id NUMBER, name VARCHAR(3))")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "a.csv", "1,abc\nx,def\n3,toolong\n4,ok\n")+" @%t")
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "COPY INTO t FROM @%t ON_ERROR = CONTINUE")
	if err != nil {
		t.Fatal(err)
	}
	var qid string
	for rows.Next() {
	}
	rows.Close()
	if err := conn.QueryRowContext(ctx, "SELECT LAST_QUERY_ID()").Scan(&qid); err != nil || len(qid) != 36 {
		t.Fatalf("LAST_QUERY_ID() = %q, %v", qid, err)
	}
	// LAST_QUERY_ID() is now the SELECT above; the COPY is -2.
	var copyQID string
	if err := conn.QueryRowContext(ctx, "SELECT LAST_QUERY_ID(-2)").Scan(&copyQID); err != nil {
		t.Fatal(err)
	}
	check := func(q string) {
		t.Helper()
		r, err := conn.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer r.Close()
		cols, _ := r.Columns()
		if strings.Join(cols[:4], ",") != "ERROR,FILE,LINE,CHARACTER" || len(cols) != 12 {
			t.Errorf("VALIDATE columns = %v", cols)
		}
		var got []string
		for r.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			got = append(got, vals[1].String+":"+vals[2].String+":"+vals[6].String+":"+vals[8].String+":"+vals[11].String)
		}
		if want := `a.csv.gz:2:100038:"T"["ID":1]:x,def a.csv.gz:3:100074:"T"["NAME":2]:3,toolong`; strings.Join(got, " ") != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	check("SELECT * FROM TABLE(VALIDATE(t, JOB_ID => '" + copyQID + "'))")
	check("SELECT * FROM TABLE(VALIDATE(t, JOB_ID => '_last'))")
	if _, err := conn.ExecContext(ctx, "SELECT * FROM TABLE(VALIDATE(t, JOB_ID => 'nope'))"); err == nil {
		t.Errorf("VALIDATE of an unknown job = nil error")
	}
	// RESULT_SCAN of the COPY result.
	var status string
	var loaded int
	if err := conn.QueryRowContext(ctx, `SELECT "status", "rows_loaded" FROM TABLE(RESULT_SCAN('`+copyQID+`'))`).Scan(&status, &loaded); err != nil || status != "PARTIALLY_LOADED" || loaded != 2 {
		t.Errorf("RESULT_SCAN of the COPY = %s %d, %v; want PARTIALLY_LOADED 2", status, loaded, err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT 41 + 1 AS answer"); err != nil {
		t.Fatal(err)
	}
	var answer int
	if err := conn.QueryRowContext(ctx, "SELECT answer FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))").Scan(&answer); err != nil || answer != 42 {
		t.Errorf("RESULT_SCAN(LAST_QUERY_ID()) = %d, %v; want 42", answer, err)
	}
	// COPY_HISTORY and LOAD_HISTORY.
	var file, hstatus string
	var rowCount, errCount int
	err = conn.QueryRowContext(ctx, `SELECT file_name, status, row_count, error_count FROM TABLE(information_schema.copy_history(TABLE_NAME => 'T', START_TIME => DATEADD(hours, -1, CURRENT_TIMESTAMP())))`).
		Scan(&file, &hstatus, &rowCount, &errCount)
	if err != nil || file != "a.csv.gz" || hstatus != "Partially loaded" || rowCount != 2 || errCount != 2 {
		t.Errorf("COPY_HISTORY = %s %s %d %d, %v", file, hstatus, rowCount, errCount, err)
	}
	err = conn.QueryRowContext(ctx, `SELECT file_name, status, row_count FROM information_schema.load_history WHERE table_name = 'T'`).Scan(&file, &hstatus, &rowCount)
	if err != nil || file != "a.csv.gz" || hstatus != "PARTIALLY_LOADED" || rowCount != 2 {
		t.Errorf("LOAD_HISTORY = %s %s %d, %v", file, hstatus, rowCount, err)
	}
	// A COPY that aborts (ON_ERROR = ABORT_STATEMENT) reports its first
	// error; VALIDATE of its job lists every rejected row.
	if _, err := conn.QueryContext(ctx, "COPY INTO t FROM @%t FORCE = TRUE"); snowErr(t, err).Number != 100038 {
		t.Errorf("aborting COPY = %v, want 100038", err)
	}
	check("SELECT * FROM TABLE(VALIDATE(t, JOB_ID => '_last'))")
	var user string
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&user); err != nil || user != "TEST" {
		t.Errorf("CURRENT_USER() = %q, %v; want the login user TEST", user, err)
	}
}

// TestFunctionsAndTimestamps: the common functions a loader's SQL uses,
// and timestamps in Snowflake's default accepted formats in casts and
// COPY.
func TestFunctionsAndTimestamps(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	var now, sys, added time.Time
	var v, obj, uuid string
	var diff int
	err := db.QueryRow(`SELECT CURRENT_TIMESTAMP(), SYSDATE(), DATEADD(hours, -1, '2024-01-02 03:04:05'::TIMESTAMP_NTZ), TO_VARCHAR(42),
		OBJECT_CONSTRUCT('a', 1, 'b', 'x'), UUID_STRING(), DATEDIFF(day, '2024-01-01'::DATE, '2024-03-01'::DATE)`).Scan(&now, &sys, &added, &v, &obj, &uuid, &diff)
	if err != nil {
		t.Fatal(err)
	}
	if now.IsZero() || sys.IsZero() || !added.Equal(time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC)) || v != "42" || obj != `{"a":1,"b":"x"}` || len(uuid) != 36 || diff != 60 {
		t.Errorf("functions = %v %v %v %q %q %q %d", now, sys, added, v, obj, uuid, diff)
	}
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		expr string
		want time.Time
	}{
		{"TO_TIMESTAMP_NTZ('2024-01-02T03:04:05Z')", want},
		{"TO_TIMESTAMP_NTZ('2024-01-02 03:04:05 +05:00')", want}, // NTZ drops the offset
		{"TO_TIMESTAMP('1704164645')", want},                     // epoch seconds
		{"TO_TIMESTAMP('1704164645000')", want},                  // epoch milliseconds
		{"TO_TIMESTAMP_TZ('2024-01-02 03:04:05 +05:00')", want.Add(-5 * time.Hour)},
		{"TO_TIMESTAMP_TZ('2024-01-02 03:04:05 -0800')", want.Add(8 * time.Hour)},
		{"TO_TIMESTAMP_LTZ('2024-01-02T03:04:05Z')", want},
	} {
		var got time.Time
		if err := db.QueryRow("SELECT " + tc.expr).Scan(&got); err != nil || !got.Equal(tc.want) {
			t.Errorf("%s = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
	// COPY into NTZ and TZ columns.
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE ts (n INT, ntz TIMESTAMP_NTZ, tz TIMESTAMP_TZ)")
	csv := "1,2024-01-02 03:04:05 +05:00,2024-01-02 03:04:05 +05:00\n" +
		"2,2024-01-02T03:04:05Z,2024-01-02T03:04:05Z\n" +
		"3,1704164645,1704164645000\n" +
		"4,2024-01-02 03:04:05,2024-01-02 03:04:05 -0800\n" +
		"5,not a time,2024-01-02\n"
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "ts.csv", csv)+" @%ts")
	res, _ := copyInto(t, db, "COPY INTO ts FROM @%ts ON_ERROR = CONTINUE")
	if r := res[0]; r.loaded != 4 || r.seen != 1 || r.firstLine.String != "5" || r.firstColumnName.String != `"TS"["NTZ":2]` {
		t.Errorf("COPY = %+v, want 4 loaded and line 5 rejected on NTZ", r)
	}
	rows, err := db.Query("SELECT n, ntz, tz FROM ts ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	wantTZ := []time.Time{want.Add(-5 * time.Hour), want, want, want.Add(8 * time.Hour)}
	i := 0
	for rows.Next() {
		var n int
		var ntz, tz time.Time
		if err := rows.Scan(&n, &ntz, &tz); err != nil {
			t.Fatal(err)
		}
		if !ntz.Equal(want) || !tz.Equal(wantTZ[i]) {
			t.Errorf("row %d = %v %v, want %v %v", n, ntz, tz, want, wantTZ[i])
		}
		i++
	}
	if i != 4 {
		t.Errorf("rows = %d, want 4", i)
	}
}

// TestTablesAndShow: CREATE TABLE ... LIKE and CLONE keep declared types
// and comments; SHOW TABLES, STAGES and PIPES list what exists.
func TestTablesAndShow(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE src (id NUMBER(10,0) NOT NULL COMMENT 'the id', name VARCHAR(8), at TIMESTAMP_TZ, tags ARRAY) COMMENT = 'source table'")
	mustExec(t, db, "INSERT INTO src (id, name) VALUES (1, 'a'), (2, 'b')")
	mustExec(t, db, "CREATE TABLE lk LIKE src")
	mustExec(t, db, "CREATE OR REPLACE TABLE cl CLONE src")
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS cl CLONE src")
	descOf := func(table string) string {
		_, rows := queryAll(t, db, "DESC TABLE "+table)
		var out []string
		for _, r := range rows {
			out = append(out, r[0]+" "+r[1]+" "+r[3]+" "+r[9])
		}
		return strings.Join(out, "; ")
	}
	want := "ID NUMBER(10,0) N the id; NAME VARCHAR(8) Y <nil>; AT TIMESTAMP_TZ(9) Y <nil>; TAGS ARRAY Y <nil>"
	for _, tb := range []string{"src", "lk", "cl"} {
		if got := descOf(tb); got != want {
			t.Errorf("DESC %s = %s, want %s", tb, got, want)
		}
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM lk") + queryOne(t, db, "SELECT COUNT(*) FROM cl"); got != "02" {
		t.Errorf("rows of LIKE and CLONE = %s, want 0 and 2", got)
	}
	if _, err := db.Exec("INSERT INTO cl (id, name) VALUES (3, 'too long!')"); snowErr(t, err).Number != 100074 {
		t.Errorf("CLONE keeps VARCHAR(8): %v, want 100074", err)
	}
	if got := queryOne(t, db, "SELECT comment FROM information_schema.tables WHERE table_name = 'SRC'"); got != "source table" {
		t.Errorf("table comment = %q", got)
	}
	mustExec(t, db, "CREATE STAGE st1")
	mustExec(t, db, "CREATE PIPE p1 AS COPY INTO src FROM @st1")
	_, rows := queryAll(t, db, "SHOW TABLES LIKE '%L%' IN SCHEMA TEST_DB.PUBLIC")
	var names []string
	for _, r := range rows {
		names = append(names, r[1]+"/"+r[2]+"/"+r[3])
	}
	if strings.Join(names, " ") != "CL/TEST_DB/PUBLIC LK/TEST_DB/PUBLIC" {
		t.Errorf("SHOW TABLES LIKE '%%L%%' = %v", names)
	}
	cols, rows := queryAll(t, db, "SHOW STAGES")
	if len(rows) != 1 || rows[0][1] != "ST1" || cols[10] != "type" || rows[0][10] != "INTERNAL" {
		t.Errorf("SHOW STAGES = %v %v", cols, rows)
	}
	_, rows = queryAll(t, db, "SHOW PIPES IN DATABASE TEST_DB")
	if len(rows) != 1 || rows[0][1] != "P1" || !strings.HasPrefix(rows[0][4], "COPY INTO src") {
		t.Errorf("SHOW PIPES = %v", rows)
	}
}

// TestCSVParseHeader: CSV with PARSE_HEADER = TRUE and
// MATCH_BY_COLUMN_NAME loads fields by their header names, in any order.
func TestCSVParseHeader(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE h (id NUMBER, name STRING, extra STRING)")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "h.csv", "NAME,ignored,Id\nann,x,1\nbob,y,2\ncid,z,q\n")+" @%h")
	res, _ := copyInto(t, db, "COPY INTO h FROM @%h FILE_FORMAT = (TYPE = CSV PARSE_HEADER = TRUE) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = CONTINUE")
	if r := res[0]; r.parsed != 3 || r.loaded != 2 || r.firstLine.String != "4" || r.firstColumnName.String != `"H"["ID":1]` || r.firstChar.String != "7" {
		t.Errorf("COPY = %+v, want 3 parsed, 2 loaded, error on line 4 character 7 in ID", r)
	}
	if got := rowsText(t, db, "SELECT id, name, extra FROM h ORDER BY id"); got != "1 ann <nil>,2 bob <nil>" {
		t.Errorf("table = %s", got)
	}
	if _, err := db.Query("COPY INTO h FROM @%h MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE FORCE = TRUE"); err == nil {
		t.Errorf("CSV MATCH_BY_COLUMN_NAME without PARSE_HEADER = nil error")
	}
}

// TestErrorNumbers: the numbers drivers' users branch on.
func TestErrorNumbers(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE e (k INT, v STRING)")
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"INSERT INTO e (k, nope) VALUES (1, 2)", 904},
		{"UPDATE e SET nope = 1", 904},
		{"SELECT nope FROM e", 904},
		{"SELECT 1/0", 100051},
		{"SELECT 10 / (5 - 5)", 100051},
		{"CREATE TABLE d (a INT, a INT)", 2025},
		{"ALTER TABLE e ADD COLUMN k INT", 2025},
	} {
		_, err := db.Exec(tc.q)
		if se := snowErr(t, err); se.Number != tc.want {
			t.Errorf("%s = %v, want %d", tc.q, err, tc.want)
		}
	}
	if got := queryOne(t, db, "SELECT 6 / 3 + 1"); got != "3" && got != "3.000000" {
		t.Errorf("6 / 3 + 1 = %s", got)
	}
}

// TestConcurrentEvolution: loaders that evolve one table at once (ADD
// COLUMN IF NOT EXISTS, some columns the same, some their own) all
// succeed, and the table ends with the union of their columns.
func TestConcurrentEvolution(t *testing.T) {
	srv, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE ev (id NUMBER)")
	const loaders = 4
	errc := make(chan error, loaders)
	for i := 0; i < loaders; i++ {
		go func(i int) {
			ldb := srv.OpenDB()
			defer ldb.Close()
			for _, q := range []string{
				"ALTER TABLE ev ADD COLUMN IF NOT EXISTS shared VARCHAR(10) COMMENT 'shared'",
				fmt.Sprintf("ALTER TABLE ev ADD COLUMN IF NOT EXISTS own_%d NUMBER(38,0)", i),
				"ALTER TABLE ev ADD COLUMN IF NOT EXISTS shared2 TIMESTAMP_TZ",
				fmt.Sprintf("INSERT INTO ev (id, own_%d) VALUES (%d, %d)", i, i, i),
			} {
				if _, err := ldb.Exec(q); err != nil {
					errc <- fmt.Errorf("loader %d: %s: %w", i, q, err)
					return
				}
			}
			errc <- nil
		}(i)
	}
	for i := 0; i < loaders; i++ {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	_, rows := queryAll(t, db, "DESC TABLE ev")
	var cols []string
	for _, r := range rows {
		cols = append(cols, r[0]+" "+r[1])
	}
	got := strings.Join(cols, ", ")
	for _, want := range []string{"ID NUMBER(38,0)", "SHARED VARCHAR(10)", "SHARED2 TIMESTAMP_TZ(9)", "OWN_0 NUMBER(38,0)", "OWN_3 NUMBER(38,0)"} {
		if !strings.Contains(got, want) {
			t.Errorf("columns = %s, want %s among them", got, want)
		}
	}
	if len(rows) != 3+loaders {
		t.Errorf("columns = %s, want %d", got, 3+loaders)
	}
	if n := queryOne(t, db, "SELECT COUNT(*) FROM ev"); n != fmt.Sprint(loaders) {
		t.Errorf("rows = %s, want %d", n, loaders)
	}
}

var (
	keyOnce  sync.Once
	testKey  *rsa.PrivateKey
	errTestK error
)

// sharedKey is one RSA key for the tests that log in with a key pair
// (generating a 2048-bit key takes a second or more on a busy machine).
func sharedKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() { testKey, errTestK = rsa.GenerateKey(rand.Reader, 2048) })
	if errTestK != nil {
		t.Fatal(errTestK)
	}
	return testKey
}
