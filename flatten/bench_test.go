package flatten_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// corpusDir holds the benchmark documents (a nested module that is not
// published); tests and benchmarks that need it skip when it is absent.
const corpusDir = "../testdata/corpus"

func readCorpus(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		tb.Skipf("corpus file %s not available: %v", name, err)
	}
	return b
}

// splitLines returns the non-empty lines of an NDJSON file.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out
}

var benchInputs = []string{"twitter.json", "citm_catalog.json", "canada.json", "github_events.json", "github_events.ndjson", "twitter_statuses.ndjson"}

func BenchmarkAppend(b *testing.B) {
	modes := []struct {
		name string
		opts flatten.Options
	}{
		{"index", flatten.Options{Arrays: flatten.ArraysIndex}},
		{"json", flatten.Options{}},
	}
	for _, in := range benchInputs {
		data := readCorpus(b, in)
		docs := [][]byte{data}
		if filepath.Ext(in) == ".ndjson" {
			docs = splitLines(data)
		}
		for _, m := range modes {
			b.Run(in+"/"+m.name, func(b *testing.B) {
				f, err := flatten.New(m.opts)
				if err != nil {
					b.Fatal(err)
				}
				var fields []flatten.Field
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					for _, d := range docs {
						fields, err = f.Append(fields[:0], d)
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(len(docs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
		b.Run(in+"/tables", func(b *testing.B) {
			f, _ := flatten.New(flatten.Options{Arrays: flatten.ArraysTables})
			var rows []flatten.Row
			var err error
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for _, d := range docs {
					rows, err = f.AppendRows(rows[:0], d)
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
