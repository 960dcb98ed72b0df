package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// stageConfig holds the flags that write staged files (-o DIR) instead of
// printing the flattened records.
type stageConfig struct {
	dir      *string
	format   *string
	compress *string
	fileSize *int64
	workers  *int
}

func stageFlags(fs *flag.FlagSet) stageConfig {
	return stageConfig{
		dir:      fs.String("o", "", "write staged files for Snowflake's COPY INTO into directory `DIR` instead of printing records"),
		format:   fs.String("format", "ndjson", "with -o, file format: ndjson, csv or parquet"),
		compress: fs.String("compress", "gzip", "with -o, compression: gzip, zstd or none (Parquet compresses its pages with it)"),
		fileSize: fs.Int64("file-size", stagefile.DefaultFileSize>>20, "with -o, target size of a file as stored, in `MB`"),
		workers:  fs.Int("workers", 1, "with -o, number of workers, each writing its own files"),
	}
}

// tableName normalizes a table name given by the user as schema names
// columns, unless it is in double quotes.
func tableName(s string) (string, error) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
		if s == "" {
			return "", errors.New("-table: empty name")
		}
		return s, nil
	}
	if s == "" {
		return "", errors.New("-table: empty name")
	}
	return string(schema.Normalize(nil, s, schema.NameOptions{})), nil
}

// stager is the recordSink of -o: it hands records to a stagefile.Parallel.
type stager struct {
	p       *stagefile.Parallel
	records int64
	bytesIn int64
	err     error
}

func (s *stager) done() bool { return s.err != nil }

func (s *stager) record(name string, n, line, off int64, doc []byte) error {
	s.records++
	s.bytesIn += int64(len(doc)) + 1
	if err := s.p.AddAt(name, n, line, off, doc); err != nil {
		s.err = err
	}
	return nil
}

// runStage writes the inputs to staged files and prints a summary on
// stderr. It returns the exit status.
func runStage(c *config, stdin io.Reader, stderr io.Writer) int {
	sc := c.stage
	var o stagefile.WriterOptions
	if err := o.Format.UnmarshalText([]byte(*sc.format)); err != nil {
		fmt.Fprintln(stderr, "flatten: -format:", err)
		return 2
	}
	if err := o.Compression.UnmarshalText([]byte(*sc.compress)); err != nil {
		fmt.Fprintln(stderr, "flatten: -compress:", err)
		return 2
	}
	if *sc.fileSize <= 0 || *sc.workers <= 0 {
		fmt.Fprintln(stderr, "flatten: -file-size and -workers must be positive")
		return 2
	}
	table, err := tableName(c.table)
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return 2
	}
	// Like `mkdir -p`: a newcomer's -o /tmp/stage need not exist yet.
	if err := os.MkdirAll(*sc.dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "flatten: -o:", err)
		return 2
	}
	o.Dir, o.Table, o.FileSize = *sc.dir, table, *sc.fileSize<<20
	setMemoryLimit(*sc.workers)
	o.Names = schema.NameOptions{Separator: c.opts.Separator}
	var rejected int64
	p, err := stagefile.NewParallel(stagefile.ParallelOptions{
		Writer: o, Flatten: c.opts, Workers: *sc.workers,
		Reject: func(e *stagefile.RecordError) {
			// The same line as a bad record without -o (readAll's report).
			rejected++
			fmt.Fprintf(stderr, "flatten: %s: record %d (line %d, offset %d): %s\n", e.Source, e.Record, e.Line, e.Offset, message(e.Err))
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return 2
	}
	start := time.Now()
	s := &stager{p: p}
	failed := readAll(context.Background(), c, stdin, stderr, s)
	files, err := p.Close()
	if s.err != nil && err == nil {
		err = s.err
	}
	elapsed := time.Since(start)
	var rows, out int64
	for _, f := range files {
		rows += f.Rows
		out += f.Size
	}
	fmt.Fprintf(stderr, "flatten: %d records read (%d bytes), %d rejected; %d rows in %d %s %s file(s) in %s (%d bytes); %.1f MB/s\n",
		s.records, s.bytesIn, rejected, rows, len(files), o.Format, o.Compression, o.Dir, out,
		float64(s.bytesIn)/1e6/max(elapsed.Seconds(), 1e-9))
	if len(files) > 0 {
		fmt.Fprintf(stderr, "flatten: load with: COPY INTO %s FROM @<stage> FILE_FORMAT = (%s) %s\n",
			schema.QuoteIdent(nil, table), files[0].FileFormat(), files[0].CopyOptions())
	}
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return 1
	}
	if failed || rejected > 0 {
		return 1
	}
	return 0
}

// memoryPerWorker is the soft memory limit the command sets per worker
// when GOMEMLIMIT is not set. A writer's live heap stays under ~28 MiB
// (Parquet with ~700 columns, the widest case measured), and rows allocate
// nothing, so the collector runs rarely and the limit costs little CPU; it
// keeps the heap from growing to twice its live size before a collection
// (GOGC's default), which was most of the difference between the live heap
// and the peak RSS. See load/stagefile/BENCHMARKS.md.
const memoryPerWorker = 40 << 20

// setMemoryLimit sets the process's soft memory limit for staging with
// workers, unless the user set GOMEMLIMIT. The library never does this; a
// command may.
func setMemoryLimit(workers int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(workers) * memoryPerWorker)
}
