package loadtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// The crash tests run a load in a child process (this test binary, re-run
// with crashEnv set) against the parent's emulator, kill it with SIGKILL at
// a chosen point, run it again from the caller's checkpoint, and compare the
// table with the source records: each exactly once.

const crashEnv = "FLATPIPE_LOADTEST_CRASH_CHILD"

// crashJob is what the child is told to do.
type crashJob struct {
	Host        string
	Port        int
	Table       string
	Disposition load.Disposition
	Schema      schema.Table
	Batches     [][]stagefile.File
	Checkpoint  string // file holding the number of batches done
	CrashBatch  int    // batch at which to crash, -1 for none
	CrashAt     string // "put": after the uploads, before COPY; "checkpoint": after Load, before the checkpoint;
	// "copied": after the COPY answered, before its rejected rows are read and the ledger updated;
	// "rejected": after the dead-letter sink took the rejected rows, before the ledger update
	DeadLetters string // with it: ON_ERROR = CONTINUE, AcceptPartial, rejected rows appended to this file as JSON lines
}

// crashChild runs the child's job if this process is one; it reports
// whether it was.
func crashChild() bool {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		return false
	}
	if err := runCrashJob(spec); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	os.Exit(0)
	return true
}

func runCrashJob(spec string) error {
	var job crashJob
	b, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &job); err != nil {
		return err
	}
	cfg := load.Config{Account: "emulator", User: "TEST", Password: "test", Database: "TEST_DB", Schema: "PUBLIC",
		Host: job.Host, Port: job.Port, Protocol: "http", MaxRetryCount: 2, DisableTelemetry: true}
	db, err := cfg.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	done := 0
	if b, err := os.ReadFile(job.Checkpoint); err == nil {
		done, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	kill := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	for i := done; i < len(job.Batches); i++ {
		o := load.LoaderOptions{Table: job.Table, Disposition: job.Disposition}
		if job.Disposition == load.Merge {
			o.MergeKeys = []string{"ID"}
		}
		if job.DeadLetters != "" {
			o.OnError, o.AcceptPartial, o.DeadLetter = "CONTINUE", true, &fileSink{path: job.DeadLetters}
		}
		if i == job.CrashBatch {
			switch job.CrashAt {
			case "put":
				o.Progress = &killAfterUploads{n: len(job.Batches[i]), kill: kill}
			case "copied":
				o.Progress = killOnStep{step: load.StepCopy, kill: kill}
			case "rejected":
				o.Progress = killOnStep{step: load.StepRejected, kill: kill}
			}
		}
		l, err := load.NewLoader(db, o)
		if err != nil {
			return err
		}
		if _, err := l.Load(context.Background(), job.Schema, job.Batches[i]); err != nil {
			return fmt.Errorf("batch %d: %w", i, err)
		}
		if i == job.CrashBatch && job.CrashAt == "checkpoint" {
			kill()
		}
		tmp := job.Checkpoint + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(i+1)), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, job.Checkpoint); err != nil {
			return err
		}
	}
	return nil
}

// killAfterUploads kills the process once n files are uploaded: after PUT,
// before COPY.
type killAfterUploads struct {
	mu   sync.Mutex
	n    int
	kill func()
}

func (k *killAfterUploads) Progress(e load.Event) {
	if e.Step != load.StepUpload {
		return
	}
	k.mu.Lock()
	k.n--
	last := k.n == 0
	k.mu.Unlock()
	if last {
		k.kill()
	}
}

// killOnStep kills the process at the first event of a step.
type killOnStep struct {
	step load.Step
	kill func()
}

func (k killOnStep) Progress(e load.Event) {
	if e.Step == k.step {
		k.kill()
	}
}

// fileSink appends rejected rows to a file as JSON lines; a line written
// survives the writer's SIGKILL.
type fileSink struct {
	mu   sync.Mutex
	path string
}

func (s *fileSink) RejectedRow(_ context.Context, r load.RejectedRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copySeen is a slog.Handler that signals when the emulator receives a
// statement containing a text.
type copySeen struct {
	text string
	once sync.Once
	ch   chan struct{}
}

func (h *copySeen) Enabled(context.Context, slog.Level) bool { return true }
func (h *copySeen) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "sql" && strings.Contains(a.Value.String(), h.text) {
			h.once.Do(func() { close(h.ch) })
		}
		return true
	})
	return nil
}
func (h *copySeen) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *copySeen) WithGroup(string) slog.Handler      { return h }

func TestLoaderCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, disp := range []load.Disposition{load.Append, load.Merge, load.Replace} {
		for _, at := range []string{"put", "copy", "checkpoint"} {
			t.Run(disp.String()+"/"+at, func(t *testing.T) {
				dir := t.TempDir()
				// Three batches of two files; records 1..30.
				all := records(1, 30, "")
				b := makeBatch(t, dir, "all", 1, all)
				var batches [][]stagefile.File
				var want []map[string]any
				for i := 0; i < 3; i++ {
					part := makeBatch(t, dir, fmt.Sprintf("b%d", i), 2, all[i*10:(i+1)*10])
					batches = append(batches, part.files)
					if disp != load.Replace || i == 2 {
						want = append(want, part.recs...)
					}
				}
				// The COPY of batch 1 names its first file.
				seen := &copySeen{text: batches[1][0].Name, ch: make(chan struct{})}
				srv, db := emulator(t, snowflaketest.Options{Logger: slog.New(seen)})
				u, _ := url.Parse(srv.URL)
				port, _ := strconv.Atoi(u.Port())
				job := crashJob{Host: u.Hostname(), Port: port, Table: "crash", Disposition: disp, Schema: b.table,
					Batches: batches, Checkpoint: filepath.Join(dir, "checkpoint"), CrashBatch: 1, CrashAt: at}
				var killOn <-chan struct{}
				if at == "copy" {
					job.CrashAt = ""
					// Park the COPY of batch 1 (never released: it dies
					// with its client) and kill the child once it is sent.
					srv.InjectFault(snowflaketest.Fault{SQL: batches[1][0].Name, Hold: make(chan struct{})})
					killOn = seen.ch
				}
				runChild(t, job, true, killOn)
				if got := checkpoint(t, job.Checkpoint); got != 1 {
					t.Fatalf("checkpoint after the crash = %d, want 1", got)
				}
				srv.ClearFaults()
				job.CrashBatch = -1
				runChild(t, job, false, nil)
				if got := checkpoint(t, job.Checkpoint); got != 3 {
					t.Fatalf("checkpoint after the rerun = %d, want 3", got)
				}
				sameRows(t, "after crash and rerun", tableRows(t, db, "crash", colNames(b.table)), rowsOf(want, colNames(b.table)))
			})
		}
	}
}

func checkpoint(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(string(b))
	return n
}

// runChild runs the job in a child process. With crash, the child must die
// by SIGKILL: by its own hand, or by ours once killOn is closed.
func runChild(t *testing.T, job crashJob, crash bool, killOn <-chan struct{}) {
	t.Helper()
	spec := filepath.Join(t.TempDir(), "job.json")
	b, _ := json.Marshal(job)
	if err := os.WriteFile(spec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+spec, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	if killOn != nil && crash {
		select {
		case <-killOn:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			err = <-waited
		case err = <-waited:
		}
	} else {
		err = <-waited
	}
	var ee *exec.ExitError
	killed := errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
	switch {
	case crash && !killed:
		t.Fatalf("child was not killed: %v\n%s", err, out.String())
	case !crash && err != nil:
		t.Fatalf("child: %v\n%s", err, out.String())
	}
}

// TestLoaderPartialCrash: under ON_ERROR = CONTINUE with AcceptPartial,
// each batch has a file with two bad rows among good ones. The load is
// killed after the COPY of batch 1 answered and before its rejected rows
// were read and the ledger updated ("copied"), or after the dead-letter
// sink took them and before the ledger update ("rejected"), then run again
// from the checkpoint, then once more from the start. Every good row is in
// the table once, cell for cell; every bad row reaches the dead-letter file,
// with its record, exactly once after "copied" and at most twice, with one
// Key, after "rejected"; the last run adds nothing anywhere.
func TestLoaderPartialCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, at := range []string{"copied", "rejected"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			all := records(1, 30, "")
			b := makeBatch(t, dir, "all", 1, all)
			var batches [][]stagefile.File
			var good []map[string]any
			badRecord := map[string]string{} // Key suffix (file#row) → the record as written
			for i := 0; i < 3; i++ {
				part := makeBatch(t, dir, fmt.Sprintf("b%d", i), 2, all[i*10:(i+1)*10])
				id := 40 + 10*i // two digits, as the inferred NUMBER(2,0) takes
				rows := []map[string]any{
					{"ID": json.Number(strconv.Itoa(id + 1)), "NAME": "good one", "AMOUNT": json.Number("1.50")},
					{"ID": "not a number", "NAME": fmt.Sprintf("bad id %d", i), "AMOUNT": json.Number("2.00")},
					{"ID": json.Number(strconv.Itoa(id + 2)), "NAME": "good two", "AMOUNT": json.Number("3.25")},
					{"ID": json.Number(strconv.Itoa(id + 3)), "NAME": fmt.Sprintf("bad amount %d", i), "AMOUNT": "lots"},
				}
				f := writeNDJSON(t, dir, fmt.Sprintf("mixed%d", i), b.table, rows, 1, 4)
				for _, n := range []int{1, 3} { // 0-based: rows 2 and 4 are bad
					line, _ := json.Marshal(rows[n])
					badRecord[fmt.Sprintf("%s#%d", f.Name, n+1)] = string(line)
				}
				good = append(good, part.recs...)
				good = append(good, rows[0], rows[2])
				batches = append(batches, append(part.files, f))
			}
			seen := &copySeen{text: "never", ch: make(chan struct{})}
			srv, db := emulator(t, snowflaketest.Options{Logger: slog.New(seen)})
			u, _ := url.Parse(srv.URL)
			port, _ := strconv.Atoi(u.Port())
			job := crashJob{Host: u.Hostname(), Port: port, Table: "partial_crash", Schema: b.table, Batches: batches,
				Checkpoint: filepath.Join(dir, "checkpoint"), CrashBatch: 1, CrashAt: at, DeadLetters: filepath.Join(dir, "dead.jsonl")}
			runChild(t, job, true, nil)
			if got := checkpoint(t, job.Checkpoint); got != 1 {
				t.Fatalf("checkpoint after the crash = %d, want 1", got)
			}
			job.CrashBatch = -1
			runChild(t, job, false, nil)
			if got := checkpoint(t, job.Checkpoint); got != 3 {
				t.Fatalf("checkpoint after the rerun = %d, want 3", got)
			}
			cols := colNames(b.table)
			sameRows(t, "after crash and rerun", tableRows(t, db, "partial_crash", cols), rowsOf(good, cols))
			dead := readDeadLetters(t, job.DeadLetters)
			checkDeadLetters(t, dead, badRecord, batches[1][len(batches[1])-1].Name, at == "rejected")

			// A caller that lost its checkpoint runs everything again:
			// nothing is loaded or handed to the sink a second time.
			if err := os.Remove(job.Checkpoint); err != nil {
				t.Fatal(err)
			}
			runChild(t, job, false, nil)
			sameRows(t, "after a full rerun", tableRows(t, db, "partial_crash", cols), rowsOf(good, cols))
			if again := readDeadLetters(t, job.DeadLetters); len(again) != len(dead) {
				t.Errorf("a full rerun added %d dead letters, want none", len(again)-len(dead))
			}
		})
	}
}

func readDeadLetters(t *testing.T, path string) []load.RejectedRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []load.RejectedRow
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r load.RejectedRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("dead letter %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// checkDeadLetters checks that the dead letters are exactly the bad
// records, each once; with repeats, the rows of file twice may come twice
// (at-least-once), with the same Key and values.
func checkDeadLetters(t *testing.T, dead []load.RejectedRow, want map[string]string, twice string, repeats bool) {
	t.Helper()
	byKey := map[string][]load.RejectedRow{}
	for _, r := range dead {
		byKey[r.Key()] = append(byKey[r.Key()], r)
	}
	got := map[string]string{}
	for key, rs := range byKey {
		r := rs[0]
		id := fmt.Sprintf("%s#%d", path.Base(r.File), r.Row)
		if prev, ok := got[id]; ok {
			t.Errorf("row %s has two keys (%q, then %q)", id, prev, key)
		}
		got[id] = r.Record
		n := 1
		if repeats && path.Base(r.File) == twice {
			n = 2
		}
		if len(rs) != n {
			t.Errorf("dead letter %s delivered %d times, want %d", key, len(rs), n)
		}
		for _, o := range rs[1:] {
			if o != r {
				t.Errorf("dead letter %s delivered with other values:\n%+v\n%+v", key, r, o)
			}
		}
		if r.Message == "" || r.Line != r.Row || r.QueryID == "" {
			t.Errorf("dead letter %+v: want a message, line = row and the COPY's query id", r)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct dead letters, want %d: %v", len(got), len(want), got)
	}
	for id, rec := range want {
		if got[id] != rec {
			t.Errorf("dead letter for %s = %q, want %q", id, got[id], rec)
		}
	}
}
