package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

// countingHandler counts requests by method and query.
type countingHandler struct {
	next http.Handler
	mu   sync.Mutex
	n    map[string]int
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	k := r.Method
	switch {
	case r.URL.Query().Has("uploads"):
		k += " create-multipart"
	case r.URL.Query().Has("partNumber"):
		k += " part"
	case r.URL.Query().Has("uploadId"):
		k += " complete"
	}
	h.n[k]++
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

func (h *countingHandler) count(k string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[k]
}

func newS3(t *testing.T) (*s3.Client, *countingHandler) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION"} {
		t.Setenv(k, "")
	}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithV4Auth(map[string]string{"AKIDTEST": "secret-test-key"}))
	h := &countingHandler{next: fake.Server(), n: map[string]int{}}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test-key", ""),
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		HTTPClient:                 ts.Client(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatal(err)
	}
	return c, h
}

func stagedFile(t *testing.T, dir, name string, data []byte) File {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return File{Path: p, Name: name, Size: int64(len(data)), Rows: 3, SHA256: hex.EncodeToString(sum[:])}
}

func TestS3Sink(t *testing.T) {
	c, h := newS3(t)
	ctx := context.Background()
	sink := &S3Sink{Client: c, Bucket: "bucket", Prefix: "pipe/events", PartSize: minPartSize}
	dir := t.TempDir()
	small := stagedFile(t, dir, "small.ndjson.gz", []byte("small file\n"))
	big := make([]byte, 2*minPartSize+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.IntN(256))
	}
	large := stagedFile(t, dir, "large.ndjson.gz", big)

	for _, f := range []File{small, large} {
		obj, err := sink.Put(ctx, "2026/12/03", f)
		if err != nil {
			t.Fatalf("Put(%s): %v", f.Name, err)
		}
		if want := "pipe/events/2026/12/03/" + f.Name; obj.Key != want || obj.Skipped {
			t.Errorf("Put(%s) = %+v, want key %s, uploaded", f.Name, obj, want)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(obj.Key)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		want, _ := os.ReadFile(f.Path)
		if !bytes.Equal(got, want) {
			t.Errorf("object %s differs from the file (%d vs %d bytes)", obj.Key, len(got), len(want))
		}
		if out.Metadata[metaSHA256] != f.SHA256 {
			t.Errorf("object %s metadata %v, want its SHA-256", obj.Key, out.Metadata)
		}
	}
	if h.count("POST create-multipart") != 1 || h.count("PUT part") != 3 || h.count("POST complete") != 1 {
		t.Errorf("requests %v, want one multipart upload of 3 parts", h.n)
	}
	// A replay uploads nothing.
	puts := h.count("PUT") + h.count("PUT part")
	for _, f := range []File{small, large} {
		obj, err := sink.Put(ctx, "2026/12/03", f)
		if err != nil || !obj.Skipped {
			t.Errorf("replayed Put(%s) = %+v, %v; want skipped", f.Name, obj, err)
		}
	}
	if got := h.count("PUT") + h.count("PUT part"); got != puts {
		t.Errorf("replay sent %d more PUTs", got-puts)
	}
	// A file whose bytes are not its SHA-256 is refused and aborted.
	lie := large
	lie.Name = "lie.ndjson.gz"
	lie.SHA256 = strings.Repeat("0", 64)
	if _, err := sink.Put(ctx, "", lie); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("Put of a file with a wrong digest = %v, want an error", err)
	}
	if _, err := (&S3Sink{Client: c, Bucket: "bucket", PartSize: 1}).Put(ctx, "", small); !errors.Is(err, ErrOptions) {
		t.Errorf("Put with a 1-byte part size = %v, want ErrOptions", err)
	}
}
