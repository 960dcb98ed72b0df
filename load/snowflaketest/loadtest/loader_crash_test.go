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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
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
	Batches     [][]load.File
	Checkpoint  string // file holding the number of batches done
	CrashBatch  int    // batch at which to crash, -1 for none
	CrashAt     string // "put": after the uploads, before COPY; "checkpoint": after Load, before the checkpoint
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
		if i == job.CrashBatch && job.CrashAt == "put" {
			o.Progress = &killAfterUploads{n: len(job.Batches[i]), kill: kill}
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
				var batches [][]load.File
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
