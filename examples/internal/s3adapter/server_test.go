package s3adapter_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/source/s3source/s3test"
)

const (
	testBucket    = "bucket"
	testAccessKey = "AKIDS3ADAPTERTEST"
	testSecretKey = "s3adapter-secret-key-do-not-leak"
)

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
	srv    *s3test.Server
	client *s3.Client
	rec    *recorder
}

// newEnv starts the in-process S3 server (s3test: in memory, SigV4 checked,
// conditional writes atomic) with the bucket testBucket, behind a recorder,
// and returns its hermetic client: no ambient AWS_* configuration is read.
func newEnv(t testing.TB) *env {
	t.Helper()
	rec := &recorder{}
	srv := s3test.NewServer(t, s3test.Options{
		Buckets:   []string{testBucket},
		AccessKey: testAccessKey,
		SecretKey: testSecretKey,
		Wrap:      func(next http.Handler) http.Handler { rec.next = next; return rec },
	})
	return &env{srv: srv, client: srv.Client(), rec: rec}
}

// keys lists the keys under prefix.
func (e *env) keys(t testing.TB, prefix string) []string {
	t.Helper()
	return e.srv.Keys(t, testBucket, prefix)
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
