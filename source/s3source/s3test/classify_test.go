package s3test_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

func TestBucketCheck(t *testing.T) {
	env := newS3(t, true)
	ok, err := s3source.NewBucketCheck(env.client, "bucket", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Name() != "s3:bucket" {
		t.Errorf("Name() = %q", ok.Name())
	}
	if err := ok.Check(context.Background()); err != nil {
		t.Errorf("Check(existing bucket) = %v", err)
	}
	missing, _ := s3source.NewBucketCheck(env.client, "nobucket", time.Second)
	err = missing.Check(context.Background())
	if err == nil || !s3source.IsPermanent(err) || !strings.Contains(err.Error(), "nobucket") {
		t.Errorf("Check(missing bucket) = %v, want a permanent error naming the bucket", err)
	}
	if _, err := s3source.NewBucketCheck(nil, "b", 0); err == nil {
		t.Error("s3source.NewBucketCheck(nil client) succeeded")
	}
	if _, err := s3source.NewBucketCheck(env.client, "b", -1); err == nil {
		t.Error("s3source.NewBucketCheck(negative timeout) succeeded")
	}
}

// blockingHead waits for its context and records the deadline it was given.
func TestClassifyS3Errors(t *testing.T) {
	env := newS3(t, false)
	env.put(t, "k", []byte("{}"))
	ctx := context.Background()
	get := func(c *s3.Client, bucket, key string) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err == nil {
			io.Copy(io.Discard, out.Body)
			out.Body.Close()
		}
		return err
	}
	badCreds := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(env.url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, "wrong-secret", "")})
	noBudget := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(env.url), UsePathStyle: true,
		Credentials: env.client.Options().Credentials,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.NewTokenRateLimit(1)
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	refused := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(closed.URL), UsePathStyle: true,
		Credentials: env.client.Options().Credentials, RetryMaxAttempts: 1})
	for _, tt := range []struct {
		name                         string
		plan                         func(int) fault
		call                         func() error
		retryable, throttle, permant bool
	}{
		{"no such key", nil, func() error { return get(env.client, "bucket", "missing") }, false, false, true},
		{"no such bucket", nil, func() error { return get(env.client, "nobucket", "k") }, false, false, true},
		{"bad signature", nil, func() error { return get(badCreds, "bucket", "k") }, false, false, true},
		{"503 SlowDown after SDK retries", func(int) fault { return slowDown }, func() error { return get(env.client, "bucket", "k") }, true, true, false},
		{"500 after SDK retries", func(int) fault { return internal }, func() error { return get(env.client, "bucket", "k") }, true, false, false},
		{"retry budget spent", func(int) fault { return internal }, func() error { return get(noBudget, "bucket", "k") }, true, true, false},
		{"object changed", nil, func() error { return &s3source.ObjectChangedError{Object: "s3://b/k", Err: errors.New("412")} }, false, false, true},
		{"syntax", nil, func() error { return fmt.Errorf("x: %w", &source.SyntaxError{}) }, false, false, true},
		{"record too large", nil, func() error { return &source.ObjectError{Err: &source.RecordTooLargeError{}} }, false, false, true},
		{"connection refused", nil, func() error { return get(refused, "bucket", "k") }, true, false, false},
		{"body cut short", nil, func() error { return fmt.Errorf("read: %w", io.ErrUnexpectedEOF) }, true, false, false},
		// Retryable since s3source shares resilience's transport rule, which
		// also counts an unreachable host or network outside a dial.
		{"host unreachable mid-read", nil, func() error {
			return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.EHOSTUNREACH)}
		}, true, false, false},
		{"canceled", nil, func() error { return fmt.Errorf("get: %w", context.Canceled) }, false, false, false},
		{"plain error", nil, func() error { return errors.New("boom") }, false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env.faults.mu.Lock()
			env.faults.plan, env.faults.gets = tt.plan, nil
			env.faults.mu.Unlock()
			err := tt.call()
			if err == nil {
				t.Fatal("call succeeded")
			}
			if s3source.IsRetryable(err) != tt.retryable || s3source.IsThrottled(err) != tt.throttle || s3source.IsPermanent(err) != tt.permant {
				t.Errorf("err %v: retryable %v throttle %v permanent %v, want %v %v %v", err,
					s3source.IsRetryable(err), s3source.IsThrottled(err), s3source.IsPermanent(err), tt.retryable, tt.throttle, tt.permant)
			}
			if c := (s3source.ErrorClassifier{}); c.Retryable(err) != s3source.IsRetryable(err) || c.Throttled(err) != s3source.IsThrottled(err) {
				t.Errorf("s3source.ErrorClassifier disagrees with s3source.IsRetryable/s3source.IsThrottled on %v", err)
			}
			if tt.plan != nil && tt.name != "retry budget spent" {
				if n := len(env.faults.headers()); n != 3 {
					t.Errorf("%d attempts reached the server, want the SDK's 3", n)
				}
			}
		})
	}
	if s3source.IsRetryable(nil) || s3source.IsPermanent(nil) || s3source.IsThrottled(nil) {
		t.Error("nil classified")
	}
}
