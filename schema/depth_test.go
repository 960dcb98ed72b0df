package schema

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

var depthTests = []struct {
	doc   string
	depth int
}{
	{`1`, 0},
	{`"[[["`, 0},
	{`{"a":1}`, 1},
	{`{"a":[1]}`, 2},
	{`[[],[[]]]`, 3},
	{`{"a\"[":"]\\","b":{"c":"\\\"{"}}`, 2},
	{`{"k":"\\\\"}`, 1},
	{`[{"a":[{"b":[{}]}]}]`, 6},
	{`]]]`, 0},
	{`"unterminated [`, 0},
	{strings.Repeat("[", 100) + strings.Repeat("]", 100), 100},
}

func TestDepth(t *testing.T) {
	for _, tt := range depthTests {
		if got := Depth([]byte(tt.doc)); got != tt.depth {
			t.Errorf("Depth(%q) = %d, want %d", tt.doc, got, tt.depth)
		}
	}
}

func TestCheckDepth(t *testing.T) {
	tests := []struct {
		doc      string
		maxDepth int
		maxBytes int
		err      error
		offset   int64
	}{
		{`{"a":[1]}`, 2, 0, nil, 0},
		{`{"a":[1]}`, 1, 0, ErrTooDeep, 5},
		{`{"a":[1]}`, 0, 9, nil, 0},
		{`{"a":[1]}`, 0, 8, ErrTooLarge, 8},
		{`[[[[[`, 3, 0, ErrTooDeep, 3},
	}
	for _, tt := range tests {
		err := CheckDepth([]byte(tt.doc), tt.maxDepth, tt.maxBytes)
		if !errors.Is(err, tt.err) {
			t.Errorf("CheckDepth(%q, %d, %d) = %v, want %v", tt.doc, tt.maxDepth, tt.maxBytes, err, tt.err)
			continue
		}
		var le *LimitError
		if tt.err != nil && (!errors.As(err, &le) || le.Offset != tt.offset) {
			t.Errorf("CheckDepth(%q) = %v, want offset %d", tt.doc, err, tt.offset)
		}
	}
}

func TestCheckDepthAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts differ under -race and coverage")
	}
	doc := []byte(`{"a":[{"b":"x\"y"},[1,2,{"c":{}}]]}`)
	if a := testing.AllocsPerRun(100, func() { _ = CheckDepth(doc, 10, 1<<20) }); a != 0 {
		t.Errorf("CheckDepth allocates %v times, want 0", a)
	}
}

// FuzzDepth checks Depth against the nesting the flattener measures: a valid
// document's depth is ≤ n exactly when flattening with MaxNesting n succeeds.
func FuzzDepth(f *testing.F) {
	for _, tt := range depthTests {
		f.Add([]byte(tt.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d := Depth(doc)
		if err := CheckDepth(doc, d, 0); err != nil {
			t.Fatalf("CheckDepth(doc, Depth(doc)=%d) = %v", d, err)
		}
		if d > 1 && CheckDepth(doc, d-1, 0) == nil {
			t.Fatalf("CheckDepth(doc, %d) = nil with Depth %d", d-1, d)
		}
		fl, _ := flatten.New(flatten.Options{MaxNesting: max(d, 1)})
		if _, err := fl.Append(nil, doc); err != nil && errors.Is(err, flatten.ErrNesting) {
			t.Fatalf("Depth(%q) = %d but flattening with MaxNesting %d fails: %v", doc, d, d, err)
		}
		if d > 1 {
			fl, _ = flatten.New(flatten.Options{MaxNesting: d - 1})
			if _, err := fl.Append(nil, doc); err == nil {
				t.Fatalf("Depth(%q) = %d but flattening with MaxNesting %d succeeds", doc, d, d-1)
			}
		}
	})
}

func corpusDocs(b *testing.B, name string) [][]byte {
	path := filepath.Join("..", "testdata", "corpus", name)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("corpus absent: %v", err)
	}
	if strings.HasSuffix(name, ".ndjson") {
		return readLines(b, path)
	}
	return [][]byte{data}
}

func BenchmarkCheckDepth(b *testing.B) {
	for _, name := range []string{"twitter.json", "citm_catalog.json", "canada.json", "github_events.ndjson"} {
		b.Run(name+"/checkdepth", func(b *testing.B) {
			docs := corpusDocs(b, name)
			size := 0
			for _, d := range docs {
				size += len(d)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				for _, d := range docs {
					if err := CheckDepth(d, 64, 64<<20); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(docs))/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(name+"/flatten", func(b *testing.B) {
			docs := corpusDocs(b, name)
			size := 0
			for _, d := range docs {
				size += len(d)
			}
			f, _ := flatten.New(flatten.Options{})
			var fields []flatten.Field
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				for _, d := range docs {
					var err error
					if fields, err = f.Append(fields[:0], d); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(docs))/b.Elapsed().Seconds(), "records/s")
		})
	}
}
