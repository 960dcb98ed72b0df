package flatten_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

var tables = flatten.Options{Arrays: flatten.ArraysTables}

// showRows renders rows as "table[index]{fields}" with parent links checked
// separately.
func showRows(rows []flatten.Row) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteString(" | ")
		}
		fmt.Fprintf(&b, "%s[%d]{%s}", r.Table, r.Index, show(r.Fields))
	}
	return b.String()
}

func TestAppendRows(t *testing.T) {
	tests := []struct {
		name string
		opts flatten.Options
		in   string
		want string
	}{
		{"no arrays", tables, `{"a":{"b":1}}`, `[-1]{a.b=1(number)}`},
		{"array of objects", tables, `{"id":7,"items":[{"sku":"x","q":1},{"sku":"y"}],"z":true}`,
			`[-1]{id=7(number) z=true(bool)} | items[0]{sku=x(string) q=1(number)} | items[1]{sku=y(string)}`},
		{"array of scalars", tables, `{"tags":["a",null,3]}`,
			`[-1]{} | tags[0]{value=a(string)} | tags[1]{value=null(null)} | tags[2]{value=3(number)}`},
		{"nested arrays", tables, `{"a":[{"b":[1,2]},{"b":[]}]}`,
			`[-1]{} | a[0]{} | a.b[0]{value=1(number)} | a.b[1]{value=2(number)} | a[1]{b=[](array)}`},
		{"array of arrays", tables, `{"m":[[1],[]]}`,
			`[-1]{} | m[0]{} | m.value[0]{value=1(number)} | m[1]{value=[](array)}`},
		{"empty array kept in parent", tables, `{"a":[],"b":{}}`, `[-1]{a=[](array) b={}(object)}`},
		{"empty object element is a row", tables, `{"a":[{}]}`, `[-1]{} | a[0]{}`},
		{"top-level array rows are root rows", tables, `[{"a":1},2]`, `[0]{a=1(number)} | [1]{value=2(number)}`},
		{"top-level empty array has no rows", tables, `[]`, ``},
		{"top-level scalar", tables, `"s"`, `[-1]{value=s(string)}`},
		{"object inside element keeps relative paths", tables, `{"a":[{"b":{"c":1}}]}`, `[-1]{} | a[0]{b.c=1(number)}`},
		{"max depth keeps array as field", flatten.Options{Arrays: flatten.ArraysTables, MaxDepth: 1}, `{"a":[1],"b":{"c":[2]}}`,
			`[-1]{a=[1](array) b={"c":[2]}(object)}`},
		{"collision is per row", tables, `{"v":[{"k":1}],"k":2}`, `[-1]{k=2(number)} | v[0]{k=1(number)}`},
		{"collision last within row", flatten.Options{Arrays: flatten.ArraysTables, OnCollision: flatten.CollisionLast}, `{"a":[{"k":1,"k":2}]}`, `[-1]{} | a[0]{k=2(number)}`},
		{"separator in table names", flatten.Options{Arrays: flatten.ArraysTables, Separator: "__"}, `{"a":{"b":[{"c":[1]}]}}`,
			`[-1]{} | a__b[0]{} | a__b__c[0]{value=1(number)}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, tt.opts)
			rows, err := f.AppendRows(nil, []byte(tt.in))
			if err != nil {
				t.Fatalf("AppendRows(%q): %v", tt.in, err)
			}
			if got := showRows(rows); got != tt.want {
				t.Errorf("AppendRows(%q) =\n  %s\nwant\n  %s", tt.in, got, tt.want)
			}
			checkLinks(t, rows)
		})
	}
}

// checkLinks verifies that IDs are unique and every parent exists and comes
// before its children.
func checkLinks(t *testing.T, rows []flatten.Row) {
	t.Helper()
	seen := map[uint64]bool{0: true}
	for _, r := range rows {
		if r.ID == 0 || seen[r.ID] && r.ID != 0 {
			t.Errorf("row %s[%d] has a zero or repeated ID %x", r.Table, r.Index, r.ID)
		}
		if !seen[r.ParentID] {
			t.Errorf("row %s[%d] parent %x not seen before it", r.Table, r.Index, r.ParentID)
		}
		seen[r.ID] = true
	}
}

func TestAppendRowsIDsDeterministic(t *testing.T) {
	doc := []byte(`{"a":[{"b":[1,2]},{"b":[3]}],"c":[4]}`)
	ids := func(f *flatten.Flattener, key []byte) []uint64 {
		rows, err := f.AppendRowsKey(nil, doc, key)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, r := range rows {
			out = append(out, r.ID, r.ParentID)
		}
		return out
	}
	a := ids(mustNew(t, tables), []byte("bucket/key#1"))
	b := ids(mustNew(t, tables), []byte("bucket/key#1"))
	c := ids(mustNew(t, tables), []byte("bucket/key#2"))
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("IDs differ between runs with the same key: %x vs %x", a, b)
	}
	if a[0] == c[0] || a[2] == c[2] {
		t.Errorf("different record keys gave the same IDs: %x vs %x", a, c)
	}
	// The default key is the document itself.
	f := mustNew(t, tables)
	r1, _ := f.AppendRows(nil, doc)
	id1 := r1[0].ID
	r2, _ := f.AppendRows(nil, doc)
	if id1 != r2[0].ID {
		t.Errorf("default record key not deterministic: %x vs %x", id1, r2[0].ID)
	}
}

// refRow is a row of the reference tables-mode flattener; parent is the
// position of the parent row (-1 for root-table rows).
type refRow struct {
	table  string
	index  int
	parent int
	fields []refField
}

// referenceRows is the differential oracle for ArraysTables, built on
// encoding/json like referenceFlatten.
func referenceRows(doc []byte, opts flatten.Options) ([]refRow, error) {
	if !json.Valid(doc) {
		return nil, errors.New("invalid JSON")
	}
	r := &refTables{opts: opts, sep: opts.Separator}
	if r.sep == "" {
		r.sep = "."
	}
	raw := bytes.TrimSpace(doc)
	if raw[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, err
		}
		for i, e := range elems {
			if err := r.element("", -1, i, e); err != nil {
				return nil, err
			}
		}
		return r.rows, nil
	}
	r.rows = append(r.rows, refRow{index: -1, parent: -1})
	var err error
	if raw[0] == '{' {
		err = r.object(0, raw, "", 0, true)
	} else {
		err = r.value(0, raw, "value", 1)
	}
	return r.rows, err
}

type refTables struct {
	opts flatten.Options
	sep  string
	rows []refRow
}

func (r *refTables) emit(row int, path, value string, k flatten.Kind) error {
	fs := r.rows[row].fields
	for i := range fs {
		if fs[i].Path == path {
			switch r.opts.OnCollision {
			case flatten.CollisionFirst:
				return nil
			case flatten.CollisionLast:
				fs[i].Value, fs[i].Kind = value, k
				return nil
			}
			return flatten.ErrCollision
		}
	}
	r.rows[row].fields = append(fs, refField{path, value, k})
	return nil
}

func (r *refTables) element(table string, parent, index int, raw []byte) error {
	r.rows = append(r.rows, refRow{table: table, index: index, parent: parent})
	row := len(r.rows) - 1
	if raw[0] == '{' {
		return r.object(row, raw, "", 0, true)
	}
	return r.value(row, raw, "value", 1)
}

func (r *refTables) object(row int, raw []byte, path string, segs int, rowRoot bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.Token()
	if !dec.More() {
		if rowRoot {
			return nil
		}
		return r.emit(row, path, "{}", flatten.Object)
	}
	if !rowRoot && r.opts.MaxDepth > 0 && segs >= r.opts.MaxDepth {
		return r.emit(row, path, compact(raw), flatten.Object)
	}
	for dec.More() {
		tok, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		p := tok.(string)
		if !rowRoot {
			p = path + r.sep + p
		}
		if err := r.value(row, v, p, segs+1); err != nil {
			return err
		}
	}
	return nil
}

func (r *refTables) value(row int, raw []byte, path string, segs int) error {
	switch raw[0] {
	case '{':
		return r.object(row, raw, path, segs, false)
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		if len(elems) == 0 {
			return r.emit(row, path, "[]", flatten.Array)
		}
		if r.opts.MaxDepth > 0 && segs >= r.opts.MaxDepth {
			return r.emit(row, path, compact(raw), flatten.Array)
		}
		table := path
		if t := r.rows[row].table; t != "" {
			table = t + r.sep + path
		}
		for i, e := range elems {
			if err := r.element(table, row, i, e); err != nil {
				return err
			}
		}
		return nil
	case '"':
		var s string
		json.Unmarshal(raw, &s)
		return r.emit(row, path, s, flatten.String)
	case 't', 'f':
		return r.emit(row, path, string(raw), flatten.Bool)
	case 'n':
		return r.emit(row, path, string(raw), flatten.Null)
	}
	return r.emit(row, path, string(raw), flatten.Number)
}

// sameRows compares flattener rows with reference rows, parents by
// position.
func sameRows(got []flatten.Row, want []refRow) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	pos := map[uint64]int{}
	for i, g := range got {
		pos[g.ID] = i
	}
	for i, g := range got {
		w := want[i]
		parent := -1
		if g.ParentID != 0 {
			p, ok := pos[g.ParentID]
			if !ok {
				return fmt.Sprintf("row %d: parent %x not among the rows", i, g.ParentID)
			}
			parent = p
		}
		if string(g.Table) != w.table || g.Index != w.index || parent != w.parent {
			return fmt.Sprintf("row %d = %q[%d] parent %d, want %q[%d] parent %d", i, g.Table, g.Index, parent, w.table, w.index, w.parent)
		}
		if gf := toRef(g.Fields); !sameRef(gf, w.fields) {
			return fmt.Sprintf("row %d fields = %v, want %v", i, gf, w.fields)
		}
	}
	return ""
}

// TestAppendRowsAgainstReference compares tables mode with the reference on
// the table tests and on the corpus.
func TestAppendRowsAgainstReference(t *testing.T) {
	docs := map[string][]byte{
		"nested":     []byte(`{"id":7,"items":[{"sku":"x","tags":["a",[1,[]]]},{"sku":"y","sub":{"z":[{}]}}],"e":[],"o":{}}`),
		"root array": []byte(`[{"a":[1]},2,[3,[4]],[]]`),
		"scalar":     []byte(`"x"`),
	}
	for _, in := range []string{"twitter.json", "citm_catalog.json", "github_events.json", "canada.json"} {
		if b, err := os.ReadFile(filepath.Join(corpusDir, in)); err == nil {
			docs[in] = b
		}
	}
	for name, doc := range docs {
		for _, opts := range []flatten.Options{tables, {Arrays: flatten.ArraysTables, MaxDepth: 2, Separator: "__"}, {Arrays: flatten.ArraysTables, MaxDepth: 1}} {
			got, err := mustNew(t, opts).AppendRows(nil, doc)
			if err != nil {
				t.Fatalf("%s %+v: %v", name, opts, err)
			}
			want, err := referenceRows(doc, opts)
			if err != nil {
				t.Fatalf("%s reference: %v", name, err)
			}
			if d := sameRows(got, want); d != "" {
				t.Errorf("%s %+v: %s", name, opts, d)
			}
			checkLinks(t, got)
		}
	}
}

func TestAppendRowsErrors(t *testing.T) {
	f := mustNew(t, tables)
	dst := []flatten.Row{{Table: []byte("keep")}}
	got, err := f.AppendRows(dst, []byte(`{"a":[{"b":1},{"b":2,"b":3}]}`))
	if !errors.Is(err, flatten.ErrCollision) {
		t.Fatalf("AppendRows(dup in row) = %v, want ErrCollision", err)
	}
	if len(got) != 1 || string(got[0].Table) != "keep" {
		t.Errorf("AppendRows on error changed dst: %v", showRows(got))
	}
	if _, err := f.AppendRows(nil, []byte(`{"a":[1,}`)); !errors.Is(err, flatten.ErrSyntax) {
		t.Errorf("AppendRows(bad) = %v, want ErrSyntax", err)
	}
	// Outside tables mode AppendRows gives one root row with every field.
	fi := mustNew(t, index)
	rows, err := fi.AppendRows(nil, []byte(`{"a":[1,2]}`))
	if err != nil || len(rows) != 1 || show(rows[0].Fields) != "a.0=1(number) a.1=2(number)" {
		t.Errorf("AppendRows in index mode = %s, %v", showRows(rows), err)
	}
}
