package loadtest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/schema"
)

// subtreeDocs have an object ("scores") with more distinct keys than
// MaxObjectKeys, so schema keeps it whole in one VARIANT column; its
// members nest, hold strings that need escaping, arrays, nulls and "".
var subtreeDocs = []string{
	`{"id":1,"name":"a","scores":{"k1":1,"k2":2.50,"k3":{"deep":"x, \"q\"\n"},"k4":[1,{"z":null}]}}`,
	`{"id":2,"name":"b","scores":{"k5":"","k6":null,"k7":true}}`,
	`{"id":3,"scores":{}}`,
	`{"id":4,"name":"d"}`,
	`{"id":5,"scores":{"k1":-0,"k8":{"a":{"b":{"c":505874924095815681}}}},"name":"e"}`,
}

// TestWritersSubtreeRoundTrip: a wide object mapped to one VARIANT column
// (schema.Column.Subtree) is loaded whole into that column in every format,
// no member dropped and no member in a column of its own.
func TestWritersSubtreeRoundTrip(t *testing.T) {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	ctx := context.Background()
	fl, _ := flatten.New(flatten.Options{})
	in, err := schema.NewInferrer(schema.InferOptions{MaxObjectKeys: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range subtreeDocs {
		fields, err := fl.Append(nil, []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		in.Observe(fields)
	}
	tables, err := in.Tables("SUB")
	if err != nil {
		t.Fatal(err)
	}
	table := tables[0]
	sub, ok := table.Column("scores")
	if !ok || !sub.Subtree {
		t.Fatalf("inferred columns %+v: want a subtree column for scores", table.Columns)
	}
	names := map[string]bool{}
	for _, c := range table.Columns {
		names[c.Name] = true
	}
	for _, format := range []load.Format{load.NDJSON, load.CSV, load.Parquet} {
		for _, mode := range []string{"held", "rotated"} {
			t.Run(fmt.Sprintf("%v/%s", format, mode), func(t *testing.T) {
				tb := table
				tb.Name = strings.ToUpper(fmt.Sprintf("SUB_%v_%s", format, mode))
				if _, err := db.ExecContext(ctx, schema.CreateTable(tb, schema.DDLOptions{NoComments: true})); err != nil {
					t.Fatal(err)
				}
				o := load.WriterOptions{Dir: t.TempDir(), Table: tb.Name, Format: format, Compression: load.Zstd, Columns: table.Columns}
				if mode == "rotated" {
					o.DiscoverRows, o.MaxRows = -1, 2
				}
				for _, f := range writeAll(t, o, subtreeDocs) {
					for _, c := range f.Columns {
						if !names[c] {
							t.Errorf("file %s has column %s, which the table lacks", f.Name, c)
						}
					}
					copyFile(t, db, tb.Name, f)
				}
				compareSubtree(t, db, tb, sub.Name)
			})
		}
	}
}

// compareSubtree checks every row: the subtree column holds the record's
// object (SQL NULL without one), the other columns their values.
func compareSubtree(t *testing.T, db *sql.DB, tb schema.Table, subName string) {
	t.Helper()
	q := fmt.Sprintf(`SELECT "ID", "NAME", %s FROM %s ORDER BY "ID"`, schema.QuoteIdent(nil, subName), schema.QuoteIdent(nil, tb.Name))
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int
		var name, got sql.NullString
		if err := rows.Scan(&id, &name, &got); err != nil {
			t.Fatal(err)
		}
		n++
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(subtreeDocs[id-1]), &doc); err != nil {
			t.Fatal(err)
		}
		want, has := doc["scores"]
		switch {
		case !has && got.Valid:
			t.Errorf("row %d: %s = %s, want SQL NULL", id, subName, got.String)
		case has && !got.Valid:
			t.Errorf("row %d: %s is SQL NULL, want %s", id, subName, want)
		case has && !sameJSONValue(got.String, string(want)):
			t.Errorf("row %d: %s = %s, want %s", id, subName, got.String, want)
		}
		var wantName string
		if raw, ok := doc["name"]; ok {
			json.Unmarshal(raw, &wantName)
		}
		if name.String != wantName {
			t.Errorf("row %d: NAME = %v, want %q", id, name, wantName)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(subtreeDocs) {
		t.Errorf("%d rows, want %d", n, len(subtreeDocs))
	}
}

// sameJSONValue reports whether a and b are the same JSON value, numbers
// compared by value (a VARIANT keeps 2.50 as 2.5 and -0 as 0).
func sameJSONValue(a, b string) bool {
	var x, y any
	da := json.NewDecoder(strings.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(strings.NewReader(b))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return equalJSON(x, y)
}

func equalJSON(x, y any) bool {
	switch a := x.(type) {
	case json.Number:
		b, ok := y.(json.Number)
		ra, ok1 := new(big.Rat).SetString(string(a))
		rb, ok2 := new(big.Rat).SetString(string(b))
		return ok && ok1 && ok2 && ra.Cmp(rb) == 0
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !equalJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return x == y
}
