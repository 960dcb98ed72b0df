package resilience

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzDeadLetterRoundTrip: any record bytes and provenance survive
// AppendNDJSON and ParseDeadLetter exactly, and the line is one line.
func FuzzDeadLetterRoundTrip(f *testing.F) {
	for _, d := range deadLetterCases()[:4] {
		f.Add(d.Record, d.Object, d.Offset, d.Reason)
	}
	f.Add([]byte("\xed\xa0\x80\n\r\u2028"), "s3://b/\xffk", int64(-1), "")
	f.Fuzz(func(t *testing.T, rec []byte, object string, offset int64, reason string) {
		d := DeadLetter{Time: time.Unix(1, 0).UTC(), Object: object, Offset: offset, Reason: reason, Record: rec}
		line, err := d.AppendNDJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("not one line: %q", line)
		}
		got, err := ParseDeadLetter(line)
		if err != nil {
			t.Fatalf("ParseDeadLetter(%q) = %v", line, err)
		}
		if !bytes.Equal(got.Record, rec) || got.Offset != offset {
			t.Fatalf("round trip of %q = %q", rec, got.Record)
		}
	})
}

// FuzzDeadLetterReader: arbitrary input never panics, and every entry read
// re-encodes to a line that parses again.
func FuzzDeadLetterReader(f *testing.F) {
	for _, d := range deadLetterCases()[:4] {
		line, _ := d.AppendNDJSON(nil)
		f.Add(line)
	}
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"record_encoding":"base64","record":"AA=="`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewDeadLetterReader(bytes.NewReader(in), DeadLetterReaderOptions{MaxLine: 1 << 16})
		for r.Next() {
			line, err := r.DeadLetter().AppendNDJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseDeadLetter(line); err != nil {
				t.Fatalf("re-encoded entry does not parse: %v", err)
			}
		}
		_ = r.Err()
	})
}

// FuzzCheckpointDecode: stored checkpoint bytes never panic the stores, and
// what loads validates.
func FuzzCheckpointDecode(f *testing.F) {
	good, _ := encodeCheckpoint(3, Checkpoint{Bucket: "b", Key: "k", Size: 10, NextOffset: 5, RecordsDone: 2})
	f.Add(good)
	f.Add([]byte(`{"format":1,"generation":1,"checkpoint":{"size":1,"next_offset":2}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := newMemObjectStore()
		m.objects["b/c.json"] = memObject{body: body, etag: `"x"`}
		s, _ := NewS3CheckpointStore(m, "b", "")
		cp, _, err := s.Load(context.Background(), "c")
		if err == nil {
			if verr := cp.Validate(); verr != nil {
				t.Fatalf("loaded an invalid checkpoint: %v", verr)
			}
		}
	})
}
