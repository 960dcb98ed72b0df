package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmulatorDir: by default the embedded emulator's database is gone at
// exit (a second run finds an empty table); with -emulator-dir it is kept
// there, and a second run appends to the same table. (The second run cuts
// other chunks, so that its staged files are not the ones COPY's load
// metadata already knows.)
func TestEmulatorDir(t *testing.T) {
	in := t.TempDir()
	writeSamples(t, in)
	rows := func(args ...string) int64 {
		t.Helper()
		var logs syncBuffer
		code, out, errs := runInProcess(nil, append([]string{"-progress", "none", "-log-format", "json", "-show-rows", "0", "-emulator-memory", "24MB"}, append(args, in)...)...)
		logs.Write([]byte(errs))
		if code != 2 {
			t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
		}
		return jobReport(t, logs.String()).TableRows
	}
	if a, b := rows(), rows("-chunk-records", "1000"); a != 4182 || b != 4182 {
		t.Errorf("two runs without -emulator-dir: tables of %d and %d rows, want 4182 each", a, b)
	}
	dir := filepath.Join(t.TempDir(), "emu")
	// A staged file identical in both runs (same records, same content) is
	// skipped as already loaded, so the second run adds nearly 4182 rows.
	if a, b := rows("-emulator-dir", dir), rows("-emulator-dir", dir, "-chunk-records", "1000"); a != 4182 || b < 2*4182-100 || b > 2*4182 {
		t.Errorf("two runs with -emulator-dir: tables of %d and %d rows, want 4182 then nearly %d", a, b, 2*4182)
	}
	if _, err := os.Stat(filepath.Join(dir, "emulator.duckdb")); err != nil {
		t.Error(err)
	}
	code, _, errs := runInProcess(nil, "-emulator-memory", "lots", in)
	if code != 1 || !strings.Contains(errs, `emulator_memory: "lots" is not a size`) {
		t.Errorf("-emulator-memory lots: exit %d\n%s", code, errs)
	}
}
