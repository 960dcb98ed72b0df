package flatpipe_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// refLeaf is one leaf of the reference flattening.
type refLeaf struct {
	path  string
	value string // strings unescaped, numbers as written, "{}"/"[]" for empty containers
	kind  flatten.Kind
}

// refFlatten is the reference: an encoding/json token walk (UseNumber, so
// number literals stay as written) with the path rules of ArraysIndex mode
// described at the top of bench_walkers_test.go. It keeps duplicate keys and
// document order, which a map-based flattener cannot.
func refFlatten(doc []byte) ([]refLeaf, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out []refLeaf
	if err := refValue(dec, nil, 0, &out); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("reference: data after the document: %v", err)
	}
	return out, nil
}

func refValue(dec *json.Decoder, path []byte, depth int, out *[]refLeaf) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	leaf := func(v string, k flatten.Kind) {
		*out = append(*out, refLeaf{path: string(path), value: v, kind: k})
	}
	switch t := tok.(type) {
	case json.Delim:
		n := 0
		switch t {
		case '{':
			for ; dec.More(); n++ {
				ktok, err := dec.Token()
				if err != nil {
					return err
				}
				key, ok := ktok.(string)
				if !ok {
					return fmt.Errorf("reference: key %v is not a string", ktok)
				}
				if err := refValue(dec, appendSeg(path, depth, []byte(key)), depth+1, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if n == 0 && depth > 0 {
				leaf("{}", flatten.Object)
			}
		case '[':
			for ; dec.More(); n++ {
				if err := refValue(dec, appendIndex(path, depth, n), depth+1, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if n == 0 {
				leaf("[]", flatten.Array)
			}
		default:
			return fmt.Errorf("reference: unexpected %v", t)
		}
	case string:
		leaf(t, flatten.String)
	case json.Number:
		leaf(string(t), flatten.Number)
	case bool:
		leaf(strconv.FormatBool(t), flatten.Bool)
	case nil:
		leaf("null", flatten.Null)
	default:
		return fmt.Errorf("reference: unexpected token %T", tok)
	}
	return nil
}

// leafSet summarises a multiset of leaves: how many, and order-independent
// sums of hashes of their paths and of their (path, kind, value) triples.
type leafSet struct {
	leaves   int
	pathSum  uint64
	valueSum uint64
}

func (s *leafSet) addPath(path []byte) {
	s.leaves++
	s.pathSum += fnv64a(path)
}

func (s *leafSet) addField(path, value []byte, kind flatten.Kind) {
	s.addPath(path)
	h := fnv64a(path)
	h = (h ^ uint64(kind)) * 1099511628211
	for _, c := range value {
		h = (h ^ uint64(c)) * 1099511628211
	}
	s.valueSum += h
}

// TestPeerAgreement checks that every peer walker visits the same leaves as
// the encoding/json reference, on every input: same leaf count and the same
// order-independent hash of paths. jeremywohl/flatten is checked against the
// reference minus empty containers (which it drops) on object roots;
// stdjson-map against the reference's distinct paths (a map has no
// duplicates), simdjson-go on the records it can take (no scalar root).
// flatpipe-index is checked on paths, kinds and values.
func TestPeerAgreement(t *testing.T) {
	for _, in := range agreementInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			// Reference, record by record.
			var want, wantDistinct, wantContainers leafSet
			for i, rec := range in.records {
				leaves, err := refFlatten(rec)
				if err != nil {
					t.Fatalf("reference on record %d: %v", i, err)
				}
				container := firstByte(rec) == '{' || firstByte(rec) == '['
				seen := make(map[string]bool, len(leaves))
				for _, l := range leaves {
					want.addField([]byte(l.path), []byte(l.value), l.kind)
					if container {
						wantContainers.addPath([]byte(l.path))
					}
					if !seen[l.path] {
						seen[l.path] = true
						wantDistinct.addPath([]byte(l.path))
					}
				}
			}
			if want.leaves == 0 {
				t.Fatal("reference found no leaves")
			}

			t.Run("flatpipe-index", func(t *testing.T) {
				checkFlatpipe(t, in, want)
			})
			t.Run("jeremywohl", func(t *testing.T) {
				checkJeremywohl(t, in)
			})
			t.Run("stdjson-map", func(t *testing.T) {
				var got leafSet
				w := &stdMapWalker{}
				for i, rec := range in.records {
					if _, err := w.walk(rec); err != nil {
						t.Fatalf("record %d: %v", i, err)
					}
					for k := range w.last {
						got.addPath([]byte(k))
					}
				}
				if got.leaves != wantDistinct.leaves || got.pathSum != wantDistinct.pathSum {
					t.Errorf("stdjson-map: %d leaves, path hash %#x; want %d, %#x (distinct paths)",
						got.leaves, got.pathSum, wantDistinct.leaves, wantDistinct.pathSum)
				}
			})
			for _, impl := range statsPeers() {
				t.Run(impl.name, func(t *testing.T) {
					if impl.ndOnly && !in.ndjson {
						t.Skip("n/a: whole-document input")
					}
					if reason := impl.unsupported(); reason != "" {
						t.Skip(reason)
					}
					w, s := impl.new()
					s.hashing = true
					want, recs := want, in.records
					if impl.containerRoots {
						// simdjson-go rejects a scalar root document.
						want, recs = wantContainers, nil
						for _, rec := range in.records {
							if c := firstByte(rec); c == '{' || c == '[' {
								recs = append(recs, rec)
							}
						}
					}
					if impl.wholeND {
						recs = [][]byte{append(bytes.Join(recs, []byte("\n")), '\n')}
					}
					leaves := 0
					for i, rec := range recs {
						n, err := w.walk(rec)
						if err != nil {
							t.Fatalf("record %d: %v", i, err)
						}
						leaves += n
					}
					if leaves != want.leaves || s.pathSum != want.pathSum {
						t.Errorf("%s: %d leaves, path hash %#x; want %d, %#x",
							impl.name, leaves, s.pathSum, want.leaves, want.pathSum)
					}
				})
			}
		})
	}
}

func checkFlatpipe(t *testing.T, in input, want leafSet) {
	f, err := flatten.New(flatten.Options{Arrays: flatten.ArraysIndex})
	if err != nil {
		t.Fatalf("flatten.New: %v", err)
	}
	var got leafSet
	var fields []flatten.Field
	for i, rec := range in.records {
		fields, err = f.Append(fields[:0], rec)
		if err != nil {
			t.Fatalf("record %d: Append: %v", i, err)
		}
		for _, fl := range fields {
			got.addField(fl.Path, fl.Value, fl.Kind)
		}
	}
	if got != (leafSet{leaves: want.leaves, pathSum: want.pathSum, valueSum: want.valueSum}) {
		t.Errorf("flatpipe-index: %d leaves, path hash %#x, value hash %#x; want %d, %#x, %#x",
			got.leaves, got.pathSum, got.valueSum, want.leaves, want.pathSum, want.valueSum)
	}
}

func checkJeremywohl(t *testing.T, in input) {
	var got, want leafSet
	w := &jeremywohlWalker{}
	checked := 0
	for i, rec := range in.records {
		if firstByte(rec) != '{' {
			continue // n/a: jeremywohl/flatten takes only a root object
		}
		checked++
		// The reference without empty containers, which jeremywohl drops
		// (in ArraysIndex mode only they are leaves of Kind Object or Array).
		leaves, err := refFlatten(rec)
		if err != nil {
			t.Fatalf("reference on record %d: %v", i, err)
		}
		for _, l := range leaves {
			if l.kind != flatten.Object && l.kind != flatten.Array {
				want.addPath([]byte(l.path))
			}
		}
		if _, err := w.walk(rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(w.out), &m); err != nil {
			t.Fatalf("record %d: output is not a JSON object: %v", i, err)
		}
		for k := range m {
			got.addPath([]byte(k))
		}
	}
	if checked == 0 {
		t.Skip("n/a: no record with a root object")
	}
	if got.leaves != want.leaves || got.pathSum != want.pathSum {
		t.Errorf("jeremywohl: %d leaves, path hash %#x; want %d, %#x (reference without empty containers)",
			got.leaves, got.pathSum, want.leaves, want.pathSum)
	}
}

// statsPeer is a walker that reports through leafStats, so its path hash can
// be read back.
type statsPeer struct {
	name           string
	wholeND        bool
	ndOnly         bool
	needsCPU       bool
	containerRoots bool // takes only object or array roots
	new            func() (walker, *leafStats)
}

func (p statsPeer) unsupported() string {
	if p.needsCPU && !simdjsonSupported() {
		return "n/a: simdjson-go needs AVX2 and CLMUL"
	}
	return ""
}

func statsPeers() []statsPeer {
	return []statsPeer{
		{name: "jsonparser-walk", new: func() (walker, *leafStats) {
			w := &jsonparserWalker{}
			return w, &w.s
		}},
		{name: "fastjson-walk", new: func() (walker, *leafStats) {
			w := &fastjsonWalker{}
			return w, &w.s
		}},
		{name: "sonic-walk", new: func() (walker, *leafStats) {
			w := newSonicWalker()
			return w, &w.s
		}},
		{name: "simdjson-walk", needsCPU: true, containerRoots: true, new: func() (walker, *leafStats) {
			w := &simdjsonWalker{}
			return w, &w.s
		}},
		{name: "simdjson-nd-walk", needsCPU: true, containerRoots: true, wholeND: true, ndOnly: true, new: func() (walker, *leafStats) {
			w := &simdjsonWalker{nd: true}
			return w, &w.s
		}},
	}
}
