package stagefile

import (
	"errors"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// FuzzWrite feeds hand-made fields (any kind byte, path and value) to
// every format: Write and Close never panic, and an error is either
// ErrValue or, after one, sticky.
func FuzzWrite(f *testing.F) {
	f.Add([]byte("a"), []byte("1"), byte(flatten.Number), []byte("b"), []byte("x"), byte(flatten.String))
	f.Add([]byte("a"), []byte("1.5e3"), byte(flatten.Number), []byte("a"), []byte("2"), byte(flatten.Number))
	f.Add([]byte("n"), []byte("-0"), byte(flatten.Number), []byte("o"), []byte(`{"k":[1]}`), byte(flatten.Object))
	f.Add([]byte(""), []byte("12345678901234567890123456789012345678"), byte(flatten.Number), []byte("\x00_ID"), []byte("null"), byte(flatten.Null))
	f.Add([]byte("a"), []byte("1x"), byte(flatten.Number), []byte("b"), []byte("tru"), byte(flatten.Bool))
	f.Fuzz(func(t *testing.T, p1, v1 []byte, k1 byte, p2, v2 []byte, k2 byte) {
		for _, format := range []Format{NDJSON, CSV, Parquet} {
			w, err := NewWriter(WriterOptions{Dir: t.TempDir(), Table: "T", Format: format, Compression: Uncompressed, DiscoverRows: -1})
			if err != nil {
				t.Fatal(err)
			}
			rows := [][]flatten.Field{
				{{Path: p1, Value: v1, Kind: flatten.Kind(k1)}},
				{{Path: p1, Value: v1, Kind: flatten.Kind(k1)}, {Path: p2, Value: v2, Kind: flatten.Kind(k2)}},
				{{Path: p2, Value: v2, Kind: flatten.Kind(k2)}},
			}
			var sticky error
			for i, r := range rows {
				err := w.Write(int64(i+1), r)
				if sticky != nil && err == nil {
					t.Fatalf("%v: Write after error %v succeeded", format, sticky)
				}
				if err != nil && !errors.Is(err, ErrValue) {
					sticky = err
				}
			}
			w.Close()
		}
	})
}
