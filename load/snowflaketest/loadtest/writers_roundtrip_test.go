package loadtest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// roundTripDocs are records whose every cell must come back as it went in:
// number literals (505874924095815681, 1.10, -0, 38 digits), strings with
// quotes, commas, newlines, tabs, backslashes, \N and non-ASCII, JSON null
// versus a missing key versus "", kept arrays and objects, and keys that
// appear and disappear mid-stream.
var roundTripDocs = []string{
	`{"id":1,"big_id":505874924095815681,"price":1.10,"zero":-0,"d38":12345678901234567890123456789012345678,"flag":true,"user":{"name":"a \"quoted\", comma\nnew line\ttab \\ back é 漢 🙂","bio":""},"tags":["x",1,null,{"k":"v"}],"meta":{"k":null},"nul":null,"slashn":"\\N","mixed":"text","ratio":1.5e3}`,
	`{"id":2,"big_id":-9223372036854775808,"price":2.5,"zero":3,"d38":-99999999999999999999999999999999999999,"flag":false,"user":{"name":""},"tags":[],"meta":{"k":{"z":[1,2]}},"nul":null,"mixed":12.50,"late":"arrives late","ratio":-0.25}`,
	`{"id":3,"price":null,"user":{"bio":"only bio"},"mixed":true,"vary":{"a":1}}`,
	`{"id":4,"late":"","vary":"s","zero":0}`,
	`{"id":5}`,
}

func TestWritersRoundTrip(t *testing.T) {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	ctx := context.Background()

	fl, err := flatten.New(flatten.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := schema.NewInferrer(schema.InferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var fields []flatten.Field
	for _, d := range roundTripDocs {
		if fields, err = fl.Append(fields[:0], []byte(d)); err != nil {
			t.Fatal(err)
		}
		in.Observe(fields)
	}
	tables, err := in.Tables("EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	table := tables[0]

	for _, format := range []stagefile.Format{stagefile.NDJSON, stagefile.CSV, stagefile.Parquet} {
		for _, comp := range []stagefile.Compression{stagefile.Gzip, stagefile.Zstd, stagefile.Uncompressed} {
			// declared: the table's columns are given; held: columns found
			// in rows held before the first file opens; rotated: no
			// holding, so each new key or type starts a new file.
			for _, mode := range []string{"declared", "held", "rotated"} {
				name := fmt.Sprintf("%v/%v/%s", format, comp, mode)
				t.Run(name, func(t *testing.T) {
					tname := fmt.Sprintf("RT_%v_%v_%s", format, comp, mode)
					tname = strings.ToUpper(tname)
					tb := table
					tb.Name = tname
					if _, err := db.ExecContext(ctx, schema.CreateTable(tb, schema.DDLOptions{NoComments: true})); err != nil {
						t.Fatal(err)
					}
					o := stagefile.WriterOptions{Dir: t.TempDir(), Table: tname, Format: format, Compression: comp, Source: "s3://bucket/in/events.ndjson", MaxRows: 3}
					switch mode {
					case "declared":
						o.Columns = table.Columns
					case "rotated":
						o.DiscoverRows = -1
					}
					files := writeAll(t, o, roundTripDocs)
					var rows int64
					for _, f := range files {
						rows += f.Rows
						copyFile(t, db, tname, f)
					}
					if rows != int64(len(roundTripDocs)) {
						t.Errorf("files hold %d rows, want %d", rows, len(roundTripDocs))
					}
					// A JSON null in a VARIANT column may load as SQL NULL in
					// two cases, both explained at variantNullAsSQLNull.
					lenient := format != stagefile.CSV || mode != "declared"
					compareTable(t, db, tb, roundTripDocs, lenient)
				})
			}
		}
	}
}

// writeAll flattens docs and writes them with o.
func writeAll(t *testing.T, o stagefile.WriterOptions, docs []string) []stagefile.File {
	t.Helper()
	fl, err := flatten.New(flatten.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := stagefile.NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	var fields []flatten.Field
	for i, d := range docs {
		if fields, err = fl.Append(fields[:0], []byte(d)); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(int64(i+1), fields); err != nil {
			t.Fatalf("Write record %d: %v", i+1, err)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// copyFile PUTs f into the table stage of table and COPYs it with the
// options the file states, checking COPY's per-file result.
func copyFile(t *testing.T, db *sql.DB, table string, f stagefile.File) {
	t.Helper()
	put := fmt.Sprintf("PUT 'file://%s' @%%%s AUTO_COMPRESS = FALSE", f.Path, table)
	if _, err := db.Exec(put); err != nil {
		t.Fatalf("%s: %v", put, err)
	}
	q := fmt.Sprintf("COPY INTO %s FROM @%%%s FILES = ('%s') FILE_FORMAT = (%s) %s", table, table, f.Name, f.FileFormat(), f.CopyOptions())
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		n++
		res := map[string]string{}
		for i, c := range cols {
			res[strings.ToLower(c)] = vals[i].String
		}
		if res["status"] != "LOADED" || res["rows_loaded"] != strconv.FormatInt(f.Rows, 10) {
			t.Errorf("COPY %s: %v (file holds %d rows)", f.Name, res, f.Rows)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("COPY %s: %d result rows, want 1", f.Name, n)
	}
}

// compareTable selects every cell of table and compares it with what the
// input records say it must be.
func compareTable(t *testing.T, db *sql.DB, tb schema.Table, docs []string, lenient bool) {
	t.Helper()
	fl, _ := flatten.New(flatten.Options{})
	var sel strings.Builder
	sel.WriteString("SELECT ")
	for i, c := range tb.Columns {
		if i > 0 {
			sel.WriteString(", ")
		}
		sel.Write(schema.QuoteIdent(nil, c.Name))
	}
	idCol, _ := tb.Column("id")
	fmt.Fprintf(&sel, " FROM %s ORDER BY %s", schema.QuoteIdent(nil, tb.Name), schema.QuoteIdent(nil, idCol.Name))
	rows, err := db.Query(sel.String())
	if err != nil {
		t.Fatalf("%s: %v", sel.String(), err)
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
		if r >= len(docs) {
			continue
		}
		fields, err := fl.Append(nil, []byte(docs[r]))
		if err != nil {
			t.Fatal(err)
		}
		byPath := map[string]flatten.Field{}
		for _, f := range fields {
			byPath[string(f.Path)] = f
		}
		for i, c := range tb.Columns {
			f, present := byPath[c.Path]
			if msg := cellMismatch(c, f, present, got[i], lenient); msg != "" {
				t.Errorf("row %d column %s (%s, path %q): %s", r+1, c.Name, c.Type, c.Path, msg)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if r != len(docs) {
		t.Errorf("table %s has %d rows, want %d", tb.Name, r, len(docs))
	}
}

// cellMismatch describes how got differs from what field f (absent if not
// present) must load as into column c, or returns "".
func cellMismatch(c schema.Column, f flatten.Field, present bool, got sql.NullString, lenient bool) string {
	if !present {
		if got.Valid {
			return fmt.Sprintf("missing key loaded as %q, want SQL NULL", got.String)
		}
		return ""
	}
	if f.Kind == flatten.Null {
		if c.KeepsJSONNull() {
			if !got.Valid && lenient {
				return "" // see variantNullAsSQLNull
			}
			if !got.Valid || got.String != "null" {
				return fmt.Sprintf("JSON null loaded as %v, want VARIANT null", got)
			}
			return ""
		}
		if got.Valid {
			return fmt.Sprintf("JSON null loaded as %q, want SQL NULL", got.String)
		}
		return ""
	}
	if !got.Valid {
		return fmt.Sprintf("%s %q loaded as SQL NULL", f.Kind, f.Value)
	}
	switch c.Type.Kind {
	case schema.Number:
		if want := decimalText(string(f.Value), c.Type.Scale); got.String != want {
			return fmt.Sprintf("got %q, want %q (from %s)", got.String, want, f.Value)
		}
	case schema.Float:
		a, err1 := strconv.ParseFloat(got.String, 64)
		b, err2 := strconv.ParseFloat(string(f.Value), 64)
		if err1 != nil || err2 != nil || a != b {
			return fmt.Sprintf("got %q, want %s", got.String, f.Value)
		}
	case schema.Boolean:
		g := got.String == "true" || got.String == "1"
		if g != (string(f.Value) == "true") || got.String != "true" && got.String != "false" && got.String != "1" && got.String != "0" {
			return fmt.Sprintf("got %q, want %s", got.String, f.Value)
		}
	case schema.Varchar:
		if got.String != string(f.Value) {
			return fmt.Sprintf("got %q, want %q", got.String, f.Value)
		}
	default: // VARIANT, OBJECT, ARRAY: same JSON
		want := string(f.Value)
		if f.Kind == flatten.String {
			b, _ := json.Marshal(string(f.Value))
			want = string(b)
		}
		if !sameJSON(got.String, want) {
			return fmt.Sprintf("got %s, want %s", got.String, want)
		}
	}
	return ""
}

// decimalText is literal as a NUMBER(p,scale) prints: no sign on zero,
// exactly scale fraction digits.
func decimalText(literal string, scale int) string {
	r, ok := new(big.Rat).SetString(literal)
	if !ok {
		return "not a number: " + literal
	}
	return r.FloatString(scale)
}

func sameJSON(a, b string) bool {
	var x, y any
	da := json.NewDecoder(strings.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(strings.NewReader(b))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// variantNullAsSQLNull documents the two cases where a JSON null meant for
// a VARIANT column loads as SQL NULL, which compareTable accepts when told
// to be lenient (everywhere else it must be a VARIANT null):
//   - the emulator's MATCH_BY_COLUMN_NAME for JSON and Parquet turns a
//     JSON null into SQL NULL (snowflaketest's jsonCell), where schema
//     documents a VARIANT null (Column.KeepsJSONNull); the files hold the
//     JSON null (TestNDJSONValues, TestParquetValues check that), and CSV
//     files of declared columns load it as VARIANT null here;
//   - a CSV or Parquet writer that was not given the table's columns
//     writes SQL NULL for a column it has only seen null, since it cannot
//     know the column's final type (text 'null' would be wrong in VARCHAR).
const variantNullAsSQLNull = true

// TestWritersCSVPositional loads CSV files written with the table's
// columns by position (SKIP_HEADER = 1 instead of PARSE_HEADER, which the
// emulator lacks so far), with the options of File.FileFormat that keep
// NULL apart from ” and keep quotes, commas, newlines and backslashes.
func TestWritersCSVPositional(t *testing.T) {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	fl, _ := flatten.New(flatten.Options{})
	in, _ := schema.NewInferrer(schema.InferOptions{})
	for _, d := range roundTripDocs {
		fields, err := fl.Append(nil, []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		in.Observe(fields)
	}
	tables, err := in.Tables("CSVPOS")
	if err != nil {
		t.Fatal(err)
	}
	tb := tables[0]
	if _, err := db.Exec(schema.CreateTable(tb, schema.DDLOptions{NoComments: true})); err != nil {
		t.Fatal(err)
	}
	for _, comp := range []stagefile.Compression{stagefile.Gzip, stagefile.Zstd, stagefile.Uncompressed} {
		files := writeAll(t, stagefile.WriterOptions{Dir: t.TempDir(), Table: tb.Name, Format: stagefile.CSV, Compression: comp, Columns: tb.Columns}, roundTripDocs)
		if _, err := db.Exec("DELETE FROM CSVPOS"); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			var names []string
			for _, c := range tb.Columns {
				names = append(names, c.Name)
			}
			if strings.Join(f.Columns, ",") != strings.Join(names, ",") {
				t.Fatalf("file columns %v, table %v", f.Columns, names)
			}
			if _, err := db.Exec(fmt.Sprintf("PUT 'file://%s' @%%CSVPOS AUTO_COMPRESS = FALSE", f.Path)); err != nil {
				t.Fatal(err)
			}
			ff := strings.Replace(f.FileFormat(), "PARSE_HEADER = TRUE", "SKIP_HEADER = 1", 1)
			ff = strings.Replace(ff, " ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE", "", 1)
			q := fmt.Sprintf("COPY INTO CSVPOS FROM @%%CSVPOS FILES = ('%s') FILE_FORMAT = (%s)", f.Name, ff)
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		compareTable(t, db, tb, roundTripDocs, false)
	}
}
