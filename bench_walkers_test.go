package flatpipe_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"unsafe"

	"github.com/buger/jsonparser"
	"github.com/bytedance/sonic/ast"
	jwflatten "github.com/jeremywohl/flatten"
	"github.com/minio/simdjson-go"
	"github.com/valyala/fastjson"

	"github.com/flatpipe/flatpipe/flatten"
)

// This file holds the implementations compared by BenchmarkFlatten and
// checked by TestPeerAgreement. Every walker visits every leaf of a record
// with the path rules of package flatten in ArraysIndex mode:
//
//   - a key directly under the root object, or an index directly under a
//     top-level array, is its own path; any deeper key or index is
//     parent + "." + key;
//   - empty objects and arrays below the root are leaves; a root {} gives no
//     leaf, a root [] gives one leaf with the empty path;
//   - a top-level scalar is one leaf with the empty path.
//
// Leaves are counted and their value bytes summed (a stand-in for using them),
// never copied, so each walker pays only for what its library makes it do.

// walker flattens one record (one whole document, or one NDJSON line).
// walk returns the number of leaves visited.
type walker interface {
	walk(rec []byte) (int, error)
}

// leafStats accumulates what a walker visited. With hashing set, it also sums
// an FNV-64a hash of every path, so two walkers that visit the same multiset
// of paths get the same sum whatever their visiting order.
type leafStats struct {
	leaves  int
	bytes   int
	pathSum uint64
	hashing bool
}

func (s *leafStats) leaf(path []byte, valueLen int) {
	s.leaves++
	s.bytes += valueLen
	if s.hashing {
		s.pathSum += fnv64a(path)
	}
}

// take returns the leaves counted since the last take.
func (s *leafStats) take() int {
	n := s.leaves
	s.leaves = 0
	return n
}

func fnv64a(b []byte) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	return h
}

// appendSeg appends one path segment to path: the separator first unless the
// segment's container is the root (depth 0).
func appendSeg(path []byte, depth int, seg []byte) []byte {
	if depth > 0 {
		path = append(path, '.')
	}
	return append(path, seg...)
}

func appendIndex(path []byte, depth int, i int) []byte {
	if depth > 0 {
		path = append(path, '.')
	}
	return strconv.AppendInt(path, int64(i), 10)
}

// firstByte returns the first non-whitespace byte of doc, or 0.
func firstByte(doc []byte) byte {
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

var (
	emptyObject = []byte("{}")
	emptyArray  = []byte("[]")
)

// ---- flatpipe ----

// flatpipeWalker is the library under test: one Append per record into a
// reused field slice.
type flatpipeWalker struct {
	f      *flatten.Flattener
	fields []flatten.Field
}

func newFlatpipeWalker(opts flatten.Options) (*flatpipeWalker, error) {
	f, err := flatten.New(opts)
	if err != nil {
		return nil, err
	}
	return &flatpipeWalker{f: f}, nil
}

func (w *flatpipeWalker) walk(rec []byte) (int, error) {
	var err error
	w.fields, err = w.f.Append(w.fields[:0], rec)
	return len(w.fields), err
}

// ---- jeremywohl/flatten ----

// jeremywohlWalker is what Go users reach for today: string in, flat JSON
// string out (encoding/json Unmarshal, Flatten, Marshal). It takes only a
// root object and drops empty containers.
type jeremywohlWalker struct {
	out string // the last result, kept so the work is not optimised away
}

// errTopLevelArray reports an input jeremywohl/flatten cannot take.
var errTopLevelArray = errors.New("jeremywohl/flatten: root must be an object")

func (w *jeremywohlWalker) walk(rec []byte) (int, error) {
	out, err := jwflatten.FlattenString(string(rec), "", jwflatten.DotStyle)
	if err != nil {
		if firstByte(rec) != '{' {
			return 0, errTopLevelArray
		}
		return 0, err
	}
	w.out = out
	return 1, nil
}

// ---- encoding/json into maps ----

// stdMapWalker is what a typical Go developer writes: json.Unmarshal into
// any, then a recursive flatten into a fresh map per record, keeping empty
// containers as leaves.
type stdMapWalker struct {
	last map[string]any
}

func (w *stdMapWalker) walk(rec []byte) (int, error) {
	var v any
	if err := json.Unmarshal(rec, &v); err != nil {
		return 0, err
	}
	out := make(map[string]any)
	flattenAny(out, "", v, true)
	w.last = out
	return len(out), nil
}

func flattenAny(out map[string]any, prefix string, v any, top bool) {
	key := func(k string) string {
		if top {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			if !top {
				out[prefix] = x
			}
			return
		}
		for k, vv := range x {
			flattenAny(out, key(k), vv, false)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = x
			return
		}
		for i, vv := range x {
			flattenAny(out, key(strconv.Itoa(i)), vv, false)
		}
	default:
		out[prefix] = v
	}
}

// ---- buger/jsonparser ----

// jsonparserWalker walks with recursive ObjectEach/ArrayEach, building the
// dotted path in one reused buffer. Its closures do not escape
// (go test -gcflags=-m), so it allocates nothing. jsonparser does not
// validate whole documents and hands string values over still escaped.
type jsonparserWalker struct {
	path []byte
	s    leafStats
	err  error
}

func (w *jsonparserWalker) walk(rec []byte) (int, error) {
	w.path = w.path[:0]
	w.err = nil
	var err error
	switch firstByte(rec) {
	case '{':
		err = w.object(rec, 0)
	case '[':
		err = w.array(rec, 0)
	default:
		v, t, _, gerr := jsonparser.Get(rec)
		if gerr != nil {
			return 0, gerr
		}
		err = w.value(v, t, 0)
	}
	if err == nil {
		err = w.err
	}
	return w.s.take(), err
}

// value visits v, found at w.path; depth is the number of containers above v.
func (w *jsonparserWalker) value(v []byte, t jsonparser.ValueType, depth int) error {
	switch t {
	case jsonparser.Object:
		return w.object(v, depth)
	case jsonparser.Array:
		return w.array(v, depth)
	case jsonparser.NotExist, jsonparser.Unknown:
		return errors.New("jsonparser: unknown value")
	}
	w.s.leaf(w.path, len(v))
	return nil
}

func (w *jsonparserWalker) object(data []byte, depth int) error {
	base := len(w.path)
	empty := true
	err := jsonparser.ObjectEach(data, func(key, v []byte, t jsonparser.ValueType, _ int) error {
		empty = false
		w.path = appendSeg(w.path[:base], depth, key)
		return w.value(v, t, depth+1)
	})
	w.path = w.path[:base]
	if err == nil && empty && depth > 0 {
		w.s.leaf(w.path, len(emptyObject))
	}
	return err
}

func (w *jsonparserWalker) array(data []byte, depth int) error {
	base := len(w.path)
	i := 0
	_, err := jsonparser.ArrayEach(data, func(v []byte, t jsonparser.ValueType, _ int, err error) {
		if err != nil || w.err != nil {
			return
		}
		w.path = appendIndex(w.path[:base], depth, i)
		i++
		w.err = w.value(v, t, depth+1)
	})
	w.path = w.path[:base]
	if err == nil && i == 0 {
		w.s.leaf(w.path, len(emptyArray))
	}
	return err
}

// ---- valyala/fastjson ----

// fastjsonWalker parses with a reused Parser, then walks the tree with
// Object.Visit and Value.Array. Strings are read with StringBytes (which
// unescapes), numbers as their raw literal.
type fastjsonWalker struct {
	p    fastjson.Parser
	path []byte
	num  []byte
	s    leafStats
}

func (w *fastjsonWalker) walk(rec []byte) (int, error) {
	v, err := w.p.ParseBytes(rec)
	if err != nil {
		return 0, err
	}
	w.path = w.path[:0]
	w.value(v, 0)
	return w.s.take(), nil
}

func (w *fastjsonWalker) value(v *fastjson.Value, depth int) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		if o.Len() == 0 {
			if depth > 0 {
				w.s.leaf(w.path, len(emptyObject))
			}
			return
		}
		base := len(w.path)
		o.Visit(func(key []byte, vv *fastjson.Value) {
			w.path = appendSeg(w.path[:base], depth, key)
			w.value(vv, depth+1)
		})
		w.path = w.path[:base]
	case fastjson.TypeArray:
		a, _ := v.Array()
		if len(a) == 0 {
			w.s.leaf(w.path, len(emptyArray))
			return
		}
		base := len(w.path)
		for i, vv := range a {
			w.path = appendIndex(w.path[:base], depth, i)
			w.value(vv, depth+1)
		}
		w.path = w.path[:base]
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		w.s.leaf(w.path, len(s))
	case fastjson.TypeNumber:
		w.num = v.MarshalTo(w.num[:0])
		w.s.leaf(w.path, len(w.num))
	case fastjson.TypeTrue:
		w.s.leaf(w.path, 4)
	case fastjson.TypeFalse:
		w.s.leaf(w.path, 5)
	default: // null
		w.s.leaf(w.path, 4)
	}
}

// ---- bytedance/sonic ----

// sonicWalker drives sonic's ast.Preorder (a SAX-style visitor) with an
// explicit frame stack for paths and array indexes. The input is passed as a
// string without copying; numbers come as their literal (OnlyNumber).
type sonicWalker struct {
	path   []byte
	frames []sonicFrame
	s      leafStats
	opts   ast.VisitorOptions
}

type sonicFrame struct {
	base  int  // len(path) at the container's start: its own path
	array bool // array (else object)
	n     int  // members seen so far
}

func newSonicWalker() *sonicWalker {
	return &sonicWalker{opts: ast.VisitorOptions{OnlyNumber: true}}
}

func (w *sonicWalker) walk(rec []byte) (int, error) {
	w.path = w.path[:0]
	w.frames = w.frames[:0]
	if len(rec) == 0 {
		return 0, errors.New("sonic: empty input")
	}
	err := ast.Preorder(unsafe.String(&rec[0], len(rec)), w, &w.opts)
	return w.s.take(), err
}

// enter positions w.path at the next value of the innermost array (object
// members are positioned by OnObjectKey).
func (w *sonicWalker) enter() {
	if len(w.frames) == 0 {
		return
	}
	f := &w.frames[len(w.frames)-1]
	if !f.array {
		return
	}
	w.path = appendIndex(w.path[:f.base], len(w.frames)-1, f.n)
	f.n++
}

func (w *sonicWalker) scalar(n int) error {
	w.enter()
	w.s.leaf(w.path, n)
	return nil
}

func (w *sonicWalker) OnNull() error                        { return w.scalar(4) }
func (w *sonicWalker) OnBool(v bool) error                  { return w.scalar(5) }
func (w *sonicWalker) OnString(v string) error              { return w.scalar(len(v)) }
func (w *sonicWalker) OnInt64(_ int64, n json.Number) error { return w.scalar(len(n)) }
func (w *sonicWalker) OnFloat64(_ float64, n json.Number) error {
	return w.scalar(len(n))
}

func (w *sonicWalker) begin(array bool) error {
	w.enter()
	w.frames = append(w.frames, sonicFrame{base: len(w.path), array: array})
	return nil
}

func (w *sonicWalker) end() error {
	f := w.frames[len(w.frames)-1]
	w.frames = w.frames[:len(w.frames)-1]
	w.path = w.path[:f.base]
	if f.n == 0 && (len(w.frames) > 0 || f.array) {
		if f.array {
			w.s.leaf(w.path, len(emptyArray))
		} else {
			w.s.leaf(w.path, len(emptyObject))
		}
	}
	return nil
}

func (w *sonicWalker) OnObjectBegin(int) error { return w.begin(false) }
func (w *sonicWalker) OnArrayBegin(int) error  { return w.begin(true) }
func (w *sonicWalker) OnObjectEnd() error      { return w.end() }
func (w *sonicWalker) OnArrayEnd() error       { return w.end() }

func (w *sonicWalker) OnObjectKey(key string) error {
	f := &w.frames[len(w.frames)-1]
	if len(w.frames) > 1 {
		w.path = append(w.path[:f.base], '.')
	} else {
		w.path = w.path[:f.base]
	}
	w.path = append(w.path, key...)
	f.n++
	return nil
}

// ---- minio/simdjson-go ----

// simdjsonWalker parses into a reused ParsedJson (strings not copied), then
// walks the tape with per-depth Object/Array/Iter values so the walk itself
// does not allocate. Numbers are read as typed values (the tape keeps no
// literal). With nd set it parses a whole NDJSON buffer at once (ParseND,
// simdjson-go's native NDJSON mode) and walks every root.
type simdjsonWalker struct {
	pj     *simdjson.ParsedJson
	nd     bool
	path   []byte
	frames []*simdjsonFrame
	s      leafStats
}

type simdjsonFrame struct {
	obj  simdjson.Object
	arr  simdjson.Array
	elem simdjson.Iter
	root simdjson.Iter
}

func (w *simdjsonWalker) frame(depth int) *simdjsonFrame {
	for len(w.frames) <= depth {
		w.frames = append(w.frames, new(simdjsonFrame))
	}
	return w.frames[depth]
}

func (w *simdjsonWalker) walk(rec []byte) (int, error) {
	var err error
	if w.nd {
		w.pj, err = simdjson.ParseND(rec, w.pj, simdjson.WithCopyStrings(false))
	} else {
		w.pj, err = simdjson.Parse(rec, w.pj, simdjson.WithCopyStrings(false))
	}
	if err != nil {
		return 0, err
	}
	it := w.pj.Iter()
	root := &w.frame(0).root
	for it.Advance() == simdjson.TypeRoot {
		t, r, err := it.Root(root)
		if err != nil {
			return w.s.take(), err
		}
		w.path = w.path[:0]
		if err := w.value(r, t, 0); err != nil {
			return w.s.take(), err
		}
	}
	return w.s.take(), nil
}

func (w *simdjsonWalker) value(it *simdjson.Iter, t simdjson.Type, depth int) error {
	switch t {
	case simdjson.TypeObject:
		f := w.frame(depth)
		o, err := it.Object(&f.obj)
		if err != nil {
			return err
		}
		base := len(w.path)
		n := 0
		for {
			key, et, err := o.NextElementBytes(&f.elem)
			if err != nil {
				return err
			}
			if et == simdjson.TypeNone {
				break
			}
			n++
			w.path = appendSeg(w.path[:base], depth, key)
			if err := w.value(&f.elem, et, depth+1); err != nil {
				return err
			}
		}
		w.path = w.path[:base]
		if n == 0 && depth > 0 {
			w.s.leaf(w.path, len(emptyObject))
		}
	case simdjson.TypeArray:
		f := w.frame(depth)
		a, err := it.Array(&f.arr)
		if err != nil {
			return err
		}
		f.elem = a.Iter()
		base := len(w.path)
		n := 0
		for {
			et := f.elem.Advance()
			if et == simdjson.TypeNone {
				break
			}
			w.path = appendIndex(w.path[:base], depth, n)
			n++
			if err := w.value(&f.elem, et, depth+1); err != nil {
				return err
			}
		}
		w.path = w.path[:base]
		if n == 0 {
			w.s.leaf(w.path, len(emptyArray))
		}
	case simdjson.TypeString:
		s, err := it.StringBytes()
		if err != nil {
			return err
		}
		w.s.leaf(w.path, len(s))
	case simdjson.TypeInt:
		if _, err := it.Int(); err != nil {
			return err
		}
		w.s.leaf(w.path, 8)
	case simdjson.TypeUint:
		if _, err := it.Uint(); err != nil {
			return err
		}
		w.s.leaf(w.path, 8)
	case simdjson.TypeFloat:
		if _, err := it.Float(); err != nil {
			return err
		}
		w.s.leaf(w.path, 8)
	case simdjson.TypeBool:
		if _, err := it.Bool(); err != nil {
			return err
		}
		w.s.leaf(w.path, 5)
	case simdjson.TypeNull:
		w.s.leaf(w.path, 4)
	default:
		return errors.New("simdjson: unexpected type " + t.String())
	}
	return nil
}
