package flatten_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/flatpipe/flatpipe/flatten"
)

// FuzzAppend checks that flattening never panics, that valid JSON within the
// limits is accepted, that invalid JSON is rejected, and that the output
// equals the encoding/json reference flattener's in the JSON and index
// modes, under every collision policy.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":1,"c":"x"}}`, `{"":{"":1}}`, `[1,{"a":2}]`, `{"a":[[],{}]}`, `{"a.b":1,"a":{"b":2}}`,
		`{"a":1,"a":2}`, `{"k\"ey":"a\\b\/c\n\u00e9\ud83d\ude00"}`, `{"a":12345678901234567890123,"b":1E400}`,
		"{\"a\":[ 1 ,\n\t\"x y\" , { \"b\" : [ ] } ]}", `"s"`, `null`, `{"a":[{"b":[1,2]},{"b":[]}]}`,
	} {
		f.Add([]byte(s))
	}
	// Seed from JSONTestSuite too.
	if entries, err := os.ReadDir(filepath.Join("testdata", "jsontestsuite", "test_parsing")); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join("testdata", "jsontestsuite", "test_parsing", e.Name())); err == nil && len(b) < 4096 {
				f.Add(b)
			}
		}
	}
	optsList := []flatten.Options{
		{}, {Arrays: flatten.ArraysIndex}, {Arrays: flatten.ArraysIndex, MaxDepth: 2},
		{OnCollision: flatten.CollisionFirst}, {Arrays: flatten.ArraysIndex, OnCollision: flatten.CollisionLast},
		{Separator: "::", Arrays: flatten.ArraysIndex},
	}
	flatteners := make([]*flatten.Flattener, len(optsList))
	for i, o := range optsList {
		flatteners[i] = mustNew(f, o)
	}
	tf := mustNew(f, flatten.Options{Arrays: flatten.ArraysTables})
	f.Fuzz(func(t *testing.T, doc []byte) {
		valid := json.Valid(doc) && utf8.Valid(doc)
		rows, err := tf.AppendRows(nil, doc)
		if err == nil && !json.Valid(doc) {
			t.Fatalf("tables mode accepted invalid JSON %q", doc)
		}
		if valid && !errors.Is(err, flatten.ErrNesting) {
			want, rerr := referenceRows(doc, flatten.Options{Arrays: flatten.ArraysTables})
			switch {
			case errors.Is(rerr, flatten.ErrCollision):
				if !errors.Is(err, flatten.ErrCollision) {
					t.Fatalf("tables %q: got %v, reference reports a collision", doc, err)
				}
			case err != nil || rerr != nil:
				t.Fatalf("tables %q: %v, reference %v", doc, err, rerr)
			default:
				if d := sameRows(rows, want); d != "" {
					t.Fatalf("tables %q: %s", doc, d)
				}
			}
		}
		for i, fl := range flatteners {
			got, err := fl.Append(nil, doc)
			if err == nil && !utf8.Valid(doc) {
				t.Fatalf("%+v: accepted invalid UTF-8 %q", optsList[i], doc)
			}
			if !json.Valid(doc) {
				if err == nil {
					t.Fatalf("%+v: accepted invalid JSON %q", optsList[i], doc)
				}
				continue
			}
			if !valid {
				continue // invalid UTF-8 in valid-looking JSON: ours rejects, encoding/json replaces
			}
			ref, rerr := referenceFlatten(doc, optsList[i])
			if errors.Is(err, flatten.ErrNesting) {
				continue
			}
			if errors.Is(rerr, flatten.ErrCollision) {
				if !errors.Is(err, flatten.ErrCollision) {
					t.Fatalf("%+v: %q: got %v, reference reports a collision", optsList[i], doc, err)
				}
				continue
			}
			if rerr != nil {
				t.Fatalf("reference failed on valid %q: %v", doc, rerr)
			}
			if err != nil {
				t.Fatalf("%+v: valid %q rejected: %v", optsList[i], doc, err)
			}
			if g := toRef(got); !sameRef(g, ref) {
				t.Fatalf("%+v: %q:\n got %v\nwant %v", optsList[i], doc, g, ref)
			}
		}
	})
}
