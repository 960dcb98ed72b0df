package stagefile

import (
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/internal/jsonstr"
	"github.com/flatpipe/flatpipe/schema"
)

// ndjsonEncoder writes one flat JSON object per line, keys in the record's
// field order. A file's columns are those its rows used, so a new key needs
// no new file.
type ndjsonEncoder struct {
	line []byte
}

const (
	classValue uint8 = iota // written as JSON values
	classText               // written as text (numbers as JSON strings)
	classJSON               // written as JSON text (CSV, Parquet)
)

func (e *ndjsonEncoder) fixedColumns() bool { return false }

// class: numbers go into text columns as JSON strings, so that Snowflake
// keeps their literal text (it would print a JSON number in its own form).
func (e *ndjsonEncoder) class(t schema.Type) uint8 {
	switch t.Kind {
	case schema.Varchar, schema.Date, schema.TimestampNTZ, schema.TimestampTZ, schema.Other:
		return classText
	}
	return classValue
}

func (e *ndjsonEncoder) order([]*column)     {}
func (e *ndjsonEncoder) begin(*Writer) error { return nil }
func (e *ndjsonEncoder) end(*Writer) error   { return nil }
func (e *ndjsonEncoder) pending() int64      { return 0 }
func (e *ndjsonEncoder) full() bool          { return false }

func (e *ndjsonEncoder) row(w *Writer, fields []flatten.Field) error {
	b := append(e.line[:0], '{')
	for i := range fields {
		f := &fields[i]
		c := w.cols[w.fcol[i]]
		if c.pos < 0 {
			c.pos = len(w.fileCols)
			c.class = e.class(c.typ)
			w.fileCols = append(w.fileCols, c)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, c.quoted...)
		b = append(b, ':')
		switch {
		case f.Kind == flatten.String:
			b = jsonstr.Append(b, f.Value)
		case f.Kind != flatten.Null && c.class == classText:
			b = append(b, '"')
			b = append(b, f.Value...) // number and literal text need no escaping
			b = append(b, '"')
		default:
			b = append(b, f.Value...) // numbers verbatim, literals, compact JSON
		}
	}
	b = append(b, '}', '\n')
	e.line = b
	_, err := w.buf.Write(b)
	return err
}
