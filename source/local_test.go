package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestListLocal(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"d/b.json", "d/a.json", "d/sub/c.json", "d/.hidden/x.json", "d/.h.json", "top.ndjson", "top.json.gz"} {
		writeFile(t, filepath.Join(dir, p), []byte("{}"))
	}
	rel := func(objs []Object) string {
		var s []string
		for _, o := range objs {
			r, _ := filepath.Rel(dir, o.Key)
			s = append(s, filepath.ToSlash(r))
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		args []string
		want string
		err  bool
	}{
		{[]string{"d"}, "d/a.json d/b.json d/sub/c.json", false},
		{[]string{"top.*"}, "top.json.gz top.ndjson", false},
		{[]string{"top.ndjson", "d/a.json", "top.ndjson"}, "top.ndjson d/a.json", false},
		{[]string{"nothing*"}, "", true},
		{[]string{"missing.json"}, "", true},
		{[]string{"[bad"}, "", true},
	} {
		var args []string
		for _, a := range tt.args {
			args = append(args, filepath.Join(dir, a))
		}
		got, err := ListLocal(args...)
		if (err != nil) != tt.err || rel(got) != tt.want {
			t.Errorf("ListLocal(%v) = %q, %v, want %q (error %v)", tt.args, rel(got), err, tt.want, tt.err)
		}
	}
}
