package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/source"
)

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestFlattenNDJSON(t *testing.T) {
	in := "{\"b\":{\"c\":\"x\\ny\"},\"a\":[1, 2],\"n\":1.10}\n\n{\"z\":null,\"e\":{}}\n"
	out, errs, code := runCLI(t, in)
	want := "{\"b.c\":\"x\\ny\",\"a\":[1,2],\"n\":1.10}\n{\"z\":null,\"e\":{}}\n"
	if out != want || code != 0 || errs != "" {
		t.Errorf("flatten = %q, %q, %d; want %q, no error, 0", out, errs, code, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("output line %q is not valid JSON", line)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name, in string
		args     []string
		want     string
	}{
		{"index", `{"a":[{"b":1}]}`, []string{"-arrays", "index"}, `{"a.0.b":1}`},
		{"sep and depth", `{"a":{"b":{"c":1}}}`, []string{"-sep", "__", "-max-depth", "2"}, `{"a__b":{"c":1}}`},
		{"collision last", `{"a":1,"a":2}`, []string{"-on-collision", "last"}, `{"a":2}`},
		{"collision first", `{"a":1,"a":2}`, []string{"-on-collision", "first"}, `{"a":1}`},
		{"document", "{\"a\":\n1}", []string{"-in", "document"}, `{"a":1}`},
		{"array", `[{"a":1},{"a":2}]`, []string{"-in", "array"}, "{\"a\":1}\n{\"a\":2}"},
		{"concat", `{"a":1}{"a":2} 3`, []string{"-in", "concatenated"}, "{\"a\":1}\n{\"a\":2}\n{\"\":3}"},
		{"tables", `{"id":1,"xs":[{"v":"a"},"b"]}`, []string{"-arrays", "tables"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runCLI(t, tt.in, tt.args...)
			if code != 0 {
				t.Fatalf("flatten %v: exit %d, stderr %q", tt.args, code, errs)
			}
			if tt.want != "" && strings.TrimSpace(out) != tt.want {
				t.Errorf("flatten %v = %q, want %q", tt.args, out, tt.want)
			}
		})
	}
}

func TestTablesOutput(t *testing.T) {
	out, _, code := runCLI(t, `{"id":1,"xs":[{"v":"a"},"b"]}`+"\n", "-arrays", "tables")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3: %q", len(lines), out)
	}
	type line struct {
		Table string                     `json:"table"`
		Row   map[string]json.RawMessage `json:"row"`
	}
	var ls []line
	for _, l := range lines {
		var x line
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		if err := d.Decode(&x); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		ls = append(ls, x)
	}
	if _, ok := ls[0].Row["_PARENT_ID"]; ls[0].Table != "root" || ok || string(ls[0].Row["id"]) != "1" {
		t.Errorf("root row = %q, want table root, no _PARENT_ID", lines[0])
	}
	for i, l := range ls[1:] {
		if l.Table != "root__XS" || string(l.Row["_PARENT_ID"]) != string(ls[0].Row["_ID"]) || string(l.Row["_INDEX"]) != string(rune('0'+i)) {
			t.Errorf("child row %d = %q", i, lines[i+1])
		}
	}
	if string(ls[1].Row["v"]) != `"a"` || string(ls[2].Row["value"]) != `"b"` {
		t.Errorf("child values = %q", lines[1:])
	}
	// IDs are deterministic across runs.
	out2, _, _ := runCLI(t, `{"id":1,"xs":[{"v":"a"},"b"]}`+"\n", "-arrays", "tables")
	if out != out2 {
		t.Errorf("tables output differs between runs:\n%s\n%s", out, out2)
	}
}

// TestTablesOutputMatchesDDL checks that -arrays tables names every table
// as -ddl does and gives each row exactly the system columns of its table's
// CREATE TABLE statement.
func TestTablesOutputMatchesDDL(t *testing.T) {
	ddl, _, code := runCLI(t, "", "-ddl", "EVENTS", "-arrays", "tables", "testdata/events.ndjson")
	if code != 0 {
		t.Fatalf("-ddl: exit %d", code)
	}
	system := map[string][]string{} // table → its system columns, in order
	var table string
	for _, l := range strings.Split(ddl, "\n") {
		if name, ok := strings.CutPrefix(l, `CREATE TABLE "`); ok {
			table, _, _ = strings.Cut(name, `"`)
			system[table] = nil
			continue
		}
		for _, c := range []string{"_ID", "_PARENT_ID", "_INDEX"} {
			if strings.HasPrefix(strings.TrimSpace(l), `"`+c+`" `) {
				system[table] = append(system[table], c)
			}
		}
	}
	if len(system) < 2 {
		t.Fatalf("-ddl gave %d tables: %s", len(system), ddl)
	}
	out, _, code := runCLI(t, "", "-arrays", "tables", "-table", "EVENTS", "testdata/events.ndjson")
	if code != 0 {
		t.Fatalf("-arrays tables: exit %d", code)
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var x struct {
			Table string                     `json:"table"`
			Row   map[string]json.RawMessage `json:"row"`
		}
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		want, ok := system[x.Table]
		if !ok {
			t.Errorf("row of table %q, which -ddl does not create (%v)", x.Table, ddl)
			continue
		}
		seen[x.Table] = true
		var got []string
		for _, c := range []string{"_ID", "_PARENT_ID", "_INDEX"} {
			if _, ok := x.Row[c]; ok {
				got = append(got, c)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("row of %s has system columns %v, its DDL %v", x.Table, got, want)
		}
	}
	if len(seen) != len(system) {
		t.Errorf("rows name tables %v, DDL creates %v", seen, system)
	}
}

func TestBadRecordsReported(t *testing.T) {
	in := "{\"a\":1}\n{\"a\":\n{\"b\":2}\n{\"c\":1,\"c\":2}\n"
	out, errs, code := runCLI(t, in)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if want := "{\"a\":1}\n{\"b\":2}\n"; out != want {
		t.Errorf("stdout = %q, want %q (bad records write nothing)", out, want)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != 2 {
		t.Fatalf("stderr has %d lines, want 2: %q", len(lines), errs)
	}
	if !strings.Contains(lines[0], "stdin: record 2") || !strings.Contains(lines[0], "offset 8") {
		t.Errorf("stderr line %q does not name record 2 at offset 8", lines[0])
	}
	if !strings.Contains(lines[1], "record 4") || !strings.Contains(lines[1], "offset 22") || !strings.Contains(lines[1], "collision") {
		t.Errorf("stderr line %q does not name record 4 at offset 22", lines[1])
	}
}

func TestFilesAndGzip(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.ndjson")
	os.WriteFile(plain, []byte("{\"x\":1}\n"), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"y\":2}\nnot json\n"))
	zw.Close()
	zipped := filepath.Join(dir, "b.data") // compression by content, not name
	os.WriteFile(zipped, gz.Bytes(), 0o644)
	out, errs, code := runCLI(t, "", plain, zipped, filepath.Join(dir, "missing"))
	if out != "{\"x\":1}\n{\"y\":2}\n" {
		t.Errorf("stdout = %q", out)
	}
	if code != 1 || !strings.Contains(errs, "b.data: record 2") || !strings.Contains(errs, "missing") {
		t.Errorf("exit %d stderr %q; want 1 naming b.data record 2 and the missing file", code, errs)
	}
}

func TestSampleData(t *testing.T) {
	out, errs, code := runCLI(t, "", "testdata/events.ndjson")
	if code != 0 || errs != "" {
		t.Fatalf("sample: exit %d, %s", code, errs)
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("sample gave %d lines, want 4", n)
	}
	if !strings.Contains(out, `"user.id":505874924095815681`) {
		t.Errorf("big integer not kept verbatim: %s", out)
	}
}

// TestBadFlags: each bad flag exits 2 with its error said once, and the
// enum flags take exactly the names the library's String methods give.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-in", "xml"}, {"-in", "json"}, {"-in", "concat"}, {"-arrays", "rows"}, {"-on-collision", "x"},
		{"-sizing", "huge"}, {"-sep", ""}, {"-max-depth", "-1"}, {"-table", ""}} {
		_, errs, code := runCLI(t, "", args...)
		if code != 2 {
			t.Errorf("flatten %v: exit %d, want 2", args, code)
		}
		if n := strings.Count(errs, "invalid value") + strings.Count(errs, "flatten: "+args[0]+":"); n != 1 {
			t.Errorf("flatten %v: the error is said %d times: %q", args, n, errs)
		}
	}
	for _, f := range []source.Format{source.NDJSON, source.Document, source.Array, source.Concatenated} {
		if _, errs, code := runCLI(t, "1", "-in", f.String()); code != 0 && !strings.Contains(errs, "record") {
			t.Errorf("-in %v rejected: %q", f, errs)
		}
	}
	for _, m := range []flatten.ArrayMode{flatten.ArraysJSON, flatten.ArraysIndex, flatten.ArraysTables} {
		if _, errs, code := runCLI(t, "{}", "-arrays", m.String()); code != 0 {
			t.Errorf("-arrays %v rejected: %q", m, errs)
		}
	}
	for _, p := range []flatten.CollisionPolicy{flatten.CollisionError, flatten.CollisionFirst, flatten.CollisionLast} {
		if _, errs, code := runCLI(t, "{}", "-on-collision", p.String()); code != 0 {
			t.Errorf("-on-collision %v rejected: %q", p, errs)
		}
	}
}

// TestEmptyDocumentRejected: a JSON text holds a value, so -in document
// rejects an empty input, whitespace and a lone byte order mark, as the
// library does, instead of reading zero records.
func TestEmptyDocumentRejected(t *testing.T) {
	for _, in := range []string{"", " ", "\n\t ", "\xef\xbb\xbf"} {
		out, errs, code := runCLI(t, in, "-in", "document")
		if code != 1 || out != "" || !strings.Contains(errs, "stdin: record 1") || !strings.Contains(errs, "empty document") {
			t.Errorf("flatten -in document <%q: exit %d, stdout %q, stderr %q; want 1 and an empty-document error", in, code, out, errs)
		}
	}
}

// TestErrorLinesHaveOnePrefix: a record's error line starts with the
// command's "flatten:" once, not again inside the library's message.
func TestErrorLinesHaveOnePrefix(t *testing.T) {
	_, errs, _ := runCLI(t, "{\"a\":\n")
	if !strings.HasPrefix(errs, "flatten: stdin: record 1") || strings.Count(errs, "flatten:") != 1 {
		t.Errorf("stderr %q, want one line with one flatten: prefix", errs)
	}
}

// TestHelpNamesInputs: -h says what an input may be.
func TestHelpNamesInputs(t *testing.T) {
	_, errs, code := runCLI(t, "", "-h")
	if code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, want := range []string{"standard input", "globs", "directories", "s3://bucket/key", "s3://bucket/prefix/", "gzip"} {
		if !strings.Contains(errs, want) {
			t.Errorf("-h does not mention %q:\n%s", want, errs)
		}
	}
}
