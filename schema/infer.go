package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
)

// Defaults of InferOptions.
const (
	// DefaultMaxObjectKeys is the default InferOptions.MaxObjectKeys (DuckDB's
	// map_inference_threshold is also 200).
	DefaultMaxObjectKeys = 200
	// DefaultMaxColumns is the default InferOptions.MaxColumns.
	DefaultMaxColumns = 1000
)

// System column names of tables inferred from flatten.ArraysTables rows.
const (
	IDColumn       = "_ID"
	ParentIDColumn = "_PARENT_ID"
	IndexColumn    = "_INDEX"
)

// InferOptions configures an Inferrer. The zero value is the default.
type InferOptions struct {
	// Separator is the flattener's path separator. Default ".".
	Separator string
	// DetectTime types ISO-8601 strings as DATE, TIMESTAMP_NTZ or
	// TIMESTAMP_TZ (see TimeType). Default off: strings are VARCHAR.
	DetectTime bool
	// MaxObjectKeys is the most distinct keys an object may have before it is
	// kept whole as one VARIANT column (Column.Subtree). 0 means
	// DefaultMaxObjectKeys; negative means no limit.
	MaxObjectKeys int
	// MaxColumns is the most data columns a table may get: past it, the
	// object with the most distinct keys is kept whole as one VARIANT column,
	// until the table is back within the limit. 0 means DefaultMaxColumns;
	// negative means no limit. A table whose paths are all top-level keys
	// may still exceed it.
	MaxColumns int
	// Sizing chooses how VARCHAR lengths and NUMBER precisions are sized
	// from what was observed. Default SizeExact.
	Sizing Sizing
	// Names configures column naming; its Separator is set to Separator.
	Names NameOptions
}

// Sizing chooses how VARCHAR lengths and NUMBER precisions are sized. In
// Snowflake the declared size costs nothing in storage or speed; it only
// documents the data and limits what loads. Exact sizes make a widening
// (ALTER COLUMN ... SET DATA TYPE) likely in every later batch.
type Sizing uint8

const (
	// SizeExact sizes columns to the longest value observed. Default.
	SizeExact Sizing = iota
	// SizeRounded rounds VARCHAR lengths up to a power of two (at least 16)
	// and NUMBER precisions up to 9, 18 or 38 digits, so few batches need
	// a widening.
	SizeRounded
	// SizeMax makes every VARCHAR VARCHAR(16777216) and every NUMBER
	// NUMBER(38,s): a column never needs widening.
	SizeMax
)

// size applies z to t.
func (z Sizing) size(t Type) Type {
	switch {
	case z == SizeMax && t.Kind == Varchar:
		t.Length = MaxVarcharLength
	case z == SizeMax && t.Kind == Number:
		t.Precision = MaxPrecision
	case z == SizeRounded && t.Kind == Varchar:
		n := 16
		for n < t.Length {
			n *= 2
		}
		t.Length = min(n, MaxVarcharLength)
	case z == SizeRounded && t.Kind == Number:
		for _, p := range []int{9, 18, MaxPrecision} {
			if t.Precision <= p {
				t.Precision = p
				break
			}
		}
	}
	return t
}

func (o InferOptions) withDefaults() (InferOptions, error) {
	if o.Separator == "" {
		o.Separator = "."
	}
	if o.MaxObjectKeys == 0 {
		o.MaxObjectKeys = DefaultMaxObjectKeys
	}
	if o.MaxColumns == 0 {
		o.MaxColumns = DefaultMaxColumns
	}
	o.Names.Separator = o.Separator
	if o.Sizing > SizeMax {
		return o, fmt.Errorf("%w: unknown Sizing %d", ErrOptions, o.Sizing)
	}
	n, err := o.Names.withDefaults()
	o.Names = n
	return o, err
}

// Column is one column of a table. It is a plain value, safe for concurrent
// use while nobody modifies it.
type Column struct {
	// Name is the column name, unquoted (quote it with QuoteIdent).
	Name string
	// Path is the flattened path the column holds; "" for system columns.
	Path string
	// Type is the column type.
	Type Type
	// Nullable is true if some record lacked the path or had null there.
	Nullable bool
	// MaxLength is the longest text of a scalar value seen, in characters.
	MaxLength int
	// Subtree marks a wide object kept whole: the column holds the object at
	// Path, built from every field below it (AppendSubtree).
	Subtree bool
	// System marks _ID, _PARENT_ID and _INDEX.
	System bool
}

// KeepsJSONNull reports whether a field of kind null loads into c as a
// VARIANT null (JSON null) rather than SQL NULL: true for VARIANT columns
// (including columns only ever seen null), false for typed, OBJECT and ARRAY
// columns. A missing key is SQL NULL in every column.
func (c Column) KeepsJSONNull() bool {
	return c.Type.Kind == Variant || c.Type.Kind == Unknown
}

// Comment returns the column comment written in DDL: the path, which lets a
// later Namer map the column back to its path.
func (c Column) Comment() string { return c.Path }

// Table is an inferred or declared table. It is a plain value, safe for
// concurrent use while nobody modifies it.
type Table struct {
	// Name is the table name, unquoted.
	Name string
	// Path is the flatten table path: "" for the root table.
	Path string
	// Columns in the order their paths were first seen, system columns first.
	Columns []Column
	// Records is the number of records (rows) observed.
	Records int64
	// Collisions lists paths renamed because their names collided.
	Collisions []Collision
}

// Column returns the column holding path, if any.
func (t *Table) Column(path string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Path == path && !c.System {
			return c, true
		}
	}
	return Column{}, false
}

type colStats struct {
	path    string
	typ     Type
	textLen int
	nonNull int64
	lastRec int64
	subtree bool
	dead    bool
}

type node struct {
	keys map[string]struct{}
}

type tableStats struct {
	path     string
	cols     []colStats
	index    map[string]int
	subtrees map[string]int // collapsed prefix → column
	nodes    map[string]*node
	records  int64
	live     int  // columns not dead
	rows     bool // observed as flatten rows: has _ID (and more, if a child)
}

// An Inferrer observes flattened records and infers their tables. Observing
// a record that adds no column allocates nothing.
//
// An Inferrer is not safe for concurrent use.
type Inferrer struct {
	opts   InferOptions
	sep    []byte
	tables []*tableStats
	byPath map[string]int
}

// NewInferrer returns an Inferrer for o, or an error wrapping ErrOptions.
func NewInferrer(o InferOptions) (*Inferrer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	in := &Inferrer{opts: o, sep: []byte(o.Separator)}
	in.Reset()
	return in, nil
}

// Reset forgets every observation, keeping the options.
func (in *Inferrer) Reset() {
	in.tables = in.tables[:0]
	in.byPath = map[string]int{}
}

func (in *Inferrer) table(path []byte) *tableStats {
	if i, ok := in.byPath[string(path)]; ok {
		return in.tables[i]
	}
	t := &tableStats{path: string(path), index: map[string]int{}, subtrees: map[string]int{}, nodes: map[string]*node{}}
	in.byPath[t.path] = len(in.tables)
	in.tables = append(in.tables, t)
	return t
}

// Observe records one record's fields (from flatten's Append) in the root
// table.
func (in *Inferrer) Observe(fields []flatten.Field) {
	in.observe(in.table(nil), fields)
}

// ObserveRows records one document's rows (from flatten's AppendRows), each
// in its table; the tables get system columns.
func (in *Inferrer) ObserveRows(rows []flatten.Row) {
	for i := range rows {
		t := in.table(rows[i].Table)
		t.rows = true
		in.observe(t, rows[i].Fields)
	}
}

func (in *Inferrer) observe(t *tableStats, fields []flatten.Field) {
	t.records++
	for i := range fields {
		f := &fields[i]
		ci, ok := t.index[string(f.Path)]
		kind, val := f.Kind, f.Value
		if !ok {
			ci, ok = in.subtreeOf(t, f.Path)
			if ok {
				kind = flatten.Object
			} else {
				in.addColumn(t, f.Path)
				if ci, ok = t.index[string(f.Path)]; !ok { // its object just became wide
					ci, _ = in.subtreeOf(t, f.Path)
					kind = flatten.Object
				}
			}
		}
		c := &t.cols[ci]
		if kind == flatten.String && c.typ.Kind == Varchar && len(val) <= c.textLen && len(val) <= c.typ.Length {
			// Fast path: a string no longer (in bytes) than the column's
			// longest cannot change a VARCHAR column.
			if c.lastRec != t.records {
				c.nonNull++
				c.lastRec = t.records
			}
			continue
		}
		var vt Type
		if c.subtree {
			vt = Type{Kind: Variant}
		} else {
			vt = ValueType(kind, val, in.opts.DetectTime)
			if kind != flatten.Null && kind != flatten.Object && kind != flatten.Array {
				n := len(val)
				if n > c.textLen {
					n = runeCount(val)
				}
				c.textLen = max(c.textLen, n)
			}
		}
		if kind != flatten.Null && c.lastRec != t.records {
			c.nonNull++
			c.lastRec = t.records
		}
		if vt.Kind != Unknown && !sameType(c.typ, vt) {
			c.typ = Widen(c.typ, vt, c.textLen)
		}
	}
}

// sameType reports whether widening a by b changes nothing, cheaply.
func sameType(a, b Type) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case Number:
		return b.Scale <= a.Scale && b.Precision-b.Scale <= a.Precision-a.Scale
	case Varchar:
		return b.Length <= a.Length
	}
	return true
}

// subtreeOf finds the collapsed object column above path, without
// allocating.
func (in *Inferrer) subtreeOf(t *tableStats, path []byte) (int, bool) {
	return subtreeAbove(t.subtrees, path, in.sep)
}

func (in *Inferrer) addColumn(t *tableStats, p []byte) int {
	path := string(p)
	ci := len(t.cols)
	t.cols = append(t.cols, colStats{path: path})
	t.index[path] = ci
	t.live++
	defer in.limitColumns(t)
	if in.opts.MaxObjectKeys < 0 && in.opts.MaxColumns < 0 {
		return ci
	}
	// Count this path's key in every enclosing object.
	sep := in.opts.Separator
	off := 0
	for {
		j := strings.Index(path[off:], sep)
		if j < 0 {
			return ci
		}
		prefix, rest := path[:off+j], path[off+j+len(sep):]
		key, _, _ := strings.Cut(rest, sep)
		nd := t.nodes[prefix]
		if nd == nil {
			nd = &node{keys: map[string]struct{}{}}
			t.nodes[prefix] = nd
		}
		nd.keys[key] = struct{}{}
		if in.opts.MaxObjectKeys >= 0 && len(nd.keys) > in.opts.MaxObjectKeys {
			in.collapse(t, prefix)
			return ci
		}
		off += j + len(sep)
	}
}

// limitColumns collapses the objects with the most keys while t has more
// than MaxColumns columns.
func (in *Inferrer) limitColumns(t *tableStats) {
	for in.opts.MaxColumns >= 0 && t.live > in.opts.MaxColumns {
		best, bestKeys := "", 0
		for p, nd := range t.nodes {
			if n := len(nd.keys); n > bestKeys || n == bestKeys && n > 0 && p < best {
				best, bestKeys = p, n
			}
		}
		if bestKeys == 0 {
			return
		}
		in.collapse(t, best)
	}
}

// collapse turns the object at prefix into one subtree column.
func (in *Inferrer) collapse(t *tableStats, prefix string) {
	under := prefix + in.opts.Separator
	ci, ok := t.index[prefix]
	if !ok {
		ci = len(t.cols)
		t.cols = append(t.cols, colStats{path: prefix})
		t.index[prefix] = ci
		t.live++
	}
	sub := &t.cols[ci]
	sub.subtree = true
	sub.typ = Widen(sub.typ, Type{Kind: Variant}, 0)
	for i := range t.cols {
		c := &t.cols[i]
		if i != ci && !c.dead && strings.HasPrefix(c.path, under) {
			c.dead = true
			t.live--
			sub.nonNull = max(sub.nonNull, c.nonNull)
			delete(t.index, c.path)
		}
	}
	for p := range t.nodes {
		if p == prefix || strings.HasPrefix(p, under) {
			delete(t.nodes, p)
		}
	}
	for p := range t.subtrees {
		if strings.HasPrefix(p, under) {
			delete(t.subtrees, p)
		}
	}
	t.subtrees[prefix] = ci
}

// Tables returns the inferred tables: the root table called name first, then
// child tables (named name + "__" + their normalized table path) in order of
// path. Column names come from a fresh Namer per table; PlanChanges renames
// them against an existing table. A table without columns (nothing observed,
// or only empty records) is left out, since Snowflake has no table without
// columns. Tables fails only on an empty or too long name.
func (in *Inferrer) Tables(name string) ([]Table, error) {
	if name == "" || len(name) > in.opts.Names.MaxLength {
		return nil, fmt.Errorf("%w: table name %q is empty or longer than %d bytes", ErrOptions, name, in.opts.Names.MaxLength)
	}
	ts := slices.Clone(in.tables)
	slices.SortFunc(ts, func(a, b *tableStats) int { return strings.Compare(a.path, b.path) })
	if len(ts) == 0 || ts[0].path != "" {
		ts = slices.Insert(ts, 0, &tableStats{rows: len(ts) > 0})
	}
	tnames, err := NewNamer(in.opts.Names, name)
	if err != nil {
		return nil, err
	}
	var out []Table
	for _, st := range ts {
		tname := name
		if st.path != "" {
			tname = name + "__" + tnames.Name(st.path)
			if len(tname) > in.opts.Names.MaxLength {
				tname = string(appendHashSuffix([]byte(tname[:in.opts.Names.MaxLength-9]), st.path))
			}
		}
		tb, err := in.buildTable(st, tname)
		if err != nil {
			return nil, err
		}
		if len(tb.Columns) > 0 {
			out = append(out, tb)
		}
	}
	return out, nil
}

func (in *Inferrer) buildTable(st *tableStats, name string) (Table, error) {
	tb := Table{Name: name, Path: st.path, Records: st.records}
	var reserved []string
	if st.rows {
		tb.Columns = append(tb.Columns, Column{Name: IDColumn, Type: Type{Kind: Number, Precision: 20}, System: true})
		reserved = append(reserved, IDColumn)
		if st.path != "" {
			tb.Columns = append(tb.Columns,
				Column{Name: ParentIDColumn, Type: Type{Kind: Number, Precision: 20}, System: true},
				Column{Name: IndexColumn, Type: Type{Kind: Number, Precision: 10}, System: true})
			reserved = append(reserved, ParentIDColumn, IndexColumn)
		}
	}
	namer, err := NewNamer(in.opts.Names, reserved...)
	if err != nil {
		return Table{}, err
	}
	var paths []string
	for _, c := range st.cols {
		if !c.dead {
			paths = append(paths, c.path)
		}
	}
	namer.NameAll(paths)
	for _, c := range st.cols {
		if c.dead {
			continue
		}
		typ := in.opts.Sizing.size(c.typ) // Unknown (null only) is written as VARIANT
		tb.Columns = append(tb.Columns, Column{
			Name:      namer.Name(c.path),
			Path:      c.path,
			Type:      typ,
			Nullable:  c.nonNull < st.records || c.subtree,
			MaxLength: c.textLen,
			Subtree:   c.subtree,
		})
	}
	tb.Collisions = namer.Collisions()
	return tb, nil
}

// Merge adds other's observations to in, as if in had observed other's
// records after its own: several goroutines can each infer a part of a
// batch with their own Inferrer and merge them at the end. Both must have
// the same options; other is not changed.
func (in *Inferrer) Merge(other *Inferrer) error {
	if in.opts.Separator != other.opts.Separator || in.opts.DetectTime != other.opts.DetectTime {
		return fmt.Errorf("%w: merging inferrers with different options", ErrOptions)
	}
	for _, ot := range other.tables {
		t := in.table([]byte(ot.path))
		t.rows = t.rows || ot.rows
		t.records += ot.records
		// Objects other kept whole are kept whole here too.
		prefixes := make([]string, 0, len(ot.subtrees))
		for p := range ot.subtrees {
			prefixes = append(prefixes, p)
		}
		slices.Sort(prefixes)
		for _, p := range prefixes {
			if _, ok := t.subtrees[p]; !ok {
				if _, below := in.subtreeOf(t, []byte(p)); !below {
					in.collapse(t, p)
				}
			}
		}
		for _, oc := range ot.cols {
			if oc.dead {
				continue
			}
			ci, ok := t.index[oc.path]
			if !ok {
				if ci, ok = in.subtreeOf(t, []byte(oc.path)); !ok {
					in.addColumn(t, []byte(oc.path))
					if ci, ok = t.index[oc.path]; !ok {
						ci, _ = in.subtreeOf(t, []byte(oc.path))
					}
				}
			}
			c := &t.cols[ci]
			c.textLen = max(c.textLen, oc.textLen)
			typ := oc.typ
			if c.subtree && oc.path != c.path {
				typ = Type{Kind: Variant}
			}
			c.typ = Widen(c.typ, typ, c.textLen)
			c.nonNull = min(c.nonNull+oc.nonNull, t.records) // subtree columns are nullable anyway
		}
	}
	return nil
}
