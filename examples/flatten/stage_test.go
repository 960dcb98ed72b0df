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

// TestStageCreatesDir: -o creates the directory (and its parents) as the
// README's command expects; TestStageBadFlags has the path that cannot be
// created.
func TestStageCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "stage")
	_, errs, code := runCLI(t, "", "-o", dir, filepath.Join("testdata", "events.ndjson"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) == 0 {
		t.Fatalf("no files in %s (%v)", dir, err)
	}
}

func TestStageTablesAndRejects(t *testing.T) {
	dir := t.TempDir()
	in := `{"o":1,"items":[{"sku":"a"}]}` + "\n" + `{"o":` + "\n" + `{"o":2,"items":[]}` + "\n"
	_, errs, code := runCLI(t, in, "-o", dir, "-arrays", "tables", "-table", `"Orders"`)
	if code != 1 || !strings.Contains(errs, "stdin: record 2 (line 2, offset 30):") || !strings.Contains(errs, "1 rejected") {
		t.Errorf("exit %d, stderr %q; want 1 with record 2 (line 2, offset 30) rejected", code, errs)
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
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-o", t.TempDir(), "-format", "xml"},
		{"-o", t.TempDir(), "-compress", "lz4"},
		{"-o", t.TempDir(), "-workers", "0"},
		{"-o", t.TempDir(), "-table", ""},
		{"-o", filepath.Join(notDir, "stage")}, // cannot be created
	} {
		if _, errs, code := runCLI(t, "{}", args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

// TestStageRejectPositions: with -o, a rejected record is reported like
// without it: input, record number, line and byte offset, from standard
// input and from a file, with one worker and with two.
func TestStageRejectPositions(t *testing.T) {
	lines := []string{`{"a":1}`, `{"a":2,"a":3}`, ``, `{"a":`, `{"a":4}`, `[1,2]`}
	in := strings.Join(lines, "\n") + "\n"
	path := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	// Blank lines are skipped: the record after one keeps its own line.
	want := []string{
		"record 2 (line 2, offset 8): ",
		"record 3 (line 4, offset 23): ",
	}
	for _, workers := range []string{"1", "2"} {
		for _, src := range []string{"stdin", path} {
			stdin, args := "", []string{"-o", t.TempDir(), "-workers", workers}
			if src == "stdin" {
				stdin = in
			} else {
				args = append(args, path)
			}
			_, errs, code := runCLI(t, stdin, args...)
			if code != 1 || !strings.Contains(errs, "2 rejected") {
				t.Errorf("%s, %s workers: exit %d, stderr %q; want 1 and 2 rejected", src, workers, code, errs)
			}
			for _, w := range want {
				if !strings.Contains(errs, "flatten: "+src+": "+w) {
					t.Errorf("%s, %s workers: stderr %q lacks %q", src, workers, errs, src+": "+w)
				}
			}
		}
	}
}
