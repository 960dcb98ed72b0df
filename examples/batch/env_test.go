package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

// TestMain runs the job itself when the crash tests start this test binary
// as a subprocess (BATCH_TEST_MAIN=1), killing itself with SIGKILL at the
// point BATCH_TEST_CRASH names ("loaded:2": the second time a chunk is
// loaded, before its checkpoint).
func TestMain(m *testing.M) {
	if os.Getenv("BATCH_TEST_MAIN") == "1" {
		os.Exit(runMain(crashHook(os.Getenv("BATCH_TEST_CRASH"))))
	}
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	os.Exit(m.Run())
}

func crashHook(spec string) func(string) {
	sig := syscall.SIGKILL
	if rest, ok := strings.CutPrefix(spec, "term@"); ok {
		sig, spec = syscall.SIGTERM, rest
	}
	point, nStr, ok := strings.Cut(spec, ":")
	n, err := strconv.Atoi(nStr)
	if !ok || err != nil {
		return nil
	}
	var count atomic.Int64 // uploads report from several goroutines
	return func(p string) {
		if p != point {
			return
		}
		if count.Add(1) == int64(n) {
			syscall.Kill(os.Getpid(), sig)
			if sig == syscall.SIGKILL {
				select {} // never returns
			}
		}
	}
}

const (
	testAccessKey = "AKIDBATCHTEST"
	testSecretKey = "batch-s3-secret-do-not-leak"
	testBucket    = "data"
)

// testEnv is an emulator and an in-process S3 server on loopback.
type testEnv struct {
	sf  *snowflaketest.Server
	db  *sql.DB
	s3  *s3.Client
	rec *recorder
	env []string // SNOWFLAKE_* and AWS_* for the job
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	te := &testEnv{}
	srv := s3test.NewServer(t, s3test.Options{
		Buckets:   []string{testBucket},
		AccessKey: testAccessKey, SecretKey: testSecretKey,
		Wrap: func(h http.Handler) http.Handler {
			te.rec = &recorder{next: h}
			return te.rec
		},
	})
	te.s3 = srv.Client()
	// External stages of the emulator read the same S3 server.
	sf, err := snowflaketest.NewServer(snowflaketest.Options{
		S3: snowflaketest.S3Options{Endpoint: srv.URL, AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	db := sf.OpenDB()
	t.Cleanup(func() { db.Close() })
	cfg := sf.Config()
	te.sf, te.db = sf, db
	te.env = append(te.env,
		"SNOWFLAKE_ACCOUNT="+cfg.Account, "SNOWFLAKE_USER="+cfg.User, "SNOWFLAKE_PASSWORD="+cfg.Password,
		"SNOWFLAKE_DATABASE="+cfg.Database, "SNOWFLAKE_SCHEMA="+cfg.Schema,
		"SNOWFLAKE_HOST="+cfg.Host, "SNOWFLAKE_PORT="+strconv.Itoa(cfg.Port), "SNOWFLAKE_PROTOCOL=http")

	te.env = append(te.env, "AWS_ENDPOINT_URL_S3="+srv.URL, "AWS_ACCESS_KEY_ID="+testAccessKey,
		"AWS_SECRET_ACCESS_KEY="+testSecretKey, "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "FLATPIPE_S3_PATH_STYLE=true")
	return te
}

// setenv puts the job's environment into the process (the AWS SDK reads
// it from there) for an in-process run.
func (te *testEnv) setenv(t *testing.T) {
	for _, kv := range te.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// runJob runs the job in-process and returns its exit status and output.
func (te *testEnv) runJob(t *testing.T, args ...string) (int, string) {
	t.Helper()
	te.setenv(t)
	var out bytes.Buffer
	var stopping atomic.Bool
	code := run(context.Background(), append([]string{"-progress", "none"}, args...), os.Environ, &out, &out, &stopping, nil)
	return code, out.String()
}

// startJob starts the job as a subprocess (this test binary).
func (te *testEnv) startJob(t *testing.T, crash string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-progress", "none"}, args...)...)
	cmd.Env = append(append(os.Environ(), te.env...), "BATCH_TEST_MAIN=1", "BATCH_TEST_CRASH="+crash)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

func (te *testEnv) putObject(t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := te.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func (te *testEnv) keys(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := te.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

func (te *testEnv) getObject(t *testing.T, key string) []byte {
	t.Helper()
	out, err := te.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeSamples writes the sample files (gzip'd) into dir.
func writeSamples(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := sampleFiles()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), gzipBytes(t, b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// expected holds the rows the table must hold: per ID, column → cell.
type expected struct {
	rows map[string]map[string]cell
	bad  int
}

type cell struct {
	kind  flatten.Kind
	value string
}

// expect flattens the good records of the inputs the way the job must
// (same limits), independently of the job's code paths.
func expect(t *testing.T, inputs map[string][]byte) expected {
	t.Helper()
	f, err := flatten.New(flatten.Options{Separator: "."})
	if err != nil {
		t.Fatal(err)
	}
	e := expected{rows: map[string]map[string]cell{}}
	for _, data := range inputs {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if schema.Depth(line) > 64 {
				e.bad++
				continue
			}
			fields, err := f.Append(nil, line)
			if err != nil {
				e.bad++
				continue
			}
			row := map[string]cell{}
			for _, fl := range fields {
				row[string(schema.Normalize(nil, string(fl.Path), schema.NameOptions{}))] = cell{fl.Kind, string(fl.Value)}
			}
			id := row["ID"].value
			if _, dup := e.rows[id]; dup {
				t.Fatalf("test data: duplicate id %s", id)
			}
			e.rows[id] = row
		}
	}
	return e
}

// tableRows reads the whole table: per ID, the rows with that ID (more than
// one is a duplicate load). Cells of DATE and TIMESTAMP_* columns (times
// names them, with their type) are read as the driver's time.Time and
// written in RFC 3339 with nanoseconds and the value's offset.
func tableRows(t *testing.T, db *sql.DB, table string) (rowsByID map[string][]map[string]sql.NullString, n int, times map[string]string) {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatalf("SELECT * FROM %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	times = map[string]string{}
	for i, ct := range cts {
		if typ := ct.DatabaseTypeName(); typ == "DATE" || strings.HasPrefix(typ, "TIMESTAMP") {
			times[cols[i]] = typ
		}
	}
	out := map[string][]map[string]sql.NullString{}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		tvals := make([]sql.NullTime, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
			if times[cols[i]] != "" {
				ptrs[i] = &tvals[i]
			}
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]sql.NullString{}
		for i, c := range cols {
			if times[c] != "" {
				vals[i] = sql.NullString{String: tvals[i].Time.Format(time.RFC3339Nano), Valid: tvals[i].Valid}
			}
			m[c] = vals[i]
		}
		out[m["ID"].String] = append(out[m["ID"].String], m)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, n, times
}

// checkTable compares the table with the expected rows cell for cell: every
// good record exactly once, every column of it with its value, every other
// column NULL.
func checkTable(t *testing.T, db *sql.DB, table string, e expected) {
	t.Helper()
	got, n, times := tableRows(t, db, table)
	if n != len(e.rows) {
		t.Errorf("table %s has %d rows, want %d", table, n, len(e.rows))
	}
	bad, cells := 0, 0
	defer func() { t.Logf("table %s: %d rows, %d non-null cells compared", table, n, cells) }()
	for id, want := range e.rows {
		rs := got[id]
		if len(rs) != 1 {
			t.Errorf("id %s: %d rows, want exactly 1", id, len(rs))
			bad++
			continue
		}
		r := rs[0]
		for col, v := range r {
			w, ok := want[col]
			if !ok || w.kind == flatten.Null {
				if v.Valid {
					t.Errorf("id %s column %s = %q, want NULL", id, col, v.String)
					bad++
				}
				continue
			}
			if !v.Valid {
				t.Errorf("id %s column %s = NULL, want %q", id, col, w.value)
				bad++
				continue
			}
			cells++
			if typ := times[col]; typ != "" {
				if !sameTime(w, v.String, typ) {
					t.Errorf("id %s column %s (%s) = %s, want the time %q", id, col, typ, v.String, w.value)
					bad++
				}
				continue
			}
			if !sameCell(w, v.String) {
				t.Errorf("id %s column %s = %q, want %q", id, col, v.String, w.value)
				bad++
			}
		}
		for col := range want {
			if _, ok := r[col]; !ok {
				t.Errorf("id %s: column %s missing from the table", id, col)
				bad++
			}
		}
		if bad > 20 {
			t.Fatal("too many differences")
		}
	}
	for id := range got {
		if _, ok := e.rows[id]; !ok {
			t.Errorf("table holds id %s, which no good record has", id)
		}
	}
}

func sameCell(w cell, got string) bool {
	switch w.kind {
	case flatten.Bool:
		if w.value == "true" {
			return got == "1" || got == "true" || got == "TRUE"
		}
		return got == "0" || got == "false" || got == "FALSE"
	case flatten.Object, flatten.Array:
		var a, b any
		if json.Unmarshal([]byte(w.value), &a) != nil || json.Unmarshal([]byte(got), &b) != nil {
			return false
		}
		return reflect.DeepEqual(a, b)
	}
	return got == w.value
}

// sameTime reports whether got, a cell of a column of type typ read as a
// time.Time (RFC 3339 with nanoseconds), holds the input's time w: for
// TIMESTAMP_TZ the same instant in the same offset; for TIMESTAMP_NTZ the
// same wall clock (a written offset is not kept); for DATE the same date.
// An input that is not an ISO-8601 string never matches.
func sameTime(w cell, got, typ string) bool {
	g, err := time.Parse(time.RFC3339Nano, got)
	if err != nil || w.kind != flatten.String {
		return false
	}
	want, zoned := parseInputTime(w.value)
	if want.IsZero() {
		return false
	}
	switch typ {
	case "DATE":
		return len(w.value) == 10 && g.Format(time.DateOnly) == w.value
	case "TIMESTAMP_NTZ":
		return g.Format("2006-01-02T15:04:05.999999999") == want.Format("2006-01-02T15:04:05.999999999")
	case "TIMESTAMP_TZ":
		_, gOff := g.Zone()
		_, wo := want.Zone()
		// Without an offset the value takes the session's zone (UTC here).
		return g.Equal(want) && (gOff == wo || !zoned && gOff == 0)
	}
	return false
}

// parseInputTime parses the ISO-8601 forms of the test inputs: a date, a
// timestamp with or without fraction, with or without "Z" or ±hh:mm
// (zoned says which); without one it is taken as UTC.
func parseInputTime(v string) (tm time.Time, zoned bool) {
	if tm, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return tm, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", time.DateOnly} {
		if tm, err := time.Parse(layout, v); err == nil {
			return tm, false
		}
	}
	return time.Time{}, false
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// recorder can answer requests itself, to inject S3 faults.
type recorder struct {
	next http.Handler

	mu       sync.Mutex
	override func(r *http.Request) (status int, code string)
	gets     int
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	o := h.override
	if r.Method == http.MethodGet {
		h.gets++
	}
	h.mu.Unlock()
	if o != nil {
		if status, code := o(r); status != 0 {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test</Message><RequestId>TESTREQ</RequestId></Error>`, code)
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

func (h *recorder) setOverride(f func(r *http.Request) (int, string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.override = f
}

// waitExit waits for cmd and returns its exit code, or -1 when a signal
// killed it.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
		return ee.ExitCode()
	}
	t.Fatal(err)
	return 0
}
