package flatten_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"strconv"

	"github.com/flatpipe/flatpipe/flatten"
)

// refField is a field of the reference flattener, with strings for easy
// comparison.
type refField struct {
	Path, Value string
	Kind        flatten.Kind
}

// referenceFlatten is the differential oracle: a simple flattener built on
// encoding/json (tokens and RawMessage, numbers as text) that implements the
// documented rules for ArraysJSON and ArraysIndex. It is slow and obviously
// correct rather than fast.
func referenceFlatten(doc []byte, opts flatten.Options) ([]refField, error) {
	if !json.Valid(doc) {
		return nil, errors.New("invalid JSON")
	}
	sep := opts.Separator
	if sep == "" {
		sep = "."
	}
	r := &refFlattener{opts: opts, sep: sep, seen: map[string]int{}}
	raw := bytes.TrimSpace(doc)
	if err := r.value(raw, "", 0, true); err != nil {
		return nil, err
	}
	return r.out, nil
}

type refFlattener struct {
	opts flatten.Options
	sep  string
	out  []refField
	seen map[string]int
}

func (r *refFlattener) emit(path, value string, k flatten.Kind) error {
	if i, ok := r.seen[path]; ok {
		switch r.opts.OnCollision {
		case flatten.CollisionFirst:
			return nil
		case flatten.CollisionLast:
			r.out[i].Value, r.out[i].Kind = value, k
			return nil
		}
		return flatten.ErrCollision
	}
	r.seen[path] = len(r.out)
	r.out = append(r.out, refField{path, value, k})
	return nil
}

func (r *refFlattener) join(parent, seg string, root bool) string {
	if root {
		return seg
	}
	return parent + r.sep + seg
}

func compact(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		panic(err)
	}
	return b.String()
}

// value flattens raw found at path with segs segments; root says raw is the
// whole document.
func (r *refFlattener) value(raw []byte, path string, segs int, root bool) error {
	switch raw[0] {
	case '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if _, err := dec.Token(); err != nil {
			return err
		}
		if !dec.More() {
			if root {
				return nil
			}
			return r.emit(path, "{}", flatten.Object)
		}
		if !root && r.opts.MaxDepth > 0 && segs >= r.opts.MaxDepth {
			return r.emit(path, compact(raw), flatten.Object)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if err := r.value(v, r.join(path, tok.(string), root), segs+1, false); err != nil {
				return err
			}
		}
		return nil
	case '[':
		if r.opts.Arrays == flatten.ArraysJSON {
			return r.emit(path, compact(raw), flatten.Array)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		if len(elems) == 0 {
			return r.emit(path, "[]", flatten.Array)
		}
		if !root && r.opts.MaxDepth > 0 && segs >= r.opts.MaxDepth {
			return r.emit(path, compact(raw), flatten.Array)
		}
		for i, e := range elems {
			if err := r.value(e, r.join(path, strconv.Itoa(i), root), segs+1, false); err != nil {
				return err
			}
		}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		return r.emit(path, s, flatten.String)
	case 't', 'f':
		return r.emit(path, string(raw), flatten.Bool)
	case 'n':
		return r.emit(path, string(raw), flatten.Null)
	default:
		return r.emit(path, string(raw), flatten.Number)
	}
}

var _ = io.EOF

// toRef converts flattener output for comparison.
func toRef(fields []flatten.Field) []refField {
	out := make([]refField, len(fields))
	for i, f := range fields {
		out[i] = refField{string(f.Path), string(f.Value), f.Kind}
	}
	return out
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")
