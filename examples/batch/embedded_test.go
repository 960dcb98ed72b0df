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
	run := func(args ...string) summary {
		t.Helper()
		var logs syncBuffer
		code, out, errs := runInProcess(nil, append([]string{"-progress", "none", "-log-format", "json", "-show-rows", "0", "-emulator-memory", "24MB"}, append(args, in)...)...)
		logs.Write([]byte(errs))
		if code != 2 {
			t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
		}
		return jobReport(t, logs.String())
	}
	if a, b := run(), run("-chunk-records", "1000"); a.TableRows != 4182 || b.TableRows != 4182 {
		t.Errorf("two runs without -emulator-dir: tables of %d and %d rows, want 4182 each", a.TableRows, b.TableRows)
	}
	dir := filepath.Join(t.TempDir(), "emu")
	// A staged file identical in both runs (same records, same content) is
	// skipped as already loaded, so the second run adds nearly 4182 rows;
	// its report counts them apart, and what it says it loaded is what the
	// table gained.
	a, b := run("-emulator-dir", dir), run("-emulator-dir", dir, "-chunk-records", "1000")
	if a.TableRows != 4182 || b.TableRows < 2*4182-100 || b.TableRows > 2*4182 {
		t.Errorf("two runs with -emulator-dir: tables of %d and %d rows, want 4182 then nearly %d", a.TableRows, b.TableRows, 2*4182)
	}
	if b.AlreadyLoaded == 0 || b.RecordsLoaded+b.AlreadyLoaded != 4182 || b.TableRows != a.TableRows+b.RecordsLoaded || !strings.Contains(b.Status, "already loaded") {
		t.Errorf("second run with -emulator-dir: %d loaded, %d already loaded (status %q), table %d rows after %d; want them apart, adding up to 4182, the loaded ones added to the table",
			b.RecordsLoaded, b.AlreadyLoaded, b.Status, b.TableRows, a.TableRows)
	}
	if _, err := os.Stat(filepath.Join(dir, "emulator.duckdb")); err != nil {
		t.Error(err)
	}
	code, _, errs := runInProcess(nil, "-emulator-memory", "lots", in)
	if code != 1 || !strings.Contains(errs, `emulator_memory: "lots" is not a size`) {
		t.Errorf("-emulator-memory lots: exit %d\n%s", code, errs)
	}
}
