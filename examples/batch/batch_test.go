package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/resilience"
)

// TestS3EndToEnd loads an S3 prefix holding good and bad records through
// the real driver into the emulator, with the checkpoint and the dead
// letters in S3, and compares the table cell for cell with the input.
func TestS3EndToEnd(t *testing.T) {
	te := newTestEnv(t)
	files := sampleFiles()
	for name, b := range files {
		te.putObject(t, "in/"+name, gzipBytes(t, b))
	}
	te.putObject(t, "other/ignored.ndjson", []byte(`{"id":-1}`+"\n"))
	code, out := te.runJob(t, "-table", "events", "-chunk-records", "1000",
		"-checkpoint", "s3://"+testBucket+"/checkpoints/", "-dead-letter", "s3://"+testBucket+"/dead/", "s3://"+testBucket+"/in/")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (some records dead-lettered)\n%s", code, out)
	}
	e := expect(t, files)
	checkTable(t, te.db, "EVENTS", e)
	// -detect-time (the default): the orders' placed_at and the clicks' ts
	// are TIMESTAMP_TZ, compared above as instants in their offsets.
	if types := columnTypes(t, te.db, "EVENTS"); types["PLACED_AT"] != "TIMESTAMP_TZ" || types["TS"] != "TIMESTAMP_TZ" {
		t.Errorf("PLACED_AT is %s and TS %s, want TIMESTAMP_TZ", types["PLACED_AT"], types["TS"])
	}

	// Dead letters: one per bad record, with its object, line and reason.
	var dls []resilience.DeadLetter
	for _, k := range te.keys(t, "dead/") {
		r := resilience.NewDeadLetterReader(bytes.NewReader(te.getObject(t, k)), resilience.DeadLetterReaderOptions{})
		for r.Next() {
			dls = append(dls, r.DeadLetter())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(dls) != e.bad {
		t.Errorf("%d dead letters, want %d", len(dls), e.bad)
	}
	for _, d := range dls {
		if !strings.HasPrefix(d.Object, "s3://"+testBucket+"/in/") || d.Line < 1 || d.Reason == "" || d.Error == "" {
			t.Errorf("dead letter without provenance or reason: %+v", d)
		}
		name := strings.TrimPrefix(d.Object, "s3://"+testBucket+"/in/")
		lines := bytes.Split(files[name], []byte("\n"))
		if int(d.Line) > len(lines) || !bytes.Equal(lines[d.Line-1], d.Record) {
			t.Errorf("dead letter %s line %d: record %q is not that line", d.Object, d.Line, d.Record)
		}
	}
	// The checkpoint, and the chunk size its next chunk is cut with.
	if ks := te.keys(t, "checkpoints/"); !slices.Equal(ks, []string{"checkpoints/EVENTS.shard-0-of-1.chunking.json", "checkpoints/EVENTS.shard-0-of-1.json"}) {
		t.Errorf("checkpoint objects %v, want the checkpoint and its chunk size", ks)
	}

	// A second run finds everything done and loads nothing again.
	code, out = te.runJob(t, "-table", "events", "-chunk-records", "1000",
		"-checkpoint", "s3://"+testBucket+"/checkpoints/", "s3://"+testBucket+"/in/")
	if code != 0 || !strings.Contains(out, "3 already done") {
		t.Errorf("rerun: exit %d, want 0 with every object done\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", e)
}

// TestCrashExactlyOnce kills the job (a subprocess, SIGKILL) and reruns it
// with the same arguments until it finishes, then checks that every record
// is in the table exactly once, cell for cell, and every rejected record
// exactly once in the dead letters.
//
// Boundaries: every run makes exactly one more chunk durable and dies at
// the next crash point, cycling through after a PUT before its COPY
// ("put:2": the second PUT of the run, the first being the chunk it
// completed), after a COPY and the chunk's dead letters before its
// checkpoint ("loaded:2"), right after a checkpoint ("committed:1") and
// right after claiming the shard ("claimed:1", no progress), so each of the
// 17 chunk boundaries is hit by one of them; COPY rejects one staged file
// whole on its first try (its records are dead-lettered, or loaded when
// the chunk is redone). Random: a second table is loaded by runs killed
// after a random delay (the seed is logged). Tables: -arrays tables, the
// root and child tables of each chunk loaded one after the other, killed
// at the boundaries too (after the third PUT, as a chunk has two files).
func TestCrashExactlyOnce(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, phase := range []string{"boundaries", "random", "tables"} {
		table := "EVENTS_" + strings.ToUpper(phase)
		dead := filepath.Join(dir, "dead-"+phase)
		chunk := "250"
		if phase == "tables" {
			chunk = "700"
		}
		args := []string{"-table", table, "-chunk-records", chunk, "-checkpoint", filepath.Join(dir, "cp-"+phase),
			"-dead-letter", dead, in}
		points := []string{"put:2", "loaded:2", "committed:1", "claimed:1"}
		switch phase {
		case "boundaries":
			te.sf.InjectFault(snowflaketest.Fault{FailFile: ".ndjson.gz", Skip: 5})
		case "tables":
			// One staged file fails once (the fourth COPY takes: a
			// root-table file of the first orders chunk), so its
			// records' child rows must go too.
			te.sf.InjectFault(snowflaketest.Fault{FailFile: ".ndjson.gz", Skip: 3})
			args = append([]string{"-arrays", "tables"}, args...)
			points[0] = "put:3"
		}
		kills, finished := map[string]int{}, false
		for run := 0; run < 100 && !finished; run++ {
			crash, delay := points[run%len(points)], time.Duration(0)
			if phase == "random" {
				crash, delay = "", time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
			}
			cmd, out := te.startJob(t, crash, args...)
			if delay > 0 {
				timer := time.AfterFunc(delay, func() { cmd.Process.Kill() })
				defer timer.Stop()
			}
			switch code := waitExit(t, cmd); code {
			case -1:
				kills[crash]++
			case 0, 2: // 0 when the rejects were all in earlier runs
				finished = true
				t.Logf("%s: finished after %d runs, kills %v", phase, run+1, kills)
			default:
				t.Fatalf("%s run %d (%q): exit %d\n%s", phase, run, crash, code, out)
			}
		}
		te.sf.ClearFaults()
		if !finished {
			t.Fatalf("%s: the job never finished", phase)
		}
		if phase == "boundaries" && kills["put:2"]+kills["loaded:2"]+kills["committed:1"] < 16 {
			t.Errorf("boundaries: kills %v, want one per chunk boundary", kills)
		}
		failed, others := checkDeadLettersOnce(t, dead, files)
		t.Logf("%s: %d records dead-lettered before loading, %d of files COPY rejected whole", phase, others, countLines(failed))
		if phase == "tables" {
			want := expectTables(t, table, withoutLines(files, failed))
			checkTables(t, te.db, want)
			if others != want.bad {
				t.Errorf("%s: %d records dead-lettered, want the %d bad ones", phase, others, want.bad)
			}
			continue
		}
		want := expect(t, withoutLines(files, failed))
		checkTable(t, te.db, table, want)
		if others != want.bad {
			t.Errorf("%s: %d records dead-lettered, want the %d bad ones", phase, others, want.bad)
		}
	}
}

// checkDeadLettersOnce reads the dead letters under dir: every one is the
// record of its input line, none is there twice. It returns the records
// dead-lettered because COPY rejected their file whole (by input file
// name and line) and how many others there are.
func checkDeadLettersOnce(t *testing.T, dir string, files map[string][]byte) (map[string]map[int64]bool, int) {
	t.Helper()
	seen := map[string]bool{}
	failed := map[string]map[int64]bool{}
	others := 0
	for _, d := range readDeadLetterDir(t, dir) {
		key := d.Object + "#" + itoa(d.Line)
		if seen[key] {
			t.Errorf("record %s dead-lettered twice", key)
		}
		seen[key] = true
		name := filepath.Base(d.Object)
		if !bytes.Equal(linesOf(files[name])[d.Line], d.Record) {
			t.Errorf("dead letter %s line %d: record %q is not that line", d.Object, d.Line, d.Record)
		}
		if d.Reason == "load-failed" {
			if !strings.Contains(d.Error, "LOAD_FAILED") {
				t.Errorf("dead letter %s: error %q does not give COPY's status", key, d.Error)
			}
			if failed[name] == nil {
				failed[name] = map[int64]bool{}
			}
			failed[name][d.Line] = true
			continue
		}
		others++
	}
	return failed, others
}

func countLines(m map[string]map[int64]bool) int {
	n := 0
	for _, l := range m {
		n += len(l)
	}
	return n
}

// TestShardsInParallel runs two shards of the same inputs at once: together
// they cover every object exactly once, each keeps its own checkpoint, and
// both evolve the one table as their records need.
func TestShardsInParallel(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	// Twelve objects: the samples cut into pieces.
	files := map[string][]byte{}
	for name, b := range sampleFiles() {
		lines := bytes.SplitAfter(b, []byte("\n"))
		for i := 0; i < 4; i++ {
			part := bytes.Join(lines[i*len(lines)/4:(i+1)*len(lines)/4], nil)
			n := strings.Replace(name, ".ndjson.gz", "", 1) + "-" + string(rune('a'+i)) + ".ndjson"
			files[n] = part
			os.WriteFile(filepath.Join(in, n), part, 0o644)
		}
	}
	cmds := make([]*bytesCmd, 2)
	for i := range cmds {
		c, out := te.startJob(t, "", "-table", "events", "-shard", []string{"0/2", "1/2"}[i], "-chunk-records", "200",
			"-checkpoint", filepath.Join(dir, "cp"), "-dead-letter", filepath.Join(dir, "dead"), in)
		cmds[i] = &bytesCmd{c, out}
	}
	objects := 0
	for i, c := range cmds {
		if code := waitExit(t, c.cmd); code != 2 && code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, code, c.out)
		}
		n := countObjects(t, c.out.String())
		if n == 0 || n == 12 {
			t.Errorf("shard %d took %d of 12 objects, want a share", i, n)
		}
		objects += n
	}
	if objects != 12 {
		t.Errorf("the shards took %d objects, want 12", objects)
	}
	cps, _ := filepath.Glob(filepath.Join(dir, "cp", "*-of-2.checkpoint.json"))
	if len(cps) != 2 {
		t.Errorf("checkpoints %v, want one per shard", cps)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

// TestShardClaimedOnce: two copies of the job started for the same shard
// with the checkpoint in S3: the conditional writes let only one of them
// advance it; the other stops with a conflict, and nothing is loaded twice.
func TestShardClaimedOnce(t *testing.T) {
	te := newTestEnv(t)
	te.setenv(t)
	files := sampleFiles()
	for name, b := range files {
		te.putObject(t, "in/"+name, gzipBytes(t, b))
	}
	args := []string{"-progress", "none", "-table", "events", "-chunk-records", "1000",
		"-checkpoint", "s3://" + testBucket + "/cp/", "s3://" + testBucket + "/in/"}
	claimed, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var outA bytes.Buffer
	var codeA int
	go func() {
		defer close(done)
		var stopping atomic.Bool
		codeA = run(context.Background(), args, os.Environ, &outA, &outA, &stopping, func(p string) {
			if p == "claimed" {
				close(claimed)
				<-release
			}
		})
	}()
	<-claimed
	codeB, outB := te.runJob(t, args[2:]...)
	close(release)
	<-done
	if codeB != 2 {
		t.Errorf("copy B: exit %d, want 2\n%s", codeB, outB)
	}
	if codeA != 1 || !strings.Contains(outA.String(), "changed by another writer") {
		t.Errorf("copy A: exit %d, want 1 with a checkpoint conflict\n%s", codeA, outA.String())
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

// TestSignalStopsCleanly: SIGTERM stops the job at the next safe point with
// a checkpoint (exit 1, "stopped"); the rerun resumes and finishes.
func TestSignalStopsCleanly(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	args := []string{"-table", "events", "-chunk-records", "250", "-checkpoint", filepath.Join(dir, "cp"), in}
	cmd, out := te.startJob(t, "term@committed:1", args...)
	if code := waitExit(t, cmd); code != 1 || !strings.Contains(out.String(), "stopped by signal after a checkpoint") {
		t.Fatalf("exit %d, want 1 after a clean stop\n%s", code, out)
	}
	if strings.Contains(out.String(), "records loaded     4182") {
		t.Fatalf("the job did not stop early\n%s", out)
	}
	cmd, out = te.startJob(t, "", args...)
	if code := waitExit(t, cmd); code != 2 && code != 0 || !strings.Contains(out.String(), "resuming from checkpoint") {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	checkTable(t, te.db, "EVENTS", expect(t, files))
}

type bytesCmd struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

// countObjects reads "objects N" from a report.
func countObjects(t *testing.T, report string) int {
	t.Helper()
	for _, l := range strings.Split(report, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "objects" {
			n := 0
			for _, c := range f[1] {
				n = 10*n + int(c-'0')
			}
			return n
		}
	}
	t.Fatalf("no object count in\n%s", report)
	return 0
}

// TestEmbeddedDefault is the README's first command: no settings, no
// inputs: the embedded emulator loads the samples, the report shows the
// table's rows read back, exit 2 for the bad samples. With -checkpoint the
// emulator's database is kept beside it, so a rerun finds the work done.
func TestEmbeddedDefault(t *testing.T) {
	code, out, errs := runInProcess(nil, "-progress", "none")
	if code != 2 || !strings.Contains(out, "table EVENTS holds 4182 row(s)") || !strings.Contains(out, "first 5 row(s) of EVENTS") ||
		!strings.Contains(out, "records rejected   18") {
		t.Fatalf("exit %d, want 2 with 4182 rows and 18 rejects\n%s%s", code, out, errs)
	}
	cp := filepath.Join(t.TempDir(), "cp")
	if code, out, errs := runInProcess(nil, "-progress", "none", "-checkpoint", cp); code != 2 {
		t.Fatalf("with -checkpoint: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runInProcess(nil, "-progress", "none", "-checkpoint", cp)
	if code != 0 || !strings.Contains(out, "3 already done") || !strings.Contains(out, "table EVENTS holds 4182 row(s)") {
		t.Errorf("rerun: exit %d, want 0 with everything done and the table kept\n%s%s", code, out, errs)
	}
}

// readDeadLetterDir reads every dead letter published under dir (one file
// per chunk, in sub-directories per table and shard); a spool file left
// behind is not published and not read.
func readDeadLetterDir(t *testing.T, dir string) []resilience.DeadLetter {
	t.Helper()
	var out []resilience.DeadLetter
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".ndjson") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, parseDeadLetters(t, b)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseDeadLetters(t *testing.T, b []byte) []resilience.DeadLetter {
	t.Helper()
	var out []resilience.DeadLetter
	r := resilience.NewDeadLetterReader(bytes.NewReader(b), resilience.DeadLetterReaderOptions{})
	for r.Next() {
		out = append(out, r.DeadLetter())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRerunOtherChunkSize: a run killed after the load of its second chunk
// (COPY done, dead letters published, no checkpoint yet) is rerun with
// another -chunk-records. The rerun redoes that chunk cut as the killed
// run cut it (the size recorded beside the checkpoint), so its staged
// files are the same and COPY skips them as loaded, then goes on with its
// own size: the table holds every record once, cell for cell, the dead
// letters every bad record once, and the report and the EMF metrics count
// the skipped records apart from those loaded.
func TestRerunOtherChunkSize(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	files := writeSamples(t, in)
	cp, dead := filepath.Join(dir, "cp"), filepath.Join(dir, "dead")
	base := []string{"-table", "events", "-checkpoint", cp, "-dead-letter", dead}
	cmd, out := te.startJob(t, "loaded:2", append(base, "-chunk-records", "250", in)...)
	if code := waitExit(t, cmd); code != -1 {
		t.Fatalf("exit %d, want killed after the second chunk's load\n%s", code, out)
	}
	te.setenv(t)
	var stdout, logs syncBuffer
	var stopping atomic.Bool
	args := append([]string{"-progress", "none", "-log-format", "json", "-metrics", "emf", "-show-rows", "0", "-chunk-records", "400"}, append(base, in)...)
	if code := run(context.Background(), args, os.Environ, &stdout, &logs, &stopping, nil); code != 2 {
		t.Fatalf("rerun: exit %d, want 2\n%s%s", code, stdout.String(), logs.String())
	}
	e := expect(t, files)
	checkTable(t, te.db, "EVENTS", e)
	if failed, others := checkDeadLettersOnce(t, dead, files); len(failed) != 0 || others != e.bad {
		t.Errorf("dead letters: %d of failed files, %d others, want 0 and %d", countLines(failed), others, e.bad)
	}

	// The first object in key order: records 1-250 checkpointed, 251-500
	// loaded by the killed run.
	lines := bytes.SplitAfter(files["clicks-2026-02.ndjson.gz"], []byte("\n"))
	done := expect(t, map[string][]byte{"a": bytes.Join(lines[:250], nil)})
	skipped := expect(t, map[string][]byte{"b": bytes.Join(lines[250:500], nil)})
	sm := jobReport(t, logs.String())
	if sm.RecordsSkipped != 250 || sm.AlreadyLoaded != int64(len(skipped.rows)) ||
		sm.RecordsLoaded != int64(len(e.rows)-len(done.rows)-len(skipped.rows)) {
		t.Errorf("report: %d skipped by the checkpoint, %d already loaded, %d loaded; want 250, %d, %d",
			sm.RecordsSkipped, sm.AlreadyLoaded, sm.RecordsLoaded, len(skipped.rows), len(e.rows)-len(done.rows)-len(skipped.rows))
	}
	if !strings.Contains(sm.Status, "already loaded") {
		t.Errorf("status %q does not say that records were already loaded", sm.Status)
	}
	totals := emfTotals(t, stdout.String())
	for name, want := range map[string]int64{"RecordsLoaded": sm.RecordsLoaded, "RecordsAlreadyLoaded": sm.AlreadyLoaded, "RecordsRead": sm.RecordsRead} {
		if totals[name] != float64(want) {
			t.Errorf("EMF %s = %v, want %d as in the report", name, totals[name], want)
		}
	}
}

// emfTotals sums the EMF metrics on stdout by name, leaving out those with
// a Reason dimension.
func emfTotals(t *testing.T, out string) map[string]float64 {
	t.Helper()
	totals := map[string]float64{}
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line is not JSON: %v\n%s", err, line)
		}
		if _, ok := doc["Reason"]; ok {
			continue
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Metrics []struct{ Name string }
			}
		}
		if err := json.Unmarshal(doc["_aws"], &meta); err != nil {
			t.Fatal(err)
		}
		for _, d := range meta.CloudWatchMetrics {
			for _, m := range d.Metrics {
				var v float64
				if json.Unmarshal(doc[m.Name], &v) != nil {
					var vs []float64
					if err := json.Unmarshal(doc[m.Name], &vs); err != nil {
						t.Fatalf("metric %s = %s", m.Name, doc[m.Name])
					}
					for _, x := range vs {
						v += x
					}
				}
				totals[m.Name] += v
			}
		}
	}
	return totals
}
