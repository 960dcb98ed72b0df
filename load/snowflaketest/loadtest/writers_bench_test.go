package loadtest_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/source"
)

// benchInputMB is the size of each generated benchmark input.
var benchInputMB = 200

var (
	benchOnce   sync.Map // corpus name → *benchInput
	reCorpusIDs = regexp.MustCompile(`"id":(\d+)`)
	reCorpusSID = regexp.MustCompile(`"id_str":"(\d+)"`)
)

type benchInput struct {
	once sync.Once
	path string
	size int64
	cols []benchCol // paths of the flattened records, for DuckDB's SELECT
	err  error
}

type benchCol struct {
	path string
	json bool // a kept array or object: DuckDB writes it with to_json
}

// input builds (once per process) an NDJSON file of about benchInputMB
// from a corpus file, each copy with its ids rewritten, and lists the
// flattened paths of its records.
func input(b *testing.B, corpus string) *benchInput {
	v, _ := benchOnce.LoadOrStore(corpus, &benchInput{})
	in := v.(*benchInput)
	in.once.Do(func() {
		src, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "corpus", corpus))
		if err != nil {
			in.err = err
			return
		}
		// A stable path, reused by later runs: no copy is left behind per run.
		in.path = filepath.Join(os.TempDir(), fmt.Sprintf("flatpipe-bench-%dMB-%s", benchInputMB, corpus))
		f, err := os.Create(in.path)
		if err != nil {
			in.err = err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for copyN := 0; in.size < int64(benchInputMB)<<20; copyN++ {
			pre := []byte(fmt.Sprintf("%d", copyN+1))
			out := reCorpusIDs.ReplaceAllFunc(src, func(m []byte) []byte {
				return append(append([]byte(`"id":`), pre...), m[5:]...)
			})
			out = reCorpusSID.ReplaceAllFunc(out, func(m []byte) []byte {
				return append(append([]byte(`"id_str":"`), pre...), m[10:]...)
			})
			w.Write(out)
			in.size += int64(len(out))
		}
		if err := w.Flush(); err != nil {
			in.err = err
			return
		}
		f.Close()
		fl, _ := flatten.New(flatten.Options{})
		seen := map[string]bool{}
		for _, line := range bytes.Split(src, []byte("\n")) {
			fields, err := fl.Append(nil, line)
			if err != nil {
				continue
			}
			for _, fd := range fields {
				if !seen[string(fd.Path)] {
					seen[string(fd.Path)] = true
					in.cols = append(in.cols, benchCol{path: string(fd.Path), json: fd.Kind == flatten.Array || fd.Kind == flatten.Object})
				}
			}
		}
	})
	if in.err != nil {
		b.Fatal(in.err)
	}
	return in
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchCorpora = []string{"github_events.ndjson", "twitter_statuses.ndjson"}

// BenchmarkStage is the whole local path: NDJSON file in → scan → flatten
// → name and type columns (schema) → encode → compress → staged files.
// MB/s is input bytes per wall second; cpu-MB/s per CPU second of the
// process (what "per core" means with 2 workers); cores is CPU seconds per
// wall second. workers=1 writes on the reading goroutine with a Writer,
// workers=2 through load.Parallel: the 2-worker speed-up is the ratio of
// their MB/s, honest only when the workers=2 run got two cores (see
// load/BENCHMARKS.md for the command and the figures).
func BenchmarkStage(b *testing.B) {
	for _, corpus := range benchCorpora {
		for _, fc := range []struct {
			f load.Format
			c load.Compression
		}{{load.NDJSON, load.Gzip}, {load.NDJSON, load.Zstd}, {load.CSV, load.Gzip}, {load.CSV, load.Zstd}, {load.Parquet, load.Zstd}, {load.Parquet, load.Gzip}} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%v-%v/workers=%d", corpus, fc.f, fc.c, workers), func(b *testing.B) {
					in := input(b, corpus)
					b.SetBytes(in.size)
					b.ReportAllocs()
					var rows int64
					var cpu time.Duration
					for b.Loop() {
						dir := b.TempDir()
						c0 := cpuTime()
						rows = stageFile(b, in.path, load.WriterOptions{Dir: dir, Table: "BENCH", Format: fc.f, Compression: fc.c}, workers)
						cpu += cpuTime() - c0
						os.RemoveAll(dir)
					}
					b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
					b.ReportMetric(float64(in.size)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
					// cores is CPU time over wall time: how many cores the
					// run got. A 2-worker speed-up (MB/s of workers=2 over
					// workers=1) means something only where cores ≈ 2.
					b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cores")
				})
			}
		}
		// Stage shares: the same input scanned only, and scanned and flattened.
		for _, stage := range []string{"scan", "flatten"} {
			b.Run(fmt.Sprintf("%s/%s-only", corpus, stage), func(b *testing.B) {
				in := input(b, corpus)
				b.SetBytes(in.size)
				b.ReportAllocs()
				var cpu time.Duration
				for b.Loop() {
					c0 := cpuTime()
					f, err := os.Open(in.path)
					if err != nil {
						b.Fatal(err)
					}
					sc, err := source.NewScanner(f, source.Options{})
					if err != nil {
						b.Fatal(err)
					}
					fl, _ := flatten.New(flatten.Options{})
					var fields []flatten.Field
					for sc.Scan() {
						if stage == "flatten" {
							fields, _ = fl.Append(fields[:0], sc.Bytes())
						}
					}
					sc.Close()
					f.Close()
					cpu += cpuTime() - c0
				}
				b.ReportMetric(float64(in.size)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
			})
		}
	}
}

// stageFile writes the records of path with o: inline on this goroutine
// with one worker, through load.Parallel with more.
func stageFile(b *testing.B, path string, o load.WriterOptions, workers int) int64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc, err := source.NewScanner(f, source.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	var files []load.File
	if workers == 1 {
		fl, _ := flatten.New(flatten.Options{})
		w, err := load.NewWriter(o)
		if err != nil {
			b.Fatal(err)
		}
		var fields []flatten.Field
		for sc.Scan() {
			if fields, err = fl.Append(fields[:0], sc.Bytes()); err != nil {
				b.Fatal(err)
			}
			if err := w.Write(sc.Number(), fields); err != nil {
				b.Fatal(err)
			}
		}
		if files, err = w.Close(); err != nil {
			b.Fatal(err)
		}
	} else {
		p, err := load.NewParallel(load.ParallelOptions{Writer: o, Workers: workers})
		if err != nil {
			b.Fatal(err)
		}
		for sc.Scan() {
			if err := p.Add(path, sc.Number(), sc.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
		if files, err = p.Close(); err != nil {
			b.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	var rows int64
	for _, f := range files {
		rows += f.Rows
	}
	return rows
}

// BenchmarkStageDuckDB writes the same inputs with DuckDB (threads = 1),
// flattened with dotted column names and arrays as JSON, to CSV gzip and
// Parquet zstd.
func BenchmarkStageDuckDB(b *testing.B) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET threads = 1"); err != nil {
		b.Fatal(err)
	}
	var version string
	db.QueryRow("SELECT version()").Scan(&version)
	b.Logf("DuckDB %s", version)
	for _, corpus := range benchCorpora {
		for _, target := range []string{"csv-gzip", "parquet-zstd"} {
			b.Run(corpus+"/"+target, func(b *testing.B) {
				in := input(b, corpus)
				sel := duckSelect(in)
				opts := "FORMAT CSV, HEADER, COMPRESSION GZIP"
				ext := ".csv.gz"
				if target == "parquet-zstd" {
					opts, ext = "FORMAT PARQUET, COMPRESSION ZSTD", ".parquet"
				}
				b.SetBytes(in.size)
				var cpu time.Duration
				for b.Loop() {
					out := filepath.Join(b.TempDir(), "out"+ext)
					stmt := fmt.Sprintf("COPY (%s) TO '%s' (%s)", sel, out, opts)
					c0 := cpuTime()
					if _, err := db.Exec(stmt); err != nil {
						b.Fatalf("%v\n%.400s", err, stmt)
					}
					cpu += cpuTime() - c0
					os.Remove(out)
				}
				b.ReportMetric(float64(in.size)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
			})
		}
	}
}

// duckSelect is the SELECT that flattens the input with dotted names:
// struct fields by path, kept arrays and objects as JSON text.
func duckSelect(in *benchInput) string {
	cols := in.cols
	var s strings.Builder
	s.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			s.WriteString(", ")
		}
		var e strings.Builder
		for k, seg := range strings.Split(c.path, ".") {
			if k > 0 {
				e.WriteByte('.')
			}
			e.WriteString(`"` + strings.ReplaceAll(seg, `"`, `""`) + `"`)
		}
		expr := e.String()
		if c.json {
			expr = "to_json(" + expr + ")"
		}
		fmt.Fprintf(&s, `%s AS "%s"`, expr, strings.ReplaceAll(c.path, `"`, `""`))
	}
	fmt.Fprintf(&s, " FROM read_json('%s', format = 'newline_delimited', sample_size = -1)", in.path)
	return s.String()
}
