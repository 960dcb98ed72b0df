package s3test_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/flatpipe/flatpipe/source/s3source"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/source"
)

func TestParseURL(t *testing.T) {
	for _, tt := range []struct{ in, bucket, key string }{
		{"s3://b/k/x.json", "b", "k/x.json"}, {"s3://b/p/", "b", "p/"}, {"s3://b", "b", ""}, {"s3://b/", "b", ""},
	} {
		b, k, err := s3source.ParseURL(tt.in)
		if err != nil || b != tt.bucket || k != tt.key {
			t.Errorf("s3source.ParseURL(%q) = %q, %q, %v, want %q, %q", tt.in, b, k, err, tt.bucket, tt.key)
		}
	}
	for _, bad := range []string{"s3:///k", "http://b/k", "b/k"} {
		if _, _, err := s3source.ParseURL(bad); err == nil {
			t.Errorf("s3source.ParseURL(%q) succeeded", bad)
		}
	}
}

// TestResolveInputs resolves local globs, S3 prefixes and keys in the order
// given, then reads every object through one Reader.
func TestResolveInputs(t *testing.T) {
	env := newS3(t, false)
	for _, k := range []string{"p/b.json", "p/a.json.gz", "p/c/d.json", "q.json"} {
		env.put(t, k, []byte("{\"k\":1}\n"))
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "local.ndjson"), []byte("{}\n{}\n"))
	ctx := context.Background()
	opts := s3source.InputOptions{Client: env.client}
	objs, err := s3source.ResolveInputs(ctx, []string{filepath.Join(dir, "*.ndjson"), "s3://bucket/p/", "s3://bucket/q.json"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, strings.TrimPrefix(o.String(), dir))
	}
	if want := "[/local.ndjson s3://bucket/p/a.json.gz s3://bucket/p/b.json s3://bucket/p/c/d.json s3://bucket/q.json]"; fmt.Sprint(names) != want {
		t.Errorf("s3source.ResolveInputs = %v, want %s", names, want)
	}
	r := newReader(t, env, s3source.OpenerOptions{})
	total := 0
	for _, o := range objs {
		got, _, err := readAll(t, r, o, source.Position{})
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		total += len(got)
	}
	if total != 6 {
		t.Errorf("%d records, want 6", total)
	}
	if _, err := s3source.ResolveInputs(ctx, []string{"s3://bucket/empty/"}, opts); err == nil {
		t.Error("empty prefix resolved without error")
	}
	if _, err := s3source.ResolveInputs(ctx, []string{"s3://bucket/p/"}, s3source.InputOptions{}); !errors.Is(err, source.ErrOptions) {
		t.Errorf("prefix without a client: err = %v, want ErrOptions", err)
	}
}
