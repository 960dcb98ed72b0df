package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"document", "{\"a\":\n1}", []string{"-in", "json"}, `{"a":1}`},
		{"array", `[{"a":1},{"a":2}]`, []string{"-in", "array"}, "{\"a\":1}\n{\"a\":2}"},
		{"concat", `{"a":1}{"a":2} 3`, []string{"-in", "concat"}, "{\"a\":1}\n{\"a\":2}\n{\"\":3}"},
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
	if ls[0].Table != "" || string(ls[0].Row["_parent_id"]) != "null" || string(ls[0].Row["id"]) != "1" {
		t.Errorf("root row = %q", lines[0])
	}
	for i, l := range ls[1:] {
		if l.Table != "xs" || string(l.Row["_parent_id"]) != string(ls[0].Row["_id"]) || string(l.Row["_index"]) != string(rune('0'+i)) {
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

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-in", "xml"}, {"-arrays", "rows"}, {"-on-collision", "x"}, {"-sep", ""}, {"-max-depth", "-1"}} {
		if _, _, code := runCLI(t, "", args...); code != 2 {
			t.Errorf("flatten %v: exit %d, want 2", args, code)
		}
	}
}
