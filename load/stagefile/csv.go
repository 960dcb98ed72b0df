package stagefile

import (
	"bytes"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/internal/jsonstr"
	"github.com/flatpipe/flatpipe/schema"
)

// csvEncoder writes RFC 4180 CSV with a header row of column names. SQL
// NULL is an empty unenclosed field, every string is enclosed in double
// quotes (embedded quotes doubled), numbers and booleans are bare; values
// of VARIANT, OBJECT and ARRAY columns are JSON text. See File.FileFormat.
type csvEncoder struct {
	line []byte
	tmp  []byte
	slot []int32  // per file column: the field index of this row
	gen  []uint32 // per file column: the row generation that set slot
	cur  uint32
}

func (e *csvEncoder) fixedColumns() bool { return true }

func (e *csvEncoder) class(t schema.Type) uint8 {
	switch t.Kind {
	case schema.Variant, schema.Object, schema.Array:
		return classJSON
	}
	return classText
}

func (e *csvEncoder) order([]*column)   {}
func (e *csvEncoder) end(*Writer) error { return nil }
func (e *csvEncoder) pending() int64    { return 0 }
func (e *csvEncoder) full() bool        { return false }

func (e *csvEncoder) begin(w *Writer) error {
	n := len(w.fileCols)
	e.slot = grow(e.slot, n)
	e.gen = grow(e.gen, n)
	clear(e.gen)
	e.cur = 0
	b := e.line[:0]
	for i, c := range w.fileCols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEnclosed(b, []byte(c.name))
	}
	b = append(b, '\n')
	e.line = b
	_, err := w.buf.Write(b)
	return err
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (e *csvEncoder) row(w *Writer, fields []flatten.Field) error {
	e.cur++
	if e.cur == 0 {
		clear(e.gen)
		e.cur = 1
	}
	for i := range fields {
		pos := w.cols[w.fcol[i]].pos
		e.slot[pos] = int32(i)
		e.gen[pos] = e.cur
	}
	b := e.line[:0]
	for pos, c := range w.fileCols {
		if pos > 0 {
			b = append(b, ',')
		}
		if e.gen[pos] != e.cur {
			continue // missing: NULL
		}
		f := &fields[e.slot[pos]]
		switch f.Kind {
		case flatten.Null:
			if c.class == classJSON && c.typ.Kind == schema.Variant {
				b = append(b, "null"...)
			}
		case flatten.String:
			if c.class == classJSON {
				e.tmp = jsonstr.Append(e.tmp[:0], f.Value)
				b = appendEnclosed(b, e.tmp)
			} else {
				b = appendEnclosed(b, f.Value)
			}
		case flatten.Object, flatten.Array:
			b = appendEnclosed(b, f.Value)
		default:
			b = append(b, f.Value...)
		}
	}
	b = append(b, '\n')
	e.line = b
	_, err := w.buf.Write(b)
	return err
}

// appendEnclosed appends s in double quotes, each quote doubled.
func appendEnclosed(dst, s []byte) []byte {
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}
