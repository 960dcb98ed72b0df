package schema

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
)

// ExistingColumn is one column of an existing table, as read from DESC TABLE
// (DescRow) or INFORMATION_SCHEMA.COLUMNS (InfoSchemaRow).
type ExistingColumn struct {
	Name     string
	Type     Type
	Nullable bool
	// Comment is the column comment; for columns this package made, the
	// path (see Column.Comment).
	Comment string
}

// DescRow holds the columns of one DESC TABLE row that matter here: "name",
// "type", "kind", "null?" and "comment".
type DescRow struct {
	Name, Type, Kind, Null, Comment string
}

// Column converts the row. ok is false for rows that are not plain columns
// (kind other than "COLUMN").
func (r DescRow) Column() (c ExistingColumn, ok bool, err error) {
	if r.Kind != "" && !strings.EqualFold(r.Kind, "COLUMN") {
		return ExistingColumn{}, false, nil
	}
	t, err := ParseType(r.Type)
	if err != nil {
		return ExistingColumn{}, false, fmt.Errorf("column %q: %w", r.Name, err)
	}
	return ExistingColumn{Name: r.Name, Type: t, Nullable: !strings.EqualFold(r.Null, "N"), Comment: r.Comment}, true, nil
}

// InfoSchemaRow holds the columns of one INFORMATION_SCHEMA.COLUMNS row that
// matter here. Numeric fields are 0 where the view has NULL.
type InfoSchemaRow struct {
	ColumnName             string
	DataType               string // "NUMBER", "TEXT", "FLOAT", "TIMESTAMP_NTZ", ...
	CharacterMaximumLength int64
	NumericPrecision       int64
	NumericScale           int64
	IsNullable             string // "YES" or "NO"
	Comment                string
}

// Column converts the row.
func (r InfoSchemaRow) Column() (ExistingColumn, error) {
	s := r.DataType
	switch u := strings.ToUpper(s); {
	case (u == "NUMBER" || u == "DECIMAL" || u == "NUMERIC") && r.NumericPrecision > 0:
		s = "NUMBER(" + strconv.FormatInt(r.NumericPrecision, 10) + "," + strconv.FormatInt(r.NumericScale, 10) + ")"
	case (u == "TEXT" || u == "VARCHAR") && r.CharacterMaximumLength > 0:
		s = "VARCHAR(" + strconv.FormatInt(r.CharacterMaximumLength, 10) + ")"
	}
	t, err := ParseType(s)
	if err != nil {
		return ExistingColumn{}, fmt.Errorf("column %q: %w", r.ColumnName, err)
	}
	return ExistingColumn{Name: r.ColumnName, Type: t, Nullable: !strings.EqualFold(r.IsNullable, "NO"), Comment: r.Comment}, nil
}

// Mode is a schema contract mode, after dlt's: what happens when a batch
// needs a new column, a new table or a type the column cannot take.
type Mode uint8

const (
	// Evolve changes the table. Default.
	Evolve Mode = iota
	// Freeze fails the batch with a *FrozenError naming the new paths and
	// types.
	Freeze
	// DiscardRow sends every record needing the change, whole, to the
	// dead-letter sink (Plan.Filter reports it).
	DiscardRow
	// DiscardValue sends only the offending values, with their paths, to the
	// dead-letter sink; the rest of the record loads.
	DiscardValue
)

var modeNames = [...]string{"evolve", "freeze", "discard_row", "discard_value"}

// String returns "evolve", "freeze", "discard_row" or "discard_value".
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) {
	if int(m) >= len(modeNames) {
		return nil, fmt.Errorf("%w: unknown mode %d", ErrOptions, m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	for i, n := range modeNames {
		if string(b) == n {
			*m = Mode(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown mode %q (want evolve, freeze, discard_row or discard_value)", ErrOptions, b)
}

// Policy is a table's contract: its Mode, and per path overrides. It is a
// plain value, safe for concurrent use while nobody modifies it.
type Policy struct {
	Mode    Mode            `json:"mode" yaml:"mode"`
	Columns map[string]Mode `json:"columns,omitempty" yaml:"columns,omitempty"`
}

func (p Policy) mode(path string) Mode {
	if m, ok := p.Columns[path]; ok {
		return m
	}
	return p.Mode
}

// ChangeKind says what a Change does.
type ChangeKind uint8

const (
	// ChangeCreate creates the table.
	ChangeCreate ChangeKind = iota + 1
	// ChangeAdd adds a nullable column.
	ChangeAdd
	// ChangeWiden changes a column's type in place (longer VARCHAR, more
	// NUMBER precision).
	ChangeWiden
)

// Change is one schema change of a plan.
type Change struct {
	Kind   ChangeKind
	Column Column // the column added or widened (its new type)
	From   Type   // ChangeWiden: the type before
	Reason string // "new path", or why a fallback column was needed
}

func (c Change) String() string {
	switch c.Kind {
	case ChangeCreate:
		return "create table"
	case ChangeWiden:
		return fmt.Sprintf("widen %s (path %q) from %v to %v", c.Column.Name, c.Column.Path, c.From, c.Column.Type)
	}
	return fmt.Sprintf("add %s %v (path %q): %s", c.Column.Name, c.Column.Type, c.Column.Path, c.Reason)
}

// FrozenError reports the changes a batch needs on a table whose contract
// freezes them. It wraps ErrFrozen.
type FrozenError struct {
	Table   string
	Changes []Change
}

func (e *FrozenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: table %s", ErrFrozen, e.Table)
	for i, c := range e.Changes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	return b.String()
}

// Unwrap returns ErrFrozen.
func (e *FrozenError) Unwrap() error { return ErrFrozen }

// Rejection is a path whose change the contract refused under DiscardRow or
// DiscardValue: its values (or records) are discarded by Plan.Filter.
type Rejection struct {
	Path   string
	Mode   Mode
	Type   Type // the type the batch needed
	Reason string
}

// PlanOptions configures PlanChanges. The zero value is the default.
type PlanOptions struct {
	// Separator is the flattener's path separator. Default ".".
	Separator string
	// Names configures naming of new columns; its Separator is set to
	// Separator.
	Names NameOptions
	// Mappings is a saved path → name mapping (Plan.Mappings of an earlier
	// batch) loaded before the columns' comments; use it when the table's
	// comments are not available. A mapping that contradicts the comments
	// fails with ErrMapping.
	Mappings []Mapping
}

// Plan is the change a batch needs on one table, and the routing of its
// values to columns. Build it with PlanChanges. A Plan is read-only and safe
// for concurrent use.
type Plan struct {
	// Table is the table name.
	Table string
	// Create is true when the table does not exist yet.
	Create bool
	// Columns are the table's columns after the changes: existing ones first
	// in their order, then new ones. Path is set on every column that holds
	// a path.
	Columns []Column
	// Changes are the changes to make, in order.
	Changes []Change
	// Rejected lists the paths refused under DiscardRow or DiscardValue.
	Rejected []Rejection
	// Collisions lists new paths renamed because their names collided.
	Collisions []Collision

	sep      []byte
	policy   Policy
	routes   map[string][]int // path → columns, the original first, then fallbacks
	subtrees map[string]int
	rejected map[string]Mode
	dropAll  string // a reason to discard every record (the table was refused)
	mappings []Mapping
}

// Mappings returns the path → name mapping of the table after the plan,
// sorted by path, for saving and passing to a later PlanChanges
// (PlanOptions.Mappings). Fallback columns are not part of it.
func (p *Plan) Mappings() []Mapping { return slices.Clone(p.mappings) }

// fallbackName returns NAME__V_TYPE, cut to maxLen (the suffix too, when
// maxLen is very small; callers check the result is free).
func fallbackName(name string, k TypeKind, maxLen int) string {
	suffix := "__V_" + k.String()
	if len(suffix) > maxLen-1 {
		suffix = suffix[:max(maxLen-1, 0)]
	}
	if len(name)+len(suffix) > maxLen {
		name = name[:max(maxLen-len(suffix), 0)]
	}
	return name + suffix
}

// fits reports whether a column of type e takes every value inferred for c.
func fits(e Type, c Column) bool {
	if c.Type.Kind == Unknown || e.Kind == Variant {
		return true
	}
	if e.Kind == Varchar && c.Type.Kind != Object && c.Type.Kind != Array && c.Type.Kind != Variant && c.Type.Kind != Other {
		return c.MaxLength <= e.Length
	}
	return e.Covers(c.Type)
}

// widenInPlace returns the type Snowflake can change e to in place (ALTER
// COLUMN ... SET DATA TYPE) so that it takes every value of c.
func widenInPlace(e Type, c Column) (Type, bool) {
	switch {
	case e.Kind == Varchar && c.Type.Kind != Object && c.Type.Kind != Array && c.Type.Kind != Variant && c.Type.Kind != Other:
		n := max(c.MaxLength, c.Type.Length)
		if n > MaxVarcharLength {
			return e, false
		}
		return Type{Kind: Varchar, Length: n}, true
	case e.Kind == Number && c.Type.Kind == Number && c.Type.Scale <= e.Scale:
		p := max(e.Precision-e.Scale, c.Type.Precision-c.Type.Scale) + e.Scale
		if p > MaxPrecision {
			return e, false
		}
		return Type{Kind: Number, Precision: p, Scale: e.Scale}, true
	}
	return e, false
}

// PlanChanges plans the changes inferred needs on a table whose columns are
// existing (none: the table does not exist), under policy.
//
// existing must be in table order (DESC TABLE order, or
// INFORMATION_SCHEMA.COLUMNS by ORDINAL_POSITION). Existing columns are
// mapped to paths by their comments (the path, as AppendCreateTable and
// Plan.AppendSQL write them; a later column with the comment of an earlier
// one is a fallback column of that path), then by a saved mapping, then by
// name (a column named Normalize(path)); a path keeps its column across
// batches.
// A new path gets a new nullable column named by a Namer loaded with that
// mapping, unless it lies below an existing VARIANT column (a wide object
// kept whole by an earlier batch): then its values go into that column
// (Route, AppendSubtree), so a wide object does not turn back into columns. A type the column cannot take is widened in place when Snowflake
// allows it, and otherwise gets a fallback column NAME__V_TYPE (VARIANT if
// that one cannot take it either), which takes the values the original
// column cannot; nothing fails to load.
//
// Under Freeze, a needed change fails with a *FrozenError; under DiscardRow
// and DiscardValue it is listed in Plan.Rejected and Plan.Filter discards the
// records or values concerned.
func PlanChanges(existing []ExistingColumn, inferred Table, policy Policy, o PlanOptions) (*Plan, error) {
	if o.Separator == "" {
		o.Separator = "."
	}
	o.Names.Separator = o.Separator
	names, err := o.Names.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Plan{Table: inferred.Name, sep: []byte(o.Separator), policy: policy,
		routes: map[string][]int{}, subtrees: map[string]int{}, rejected: map[string]Mode{}}
	var system []string
	for _, c := range inferred.Columns {
		if c.System {
			system = append(system, c.Name)
		}
	}
	namer, err := NewNamer(names, system...)
	if err != nil {
		return nil, err
	}
	if err := namer.Load(o.Mappings); err != nil {
		return nil, fmt.Errorf("table %s: %w", inferred.Name, err)
	}
	if len(existing) == 0 {
		if err := p.planCreate(inferred, policy, namer); err != nil {
			return nil, err
		}
		return p, nil
	}
	// Map existing columns to paths: comments first.
	byName := map[string]int{}
	var ms []Mapping
	mapped := make([]bool, len(existing)) // the column holds a known path
	for i, e := range existing {
		byName[e.Name] = i
		sys := slices.Contains(system, e.Name)
		p.Columns = append(p.Columns, Column{Name: e.Name, Path: e.Comment, Type: e.Type, Nullable: e.Nullable, System: sys})
		mapped[i] = e.Comment != "" && !sys
	}
	// A column whose comment names the path of an earlier column is a
	// fallback column of that path: ADD COLUMN appends, so the original
	// comes first in table order.
	firstOf := map[string]int{}
	for i, e := range existing {
		if _, ok := firstOf[e.Comment]; !ok && e.Comment != "" {
			firstOf[e.Comment] = i
		}
	}
	isFallbackAt := func(i int) bool {
		j, ok := firstOf[existing[i].Comment]
		return ok && j < i
	}
	for i, e := range existing {
		if e.Comment != "" && !isFallbackAt(i) {
			ms = append(ms, Mapping{Path: e.Comment, Name: e.Name})
		}
	}
	if err := namer.Load(ms); err != nil {
		return nil, fmt.Errorf("table %s: %w", inferred.Name, err)
	}
	// An uncommented column named in the saved mapping holds its path.
	for i, e := range existing {
		if path, ok := namer.byName[e.Name]; ok && !mapped[i] && !p.Columns[i].System {
			p.Columns[i].Path = path
			mapped[i] = true
		}
	}
	// Then names: an uncommented column named as a path normalizes; the
	// smallest such path wins.
	var paths []string
	for _, c := range inferred.Columns {
		if !c.System {
			paths = append(paths, c.Path)
		}
	}
	slices.Sort(paths)
	var buf []byte
	for _, path := range paths {
		if _, ok := namer.Lookup([]byte(path)); ok {
			continue
		}
		buf = Normalize(buf[:0], path, names)
		if i, ok := byName[string(buf)]; ok && existing[i].Comment == "" {
			if _, taken := namer.byName[existing[i].Name]; !taken {
				if err := namer.Load([]Mapping{{Path: path, Name: existing[i].Name}}); err == nil {
					p.Columns[i].Path = path
					mapped[i] = true
				}
			}
		}
	}
	// Names of existing columns holding no path are never given to one.
	for i, e := range existing {
		if !mapped[i] || isFallbackAt(i) {
			namer.reserved[e.Name] = true
		}
	}
	// Routes of existing columns: the original, then fallbacks.
	for i, c := range p.Columns {
		if !mapped[i] {
			continue
		}
		if name, ok := namer.Lookup([]byte(c.Path)); ok && name == c.Name {
			p.routes[c.Path] = append([]int{i}, p.routes[c.Path]...)
			if c.Type.Kind == Variant {
				p.subtrees[c.Path] = i // new paths below it go into it
				p.Columns[i].Subtree = true
			}
		} else if isFallbackAt(i) {
			p.routes[c.Path] = append(p.routes[c.Path], i)
		}
	}
	var changes []Change
	var frozen []Change
	add := func(c Column, reason string, path string) {
		ch := Change{Kind: ChangeAdd, Column: c, Reason: reason}
		if c.System {
			ch.Reason = "system column"
		}
		switch m := policy.mode(path); {
		case c.System && m != Freeze, m == Evolve:
			c.Nullable = true
			if c.System {
				c.Nullable = false
			}
			ch.Column = c
			p.Columns = append(p.Columns, c)
			if !c.System {
				p.routes[path] = append(p.routes[path], len(p.Columns)-1)
			}
			changes = append(changes, ch)
		case m == Freeze:
			frozen = append(frozen, ch)
		default:
			p.Rejected = append(p.Rejected, Rejection{Path: path, Mode: m, Type: c.Type, Reason: reason})
			p.rejected[path] = m
		}
	}
	// System columns the table lacks.
	for _, c := range inferred.Columns {
		if _, ok := byName[c.Name]; c.System && !ok {
			add(c, "system column", "")
		}
	}
	namer.NameAll(paths)
	for _, c := range inferred.Columns {
		if c.System {
			continue
		}
		route := p.routes[c.Path]
		if len(route) == 0 {
			if _, ok := p.subtreeOf([]byte(c.Path)); ok {
				continue // below an existing VARIANT column: kept in it
			}
			c.Name = namer.Name(c.Path)
			add(c, "new path", c.Path)
			if c.Subtree {
				if r := p.routes[c.Path]; len(r) > 0 {
					p.subtrees[c.Path] = r[0]
				}
			}
			continue
		}
		if c.Subtree {
			p.subtrees[c.Path] = route[0]
		}
		if slices.ContainsFunc(route, func(i int) bool { return fits(p.Columns[i].Type, c) }) {
			continue
		}
		if nt, ok := widenInPlace(p.Columns[route[0]].Type, c); ok {
			ch := Change{Kind: ChangeWiden, From: p.Columns[route[0]].Type, Reason: "longer values"}
			col := p.Columns[route[0]]
			col.Type = nt
			ch.Column = col
			switch m := policy.mode(c.Path); m {
			case Evolve:
				p.Columns[route[0]] = col
				changes = append(changes, ch)
			case Freeze:
				frozen = append(frozen, ch)
			default:
				p.Rejected = append(p.Rejected, Rejection{Path: c.Path, Mode: m, Type: c.Type, Reason: "values too long or too large for " + ch.From.String()})
			}
			continue
		}
		// A fallback column of this path widened in place, or a new one.
		reason := fmt.Sprintf("%v cannot take %v (a type change Snowflake does not make in place)", p.Columns[route[0]].Type, c.Type)
		widened := false
		for _, i := range route[1:] {
			nt, ok := widenInPlace(p.Columns[i].Type, c)
			if !ok {
				continue
			}
			col := p.Columns[i]
			ch := Change{Kind: ChangeWiden, From: col.Type, Reason: reason}
			col.Type = nt
			ch.Column = col
			switch m := policy.mode(c.Path); m {
			case Evolve:
				p.Columns[i] = col
				changes = append(changes, ch)
			case Freeze:
				frozen = append(frozen, ch)
			default:
				p.Rejected = append(p.Rejected, Rejection{Path: c.Path, Mode: m, Type: c.Type, Reason: reason})
				p.rejected[c.Path] = m
			}
			widened = true
			break
		}
		if widened {
			continue
		}
		fb := c
		fb.Subtree = false
		taken := func(name string) bool {
			return namer.taken(name) || slices.ContainsFunc(p.Columns, func(x Column) bool { return x.Name == name })
		}
		orig := p.Columns[route[0]].Name
		fb.Name = fallbackName(orig, c.Type.Kind, names.MaxLength)
		if taken(fb.Name) {
			fb.Type = Type{Kind: Variant}
			base := fallbackName(orig, Variant, names.MaxLength-4)
			fb.Name = base
			for k := 2; taken(fb.Name); k++ {
				fb.Name = base + "_" + strconv.Itoa(k)
			}
		}
		namer.reserved[fb.Name] = true
		add(fb, reason, c.Path)
	}
	if len(frozen) > 0 {
		return nil, &FrozenError{Table: inferred.Name, Changes: frozen}
	}
	p.Changes = changes
	p.Collisions = namer.Collisions()
	p.mappings = namer.Mappings()
	return p, nil
}

func (p *Plan) planCreate(t Table, policy Policy, namer *Namer) error {
	switch policy.Mode {
	case Freeze:
		return &FrozenError{Table: t.Name, Changes: []Change{{Kind: ChangeCreate, Reason: "new table"}}}
	case DiscardRow, DiscardValue:
		p.dropAll = "table " + t.Name + " does not exist and its contract is " + policy.Mode.String()
		p.Rejected = append(p.Rejected, Rejection{Mode: policy.Mode, Reason: p.dropAll})
		return nil
	}
	p.Create = true
	p.Columns = slices.Clone(t.Columns)
	p.Changes = []Change{{Kind: ChangeCreate, Reason: "new table"}}
	p.Collisions = t.Collisions
	if len(namer.byPath) > 0 { // a saved mapping: name the columns by it
		var paths []string
		for _, c := range p.Columns {
			if !c.System {
				paths = append(paths, c.Path)
			}
		}
		namer.NameAll(paths)
		for i, c := range p.Columns {
			if !c.System {
				p.Columns[i].Name = namer.Name(c.Path)
			}
		}
		p.Collisions = namer.Collisions()
	}
	for _, c := range p.Columns {
		if !c.System {
			p.mappings = append(p.mappings, Mapping{Path: c.Path, Name: c.Name})
		}
	}
	slices.SortFunc(p.mappings, func(a, b Mapping) int { return strings.Compare(a.Path, b.Path) })
	for i, c := range p.Columns {
		if c.System {
			continue
		}
		p.routes[c.Path] = append(p.routes[c.Path], i)
		if c.Subtree {
			p.subtrees[c.Path] = i
		}
	}
	return nil
}

// AppendSQL appends the plan's statements to dst, each ending with ";\n":
// CREATE TABLE, or ALTER TABLE ... ADD COLUMN (always nullable, except
// system columns) and ALTER TABLE ... ALTER COLUMN ... SET DATA TYPE.
func (p *Plan) AppendSQL(dst []byte, o DDLOptions) []byte {
	if p.Create {
		return AppendCreateTable(dst, Table{Name: p.Table, Columns: p.Columns}, o)
	}
	for _, c := range p.Changes {
		dst = append(dst, "ALTER TABLE "...)
		dst = o.AppendTableName(dst, p.Table)
		switch c.Kind {
		case ChangeAdd:
			dst = append(dst, " ADD COLUMN "...)
			if o.IfNotExists {
				dst = append(dst, "IF NOT EXISTS "...)
			}
			dst = o.appendColumn(dst, c.Column, true)
		case ChangeWiden:
			dst = append(dst, " ALTER COLUMN "...)
			dst = QuoteIdent(dst, c.Column.Name)
			dst = append(dst, " SET DATA TYPE "...)
			dst = c.Column.Type.AppendSQL(dst)
		}
		dst = append(dst, ";\n"...)
	}
	return dst
}

// Value is a field routed to a column: Column indexes Plan.Columns. A
// Subtree column may receive several fields of one record (those below its
// path); build its value with AppendSubtree over them.
type Value struct {
	Column int
	Field  flatten.Field
}

// Discard is a value (or, with Row set, a record) the contract sends to the
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

// Filter routes one record's fields and applies the contract: it appends the
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
		mode, rejected := p.rejected[string(f.Path)]
		reason := "no column takes the value"
		switch {
		case rejected:
			reason = "path refused by contract " + mode.String()
		default:
			mode = p.policy.mode(string(f.Path))
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
