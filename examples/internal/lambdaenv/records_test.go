package lambdaenv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/source"
)

func TestFramingAndArrays(t *testing.T) {
	vars := []lambdaenv.Var{{Name: "FRAMING"}, {Name: "ARRAYS"}}
	for _, tt := range []struct {
		framing, arrays string
		wantF           source.Format
		wantA           flatten.ArrayMode
	}{
		{"", "", source.NDJSON, flatten.ArraysJSON},
		{"ndjson", "json", source.NDJSON, flatten.ArraysJSON},
		{"json", "index", source.Document, flatten.ArraysIndex},
		{"array", "", source.Array, flatten.ArraysJSON},
		{"concat", "", source.Concatenated, flatten.ArraysJSON},
	} {
		env := lambdaenv.NewEnv(lookupMap(map[string]string{"FRAMING": tt.framing, "ARRAYS": tt.arrays}), vars)
		if f, a := env.Framing("FRAMING"), env.Arrays("ARRAYS"); f != tt.wantF || a != tt.wantA || env.Err() != nil {
			t.Errorf("%q/%q: got %v/%v, %v; want %v/%v", tt.framing, tt.arrays, f, a, env.Err(), tt.wantF, tt.wantA)
		}
	}
	env := lambdaenv.NewEnv(lookupMap(map[string]string{"FRAMING": "xml", "ARRAYS": "tables"}), vars)
	env.Framing("FRAMING")
	env.Arrays("ARRAYS")
	if err := env.Err(); !errors.Is(err, lambdaenv.ErrConfig) {
		t.Fatalf("unknown values: %v", err)
	} else if s := err.Error(); !strings.Contains(s, "FRAMING") || !strings.Contains(s, "ARRAYS") {
		t.Fatalf("both variables named: %v", err)
	}
}
