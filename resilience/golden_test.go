package resilience

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update. The
// golden files pin the stored formats: a change that breaks reading old
// dead letters or checkpoints shows up here.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestGoldenFormats(t *testing.T) {
	cases := deadLetterCases()
	var dl []byte
	for _, i := range []int{0, 1, 2, 3, 6, 7} {
		var err error
		if dl, err = cases[i].AppendNDJSON(dl); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "deadletters.ndjson", dl)

	// Old files keep reading back.
	want, _ := os.ReadFile(filepath.Join("testdata", "deadletters.ndjson"))
	r := NewDeadLetterReader(bytes.NewReader(want), DeadLetterReaderOptions{})
	n := 0
	for r.Next() {
		n++
	}
	if r.Err() != nil || n != 6 {
		t.Errorf("reading the golden dead letters: %d entries, %v", n, r.Err())
	}

	cp, err := encodeCheckpoint(7, Checkpoint{Bucket: "in", Key: "orders/2026/11/26/part-0.ndjson.gz", VersionID: "3HL4kqtJlcpXroDTDmJ",
		ETag: `"9b2cf535f27731c974343645a3985328"`, Size: 1 << 30, RecordsDone: 1_250_000, NextOffset: 123_456_789,
		UpdatedAt: cases[0].Time})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "checkpoint.json", cp)
	if _, err := decodeCheckpoint("golden", cp); err != nil {
		t.Error(err)
	}
}
