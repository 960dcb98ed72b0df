package flatpipe_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/simdjson-go"

	"github.com/flatpipe/flatpipe/flatten"
)

// BenchmarkFlatten/<input>/<impl> compares flatpipe's flattener with the Go
// JSON walkers people use. Run it as BENCHMARKS.md says: one test binary,
// ≥ 10 interleaved runs at -test.cpu 1, compared with benchstat.
//
// Inputs are the corpus files in testdata/corpus (skipped when absent; they
// are not shipped, see testdata/corpus/README.md) and a generated ~100 MB
// NDJSON of nested events (skipped under -short). NDJSON inputs are flattened
// one call per line; MB/s counts the whole file, records/s the lines.

var corpusDir = flag.String("corpus", "testdata/corpus", "directory holding the benchmark corpus files")

// input is one benchmark input: the whole file and its records (the file
// itself, or its NDJSON lines).
type input struct {
	name    string
	data    []byte
	records [][]byte
	ndjson  bool
}

// corpusFiles are the corpus inputs, in benchmark order.
var corpusFiles = []struct {
	name, file string
	ndjson     bool
}{
	{"twitter", "twitter.json", false},
	{"citm_catalog", "citm_catalog.json", false},
	{"canada", "canada.json", false},
	{"github_events.nd", "github_events.ndjson", true},
	{"twitter_statuses.nd", "twitter_statuses.ndjson", true},
}

const generatedName = "generated_events.nd"

func loadCorpus(tb testing.TB, file string, ndjson bool) (input, bool) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(*corpusDir, file))
	if os.IsNotExist(err) {
		return input{}, false
	}
	if err != nil {
		tb.Fatal(err)
	}
	in := input{name: strings.TrimSuffix(file, ".json"), data: data, ndjson: ndjson}
	if ndjson {
		in.records = splitLines(data)
	} else {
		in.records = [][]byte{data}
	}
	return in, true
}

// splitLines returns the non-empty lines of data, without their '\n'.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, line)
		}
	}
	return lines
}

var generated = sync.OnceValue(func() input {
	data := generateEvents(generatedSize)
	return input{name: generatedName, data: data, records: splitLines(data), ndjson: true}
})

// agreementInputs are the inputs TestPeerAgreement checks: every corpus file
// present (github_events.json too, for a top-level array), the edge cases
// below and the first 2 MB of the generated input.
func agreementInputs(tb testing.TB) []input {
	var ins []input
	files := append(corpusFiles[:len(corpusFiles):len(corpusFiles)], struct {
		name, file string
		ndjson     bool
	}{"github_events", "github_events.json", false})
	for _, f := range files {
		in, ok := loadCorpus(tb, f.file, f.ndjson)
		if !ok {
			tb.Logf("%s absent: not checked", f.file)
			continue
		}
		in.name = f.name
		ins = append(ins, in)
	}
	ins = append(ins, input{name: "edge.nd", data: edgeRecords, records: splitLines(edgeRecords), ndjson: true})
	data := generateEvents(2_000_000)
	ins = append(ins, input{name: generatedName, data: data, records: splitLines(data), ndjson: true})
	return ins
}

// edgeRecords are small records for the path rules' corner cases: roots of
// every kind, empty containers at every level, empty keys, escaped keys,
// arrays of arrays.
var edgeRecords = []byte(`{"a":{},"b":[],"c":[[],{},[[]]],"d":{"e":{"f":[{}]}}}
{"":{"":1,"x":[null]},"k\"ey":"v\u00e9","\u00e9":null,"\ud83d\ude00":true,"t\tab":-0.0}
[1,[2,{}],{"a":[]},[]]
[]
{}
"scalar \" with escape"
12.5e3
null
{"deep":[[[[[[[[[[1]]]]]]]]]],"wide":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}}
`)

func simdjsonSupported() bool { return simdjson.SupportedCPU() }

// benchImpl is one row of the benchmark.
type benchImpl struct {
	name     string
	new      func() (walker, error)
	wholeND  bool // takes a whole NDJSON buffer in one call
	ndOnly   bool // meaningful only on NDJSON inputs
	needsCPU bool // needs simdjson.SupportedCPU()
	// noWarmup: the implementation keeps no state between records (it
	// allocates afresh each time), so a warm-up pass would only cost time.
	noWarmup bool
}

func benchImpls() []benchImpl {
	stats := func(p statsPeer) benchImpl {
		return benchImpl{
			name: p.name, wholeND: p.wholeND, ndOnly: p.ndOnly, needsCPU: p.needsCPU,
			new: func() (walker, error) { w, _ := p.new(); return w, nil },
		}
	}
	impls := []benchImpl{
		{name: "flatpipe-index", new: func() (walker, error) {
			return newFlatpipeWalker(flatten.Options{Arrays: flatten.ArraysIndex})
		}},
		{name: "flatpipe-json", new: func() (walker, error) {
			return newFlatpipeWalker(flatten.Options{})
		}},
		{name: "jeremywohl", noWarmup: true, new: func() (walker, error) { return &jeremywohlWalker{}, nil }},
		{name: "stdjson-map", noWarmup: true, new: func() (walker, error) { return &stdMapWalker{}, nil }},
	}
	for _, p := range statsPeers() {
		impls = append(impls, stats(p))
	}
	return impls
}

func BenchmarkFlatten(b *testing.B) {
	for _, f := range corpusFiles {
		b.Run(f.name, func(b *testing.B) {
			in, ok := loadCorpus(b, f.file, f.ndjson)
			if !ok {
				b.Skipf("%s absent from %s", f.file, *corpusDir)
			}
			benchInput(b, in)
		})
	}
	b.Run(generatedName, func(b *testing.B) {
		if testing.Short() {
			b.Skip("generated input skipped under -short")
		}
		benchInput(b, generated())
	})
}

func benchInput(b *testing.B, in input) {
	for _, impl := range benchImpls() {
		b.Run(impl.name, func(b *testing.B) {
			if impl.ndOnly && !in.ndjson {
				b.Skip("n/a: whole-document input")
			}
			if impl.needsCPU && !simdjsonSupported() {
				b.Skip("n/a: simdjson-go needs AVX2 and CLMUL")
			}
			if impl.name == "jeremywohl" && firstByte(in.data) == '[' {
				b.Skip("n/a: jeremywohl/flatten takes no top-level array")
			}
			w, err := impl.new()
			if err != nil {
				b.Fatal(err)
			}
			recs := in.records
			if impl.wholeND {
				recs = [][]byte{in.data}
			}
			run := func() {
				for _, rec := range recs {
					if _, err := w.walk(rec); err != nil {
						b.Fatalf("%s: %v", impl.name, err)
					}
				}
			}
			if !impl.noWarmup {
				run() // warm-up: reused buffers reach their steady-state size
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			cpu0 := processCPUTime()
			for b.Loop() {
				run()
			}
			cpu := processCPUTime() - cpu0
			b.ReportMetric(float64(len(in.records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if cpu0 != 0 && cpu > 0 {
				// The anchors in the foundation issue are CPU-time MB/s.
				b.ReportMetric(float64(len(in.data))*float64(b.N)/1e6/cpu.Seconds(), "cpuMB/s")
			}
		})
	}
}
