package s3adapter_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

const (
	testBucket    = "bucket"
	testAccessKey = "AKIDS3ADAPTERTEST"
	testSecretKey = "s3adapter-secret-key-do-not-leak"
)

// atomicBackend makes gofakes3's conditional writes atomic.
//
// gofakes3 v0.0.12 does honour If-None-Match and If-Match on PutObject
// (conditional.go: checkWriteConditions answers 412 PreconditionFailed, and
// 404 NoSuchKey for If-Match on a missing key), but it checks them with a
// HeadObject before calling the backend's PutObject, and s3mem does not
// re-check them under its lock. Two racing conditional PUTs can therefore
// both pass the check, which real S3 never allows. gofakes3 documents the
// remedy (CheckWriteConditions: "A backend can call this as it replaces the
// object, while stopping other writes, to make the check atomic"), and this
// wrapper does exactly that: it serialises PutObject and re-checks the
// request's conditions against the current object inside the critical
// section. It changes no answer that gofakes3 gives for a request without a
// concurrent writer.
type atomicBackend struct {
	gofakes3.Backend
	mu sync.Mutex
}

func (b *atomicBackend) PutObject(ctx context.Context, bucket, key string, meta map[string]string, input io.Reader, size int64) (gofakes3.PutObjectResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gofakes3.HasWriteConditions(ctx) {
		exists, etag := false, ""
		obj, err := b.Backend.HeadObject(ctx, bucket, key)
		switch {
		case err == nil:
			exists, etag = true, hex.EncodeToString(obj.Hash)
			if obj.Contents != nil {
				_ = obj.Contents.Close()
			}
		case !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey):
			return gofakes3.PutObjectResult{}, err
		}
		if err := gofakes3.CheckWriteConditions(ctx, exists, etag); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	return b.Backend.PutObject(ctx, bucket, key, meta, input, size)
}

// recorder notes the conditional headers of every PUT and can answer a PUT
// itself instead of gofakes3 (to produce errors gofakes3 never sends, such
// as 409 ConditionalRequestConflict).
type recorder struct {
	next http.Handler

	mu          sync.Mutex
	puts        []http.Header
	override    func(r *http.Request) (status int, code string) // nil or status 0: pass
	getOverride func(r *http.Request) (status int, code string) // the same for GETs
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut || r.Method == http.MethodGet {
		h.mu.Lock()
		o := h.getOverride
		if r.Method == http.MethodPut {
			h.puts = append(h.puts, r.Header.Clone())
			o = h.override
		}
		h.mu.Unlock()
		if o != nil {
			if status, code := o(r); status != 0 {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test</Message><RequestId>TESTREQ</RequestId></Error>`, code)
				return
			}
		}
	}
	h.next.ServeHTTP(w, r)
}

func (h *recorder) setGetOverride(f func(r *http.Request) (int, string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.getOverride = f
}

func (h *recorder) setOverride(f func(r *http.Request) (int, string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.override = f
}

func (h *recorder) lastPut(t *testing.T) http.Header {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.puts) == 0 {
		t.Fatal("no PUT recorded")
	}
	return h.puts[len(h.puts)-1]
}

type env struct {
	client *s3.Client
	rec    *recorder
}

// newEnv starts gofakes3 (in memory, SigV4 checked) on loopback and returns
// a hermetic client for it: no ambient AWS_* configuration is read.
func newEnv(t testing.TB) *env {
	t.Helper()
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	backend := &atomicBackend{Backend: s3mem.New()}
	fake := gofakes3.New(backend, gofakes3.WithV4Auth(map[string]string{testAccessKey: testSecretKey}))
	rec := &recorder{next: fake.Server()}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	c := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		HTTPClient:                 ts.Client(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	return &env{client: c, rec: rec}
}

// keys lists the keys under prefix.
func (e *env) keys(t testing.TB, prefix string) []string {
	t.Helper()
	out, err := e.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testSecretKey, testAccessKey, "Signature=", "Authorization"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}
