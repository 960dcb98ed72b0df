package snowflaketest_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

const gatewayURL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"

// remoteService is an external function's service: it answers each row
// with answer(args) and records what Snowflake sent.
type remoteService struct {
	mu       sync.Mutex
	requests []remoteRequest
	script   []int // status codes to answer before the real answer, one per request
	answer   func(args []json.RawMessage) any
	mangle   func(rows [][]any) any // optional: replaces the answer body
	byBatch  map[string][][]json.RawMessage
}

type remoteRequest struct {
	method string
	header http.Header
	rows   [][]json.RawMessage
}

func (rs *remoteService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rd = zr
	}
	body, _ := io.ReadAll(rd)
	var in struct {
		Data [][]json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(body, &in)
	rs.mu.Lock()
	if rs.byBatch == nil {
		rs.byBatch = map[string][][]json.RawMessage{}
	}
	id := r.Header.Get("sf-external-function-query-batch-id")
	if r.Method == http.MethodGet {
		in.Data = rs.byBatch[id] // polling: the batch posted before
	} else {
		rs.byBatch[id] = in.Data
	}
	rs.requests = append(rs.requests, remoteRequest{method: r.Method, header: r.Header.Clone(), rows: in.Data})
	var status int
	if len(rs.script) > 0 {
		status, rs.script = rs.script[0], rs.script[1:]
	}
	rs.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"scripted %d"}`, status)
		return
	}
	out := make([][]any, len(in.Data))
	for i, row := range in.Data {
		var n int
		_ = json.Unmarshal(row[0], &n)
		out[i] = []any{n, rs.answer(row[1:])}
	}
	var resp any = map[string]any{"data": out}
	if rs.mangle != nil {
		resp = rs.mangle(out)
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (rs *remoteService) taken() []remoteRequest {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.requests
	rs.requests = nil
	return r
}

func TestExternalFunctions(t *testing.T) {
	svc := &remoteService{answer: func(args []json.RawMessage) any {
		var s *string
		_ = json.Unmarshal(args[0], &s)
		if s == nil {
			return nil
		}
		return map[string]any{"upper": strings.ToUpper(*s), "n": args[1]}
	}}
	// A second API, served on a local address through a reverse proxy.
	other := &remoteService{answer: func(args []json.RawMessage) any { return "local" }}
	local := httptest.NewServer(other)
	t.Cleanup(local.Close)
	localURL, _ := url.Parse(local.URL)
	_, db := newDB(t, snowflaketest.Options{
		ExternalServices:     map[string]http.Handler{gatewayURL: svc, "https://local.example.com/": httputil.NewSingleHostReverseProxy(localURL)},
		ExternalRetryBackoff: func(int) time.Duration { return time.Millisecond },
		ExternalRetryTimeout: 20 * time.Millisecond,
	})
	mustExec(t, db, "CREATE DATABASE efdb")

	// API integrations: required properties are validated.
	_, err := db.Exec("CREATE API INTEGRATION gw API_PROVIDER = aws_api_gateway API_ALLOWED_PREFIXES = ('" + gatewayURL + "') ENABLED = TRUE")
	if se := snowErr(t, err); !strings.Contains(se.Message, "API_AWS_ROLE_ARN") {
		t.Errorf("integration without a role: %v, want a missing API_AWS_ROLE_ARN error", err)
	}
	mustExec(t, db, `CREATE OR REPLACE API INTEGRATION gw API_PROVIDER = aws_api_gateway
		API_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/sf' API_KEY = 'k-123'
		API_ALLOWED_PREFIXES = ('`+gatewayURL+`') ENABLED = TRUE`)
	_, rows := queryAll(t, db, "DESC INTEGRATION gw")
	if fmt.Sprint(rows) == "" || strings.Contains(fmt.Sprint(rows), "k-123") {
		t.Errorf("DESC INTEGRATION shows the API key: %v", rows)
	}
	_, err = db.Exec("CREATE EXTERNAL FUNCTION f(s VARCHAR) RETURNS VARIANT API_INTEGRATION = gw AS 'https://elsewhere.example.com/x'")
	if se := snowErr(t, err); !strings.Contains(se.Message, "not allowed") {
		t.Errorf("function outside the allowed prefixes: %v", err)
	}
	_, err = db.Exec("CREATE EXTERNAL FUNCTION f(s VARCHAR) RETURNS VARIANT API_INTEGRATION = nope AS '" + gatewayURL + "x'")
	if se := snowErr(t, err); se.Number != 2003 {
		t.Errorf("function on a missing integration: %v, want 002003", err)
	}
	mustExec(t, db, `CREATE OR REPLACE SECURE EXTERNAL FUNCTION up(s VARCHAR, n NUMBER)
		RETURNS VARIANT
		NOT NULL
		CALLED ON NULL INPUT
		VOLATILE
		COMMENT = 'test'
		API_INTEGRATION = gw
		HEADERS = ('x-mode' = 'upper')
		CONTEXT_HEADERS = (CURRENT_DATE)
		MAX_BATCH_ROWS = 2
		AS '`+gatewayURL+`up'`)
	mustExec(t, db, "CREATE API INTEGRATION loc API_PROVIDER = aws_api_gateway API_AWS_ROLE_ARN = 'arn:aws:iam::1:role/r' API_ALLOWED_PREFIXES = ('https://local.example.com/') ENABLED = TRUE")
	mustExec(t, db, "CREATE EXTERNAL FUNCTION where_am_i(x NUMBER) RETURNS VARCHAR API_INTEGRATION = loc AS 'https://local.example.com/prod/w'")
	if got := queryOne(t, db, "SELECT where_am_i(1)"); got != "local" {
		t.Errorf("function on a local address answered %q", got)
	}
	if r := other.taken(); len(r) != 1 || r[0].header.Get("sf-external-function-query-batch-id") == "" {
		t.Errorf("local service got %d requests", len(r))
	}
	mustExec(t, db, "CREATE TABLE names (id INT, name STRING)")
	mustExec(t, db, "INSERT INTO names VALUES (1, 'ann'), (2, 'bob'), (3, NULL), (4, 'dee'), (5, 'eve')")

	_, rows = queryAll(t, db, "SELECT id, up(name, id) FROM names ORDER BY id")
	want := `[[1 {"n":1,"upper":"ANN"}] [2 {"n":2,"upper":"BOB"}] [3 <nil>] [4 {"n":4,"upper":"DEE"}] [5 {"n":5,"upper":"EVE"}]]`
	if got := fmt.Sprint(rows); got != want {
		t.Errorf("SELECT up(...) = %s, want %s", got, want)
	}
	reqs := svc.taken()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 batches of at most MAX_BATCH_ROWS = 2 rows", len(reqs))
	}
	batches := map[string]bool{}
	var sent []string
	for _, r := range reqs {
		h := r.header
		for k, v := range map[string]string{
			"sf-external-function-format": "json", "sf-external-function-format-version": "1.0",
			"sf-external-function-name": "EFDB.PUBLIC.UP", "sf-external-function-return-type": "VARIANT",
			"sf-external-function-signature": "(S VARCHAR, N NUMBER)", "sf-custom-x-mode": "upper", "x-api-key": "k-123",
		} {
			if got := h.Get(k); got != v {
				t.Errorf("header %s = %q, want %q", k, got, v)
			}
		}
		if h.Get("sf-context-current-date") == "" || h.Get("sf-external-function-current-query-id") != reqs[0].header.Get("sf-external-function-current-query-id") {
			t.Errorf("context header or query id missing/inconsistent: %v", h)
		}
		id := h.Get("sf-external-function-query-batch-id")
		if id == "" || batches[id] {
			t.Errorf("batch id %q empty or reused", id)
		}
		batches[id] = true
		if len(r.rows) > 2 {
			t.Errorf("batch of %d rows, MAX_BATCH_ROWS is 2", len(r.rows))
		}
		for i, row := range r.rows {
			if string(row[0]) != fmt.Sprint(i) {
				t.Errorf("row number %s at position %d", row[0], i)
			}
			sent = append(sent, string(row[1])+" "+string(row[2]))
		}
	}
	if got := strings.Join(sent, ","); !strings.Contains(got, `null 3`) || !strings.Contains(got, `"ann" 1`) {
		t.Errorf("rows sent = %s, want NULL sent as null and numbers as JSON numbers", got)
	}

	// INSERT … SELECT through the function.
	mustExec(t, db, "CREATE TABLE out (id INT, doc VARIANT)")
	r := mustExec(t, db, "INSERT INTO out SELECT id, up(name, id) FROM names WHERE id <= 2")
	if n, _ := r.RowsAffected(); n != 2 {
		t.Errorf("INSERT through the function: %d rows", n)
	}
	if got := queryOne(t, db, "SELECT doc FROM out WHERE id = 2"); got != `{"n":2,"upper":"BOB"}` {
		t.Errorf("stored result = %s", got)
	}
	svc.taken()

	// 429 and 5xx are retried with the same batch id.
	svc.script = []int{429, 503}
	if got := queryOne(t, db, "SELECT up('x', 1)"); got != `{"n":1,"upper":"X"}` {
		t.Errorf("after 429 and 503: %s", got)
	}
	reqs = svc.taken()
	if len(reqs) != 3 || reqs[0].header.Get("sf-external-function-query-batch-id") != reqs[2].header.Get("sf-external-function-query-batch-id") {
		t.Errorf("retries: %d requests, want 3 with one batch id", len(reqs))
	}
	// 202 is polled with GET and the same batch id.
	svc.script = []int{202}
	if got := queryOne(t, db, "SELECT up('y', 2)"); got != `{"n":2,"upper":"Y"}` {
		t.Errorf("after 202: %s", got)
	}
	if reqs = svc.taken(); len(reqs) != 2 || reqs[1].method != http.MethodGet {
		t.Errorf("async: %d requests, want a POST then a GET", len(reqs))
	}

	// Failures fail the query with Snowflake's error.
	for _, tc := range []struct {
		name   string
		script []int
		mangle func([][]any) any
		want   string
	}{
		{"4xx", []int{400}, nil, "remote service error: 400"},
		{"5xx until the retry budget is spent", []int{503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503}, nil, "remote service error: 503"},
		{"no data element", nil, func([][]any) any { return map[string]any{"rows": 1} }, `must contain "data"`},
		{"wrong number of rows", nil, func(r [][]any) any { return map[string]any{"data": append(r, r[0])} }, "wrong number of rows"},
		{"row numbers out of order", nil, func(r [][]any) any {
			r[0][0] = 7
			return map[string]any{"data": r}
		}, "Row numbers out of order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc.script, svc.mangle = tc.script, tc.mangle
			defer func() { svc.script, svc.mangle = nil, nil }()
			_, err := db.Query("SELECT up(name, id) FROM names")
			if se := snowErr(t, err); se.Number != 100351 || !strings.Contains(se.Message, tc.want) {
				t.Errorf("error = %v, want 100351 with %q", err, tc.want)
			}
		})
	}
	svc.taken()

	// Many rows: DuckDB's chunks and MAX_BATCH_ROWS split them; every row
	// gets its own answer back.
	mustExec(t, db, `CREATE EXTERNAL FUNCTION up_big(s VARCHAR, n NUMBER) RETURNS VARIANT API_INTEGRATION = gw MAX_BATCH_ROWS = 1000 AS '`+gatewayURL+`up'`)
	got := queryOne(t, db, `SELECT COUNT(*) FROM (SELECT i, up_big('r' || CAST(i AS VARCHAR), i) AS r FROM range(5000) AS t(i))
		WHERE json_extract_string(r, '$.upper') = 'R' || CAST(i AS VARCHAR) AND CAST(json_extract(r, '$.n') AS BIGINT) = i`)
	if got != "5000" {
		t.Errorf("%s of 5000 rows got their own answer", got)
	}
	reqs = svc.taken()
	nsent := 0
	for _, r := range reqs {
		if len(r.rows) > 1000 {
			t.Errorf("batch of %d rows, MAX_BATCH_ROWS is 1000", len(r.rows))
		}
		nsent += len(r.rows)
	}
	if nsent != 5000 || len(reqs) < 5 {
		t.Errorf("%d rows in %d batches, want 5000 in at least 5", nsent, len(reqs))
	}

	// RETURNS NULL ON NULL INPUT: rows with a NULL argument are not sent.
	// COMPRESSION = GZIP: the body is gzipped.
	mustExec(t, db, `CREATE EXTERNAL FUNCTION up_strict(s VARCHAR, n NUMBER) RETURNS VARIANT
		RETURNS NULL ON NULL INPUT API_INTEGRATION = gw COMPRESSION = GZIP AS '`+gatewayURL+`up'`)
	_, rows = queryAll(t, db, "SELECT id, up_strict(name, id) FROM names ORDER BY id")
	if got := fmt.Sprint(rows[2]); got != "[3 <nil>]" || len(rows) != 5 {
		t.Errorf("strict function rows = %v", rows)
	}
	reqs = svc.taken()
	if len(reqs) != 1 || len(reqs[0].rows) != 4 || reqs[0].header.Get("Content-Encoding") != "gzip" {
		t.Errorf("strict function: %d requests (%v), want one gzipped batch of the 4 rows without NULL", len(reqs), reqs)
	}
	// VARIANT arguments are sent as JSON values, text as it is.
	mustExec(t, db, `CREATE EXTERNAL FUNCTION echo(v VARIANT, d DATE, b BOOLEAN, f FLOAT) RETURNS VARIANT API_INTEGRATION = gw AS '`+gatewayURL+`echo'`)
	echo := svc.answer
	svc.answer = func(args []json.RawMessage) any { return args }
	got = queryOne(t, db, `SELECT echo(PARSE_JSON('{"k": [1, "x"], "n": null}'), CAST('2024-02-03' AS DATE), TRUE, 1.5)`)
	if want := `[{"k":[1,"x"],"n":null},"2024-02-03",true,1.5]`; got != want {
		t.Errorf("echo = %s, want %s", got, want)
	}
	svc.answer = echo
	svc.taken()

	// A disabled integration fails calls; SHOW and DESC list the function.
	mustExec(t, db, "ALTER API INTEGRATION gw SET ENABLED = FALSE")
	_, err = db.Query("SELECT up('z', 1)")
	if se := snowErr(t, err); !strings.Contains(se.Message, "disabled") {
		t.Errorf("disabled integration: %v", err)
	}
	_, rows = queryAll(t, db, "SHOW EXTERNAL FUNCTIONS LIKE 'UP'")
	_, desc := queryAll(t, db, "DESC FUNCTION up_strict")
	if len(desc) == 0 || desc[2][1] != "RETURNS NULL ON NULL INPUT" || desc[8][1] != "GZIP" {
		t.Errorf("DESC FUNCTION = %v", desc)
	}
	if len(rows) != 1 || rows[0][1] != "UP" || rows[0][14] != "Y" {
		t.Errorf("SHOW EXTERNAL FUNCTIONS = %v", rows)
	}
	mustExec(t, db, "DROP FUNCTION up(VARCHAR, NUMBER)")
	if _, err := db.Query("SELECT up('z', 1)"); err == nil {
		t.Error("a dropped function still answers")
	}
}

// BenchmarkExternalFunction measures a query calling an external function
// on 10,000 rows through the driver, served in process (the emulator's
// share of the chain: batching, JSON both ways, the DuckDB function).
func BenchmarkExternalFunction(b *testing.B) {
	const rows = 10000
	svc := &remoteService{answer: func(args []json.RawMessage) any { return args[0] }}
	srv, err := snowflaketest.NewServer(snowflaketest.Options{ExternalServices: map[string]http.Handler{gatewayURL: svc}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE bench",
		"CREATE API INTEGRATION gw API_PROVIDER = aws_api_gateway API_AWS_ROLE_ARN = 'arn:aws:iam::1:role/r' API_ALLOWED_PREFIXES = ('" + gatewayURL + "') ENABLED = TRUE",
		"CREATE EXTERNAL FUNCTION echo(s VARCHAR) RETURNS VARIANT API_INTEGRATION = gw MAX_BATCH_ROWS = 1000 AS '" + gatewayURL + "echo'",
		fmt.Sprintf("CREATE TABLE t AS SELECT 'name-' || CAST(i AS VARCHAR) AS s FROM range(%d) AS r(i)", rows)} {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(rows * int64(len(`[0,"name-1234"]`)))
	for b.Loop() {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM (SELECT echo(s) AS e FROM t) WHERE e IS NOT NULL").Scan(&n); err != nil || n != rows {
			b.Fatalf("count %d, %v", n, err)
		}
		svc.taken()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
