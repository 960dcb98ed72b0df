package main

import (
	"bytes"
	"database/sql"
	"fmt"
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

// TestValidationAndRejectRate: a contract and a JSON Schema dead-letter the
// records they refuse, with their reasons; the reject rate above
// -max-reject-rate fails the job; EMF metrics are written.
func TestValidationAndRejectRate(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	writeSamples(t, in)
	contract := filepath.Join(dir, "contract.yaml")
	os.WriteFile(contract, []byte("allow_unknown: true\nfields:\n  - {path: type, required: true, types: [string], enum: [order]}\n"), 0o644)
	js := filepath.Join(dir, "schema.json")
	os.WriteFile(js, []byte(`{"type":"object","required":["id"],"properties":{"latency_ms":{"type":"integer","maximum":1500}}}`), 0o644)
	dead := filepath.Join(dir, "dead")
	code, out, errs := runInProcess(nil, "-progress", "none", "-dry-run", "-o", filepath.Join(dir, "out"), "-contract", contract, "-json-schema", js,
		"-dead-letter", dead, "-max-reject-rate", "0.5", "-metrics", "emf", in)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
	}
	reasons := map[string]int{}
	for _, d := range readDeadLetterDir(t, dead) {
		reasons[d.Reason]++
	}
	// Clicks with latency_ms > 1500 fail the JSON Schema; the other clicks
	// fail the contract (type is not "order").
	if reasons["json-schema"] == 0 || reasons["contract"] == 0 || reasons["contract"]+reasons["json-schema"] != 1196 {
		t.Errorf("dead letters by reason %v, want 1196 clicks split between json-schema and contract", reasons)
	}
	if !strings.Contains(out, `"CloudWatchMetrics"`) || !strings.Contains(out, `"RecordsRejected"`) {
		t.Errorf("no EMF metrics on stdout:\n%s", out)
	}
	code, out, errs = runInProcess(nil, "-progress", "none", "-dry-run", "-o", filepath.Join(dir, "out2"), "-contract", contract, in)
	if code != 1 || !strings.Contains(out, "too many records rejected") {
		t.Errorf("reject rate above the limit: exit %d, want 1\n%s%s", code, out, errs)
	}
}

// TestMergeAndReplace: merge by key makes a rerun of changed records an
// update, not a duplicate; replace swaps in a table holding only the new
// input.
func TestMergeAndReplace(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	if code, out := te.runJob(t, "-table", "events", "-disposition", "merge", "-key", "id", in); code != 2 {
		t.Fatalf("merge: exit %d\n%s", code, out)
	}
	// The same records again, a few of them changed.
	upd := filepath.Join(dir, "upd")
	os.Mkdir(upd, 0o755)
	changed := bytes.ReplaceAll(files["clicks-2026-02.ndjson.gz"], []byte(`"os":"linux"`), []byte(`"os":"plan9"`))
	os.WriteFile(filepath.Join(upd, "clicks.ndjson"), changed, 0o644)
	if code, out := te.runJob(t, "-table", "events", "-disposition", "merge", "-key", "id", upd); code != 2 {
		t.Fatalf("merge again: exit %d\n%s", code, out)
	}
	want := map[string][]byte{}
	for k, v := range files {
		want[k] = v
	}
	want["clicks-2026-02.ndjson.gz"] = changed
	checkTable(t, te.db, "EVENTS", expect(t, want))

	// Replace with the orders of January only.
	only := filepath.Join(dir, "only")
	os.Mkdir(only, 0o755)
	os.WriteFile(filepath.Join(only, "jan.ndjson"), files["orders-2026-01.ndjson.gz"], 0o644)
	if code, out := te.runJob(t, "-table", "events", "-disposition", "replace", "-chunk-records", "500", only); code != 2 {
		t.Fatalf("replace: exit %d\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, map[string][]byte{"jan": files["orders-2026-01.ndjson.gz"]}))
}

// TestNamedStage stages through a named internal stage the job creates.
func TestNamedStage(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	if code, out := te.runJob(t, "-table", "events", "-stage", "@landing", in); code != 2 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	rows, err := te.db.Query("LIST @LANDING")
	if err != nil {
		t.Fatalf("LIST @LANDING: %v", err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n == 0 {
		t.Error("no file went through the named stage")
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
	if code, _, errs := runInProcess(nil, "-stage", "landing", "-print-config"); code != 1 || !strings.Contains(errs, "stage") {
		t.Errorf("-stage landing: exit %d, want 1\n%s", code, errs)
	}
}

// TestExternalStage stages through an external S3 stage: the job uploads
// the files with the AWS SDK (no PUT) and COPY reads them from S3.
func TestExternalStage(t *testing.T) {
	te := newTestEnv(t)
	if _, err := te.db.Exec("CREATE STAGE landing URL = 's3://" + testBucket + "/staged/' STORAGE_INTEGRATION = s3_int"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	if code, out := te.runJob(t, "-table", "events", "-stage", "@landing=s3://"+testBucket+"/staged/", in); code != 2 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if ks := te.keys(t, "staged/"); len(ks) == 0 {
		t.Error("no file uploaded under s3://" + testBucket + "/staged/")
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

// TestHealthChecks: the checks run first and are reported; one failing
// (a bucket that does not exist) stops the job before any work.
func TestHealthChecks(t *testing.T) {
	te := newTestEnv(t)
	te.env = append(te.env, "SNOWFLAKE_WAREHOUSE=LOAD_WH")
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	writeSamples(t, in)
	code, out := te.runJob(t, "-table", "events", "-dead-letter", "s3://no-such-bucket/dead/", in)
	if code != 1 || !strings.Contains(out, "health checks failed, nothing done") || !strings.Contains(out, "FAIL  s3:no-such-bucket") {
		t.Fatalf("exit %d, want 1 with the failed bucket check\n%s", code, out)
	}
	for _, ok := range []string{"ok    snowflake-login", "ok    snowflake-warehouse", "ok    staging-disk"} {
		if !strings.Contains(out, ok) {
			t.Errorf("health report lacks %q\n%s", ok, out)
		}
	}
	if _, exists := tableExists(t, te); exists {
		t.Error("the table was created although a health check failed")
	}
	if code, out := te.runJob(t, "-table", "events", in); code != 2 || !strings.Contains(out, "health: ok") {
		t.Errorf("healthy run: exit %d\n%s", code, out)
	}
}

// TestLoadFailedDeadLetters: COPY rejects one staged file whole
// (LOAD_FAILED); instead of failing, the job dead-letters every record of
// that file (read again from the source, with its position and COPY's
// error), loads the rest, and exits 2 within the allowed rate.
func TestLoadFailedDeadLetters(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	te.sf.InjectFault(snowflaketest.Fault{FailFile: ".ndjson.gz", Skip: 4})
	dead := filepath.Join(dir, "dead")
	code, out := te.runJob(t, "-table", "events", "-chunk-records", "150", "-checkpoint", filepath.Join(dir, "cp"),
		"-dead-letter", dead, in)
	if code != 2 || !strings.Contains(out, "load-failed") {
		t.Fatalf("exit %d, want 2 with load-failed rejects\n%s", code, out)
	}
	failed, others := checkDeadLettersOnce(t, dead, files)
	if len(failed) != 1 {
		t.Fatalf("records of a failed file in %d inputs, want 1", len(failed))
	}
	for name, lines := range failed {
		// The failed file is one chunk: every good record of one range of
		// 150 records.
		var lo, hi int64 = 1 << 62, 0
		for l := range lines {
			lo, hi = min(lo, l), max(hi, l)
		}
		k := (lo - 1) / 150
		if (hi-1)/150 != k {
			t.Errorf("%s: failed records %d-%d span chunks", name, lo, hi)
		}
		want := expect(t, map[string][]byte{name: bytes.Join(bytes.Split(files[name], []byte("\n"))[k*150:min((k+1)*150, int64(len(linesOf(files[name]))))], []byte("\n"))})
		if len(lines) != len(want.rows) {
			t.Errorf("%s: %d records dead-lettered as load-failed, want the chunk's %d good records", name, len(lines), len(want.rows))
		}
	}
	e := expect(t, withoutLines(files, failed))
	if others != e.bad {
		t.Errorf("%d other dead letters, want %d", others, e.bad)
	}
	checkTable(t, te.db, "EVENTS", e)
}

// TestReplaceCheckpointed: replace loads into a staging table with
// checkpoints; killed after a checkpoint it leaves the old table as it
// was and resumes; killed right after the swap, the rerun drops what was
// swapped out without swapping back.
func TestReplaceCheckpointed(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	if code, out := te.runJob(t, "-table", "events", in); code != 2 {
		t.Fatalf("append: exit %d\n%s", code, out)
	}
	only := filepath.Join(dir, "only")
	os.Mkdir(only, 0o755)
	jan := map[string][]byte{"jan": files["orders-2026-01.ndjson.gz"]}
	os.WriteFile(filepath.Join(only, "jan.ndjson"), jan["jan"], 0o644)
	args := []string{"-table", "events", "-disposition", "replace", "-chunk-records", "500", "-checkpoint", filepath.Join(dir, "cp"), only}

	cmd, out := te.startJob(t, "committed:2", args...)
	if code := waitExit(t, cmd); code != -1 {
		t.Fatalf("exit %d, want killed after the second checkpoint\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files)) // untouched until the swap

	cmd, out = te.startJob(t, "swapped:1", args...)
	if code := waitExit(t, cmd); code != -1 || !strings.Contains(out.String(), "resuming from checkpoint") {
		t.Fatalf("exit %d, want a resumed run killed after the swap\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, jan))

	cmd, out = te.startJob(t, "", args...)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("rerun: exit %d, want 0 (everything done)\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, jan))
	if tables := tableComments(t, te); len(tables) != 1 || tables["EVENTS"] != "" {
		t.Errorf("tables after the replace %v, want EVENTS alone without a marker", tables)
	}
}

// TestReplaceShardsFinalize: two shards of a replace load the one staging
// table in parallel; the target stays as it was until -finalize 2, which
// refuses while a shard has not finished, then swaps once.
func TestReplaceShardsFinalize(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	os.Mkdir(old, 0o755)
	samples := sampleFiles()
	jan := map[string][]byte{"jan": samples["orders-2026-01.ndjson.gz"]}
	os.WriteFile(filepath.Join(old, "jan.ndjson"), jan["jan"], 0o644)
	if code, out := te.runJob(t, "-table", "events", old); code != 2 {
		t.Fatalf("append: exit %d\n%s", code, out)
	}
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := map[string][]byte{}
	for name, b := range samples {
		lines := bytes.SplitAfter(b, []byte("\n"))
		for i := 0; i < 4; i++ {
			part := bytes.Join(lines[i*len(lines)/4:(i+1)*len(lines)/4], nil)
			n := strings.Replace(name, ".ndjson.gz", "", 1) + "-" + string(rune('a'+i)) + ".ndjson"
			files[n] = part
			os.WriteFile(filepath.Join(in, n), part, 0o644)
		}
	}
	cp := filepath.Join(dir, "cp")
	base := []string{"-table", "events", "-disposition", "replace", "-checkpoint", cp}
	code, out := te.runJob(t, append(base, "-finalize", "2")...)
	if code != 1 || !strings.Contains(out, "shard(s) 0/2, 1/2 have not finished") {
		t.Fatalf("-finalize before the shards: exit %d, want 1 naming both shards\n%s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-disposition", "replace", "-shard", "0/2"}, "needs -checkpoint"},
		{[]string{"-finalize", "2", "-checkpoint", cp}, "needs -disposition replace"},
		{[]string{"-disposition", "replace", "-finalize", "2"}, "needs -disposition replace and their -checkpoint"},
		{[]string{"-disposition", "replace", "-finalize", "2", "-checkpoint", cp, "-shard", "1/2"}, "no -shard"},
		{[]string{"-disposition", "merge", "-key", "id", "-arrays", "tables"}, "merge with -arrays tables is not supported"},
	} {
		if code, _, errs := runInProcess(nil, append(c.args, "-print-config")...); code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want a configuration error %q\n%s", c.args, code, c.want, errs)
		}
	}

	cmds := make([]*bytesCmd, 2)
	for i := range cmds {
		c, out := te.startJob(t, "", append(base, "-shard", []string{"0/2", "1/2"}[i], "-chunk-records", "200", in)...)
		cmds[i] = &bytesCmd{c, out}
	}
	for i, c := range cmds {
		if code := waitExit(t, c.cmd); code != 2 && code != 0 || !strings.Contains(c.out.String(), "-finalize") {
			t.Fatalf("shard %d: exit %d\n%s", i, code, c.out)
		}
	}
	checkTable(t, te.db, "EVENTS", expect(t, jan)) // not swapped yet

	code, out = te.runJob(t, append(base, "-finalize", "2")...)
	if code != 0 || !strings.Contains(out, "swapped in for EVENTS") {
		t.Fatalf("-finalize: exit %d\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
	code, out = te.runJob(t, append(base, "-finalize", "2")...)
	if code != 0 || !strings.Contains(out, "nothing to swap") {
		t.Errorf("-finalize again: exit %d, want 0 with nothing to swap\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

// tableComments lists the tables of the test schema with their comments.
func tableComments(t *testing.T, te *testEnv) map[string]string {
	t.Helper()
	rows, err := te.db.Query("SELECT TABLE_NAME, COMMENT FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = CURRENT_SCHEMA()")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, c sql.NullString
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		if n.String != "FLATPIPE_LOADS" && n.String != rejectsTable {
			out[n.String] = c.String
		}
	}
	return out
}

// TestDeadLettersReplacedOnRedo: with the dead letters in S3, a run whose
// first chunk's first file COPY rejects whole publishes that file's records
// as dead letters and is killed before its checkpoint; the rerun redoes the
// chunk, which now loads and rejects nothing, and removes the stale
// object: in the end every record is either in the table or in the dead
// letters, once.
func TestDeadLettersReplacedOnRedo(t *testing.T) {
	te := newTestEnv(t)
	files := sampleFiles()
	for name, b := range files {
		te.putObject(t, "in/"+name, gzipBytes(t, b))
	}
	te.sf.InjectFault(snowflaketest.Fault{FailFile: ".ndjson.gz"})
	args := []string{"-table", "events", "-chunk-records", "100", "-checkpoint", "s3://" + testBucket + "/cp/",
		"-dead-letter", "s3://" + testBucket + "/dead/", "s3://" + testBucket + "/in/"}
	cmd, out := te.startJob(t, "loaded:1", args...)
	if code := waitExit(t, cmd); code != -1 {
		t.Fatalf("exit %d, want killed after the first chunk\n%s", code, out)
	}
	published := 0
	for _, k := range te.keys(t, "dead/") {
		for _, d := range parseDeadLetters(t, te.getObject(t, k)) {
			if d.Reason != "load-failed" {
				t.Errorf("dead letter %+v, want only the failed file's records", d)
			}
			published++
		}
	}
	if published == 0 {
		t.Fatalf("no dead letters published by the killed run\n%s", out)
	}
	cmd, out = te.startJob(t, "", args...)
	if code := waitExit(t, cmd); code != 2 {
		t.Fatalf("rerun: exit %d, want 2\n%s", code, out)
	}
	e := expect(t, files)
	var dls int
	for _, k := range te.keys(t, "dead/") {
		for _, d := range parseDeadLetters(t, te.getObject(t, k)) {
			if d.Reason == "load-failed" {
				t.Errorf("stale dead letter %s line %d from the killed run", d.Object, d.Line)
			}
			dls++
		}
	}
	if dls != e.bad {
		t.Errorf("%d dead letters, want the %d bad records", dls, e.bad)
	}
	checkTable(t, te.db, "EVENTS", e)
}

// TestRefusedRowsKeptOnRedo: COPY refuses single rows (ON_ERROR =
// CONTINUE, a NULL in a NOT NULL column of a table created beforehand);
// the run is killed after the first chunk's load and dead letters, before
// its checkpoint. The rerun redoes the chunk, whose file COPY now skips as
// loaded (package load's ledger has it done, so VALIDATE's rows are not
// handed again): the refused records, kept in FLATPIPE_BATCH_REJECTS, are
// dead-lettered again, each once with its line, the table and COPY's
// error, and the table holds every other record, cell for cell.
func TestRefusedRowsKeptOnRedo(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	var b bytes.Buffer
	refused := map[int64]bool{17: true, 90: true, 151: true}
	for i := int64(1); i <= 200; i++ {
		if refused[i] {
			fmt.Fprintf(&b, `{"id":%d,"type":"order"}`+"\n", i)
			continue
		}
		fmt.Fprintf(&b, `{"id":%d,"type":"order","customer":{"name":"c%d"}}`+"\n", i, i%7)
	}
	input := b.Bytes()
	os.WriteFile(filepath.Join(in, "orders.ndjson"), input, 0o644)
	if _, err := te.db.Exec(`CREATE TABLE EVENTS (ID NUMBER(38,0), CUSTOMER_NAME VARCHAR NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "dead")
	args := []string{"-table", "events", "-chunk-records", "50", "-checkpoint", filepath.Join(dir, "cp"), "-dead-letter", dead, in}
	cmd, out := te.startJob(t, "loaded:1", args...)
	if code := waitExit(t, cmd); code != -1 {
		t.Fatalf("exit %d, want killed after the first chunk\n%s", code, out)
	}
	cmd, out = te.startJob(t, "", args...)
	if code := waitExit(t, cmd); code != 2 {
		t.Fatalf("rerun: exit %d, want 2\n%s", code, out)
	}
	got, others := loadRejects(t, dead, input, "EVENTS")
	if others != 0 || len(got) != len(refused) {
		t.Errorf("dead letters %v and %d others, want lines %v", got, others, refused)
	}
	for l := range refused {
		if got[l] != "load-rejected" {
			t.Errorf("line %d: dead letter %q, want load-rejected", l, got[l])
		}
	}
	checkTable(t, te.db, "EVENTS", expect(t, withoutLines(map[string][]byte{"orders.ndjson": input}, map[string]map[int64]bool{"orders.ndjson": refused})))
}
