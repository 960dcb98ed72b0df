package load

import (
	"database/sql"
	"strings"
)

// namedRow reads the rows of a result whose columns are found by name, case
// insensitively (COPY, VALIDATE, DESC TABLE and PUT answer with columns in
// an order the loader does not rely on), every value as text.
type namedRow struct {
	idx  map[string]int
	vals []sql.NullString
	ptrs []any
}

func newNamedRow(rows *sql.Rows) (*namedRow, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	r := &namedRow{idx: make(map[string]int, len(cols)), vals: make([]sql.NullString, len(cols)), ptrs: make([]any, len(cols))}
	for i, c := range cols {
		r.idx[strings.ToLower(c)] = i
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// scan reads the current row of rows.
func (r *namedRow) scan(rows *sql.Rows) error { return rows.Scan(r.ptrs...) }

// has reports whether the result has column k.
func (r *namedRow) has(k string) bool {
	_, ok := r.idx[strings.ToLower(k)]
	return ok
}

// null is column k of the current row; a missing column is NULL.
func (r *namedRow) null(k string) sql.NullString {
	if i, ok := r.idx[strings.ToLower(k)]; ok {
		return r.vals[i]
	}
	return sql.NullString{}
}

// str is column k of the current row as text; NULL and a missing column are "".
func (r *namedRow) str(k string) string { return r.null(k).String }
