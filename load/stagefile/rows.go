package stagefile

import (
	"fmt"
	"strconv"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
)

// RowsWriter writes the rows of flatten's ArraysTables mode: one Writer,
// and so one set of files, per table. The root table is
// WriterOptions.Table with the system column _ID; a child table is named as
// schema.Inferrer.Tables names it (Table + "__" + its normalized table
// path) unless tables says otherwise, and has _ID, _PARENT_ID and _INDEX.
// A RowsWriter is not safe for concurrent use.
type RowsWriter struct {
	o      WriterOptions
	byPath map[string]*Writer
	order  []*Writer
	tnames *schema.Namer
	decl   map[string]schema.Table
	fields []flatten.Field
	num    []byte
}

// System column keys: paths no flattened field can have.
const (
	sysID     = "\x00" + schema.IDColumn
	sysParent = "\x00" + schema.ParentIDColumn
	sysIndex  = "\x00" + schema.IndexColumn
)

// NewRowsWriter returns a RowsWriter. tables, if given (from
// schema.Inferrer.Tables or the existing tables), declare each table's
// name and columns by table Path; o.Columns is ignored.
func NewRowsWriter(o WriterOptions, tables []schema.Table) (*RowsWriter, error) {
	o.Columns = nil
	if _, err := NewWriter(o); err != nil { // validate the options once
		return nil, err
	}
	tn, err := schema.NewNamer(o.Names, o.Table)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOptions, err)
	}
	w := &RowsWriter{o: o, byPath: map[string]*Writer{}, tnames: tn, decl: map[string]schema.Table{}}
	for _, t := range tables {
		w.decl[t.Path] = t
	}
	return w, nil
}

// writer returns the table's Writer, creating it on first use.
func (w *RowsWriter) writer(path []byte) (*Writer, error) {
	if tw, ok := w.byPath[string(path)]; ok {
		return tw, nil
	}
	p := string(path)
	o := w.o
	sys := []schema.Column{{Name: schema.IDColumn, Type: schema.Type{Kind: schema.Number, Precision: 20}, System: true}}
	if p != "" {
		o.Table = w.o.Table + "__" + w.tnames.Name(p)
		sys = append(sys,
			schema.Column{Name: schema.ParentIDColumn, Type: schema.Type{Kind: schema.Number, Precision: 20}, System: true},
			schema.Column{Name: schema.IndexColumn, Type: schema.Type{Kind: schema.Number, Precision: 10}, System: true})
	}
	if t, ok := w.decl[p]; ok {
		o.Table = t.Name
		o.Columns = t.Columns
		has := false
		for _, c := range t.Columns {
			has = has || c.System
		}
		if !has {
			o.Columns = append(append([]schema.Column(nil), sys...), t.Columns...)
		}
	} else {
		o.Columns = sys
	}
	tw, err := NewWriter(o)
	if err != nil {
		return nil, err
	}
	w.byPath[p] = tw
	w.order = append(w.order, tw)
	return tw, nil
}

// WriteRows writes one document's rows (from flatten's AppendRows), each
// to its table's files. record is the document's 1-based number. An error
// wrapping ErrValue rejects the row it names; rows of the document written
// before it stay written.
func (w *RowsWriter) WriteRows(record int64, rows []flatten.Row) error {
	for i := range rows {
		r := &rows[i]
		tw, err := w.writer(r.Table)
		if err != nil {
			return err
		}
		num := w.num[:0]
		num = strconv.AppendUint(num, r.ID, 10)
		idEnd := len(num)
		fs := append(w.fields[:0], flatten.Field{Path: sysIDBytes, Kind: flatten.Number})
		if len(r.Table) > 0 {
			num = strconv.AppendUint(num, r.ParentID, 10)
			pEnd := len(num)
			num = strconv.AppendInt(num, int64(r.Index), 10)
			fs = append(fs,
				flatten.Field{Path: sysParentBytes, Kind: flatten.Number},
				flatten.Field{Path: sysIndexBytes, Kind: flatten.Number})
			fs[1].Value = num[idEnd:pEnd]
			fs[2].Value = num[pEnd:]
			if r.ParentID == 0 { // elements of a top-level array
				fs[1] = flatten.Field{Path: sysParentBytes, Value: nullBytes, Kind: flatten.Null}
			}
		}
		fs[0].Path = sysIDBytes
		fs[0].Value = num[:idEnd]
		fs = append(fs, r.Fields...)
		w.fields, w.num = fs, num
		if err := tw.Write(record, fs); err != nil {
			return err
		}
	}
	return nil
}

var (
	sysIDBytes     = []byte(sysID)
	sysParentBytes = []byte(sysParent)
	sysIndexBytes  = []byte(sysIndex)
	nullBytes      = []byte("null")
)

// SetSource sets the source of the rows written next in every table.
func (w *RowsWriter) SetSource(src string) error {
	w.o.Source = src
	for _, tw := range w.order {
		if err := tw.SetSource(src); err != nil {
			return err
		}
	}
	return nil
}

// Close finishes every table's files and returns them, table by table in
// order of first appearance.
func (w *RowsWriter) Close() ([]File, error) {
	var files []File
	var first error
	for _, tw := range w.order {
		fs, err := tw.Close()
		files = append(files, fs...)
		if err != nil && first == nil {
			first = err
		}
	}
	return files, first
}
