package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// Time columns (-detect-time, on by default).
//
// stagefile.Writer types a new column by its values without time detection
// (a string is VARCHAR), and package load creates or evolves the table with
// the types of the staged files (load.TableOf, widened with the chunk's
// inferred table). So that a column of ISO-8601 strings becomes DATE,
// TIMESTAMP_NTZ or TIMESTAMP_TZ, a chunk declares it to its writer
// (stagefile.WriterOptions.Columns) before it writes a row:
//
//   - a column the table already has with one of these types (DESC TABLE,
//     through load.Loader.Columns), found by the path in its comment;
//   - a column the table does not have, whose values in the chunk's first
//     lookAheadRecords records (at most lookAheadBytes of fields) are all
//     times: schema's inference with DetectTime (DATE ⊔ TIMESTAMP_NTZ =
//     TIMESTAMP_NTZ, TIMESTAMP_NTZ ⊔ TIMESTAMP_TZ = TIMESTAMP_TZ; any other
//     value among them makes it VARCHAR, as without -detect-time).
//
// The chunk holds copies of those first records until it has decided, then
// writes them. A column that first appears after them, or that the table
// has with another type (VARCHAR, from a run without -detect-time), keeps
// the writer's type: text loads into VARCHAR as it was read.
//
// A later value in a declared column that is not a time of its type is
// never written, and never lost: Snowflake does not change a DATE or
// TIMESTAMP column to VARCHAR in place, so for such a value package load
// plans a fallback column (NAME__V_VARCHAR) and refuses files whose column
// does not fit the table's (*load.SchemaMismatchError, before COPY), which
// would stop the job. The record is dead-lettered instead (reason "value",
// with its position), naming the field, the column and its type. The same
// record is refused whether the column was typed by the table or by the
// chunk's first records, so a redone chunk makes the same decisions and
// writes the same files.
const (
	lookAheadRecords = 1000
	lookAheadBytes   = 1 << 20
)

// timeCol is a column declared to a chunk's writer as DATE, TIMESTAMP_NTZ
// or TIMESTAMP_TZ.
type timeCol struct {
	name  string
	typ   schema.Type
	table bool // the table has it; else typed from the chunk's first records
}

func isTimeKind(k schema.TypeKind) bool {
	return k == schema.Date || k == schema.TimestampNTZ || k == schema.TimestampTZ
}

// tableTimes returns the table's time columns by path, and every path and
// column name the table has. Only the first column of a path counts (later
// ones are its fallback columns), and only if it has the name the writer
// gives the path (a renamed column keeps the writer's own typing).
func tableTimes(existing []schema.ExistingColumn, names schema.NameOptions) (times map[string]timeCol, paths, cols map[string]bool) {
	times, paths, cols = map[string]timeCol{}, map[string]bool{}, map[string]bool{}
	for _, e := range existing {
		cols[e.Name] = true
		if e.Comment == "" || paths[e.Comment] {
			continue
		}
		paths[e.Comment] = true
		if isTimeKind(e.Type.Kind) && string(schema.Normalize(nil, e.Comment, names)) == e.Name {
			times[e.Comment] = timeCol{name: e.Name, typ: e.Type, table: true}
		}
	}
	return times, paths, cols
}

// heldField is a field of a held record: its kind and where its path and
// value are in the hold's buffer.
type heldField struct {
	kind               flatten.Kind
	pathAt, valAt, end int
}

// heldRecord is a record held during the look-ahead.
type heldRecord struct {
	number, offset, line int64
	first, last          int // its fields in hold.fields
}

// hold keeps copies of a chunk's first records.
type hold struct {
	buf    []byte
	fields []heldField
	recs   []heldRecord
}

func (h *hold) add(r flatRecord) {
	first := len(h.fields)
	for _, f := range r.fields {
		p := len(h.buf)
		h.buf = append(h.buf, f.Path...)
		v := len(h.buf)
		h.buf = append(h.buf, f.Value...)
		h.fields = append(h.fields, heldField{kind: f.Kind, pathAt: p, valAt: v, end: len(h.buf)})
	}
	h.recs = append(h.recs, heldRecord{number: r.number, offset: r.offset, line: r.line, first: first, last: len(h.fields)})
}

func (h *hold) full() bool {
	return len(h.recs) >= lookAheadRecords || len(h.buf) >= lookAheadBytes
}

// checkTimes refuses a record with a value that a declared time column
// cannot take (see the comment at the top of this file).
func (c *loadChunk) checkTimes(fields []flatten.Field) error {
	if len(c.times) == 0 {
		return nil
	}
	for i := range fields {
		f := &fields[i]
		tc, ok := c.times[string(f.Path)]
		if !ok || f.Kind == flatten.Null || f.Kind == flatten.String && takesTime(tc.typ, f.Value, c.parquet) {
			continue
		}
		from := "typed so from the first records of the chunk that adds it; run with -detect-time=false to load such columns as VARCHAR"
		if tc.table {
			from = "the table's type, which Snowflake does not change in place"
		}
		return &recordError{reason: "value", err: fmt.Errorf("batch: field %q: %s is not a %s, the type of column %s (%s)", f.Path, shortValue(f), tc.typ, tc.name, from)}
	}
	return nil
}

// takesTime reports whether v loads into a column of type t as a time
// (schema's ISO-8601 forms, all of which stagefile writes as times); in
// Parquet a timestamp must also fit TIMESTAMP(NANOS), 1677 to 2262.
func takesTime(t schema.Type, v []byte, parquet bool) bool {
	if !t.Accepts(flatten.String, v, false) {
		return false
	}
	if parquet && t.Kind != schema.Date {
		y := int(v[0]-'0')*1000 + int(v[1]-'0')*100 + int(v[2]-'0')*10 + int(v[3]-'0')
		return y >= 1678 && y <= 2261
	}
	return true
}

// shortValue quotes a field's value for an error, cut to 64 bytes.
func shortValue(f *flatten.Field) string {
	v := f.Value
	cut := ""
	if len(v) > 64 {
		v, cut = v[:64], "…"
	}
	if f.Kind == flatten.String {
		return strconv.Quote(string(v)) + cut
	}
	return string(v) + cut
}

// startWriter ends the look-ahead: it declares the table's time columns
// and those the held records show, opens the writer and writes the held
// records.
func (c *loadChunk) startWriter() error {
	if c.w != nil {
		return nil
	}
	if c.look != nil && len(c.look.recs) > 0 {
		tables, err := c.in.Tables(c.d.table)
		if err != nil {
			return err
		}
		var cols []schema.Column
		if len(tables) > 0 && tables[0].Path == "" {
			cols = tables[0].Columns
		}
		for _, col := range cols {
			if col.System || col.Subtree || !isTimeKind(col.Type.Kind) || c.tablePaths[col.Path] || c.tableCols[col.Name] {
				continue
			}
			if _, ok := c.times[col.Path]; !ok {
				if c.times == nil {
					c.times = map[string]timeCol{}
				}
				c.times[col.Path] = timeCol{name: col.Name, typ: col.Type}
			}
		}
	}
	// In order of path, so that a redone chunk (which finds in the table
	// the columns this one declares from its first records) writes the
	// same files.
	wo := c.wo
	for _, p := range slices.Sorted(maps.Keys(c.times)) {
		tc := c.times[p]
		wo.Columns = append(wo.Columns, schema.Column{Name: tc.name, Path: p, Type: tc.typ, Nullable: true})
	}
	w, err := stagefile.NewWriter(wo)
	if err != nil {
		return err
	}
	c.w = w
	h := c.look
	c.look = nil
	if h == nil {
		return nil
	}
	var fields []flatten.Field
	for _, r := range h.recs {
		fields = fields[:0]
		for _, f := range h.fields[r.first:r.last] {
			fields = append(fields, flatten.Field{Path: h.buf[f.pathAt:f.valAt], Value: h.buf[f.valAt:f.end], Kind: f.kind})
		}
		if err := c.w.Write(r.number, fields); err != nil {
			// The records were checked when they came: a value the
			// writer refuses now is a bug, not bad data.
			return fmt.Errorf("batch: %s record %d (line %d): %w", c.obj, r.number, r.line, err)
		}
		c.pos = append(c.pos, recordPos{r.number, r.offset, r.line})
	}
	return nil
}
