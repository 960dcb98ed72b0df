package s3test_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flatpipe/flatpipe/source/s3source/s3test"
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
		s3test.WriteError(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	case internal:
		s3test.WriteError(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error.")
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
	*s3test.Server
	client *s3.Client
	faults *faultHandler
	url    string
}

// newS3 starts the in-process S3 server (TLS when tls is set) with the
// bucket "bucket", behind a fault-injecting handler.
func newS3(t testing.TB, tls bool) *s3env {
	t.Helper()
	fh := &faultHandler{}
	srv := s3test.NewServer(t, s3test.Options{Buckets: []string{"bucket"}, TLS: tls,
		Wrap: func(h http.Handler) http.Handler { fh.next = h; return fh }})
	return &s3env{Server: srv, client: srv.Client(), faults: fh, url: srv.URL}
}

func (e *s3env) put(t testing.TB, key string, data []byte) {
	t.Helper()
	e.Put(t, "bucket", key, data)
}
