package snowflaketest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// copyBatch is one batch of a COPY's records, held in Go and read by
// DuckDB through the table function sf_copy_batch('<id>'): the check query
// reads every record, then the rows it rejected are marked bad and the
// insert reads the others. A batch never enters DuckDB's storage, so the
// memory it takes is released as soon as the next batch starts, also
// inside a long transaction (DuckDB keeps the deleted rows of a
// transaction's tables until it ends).
type copyBatch struct {
	ncols int
	meta  []batchMeta
	vals  []*string // ncols values per record
	bad   []bool    // by record: rejected by the check
}

type batchMeta struct {
	row, line int32
	chars     *string
	off       int64
	n         int32
}

func (b *copyBatch) reset() {
	b.meta, b.vals, b.bad = b.meta[:0], b.vals[:0], b.bad[:0]
}

func (b *copyBatch) add(ri, line int, chars []byte, off int64, n int, vals []*string) {
	m := batchMeta{row: int32(ri), line: int32(line), off: off, n: int32(n)}
	if chars != nil {
		s := string(chars)
		m.chars = &s
	}
	b.meta = append(b.meta, m)
	b.vals = append(b.vals, vals...)
	b.bad = append(b.bad, false)
}

// copyBatchFunc is the name of the table function that serves batches.
const copyBatchFunc = "sf_copy_batch"

// registerCopyBatch registers sf_copy_batch(id) in the database: the rows
// of the batch registered under id (e.batches), as __row, __line,
// __chars, __off, __len and c1…cn, all text but the first five.
func (e *Emulator) registerCopyBatch(db *sql.DB) error {
	conn, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	text, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	f := duckdb.RowTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{text}},
		BindArguments: func(_ map[string]any, args ...any) (duckdb.RowTableSource, error) {
			id, _ := args[0].(string)
			b, ok := e.batches.Load(id)
			if !ok {
				return nil, errors.New("snowflaketest: no COPY batch " + id)
			}
			return &batchSource{b: b.(*copyBatch)}, nil
		},
	}
	return duckdb.RegisterTableUDF(conn, copyBatchFunc, f)
}

// batchSource reads one batch for one query.
type batchSource struct {
	b    *copyBatch
	i    int
	proj []bool // the columns the query reads; nil until the first row
}

func (s *batchSource) ColumnInfos() []duckdb.ColumnInfo {
	info := func(t duckdb.Type) duckdb.TypeInfo {
		ti, _ := duckdb.NewTypeInfo(t)
		return ti
	}
	cols := []duckdb.ColumnInfo{{Name: "__row", T: info(duckdb.TYPE_INTEGER)}, {Name: "__line", T: info(duckdb.TYPE_INTEGER)},
		{Name: "__chars", T: info(duckdb.TYPE_VARCHAR)}, {Name: "__off", T: info(duckdb.TYPE_BIGINT)}, {Name: "__len", T: info(duckdb.TYPE_INTEGER)}}
	for k := 0; k < s.b.ncols; k++ {
		cols = append(cols, duckdb.ColumnInfo{Name: fmt.Sprintf("c%d", k+1), T: info(duckdb.TYPE_VARCHAR)})
	}
	return cols
}

func (s *batchSource) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(len(s.b.meta))}
}

func (s *batchSource) Init() {}

// FillRow sets the next record that is not marked bad.
func (s *batchSource) FillRow(r duckdb.Row) (bool, error) {
	b := s.b
	for s.i < len(b.meta) && b.bad[s.i] {
		s.i++
	}
	if s.i >= len(b.meta) {
		return false, nil
	}
	if s.proj == nil {
		// Setting a column the query does not read costs an error value.
		s.proj = make([]bool, b.ncols+5)
		for k := range s.proj {
			s.proj[k] = r.IsProjected(k)
		}
	}
	m := b.meta[s.i]
	var err error
	set := func(k int, f func() error) {
		if err == nil && s.proj[k] {
			err = f()
		}
	}
	set(0, func() error { return duckdb.SetRowValue(r, 0, m.row) })
	set(1, func() error { return duckdb.SetRowValue(r, 1, m.line) })
	set(2, func() error { return setText(r, 2, m.chars) })
	set(3, func() error { return duckdb.SetRowValue(r, 3, m.off) })
	set(4, func() error { return duckdb.SetRowValue(r, 4, m.n) })
	for k, v := range b.vals[s.i*b.ncols : (s.i+1)*b.ncols] {
		if err == nil && s.proj[k+5] {
			err = setText(r, k+5, v)
		}
	}
	s.i++
	return true, err
}

func setText(r duckdb.Row, k int, v *string) error {
	if v == nil {
		return r.SetRowValue(k, nil)
	}
	return duckdb.SetRowValue(r, k, *v)
}
