package s3test_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/flatpipe/flatpipe/source/s3source"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/flatpipe/flatpipe/source"
)

// genNDJSON returns about n bytes of tweet-like NDJSON.
func genNDJSON(n int) []byte {
	r := rand.New(rand.NewPCG(7, 8))
	var b bytes.Buffer
	b.Grow(n + 4096)
	words := []string{"alpha", "beta", "gamma", "delta", "lambda", "snowflake", "pipe", "flat", "json", "row"}
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":{"id":%d,"name":"user%d","followers":%d,"verified":%t},"text":"`,
			i, r.Int64N(1e9), r.IntN(1e6), r.IntN(1e5), r.IntN(2) == 0)
		for w := range 8 + r.IntN(20) {
			if w > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		fmt.Fprintf(&b, `","created_at":"2026-11-%02dT%02d:%02d:%02dZ","tags":["t%d","t%d"],"geo":{"lat":%.5f,"lon":%.5f},"score":%.3f}`+"\n",
			1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(100), r.IntN(100), r.Float64()*180-90, r.Float64()*360-180, r.Float64())
	}
	return b.Bytes()
}

// BenchmarkReadObject compares records/s reading the same gzip NDJSON object
// (100 MB decompressed) from a local file and from the in-process S3 server
// over loopback HTTP. Skipped with -short.
func BenchmarkReadObject(b *testing.B) {
	if testing.Short() {
		b.Skip("generates a 100 MB object")
	}
	plain := genNDJSON(100 << 20)
	data := gz(b, plain)
	plain = nil
	dir := b.TempDir()
	path := filepath.Join(dir, "big.ndjson.gz")
	writeFile(b, path, data)
	env := newS3(b, false)
	env.put(b, "big.ndjson.gz", data)
	r := newReader(b, env, s3source.OpenerOptions{})
	for _, tt := range []struct {
		name string
		obj  source.Object
	}{
		{"gzip100MB/file", source.Object{Key: path}},
		{"gzip100MB/s3-http", source.Object{Bucket: "bucket", Key: "big.ndjson.gz"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			var recs, size int64
			for b.Loop() {
				pos, err := r.ReadObject(context.Background(), tt.obj, source.Position{}, func(source.Record) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				recs += pos.Records
				size = pos.Offset
			}
			b.SetBytes(size)
			b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(len(data))/float64(size), "gzip-ratio")
		})
	}
}
