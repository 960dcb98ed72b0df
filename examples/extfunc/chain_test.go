package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/snowflakedb/gosnowflake"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

func TestMain(m *testing.M) {
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	os.Setenv("SF_DISABLE_MINICORE", "true")
	_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	os.Exit(m.Run())
}

const (
	apiURL    = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/"
	rawBucket = "landing"
	rawPrefix = "events/"
)

// gateway is API Gateway's REST API with Lambda proxy integration, in
// process: it turns Snowflake's HTTP request into the proxy event and the
// function's proxy response into the HTTP answer. loseNext drops the next
// answer after the function has run (a 502 to Snowflake, as when the
// connection breaks), so Snowflake sends the same batch again.
type gateway struct {
	svc *Service

	mu       sync.Mutex
	loseNext bool
	lost     int
	calls    map[string]int // by path
	refused  int            // 429 answers (the function busy with another batch)
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev := events.APIGatewayProxyRequest{HTTPMethod: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/prod"),
		Resource: "/{proxy+}", Headers: map[string]string{}, Body: string(body)}
	for k, v := range r.Header {
		ev.Headers[k] = strings.Join(v, ",")
	}
	resp, err := g.svc.Handle(r.Context(), ev)
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]int{}
	}
	g.calls[ev.Path]++
	if resp.StatusCode == http.StatusTooManyRequests {
		g.refused++
	}
	lose := g.loseNext && resp.StatusCode == http.StatusOK
	if lose {
		g.loseNext, g.lost = false, g.lost+1
	}
	g.mu.Unlock()
	if err != nil || lose {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, `{"message": "Internal server error"}`)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	io.WriteString(w, resp.Body)
}

// chainClock is the emulator's clock, which the test advances to run the
// tasks on their schedule.
type chainClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *chainClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *chainClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// inputFiles are the raw files: NDJSON documents with nested objects,
// arrays, nulls, missing keys and a float.
var inputFiles = []struct{ name, body string }{
	{"in/a.json", `{"id": 1, "name": "ann", "user": {"email": "ann@example.com", "vip": true}, "tags": ["a", "b"], "score": 1.50}
{"id": 2, "name": "bob", "user": {"email": "bob@example.com", "vip": false}, "tags": [], "score": -2.00}
{"id": 3, "name": "cy \"q\" <x>", "user": {"email": null, "vip": true}, "score": 0.25}
`},
	{"in/b.json", `{"id": 4, "name": "dee", "user": {"email": "dee@example.com"}, "tags": ["z"], "score": 10.00}
{"id": 5, "name": "ed", "tags": [1, {"k": 2}]}
`},
	{"in/later/c.json", `{"id": 6, "name": "fay", "user": {"email": "fay@example.com", "vip": false}, "score": 3.75}
{"id": 7, "name": "gus", "user": {"vip": true}, "tags": ["y"]}
`},
}

func TestChainInSnowflake(t *testing.T) {
	ctx := context.Background()

	// S3: the landing bucket, in process over loopback.
	s3srv := s3test.NewServer(t, s3test.Options{Buckets: []string{rawBucket}, AccessKey: "AKID", SecretKey: "SECRET"})
	s3c := s3srv.Client()

	// Snowflake: the emulator, its clock, and the API Gateway URL served by
	// the function in process.
	clock := &chainClock{t: time.Now().UTC().Truncate(time.Second)}
	gw := &gateway{}
	srv, err := snowflaketest.NewServer(snowflaketest.Options{Now: clock.Now,
		S3:                   snowflaketest.S3Options{Endpoint: s3srv.URL, AccessKeyID: "AKID", SecretAccessKey: "SECRET"},
		ExternalServices:     map[string]http.Handler{apiURL: gw},
		ExternalRetryBackoff: func(n int) time.Duration { return time.Duration(min(n, 20)) * 5 * time.Millisecond },
		ExternalRetryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	db := srv.OpenDB()
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE pipeline")
	mustExec(t, db, "USE SCHEMA pipeline.public")

	// The function, built from its environment as in Lambda.
	cfg := srv.Config()
	for k, v := range map[string]string{"SNOWFLAKE_ACCOUNT": "test", "SNOWFLAKE_USER": "extfunc", "SNOWFLAKE_PASSWORD": "pw",
		"SNOWFLAKE_HOST": cfg.Host, "SNOWFLAKE_PORT": strconv.Itoa(cfg.Port), "SNOWFLAKE_PROTOCOL": "http",
		"SNOWFLAKE_DATABASE": "PIPELINE", "SNOWFLAKE_SCHEMA": "PUBLIC", "SNOWFLAKE_WAREHOUSE": "etl"} {
		t.Setenv(k, v)
	}
	env := map[string]string{"FLATPIPE_TABLE": "events", "FLATPIPE_S3_PATH_STYLE": "true", "AWS_ENDPOINT_URL_S3": s3srv.URL,
		"FLATPIPE_WORK_DIR": t.TempDir()} // one batch at a time: a concurrent one gets 429 and comes back
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	svc, closeFn, err := newService(ctx, lookup, io.Discard, discardLogger(), awsCfg)
	if err != nil {
		t.Fatalf("newService: %v", err)
	}
	t.Cleanup(func() { closeFn() })
	gw.svc = svc

	// setup.sql, as a user runs it, but for what the emulator lacks: the
	// storage integration object (its stage reads the S3 server with the
	// emulator's S3 options) and auto-ingest (the test calls insertFiles).
	runSQLFile(t, db, "setup.sql", func(stmt string) string {
		if strings.HasPrefix(stmt, "CREATE STORAGE INTEGRATION") {
			return ""
		}
		return strings.Replace(stmt, "AUTO_INGEST = TRUE", "AUTO_INGEST = FALSE", 1)
	})

	// Raw files land in S3 and are announced to the pipe.
	land := func(files ...int) {
		t.Helper()
		var paths []string
		for _, i := range files {
			f := inputFiles[i]
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(rawBucket), Key: aws.String(rawPrefix + f.name),
				Body: strings.NewReader(f.body)}); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, f.name) // relative to the stage, as insertFiles takes them
		}
		insertFiles(t, srv, clock, "PIPELINE.PUBLIC.FLATPIPE_RAW_PIPE", paths)
	}
	land(0, 1)
	if got := queryOne(t, db, "SELECT COUNT(*) FROM flatpipe_raw"); got != "5" {
		t.Fatalf("staging rows after the pipe = %s, want 5", got)
	}
	_, rows := queryAll(t, db, "SELECT file_name, file_row, v FROM flatpipe_raw ORDER BY file_name, file_row")
	if rows[3][0] != rawPrefix+"in/b.json" || rows[3][1] != "1" || !strings.Contains(rows[3][2], `"id":4`) {
		t.Errorf("staging row = %v, want %sin/b.json row 1 with id 4", rows[3], rawPrefix)
	}

	// Use 1: flatten(v) through EXECUTE TASK.
	mustExec(t, db, "EXECUTE TASK flatpipe_flatten_task")
	taskSucceeded(t, db, "FLATPIPE_FLATTEN_TASK")
	compareFlat(t, db, 2)

	// Use 2: load_file(bucket, key); the first answer is lost on the way
	// back, so Snowflake sends the batch again: it must load once.
	gw.mu.Lock()
	gw.loseNext = true
	gw.mu.Unlock()
	mustExec(t, db, "EXECUTE TASK flatpipe_load_task")
	taskSucceeded(t, db, "FLATPIPE_LOAD_TASK")
	// (DuckDB may hand the two files to the function in one chunk or two,
	// so one or two batches, plus the retry; a second batch sent while the
	// first runs is refused with 429 and sent again.)
	if ran := gw.calls["/load_file"] - gw.refused; gw.lost != 1 || svc.Replayed() != 1 || ran < 2 || ran > 3 {
		t.Errorf("lost %d answers, %d batches answered again, %d calls answered; want 1, 1, 2 or 3", gw.lost, svc.Replayed(), ran)
	}
	t.Logf("load_file: %d calls, %d refused with 429", gw.calls["/load_file"], gw.refused)
	compareLoadLog(t, db, map[string]int{rawPrefix + "in/a.json": 3, rawPrefix + "in/b.json": 2})
	compareTarget(t, db, 2)

	// Both streams are consumed; a second run has nothing to do.
	for _, s := range []string{"flatpipe_raw_stream", "flatpipe_files_stream"} {
		if got := queryOne(t, db, "SELECT COUNT(*) FROM "+s); got != "0" {
			t.Errorf("%s has %s rows after its task, want 0", s, got)
		}
	}
	calls := gw.calls["/load_file"] + gw.calls["/flatten"]
	mustExec(t, db, "EXECUTE TASK flatpipe_flatten_task")
	mustExec(t, db, "EXECUTE TASK flatpipe_load_task")
	if got := lastState(t, db, "FLATPIPE_LOAD_TASK"); got != "SKIPPED" {
		t.Errorf("second run: %s, want SKIPPED (WHEN SYSTEM$STREAM_HAS_DATA is false)", got)
	}
	if gw.calls["/load_file"]+gw.calls["/flatten"] != calls {
		t.Error("a second run called the function")
	}
	compareFlat(t, db, 2)
	compareTarget(t, db, 2)

	// A new file, and the schedule: the tasks are resumed by setup.sql and
	// run when the clock passes their interval.
	land(2)
	if n := srv.RunScheduledTasks(ctx); n != 0 {
		t.Errorf("%d runs before the interval", n)
	}
	clock.Advance(time.Minute)
	if n := srv.RunScheduledTasks(ctx); n != 2 {
		t.Fatalf("%d scheduled runs, want 2", n)
	}
	taskSucceeded(t, db, "FLATPIPE_FLATTEN_TASK")
	taskSucceeded(t, db, "FLATPIPE_LOAD_TASK")
	compareFlat(t, db, 3)
	compareLoadLog(t, db, map[string]int{rawPrefix + "in/a.json": 3, rawPrefix + "in/b.json": 2, rawPrefix + "in/later/c.json": 2})
	compareTarget(t, db, 3)
	if got := queryOne(t, db, "SELECT SYSTEM$STREAM_HAS_DATA('flatpipe_files_stream')"); got != "0" {
		t.Errorf("files stream has data after the scheduled run")
	}

	// teardown.sql removes the chain (the target table stays).
	runSQLFile(t, db, "teardown.sql", func(stmt string) string {
		if strings.HasPrefix(stmt, "DROP STORAGE INTEGRATION") {
			return ""
		}
		return stmt
	})
	_, rows = queryAll(t, db, "SHOW TASKS")
	if len(rows) != 0 {
		t.Errorf("tasks after teardown: %v", rows)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM events"); got != "7" {
		t.Errorf("target rows after teardown = %s, want 7 (kept)", got)
	}
}

// runSQLFile runs the statements of a file (each ends with ";" at the end
// of a line), with ${…} replaced and each statement passed through edit
// ("" skips it).
func runSQLFile(t *testing.T, db *sql.DB, name string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"RAW_BUCKET": rawBucket, "RAW_PREFIX": rawPrefix, "S3_ROLE_ARN": "arn:aws:iam::123456789012:role/sf-s3",
		"API_ROLE_ARN": "arn:aws:iam::123456789012:role/sf-api", "API_URL": apiURL, "WAREHOUSE": "etl"}
	text := placeholder.ReplaceAllStringFunc(string(b), func(m string) string {
		v, ok := vals[m[2:len(m)-1]]
		if !ok {
			t.Fatalf("%s: unknown placeholder %s", name, m)
		}
		return v
	})
	var stmt strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); (l == "" || strings.HasPrefix(l, "--")) && stmt.Len() == 0 {
			continue
		}
		stmt.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			s := edit(strings.TrimSpace(stmt.String()))
			stmt.Reset()
			if s != "" {
				mustExec(t, db, s)
			}
		}
	}
	if strings.TrimSpace(stmt.String()) != "" {
		t.Fatalf("%s ends without ';': %q", name, stmt.String())
	}
}

// placeholder is a ${NAME} of setup.sql (envsubst's syntax; $1 and
// METADATA$FILENAME are SQL).
var placeholder = regexp.MustCompile(`\$\{[A-Z0-9_]+\}`)

// insertFiles calls Snowpipe's REST endpoint with a key-pair token.
func insertFiles(t *testing.T, srv *snowflaketest.Server, clock *chainClock, pipe string, paths []string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := snowflaketest.KeyFingerprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	now := clock.Now()
	claims, _ := json.Marshal(map[string]any{"iss": "TEST.PIPEUSER." + fp, "sub": "TEST.PIPEUSER", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	var files []map[string]string
	for _, p := range paths {
		files = append(files, map[string]string{"path": p})
	}
	body, _ := json.Marshal(map[string]any{"files": files})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/data/pipes/"+pipe+"/insertFiles?requestId=r1", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+signing+"."+enc.EncodeToString(sig))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"SUCCESS"`) {
		t.Fatalf("insertFiles: %d %s", resp.StatusCode, out)
	}
}

func taskSucceeded(t *testing.T, db *sql.DB, task string) {
	t.Helper()
	_, rows := queryAll(t, db, "SELECT state, error_code, error_message FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => '"+task+"', RESULT_LIMIT => 1))")
	if len(rows) != 1 || rows[0][0] != "SUCCEEDED" {
		t.Fatalf("last run of %s = %v, want SUCCEEDED", task, rows)
	}
}

func lastState(t *testing.T, db *sql.DB, task string) string {
	t.Helper()
	_, rows := queryAll(t, db, "SELECT state FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => '"+task+"', RESULT_LIMIT => 1))")
	if len(rows) != 1 {
		t.Fatalf("no history for %s", task)
	}
	return rows[0][0]
}

// inputDocs returns the documents of the first n input files with their
// file name and row.
func inputDocs(n int) (docs []string, where []string) {
	for _, f := range inputFiles[:n] {
		for i, line := range strings.Split(strings.TrimSpace(f.body), "\n") {
			docs = append(docs, line)
			where = append(where, fmt.Sprintf("%s%s#%d", rawPrefix, f.name, i+1))
		}
	}
	return docs, where
}

// compareFlat checks flatpipe_flat against the input: one row per input
// document, its doc the document's flattened fields.
func compareFlat(t *testing.T, db *sql.DB, files int) {
	t.Helper()
	docs, where := inputDocs(files)
	_, rows := queryAll(t, db, "SELECT file_name, file_row, doc FROM flatpipe_flat ORDER BY file_name, file_row")
	if len(rows) != len(docs) {
		t.Fatalf("flatpipe_flat has %d rows, want %d", len(rows), len(docs))
	}
	fl, _ := flatten.New(flatten.Options{Separator: "."})
	for i, r := range rows {
		if got := r[0] + "#" + r[1]; got != where[i] {
			t.Errorf("row %d from %s, want %s", i, got, where[i])
		}
		fields, err := fl.Append(nil, []byte(docs[i]))
		if err != nil {
			t.Fatal(err)
		}
		if want := string(fieldsObject(fields)); !sameJSON(r[2], want) {
			t.Errorf("%s: doc = %s, want %s", where[i], r[2], want)
		}
	}
}

// compareLoadLog checks load_file's answers, one per file.
func compareLoadLog(t *testing.T, db *sql.DB, want map[string]int) {
	t.Helper()
	_, rows := queryAll(t, db, "SELECT file_name, result FROM flatpipe_load_log ORDER BY file_name")
	if len(rows) != len(want) {
		t.Fatalf("load log = %v, want one row per file of %v", rows, want)
	}
	for _, r := range rows {
		var a loadAnswer
		if err := json.Unmarshal([]byte(r[1]), &a); err != nil {
			t.Fatalf("answer %s: %v", r[1], err)
		}
		n := int64(want[r[0]])
		if a.Status != "loaded" || a.Records != n || a.Rows != n || a.Rejected != 0 || a.AlreadyLoaded != 0 || a.Files != 1 ||
			a.Object != "s3://"+rawBucket+"/"+r[0] {
			t.Errorf("load_file answer for %s = %+v, want loaded once with %d rows", r[0], a, n)
		}
	}
}

// compareTarget checks the target table cell for cell against the input:
// a column per flattened path (ID, USER_EMAIL, …), NULL where the key is
// missing.
func compareTarget(t *testing.T, db *sql.DB, files int) {
	t.Helper()
	docs, where := inputDocs(files)
	cols, rows := queryAll(t, db, "SELECT * FROM events ORDER BY id")
	if len(rows) != len(docs) {
		t.Fatalf("events has %d rows, want %d (each input record once)", len(rows), len(docs))
	}
	fl, _ := flatten.New(flatten.Options{Separator: "."})
	seen := map[string]bool{}
	for i, r := range rows {
		fields, err := fl.Append(nil, []byte(docs[i]))
		if err != nil {
			t.Fatal(err)
		}
		byCol := map[string]flatten.Field{}
		for _, f := range fields {
			c := strings.ToUpper(strings.ReplaceAll(string(f.Path), ".", "_"))
			byCol[c] = f
			seen[c] = true
		}
		for j, c := range cols {
			f, ok := byCol[c]
			if msg := cellDiff(f, ok, r[j]); msg != "" {
				t.Errorf("%s column %s: %s", where[i], c, msg)
			}
		}
	}
	for c := range seen {
		found := false
		for _, x := range cols {
			found = found || x == c
		}
		if !found {
			t.Errorf("no column %s in %v", c, cols)
		}
	}
}

// cellDiff says how a cell (as the driver reads it, "<nil>" for NULL)
// differs from the input field, or "".
func cellDiff(f flatten.Field, present bool, got string) string {
	switch {
	case !present:
		if got != "<nil>" {
			return fmt.Sprintf("missing key loaded as %q", got)
		}
		return ""
	case f.Kind == flatten.Null:
		if got != "<nil>" && got != "null" {
			return fmt.Sprintf("null loaded as %q", got)
		}
		return ""
	case got == "<nil>":
		return fmt.Sprintf("%s loaded as NULL", f.Value)
	}
	v := string(f.Value)
	switch f.Kind {
	case flatten.Number:
		a, err1 := strconv.ParseFloat(got, 64)
		b, err2 := strconv.ParseFloat(v, 64)
		if err1 != nil || err2 != nil || a != b {
			return fmt.Sprintf("got %q, want %s", got, v)
		}
	case flatten.Bool:
		if (got == "true" || got == "1") != (v == "true") || (got != "true" && got != "false" && got != "1" && got != "0") {
			return fmt.Sprintf("got %q, want %s", got, v)
		}
	case flatten.String:
		if got != v {
			return fmt.Sprintf("got %q, want %q", got, v)
		}
	default:
		if !sameJSON(got, v) {
			return fmt.Sprintf("got %s, want %s", got, v)
		}
	}
	return ""
}

func sameJSON(a, b string) bool {
	// Numbers compare by value: a VARIANT keeps 1.50 as 1.5.
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("Exec(%q): %v", q, err)
	}
}

func queryAll(t *testing.T, db *sql.DB, q string) ([]string, [][]string) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("Query(%q): %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
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
		t.Fatal(err)
	}
	return cols, out
}

func queryOne(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	_, rows := queryAll(t, db, q)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("Query(%q) = %v, want one value", q, rows)
	}
	return rows[0][0]
}

// TestLoadFileToS3 runs load_file in mode s3: the staged files go to the
// destination prefix for Snowpipe; a replay finds them there; a missing
// object fails its row only.
func TestLoadFileToS3(t *testing.T) {
	ctx := context.Background()
	s3srv := s3test.NewServer(t, s3test.Options{Buckets: []string{rawBucket, "staged"}, AccessKey: "AKID", SecretKey: "SECRET"})
	s3c := s3srv.Client()
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(rawBucket), Key: aws.String("events/in/a.json"),
		Body: strings.NewReader(inputFiles[0].body + "[1, 2]\n")}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FLATPIPE_MODE": "s3", "FLATPIPE_TABLE": "events", "FLATPIPE_DESTINATION": "s3://staged/snowpipe/events/",
		"FLATPIPE_S3_PATH_STYLE": "true", "AWS_ENDPOINT_URL_S3": s3srv.URL, "FLATPIPE_WORK_DIR": t.TempDir()}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	var emf bytes.Buffer // the function's stdout: CloudWatch EMF lines
	svc, closeFn, err := newService(ctx, lookup, &emf, discardLogger(), awsCfg)
	if err != nil {
		t.Fatalf("newService: %v", err)
	}
	t.Cleanup(func() { closeFn() })

	decode := func(raw json.RawMessage) loadAnswer {
		t.Helper()
		var a loadAnswer
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
		return a
	}
	vals := answers(t, mustHandle(t, svc, batchRequest("load_file", "s1", []any{rawBucket, "events/in/a.json"},
		[]any{rawBucket, "events/missing.json"}, []any{nil, "x"})), 3)
	a := decode(vals[0])
	if a.Status != "loaded" || a.Records != 4 || a.Rejected != 1 || a.Rows != 3 || a.Files != 1 || a.AlreadyLoaded != 0 {
		t.Errorf("loaded object: %+v, want 4 records, the array rejected, 3 rows in 1 file", a)
	}
	if m := decode(vals[1]); m.Status != "failed" || !strings.Contains(m.Error, "NoSuchKey") {
		t.Errorf("missing object: %+v, want failed with NoSuchKey", m)
	}
	if string(vals[2]) != "null" {
		t.Errorf("NULL bucket answered %s, want null", vals[2])
	}
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("staged"), Prefix: aws.String("snowpipe/events/")})
	if err != nil || len(out.Contents) != 1 || !strings.HasSuffix(aws.ToString(out.Contents[0].Key), ".ndjson.gz") {
		t.Fatalf("staged objects = %v, %v; want one NDJSON file", out, err)
	}
	// One EMF line per invocation, with the shared metric names.
	for _, m := range []string{`"Objects"`, `"Records"`, `"Rejects"`, `"Rows"`, `"Files"`, `"Outcome"`} {
		if !strings.Contains(emf.String(), m) {
			t.Errorf("metrics lack %s: %s", m, emf.String())
		}
	}
	// Another batch with the same object (a new query): the file is
	// already there and is not written again.
	a = decode(answers(t, mustHandle(t, svc, batchRequest("load_file", "s2", []any{rawBucket, "events/in/a.json"})), 1)[0])
	if a.Status != "loaded" || a.AlreadyLoaded != 1 {
		t.Errorf("replayed object: %+v, want its file already there", a)
	}
}
