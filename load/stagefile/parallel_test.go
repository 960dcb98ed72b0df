package stagefile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// TestParallel: two workers write every good record exactly once, rows in
// input order inside each file, bad records rejected with their numbers.
func TestParallel(t *testing.T) {
	var rejected []int64
	p, err := NewParallel(ParallelOptions{
		Writer:       WriterOptions{Dir: t.TempDir(), Table: "T", Compression: Zstd, MaxRows: 700},
		Workers:      2,
		BatchRecords: 100,
		Reject:       func(e *RecordError) { rejected = append(rejected, e.Record) },
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := int64(1); i <= n; i++ {
		doc := fmt.Sprintf(`{"n":%d,"k%d":"v"}`, i, i%7) // keys come and go
		if i%1000 == 0 {
			doc = `{"n":` // invalid
		}
		src := "a"
		if i > n/2 {
			src = "b"
		}
		if err := p.Add(src, i, []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := p.Close()
	if err != nil {
		t.Fatal(err)
	}
	var seen []int64
	for _, f := range files {
		var prev int64
		sc := bufio.NewScanner(bytes.NewReader(content(t, f)))
		var rows int64
		for sc.Scan() {
			var m struct{ N int64 }
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			v := m.N
			if v <= prev {
				t.Errorf("%s: row %d after %d", f.Name, v, prev)
			}
			if v < f.FirstRecord || v > f.LastRecord {
				t.Errorf("%s: record %d outside %d-%d", f.Name, v, f.FirstRecord, f.LastRecord)
			}
			prev = v
			rows++
			seen = append(seen, v)
		}
		if rows != f.Rows {
			t.Errorf("%s: %d rows, File.Rows %d", f.Name, rows, f.Rows)
		}
	}
	slices.Sort(seen)
	if len(seen) != n-5 || seen[0] != 1 || seen[len(seen)-1] != n-1 {
		t.Errorf("%d distinct rows (first %d, last %d), want %d", len(seen), seen[0], seen[len(seen)-1], n-5)
	}
	if len(slices.Compact(seen)) != n-5 {
		t.Error("a record was written twice")
	}
	slices.Sort(rejected)
	if !slices.Equal(rejected, []int64{1000, 2000, 3000, 4000, 5000}) {
		t.Errorf("rejected %v", rejected)
	}
}

func TestParallelOptions(t *testing.T) {
	if _, err := NewParallel(ParallelOptions{Writer: WriterOptions{Table: "T"}, Flatten: flatten.Options{Arrays: flatten.ArraysTables}}); err == nil {
		t.Error("no directory accepted")
	}
	if _, err := NewParallel(ParallelOptions{Writer: WriterOptions{Dir: t.TempDir(), Table: "T"}, Workers: -1}); err == nil {
		t.Error("negative workers accepted")
	}
}

// TestParallelBatchBytes: a batch ends before the record that would take
// it past BatchBytes, a larger record is a batch of its own, and batches
// go round robin, so each worker's file holds its batches' rows in order.
func TestParallelBatchBytes(t *testing.T) {
	if _, err := NewParallel(ParallelOptions{Writer: WriterOptions{Dir: t.TempDir(), Table: "T"}, BatchBytes: -1}); err == nil {
		t.Error("negative BatchBytes accepted")
	}
	p, err := NewParallel(ParallelOptions{
		Writer:     WriterOptions{Dir: t.TempDir(), Table: "T", Compression: Uncompressed},
		Workers:    2,
		BatchBytes: 16, // two records of 8 bytes
	})
	if err != nil {
		t.Fatal(err)
	}
	for n := 10; n <= 21; n++ {
		doc := fmt.Sprintf(`{"n":%d}`, n)
		if n == 14 {
			doc = fmt.Sprintf(`{"n":%d,"pad":"longer than a batch"}`, n)
		}
		if err := p.Add("in", int64(n), []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := p.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		var ns []string
		sc := bufio.NewScanner(bytes.NewReader(content(t, f)))
		for sc.Scan() {
			var m struct{ N json.Number }
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			ns = append(ns, string(m.N))
		}
		got = append(got, strings.Join(ns, ","))
	}
	// Batches: 10-11 12-13 14 15-16 17-18 19-20 21, dealt to w1, w2, w1, ...
	want := []string{"10,11,14,17,18,21", "12,13,15,16,19,20"}
	if !slices.Equal(got, want) {
		t.Errorf("rows per file %q, want %q", got, want)
	}
}

// TestParallelTables: ArraysTables documents give one file set per table.
func TestParallelTables(t *testing.T) {
	p, err := NewParallel(ParallelOptions{
		Writer:  WriterOptions{Dir: t.TempDir(), Table: "ORDERS", Format: CSV},
		Flatten: flatten.Options{Arrays: flatten.ArraysTables},
		Workers: 2, BatchRecords: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{`{"o":1,"items":[{"sku":"a"},{"sku":"b"}]}`, `{"o":2,"items":[{"sku":"c"}]}`} {
		if err := p.Add("in", int64(i+1), []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := p.Close()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, f := range files {
		rows[f.Table] += f.Rows
		if f.Table == "ORDERS__ITEMS" && strings.Join(f.Columns, ",") != "_ID,_PARENT_ID,_INDEX,SKU" {
			t.Errorf("child columns %v", f.Columns)
		}
	}
	if rows["ORDERS"] != 2 || rows["ORDERS__ITEMS"] != 3 || len(rows) != 2 {
		t.Errorf("rows per table %v, want ORDERS 2, ORDERS__ITEMS 3", rows)
	}
}

// TestParallelNamesUnique: records with equal numbers and content (numbered
// 0, or replayed duplicates) written by two workers without declared
// columns, one row per file, give as many files as rows, each under its own
// name and on disk, and the same names when written again.
func TestParallelNamesUnique(t *testing.T) {
	write := func() []File {
		p, err := NewParallel(ParallelOptions{
			Writer:       WriterOptions{Dir: t.TempDir(), Table: "T", Format: CSV, MaxRows: 1, DiscoverRows: -1},
			Workers:      2,
			BatchRecords: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 6 {
			if err := p.Add("same", 0, []byte(`{"a":1}`)); err != nil {
				t.Fatal(err)
			}
		}
		files, err := p.Close()
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	files := write()
	names := map[string]bool{}
	for _, f := range files {
		if names[f.Name] {
			t.Errorf("two files named %s", f.Name)
		}
		names[f.Name] = true
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("file %s: %v", f.Name, err)
		}
	}
	if len(files) != 6 {
		t.Fatalf("%d files, want 6", len(files))
	}
	var again []string
	for _, f := range write() {
		again = append(again, f.Name)
	}
	var first []string
	for _, f := range files {
		first = append(first, f.Name)
	}
	if !slices.Equal(first, again) {
		t.Errorf("names differ between two runs:\n%v\n%v", first, again)
	}
	// One Writer alone: the same record number and content twice.
	w, err := NewWriter(WriterOptions{Dir: t.TempDir(), Table: "T", MaxRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	fields := []flatten.Field{{Path: []byte("a"), Value: []byte("1"), Kind: flatten.Number}}
	for range 3 {
		if err := w.Write(7, fields); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[0].Name == fs[1].Name || fs[1].Name == fs[2].Name || fs[0].SHA256 != fs[2].SHA256 ||
		!strings.HasSuffix(fs[1].Name, "_2.ndjson.gz") || !strings.HasSuffix(fs[2].Name, "_3.ndjson.gz") {
		t.Errorf("files %v, want 3 equal contents under 3 names (_2, _3)", fs)
	}
}

// TestParallelCloseError: each worker closes its own Writer when its input
// ends; an error there comes back from Close, and Close still waits for
// every worker.
func TestParallelCloseError(t *testing.T) {
	dir := t.TempDir()
	p, err := NewParallel(ParallelOptions{Writer: WriterOptions{Dir: dir, Table: "T"}, Workers: 2, BatchRecords: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 100; i++ {
		if err := p.Add("a", i, []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	files, err := p.Close()
	if err == nil {
		t.Fatalf("Close gave %d files and no error after its directory was removed", len(files))
	}
	t.Log(err)
}
