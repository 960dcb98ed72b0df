package stagefile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// BenchmarkWrite measures Writer.Write alone (records flattened before the
// timer starts) on the corpus's NDJSON files, per format and compression.
func BenchmarkWrite(b *testing.B) {
	for _, corpus := range []string{"github_events.ndjson", "twitter_statuses.ndjson"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", corpus))
		if err != nil {
			b.Skip(err)
		}
		fl, _ := flatten.New(flatten.Options{})
		var recs [][]flatten.Field
		for _, line := range bytes.Split(data, []byte("\n")) {
			fields, err := fl.Append(nil, line)
			if err != nil || len(fields) == 0 {
				continue
			}
			cp := make([]flatten.Field, len(fields))
			for i, f := range fields {
				cp[i] = flatten.Field{Path: bytes.Clone(f.Path), Value: bytes.Clone(f.Value), Kind: f.Kind}
			}
			recs = append(recs, cp)
		}
		for _, fc := range []struct {
			f Format
			c Compression
		}{{NDJSON, Gzip}, {NDJSON, Zstd}, {CSV, Gzip}, {CSV, Zstd}, {Parquet, Zstd}, {Parquet, Uncompressed}} {
			b.Run(fmt.Sprintf("%s/%v-%v", corpus, fc.f, fc.c), func(b *testing.B) {
				w, err := NewWriter(WriterOptions{Dir: b.TempDir(), Table: "T", Format: fc.f, Compression: fc.c})
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				var rec int64
				for b.Loop() {
					for _, r := range recs {
						rec++
						if err := w.Write(rec, r); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				if _, err := w.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
