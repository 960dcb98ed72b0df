package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStageFiles: -o writes staged files of each format and compression
// named for the table, and a summary on stderr.
func TestStageFiles(t *testing.T) {
	for _, tt := range []struct {
		format, compress, ext string
	}{
		{"ndjson", "gzip", ".ndjson.gz"},
		{"csv", "zstd", ".csv.zst"},
		{"parquet", "none", ".parquet"},
		{"ndjson", "none", ".ndjson"},
	} {
		dir := t.TempDir()
		_, errs, code := runCLI(t, "", "-o", dir, "-format", tt.format, "-compress", tt.compress, "-table", "my events", "-workers", "2", filepath.Join("testdata", "events.ndjson"))
		if code != 0 {
			t.Fatalf("%s/%s: exit %d: %s", tt.format, tt.compress, code, errs)
		}
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) == 0 {
			t.Fatalf("%s/%s: no files (%v)", tt.format, tt.compress, err)
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "MY_EVENTS_events.ndjson-") || !strings.HasSuffix(e.Name(), tt.ext) {
				t.Errorf("%s/%s: file %s", tt.format, tt.compress, e.Name())
			}
		}
		if !strings.Contains(errs, "4 records read") || !strings.Contains(errs, "0 rejected") || !strings.Contains(errs, `COPY INTO "MY_EVENTS"`) {
			t.Errorf("%s/%s: summary %q", tt.format, tt.compress, errs)
		}
	}
}

func TestStageTablesAndRejects(t *testing.T) {
	dir := t.TempDir()
	in := `{"o":1,"items":[{"sku":"a"}]}` + "\n" + `{"o":` + "\n" + `{"o":2,"items":[]}` + "\n"
	_, errs, code := runCLI(t, in, "-o", dir, "-arrays", "tables", "-table", `"Orders"`)
	if code != 1 || !strings.Contains(errs, "stdin: record 2:") || !strings.Contains(errs, "1 rejected") {
		t.Errorf("exit %d, stderr %q; want 1 with record 2 rejected", code, errs)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	joined := strings.Join(names, " ")
	if !strings.Contains(joined, "Orders_stdin-") || !strings.Contains(joined, "Orders__ITEMS_stdin-") {
		t.Errorf("files %v, want Orders and Orders__ITEMS", names)
	}
}

func TestStageBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-o", t.TempDir(), "-format", "xml"},
		{"-o", t.TempDir(), "-compress", "lz4"},
		{"-o", t.TempDir(), "-workers", "0"},
		{"-o", t.TempDir(), "-table", ""},
		{"-o", filepath.Join(t.TempDir(), "missing")},
	} {
		if _, errs, code := runCLI(t, "{}", args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}
