package snowflaketest_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

// tzWant is one TIMESTAMP_TZ value as the driver must decode it: the
// instant and the offset in seconds east of UTC.
type tzWant struct {
	n      int
	at     time.Time
	offset int
}

// checkTZ reads n, ts ordered as q says and compares instants and zone
// offsets with want.
func checkTZ(t *testing.T, rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, want []tzWant) {
	t.Helper()
	defer rows.Close()
	i := 0
	for rows.Next() {
		var n int
		var ts time.Time
		if err := rows.Scan(&n, &ts); err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Errorf("extra row %d %v", n, ts)
			continue
		}
		_, off := ts.Zone()
		if w := want[i]; n != w.n || !ts.Equal(w.at) || off != w.offset {
			t.Errorf("row %d = %d %v (offset %d), want %d %v (offset %d)", i, n, ts, off, w.n, w.at, w.offset)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(want) {
		t.Errorf("rows = %d, want %d", i, len(want))
	}
}

// TestTimestampTZOffsets: a TIMESTAMP_TZ value keeps the offset it was
// written with, through INSERT, INSERT ... SELECT, UPDATE, MERGE and
// casts; the driver decodes it in that offset; comparisons and ORDER BY
// go by the instant.
func TestTimestampTZOffsets(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE tz (n INT, ts TIMESTAMP_TZ)")
	mustExec(t, db, `INSERT INTO tz VALUES (1, '2024-01-02 03:04:05 +05:00'), (2, '2024-01-02 03:04:05 -0800'), (3, '2024-01-02T03:04:05Z')`)
	mustExec(t, db, "INSERT INTO tz (ts, n) SELECT TO_TIMESTAMP_TZ('2024-01-01 20:00:00 -02:30'), 4")
	mustExec(t, db, "INSERT INTO tz (n) VALUES (5)")
	// Array binding (one multi-row INSERT).
	mustExec(t, db, "INSERT INTO tz VALUES (?, ?)", gosnowflake.Array([]int{7, 8}), gosnowflake.Array([]string{"2024-01-02 03:04:05 +05:00", "2024-01-02 03:04:05 -0800"}))
	mustExec(t, db, "UPDATE tz SET ts = '2024-01-02 00:30:00+01:00' WHERE n = 5")
	mustExec(t, db, "CREATE TABLE src (n INT, ts VARCHAR)")
	mustExec(t, db, "INSERT INTO src VALUES (6, '2024-01-02 12:00:00 +09:00'), (3, '2024-01-02 03:04:05 +03:00')")
	mustExec(t, db, `MERGE INTO tz USING src ON tz.n = src.n
		WHEN MATCHED THEN UPDATE SET tz.ts = src.ts
		WHEN NOT MATCHED THEN INSERT (n, ts) VALUES (src.n, src.ts)`)

	utc := func(h, m, s int) time.Time {
		return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	r1 := tzWant{1, utc(22, 4, 5), 5 * 3600}   // 2024-01-02 03:04:05 +05:00
	r2 := tzWant{2, utc(35, 4, 5), -8 * 3600}  // 2024-01-02 03:04:05 -08:00
	r3 := tzWant{3, utc(24, 4, 5), 3 * 3600}   // merged: 2024-01-02 03:04:05 +03:00
	r4 := tzWant{4, utc(22, 30, 0), -150 * 60} // 2024-01-01 20:00 -02:30
	r5 := tzWant{5, utc(23, 30, 0), 3600}      // updated: 2024-01-02 00:30 +01:00
	r6 := tzWant{6, utc(27, 0, 0), 9 * 3600}   // merged: 2024-01-02 12:00 +09:00
	// ORDER BY goes by the instant, whatever the offsets.
	rows, err := db.Query("SELECT n, ts FROM tz ORDER BY ts, n")
	if err != nil {
		t.Fatal(err)
	}
	r7, r8 := r1, r2
	r7.n, r8.n = 7, 8
	checkTZ(t, rows, []tzWant{r1, r7, r4, r5, r3, r6, r2, r8})

	// Comparisons go by the instant too: 2024-01-02 00:00 UTC written in
	// another offset.
	rows, err = db.Query("SELECT n, ts FROM tz WHERE ts >= '2024-01-02 05:00:00 +05:00'::TIMESTAMP_TZ AND n < 7 ORDER BY ts DESC")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{r2, r6, r3})

	// Casts and TO_TIMESTAMP_TZ answer the offset they were given.
	rows, err = db.Query(`SELECT 1, '2024-01-02 03:04:05 +05:00'::TIMESTAMP_TZ
		UNION ALL SELECT 2, CAST('2024-01-02 03:04:05 -0800' AS TIMESTAMP_TZ)
		UNION ALL SELECT 3, TRY_CAST('2024-01-02T03:04:05Z' AS TIMESTAMP_TZ)
		UNION ALL SELECT 4, TO_TIMESTAMP_TZ('2024-01-01 20:00:00 -02:30') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{r1, {2, r2.at, r2.offset}, {3, utc(27, 4, 5), 0}, r4})
	if got := queryOne(t, db, "SELECT TO_VARCHAR(ts) FROM tz WHERE n = 4"); got != "2024-01-01 20:00:00.000 -0230" {
		t.Errorf("TO_VARCHAR(ts) = %s, want 2024-01-01 20:00:00.000 -0230", got)
	}
	if got := queryOne(t, db, "SELECT TO_CHAR(n) || TO_VARCHAR(ts) FROM tz WHERE n = 1"); got != "12024-01-02 03:04:05.000 +0500" {
		t.Errorf("TO_CHAR(n) || TO_VARCHAR(ts) = %s", got)
	}
}

// TestFunctionRefusals: where Snowflake fails or drops a value, so does
// the emulator: "%" and MOD by zero (100051), TO_TIMESTAMP* of text that
// is no timestamp (100035, TRY_TO_TIMESTAMP* give NULL), OBJECT_CONSTRUCT
// without the keys whose value is SQL NULL.
func TestFunctionRefusals(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"SELECT 7 % 0", 100051},
		{"SELECT MOD(7, 0)", 100051},
		{"SELECT 7.5 % (2 - 2)", 100051},
		{"SELECT TO_TIMESTAMP('not a time')", 100035},
		{"SELECT TO_TIMESTAMP_NTZ('2024-13-45')", 100035},
		{"SELECT TO_TIMESTAMP_LTZ('x')", 100035},
		{"SELECT TO_TIMESTAMP_TZ('x')", 100035},
		{"SELECT 'x'::TIMESTAMP_TZ", 100035},
	} {
		_, err := db.Exec(tc.q)
		if err == nil {
			t.Errorf("%s: no error, want %d", tc.q, tc.want)
			continue
		}
		if se := snowErr(t, err); se.Number != tc.want {
			t.Errorf("%s = %v, want %d", tc.q, err, tc.want)
		}
	}
	for _, tc := range []struct{ q, want string }{
		{"SELECT 7 % 3", "1"},
		{"SELECT MOD(7, 4)", "3"},
		{"SELECT TRY_TO_TIMESTAMP('not a time')", "<nil>"},
		{"SELECT TRY_TO_TIMESTAMP_TZ('not a time')", "<nil>"},
		{"SELECT TRY_CAST('x' AS TIMESTAMP_TZ)", "<nil>"},
		{"SELECT OBJECT_CONSTRUCT('a', 1, 'b', NULL, 'c', 'x')", `{"a":1,"c":"x"}`},
		{"SELECT OBJECT_CONSTRUCT('a', NULL)", `{}`},
		{"SELECT OBJECT_CONSTRUCT('a', PARSE_JSON('null'))", `{"a":null}`},
		{"SELECT OBJECT_CONSTRUCT_KEEP_NULL('a', 1, 'b', NULL)", `{"a":1,"b":null}`},
	} {
		if got := queryOne(t, db, tc.q); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
}

// TestCopyHistoryTimeRange: COPY_HISTORY returns the loads between
// START_TIME and END_TIME (by the emulator's clock, Options.Now).
func TestCopyHistoryTimeRange(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	now := t0
	_, db := newDB(t, snowflaketest.Options{Now: func() time.Time { return now }})
	mustExec(t, db, "CREATE TABLE h (n INT)")
	dir := t.TempDir()
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "early.csv", "1\n")+" @%h")
	copyInto(t, db, "COPY INTO h FROM @%h")
	now = t0.Add(2 * time.Hour)
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "late.csv", "2\n")+" @%h")
	copyInto(t, db, "COPY INTO h FROM @%h")
	for _, tc := range []struct{ args, want string }{
		{"START_TIME => '2024-03-01 09:00:00 +00:00'", "early.csv.gz late.csv.gz"},
		{"START_TIME => '2024-03-01 11:00:00 +00:00'", "late.csv.gz"},
		{"START_TIME => '2024-03-01 09:00:00 +00:00', END_TIME => '2024-03-01 11:00:00 +00:00'", "early.csv.gz"},
		{"START_TIME => DATEADD(hours, -1, '2024-03-01 12:30:00'::TIMESTAMP_LTZ)", "late.csv.gz"},
		{"START_TIME => '2024-03-01 13:00:00 +00:00'", ""},
	} {
		_, rows := queryAll(t, db, "SELECT file_name FROM TABLE(INFORMATION_SCHEMA.COPY_HISTORY(TABLE_NAME => 'H', "+tc.args+")) ORDER BY file_name")
		var got []string
		for _, r := range rows {
			got = append(got, r[0])
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("COPY_HISTORY(%s) = %q, want %q", tc.args, g, tc.want)
		}
	}
}

// TestRefusalInTransaction: a statement refused with 100074 inside
// BEGIN ... COMMIT leaves the table as it was before the statement, and
// the transaction goes on.
func TestRefusalInTransaction(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE r (id INT, s VARCHAR(3))")
	mustExec(t, db, "INSERT INTO r VALUES (0, 'old')")
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO r VALUES (1, 'abc')")
	for _, q := range []string{
		"INSERT INTO r VALUES (2, 'abcd')",
		"INSERT INTO r SELECT id + 10, s || 'x' FROM r",
		"UPDATE r SET s = 'toolong' WHERE id = 1",
		"UPDATE r SET s = r.s || '!' WHERE r.id = 0",
		"MERGE INTO r USING (SELECT 1 AS id, 'wxyz' AS s) src ON r.id = src.id WHEN MATCHED THEN UPDATE SET r.s = src.s",
		"MERGE INTO r t USING (SELECT 5 AS id, 'wxyz' AS s) src ON t.id = src.id WHEN NOT MATCHED THEN INSERT (id, s) VALUES (src.id, src.s)",
		"INSERT OVERWRITE INTO r VALUES (9, 'toolong')",
	} {
		_, err := db.Exec(q)
		if err == nil {
			t.Errorf("%s: no error, want 100074", q)
			continue
		}
		if se := snowErr(t, err); se.Number != 100074 {
			t.Errorf("%s = %v, want 100074", q, err)
		}
	}
	// Array binding: one multi-row INSERT, refused as a whole.
	_, err := db.Exec("INSERT INTO r VALUES (?, ?)", gosnowflake.Array([]int{7, 8}), gosnowflake.Array([]string{"ok", "too long"}))
	if err == nil || snowErr(t, err).Number != 100074 {
		t.Errorf("array INSERT with a long value = %v, want 100074", err)
	}
	mustExec(t, db, "UPDATE r SET s = 'ab' WHERE id = 1")
	mustExec(t, db, "INSERT INTO r VALUES (3, 'xy')")
	mustExec(t, db, "COMMIT")
	_, rows := queryAll(t, db, "SELECT id, s FROM r ORDER BY id")
	var got []string
	for _, r := range rows {
		got = append(got, r[0]+"="+r[1])
	}
	if g, want := strings.Join(got, " "), "0=old 1=ab 3=xy"; g != want {
		t.Errorf("table after COMMIT = %s, want %s", g, want)
	}
}

// TestTimestampTZCopy: COPY keeps the offsets of TIMESTAMP_TZ values
// from CSV, JSON and Parquet files, and rejects text that is no
// timestamp (100035).
func TestTimestampTZCopy(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE c (n INT, ts TIMESTAMP_TZ)")
	csv := "1,2024-01-02 03:04:05 +05:00\n2,2024-01-02 03:04:05 -0800\n3,2024-01-02T03:04:05Z\n4,not a time\n"
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "tz.csv", csv)+" @%c")
	res, _ := copyInto(t, db, "COPY INTO c FROM @%c ON_ERROR = CONTINUE")
	if len(res) != 1 || res[0].loaded != 3 || res[0].firstLine.String != "4" || res[0].firstError.String != "Timestamp 'not a time' is not recognized" {
		t.Fatalf("COPY CSV = %+v, want 3 loaded and line 4 rejected", res)
	}
	mustExec(t, db, "CREATE TABLE j (n INT, ts TIMESTAMP_TZ)")
	ndjson := `{"n": 5, "ts": "2024-01-02T12:00:00+09:00"}` + "\n" + `{"n": 6, "ts": "2024-01-01 20:00:00 -02:30"}` + "\n"
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "tz.json", ndjson)+" @%j")
	res, _ = copyInto(t, db, "COPY INTO j FROM @%j FILE_FORMAT = (TYPE = JSON) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
	if len(res) != 1 || res[0].loaded != 2 {
		t.Fatalf("COPY JSON = %+v, want 2 loaded", res)
	}
	pq := filepath.Join(dir, "tz.parquet")
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	if _, err := duck.Exec(`COPY (SELECT * FROM (VALUES (7, '2024-01-02 03:04:05 -0800')) v(n, ts)) TO '` + pq + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "PUT file://"+pq+" @%j")
	res, _ = copyInto(t, db, "COPY INTO j FROM @%j FILES = ('tz.parquet') FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
	if len(res) != 1 || res[0].loaded != 1 {
		t.Fatalf("COPY PARQUET = %+v, want 1 loaded", res)
	}
	mustExec(t, db, "INSERT INTO c SELECT * FROM j")
	utc := func(h, m, s int) time.Time {
		return time.Date(2024, 1, 1, h, m, s, 0, time.UTC)
	}
	rows, err := db.Query("SELECT n, ts FROM c ORDER BY ts, n")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{
		{1, utc(22, 4, 5), 5 * 3600},
		{6, utc(22, 30, 0), -150 * 60},
		{5, utc(27, 0, 0), 9 * 3600},
		{3, utc(27, 4, 5), 0},
		{2, utc(35, 4, 5), -8 * 3600},
		{7, utc(35, 4, 5), -8 * 3600},
	})
}

// TestErrorNumbersMapped: DuckDB's errors that have a Snowflake
// counterpart come back under Snowflake's number and wording.
func TestErrorNumbersMapped(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE e (k INT, v STRING, d NUMBER(4,2))")
	for _, tc := range []struct {
		q       string
		want    int
		message string
	}{
		{"SELECT no_such_function(1)", 2140, "SQL compilation error:\nUnknown function NO_SUCH_FUNCTION"},
		{"SELECT LENGTH(1, 2)", 1044, "SQL compilation error:\nInvalid argument types for function 'LENGTH': (INTEGER, INTEGER)"},
		{"SELECT CAST(1000 AS NUMBER(4,2))", 100039, "Numeric value '1000' is out of range"},
		{"INSERT INTO e (d) VALUES (12345.6)", 100039, "Numeric value '12345.6' is out of range"},
		{"SELECT k, COUNT(*) FROM e", 1104, "SQL compilation error:\n'K' in select clause is neither an aggregate nor in the group by clause."},
		{"SELECT k FROM e a JOIN e b ON a.k = b.k", 2028, "SQL compilation error:\nambiguous column name 'K'"},
		{"SELECT PARSE_JSON('{x')", 100069, "Error parsing JSON: unexpected character"},
	} {
		_, err := db.Exec(tc.q)
		if err == nil {
			t.Errorf("%s: no error, want %d", tc.q, tc.want)
			continue
		}
		se := snowErr(t, err)
		if se.Number != tc.want || (tc.message != "" && se.Message != tc.message) {
			t.Errorf("%s = %d %q, want %d %q", tc.q, se.Number, se.Message, tc.want, tc.message)
		}
	}
}

// TestTimestampTZExternalFunction: a TIMESTAMP_TZ argument reaches an
// external function as text in its own offset, and a TIMESTAMP_TZ result
// keeps the offset the service wrote.
func TestTimestampTZExternalFunction(t *testing.T) {
	svc := &remoteService{answer: func(args []json.RawMessage) any {
		var s string
		_ = json.Unmarshal(args[0], &s)
		return strings.Replace(s, "03:04:05", "04:05:06", 1)
	}}
	_, db := newDB(t, snowflaketest.Options{ExternalServices: map[string]http.Handler{gatewayURL: svc}})
	mustExec(t, db, "CREATE API INTEGRATION gw API_PROVIDER = aws_api_gateway API_AWS_ROLE_ARN = 'arn:aws:iam::1:role/r' API_ALLOWED_PREFIXES = ('"+gatewayURL+"') ENABLED = TRUE")
	mustExec(t, db, "CREATE EXTERNAL FUNCTION later(ts TIMESTAMP_TZ) RETURNS TIMESTAMP_TZ API_INTEGRATION = gw AS '"+gatewayURL+"later'")
	mustExec(t, db, "CREATE TABLE x (n INT, ts TIMESTAMP_TZ)")
	mustExec(t, db, "INSERT INTO x VALUES (1, '2024-01-02 03:04:05 +05:00')")
	rows, err := db.Query("SELECT n, later(ts) FROM x")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{1, time.Date(2024, 1, 1, 23, 5, 6, 0, time.UTC), 5 * 3600}})
	if len(svc.requests) != 1 || len(svc.requests[0].rows) != 1 || string(svc.requests[0].rows[0][1]) != `"2024-01-02 03:04:05.000 +0500"` {
		t.Errorf("service got %+v, want the value in its +05:00 offset", svc.requests)
	}
}

// TestTimestampInsertFormats: INSERT, UPDATE and MERGE take timestamps in
// Snowflake's input formats for TIMESTAMP_NTZ and TIMESTAMP_LTZ columns
// too (an offset after a space or without a colon, epoch strings), and
// refuse text that is no timestamp with 100035.
func TestTimestampInsertFormats(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE f (n INT, ntz TIMESTAMP_NTZ, ltz TIMESTAMP_LTZ)")
	mustExec(t, db, "INSERT INTO f VALUES (1, '2024-01-02 03:04:05 +05:00', '2024-01-02 03:04:05 +05:00'), (2, '1704164645', '2024-01-02 03:04:05 -0800')")
	mustExec(t, db, "INSERT INTO f (n, ltz) SELECT 3, '2024-01-02T03:04:05Z'")
	mustExec(t, db, "UPDATE f SET ntz = '2024-01-02 03:04:05 -0800' WHERE n = 3")
	mustExec(t, db, "MERGE INTO f USING (SELECT 4 AS n, '1704164645000' AS v) s ON f.n = s.n WHEN NOT MATCHED THEN INSERT (n, ntz, ltz) VALUES (s.n, s.v, s.v)")
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	rows, err := db.Query("SELECT n, ntz, ltz FROM f ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	wantLTZ := []time.Time{want.Add(-5 * time.Hour), want.Add(8 * time.Hour), want, want}
	i := 0
	for rows.Next() {
		var n int
		var ntz, ltz time.Time
		if err := rows.Scan(&n, &ntz, &ltz); err != nil {
			t.Fatal(err)
		}
		if !ntz.Equal(want) || !ltz.Equal(wantLTZ[i]) {
			t.Errorf("row %d = %v %v, want %v %v", n, ntz, ltz, want, wantLTZ[i])
		}
		i++
	}
	if i != 4 {
		t.Errorf("rows = %d, want 4", i)
	}
	for _, q := range []string{"INSERT INTO f (n, ntz) VALUES (5, 'not a time')", "UPDATE f SET ltz = 'never' WHERE n = 1"} {
		_, err := db.Exec(q)
		if err == nil {
			t.Errorf("%s: no error, want 100035", q)
			continue
		}
		if se := snowErr(t, err); se.Number != 100035 {
			t.Errorf("%s = %v, want 100035", q, err)
		}
	}
}

// TestTimestampCasts: casts to TIMESTAMP_NTZ and TIMESTAMP_LTZ read
// Snowflake's input formats and TIMESTAMP_TZ values (NTZ keeps the wall
// clock, LTZ the instant); a TIMESTAMP_TZ column converts into a
// TIMESTAMP_LTZ column; text that is no timestamp fails a cast (100035)
// and is NULL for TRY_CAST.
func TestTimestampCasts(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE p (n INT, ts TIMESTAMP_TZ, l TIMESTAMP_LTZ)")
	mustExec(t, db, "INSERT INTO p (n, ts) VALUES (1, '2024-01-02 03:04:05 +05:00')")
	mustExec(t, db, "UPDATE p SET l = ts")
	wall := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	instant := wall.Add(-5 * time.Hour)
	for _, tc := range []struct {
		q    string
		want time.Time
	}{
		{"SELECT '2024-01-02 03:04:05 +05:00'::TIMESTAMP_LTZ", instant},
		{"SELECT CAST('1704164645' AS TIMESTAMP_NTZ)", wall},
		{"SELECT ts::TIMESTAMP_NTZ FROM p", wall},
		{"SELECT CAST(ts AS TIMESTAMP_LTZ(9)) FROM p", instant},
		{"SELECT l FROM p", instant},
		{"SELECT CASE WHEN n = 1 THEN '2024-01-02 03:04:05' END::TIMESTAMP_NTZ FROM p", wall},
		{"SELECT DATE '2024-01-02'::TIMESTAMP_NTZ", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"SELECT (ts)::TIMESTAMP_LTZ FROM p WHERE ts::TIMESTAMP_LTZ < CURRENT_TIMESTAMP()", instant},
	} {
		var got time.Time
		if err := db.QueryRow(tc.q).Scan(&got); err != nil || !got.Equal(tc.want) {
			t.Errorf("%s = %v, %v; want %v", tc.q, got, err, tc.want)
		}
	}
	if got := queryOne(t, db, "SELECT TRY_CAST('x' AS TIMESTAMP_NTZ)"); got != "<nil>" {
		t.Errorf("TRY_CAST('x' AS TIMESTAMP_NTZ) = %s, want NULL", got)
	}
	_, err := db.Exec("SELECT 'x'::TIMESTAMP_LTZ")
	if err == nil || snowErr(t, err).Number != 100035 {
		t.Errorf("'x'::TIMESTAMP_LTZ = %v, want 100035", err)
	}
	// Without a cast, a TIMESTAMP_TZ column compares with text and with a
	// TIMESTAMP_LTZ by the instant.
	for _, q := range []string{"SELECT n FROM p WHERE ts > '2024-01-01'", "SELECT n FROM p WHERE ts = l"} {
		if got := queryOne(t, db, q); got != "1" {
			t.Errorf("%s = %s, want 1", q, got)
		}
	}
	// Where the emulator does not apply TIMESTAMP_TZ semantics, a clear
	// refusal (FIDELITY.md).
	_, err = db.Exec("SELECT n FROM (SELECT n, ts AS x FROM p) WHERE x > '2024-01-01'")
	if err == nil || snowErr(t, err).Number != 2 {
		t.Errorf("a TIMESTAMP_TZ under an alias compared with text = %v, want 000002", err)
	}
}

// TestTransactionRunsOnce: inside BEGIN ... COMMIT, a DML statement on a
// table with VARCHAR(n) columns is evaluated once, so an external
// function in it is called once per row, with the values of a volatile
// expression (UUID_STRING()) of that one evaluation, also when the
// statement is refused (100074) and undone.
func TestTransactionRunsOnce(t *testing.T) {
	svc := &remoteService{answer: func(args []json.RawMessage) any {
		var v any
		_ = json.Unmarshal(args[0], &v)
		return fmt.Sprintf("t%v", v)
	}}
	_, db := newDB(t, snowflaketest.Options{ExternalServices: map[string]http.Handler{gatewayURL: svc}})
	mustExec(t, db, "CREATE API INTEGRATION gw API_PROVIDER = aws_api_gateway API_AWS_ROLE_ARN = 'arn:aws:iam::1:role/r' API_ALLOWED_PREFIXES = ('"+gatewayURL+"') ENABLED = TRUE")
	mustExec(t, db, "CREATE EXTERNAL FUNCTION tag(s VARCHAR) RETURNS VARCHAR API_INTEGRATION = gw AS '"+gatewayURL+"tag'")
	mustExec(t, db, "CREATE TABLE src (n INT)")
	mustExec(t, db, "INSERT INTO src VALUES (1), (2), (3)")
	mustExec(t, db, "CREATE TABLE dst (n INT, s VARCHAR(40))")
	sent := func() int {
		n := 0
		for _, r := range svc.taken() {
			n += len(r.rows)
		}
		return n
	}
	mustExec(t, db, "BEGIN")
	for _, tc := range []struct {
		q       string
		refused bool
	}{
		{"INSERT INTO dst SELECT n, tag(UUID_STRING()) FROM src", false},
		{"INSERT INTO dst SELECT n + 10, tag(UUID_STRING()) || ' too long' FROM src", true},
		{"UPDATE dst SET s = tag(UUID_STRING()) WHERE n <= 3", false},
		{"UPDATE dst SET s = tag(UUID_STRING()) || ' too long'", true},
		{"MERGE INTO dst USING src ON dst.n = src.n WHEN MATCHED THEN UPDATE SET dst.s = tag(TO_VARCHAR(src.n))", false},
	} {
		_, err := db.Exec(tc.q)
		switch {
		case tc.refused && (err == nil || snowErr(t, err).Number != 100074):
			t.Errorf("%s = %v, want 100074", tc.q, err)
		case !tc.refused && err != nil:
			t.Errorf("%s: %v", tc.q, err)
		}
		if got := sent(); got != 3 {
			t.Errorf("%s: the function got %d rows, want 3 (one call per row)", tc.q, got)
		}
	}
	mustExec(t, db, "COMMIT")
	_, rows := queryAll(t, db, "SELECT n, s FROM dst ORDER BY n")
	var got []string
	for _, r := range rows {
		got = append(got, r[0]+"="+r[1])
	}
	if g, want := strings.Join(got, " "), "1=t1 2=t2 3=t3"; g != want {
		t.Errorf("table after COMMIT = %s, want %s", g, want)
	}
}

// TestTimestampTZBinds: a time.Time bound as TIMESTAMP_TZ (a single bind
// and an inline array bind) keeps its offset when written into a
// TIMESTAMP_TZ column and when answered, and compares with the column.
func TestTimestampTZBinds(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE tzb (n INT, ts TIMESTAMP_TZ)")
	at := time.Date(2024, 3, 4, 5, 6, 7, 123456000, time.UTC)
	ist := at.In(time.FixedZone("", 5*3600+1800))
	pst := at.Add(time.Hour).In(time.FixedZone("", -8*3600))
	jst := at.Add(2 * time.Hour).In(time.FixedZone("", 9*3600))
	mustExec(t, db, "INSERT INTO tzb VALUES (?, ?)", 1, gosnowflake.DataTypeTimestampTz, ist)
	mustExec(t, db, "INSERT INTO tzb VALUES (?, ?)", gosnowflake.Array([]int{2, 3}), gosnowflake.Array([]time.Time{pst, jst}, gosnowflake.TimestampTZType))
	rows, err := db.Query("SELECT n, ts FROM tzb ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{1, ist, 5*3600 + 1800}, {2, pst, -8 * 3600}, {3, jst, 9 * 3600}})

	// A bound value answered as it was bound.
	rows, err = db.Query("SELECT 7, ?", gosnowflake.DataTypeTimestampTz, pst)
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{7, pst, -8 * 3600}})

	// A bound value compared with the column.
	rows, err = db.Query("SELECT n, ts FROM tzb WHERE ts = ?", gosnowflake.DataTypeTimestampTz, jst)
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{3, jst, 9 * 3600}})
}

// TestTimestampTZFunctions: DATEADD, TIMESTAMPADD, DATE_TRUNC, ::DATE,
// TO_DATE, EXTRACT, DATE_PART and YEAR() and the like work on a
// TIMESTAMP_TZ in its own offset, and DATEADD and DATE_TRUNC keep the
// offset (https://docs.snowflake.com/en/sql-reference/data-types-datetime:
// operations on TIMESTAMP_TZ are performed in each value's offset).
func TestTimestampTZFunctions(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE f (n INT, ts TIMESTAMP_TZ)")
	// 2024-01-31 21:00 UTC: the wall clock's date is a day later.
	mustExec(t, db, "INSERT INTO f VALUES (1, '2024-02-01 02:00:00 +05:00')")
	plus5 := 5 * 3600
	at := func(y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, time.FixedZone("", plus5))
	}
	for _, tc := range []struct {
		expr string
		want time.Time
	}{
		{"DATEADD(hour, 23, ts)", at(2024, 2, 2, 1, 0)},
		{"DATEADD('month', 1, ts)", at(2024, 3, 1, 2, 0)},
		{"DATEADD(day, -1, DATEADD(minute, 30, ts))", at(2024, 1, 31, 2, 30)},
		{"TIMESTAMPADD(year, 1, ts)", at(2025, 2, 1, 2, 0)},
		{"DATE_TRUNC('DAY', ts)", at(2024, 2, 1, 0, 0)},
		{"DATE_TRUNC(month, ts)", at(2024, 2, 1, 0, 0)},
		{"DATE_TRUNC(hour, DATEADD(minute, 59, ts))", at(2024, 2, 1, 2, 0)},
	} {
		rows, err := db.Query("SELECT n, " + tc.expr + " FROM f")
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		checkTZ(t, rows, []tzWant{{1, tc.want, plus5}})
	}
	for _, tc := range []struct{ expr, want string }{
		{"TO_VARCHAR(ts::DATE)", "2024-02-01"},
		{"TO_VARCHAR(CAST(ts AS DATE))", "2024-02-01"},
		{"TO_VARCHAR(TO_DATE(ts))", "2024-02-01"},
		{"YEAR(ts) * 100 + MONTH(ts)", "202402"},
		{"DAY(ts)", "1"},
		{"HOUR(ts)", "2"},
		{"EXTRACT(hour FROM ts)", "2"},
		{"EXTRACT(epoch FROM ts)::INT", "1706734800"},
		{"DATE_PART(day, ts)", "1"},
		{"DATE_PART('month', ts)", "2"},
		{"IFF(ts::DATE = '2024-02-01', 'y', 'n')", "y"},
	} {
		if got := queryOne(t, db, "SELECT "+tc.expr+" FROM f"); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

// TestTimestampTZCompareInstants: TIMESTAMP_TZ values compare, join,
// group and deduplicate by their instants, whatever their offsets
// (https://docs.snowflake.com/en/sql-reference/data-types-datetime).
func TestTimestampTZCompareInstants(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE a (n INT, ts TIMESTAMP_TZ)")
	// 1, 2 and 3 are one instant (2024-01-01 22:00 UTC) in three offsets.
	mustExec(t, db, `INSERT INTO a VALUES (1, '2024-01-02 03:00:00 +05:00'), (2, '2024-01-01 22:00:00 +00:00'),
		(3, '2024-01-01 14:00:00 -08:00'), (4, '2024-01-02 00:00:00 +00:00')`)
	same := time.Date(2024, 1, 2, 7, 0, 0, 0, time.FixedZone("", 9*3600))
	for _, tc := range []struct {
		q    string
		args []any
		want string
	}{
		{"SELECT count(*) FROM a WHERE ts = '2024-01-01 17:00:00 -05:00'::TIMESTAMP_TZ", nil, "3"},
		{"SELECT count(*) FROM a WHERE ts <> TO_TIMESTAMP_TZ('2024-01-01 17:00:00 -05:00')", nil, "1"},
		{"SELECT count(*) FROM a WHERE ts = ?", []any{gosnowflake.DataTypeTimestampTz, same}, "3"},
		{"SELECT count(*) FROM a WHERE ts = '2024-01-01 23:00:00+01:00'", nil, "3"},
		{"SELECT count(*) FROM a WHERE '2024-01-01 22:00:00'::TIMESTAMP_LTZ < ts", nil, "1"},
		{"SELECT count(*) FROM a WHERE ts IN (?, ?)", []any{gosnowflake.DataTypeTimestampTz, same, gosnowflake.DataTypeTimestampTz, same}, "3"},
		{"SELECT count(*) FROM a x JOIN a y ON x.ts = y.ts", nil, "10"},
		{"SELECT count(*) FROM a x JOIN a y ON x.ts != y.ts", nil, "6"},
		{"SELECT count(*) FROM a x JOIN a y ON x.ts < y.ts", nil, "3"},
		{"SELECT count(*) FROM a x, a y WHERE x.ts > y.ts", nil, "3"},
		{"SELECT count(*) FROM a x JOIN a y ON x.ts <= y.ts AND x.ts >= y.ts", nil, "10"},
		{"SELECT count(*) FROM a x JOIN a y ON x.ts BETWEEN y.ts AND y.ts", nil, "10"},
		{"SELECT count(*) FROM a WHERE ts NOT BETWEEN '2024-01-01 22:00:00 +00:00'::TIMESTAMP_TZ AND ?", []any{gosnowflake.DataTypeTimestampTz, same}, "1"},
		{"SELECT count(*) FROM a WHERE ts IN ('2024-01-01 23:00:00 +01:00'::TIMESTAMP_TZ, '2024-01-02 01:00:00 +01:00'::TIMESTAMP_TZ)", nil, "4"},
		{"SELECT count(*) FROM a WHERE ts NOT IN (SELECT ts FROM a WHERE n = 3)", nil, "1"},
		{"SELECT count(DISTINCT ts) FROM a", nil, "2"},
		{"SELECT count(*) FROM (SELECT DISTINCT ts FROM a)", nil, "2"},
		{"SELECT count(*) FROM (SELECT ts, count(*) FROM a GROUP BY ts)", nil, "2"},
		{"SELECT max(c) FROM (SELECT ts, count(*) AS c FROM a GROUP BY 1)", nil, "3"},
		{"SELECT count(*) FROM (SELECT a.ts FROM a GROUP BY a.ts HAVING count(*) > 1 AND a.ts > '2000-01-01' ORDER BY a.ts)", nil, "1"},
	} {
		if got := queryOne(t, db, tc.q, tc.args...); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
	// Every prefix of these statements works or fails with a Snowflake
	// error, never with the emulator's internal error.
	for _, full := range []string{
		"SELECT a.ts, count(*) FROM a JOIN a b ON a.ts = b.ts AND a.n BETWEEN 1 AND 3 WHERE a.ts IN (SELECT ts FROM a) GROUP BY a.ts HAVING count(*) > 1 ORDER BY a.ts",
		"SELECT DISTINCT DATE_TRUNC(day, DATEADD(hour, 1, ts)), ts::DATE, EXTRACT(hour FROM ts) FROM a WHERE YEAR(ts) = 2024",
	} {
		words := strings.Fields(full)
		for n := 1; n <= len(words); n++ {
			q := strings.Join(words[:n], " ")
			if _, err := db.Exec(q); err != nil && strings.Contains(err.Error(), "Internal error") {
				t.Errorf("%q: %v", q, err)
			}
		}
	}
	// The grouped value keeps its column name and one of its offsets.
	cols, rows := queryAll(t, db, "SELECT ts, count(*) AS c FROM a GROUP BY ts ORDER BY ts")
	if len(cols) != 2 || cols[0] != "TS" || len(rows) != 2 || rows[0][1] != "3" || rows[1][1] != "1" {
		t.Errorf("GROUP BY ts = %v %v, want TS, C with counts 3, 1", cols, rows)
	}
	rows2, err := db.Query("SELECT n, ts FROM a WHERE n = 4 AND ts IN (SELECT DISTINCT ts FROM a)")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows2, []tzWant{{4, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), 0}})
	// MERGE and UPDATE match by the instant too; SET still assigns.
	mustExec(t, db, "CREATE TABLE b (ts TIMESTAMP_TZ, label VARCHAR)")
	mustExec(t, db, "INSERT INTO b VALUES ('2024-01-02 06:30:00 +08:30', 'x')")
	mustExec(t, db, "MERGE INTO b USING a ON b.ts = a.ts AND a.n = 2 WHEN MATCHED THEN UPDATE SET b.label = 'merged'")
	mustExec(t, db, "UPDATE b SET ts = '2024-01-01 22:00:00 +01:00' WHERE ts = (SELECT ts FROM a WHERE n = 1)")
	rows2, err = db.Query("SELECT 1, ts FROM b WHERE label = 'merged'")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows2, []tzWant{{1, time.Date(2024, 1, 1, 21, 0, 0, 0, time.UTC), 3600}})
}

// tzOne runs q and returns its one value as text, or the error.
func tzOne(db *sql.DB, q string, args ...any) (string, error) {
	var v sql.NullString
	if err := db.QueryRow(q, args...).Scan(&v); err != nil {
		return "", err
	}
	if !v.Valid {
		return "<nil>", nil
	}
	return v.String, nil
}

// TestTimestampTZDiffTimeParts: DATEDIFF/TIMESTAMPDIFF count on each
// value's wall clock, ::TIME and TO_TIME read the wall clock's time of
// day, the time zone parts read the offset and the epoch parts the
// instant ("All operations are performed with the time zone offset
// specific to each record",
// https://docs.snowflake.com/en/sql-reference/data-types-datetime).
func TestTimestampTZDiffTimeParts(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE f (n INT, ts TIMESTAMP_TZ, other TIMESTAMP_TZ)")
	// Row 1: 2024-01-31 21:00 UTC, the wall clock a day later; other is
	// three hours earlier on the wall clock, the day before.
	mustExec(t, db, `INSERT INTO f VALUES (1, '2024-02-01 02:00:00 +05:00', '2024-01-31 23:00:00 +05:00'),
		(2, '2024-02-01 02:00:00 -03:30', NULL)`)
	for _, tc := range []struct{ q, want string }{
		{"SELECT DATEDIFF(day, other, ts) FROM f WHERE n = 1", "1"},
		{"SELECT DATEDIFF('hour', other, ts) FROM f WHERE n = 1", "3"},
		{"SELECT TIMESTAMPDIFF(minute, ts, other) FROM f WHERE n = 1", "-180"},
		{"SELECT DATEDIFF(day, '2024-01-30 12:00:00'::TIMESTAMP_NTZ, ts) FROM f WHERE n = 1", "2"},
		{"SELECT DATEDIFF(month, ts, DATEADD(month, 2, ts)) FROM f WHERE n = 1", "2"},
		{"SELECT IFF(DATEDIFF(day, other, ts) IS NULL, 'null', 'value') FROM f WHERE n = 2", "null"},
		{"SELECT TO_VARCHAR(ts::TIME) FROM f WHERE n = 1", "02:00:00"},
		{"SELECT TO_VARCHAR(CAST(ts AS TIME)) FROM f WHERE n = 2", "02:00:00"},
		{"SELECT TO_VARCHAR(TO_TIME(other)) FROM f WHERE n = 1", "23:00:00"},
		{"SELECT IFF(ts::TIME = '02:00:00', 'y', 'n') FROM f WHERE n = 2", "y"},
		{"SELECT EXTRACT(timezone_hour FROM ts) FROM f WHERE n = 1", "5"},
		{"SELECT EXTRACT(timezone_minute FROM ts) FROM f WHERE n = 1", "0"},
		{"SELECT DATE_PART(timezone_hour, ts) FROM f WHERE n = 2", "-3"},
		{"SELECT DATE_PART('TZM', ts) FROM f WHERE n = 2", "-30"},
		{"SELECT DATE_PART(epoch_second, ts) FROM f WHERE n = 1", "1706734800"},
		{"SELECT DATE_PART(epoch_millisecond, ts) FROM f WHERE n = 1", "1706734800000"},
		{"SELECT EXTRACT(epoch_second FROM ts) FROM f WHERE n = 2", "1706765400"},
	} {
		got, err := tzOne(db, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
		} else if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
}

// TestTimestampTZConvertTimezone: CONVERT_TIMEZONE(target, x) gives x's
// instant as a TIMESTAMP_TZ in the target zone; CONVERT_TIMEZONE(source,
// target, x) a TIMESTAMP_NTZ, the wall clock of x in source seen in
// target (https://docs.snowflake.com/en/sql-reference/functions/convert_timezone).
func TestTimestampTZConvertTimezone(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE c (n INT, ts TIMESTAMP_TZ)")
	mustExec(t, db, "INSERT INTO c VALUES (1, '2024-02-01 02:00:00 +05:00'), (2, '2024-07-01 12:00:00 +00:00'), (3, NULL)")
	rows, err := db.Query("SELECT n, CONVERT_TIMEZONE('America/New_York', ts) FROM c WHERE n < 3 ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{1, time.Date(2024, 1, 31, 21, 0, 0, 0, time.UTC), -5 * 3600}, {2, time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC), -4 * 3600}})
	rows, err = db.Query("SELECT 1, CONVERT_TIMEZONE('Asia/Kolkata', '2024-01-01 00:00:00'::TIMESTAMP_NTZ)")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 330 * 60}})
	for _, tc := range []struct{ q, want string }{
		{"SELECT TO_VARCHAR(CONVERT_TIMEZONE('Asia/Tokyo', ts)) FROM c WHERE n = 1", "2024-02-01 06:00:00.000 +0900"},
		{"SELECT TO_VARCHAR(CONVERT_TIMEZONE('UTC', 'Asia/Tokyo', ts)) FROM c WHERE n = 1", "2024-02-01 11:00:00"},
		{"SELECT TO_VARCHAR(CONVERT_TIMEZONE('America/Los_Angeles', 'America/New_York', '2024-01-01 12:00:00'::TIMESTAMP_NTZ))", "2024-01-01 15:00:00"},
		{"SELECT count(*) FROM c WHERE CONVERT_TIMEZONE('Europe/Berlin', ts) = ts", "2"},
		{"SELECT IFF(CONVERT_TIMEZONE('UTC', ts) IS NULL, 'null', 'value') FROM c WHERE n = 3", "null"},
	} {
		got, err := tzOne(db, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
		} else if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
	if _, err := tzOne(db, "SELECT CONVERT_TIMEZONE('Nowhere/Zone', ts) FROM c WHERE n = 1"); err == nil {
		t.Error("CONVERT_TIMEZONE to an unknown zone succeeded")
	}
}

// TestTimestampTZDefault: a TIMESTAMP_TZ column's DEFAULT gives a
// TIMESTAMP_TZ: CURRENT_TIMESTAMP() in the session's zone (UTC), a
// literal in its own offset.
func TestTimestampTZDefault(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE d (n INT, ts TIMESTAMP_TZ DEFAULT CURRENT_TIMESTAMP() NOT NULL, fixed TIMESTAMP_TZ(3) DEFAULT '2024-01-02 03:04:05 +05:00')")
	mustExec(t, db, "INSERT INTO d (n) VALUES (1)")
	rows, err := db.Query("SELECT n, fixed FROM d")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{1, time.Date(2024, 1, 1, 22, 4, 5, 0, time.UTC), 5 * 3600}})
	var ts time.Time
	if err := db.QueryRow("SELECT ts FROM d").Scan(&ts); err != nil {
		t.Fatal(err)
	}
	if _, off := ts.Zone(); off != 0 || ts.Year() < 2024 {
		t.Errorf("DEFAULT CURRENT_TIMESTAMP() = %v, want a time of now in offset +00:00", ts)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM d WHERE ts <= CURRENT_TIMESTAMP() AND ts > fixed"); got != "1" {
		t.Errorf("DEFAULT CURRENT_TIMESTAMP() compares as %s rows, want 1", got)
	}
}

// TestTimestampTZCreateAsAndViews: the query of CREATE TABLE … AS SELECT
// and of a view compares, groups and computes on TIMESTAMP_TZ values as
// a query does, and the new table keeps each value's offset.
func TestTimestampTZCreateAsAndViews(t *testing.T) {
	srv, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE a (n INT, ts TIMESTAMP_TZ)")
	mustExec(t, db, `INSERT INTO a VALUES (1, '2024-01-02 03:00:00 +05:00'), (2, '2024-01-01 22:00:00 +00:00'),
		(3, '2024-01-01 14:00:00 -08:00'), (4, '2024-01-02 00:00:00 +00:00')`)
	mustExec(t, db, "CREATE TABLE b AS SELECT n, DATEADD(day, 1, ts) AS ts FROM a WHERE ts = '2024-01-01 23:00:00+01:00'")
	rows, err := db.Query("SELECT n, ts FROM b ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 1, 2, 22, 0, 0, 0, time.UTC)
	checkTZ(t, rows, []tzWant{{1, day, 5 * 3600}, {2, day, 0}, {3, day, -8 * 3600}})
	mustExec(t, db, "CREATE VIEW v AS SELECT ts, count(*) AS c FROM a GROUP BY ts")
	mustExec(t, db, "CREATE OR REPLACE VIEW w AS SELECT n, ts::DATE AS d FROM a WHERE ts IN (SELECT ts FROM a WHERE n = 2)")
	for _, tc := range []struct{ q, want string }{
		{"SELECT count(*) FROM v", "2"},
		{"SELECT max(c) FROM v", "3"},
		{"SELECT count(*) FROM w", "3"},
		{"SELECT TO_VARCHAR(d) FROM w WHERE n = 1", "2024-01-02"},
	} {
		got, err := tzOne(db, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
		} else if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
	// Another session reads the view too.
	other := srv.OpenDB()
	defer other.Close()
	if got, err := tzOne(other, "SELECT max(c) FROM v"); err != nil || got != "3" {
		t.Errorf("another session: SELECT max(c) FROM v = %s, %v; want 3", got, err)
	}
}

// TestTimestampTZWindowsAndSets: PARTITION BY, SELECT DISTINCT * and
// UNION, EXCEPT (MINUS) and INTERSECT without ALL go by the instant.
func TestTimestampTZWindowsAndSets(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE a (n INT, ts TIMESTAMP_TZ)")
	// 1, 2 and 3 are one instant in three offsets.
	mustExec(t, db, `INSERT INTO a VALUES (1, '2024-01-02 03:00:00 +05:00'), (2, '2024-01-01 22:00:00 +00:00'),
		(3, '2024-01-01 14:00:00 -08:00'), (4, '2024-01-02 00:00:00 +00:00')`)
	mustExec(t, db, "CREATE TABLE s (label VARCHAR, sat TIMESTAMP_TZ)")
	mustExec(t, db, "INSERT INTO s VALUES ('x', '2024-01-02 03:00:00 +05:00'), ('x', '2024-01-01 22:00:00 +00:00'), ('y', '2024-01-01 22:00:00 +00:00')")
	for _, tc := range []struct{ q, want string }{
		{"SELECT count(*) FROM (SELECT n, count(*) OVER (PARTITION BY ts) AS c FROM a) WHERE c = 3", "3"},
		{"SELECT max(r) FROM (SELECT row_number() OVER (PARTITION BY n > 0, ts ORDER BY n) AS r FROM a)", "3"},
		{"SELECT count(*) FROM (SELECT DISTINCT * FROM s)", "2"},
		{"SELECT count(*) FROM (SELECT DISTINCT * FROM (SELECT ts FROM a))", "2"},
		{"SELECT count(*) FROM (SELECT ts FROM a WHERE n = 1 UNION SELECT ts FROM a WHERE n = 2 UNION SELECT sat FROM s)", "1"},
		{"SELECT count(*) FROM (SELECT ts FROM a UNION ALL SELECT ts FROM a WHERE n = 2)", "5"},
		{"SELECT count(*) FROM (SELECT ts FROM a WHERE n <= 2 EXCEPT SELECT ts FROM a WHERE n = 3)", "0"},
		{"SELECT count(*) FROM (SELECT ts FROM a MINUS SELECT sat FROM s)", "1"},
		{"SELECT count(*) FROM (SELECT ts FROM a WHERE n = 1 INTERSECT SELECT ts FROM a WHERE n = 3)", "1"},
		{"SELECT count(*) FROM (SELECT label, sat FROM s INTERSECT SELECT 'x', ts FROM a)", "1"},
		{"SELECT TO_VARCHAR(ts) FROM a WHERE n = 4 UNION SELECT TO_VARCHAR(ts) FROM a WHERE n = 4 ORDER BY 1 LIMIT 1", "2024-01-02 00:00:00.000 +0000"},
	} {
		got, err := tzOne(db, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
		} else if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
	// The rows a set operation answers keep their offsets.
	rows, err := db.Query("SELECT n, ts FROM a WHERE n = 3 UNION SELECT n, ts FROM a WHERE n = 3 ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	checkTZ(t, rows, []tzWant{{3, time.Date(2024, 1, 1, 22, 0, 0, 0, time.UTC), -8 * 3600}})
}
