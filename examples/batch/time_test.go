package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// columnTypes returns the data type of each column of table, as
// INFORMATION_SCHEMA.COLUMNS has it.
func columnTypes(t *testing.T, db *sql.DB, table string) map[string]string {
	t.Helper()
	rows, err := db.Query("SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = '" + table + "'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		out[name] = typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// timeOrders makes n order records (ids from first) with a TIMESTAMP_TZ
// path in several offsets and fractions, a DATE path, a TIMESTAMP_NTZ path
// and a path whose values are times but one, which is text (at record
// mixedAt, 0 for none); bad maps a record's index to the placed_at value
// (raw JSON) it gets instead.
func timeOrders(first, n, mixedAt int, bad map[int]string) []byte {
	offsets := []string{"Z", "+05:30", "-08:00", "+01:00", "-03:30", "+14:00"}
	fracs := []string{"", ".5", ".123", ".123456", ".950"}
	var b bytes.Buffer
	for i := range n {
		placed := fmt.Sprintf(`"2026-%02d-%02dT%02d:%02d:%02d%s%s"`, 1+i%12, 1+i%28, i%24, i%60, (i*7)%60, fracs[i%len(fracs)], offsets[i%len(offsets)])
		if v, ok := bad[i]; ok {
			placed = v
		}
		mixed := fmt.Sprintf(`"2026-02-%02dT08:00:00Z"`, 1+i%28)
		if i+1 == mixedAt {
			mixed = `"around eight"`
		}
		fmt.Fprintf(&b, `{"id":%d,"placed_at":%s,"due":"2026-03-%02d","local":"2026-01-%02dT%02d:30:00.25","mixed":%s,"note":"n%d"}`+"\n",
			first+i, placed, 1+i%28, 1+i%28, i%24, mixed, i)
	}
	return b.Bytes()
}

// TestTimeColumns: with -detect-time (the default) columns of ISO-8601
// strings become TIMESTAMP_TZ, DATE and TIMESTAMP_NTZ, each cell the
// input's instant in its offset (TIMESTAMP_TZ), wall clock (NTZ) or date;
// a column with text among the first records of its chunk is VARCHAR, its
// text exact; a later value that is not a time, in a column typed from the
// chunk's first records or by the table, is dead-lettered (reason value,
// its line, the record byte for byte), and nothing else is lost. A table
// whose time columns an earlier run made VARCHAR (-detect-time=false)
// keeps them, and a run with detection loads into it, the text exact.
func TestTimeColumns(t *testing.T) {
	te := newTestEnv(t)

	in, dead := t.TempDir(), t.TempDir()
	// a-: the first chunk (past the look-ahead of 1,000 records): a text
	// at record 1,060 in the TIMESTAMP_TZ column typed from the first
	// 1,000, and a text in "mixed" at record 10 (within them: VARCHAR).
	// b-: a later object (the table has the column): a text and a number.
	inputs := map[string][]byte{
		"a-orders.ndjson": timeOrders(1, 1100, 10, map[int]string{1059: `"not yet"`}),
		"b-orders.ndjson": timeOrders(5001, 30, 0, map[int]string{6: `"soon"`, 8: `12345`}),
	}
	badLines := map[string]map[int64]bool{"a-orders.ndjson": {1060: true}, "b-orders.ndjson": {7: true, 9: true}}
	for name, b := range inputs {
		if err := os.WriteFile(filepath.Join(in, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out := te.runJob(t, "-table", "typed", "-dead-letter", dead, in)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (three records dead-lettered)\n%s", code, out)
	}
	// The report's first rows print each as its type holds it: the
	// instant in its offset, the date, the wall clock (record 2's values).
	if !strings.Contains(out, "  2026-02-02T01:01:07.5+05:30  ") || !strings.Contains(out, "  2026-03-02  ") || !strings.Contains(out, "  2026-01-02T01:30:00.25  ") {
		t.Errorf("the report's first rows do not show record 2's times as written:\n%s", out)
	}
	types := columnTypes(t, te.db, "TYPED")
	for col, want := range map[string]string{"PLACED_AT": "TIMESTAMP_TZ", "DUE": "DATE", "LOCAL": "TIMESTAMP_NTZ", "MIXED": "TEXT", "NOTE": "TEXT"} {
		if types[col] != want {
			t.Errorf("column %s is %s, want %s (all: %v)", col, types[col], want, types)
		}
	}
	if len(types) != 6 {
		t.Errorf("columns %v: want ID and five more, no fallback column", types)
	}
	checkTable(t, te.db, `"TYPED"`, expect(t, withoutLines(inputs, badLines)))
	dls := readDeadLetterDir(t, dead)
	if len(dls) != 3 {
		t.Errorf("%d dead letters, want 3", len(dls))
	}
	for _, d := range dls {
		name := filepath.Base(d.Object)
		lines := bytes.Split(inputs[name], []byte("\n"))
		if !badLines[name][d.Line] || d.Reason != "value" || int(d.Line) > len(lines) || !bytes.Equal(lines[d.Line-1], d.Record) ||
			!strings.Contains(d.Error, `field "placed_at"`) || !strings.Contains(d.Error, "TIMESTAMP_TZ") {
			t.Errorf("dead letter %s line %d (%s: %s): want one of the bad lines, reason value, naming the field and the type; record %q", d.Object, d.Line, d.Reason, d.Error, d.Record)
		}
	}

	// A table made before detection: its columns are VARCHAR, and stay so.
	old := map[string][]byte{"c-old.ndjson": timeOrders(7001, 40, 0, nil)}
	next := map[string][]byte{"d-new.ndjson": timeOrders(8001, 40, 0, nil)}
	oldDir, nextDir := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(oldDir, "c-old.ndjson"), old["c-old.ndjson"], 0o644)
	os.WriteFile(filepath.Join(nextDir, "d-new.ndjson"), next["d-new.ndjson"], 0o644)
	if code, out := te.runJob(t, "-table", "legacy", "-detect-time=false", oldDir); code != 0 {
		t.Fatalf("without detection: exit %d\n%s", code, out)
	}
	if code, out := te.runJob(t, "-table", "legacy", nextDir); code != 0 {
		t.Fatalf("with detection into the VARCHAR table: exit %d\n%s", code, out)
	}
	types = columnTypes(t, te.db, "LEGACY")
	for _, col := range []string{"PLACED_AT", "DUE", "LOCAL", "MIXED"} {
		if types[col] != "TEXT" {
			t.Errorf("legacy column %s is %s, want it kept TEXT (all: %v)", col, types[col], types)
		}
	}
	if len(types) != 6 {
		t.Errorf("legacy columns %v: want the six of the first run", types)
	}
	checkTable(t, te.db, `"LEGACY"`, expect(t, map[string][]byte{"c": old["c-old.ndjson"], "d": next["d-new.ndjson"]}))

	// Parquet: a timestamp is TIMESTAMP(NANOS), which keeps the instant
	// but not the offset (package stagefile), and holds 1677 to 2262: a
	// later value outside that range is dead-lettered.
	pqDir, pqDead := t.TempDir(), t.TempDir()
	pq := map[string][]byte{
		"f-pq.ndjson": timeOrders(20001, 20, 0, nil),
		"g-pq.ndjson": timeOrders(20101, 10, 0, map[int]string{3: `"2300-01-01T00:00:00Z"`}),
	}
	for name, b := range pq {
		os.WriteFile(filepath.Join(pqDir, name), b, 0o644)
	}
	if code, out := te.runJob(t, "-table", "pq", "-format", "parquet", "-dead-letter", pqDead, pqDir); code != 2 {
		t.Fatalf("parquet: exit %d, want 2\n%s", code, out)
	}
	if types := columnTypes(t, te.db, "PQ"); types["PLACED_AT"] != "TIMESTAMP_TZ" || types["DUE"] != "DATE" || types["LOCAL"] != "TIMESTAMP_NTZ" {
		t.Errorf("parquet columns %v: want PLACED_AT TIMESTAMP_TZ, DUE DATE, LOCAL TIMESTAMP_NTZ", types)
	}
	if dls := readDeadLetterDir(t, pqDead); len(dls) != 1 || dls[0].Line != 4 || dls[0].Reason != "value" || filepath.Base(dls[0].Object) != "g-pq.ndjson" {
		t.Errorf("parquet dead letters %+v, want g-pq.ndjson line 4 (year 2300)", dls)
	}
	want := expect(t, withoutLines(pq, map[string]map[int64]bool{"g-pq.ndjson": {4: true}}))
	rows, err := te.db.Query(`SELECT ID, PLACED_AT FROM "PQ"`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		n++
		if w, _ := parseInputTime(want.rows[id]["PLACED_AT"].value); !at.Equal(w) {
			t.Errorf("parquet id %s PLACED_AT = %s, want the instant %s", id, at.Format(time.RFC3339Nano), want.rows[id]["PLACED_AT"].value)
		}
	}
	rows.Close()
	if n != len(want.rows) {
		t.Errorf("parquet table has %d rows, want %d", n, len(want.rows))
	}

	// A chunk loaded before the change and redone after it: a run with
	// -detect-time=false is killed after its first chunk's load, before
	// its checkpoint; the rerun with detection redoes that chunk, whose
	// staged files are the same (COPY skips them), and loads the rest into
	// the VARCHAR columns: every record once, text exact.
	redoDir, cp := t.TempDir(), t.TempDir()
	redo := map[string][]byte{"e-redo.ndjson": timeOrders(9001, 90, 0, nil)}
	os.WriteFile(filepath.Join(redoDir, "e-redo.ndjson"), redo["e-redo.ndjson"], 0o644)
	base := []string{"-table", "redo", "-chunk-records", "40", "-checkpoint", cp, redoDir}
	cmd, killed := te.startJob(t, "loaded:1", append([]string{"-detect-time=false"}, base...)...)
	if code := waitExit(t, cmd); code != -1 {
		t.Fatalf("exit %d, want killed after the first chunk's load\n%s", code, killed)
	}
	code, out = te.runJob(t, append([]string{"-log-format", "json", "-show-rows", "0"}, base...)...)
	if code != 0 {
		t.Fatalf("rerun with detection: exit %d\n%s", code, out)
	}
	if sm := jobReport(t, out); sm.AlreadyLoaded != 40 || sm.RecordsLoaded != 50 {
		t.Errorf("rerun: %d already loaded, %d loaded; want the redone chunk's 40 skipped and 50 loaded", sm.AlreadyLoaded, sm.RecordsLoaded)
	}
	if types := columnTypes(t, te.db, "REDO"); types["PLACED_AT"] != "TEXT" || types["DUE"] != "TEXT" {
		t.Errorf("redo columns %v: want PLACED_AT and DUE kept TEXT", types)
	}
	checkTable(t, te.db, `"REDO"`, expect(t, redo))
}
