// Package s3test runs an in-process S3 server for tests, as net/http/httptest
// runs an HTTP server: github.com/rclone/gofakes3 over an in-memory backend
// on loopback, verifying SigV4 signatures, and an S3 client for it that reads
// nothing from the host (no AWS_* variable, no shared configuration file) and
// whose retries do not sleep.
//
//	srv := s3test.NewServer(t, s3test.Options{Buckets: []string{"bucket"}})
//	srv.Put(t, "bucket", "in/a.ndjson", data)
//	op, err := s3source.NewOpener(srv.Client(), s3source.OpenerOptions{})
//
// Options.Wrap puts a handler in front of the server to record requests or
// inject faults (WriteError writes S3's error answers, such as 503 SlowDown).
// The backend makes conditional writes (If-None-Match, If-Match) atomic, as
// S3 does, so tests of checkpoint and dead-letter stores can race writers.
//
// Only tests should import this package: it links gofakes3. Programs that
// import s3source do not, and s3source's own tests against the server live
// in this directory (package s3test_test) for the same reason: go mod tidy
// in a module that imports a package also loads that package's tests, so
// gofakes3 and its dependencies (golang.org/x/tools among them) would
// otherwise be downloaded by every importer of s3source.
//
// # Stability
//
// New, and more likely to change than s3source itself.
package s3test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
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

// The credentials the server accepts and the client signs with, unless
// Options sets others.
const (
	AccessKey = "AKIDS3TEST"
	SecretKey = "s3test-secret-key"
)

// Options configures a Server. The zero value serves plain HTTP, accepts
// AccessKey and SecretKey, and creates no bucket.
type Options struct {
	// Buckets are created when the server starts.
	Buckets []string
	// TLS serves HTTPS with httptest's certificate, which the clients of
	// Client and AWSConfig trust.
	TLS bool
	// AccessKey and SecretKey replace the package's credentials (both, or
	// neither).
	AccessKey, SecretKey string
	// Wrap, if set, wraps the server's handler: to record requests, or to
	// answer some of them itself.
	Wrap func(http.Handler) http.Handler
	// Backend replaces the in-memory backend (for example to wrap it); the
	// Server makes its conditional writes atomic.
	Backend gofakes3.Backend
	// GoFakeS3 are more options for gofakes3.New (gofakes3.WithoutVersioning,
	// gofakes3.WithTimeSource, ...).
	GoFakeS3 []gofakes3.Option
}

// Server is an S3 server on loopback. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the server's base URL, for clients built elsewhere (path-style
	// addressing).
	URL string

	srv         *httptest.Server
	access, key string
	clientOnce  sync.Once
	client      *s3.Client
}

// NewServer starts a Server, and closes it when the test ends. It clears the
// AWS_* variables of the test (t.Setenv), so that no code under test reads
// the host's credentials, profile or endpoint: a test that sets them must do
// so after NewServer. It fails the test if a bucket cannot be created.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	ClearAWSEnv(t)
	s := &Server{access: opts.AccessKey, key: opts.SecretKey}
	if s.access == "" && s.key == "" {
		s.access, s.key = AccessKey, SecretKey
	}
	backend := opts.Backend
	if backend == nil {
		backend = s3mem.New()
	}
	fopts := append([]gofakes3.Option{gofakes3.WithV4Auth(map[string]string{s.access: s.key})}, opts.GoFakeS3...)
	var h http.Handler = gofakes3.New(&atomicBackend{Backend: backend}, fopts...).Server()
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	if opts.TLS {
		s.srv = httptest.NewTLSServer(h)
	} else {
		s.srv = httptest.NewServer(h)
	}
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	for _, b := range opts.Buckets {
		if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("s3test: CreateBucket %s: %v", b, err)
		}
	}
	return s
}

// AWSConfig is an SDK configuration for the server that reads nothing from
// the host: static credentials, region us-east-1, checksums only where S3
// requires them, and standard retries without waiting. Use it with
// s3.NewFromConfig and UsePathStyle, as Client does.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(s.access, s.key, ""),
		BaseEndpoint: aws.String(s.srv.URL),
		HTTPClient:   s.srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
}

// Client returns the server's client (one per Server), built from AWSConfig
// with path-style addressing.
func (s *Server) Client() *s3.Client {
	s.clientOnce.Do(func() {
		s.client = s3.NewFromConfig(s.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	})
	return s.client
}

// Put stores an object and returns its ETag; it fails the test on an error.
func (s *Server) Put(t testing.TB, bucket, key string, body []byte) string {
	t.Helper()
	out, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("s3test: PutObject %s/%s: %v", bucket, key, err)
	}
	return aws.ToString(out.ETag)
}

// Get returns an object's body; it fails the test on an error.
func (s *Server) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	out, err := s.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("s3test: GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("s3test: GetObject %s/%s: %v", bucket, key, err)
	}
	return b
}

// Keys returns the keys under prefix, in key order; it fails the test on an
// error.
func (s *Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("s3test: ListObjectsV2 %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// awsVars are the variables the AWS SDK reads for credentials, region,
// endpoints and configuration files.
var awsVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
	"AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
}

// ClearAWSEnv sets the AWS SDK's variables to "" for the rest of the test
// (t.Setenv), so that nothing reads the host's credentials, profile or
// endpoint, and sets AWS_EC2_METADATA_DISABLED so that nothing asks an
// instance metadata service.
func ClearAWSEnv(t testing.TB) {
	t.Helper()
	for _, k := range awsVars {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// WriteError writes an S3 error answer: status, and the XML body with code
// and message (for example 503, "SlowDown", "Please reduce your request
// rate.").
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, message)
}

// atomicBackend makes gofakes3's conditional writes atomic.
//
// gofakes3 v0.0.12 honours If-None-Match and If-Match on PutObject (412
// PreconditionFailed, and 404 NoSuchKey for If-Match on a missing key), but
// checks them with a HeadObject before calling the backend's PutObject, and
// s3mem does not check them again under its lock: two racing conditional
// PUTs could both pass, which S3 never allows. As gofakes3's
// CheckWriteConditions documents, a backend can check again while it stops
// other writes; this wrapper serialises PutObject and does. It changes no
// answer to a request without a concurrent writer.
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
