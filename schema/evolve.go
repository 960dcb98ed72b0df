package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// Mode is an evolution mode, after dlt's schema contract modes: what happens
// when a batch needs a new column, a new table or a type the column cannot
// take.
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

// Evolution says how a table may evolve: its Mode, and per path overrides.
// The zero value evolves everything. It is a plain value, safe for
// concurrent use while nobody modifies it.
type Evolution struct {
	Mode    Mode            `json:"mode" yaml:"mode"`
	Columns map[string]Mode `json:"columns,omitempty" yaml:"columns,omitempty"`
}

func (p Evolution) mode(path string) Mode {
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

// FrozenError reports the changes a batch needs on a table whose evolution
// mode is Freeze. It wraps ErrFrozen.
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

// Rejection is a path whose change was refused under DiscardRow or
// DiscardValue: its values (or records) that no column takes are discarded
// by Plan.Filter. Reason is the Reason of the refused Change.
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

	sep       []byte
	evolution Evolution
	routes    map[string][]int // path → columns, the original first, then fallbacks
	subtrees  map[string]int
	rejected  map[string]int // path → index in Rejected
	dropAll   string         // a reason to discard every record (the table was refused)
	mappings  []Mapping
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
