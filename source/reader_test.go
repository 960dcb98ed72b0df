package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// memOpener serves objects from memory, as a remote store would.
type memOpener map[string][]byte

func (m memOpener) Open(_ context.Context, obj *Object, offset int64) (io.ReadCloser, error) {
	b, ok := m[obj.Key]
	if !ok {
		return nil, errors.New("no such object")
	}
	return io.NopCloser(bytes.NewReader(b[min(offset, int64(len(b))):])), nil
}

// TestReaderReusesScanners reads a zstd object again and again: after the
// first read the Reader's pooled Scanner keeps its buffer and decoder, so a
// read costs a few allocations, not a new 256 KiB buffer and zstd decoder
// (which cost hundreds of KiB).
func TestReaderReusesScanners(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts are not meaningful under -race or coverage")
	}
	plain := bytes.Repeat([]byte("{\"id\":1,\"v\":\"abc\"}\n"), 100)
	objs := memOpener{"k.zst": zst(t, plain), "k.gz": gz(t, plain)}
	r, err := NewReader(ReaderOptions{Opener: objs})
	if err != nil {
		t.Fatal(err)
	}
	for key := range objs {
		obj := Object{Bucket: "b", Key: key}
		read := func() {
			n := 0
			if _, err := r.ReadObject(context.Background(), obj, Position{}, func(Record) error { n++; return nil }); err != nil || n != 100 {
				t.Fatalf("ReadObject(%s) = %d records, %v", key, n, err)
			}
		}
		read()
		bytesPerRead := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				read()
			}
		}).AllocedBytesPerOp()
		if bytesPerRead > 64<<10 {
			t.Errorf("%s: a read allocates %d bytes: the scanner or decoder is not reused", key, bytesPerRead)
		}
	}
}
