package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

// TestS3Inputs runs the command on s3:// inputs served by an in-process S3
// server on loopback, configured the way a user would: through the SDK's
// standard environment variables and -s3-path-style.
func TestS3Inputs(t *testing.T) {
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithV4Auth(map[string]string{"AKIDTEST": "secret-test-key"}))
	ts := httptest.NewServer(fake.Server())
	defer ts.Close()
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL_S3", ts.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-test-key")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	c := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test-key", ""),
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("events")}); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"b\":{\"n\":2}}\n{\"bad\":\n"))
	zw.Close()
	for key, body := range map[string][]byte{
		"2026/11/a.json": []byte("{\"a\":[1,2]}\n"),
		"2026/11/b.bin":  gz.Bytes(), // gzip detected by content
		"other/c.json":   []byte("{\"c\":3}\n"),
	} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("events"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}

	out, errs, code := runCLI(t, "", "-s3-path-style", "-arrays", "index", "s3://events/2026/11/", "s3://events/other/c.json")
	if want := "{\"a.0\":1,\"a.1\":2}\n{\"b.n\":2}\n{\"c\":3}\n"; out != want {
		t.Errorf("stdout = %q, want %q (prefix objects in key order, then the named object)", out, want)
	}
	if code != 1 || !strings.Contains(errs, "s3://events/2026/11/b.bin: record 2 (line 2, offset 14)") {
		t.Errorf("exit %d, stderr %q; want 1 naming s3://events/2026/11/b.bin record 2 at offset 14", code, errs)
	}
	if strings.Contains(errs, "secret-test-key") {
		t.Errorf("stderr leaks the secret key: %q", errs)
	}
	// A missing object is reported and the other inputs are still read.
	out, errs, code = runCLI(t, "", "-s3-path-style", "s3://events/nope.json", "s3://events/other/c.json")
	if out != "{\"c\":3}\n" || code != 1 || !strings.Contains(errs, "nope.json") {
		t.Errorf("missing object: stdout %q, exit %d, stderr %q", out, code, errs)
	}
}
