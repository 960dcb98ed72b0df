package loadtest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// emulator starts an emulator and returns it with a *sql.DB through the real
// gosnowflake driver, both closed when the test ends.
func emulator(t testing.TB, o snowflaketest.Options) (*snowflaketest.Server, *sql.DB) {
	t.Helper()
	t.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	srv, err := snowflaketest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	db := srv.OpenDB()
	t.Cleanup(func() { _ = db.Close() })
	return srv, db
}

// batch is a set of staged files written by hand (gzip NDJSON keyed by
// column name) from flat JSON records, with the table inferred from them.
type batch struct {
	table schema.Table
	files []stagefile.File
	recs  []map[string]any // the records, keyed by column name
}

// makeBatch infers a table from records, splits them into nfiles files in
// dir named prefix_N_<hash>.ndjson.gz.
func makeBatch(t testing.TB, dir, prefix string, nfiles int, records []string) batch {
	t.Helper()
	fl, err := flatten.New(flatten.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := schema.NewInferrer(schema.InferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var fields []flatten.Field
	for _, r := range records {
		if fields, err = fl.Append(fields[:0], []byte(r)); err != nil {
			t.Fatalf("flatten %s: %v", r, err)
		}
		in.Observe(fields)
	}
	tables, err := in.Tables("T")
	if err != nil {
		t.Fatal(err)
	}
	b := batch{table: tables[0]}
	for _, r := range records {
		dec := json.NewDecoder(strings.NewReader(r))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out := map[string]any{}
		for k, v := range m {
			c, ok := b.table.Column(k)
			if !ok {
				t.Fatalf("no column for %s", k)
			}
			out[c.Name] = v
		}
		b.recs = append(b.recs, out)
	}
	per := (len(records) + nfiles - 1) / nfiles
	for i := 0; i < nfiles; i++ {
		lo, hi := i*per, min((i+1)*per, len(records))
		if lo >= hi {
			break
		}
		b.files = append(b.files, writeNDJSON(t, dir, fmt.Sprintf("%s_%04d", prefix, i), b.table, b.recs[lo:hi], int64(lo+1), int64(hi)))
	}
	return b
}

// writeNDJSON writes recs as a gzip NDJSON staged file.
func writeNDJSON(t testing.TB, dir, stem string, tab schema.Table, recs []map[string]any, first, last int64) stagefile.File {
	t.Helper()
	var raw bytes.Buffer
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		raw.Write(line)
		raw.WriteByte('\n')
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	sum := sha256.Sum256(gz.Bytes())
	hexsum := hex.EncodeToString(sum[:])
	name := stem + "_" + hexsum[:12] + ".ndjson.gz"
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cols := make([]string, 0, len(tab.Columns))
	for _, c := range tab.Columns {
		cols = append(cols, c.Name)
	}
	return stagefile.File{Path: p, Name: name, Table: "T", Format: stagefile.NDJSON, Compression: stagefile.Gzip, Columns: cols,
		Rows: int64(len(recs)), Source: "test", FirstRecord: first, LastRecord: last,
		Size: int64(gz.Len()), RawSize: int64(raw.Len()), SHA256: hexsum}
}

// cell renders a record's value as the driver returns it ("" and false for
// SQL NULL).
func cell(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case json.Number:
		return x.String(), true
	case string:
		return x, true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}

// rowsOf renders records as sorted lines of "COL=value|…" over cols.
func rowsOf(recs []map[string]any, cols []string) []string {
	var out []string
	for _, r := range recs {
		var b strings.Builder
		for _, c := range cols {
			v, ok := cell(r[c])
			if !ok {
				v = "NULL"
			}
			fmt.Fprintf(&b, "%s=%s|", c, v)
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out
}

// tableRows reads table's rows over cols, rendered like rowsOf.
func tableRows(t testing.TB, db *sql.DB, table string, cols []string) []string {
	t.Helper()
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + c + `"`
	}
	rows, err := db.QueryContext(context.Background(), "SELECT "+strings.Join(q, ", ")+" FROM "+table)
	if err != nil {
		t.Fatalf("SELECT FROM %s: %v", table, err)
	}
	defer rows.Close()
	var out []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, c := range cols {
			v := "NULL"
			if vals[i].Valid {
				v = vals[i].String
			}
			fmt.Fprintf(&b, "%s=%s|", c, v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// sameRows fails the test unless got equals want, line for line.
func sameRows(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
		for i := 0; i < max(len(got), len(want)) && i < 20; i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("  row %d: got %q\n           want %q", i, g, w)
			}
		}
	}
}

func colNames(tab schema.Table) []string {
	var out []string
	for _, c := range tab.Columns {
		out = append(out, c.Name)
	}
	return out
}

// records makes n flat records with an id, a name and an amount.
func records(from, n int, extra string) []string {
	out := make([]string, n)
	for i := range out {
		id := from + i
		out[i] = fmt.Sprintf(`{"id":%d,"name":"user \"%d\", née\n%d","amount":%d.%02d%s}`, id, id, id, id*3, id%100, extra)
	}
	return out
}

// deadLetters collects rejected rows.
type deadLetters struct {
	mu   sync.Mutex
	rows []load.RejectedRow
}

func (d *deadLetters) RejectedRow(_ context.Context, r load.RejectedRow) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rows = append(d.rows, r)
	return nil
}

// events collects progress events.
type events struct {
	mu sync.Mutex
	ev []load.Event
}

func (e *events) Progress(ev load.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *events) count(s load.Step) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.ev {
		if ev.Step == s {
			n++
		}
	}
	return n
}

// newLoader is load.New for tests.
func newLoader(t testing.TB, db load.DB, o load.LoaderOptions) *load.Loader {
	t.Helper()
	l, err := load.NewLoader(db, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
