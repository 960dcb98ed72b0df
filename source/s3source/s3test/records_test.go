package s3test_test

import (
	"bytes"
	"context"
	"github.com/flatpipe/flatpipe/source/s3source"
	"os"
	"testing"

	"github.com/flatpipe/flatpipe/source"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type rec struct {
	Data   string
	Offset int64
	Line   int64
	Number int64
}

// scanAll frames data with a fresh source.Scanner: the records a read must give.
func scanAll(t testing.TB, data []byte) []rec {
	t.Helper()
	sc, err := source.NewScanner(bytes.NewReader(data), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var out []rec
	for sc.Scan() {
		out = append(out, rec{string(sc.Bytes()), sc.Offset(), sc.Line(), sc.Number()})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newReader returns a source.Reader whose remote objects come from env's
// server through an Opener.
func newReader(t testing.TB, env *s3env, opts s3source.OpenerOptions) *source.Reader {
	t.Helper()
	op, err := s3source.NewOpener(env.client, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := source.NewReader(source.ReaderOptions{Opener: op})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readAll reads obj through r and returns the records.
func readAll(t testing.TB, r *source.Reader, obj source.Object, from source.Position) ([]rec, source.Position, error) {
	t.Helper()
	var out []rec
	pos, err := r.ReadObject(context.Background(), obj, from, func(x source.Record) error {
		out = append(out, rec{string(x.Data), x.Offset, x.Line, x.Number})
		return nil
	})
	return out, pos, err
}

func testObjects(t testing.TB) (plain []byte, objs map[string][]byte) {
	plain = genNDJSON(600 << 10)
	return plain, map[string][]byte{"plain.ndjson": plain, "data.ndjson.gz": gz(t, plain), "data.zst": zst(t, plain)}
}
