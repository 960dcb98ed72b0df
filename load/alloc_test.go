package load

import (
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
)

// TestWriteAllocs: writing a row allocates nothing in steady state (after
// the file is open and the row's columns are known).
func TestWriteAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts are not meaningful under -race or coverage")
	}
	doc := []byte(`{"id":505874924095815681,"user":{"name":"a \"b\", c","age":42},"price":1.10,"ok":true,"tags":["x",1],"nul":null}`)
	fl, err := flatten.New(flatten.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fields, err := fl.Append(nil, doc)
	if err != nil {
		t.Fatal(err)
	}
	// With a subtree column for "user" (a wide object kept whole), its
	// members are joined into one value on every row.
	subtree := []schema.Column{{Name: "USER", Path: "user", Type: schema.Type{Kind: schema.Variant}, Subtree: true}}
	for _, cols := range [][]schema.Column{nil, subtree} {
		for _, format := range []Format{NDJSON, CSV, Parquet} {
			for _, comp := range []Compression{Gzip, Zstd, Uncompressed} {
				w, err := NewWriter(WriterOptions{Dir: t.TempDir(), Table: "T", Format: format, Compression: comp, Columns: cols})
				if err != nil {
					t.Fatal(err)
				}
				var rec int64
				for range 12000 { // warm up: past discovery (10,000 rows held), file open, buffers sized
					rec++
					if err := w.Write(rec, fields); err != nil {
						t.Fatal(err)
					}
				}
				allocs := testing.AllocsPerRun(2000, func() {
					rec++
					if err := w.Write(rec, fields); err != nil {
						t.Fatal(err)
					}
				})
				t.Logf("%v/%v (subtree %v): %.3f allocations per row", format, comp, cols != nil, allocs)
				if format == Parquet {
					// parquet-go's page writers allocate when a page fills; what
					// matters is the average per row.
					if allocs > 0.1 {
						t.Errorf("%v/%v: %.3f allocations per row, want < 0.1", format, comp, allocs)
					}
				} else if allocs != 0 {
					t.Errorf("%v/%v: %.3f allocations per row, want 0", format, comp, allocs)
				}
				if _, err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
