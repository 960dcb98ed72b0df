package flatten_test

import (
	"path/filepath"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// TestZeroAllocs proves the steady-state contract: after one warm-up call on
// a reused Flattener and reused dst, Append (every array mode) and
// AppendRows allocate nothing per document.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts are not meaningful under -race or coverage")
	}
	for _, in := range benchInputs {
		data := readCorpus(t, in)
		docs := [][]byte{data}
		if filepath.Ext(in) == ".ndjson" {
			docs = splitLines(data)
		}
		for _, opts := range []flatten.Options{
			{}, {Arrays: flatten.ArraysIndex}, {Arrays: flatten.ArraysIndex, MaxDepth: 3},
			{Arrays: flatten.ArraysIndex, OnCollision: flatten.CollisionLast, Separator: "__"},
			{Include: []string{"user", "id"}, Exclude: []string{"user.entities"}},
		} {
			f := mustNew(t, opts)
			var fields []flatten.Field
			run := func() {
				for _, d := range docs {
					var err error
					fields, err = f.Append(fields[:0], d)
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			run() // warm-up
			if n := testing.AllocsPerRun(5, run); n != 0 {
				t.Errorf("%s %+v: %v allocs per run, want 0", in, opts, n)
			}
		}
		ft := mustNew(t, flatten.Options{Arrays: flatten.ArraysTables})
		var rows []flatten.Row
		runRows := func() {
			for _, d := range docs {
				var err error
				rows, err = ft.AppendRows(rows[:0], d)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		runRows()
		if n := testing.AllocsPerRun(5, runRows); n != 0 {
			t.Errorf("%s tables: %v allocs per run, want 0", in, n)
		}
	}
}
