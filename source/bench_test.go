package source

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkScanner measures framing throughput on the corpus (skipped when the
// nested benchmark-data module is absent) and on generated input.
func BenchmarkScanner(b *testing.B) {
	type input struct {
		name   string
		format Format
		data   []byte
	}
	var inputs []input
	if d, err := os.ReadFile("../testdata/corpus/twitter_statuses.ndjson"); err == nil {
		inputs = append(inputs, input{"twitter_statuses", NDJSON, d})
	}
	for _, f := range []Format{NDJSON, Array, Concatenated} {
		d, _ := bigInput(8<<20, f)
		inputs = append(inputs, input{"generated_" + f.String(), f, d})
	}
	for _, in := range inputs {
		for _, comp := range []string{"plain", "gzip"} {
			data := in.data
			if comp == "gzip" {
				data = gz(b, in.data)
			}
			b.Run(in.name+"/"+comp, func(b *testing.B) {
				r := bytes.NewReader(data)
				s := mustScanner(b, r, Options{Format: in.format})
				defer s.Close()
				b.SetBytes(int64(len(in.data)))
				b.ReportAllocs()
				recs := 0
				for b.Loop() {
					r.Reset(data)
					s.Reset(r)
					for s.Scan() {
						recs++
					}
					if s.Err() != nil {
						b.Fatal(s.Err())
					}
				}
				b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
