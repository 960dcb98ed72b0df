// Command batch is flatpipe's batch job, in the manner of an AWS Glue job:
// it loads JSON records from local files or S3 into a Snowflake table, and
// shows how the packages source, flatten, schema, load and resilience fit
// together.
//
//	go run ./examples/batch                      # embedded emulator, sample data
//	go run ./examples/batch -table events s3://bucket/prefix/
//
// The job checks its configuration (every problem at once) and its
// dependencies (S3 buckets, the Snowflake login and warehouse, disk space),
// then lists the inputs, takes its shard (-shard i/n), and for each object
// reads its records, checks depth and size, validates them against a
// contract or JSON Schema when configured, flattens them, infers and evolves
// the table, stages chunks of records as compressed files and loads them
// with PUT and COPY INTO. Snowflake calls go through a circuit breaker and a
// retry with a bulkhead on parallel uploads; rejected records go to a
// dead-letter file or S3 prefix with their position and reason; a checkpoint
// is committed after every durable load, so a job killed at any moment and
// started again with the same arguments loads every record exactly once.
//
// Without SNOWFLAKE_* settings the job starts the Snowflake emulator of
// package load/snowflaketest in-process on loopback (it links DuckDB, so
// building needs cgo and a C compiler), and without inputs it loads the
// sample records embedded from testdata/samples.
//
// Exit status: 0 when every record is in the table, 2 when some records
// were dead-lettered but no more than -max-reject-rate of them, 1 on
// failure. A record is in the table when this run loaded it or when COPY
// skipped its staged file as loaded before (an earlier run, killed before
// its checkpoint or without one, loaded the same file): the report and
// the metrics count those apart ("already loaded", RecordsAlreadyLoaded),
// never as loaded.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/snowflakedb/gosnowflake"

	"github.com/flatpipe/flatpipe/examples/internal/awsenv"
	"github.com/flatpipe/flatpipe/examples/internal/s3adapter"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source"
)

func main() {
	os.Exit(runMain(nil))
}

// runMain runs the job with the process's arguments, environment and
// signals.
func runMain(hook func(point string)) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stopping atomic.Bool
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stopping.Store(true) // stop at the next safe point, with a checkpoint
		<-sig
		cancel() // a second signal stops at once
	}()
	return run(ctx, os.Args[1:], os.Environ, os.Stdout, os.Stderr, &stopping, hook)
}

// run is the whole job; it returns the exit status.
//
// hook, when not nil, is called at the points where a crash matters
// ("claimed", "put", "loaded", "committed", "swapped"); the crash tests
// kill the process there.
func run(ctx context.Context, args []string, environ func() []string, stdout, stderr io.Writer, stopping *atomic.Bool, hook func(point string)) int {
	if hook == nil {
		hook = func(string) {}
	}
	cl, err := parseArgs(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "batch:", err)
		return 1
	}
	cfg, _, err := loadConfig(cl, environ)
	for _, w := range cl.warnings {
		fmt.Fprintln(stderr, "batch: warning:", w)
	}
	if cl.printConfig && cfg != nil {
		if perr := printConfig(stdout, cfg); perr != nil {
			fmt.Fprintln(stderr, "batch:", perr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "batch:", err)
		return 1
	}
	if cl.printConfig {
		return 0
	}
	log := newLogger(cfg, stderr)
	if cfg.LogLevel != "debug" {
		// The driver logs the errors it returns; ours are enough.
		_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	}
	j := &job{cfg: cfg, log: log, stdout: stdout, stderr: stderr, stopping: stopping, environ: environ, hook: hook}
	sm := j.run(ctx)
	j.report(&sm)
	return sm.ExitCode
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lv}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// job holds what one run sets up.
type job struct {
	cfg      *Config
	log      *slog.Logger
	stdout   io.Writer
	stderr   io.Writer
	stopping *atomic.Bool
	environ  func() []string
	hook     func(point string)

	stats    *stats
	dest     destination
	table    string // as normalised by load
	shardI   int
	shardN   int
	closers  []func() error
	flushers []func() error
}

func (j *job) run(ctx context.Context) (sm summary) {
	start := time.Now()
	j.stats = newStats()
	j.shardI, j.shardN, _ = parseShard(j.cfg.Shard)
	defer func() {
		for i := len(j.closers) - 1; i >= 0; i-- {
			if err := j.closers[i](); err != nil {
				j.log.Warn("closing", "error", err)
			}
		}
	}()
	err := j.execute(ctx)
	sm = j.stats.summary(time.Since(start))
	sm.Table, sm.Shard, sm.TableRows = cmp.Or(j.table, j.cfg.Table), j.cfg.Shard, -1
	if j.dest != nil {
		sm.Destination = j.dest.describe()
		if err == nil || errors.Is(err, errStopped) {
			n, cols, rows, serr := j.dest.sample(context.WithoutCancel(ctx), j.cfg.Rows)
			if serr != nil {
				j.log.Warn("reading rows back", "error", serr)
			}
			sm.TableRows, sm.SampleColumns, sm.Sample = n, cols, rows
		}
	}
	for _, f := range j.flushers {
		if ferr := f(); ferr != nil {
			j.log.Warn("flushing", "error", ferr)
		}
	}
	rate := 0.0
	if sm.RecordsRead > 0 {
		rate = float64(sm.RecordsRejected) / float64(sm.RecordsRead)
	}
	switch {
	case err != nil && errors.Is(err, errStopped):
		sm.Status, sm.ExitCode, sm.Error = "stopped", 1, "stopped by signal after a checkpoint; run again with the same arguments to resume"
	case err != nil:
		sm.Status, sm.ExitCode, sm.Error = "failed", 1, err.Error()
	case rate > j.cfg.MaxRejectRate:
		sm.Status, sm.ExitCode = "failed", 1
		sm.Error = fmt.Sprintf("%v: %d of %d (%.2f%%) above the allowed %.2f%%", errTooManyRejects, sm.RecordsRejected, sm.RecordsRead, 100*rate, 100*j.cfg.MaxRejectRate)
	case sm.RecordsRejected > 0:
		sm.Status, sm.ExitCode = "loaded with rejects", 2
	default:
		sm.Status, sm.ExitCode = "loaded", 0
	}
	if sm.AlreadyLoaded > 0 && sm.ExitCode != 1 {
		// In the table, but not by this run: say so.
		sm.Status += fmt.Sprintf(", %d record(s) already loaded before", sm.AlreadyLoaded)
	}
	if j.cfg.DryRun && sm.ExitCode != 1 {
		sm.Status = "staged (dry run)"
	}
	return sm
}

// execute sets everything up in order and runs the pipeline.
func (j *job) execute(ctx context.Context) error {
	cfg := j.cfg
	getenv := envLookup(j.environ)
	if err := newSecretResolver(getenv).resolveSnowflake(ctx, &cfg.Snowflake); err != nil {
		return err
	}
	metrics, err := j.metrics()
	if err != nil {
		return err
	}
	alert := resilience.SlogAlerts(j.log)

	// S3, when an input, the checkpoint or the dead letters live there.
	var s3c *s3.Client
	var buckets []string
	_, stageURL, _ := strings.Cut(cfg.Stage, "=")
	for _, u := range append(append([]string{}, cfg.Inputs...), cfg.Checkpoint, cfg.DeadLetter, stageURL) {
		if b := bucketOf(u); b != "" {
			buckets = append(buckets, b)
		}
	}
	if len(buckets) > 0 {
		if s3c, err = awsenv.NewS3Client(ctx, cfg.S3.PathStyle); err != nil {
			return fmt.Errorf("batch: S3 client: %w", err)
		}
	}

	// The destination: stage only, the embedded emulator, or Snowflake.
	stageDir := cfg.Out
	if stageDir == "" {
		d, err := os.MkdirTemp("", "flatpipe-batch-stage-")
		if err != nil {
			return err
		}
		stageDir = d
		j.closers = append(j.closers, func() error { return os.RemoveAll(d) })
	} else if err := os.MkdirAll(stageDir, 0o755); err != nil {
		return fmt.Errorf("batch: -o: %w", err)
	}
	inputs := cfg.Inputs
	breaker, err := resilience.NewBreaker(resilience.BreakerOptions{Name: "snowflake", ConsecutiveFailures: 3,
		Listeners: []func(resilience.StateChange){resilience.BreakerAlerts(alert), resilience.BreakerMetrics(metrics)}})
	if err != nil {
		return err
	}
	conn, err := j.connect(ctx, s3c, stageDir, breaker, metrics)
	if err != nil {
		return err
	}
	j.dest, j.table = conn.dest, conn.table
	if len(inputs) == 0 && cfg.Finalize == 0 {
		if cfg.Snowflake.configured() {
			return errors.New("batch: no inputs: name files, globs, directories or s3:// prefixes")
		}
		if inputs, err = extractSamples(); err != nil {
			return err
		}
		j.log.Info("no inputs given: loading the embedded sample data", "dir", filepath.Dir(inputs[0]))
	}

	t := time.Now()
	checks, err := healthChecks(conn.db, cfg.Snowflake.Warehouse, s3c, buckets, stageDir, cfg.MinFreeDisk)
	if err != nil {
		return err
	}
	h, err := resilience.NewHealth(resilience.HealthOptions{Alert: alert, Metrics: metrics}, checks...)
	if err != nil {
		return err
	}
	rep := h.Run(ctx)
	j.stats.addStage(stageHealth, time.Since(t))
	_ = rep.WriteText(j.stderr)
	if err := rep.Err(); err != nil {
		return fmt.Errorf("batch: health checks failed, nothing done: %w", err)
	}

	if cfg.Finalize > 0 {
		return j.finalize(ctx, s3c, conn)
	}

	// List and shard.
	t = time.Now()
	in := s3source.InputOptions{}
	if s3c != nil {
		in.Client = s3c
	}
	objs, err := s3source.ResolveInputs(ctx, inputs, in)
	j.stats.addStage(stageList, time.Since(t))
	if err != nil {
		return fmt.Errorf("batch: listing inputs: %w", err)
	}
	all := len(objs)
	objs = shardObjects(objs, j.shardI, j.shardN)
	var total int64
	for _, o := range objs {
		total += max(o.Size, 0)
	}
	j.stats.mu.Lock()
	j.stats.bytesAll = total
	j.stats.mu.Unlock()
	j.log.Info("inputs listed", "objects", all, "in_shard", len(objs), "shard", cfg.Shard, "bytes", total)

	// Checkpoint and dead letters.
	var progress *resilience.Progress
	var sizes *chunkSizes
	if cfg.Checkpoint != "" {
		store, err := j.checkpointStore(s3c)
		if err != nil {
			return err
		}
		name := checkpointName(conn.table, j.shardI, j.shardN)
		if progress, err = resilience.ResumeProgress(ctx, store, name, nil); err != nil {
			return fmt.Errorf("batch: reading checkpoint %s: %w", name, err)
		}
		// Claim the shard: a conditional write that fails if another copy
		// claimed or advanced it since we read it.
		cp, _ := progress.Checkpoint()
		if err := progress.Commit(ctx, cp); err != nil {
			if errors.Is(err, resilience.ErrConflict) {
				return fmt.Errorf("batch: shard %s is being processed by another copy of the job: %w", cfg.Shard, err)
			}
			return fmt.Errorf("batch: claiming checkpoint %s: %w", name, err)
		}
		j.hook("claimed")
		if cp.Key != "" {
			j.log.Info("resuming from checkpoint", "name", name, "object", cp.Key, "records_done", cp.RecordsDone, "finished", cp.Done)
		}
		if sizes, err = newChunkSizes(ctx, store, name, int64(cfg.ChunkRecords)); err != nil {
			return err
		}
		if sizes.resume > 0 {
			j.log.Info("the checkpoint's next chunk was cut with another -chunk-records: redoing it with that size first",
				"chunk_records", sizes.resume, "then", cfg.ChunkRecords)
		}
	}
	dead, letters, err := j.deadLetterSink(s3c, conn.table, stageDir, metrics, alert)
	if err != nil {
		return err
	}

	f, err := flatten.New(flattenOptions(cfg))
	if err != nil {
		return err
	}
	ck, err := newChecker(cfg)
	if err != nil {
		return err
	}
	ro := source.ReaderOptions{Format: framing(cfg.In), MaxRecordSize: max(cfg.MaxRecordBytes, 1<<20) + 1}
	if s3c != nil {
		if ro.Opener, err = s3source.NewOpener(s3c, s3source.OpenerOptions{}); err != nil {
			return err
		}
	}
	rd, err := source.NewReader(ro)
	if err != nil {
		return err
	}
	p := &pipeline{cfg: cfg, log: j.log, reader: rd, dest: conn.dest, progress: progress, dead: dead, letters: letters, alert: alert,
		stats: j.stats, check: ck, flat: f, stopping: j.stopping, metrics: metrics, hook: j.hook, sizes: sizes, tables: cfg.Arrays == "tables"}
	stop := showProgress(ctx, cfg.Progress, j.stderr, j.log, j.stats, 10*time.Second)
	err = p.run(ctx, objs)
	stop()
	if err == nil && cfg.Disposition == "replace" && j.shardN > 1 && !cfg.DryRun {
		// This shard's part of the replace is in the staging table;
		// -finalize N swaps it in once every shard has said so.
		if err = j.markShardFinished(ctx, s3c, conn.table); err == nil {
			j.log.Info("shard loaded into the staging table; once every shard finished, run the job with -finalize to swap it in",
				"shard", cfg.Shard, "staging_table", conn.table+stagingSuffix, "finalize", j.shardN)
		}
	}
	return err
}

// finishedName names the checkpoint that says shard i of n of a replace
// finished loading into the staging table.
func finishedName(table string, i, n int) string {
	return checkpointName(table, i, n) + ".finished"
}

// markShardFinished records that this shard of a replace loaded all its
// objects into the staging table.
func (j *job) markShardFinished(ctx context.Context, s3c *s3.Client, table string) error {
	store, err := j.checkpointStore(s3c)
	if err != nil {
		return err
	}
	name := finishedName(table, j.shardI, j.shardN)
	pr, err := resilience.ResumeProgress(ctx, store, name, nil)
	if err == nil {
		err = pr.Commit(ctx, resilience.Checkpoint{Key: "finished", Done: true})
	}
	if err != nil {
		return fmt.Errorf("batch: recording that shard %s finished (%s): %w", j.cfg.Shard, name, err)
	}
	return nil
}

// finalize swaps in the table that cfg.Finalize shards of a replace loaded
// into its staging table, after checking that every one of them finished.
// It can be repeated: once the swap is done it finds nothing to swap.
func (j *job) finalize(ctx context.Context, s3c *s3.Client, conn *connection) error {
	store, err := j.checkpointStore(s3c)
	if err != nil {
		return err
	}
	n := j.cfg.Finalize
	var missing []string
	for i := range n {
		pr, err := resilience.ResumeProgress(ctx, store, finishedName(conn.table, i, n), nil)
		if err != nil {
			return fmt.Errorf("batch: -finalize: %w", err)
		}
		if cp, ok := pr.Checkpoint(); !ok || !cp.Done {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("batch: -finalize %d: shard(s) %s have not finished loading into %s; run them (again) with the same arguments first",
			n, strings.Join(missing, ", "), conn.table+stagingSuffix)
	}
	t := time.Now()
	changes, err := conn.dest.swapIn(ctx)
	j.stats.addStage(stageLoad, time.Since(t))
	j.stats.tableChanges(changes...)
	if err == nil && len(changes) == 0 {
		j.log.Info("-finalize: nothing to swap: the replacement is already in place", "table", conn.table)
	}
	return err
}

func envLookup(environ func() []string) func(string) string {
	return func(name string) string {
		for _, kv := range environ() {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}

func framing(in string) source.Format {
	switch in {
	case "json":
		return source.Document
	case "array":
		return source.Array
	case "concat":
		return source.Concatenated
	}
	return source.NDJSON
}

func flattenOptions(cfg *Config) flatten.Options {
	o := flatten.Options{Separator: cfg.Sep, MaxDepth: cfg.MaxDepth, MaxNesting: cfg.MaxNesting + 1}
	switch cfg.Arrays {
	case "index":
		o.Arrays = flatten.ArraysIndex
	case "tables":
		o.Arrays = flatten.ArraysTables
	}
	return o
}

func (j *job) checkpointStore(s3c *s3.Client) (resilience.CheckpointStore, error) {
	u := j.cfg.Checkpoint
	if b := bucketOf(u); b != "" {
		st, err := s3adapter.New(s3c)
		if err != nil {
			return nil, err
		}
		return resilience.NewS3CheckpointStore(st, b, prefixOf(u))
	}
	return resilience.NewFileCheckpointStore(u)
}

// prefixOf returns the key prefix of an s3:// URL, ending in "/" unless
// empty.
func prefixOf(u string) string {
	_, p, _ := strings.Cut(strings.TrimPrefix(u, "s3://"), "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// deadLetterSink returns the dead-letter sink (nil without -dead-letter):
// one object per chunk, replaced when a chunk is redone (see chunkLetters),
// monitored for metrics and alerts.
func (j *job) deadLetterSink(s3c *s3.Client, table, stageDir string, m resilience.Metrics, alert resilience.AlertFunc) (resilience.DeadLetterSink, *chunkLetters, error) {
	u := j.cfg.DeadLetter
	if u == "" {
		return nil, nil, nil
	}
	sub := fmt.Sprintf("%s/shard-%d-of-%d/", sanitize(table), j.shardI, j.shardN)
	var cl *chunkLetters
	var err error
	if b := bucketOf(u); b != "" {
		cl, err = newChunkLetters("", s3c, b, prefixOf(u), sub, stageDir)
	} else {
		cl, err = newChunkLetters(u, nil, "", "", sub, "")
	}
	if err != nil {
		return nil, nil, err
	}
	j.closers = append(j.closers, cl.Close)
	ms, err := resilience.NewMonitoredSink(cl, resilience.MonitoredSinkOptions{Name: "dead-letters", Metrics: m, Alert: alert, AlertEvery: 1000})
	if err != nil {
		return nil, nil, err
	}
	return ms, cl, nil
}

// report prints the final report: text on stdout, also as one JSON log
// line with -log-format json.
func (j *job) report(sm *summary) {
	sm.writeText(j.stdout)
	if j.cfg.LogFormat == "json" {
		j.log.Info("report", "report", sm)
	}
}
