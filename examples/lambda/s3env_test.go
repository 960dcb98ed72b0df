package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
	"github.com/rclone/gofakes3"
)

// The buckets of the in-process S3 server.
const (
	srcBucket  = "source"
	dstBucket  = "dest"
	deadBucket = "dead"
)

// s3env is the in-process S3 server (s3test, without versioning) with a
// fault switch: GETs of a throttled key answer 503 SlowDown, as S3 does
// under load.
type s3env struct {
	srv    *s3test.Server
	client *s3.Client

	mu        sync.Mutex
	throttled map[string]bool  // "bucket/key"
	gets      map[string]int   // GETs seen per "bucket/key"
	onGet     func(key string) // called for each GET of "bucket/key"
}

func newS3Env(t testing.TB) *s3env {
	t.Helper()
	e := &s3env{throttled: map[string]bool{}, gets: map[string]int{}}
	e.srv = s3test.NewServer(t, s3test.Options{
		Buckets:   []string{srcBucket, dstBucket, deadBucket},
		AccessKey: "AKIDLAMBDATEST",
		SecretKey: "lambda-test-secret",
		GoFakeS3:  []gofakes3.Option{gofakes3.WithoutVersioning()},
		Wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
						s3test.WriteError(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
						return
					}
				}
				next.ServeHTTP(w, r)
			})
		},
	})
	e.client = e.srv.Client()
	return e
}

// awsConfig is a hermetic SDK configuration for the server: it reads no
// ambient AWS_* variable, and the SDK's retries do not wait.
func (e *s3env) awsConfig() aws.Config { return e.srv.AWSConfig() }

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
	return e.srv.Put(t, bucket, key, body)
}

func (e *s3env) get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	return e.srv.Get(t, bucket, key)
}

// list returns the keys under prefix, in key order.
func (e *s3env) list(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	return e.srv.Keys(t, bucket, prefix)
}
