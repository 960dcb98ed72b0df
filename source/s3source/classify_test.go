package s3source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

func TestBucketCheck(t *testing.T) {
	env := newS3(t, true)
	ok, err := NewBucketCheck(env.client, "bucket", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Name() != "s3:bucket" {
		t.Errorf("Name() = %q", ok.Name())
	}
	if err := ok.Check(context.Background()); err != nil {
		t.Errorf("Check(existing bucket) = %v", err)
	}
	missing, _ := NewBucketCheck(env.client, "nobucket", time.Second)
	err = missing.Check(context.Background())
	if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "nobucket") {
		t.Errorf("Check(missing bucket) = %v, want a permanent error naming the bucket", err)
	}
	if _, err := NewBucketCheck(nil, "b", 0); err == nil {
		t.Error("NewBucketCheck(nil client) succeeded")
	}
	if _, err := NewBucketCheck(env.client, "b", -1); err == nil {
		t.Error("NewBucketCheck(negative timeout) succeeded")
	}
}

// blockingHead waits for its context and records the deadline it was given.
type blockingHead struct {
	deadline time.Time
	hasDL    bool
}

func (b *blockingHead) HeadBucket(ctx context.Context, _ *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	b.deadline, b.hasDL = ctx.Deadline()
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestBucketCheckTimeout checks that Check puts its timeout on the call's
// context (a deadline exists and has passed when Check returns) and that a
// zero timeout means DefaultHealthTimeout; it measures no durations.
func TestBucketCheckTimeout(t *testing.T) {
	h := &blockingHead{}
	c, _ := NewBucketCheck(h, "b", time.Millisecond)
	err := c.Check(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Check = %v, want DeadlineExceeded", err)
	}
	if !h.hasDL || h.deadline.After(time.Now()) {
		t.Errorf("HeadBucket's context deadline %v (set %v), want one that has passed", h.deadline, h.hasDL)
	}
	if d, _ := NewBucketCheck(h, "b", 0); d.timeout != DefaultHealthTimeout {
		t.Errorf("timeout 0 gave %v, want DefaultHealthTimeout", d.timeout)
	}
}

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
		{"object changed", nil, func() error { return &ObjectChangedError{Object: "s3://b/k", Err: errors.New("412")} }, false, false, true},
		{"syntax", nil, func() error { return fmt.Errorf("x: %w", &source.SyntaxError{}) }, false, false, true},
		{"record too large", nil, func() error { return &source.ObjectError{Err: &source.RecordTooLargeError{}} }, false, false, true},
		{"connection refused", nil, func() error { return get(refused, "bucket", "k") }, true, false, false},
		{"body cut short", nil, func() error { return fmt.Errorf("read: %w", io.ErrUnexpectedEOF) }, true, false, false},
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
			if IsRetryable(err) != tt.retryable || IsThrottled(err) != tt.throttle || IsPermanent(err) != tt.permant {
				t.Errorf("err %v: retryable %v throttle %v permanent %v, want %v %v %v", err,
					IsRetryable(err), IsThrottled(err), IsPermanent(err), tt.retryable, tt.throttle, tt.permant)
			}
			if c := (ErrorClassifier{}); c.Retryable(err) != IsRetryable(err) || c.Throttled(err) != IsThrottled(err) {
				t.Errorf("ErrorClassifier disagrees with IsRetryable/IsThrottled on %v", err)
			}
			if tt.plan != nil && tt.name != "retry budget spent" {
				if n := len(env.faults.headers()); n != 3 {
					t.Errorf("%d attempts reached the server, want the SDK's 3", n)
				}
			}
		})
	}
	if IsRetryable(nil) || IsPermanent(nil) || IsThrottled(nil) {
		t.Error("nil classified")
	}
}
