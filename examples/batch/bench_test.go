package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
)

// benchInput writes generated orders and clicks (about 1% bad records)
// into dir as gzip'd NDJSON and returns the number of records and their
// uncompressed bytes. BATCH_BENCH_RECORDS sets the size (default 100,000).
func benchInput(b *testing.B, dir string) (records, bytes int64) {
	b.Helper()
	n := 100_000
	if s := os.Getenv("BATCH_BENCH_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	id := 0
	for i := range 4 {
		var data []byte
		if i%2 == 0 {
			data = genOrders(&id, 1+i, n/4, i > 0, uint64(10+i))
		} else {
			data = genClicks(&id, n/4, uint64(10+i))
		}
		records += int64(n / 4)
		bytes += int64(len(data))
		if err := os.WriteFile(filepath.Join(dir, "part-"+strconv.Itoa(i)+".ndjson.gz"), gzipBytes(&testing.T{}, data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return records, bytes
}

// BenchmarkJob runs the whole job in-process on generated input: stage only
// (-dry-run) and loading into the embedded emulator (a fresh one per run).
// It reports input MB/s (b.SetBytes) and records/s; -v logs the last run's
// report with the time per stage.
//
// BATCH_BENCH_DIR keeps the input in that directory, to run the built
// command on it (with /usr/bin/time -v for its peak RSS).
func BenchmarkJob(b *testing.B) {
	in := os.Getenv("BATCH_BENCH_DIR")
	if in == "" {
		in = b.TempDir()
	}
	records, size := benchInput(b, in)
	for _, mode := range []string{"dry-run", "emulator"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var report string
			for b.Loop() {
				args := []string{"-progress", "none", "-log-level", "error", "-show-rows", "0", "-max-reject-rate", "0.5"}
				if mode == "dry-run" {
					args = append(args, "-dry-run", "-o", b.TempDir())
				} else {
					args = append(args, "-o", b.TempDir())
				}
				var out writerString
				var stopping atomic.Bool
				code := run(context.Background(), append(args, in), func() []string { return nil }, &out, io.Discard, &stopping, nil)
				if code != 2 {
					b.Fatalf("exit %d\n%s", code, out)
				}
				report = string(out)
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if m := regexp.MustCompile(`records loaded\s+(\d+)`).FindStringSubmatch(report); mode == "emulator" && (m == nil || m[1] == "0") {
				b.Fatalf("nothing loaded:\n%s", report)
			}
			b.Logf("last run:\n%s", report)
		})
	}
}

type writerString []byte

func (w *writerString) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }
