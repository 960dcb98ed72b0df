package s3source

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
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

// fault is what faultHandler does to one GET of an object.
type fault string

const (
	pass     fault = ""
	slowDown fault = "503"
	internal fault = "500"
	reset    fault = "reset" // send part of the body, then drop the connection
	slow     fault = "slow"  // send the body in 1 KiB flushed writes
	stall    fault = "stall" // send part of the body, then wait for the request to be cancelled
)

// faultHandler wraps the fake S3 server and injects faults into object GETs.
type faultHandler struct {
	next http.Handler
	mu   sync.Mutex
	plan func(n int) fault // n counts object GETs from 1
	gets []http.Header
	hook func(n int) // runs before a GET is served
}

func (h *faultHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isGet := r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
	if !isGet {
		h.next.ServeHTTP(w, r)
		return
	}
	h.mu.Lock()
	h.gets = append(h.gets, r.Header.Clone())
	n := len(h.gets)
	f := pass
	if h.plan != nil {
		f = h.plan(n)
	}
	hook := h.hook
	h.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	switch f {
	case slowDown:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	case internal:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>`)
		return
	case pass:
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	body := rec.Body.Bytes()
	fl := w.(http.Flusher)
	switch f {
	case reset, stall:
		w.Write(body[:len(body)/3])
		fl.Flush()
		if f == stall {
			<-r.Context().Done()
		}
		panic(http.ErrAbortHandler)
	case slow:
		for len(body) > 0 {
			k := min(1024, len(body))
			w.Write(body[:k])
			fl.Flush()
			body = body[k:]
		}
	}
}

func (h *faultHandler) headers() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.gets)
}

type s3env struct {
	client *s3.Client
	faults *faultHandler
	url    string
}

// newS3 starts rclone/gofakes3 on loopback (TLS when tls is set) with SigV4
// verification, behind a fault-injecting handler, and builds a hermetic client.
func newS3(t testing.TB, tls bool) *s3env {
	t.Helper()
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "")
	}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithV4Auth(map[string]string{"AKIDTEST": "secret-test-key"}))
	fh := &faultHandler{next: fake.Server()}
	var ts *httptest.Server
	if tls {
		ts = httptest.NewTLSServer(fh)
	} else {
		ts = httptest.NewServer(fh)
	}
	t.Cleanup(ts.Close)
	c := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test-key", ""),
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		HTTPClient:                 ts.Client(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		// the SDK's own retries, without real sleeps
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	return &s3env{client: c, faults: fh, url: ts.URL}
}

func (e *s3env) put(t testing.TB, key string, data []byte) {
	t.Helper()
	if _, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}
