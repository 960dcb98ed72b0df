package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// TestFaultsMidRun injects faults into S3 (503 SlowDown on reads) and into
// the emulator (HTTP 503, an expired session, a throttling error and a
// failed upload around COPY and PUT) while the job runs; the job rides them
// out and the table holds every record exactly once.
func TestFaultsMidRun(t *testing.T) {
	te := newTestEnv(t)
	files := sampleFiles()
	for name, b := range files {
		te.putObject(t, "in/"+name, gzipBytes(t, b))
	}
	var mu sync.Mutex
	gets := 0
	te.rec.setOverride(func(r *http.Request) (int, string) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/in/") {
			return 0, ""
		}
		mu.Lock()
		defer mu.Unlock()
		gets++
		if gets%2 == 1 { // every first attempt of a read fails
			return http.StatusServiceUnavailable, "SlowDown"
		}
		return 0, ""
	})
	te.sf.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Skip: 1, Status: http.StatusServiceUnavailable})
	te.sf.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Skip: 2, SessionExpired: true})
	te.sf.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Skip: 3, Times: 2,
		Error: &snowflaketest.SQLError{Number: 625, SQLState: "57014", Message: "Statement reached its statement or warehouse timeout of 0 second(s) and was canceled."}})
	te.sf.InjectFault(snowflaketest.Fault{Path: snowflaketest.UploadPath, Skip: 2, Status: http.StatusInternalServerError})
	code, out := te.runJob(t, "-table", "events", "-chunk-records", "700", "-checkpoint", filepath.Join(t.TempDir(), "cp"),
		"s3://"+testBucket+"/in/")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	if gets < 6 {
		t.Errorf("only %d S3 reads: the S3 faults were not exercised", gets)
	}
	if !strings.Contains(out, "retrying a load step") {
		t.Errorf("no retry of a load step logged:\n%s", out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

// TestBreakerOpensThenRerun: a COPY that keeps failing with a retryable
// error opens the circuit breaker (an alert is raised) and fails the job
// with its checkpoint intact; once the fault is gone, a rerun with the same
// arguments finishes and every record is in the table once.
func TestBreakerOpensThenRerun(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	te.sf.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Skip: 3, Times: -1,
		Error: &snowflaketest.SQLError{Number: 625, SQLState: "57014", Message: "too many statements waiting for a lock"}})
	args := []string{"-table", "events", "-chunk-records", "500", "-checkpoint", filepath.Join(dir, "cp"), in}
	code, out := te.runJob(t, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "breaker-open") || !strings.Contains(out, "circuit breaker open") {
		t.Errorf("no breaker-open alert:\n%s", out)
	}
	te.sf.ClearFaults()
	code, out = te.runJob(t, args...)
	if code != 2 && code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "resuming from checkpoint") {
		t.Errorf("the rerun did not resume:\n%s", out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

// TestDryRun stages files only: the files hold every good record, nothing
// reaches Snowflake.
func TestDryRun(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	writeSamples(t, in)
	out := filepath.Join(dir, "out")
	code, rep := te.runJob(t, "-dry-run", "-o", out, "-format", "csv", "-compression", "zstd", in)
	if code != 2 || !strings.Contains(rep, "staged (dry run)") {
		t.Fatalf("exit %d\n%s", code, rep)
	}
	staged, _ := filepath.Glob(filepath.Join(out, "*.csv.zst"))
	if len(staged) == 0 {
		t.Errorf("no staged CSV zstd files in %s", out)
	}
	if _, n := tableExists(t, te); n {
		t.Error("a dry run created the table")
	}
}

func tableExists(t *testing.T, te *testEnv) (string, bool) {
	var n int
	err := te.db.QueryRow("SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'EVENTS'").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return "EVENTS", n > 0
}
