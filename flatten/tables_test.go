package flatten_test

import (
	"errors"
	"fmt"
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

// TestAppendRowsMatchesIndexMode checks, on the corpus, that tables mode
// loses nothing: every leaf of index mode appears in exactly one row, and
// the rows' table/index chain rebuilds its index path.
func TestAppendRowsMatchesIndexMode(t *testing.T) {
	for _, in := range []string{"twitter.json", "citm_catalog.json", "github_events.json", "canada.json"} {
		data := readCorpus(t, in)
		fi := mustNew(t, index)
		fields, err := fi.Append(nil, data)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, f := range fields {
			want[string(f.Path)] = string(f.Value)
		}
		ft := mustNew(t, tables)
		rows, err := ft.AppendRows(nil, data)
		if err != nil {
			t.Fatal(err)
		}
		checkLinks(t, rows)
		// Rebuild each row's absolute index-mode prefix.
		prefix := map[uint64]string{}
		got := map[string]string{}
		n := 0
		for ri, r := range rows {
			p := ""
			if ri == 0 && r.Index == -1 {
				prefix[r.ID] = ""
			} else {
				parent := prefix[r.ParentID]
				// Table is the parent's table + relative path; the row's
				// relative path from its parent is Table minus the
				// parent's table.
				rel := string(r.Table)
				if pt, ok := tableOf[r.ParentID]; ok && pt != "" {
					rel = strings.TrimPrefix(rel, pt+".")
				}
				rel = strings.TrimSuffix(strings.TrimPrefix(rel, "value"), "")
				if parent != "" && rel != "" {
					p = parent + "." + rel
				} else {
					p = parent + rel
				}
				if strings.HasSuffix(string(r.Table), "value") && strings.HasSuffix(tableOf[r.ParentID]+".value", string(r.Table)) {
					p = parent // array element of an array element
				}
				if p != "" {
					p += "."
				}
				p += fmt.Sprint(r.Index)
				prefix[r.ID] = p
			}
			tableOf[r.ID] = string(r.Table)
			for _, f := range r.Fields {
				path := string(f.Path)
				full := prefix[r.ID]
				if path != "value" || r.Index == -1 {
					if full != "" {
						full += "."
					}
					full += path
				}
				got[full] = string(f.Value)
				n++
			}
		}
		clear(tableOf)
		if n != len(fields) {
			t.Errorf("%s: tables mode has %d fields, index mode %d", in, n, len(fields))
		}
		for p, v := range want {
			if got[p] != v {
				t.Errorf("%s: field %q = %q in tables mode, want %q", in, p, got[p], v)
				break
			}
		}
	}
}

var tableOf = map[uint64]string{}

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
