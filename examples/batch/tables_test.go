package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/schema"
)

// tablesWant is what -arrays tables must load: per table, per logical row
// key, column → cell. A row's logical key does not depend on the job's row
// IDs: the root row of a record is "ID=<its id field>", a child row is its
// parent's key, "/", its table path and "[index]", so the comparison also
// checks that every _PARENT_ID points at the right row.
type tablesWant struct {
	root   string
	tables map[string]map[string]map[string]cell
	paths  map[string]string // table name → table path ("" for the root)
	bad    int
}

// expectTables flattens the good records of the inputs into rows as
// -arrays tables must (same limits).
func expectTables(t *testing.T, root string, inputs map[string][]byte) tablesWant {
	t.Helper()
	f, err := flatten.New(flatten.Options{Separator: ".", Arrays: flatten.ArraysTables})
	if err != nil {
		t.Fatal(err)
	}
	w := tablesWant{root: root, tables: map[string]map[string]map[string]cell{}, paths: map[string]string{root: ""}}
	for _, data := range inputs {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if schema.Depth(line) > 64 {
				w.bad++
				continue
			}
			rows, err := f.AppendRows(nil, line)
			if err != nil {
				w.bad++
				continue
			}
			logical := map[uint64]string{}
			for _, r := range rows {
				row := map[string]cell{}
				for _, fl := range r.Fields {
					row[string(schema.Normalize(nil, string(fl.Path), schema.NameOptions{}))] = cell{fl.Kind, string(fl.Value)}
				}
				name, key := root, ""
				if len(r.Table) == 0 {
					key = "ID=" + row["ID"].value
				} else {
					name = root + "__" + string(schema.Normalize(nil, string(r.Table), schema.NameOptions{}))
					key = fmt.Sprintf("%s/%s[%d]", logical[r.ParentID], r.Table, r.Index)
					w.paths[name] = string(r.Table)
				}
				logical[r.ID] = key
				if w.tables[name] == nil {
					w.tables[name] = map[string]map[string]cell{}
				}
				if _, dup := w.tables[name][key]; dup {
					t.Fatalf("test data: duplicate row %s in %s", key, name)
				}
				w.tables[name][key] = row
			}
		}
	}
	return w
}

// checkTables compares the root and child tables with want cell for cell:
// every row exactly once, its parent the right row, every column of it
// with its value, every other column NULL.
func checkTables(t *testing.T, db *sql.DB, want tablesWant) {
	t.Helper()
	names := make([]string, 0, len(want.tables))
	for n := range want.tables {
		names = append(names, n)
	}
	// Parents before children: a parent's name is a prefix of its child's.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) < len(names[j]) })
	logical := map[string]string{} // _ID → logical key
	diffs, cells, rowsSeen := 0, 0, 0
	for _, name := range names {
		rows, err := db.Query("SELECT * FROM " + string(schema.QuoteIdent(nil, name)))
		if err != nil {
			t.Fatalf("SELECT * FROM %s: %v", name, err)
		}
		cols, _ := rows.Columns()
		got := map[string][]map[string]sql.NullString{}
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
			m := map[string]sql.NullString{}
			for i, c := range cols {
				m[c] = vals[i]
			}
			var key string
			if name == want.root {
				key = "ID=" + m["ID"].String
			} else {
				parent, ok := logical[m[schema.ParentIDColumn].String]
				if !ok {
					t.Errorf("%s row _ID %s: _PARENT_ID %s is no row of a parent table", name, m[schema.IDColumn].String, m[schema.ParentIDColumn].String)
					diffs++
					continue
				}
				key = parent + "/" + want.paths[name] + "[" + m[schema.IndexColumn].String + "]"
			}
			if !m[schema.IDColumn].Valid {
				t.Errorf("%s row %s has no _ID", name, key)
			}
			logical[m[schema.IDColumn].String] = key
			got[key] = append(got[key], m)
			n++
		}
		rows.Close()
		rowsSeen += n
		exp := want.tables[name]
		if n != len(exp) {
			t.Errorf("table %s has %d rows, want %d", name, n, len(exp))
		}
		for key, wrow := range exp {
			rs := got[key]
			if len(rs) != 1 {
				t.Errorf("%s row %s: %d rows, want exactly 1", name, key, len(rs))
				diffs++
				continue
			}
			for col, v := range rs[0] {
				if col == schema.IDColumn || col == schema.ParentIDColumn || col == schema.IndexColumn {
					continue
				}
				wc, ok := wrow[col]
				if !ok || wc.kind == flatten.Null {
					if v.Valid {
						t.Errorf("%s row %s column %s = %q, want NULL", name, key, col, v.String)
						diffs++
					}
					continue
				}
				cells++
				if !v.Valid || !sameCell(wc, v.String) {
					t.Errorf("%s row %s column %s = %q (valid %v), want %q", name, key, col, v.String, v.Valid, wc.value)
					diffs++
				}
			}
			for col := range wrow {
				if _, ok := rs[0][col]; !ok {
					t.Errorf("%s: column %s missing", name, col)
					diffs++
				}
			}
			if diffs > 20 {
				t.Fatal("too many differences")
			}
		}
		for key := range got {
			if _, ok := exp[key]; !ok {
				t.Errorf("table %s holds row %s, which no good record has", name, key)
			}
		}
	}
	t.Logf("tables %v: %d rows, %d non-null cells compared", names, rowsSeen, cells)
}

// linesOf returns the records of an NDJSON input by line number.
func linesOf(b []byte) map[int64][]byte {
	out := map[int64][]byte{}
	for i, l := range bytes.Split(b, []byte("\n")) {
		out[int64(i+1)] = l
	}
	return out
}

// withoutLines returns inputs without the given lines (by input name and
// line number), for records dead-lettered after staging.
func withoutLines(inputs map[string][]byte, drop map[string]map[int64]bool) map[string][]byte {
	out := map[string][]byte{}
	for name, b := range inputs {
		var kept [][]byte
		for i, l := range bytes.Split(b, []byte("\n")) {
			if !drop[name][int64(i+1)] {
				kept = append(kept, l)
			}
		}
		out[name] = bytes.Join(kept, []byte("\n"))
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestArraysTables loads an S3 prefix with -arrays tables: the orders'
// items become the child table EVENTS__ITEMS with _ID, _PARENT_ID and
// _INDEX; root and child tables are compared cell for cell with the input,
// the dead letters hold each bad record once, and a rerun loads nothing
// again.
func TestArraysTables(t *testing.T) {
	te := newTestEnv(t)
	files := sampleFiles()
	for name, b := range files {
		te.putObject(t, "in/"+name, gzipBytes(t, b))
	}
	args := []string{"-table", "events", "-arrays", "tables", "-chunk-records", "700", "-format", "parquet",
		"-checkpoint", "s3://" + testBucket + "/cp/", "-dead-letter", "s3://" + testBucket + "/dead/", "s3://" + testBucket + "/in/"}
	code, out := te.runJob(t, args...)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	want := expectTables(t, "EVENTS", files)
	if len(want.tables) != 2 || len(want.tables["EVENTS__ITEMS"]) == 0 {
		t.Fatalf("test data: tables %v, want EVENTS and EVENTS__ITEMS", len(want.tables))
	}
	checkTables(t, te.db, want)
	if !strings.Contains(out, "child table rows   "+strconv.Itoa(len(want.tables["EVENTS__ITEMS"]))) {
		t.Errorf("the report does not count the %d child rows:\n%s", len(want.tables["EVENTS__ITEMS"]), out)
	}
	n := 0
	for _, k := range te.keys(t, "dead/") {
		for _, d := range parseDeadLetters(t, te.getObject(t, k)) {
			name := strings.TrimPrefix(d.Object, "s3://"+testBucket+"/in/")
			if !bytes.Equal(linesOf(files[name])[d.Line], d.Record) {
				t.Errorf("dead letter %s line %d is not that record", d.Object, d.Line)
			}
			n++
		}
	}
	if n != want.bad {
		t.Errorf("%d dead letters, want %d", n, want.bad)
	}
	code, out = te.runJob(t, args...)
	if code != 0 || !strings.Contains(out, "3 already done") {
		t.Errorf("rerun: exit %d, want 0 with every object done\n%s", code, out)
	}
	checkTables(t, te.db, want)

	// Replace swaps the root and the child table in.
	jan := "orders-2026-01.ndjson.gz"
	code, out = te.runJob(t, "-table", "events", "-arrays", "tables", "-disposition", "replace", "-chunk-records", "700",
		"-checkpoint", "s3://"+testBucket+"/cp-replace/", "s3://"+testBucket+"/in/"+jan)
	if code != 2 || !strings.Contains(out, "EVENTS__ITEMS__FLATPIPE_NEXT swapped in for EVENTS__ITEMS") {
		t.Fatalf("replace: exit %d\n%s", code, out)
	}
	checkTables(t, te.db, expectTables(t, "EVENTS", map[string][]byte{jan: files[jan]}))
}

// ordersWithItems generates n orders (ids 1…n, one per line), each with two
// items; the first item of the orders in noSKU has no sku.
func ordersWithItems(n int, noSKU map[int]bool) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		first := fmt.Sprintf(`{"sku":"A-%d","qty":%d}`, i, 1+i%4)
		if noSKU[i] {
			first = fmt.Sprintf(`{"qty":%d}`, 1+i%4)
		}
		fmt.Fprintf(&b, `{"id":%d,"type":"order","customer":{"name":"c%d"},"items":[%s,{"sku":"B-%d","qty":1,"price":%d.25}]}`+"\n", i, i%7, first, i, i%50)
	}
	return b.Bytes()
}

// loadRejects reads the dead letters under dir: those of the load
// (load-failed, load-rejected) by line, checking that each is its input
// line and names table, and how many others there are.
func loadRejects(t *testing.T, dir string, input []byte, table string) (map[int64]string, int) {
	t.Helper()
	lines := linesOf(input)
	out := map[int64]string{}
	others := 0
	for _, d := range readDeadLetterDir(t, dir) {
		if !bytes.Equal(lines[d.Line], d.Record) {
			t.Errorf("dead letter line %d: record %q is not that line", d.Line, d.Record)
		}
		if d.Reason != "load-failed" && d.Reason != "load-rejected" {
			others++
			continue
		}
		if _, dup := out[d.Line]; dup {
			t.Errorf("line %d dead-lettered twice", d.Line)
		}
		out[d.Line] = d.Reason
		if !strings.Contains(d.Error, "table "+table+": ") {
			t.Errorf("dead letter line %d (%s): error %q does not name table %s", d.Line, d.Reason, d.Error, table)
		}
	}
	return out, others
}

// TestArraysTablesRecordWhole: with -arrays tables a record is a root row
// and child rows, loaded table by table. When COPY rejects a child
// table's staged file whole, or one child row (ON_ERROR = CONTINUE, a
// NULL in a NOT NULL column), the records concerned are dead-lettered
// once, with their line, the table and COPY's error, and none of their
// rows stays in any table, also when the run is killed after the chunk's
// load and the rerun redoes the chunk (the failed file then loads, the
// refused rows' file is skipped as loaded): every table compared cell for
// cell with the other records.
func TestArraysTablesRecordWhole(t *testing.T) {
	const n = 200
	for _, c := range []struct {
		name   string
		noSKU  map[int]bool
		reason string
		want   func(line int64) bool // the records rejected
	}{
		// The second staged file COPYs is the first chunk's file of
		// EVENTS__ITEMS (the root table's goes first).
		{"child file fails", nil, "load-failed", func(l int64) bool { return l <= 50 }},
		{"child row refused", map[int]bool{17: true, 90: true, 151: true}, "load-rejected", func(l int64) bool { return l == 17 || l == 90 || l == 151 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			te := newTestEnv(t)
			dir := t.TempDir()
			in := filepath.Join(dir, "in")
			os.Mkdir(in, 0o755)
			input := ordersWithItems(n, c.noSKU)
			if err := os.WriteFile(filepath.Join(in, "orders.ndjson"), input, 0o644); err != nil {
				t.Fatal(err)
			}
			if c.noSKU == nil {
				te.sf.InjectFault(snowflaketest.Fault{FailFile: ".ndjson.gz", Skip: 1})
			} else if _, err := te.db.Exec(`CREATE TABLE EVENTS__ITEMS ("_ID" NUMBER(20,0) NOT NULL, "_PARENT_ID" NUMBER(20,0) NOT NULL, "_INDEX" NUMBER(10,0) NOT NULL, SKU VARCHAR NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			dead := filepath.Join(dir, "dead")
			args := []string{"-table", "events", "-arrays", "tables", "-chunk-records", "50", "-max-reject-rate", "0.5", "-checkpoint", filepath.Join(dir, "cp"),
				"-dead-letter", dead, in}
			want := map[int64]bool{}
			for l := int64(1); l <= n; l++ {
				if c.want(l) {
					want[l] = true
				}
			}
			inputs := map[string][]byte{"orders.ndjson": input}
			whole := expectTables(t, "EVENTS", withoutLines(inputs, map[string]map[int64]bool{"orders.ndjson": want}))

			// Killed after the first chunk's load and dead letters, before
			// its checkpoint: the rejected records of the chunk are in no
			// table already.
			cmd, out := te.startJob(t, "loaded:1", args...)
			if code := waitExit(t, cmd); code != -1 {
				t.Fatalf("exit %d, want killed after the first chunk\n%s", code, out)
			}
			first := map[int64]bool{}
			for l := range want {
				if l <= 50 {
					first[l] = true
				}
			}
			partial := expectTables(t, "EVENTS", withoutLines(map[string][]byte{"orders.ndjson": bytes.Join(bytes.SplitAfter(input, []byte("\n"))[:50], nil)},
				map[string]map[int64]bool{"orders.ndjson": first}))
			checkTables(t, te.db, partial)
			for _, table := range []string{"EVENTS", "EVENTS__ITEMS"} {
				var rows int
				if err := te.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&rows); err != nil {
					t.Fatal(err)
				}
				if rows != len(partial.tables[table]) {
					t.Errorf("after the first chunk %s holds %d rows, want %d", table, rows, len(partial.tables[table]))
				}
			}

			cmd, out = te.startJob(t, "", args...)
			if code := waitExit(t, cmd); code != 2 {
				t.Fatalf("rerun: exit %d, want 2\n%s", code, out)
			}
			checkTables(t, te.db, whole)
			got, others := loadRejects(t, dead, input, "EVENTS__ITEMS")
			if others != 0 {
				t.Errorf("%d other dead letters, want none", others)
			}
			for l := range want {
				if got[l] != c.reason {
					t.Errorf("line %d: dead letter %q, want %s", l, got[l], c.reason)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d records dead-lettered by the load, want %d", len(got), len(want))
			}
			// The rerun found the first chunk's other records loaded.
			if !strings.Contains(out.String(), "records loaded     "+strconv.Itoa(n-len(want)-50+len(first))) ||
				50-len(first) > 0 && !strings.Contains(out.String(), "already loaded     "+strconv.Itoa(50-len(first))+" record(s)") {
				t.Errorf("the rerun's report does not count the %d records it loaded and the %d loaded before\n%s", n-len(want)-50+len(first), 50-len(first), out)
			}
		})
	}
}
