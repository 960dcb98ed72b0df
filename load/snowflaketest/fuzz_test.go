package snowflaketest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzStatement sends arbitrary statement text (and a binding) through the
// HTTP handler: the emulator must always answer valid JSON, never panic.
func FuzzStatement(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "select 'a''b'", `CREATE TABLE t (id INT, v VARIANT)`, "INSERT INTO t VALUES (?, PARSE_JSON('{}'))",
		"COPY INTO t FROM @%t FILE_FORMAT = (TYPE = CSV) ON_ERROR = 'SKIP_FILE_10%'", "PUT file:///tmp/x @~",
		"LIST @~ PATTERN = '.*'", "REMOVE @%t", "MERGE INTO t USING t s ON t.id = s.id WHEN MATCHED THEN DELETE",
		"ALTER TABLE t SWAP WITH u", "DESC TABLE t", "SELECT * FROM information_schema.columns", `"`, "'", "@", ":1",
		"CREATE STAGE s FILE_FORMAT = (", "USE", "CREATE DATABASE", "SELECT 1; SELECT 2", "/* x */ put", "COPY INTO",
	} {
		f.Add(s, "1")
	}
	e, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	login := httptest.NewRecorder()
	e.ServeHTTP(login, httptest.NewRequest(http.MethodPost, "/session/v1/login-request?databaseName=FUZZ",
		bytes.NewReader([]byte(`{"data":{"LOGIN_NAME":"u","PASSWORD":"p"}}`))))
	var lr struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(login.Body.Bytes(), &lr); err != nil || lr.Data.Token == "" {
		f.Fatalf("login: %v %s", err, login.Body.String())
	}
	f.Fuzz(func(t *testing.T, sql, bind string) {
		body, _ := json.Marshal(map[string]any{"sqlText": sql, "bindings": map[string]any{"1": map[string]any{"type": "TEXT", "value": bind}}})
		req := httptest.NewRequest(http.MethodPost, "/queries/v1/query-request", bytes.NewReader(body))
		req.Header.Set("Authorization", `Snowflake Token="`+lr.Data.Token+`"`)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var resp struct {
			Success bool            `json:"success"`
			Code    *string         `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &resp) != nil {
			t.Fatalf("%q: HTTP %d %s", sql, rec.Code, rec.Body.String())
		}
		if !resp.Success && (resp.Code == nil || *resp.Code == "") {
			t.Fatalf("%q: failure without a code: %s", sql, rec.Body.String())
		}
		if resp.Success && resp.Code == nil {
			var d struct {
				StatementTypeID int64             `json:"statementTypeId"`
				RowType         []json.RawMessage `json:"rowtype"`
				Command         string            `json:"command"`
			}
			_ = json.Unmarshal(resp.Data, &d)
			if d.StatementTypeID == 0x1000 && len(d.RowType) == 0 && d.Command == "" {
				t.Fatalf("%q: SELECT-type answer without rowtype (panics the driver)", sql)
			}
		}
		if bytes.Contains(rec.Body.Bytes(), []byte("Internal error in snowflaketest")) {
			t.Fatalf("%q: statement panicked: %s", sql, rec.Body.String())
		}
	})
}

// FuzzTZRewrite runs the TIMESTAMP_TZ rewrites (tzsem.go, tzcompare.go)
// on arbitrary statement text: they never panic, and text that names no
// TIMESTAMP_TZ column, cast or bind, nor a table with one, comes back as
// it was.
func FuzzTZRewrite(f *testing.F) {
	for _, s := range []string{
		"SELECT ts, count(*) FROM a GROUP BY ts ORDER BY ts", "SELECT count(*) FROM a x JOIN a y ON x.ts = y.ts",
		"SELECT DISTINCT n, ts FROM a", "SELECT count(DISTINCT ts) FROM a WHERE ts NOT IN (SELECT ts FROM b)",
		"SELECT DATEADD(day, 1, ts), DATE_TRUNC('DAY', ts), ts::DATE, EXTRACT(hour FROM ts), YEAR(ts) FROM a",
		"UPDATE b SET ts = ? WHERE ts = (SELECT max(ts) FROM a)", "SELECT * FROM a WHERE ts IN (?, ?) AND n = :1",
		"MERGE INTO b USING a ON b.ts = a.ts WHEN MATCHED THEN UPDATE SET b.ts = a.ts",
		"SELECT ROW_NUMBER() OVER (PARTITION BY ts ORDER BY ts) = 1 FROM a", "SELECT CAST(ts AS DATE), TRY_CAST(ts AS DATE)",
		"SELECT ts = ", "SELECT DISTINCT", "GROUP BY 1", "x IN (", "SELECT ts::", "DATE_PART(", "(((", ")))", "= = IN IN",
		"SELECT DATEDIFF(day, ts, x), ts::TIME(3), CAST(ts AS TIME(3)), EXTRACT(timezone_hour FROM ts), DATE_PART(epoch_second, ts)",
		"SELECT DISTINCT * FROM a", "SELECT ts FROM a UNION SELECT ts FROM b UNION SELECT 1 ORDER BY 1 LIMIT 2",
		"WITH w AS (SELECT ts FROM a) SELECT * FROM w EXCEPT SELECT ts FROM b", "SELECT n FROM a INTERSECT", "UNION",
		"SELECT count(*) OVER (PARTITION BY ts, n ORDER BY n) FROM b", "PARTITION BY", "SELECT x FROM b UNION SELECT y FROM c",
	} {
		f.Add(s)
	}
	tc := tzContext{names: map[string]bool{"TS": true}, params: map[int]bool{}, tables: map[string]bool{"A": true}}
	f.Fuzz(func(t *testing.T, sql string) {
		toks := lex(sql)
		for _, tk := range toks {
			if tk.kind == tkParam {
				tc.params[tk.pos] = tk.pos%2 == 0
			}
		}
		out := tc.level(tc.funcs(toks))
		if !tc.touched(toks) {
			if got, want := tokText(out), tokText(toks); got != want {
				t.Fatalf("%q: rewritten to %q without a TIMESTAMP_TZ", sql, got)
			}
		}
		clear(tc.params)
	})
}
