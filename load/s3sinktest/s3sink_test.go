// Package s3sinktest_test tests load.S3Sink against the in-process S3
// server of s3test. It lives outside load's directory, in a directory that
// holds only tests and that no program imports: go mod tidy in a module that
// imports load also loads load's own tests, and would otherwise download
// gofakes3 and its dependencies for every importer (TestDependencyWeight in
// the module root checks that it does not).
package s3sinktest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

// minPartSize is S3's smallest part (but the last), as S3Sink requires.
const minPartSize = 5 << 20

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
		k += " upload" // POST completes the upload, DELETE aborts it
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

// newS3 starts an S3 server with the bucket "bucket", counting the requests
// it serves.
func newS3(t *testing.T) (*s3test.Server, *countingHandler) {
	t.Helper()
	h := &countingHandler{n: map[string]int{}}
	srv := s3test.NewServer(t, s3test.Options{
		Buckets: []string{"bucket"},
		Wrap:    func(next http.Handler) http.Handler { h.next = next; return h },
	})
	return srv, h
}

func stagedFile(t *testing.T, dir, name string, data []byte) load.File {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return load.File{Path: p, Name: name, Size: int64(len(data)), Rows: 3, SHA256: hex.EncodeToString(sum[:])}
}

func TestS3Sink(t *testing.T) {
	srv, h := newS3(t)
	c := srv.Client()
	ctx := context.Background()
	sink := &load.S3Sink{Client: c, Bucket: "bucket", Prefix: "pipe/events", PartSize: minPartSize}
	dir := t.TempDir()
	small := stagedFile(t, dir, "small.ndjson.gz", []byte("small file\n"))
	big := make([]byte, 2*minPartSize+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.IntN(256))
	}
	large := stagedFile(t, dir, "large.ndjson.gz", big)

	for _, f := range []load.File{small, large} {
		obj, err := sink.Put(ctx, "2026/12/03", f)
		if err != nil {
			t.Fatalf("Put(%s): %v", f.Name, err)
		}
		if want := "pipe/events/2026/12/03/" + f.Name; obj.Key != want || obj.Skipped {
			t.Errorf("Put(%s) = %+v, want key %s, uploaded", f.Name, obj, want)
		}
		got := srv.Get(t, "bucket", obj.Key)
		want, _ := os.ReadFile(f.Path)
		if !bytes.Equal(got, want) {
			t.Errorf("object %s differs from the file (%d vs %d bytes)", obj.Key, len(got), len(want))
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String(obj.Key)})
		if err != nil {
			t.Fatal(err)
		}
		// flatpipe-sha256 is the metadata key S3Sink's doc names.
		if head.Metadata["flatpipe-sha256"] != f.SHA256 {
			t.Errorf("object %s metadata %v, want its SHA-256", obj.Key, head.Metadata)
		}
	}
	if h.count("POST create-multipart") != 1 || h.count("PUT part") != 3 || h.count("POST upload") != 1 {
		t.Errorf("requests %v, want one multipart upload of 3 parts", h.n)
	}
	// A replay uploads nothing.
	puts := h.count("PUT") + h.count("PUT part")
	for _, f := range []load.File{small, large} {
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
	if h.count("DELETE upload") != 1 {
		t.Errorf("requests %v, want the refused upload aborted", h.n)
	}
	if keys := srv.Keys(t, "bucket", "pipe/events/lie"); len(keys) != 0 {
		t.Errorf("refused upload left objects %v", keys)
	}
	if _, err := (&load.S3Sink{Client: c, Bucket: "bucket", PartSize: 1}).Put(ctx, "", small); !errors.Is(err, load.ErrOptions) {
		t.Errorf("Put with a 1-byte part size = %v, want ErrOptions", err)
	}
}
