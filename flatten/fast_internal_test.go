package flatten

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fast walker (fast.go) must give exactly what the general walker gives:
// the same fields, or an error with the same text. These tests run both on
// the same documents; the other tests run the fast walker wherever it applies
// and the general one wherever it does not, so both meet every rule.

var fastOpts = []Options{
	{},
	{Arrays: ArraysIndex},
	{OnCollision: CollisionFirst},
	{Arrays: ArraysIndex, OnCollision: CollisionLast},
	{Separator: "/", Arrays: ArraysIndex},
	{Arrays: ArraysIndex, MaxNesting: 3},
	{MaxNesting: 2},
}

type walkerPair struct {
	opts          Options
	fast, general *Flattener
}

func newWalkerPairs(tb testing.TB) []walkerPair {
	var ps []walkerPair
	for _, o := range fastOpts {
		fast, err := New(o)
		if err != nil {
			tb.Fatal(err)
		}
		general, _ := New(o)
		general.noFast = true
		if !fast.fastOK() {
			tb.Fatalf("%+v: fast walker not used", o)
		}
		ps = append(ps, walkerPair{o, fast, general})
	}
	return ps
}

func describe(fields []Field, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "%q=%q(%v) cap %d/%d\n", f.Path, f.Value, f.Kind, cap(f.Path)-len(f.Path), cap(f.Value)-len(f.Value))
	}
	return b.String()
}

func compareWalkers(t *testing.T, ps []walkerPair, doc []byte) {
	t.Helper()
	for _, p := range ps {
		prefix := []Field{{Path: []byte("keep"), Value: []byte("1"), Kind: Number}}
		got, gerr := p.fast.Append(prefix[:1:1], doc)
		want, werr := p.general.Append(prefix[:1:1], doc)
		if g, w := describe(got, gerr), describe(want, werr); g != w {
			t.Fatalf("%+v %q:\nfast:    %s\ngeneral: %s", p.opts, short(doc), short([]byte(g)), short([]byte(w)))
		}
		// The fields must not share spare capacity with anything a later
		// field uses: appending to one must not change another.
		for k := range got {
			if k > 0 && (cap(got[k].Path) != len(got[k].Path) || cap(got[k].Value) != len(got[k].Value)) {
				t.Fatalf("%+v %q: field %d has spare capacity", p.opts, short(doc), k)
			}
		}
	}
}

func short(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

func TestFastMatchesGeneral(t *testing.T) {
	ps := newWalkerPairs(t)
	docs := []string{
		`{"a":1}`, `{"a":{"b":{"c":[1,2,{"d":null}]}},"e":"x"}`, `[1,[2,[3,[]]],{}]`, `{"a":[]}`,
		`{"a":{},"b":[],"c":[{}],"d":[[]]}`, `{"":{"":{"":1}}}`, `{"k\"ey":{"x\/y":"a\\b\u00e9"}}`,
		`{"é":{"ü":"ß"}}`, `{"a":1,"a":2}`, `{"a":{"b":1},"a":{"c":2}}`, `{"a.b":1,"a":{"b":2}}`,
		`{"a/b":1,"a":{"b":2}}`, `{"a":1} x`, `{"a":[1,2,]}`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`,
		`{"a":[[[[1]]]]}`, `{"a":{"b":{"c":{}}}}`, `[[[[]]]]`, `{"a":"\ud800"}`, `{"a\u002eb":1,"a":{"b":2}}`,
		"{\"a\":\x01}", "{\"a\":\"\xff\"}", "{\"\xc3\":1}", `{"a":tru}`, `{"a":[1 2]}`, `{"a":{"b":1]}`,
		" \n{ \"a\" : [ 1 , { \"b\" : \"c\" } ] , \"d\" : { } }\n", `{"a":1E400,"b":-0.000,"c":12345678901234567890123}`,
	}
	// Many keys in one object (the hash set past smallObject), with and
	// without a repeat.
	var wide, wideDup strings.Builder
	wide.WriteString("{")
	for k := 0; k < 300; k++ {
		if k > 0 {
			wide.WriteString(",")
		}
		fmt.Fprintf(&wide, `"k%d":{"i":[%d,{"j":%d}]}`, k, k, k)
	}
	wideDup.WriteString(wide.String() + `,"k7":1}`)
	wide.WriteString("}")
	docs = append(docs, wide.String(), wideDup.String())
	// Arrays long enough for multi-digit indexes.
	docs = append(docs, `{"a":[`+strings.TrimSuffix(strings.Repeat(`{"x":[1,2]},`, 1200), ",")+`]}`)
	for _, d := range docs {
		compareWalkers(t, ps, []byte(d))
	}
	// The corpus and the JSONTestSuite files.
	for _, dir := range []string{filepath.Join("..", "testdata", "corpus"), filepath.Join("testdata", "jsontestsuite", "test_parsing")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || !(strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), ".ndjson")) {
				continue
			}
			for _, line := range bytes.Split(b, []byte("\n")) {
				if strings.HasSuffix(e.Name(), ".json") {
					line = b
				}
				compareWalkers(t, ps, line)
				if strings.HasSuffix(e.Name(), ".json") {
					break
				}
			}
		}
	}
}

// TestFastDeepLongKeys: containers under a long key, nested deeply, would
// make the fast walker copy the long prefix once per level; it gives up
// past a budget and the general walker, linear in the input, takes over.
func TestFastDeepLongKeys(t *testing.T) {
	ps := newWalkerPairs(t)
	long := strings.Repeat("k", 1<<16)
	doc := `{"` + long + `":` + strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000) + `}`
	f, _ := New(Options{})
	fields, err := f.Append(nil, []byte(doc))
	if err != nil || len(fields) != 1 || len(fields[0].Path) != len(long)+2000*2 {
		t.Fatalf("got %d fields, %v", len(fields), err)
	}
	compareWalkers(t, ps[:2], []byte(doc))
}

func FuzzFastMatchesGeneral(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":1,"c":"x"}}`, `{"":{"":1}}`, `[1,{"a":2}]`, `{"a":[[],{}]}`, `{"a.b":1,"a":{"b":2}}`,
		`{"a":1,"a":2}`, `{"k\"ey":"a\\b\/c\n\u00e9\ud83d\ude00"}`, `{"a":[1,[2,[3]]]}`, `{"a":[ {"b" : 2} ] }`,
	} {
		f.Add([]byte(s))
	}
	ps := newWalkerPairs(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		compareWalkers(t, ps, doc)
	})
}
