package loadtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// BenchmarkLoader loads staged files (gzip NDJSON) into a fresh table of the
// emulator per iteration, through the real driver: PUT of every file with 1
// or 4 uploads at once, then one COPY. It reports files/s, rows/s and the
// shares of PUT and COPY in the load's time; SetBytes counts the files'
// compressed bytes.
func BenchmarkLoader(b *testing.B) {
	const files, rowsPerFile = 8, 2000
	_, db := emulator(b, snowflaketest.Options{})
	batch := makeBatch(b, b.TempDir(), "bench", files, records(1, files*rowsPerFile, ""))
	var size int64
	for _, f := range batch.files {
		size += f.Size
	}
	for _, par := range []int{1, 4} {
		b.Run(fmt.Sprintf("files=%d/rows=%d/parallel=%d", files, files*rowsPerFile, par), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			var put, cp, total time.Duration
			i := 0
			for b.Loop() {
				i++
				l, err := load.NewLoader(db, load.LoaderOptions{Table: fmt.Sprintf("bench_%d_%d", par, i), Parallel: par})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				res, err := l.Load(context.Background(), batch.table, batch.files)
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				put += res.Upload
				cp += res.Copy
				if res.RowsLoaded != files*rowsPerFile {
					b.Fatalf("loaded %d rows, want %d", res.RowsLoaded, files*rowsPerFile)
				}
			}
			sec := total.Seconds()
			b.ReportMetric(float64(i*files)/sec, "files/s")
			b.ReportMetric(float64(i*files*rowsPerFile)/sec, "rows/s")
			b.ReportMetric(100*put.Seconds()/sec, "%put")
			b.ReportMetric(100*cp.Seconds()/sec, "%copy")
		})
	}
}
