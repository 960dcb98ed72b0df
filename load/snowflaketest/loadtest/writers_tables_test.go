package loadtest_test

import (
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

var tablesDocs = []string{
	`{"order":"A-1","items":[{"sku":"x","qty":2,"tags":["red","big"]},{"sku":"y","qty":1.10}],"note":"a,\"b\""}`,
	`{"order":"A-2","items":[],"note":null}`,
	`{"order":"A-3","items":[{"sku":"z","qty":505874924095815681,"tags":[]}],"extra":{"k":"v"}}`,
	`[{"order":"top-level array element"},{"order":"second"}]`,
}

// TestWritersTablesRoundTrip: ArraysTables rows go to one file set per
// table, with _ID, _PARENT_ID and _INDEX, and load cell for cell.
func TestWritersTablesRoundTrip(t *testing.T) {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	fopts := flatten.Options{Arrays: flatten.ArraysTables}
	fl, _ := flatten.New(fopts)
	in, _ := schema.NewInferrer(schema.InferOptions{})
	type want struct {
		id     uint64
		parent uint64
		index  int
		fields map[string]flatten.Field
	}
	expected := map[string][]want{} // table path → rows
	for i, d := range tablesDocs {
		rows, err := fl.AppendRowsKey(nil, []byte(d), []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		in.ObserveRows(rows)
		for _, r := range rows {
			m := map[string]flatten.Field{}
			for _, f := range r.Fields {
				m[string(f.Path)] = flatten.Field{Path: append([]byte(nil), f.Path...), Value: append([]byte(nil), f.Value...), Kind: f.Kind}
			}
			expected[string(r.Table)] = append(expected[string(r.Table)], want{r.ID, r.ParentID, r.Index, m})
		}
	}
	tables, err := in.Tables("ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []stagefile.Format{stagefile.NDJSON, stagefile.Parquet} {
		for _, declared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/declared=%v", format, declared), func(t *testing.T) {
				prefix := fmt.Sprintf("T%v%v_", format, declared)
				var decl []schema.Table
				byName := map[string]schema.Table{}
				for _, tb := range tables {
					tb.Name = prefix + tb.Name
					decl = append(decl, tb)
					byName[tb.Name] = tb
					if _, err := db.Exec(schema.CreateTable(tb, schema.DDLOptions{NoComments: true})); err != nil {
						t.Fatal(err)
					}
				}
				o := stagefile.WriterOptions{Dir: t.TempDir(), Table: prefix + "ORDERS", Format: format, Compression: stagefile.Zstd}
				var w *stagefile.RowsWriter
				if declared {
					w, err = stagefile.NewRowsWriter(o, decl)
				} else {
					w, err = stagefile.NewRowsWriter(o, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				fl, _ := flatten.New(fopts)
				for i, d := range tablesDocs {
					rows, err := fl.AppendRowsKey(nil, []byte(d), []byte(strconv.Itoa(i)))
					if err != nil {
						t.Fatal(err)
					}
					if err := w.WriteRows(int64(i+1), rows); err != nil {
						t.Fatal(err)
					}
				}
				files, err := w.Close()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d files for tables %v", len(files), tableNames(decl))
				loaded := map[string]bool{}
				for _, f := range files {
					if _, ok := byName[f.Table]; !ok {
						t.Fatalf("file for table %s, which schema does not name (tables %v)", f.Table, tableNames(tables))
					}
					copyFile(t, db, f.Table, f)
					loaded[f.Table] = true
				}
				for _, tb := range decl {
					if !loaded[tb.Name] {
						t.Errorf("no file for table %s", tb.Name)
					}
					exp := expected[tb.Path]
					sort.Slice(exp, func(i, j int) bool { return exp[i].id < exp[j].id })
					compareRows(t, db, tb, func(r int, c schema.Column) (flatten.Field, bool) {
						if r >= len(exp) {
							return flatten.Field{}, false
						}
						e := exp[r]
						switch {
						case c.Name == schema.IDColumn:
							return flatten.Field{Value: []byte(strconv.FormatUint(e.id, 10)), Kind: flatten.Number}, true
						case c.Name == schema.ParentIDColumn:
							return flatten.Field{Value: []byte(strconv.FormatUint(e.parent, 10)), Kind: flatten.Number}, true
						case c.Name == schema.IndexColumn:
							return flatten.Field{Value: []byte(strconv.Itoa(e.index)), Kind: flatten.Number}, true
						}
						f, ok := e.fields[c.Path]
						return f, ok
					}, len(exp))
				}
			})
		}
	}
}

func tableNames(ts []schema.Table) []string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name)
	}
	return s
}

// compareRows selects every cell of tb ordered by _ID and compares it with
// cell(row, column).
func compareRows(t *testing.T, db *sql.DB, tb schema.Table, cell func(int, schema.Column) (flatten.Field, bool), n int) {
	t.Helper()
	var cols []string
	for _, c := range tb.Columns {
		cols = append(cols, string(schema.QuoteIdent(nil, c.Name)))
	}
	q := fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", strings.Join(cols, ", "), schema.QuoteIdent(nil, tb.Name), schema.QuoteIdent(nil, schema.IDColumn))
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	r := 0
	for ; rows.Next(); r++ {
		got := make([]sql.NullString, len(tb.Columns))
		ptrs := make([]any, len(got))
		for i := range got {
			ptrs[i] = &got[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range tb.Columns {
			f, ok := cell(r, c)
			if msg := cellMismatch(c, f, ok, got[i], variantNullAsSQLNull); msg != "" {
				t.Errorf("%s row %d column %s (%s): %s", tb.Name, r+1, c.Name, c.Type, msg)
			}
		}
	}
	if r != n {
		t.Errorf("table %s has %d rows, want %d", tb.Name, r, n)
	}
}
