package s3test_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

func TestServer(t *testing.T) {
	for _, tls := range []bool{false, true} {
		srv := s3test.NewServer(t, s3test.Options{Buckets: []string{"one", "two"}, TLS: tls})
		if tls != strings.HasPrefix(srv.URL, "https://") {
			t.Errorf("TLS %v: URL %s", tls, srv.URL)
		}
		srv.Put(t, "one", "x/2", []byte("two"))
		srv.Put(t, "one", "x/1", []byte("one"))
		srv.Put(t, "one", "y", []byte("why"))
		if got, want := srv.Keys(t, "one", "x/"), []string{"x/1", "x/2"}; !slices.Equal(got, want) {
			t.Errorf("Keys(a, x/) = %q, want %q", got, want)
		}
		if got := srv.Keys(t, "two", ""); len(got) != 0 {
			t.Errorf("Keys(b) = %q, want none", got)
		}
		if got := string(srv.Get(t, "one", "x/2")); got != "two" {
			t.Errorf("Get(a, x/2) = %q, want two", got)
		}
	}
}

// TestEnvironment: the server's test reads no AWS variable of the host.
func TestEnvironment(t *testing.T) {
	t.Setenv("AWS_PROFILE", "from-the-host")
	s3test.NewServer(t, s3test.Options{})
	if v := os.Getenv("AWS_PROFILE"); v != "" {
		t.Errorf("AWS_PROFILE = %q after NewServer, want empty", v)
	}
}

// TestSignatures: a client with the wrong secret is refused.
func TestSignatures(t *testing.T) {
	srv := s3test.NewServer(t, s3test.Options{Buckets: []string{"one"}, AccessKey: "AKIDOTHER", SecretKey: "other-secret"})
	srv.Put(t, "one", "k", []byte("v"))
	cfg := srv.AWSConfig()
	cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "wrong"}, nil
	}))
	bad := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err := bad.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("one"), Key: aws.String("k")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("GetObject with a wrong secret: %v, want SignatureDoesNotMatch", err)
	}
}

// TestWrap: the wrapper sees every request and can answer with WriteError.
func TestWrap(t *testing.T) {
	var mu sync.Mutex
	var methods []string
	srv := s3test.NewServer(t, s3test.Options{Buckets: []string{"one"}, Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			methods = append(methods, r.Method)
			mu.Unlock()
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/busy") {
				s3test.WriteError(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	srv.Put(t, "one", "busy", []byte("v"))
	c := s3.NewFromConfig(srv.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 1 })
	_, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("one"), Key: aws.String("busy")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
		t.Errorf("GetObject(busy) = %v, want SlowDown", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"PUT", "PUT", "GET"}; !slices.Equal(methods, want) { // CreateBucket, Put, Get
		t.Errorf("requests %q, want %q", methods, want)
	}
}

// gatedBackend holds the first two HeadObject calls until both have
// arrived: gofakes3's checks of two racing conditional writes both run
// before either write.
type gatedBackend struct {
	gofakes3.Backend
	mu      sync.Mutex
	heads   int
	arrived chan struct{}
}

func (b *gatedBackend) HeadObject(ctx context.Context, bucket, key string) (*gofakes3.Object, error) {
	b.mu.Lock()
	b.heads++
	n := b.heads
	b.mu.Unlock()
	switch n {
	case 1:
		<-b.arrived
	case 2:
		close(b.arrived)
	}
	return b.Backend.HeadObject(ctx, bucket, key)
}

// TestConditionalWrites: of two writers racing to create one key with
// If-None-Match: *, exactly one wins, as on S3, even when both pass
// gofakes3's own check before either writes; an If-Match with a stale ETag
// fails.
func TestConditionalWrites(t *testing.T) {
	gate := &gatedBackend{Backend: s3mem.New(), arrived: make(chan struct{})}
	srv := s3test.NewServer(t, s3test.Options{Buckets: []string{"one"}, Backend: gate})
	c := srv.Client()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("one"), Key: aws.String("k"),
				Body: strings.NewReader(strings.Repeat("x", i+1)), IfNoneMatch: aws.String("*")})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var ae smithy.APIError
		switch {
		case err == nil:
			won++
		case !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed":
			t.Errorf("losing PutObject: %v, want PreconditionFailed", err)
		}
	}
	if won != 1 {
		t.Errorf("%d conditional creates succeeded, want 1", won)
	}
	etag := srv.Put(t, "one", "k", []byte("new"))
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("one"), Key: aws.String("k"),
		Body: strings.NewReader("stale"), IfMatch: aws.String(`"0123"`)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed" {
		t.Errorf("PutObject with a stale If-Match: %v, want PreconditionFailed", err)
	}
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("one"), Key: aws.String("k"),
		Body: strings.NewReader("next"), IfMatch: aws.String(etag)}); err != nil {
		t.Errorf("PutObject with the current If-Match: %v", err)
	}
	if got := string(srv.Get(t, "one", "k")); got != "next" {
		t.Errorf("object = %q, want next", got)
	}
}
