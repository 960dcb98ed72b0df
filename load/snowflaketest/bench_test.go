package snowflaketest_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// writeNDJSON writes about size bytes of NDJSON records to path and returns
// the number of records and bytes written.
func writeNDJSON(tb testing.TB, path string, size int64) (rows, n int64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var line []byte
	for n < size {
		line = line[:0]
		line = append(line, `{"id":`...)
		line = strconv.AppendInt(line, rows, 10)
		line = append(line, `,"name":"user-`...)
		line = strconv.AppendInt(line, rows*7919%100003, 10)
		line = append(line, `","ts":"`...)
		line = base.Add(time.Duration(rows)*time.Second).AppendFormat(line, "2006-01-02 15:04:05")
		line = append(line, `","amount":`...)
		line = strconv.AppendFloat(line, float64(rows%10000)/100, 'f', 2, 64)
		line = append(line, `,"tags":["a","b`...)
		line = strconv.AppendInt(line, rows%13, 10)
		line = append(line, `"],"ok":true}`+"\n"...)
		if _, err := w.Write(line); err != nil {
			tb.Fatal(err)
		}
		n += int64(len(line))
		rows++
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return rows, n
}

// peakRSS returns the process's peak resident set size in bytes (Linux:
// VmHWM), or 0 where unknown; resetPeakRSS starts a new peak.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkCopy loads one gzip-compressed NDJSON file of 10, 100 and 500
// MB (raw) into a typed table with MATCH_BY_COLUMN_NAME through the
// driver. Set SNOWFLAKETEST_BENCH_SIZES (e.g. "10,100") to choose sizes.
// Reported: MB/s of raw input, rows/s, and the process's peak RSS during
// the COPY (emulator, DuckDB and the loaded table together).
func BenchmarkCopy(b *testing.B) {
	sizes := []int64{10, 100, 500}
	if v := os.Getenv("SNOWFLAKETEST_BENCH_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				b.Fatalf("SNOWFLAKETEST_BENCH_SIZES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	limit := os.Getenv("SNOWFLAKETEST_BENCH_MEMORY_LIMIT") // e.g. "256MB": Options.MemoryLimit
	for _, mb := range sizes {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			srv, err := snowflaketest.NewServer(snowflaketest.Options{MemoryLimit: limit})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			db := srv.OpenDB()
			defer db.Close()
			db.SetMaxOpenConns(1)
			dir := b.TempDir()
			path := filepath.Join(dir, "events.ndjson")
			rows, size := writeNDJSON(b, path, mb<<20)
			if _, err := db.Exec("CREATE TABLE events (id NUMBER, name VARCHAR, ts TIMESTAMP_NTZ, amount FLOAT, tags ARRAY, ok BOOLEAN)"); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec("PUT file://" + path + " @%events"); err != nil {
				b.Fatal(err)
			}
			_ = os.Remove(path)
			b.SetBytes(size)
			b.ReportAllocs()
			var peak int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if _, err := db.Exec("TRUNCATE TABLE events"); err != nil {
					b.Fatal(err)
				}
				resetPeakRSS()
				b.StartTimer()
				var file, status string
				var parsed, loaded int64
				err := db.QueryRow("COPY INTO events FROM @%events FILE_FORMAT = (TYPE = JSON) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE FORCE = TRUE").
					Scan(&file, &status, &parsed, &loaded, new(any), new(any), new(any), new(any), new(any), new(any))
				if err != nil {
					b.Fatal(err)
				}
				if status != "LOADED" || loaded != rows {
					b.Fatalf("COPY = %s %d/%d rows, want LOADED %d", status, loaded, parsed, rows)
				}
				peak = max(peak, peakRSS())
			}
			b.StopTimer()
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(rows)/sec, "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
		})
	}
}
