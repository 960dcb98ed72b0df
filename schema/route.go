package schema

import (
	"bytes"

	"github.com/flatpipe/flatpipe/flatten"
)

// Value is a field routed to a column: Column indexes Plan.Columns. A
// Subtree column may receive several fields of one record (those below its
// path); build its value with AppendSubtree over them.
type Value struct {
	Column int
	Field  flatten.Field
}

// Discard is a value (or, with Row set, a record) the evolution mode sends to the
// dead-letter sink, with its bytes and the reason.
type Discard struct {
	Path   string
	Kind   flatten.Kind
	Value  []byte // a copy of the value
	Reason string
	Row    bool // the whole record is discarded
}

// Route returns the index in p.Columns of the column that takes the value:
// the path's column if its type accepts the value, else the first fallback
// column that does, or the subtree column above the path. ok is false if no
// column takes it. It does not allocate.
func (p *Plan) Route(path []byte, k flatten.Kind, v []byte) (col int, ok bool) {
	if cols, found := p.routes[string(path)]; found {
		for _, i := range cols {
			if p.Columns[i].Type.Accepts(k, v, false) {
				return i, true
			}
		}
		return 0, false
	}
	return p.subtreeOf(path)
}

// subtreeOf finds the subtree column above path, shallowest first.
func (p *Plan) subtreeOf(path []byte) (int, bool) {
	return subtreeAbove(p.subtrees, path, p.sep)
}

// subtreeAbove finds, shallowest first, the proper prefix of path (on a
// separator boundary) that is a key of subtrees, without allocating.
func subtreeAbove(subtrees map[string]int, path, sep []byte) (int, bool) {
	if len(subtrees) == 0 {
		return 0, false
	}
	off := 0
	for {
		j := bytes.Index(path[off:], sep)
		if j < 0 {
			return 0, false
		}
		off += j
		if i, found := subtrees[string(path[:off])]; found {
			return i, true
		}
		off += len(sep)
	}
}

// Filter routes one record's fields and applies the evolution modes: it appends the
// values to load to dst and returns the values discarded, with their bytes
// and reason. dropRow is true when the whole record goes to the dead-letter
// sink (DiscardRow); then kept is dst unchanged and discards lists every
// offending value. A value no column takes under Evolve or Freeze (a record
// that was not in the batch the plan was made from) is discarded, never
// dropped silently. Filter allocates only for discards.
func (p *Plan) Filter(dst []Value, fields []flatten.Field) (kept []Value, discards []Discard, dropRow bool) {
	if p.dropAll != "" {
		return dst, []Discard{{Row: true, Reason: p.dropAll}}, true
	}
	n := len(dst)
	for _, f := range fields {
		if i, ok := p.Route(f.Path, f.Kind, f.Value); ok {
			dst = append(dst, Value{Column: i, Field: f})
			continue
		}
		var mode Mode
		r, rejected := p.rejected[string(f.Path)]
		reason := "no column takes the value"
		switch {
		case rejected:
			mode = p.Rejected[r].Mode
			reason = "change refused (" + mode.String() + "): " + p.Rejected[r].Reason
		default:
			mode = p.evolution.mode(string(f.Path))
			if _, known := p.routes[string(f.Path)]; known {
				reason = "value does not fit the column"
			}
		}
		d := Discard{Path: string(f.Path), Kind: f.Kind, Value: bytes.Clone(f.Value), Reason: reason}
		if mode == DiscardRow {
			dropRow = true
		}
		discards = append(discards, d)
	}
	if dropRow {
		for i := range discards {
			discards[i].Row = true
		}
		return dst[:n], discards, true
	}
	return dst, discards, false
}
