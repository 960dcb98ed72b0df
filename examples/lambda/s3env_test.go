package main

import (
	"bytes"
	"context"
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

// The buckets of the in-process S3 server.
const (
	srcBucket  = "source"
	dstBucket  = "dest"
	deadBucket = "dead"
)

// s3env is gofakes3 (in memory) on loopback, with a fault switch: GETs of
// a throttled key answer 503 SlowDown, as S3 does under load.
type s3env struct {
	srv    *httptest.Server
	client *s3.Client

	mu        sync.Mutex
	throttled map[string]bool  // "bucket/key"
	gets      map[string]int   // GETs seen per "bucket/key"
	onGet     func(key string) // called for each GET of "bucket/key"
}

func newS3Env(t testing.TB) *s3env {
	t.Helper()
	e := &s3env{throttled: map[string]bool{}, gets: map[string]int{}}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithoutVersioning())
	next := fake.Server()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			k := strings.TrimPrefix(r.URL.Path, "/")
			e.mu.Lock()
			e.gets[k]++
			th, hook := e.throttled[k], e.onGet
			e.mu.Unlock()
			if hook != nil {
				hook(k)
			}
			if th {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			}
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.client = s3.NewFromConfig(e.awsConfig())
	for _, b := range []string{srcBucket, dstBucket, deadBucket} {
		if _, err := e.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket(%s): %v", b, err)
		}
	}
	return e
}

// awsConfig is a hermetic SDK configuration for the server: it reads no
// ambient AWS_* variable, and the SDK's retries do not wait.
func (e *s3env) awsConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLAMBDATEST", "lambda-test-secret", ""),
		BaseEndpoint: aws.String(e.srv.URL),
		HTTPClient:   e.srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
}

func (e *s3env) throttle(bucket, key string, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttled[bucket+"/"+key] = on
}

func (e *s3env) getCount(bucket, key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gets[bucket+"/"+key]
}

// put stores an object and returns its ETag.
func (e *s3env) put(t testing.TB, bucket, key string, body []byte) string {
	t.Helper()
	out, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject(%s/%s): %v", bucket, key, err)
	}
	return aws.ToString(out.ETag)
}

func (e *s3env) get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	out, err := e.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject(%s/%s): %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject(%s/%s): %v", bucket, key, err)
	}
	return b
}

// list returns the keys under prefix, in key order.
func (e *s3env) list(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListObjectsV2(%s/%s): %v", bucket, prefix, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
