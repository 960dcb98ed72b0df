package source

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseS3URL(t *testing.T) {
	for _, tt := range []struct{ in, bucket, key string }{
		{"s3://b/k/x.json", "b", "k/x.json"}, {"s3://b/p/", "b", "p/"}, {"s3://b", "b", ""}, {"s3://b/", "b", ""},
	} {
		b, k, err := ParseS3URL(tt.in)
		if err != nil || b != tt.bucket || k != tt.key {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v, want %q, %q", tt.in, b, k, err, tt.bucket, tt.key)
		}
	}
	for _, bad := range []string{"s3:///k", "http://b/k", "b/k"} {
		if _, _, err := ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) succeeded", bad)
		}
	}
}

// TestResolveInputsEnv builds the client from the standard configuration
// chain, pointed at the in-process server by AWS_ENDPOINT_URL_S3.
func TestResolveInputsEnv(t *testing.T) {
	env := newS3(t, false)
	for _, k := range []string{"p/b.json", "p/a.json.gz", "p/c/d.json", "q.json"} {
		env.put(t, k, []byte("{\"k\":1}\n"))
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "local.ndjson"), []byte("{}\n{}\n"))
	t.Setenv("AWS_ENDPOINT_URL_S3", env.url)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-test-key")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()
	objs, client, err := ResolveInputs(ctx, []string{filepath.Join(dir, "*.ndjson"), "s3://bucket/p/", "s3://bucket/q.json"}, InputOptions{S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, strings.TrimPrefix(o.String(), dir))
	}
	if want := "[/local.ndjson s3://bucket/p/a.json.gz s3://bucket/p/b.json s3://bucket/p/c/d.json s3://bucket/q.json]"; fmt.Sprint(names) != want {
		t.Errorf("ResolveInputs = %v, want %s", names, want)
	}
	r, _ := NewReader(client, ReaderOptions{})
	total := 0
	for _, o := range objs {
		got, _, err := readAll(t, r, o, Position{})
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		total += len(got)
	}
	if total != 6 {
		t.Errorf("%d records, want 6", total)
	}
	if _, _, err := ResolveInputs(ctx, []string{"s3://bucket/empty/"}, InputOptions{S3PathStyle: true}); err == nil {
		t.Error("empty prefix resolved without error")
	}
}
