package source

import (
	"bytes"
	"context"
	"errors"
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

// readAll reads obj through r and returns the records.
func readAll(t testing.TB, r *Reader, obj Object, from Position) ([]rec, Position, error) {
	t.Helper()
	var out []rec
	pos, err := r.ReadObject(context.Background(), obj, from, func(x Record) error {
		out = append(out, rec{string(x.Data), x.Offset, x.Line, x.Number})
		return nil
	})
	return out, pos, err
}

func testObjects(t testing.TB) (plain []byte, objs map[string][]byte) {
	plain, _ = bigInput(600<<10, NDJSON)
	return plain, map[string][]byte{"plain.ndjson": plain, "data.ndjson.gz": gz(t, plain), "data.zst": zst(t, plain)}
}

func TestS3ReadObjectFaults(t *testing.T) {
	plain, objs := testObjects(t)
	want, err := scanAll(t, bytes.NewReader(plain), Options{})
	if err != nil {
		t.Fatal(err)
	}
	plans := []struct {
		name    string
		plan    func(n int) fault
		resumes int // GETs carrying a Range
	}{
		{"none", nil, 0},
		{"503 SlowDown", func(n int) fault { return map[int]fault{1: slowDown, 2: slowDown}[n] }, 0},
		{"500", func(n int) fault { return map[int]fault{1: internal}[n] }, 0},
		{"reset mid-body", func(n int) fault { return map[int]fault{1: reset, 2: reset, 3: slowDown}[n] }, 3},
		{"slow body", func(int) fault { return slow }, 0},
	}
	for _, tls := range []bool{false, true} {
		env := newS3(t, tls)
		for k, v := range objs {
			env.put(t, k, v)
		}
		r, err := NewReader(env.client, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plans {
			for _, key := range []string{"plain.ndjson", "data.ndjson.gz", "data.zst"} {
				t.Run(fmt.Sprintf("tls=%v/%s/%s", tls, p.name, key), func(t *testing.T) {
					env.faults.mu.Lock()
					env.faults.plan, env.faults.gets = p.plan, nil
					env.faults.mu.Unlock()
					got, pos, err := readAll(t, r, Object{Bucket: "bucket", Key: key}, Position{})
					if err != nil {
						t.Fatalf("ReadObject: %v", err)
					}
					if len(got) != len(want) {
						t.Fatalf("got %d records, want %d", len(got), len(want))
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("record %d = %v, want %v", i+1, got[i], want[i])
						}
					}
					if pos.Record != int64(len(want)) || pos.Offset != int64(len(plain)) {
						t.Errorf("final position %+v, want record %d offset %d", pos, len(want), len(plain))
					}
					ranged := 0
					for i, h := range env.faults.headers() {
						if h.Get("Range") != "" {
							ranged++
							if h.Get("If-Match") == "" {
								t.Errorf("GET %d resumed with Range %q but no If-Match", i+1, h.Get("Range"))
							}
						}
					}
					if ranged != p.resumes {
						t.Errorf("%d Range GETs, want %d", ranged, p.resumes)
					}
				})
			}
		}
	}
}

func TestS3ObjectChangedDuringRead(t *testing.T) {
	plain, objs := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k.gz", objs["data.ndjson.gz"])
	env.faults.plan = func(n int) fault { return map[int]fault{1: reset}[n] }
	env.faults.hook = func(n int) {
		if n == 2 { // the resume: the object was replaced meanwhile
			other := append([]byte("{\"other\":1}\n"), plain...)
			env.put(t, "k.gz", gz(t, other))
		}
	}
	r, _ := NewReader(env.client, ReaderOptions{})
	got, _, err := readAll(t, r, Object{Bucket: "bucket", Key: "k.gz"}, Position{})
	var ce *ObjectChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ObjectChangedError", err)
	}
	for _, g := range got {
		if strings.Contains(g.Data, "other") {
			t.Fatalf("record from the new object leaked: %v", g)
		}
	}
}

func TestS3ResumeBudget(t *testing.T) {
	_, objs := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k", objs["plain.ndjson"])
	env.faults.plan = func(n int) fault { return reset }
	r, _ := NewReader(env.client, ReaderOptions{MaxResumes: 2})
	_, _, err := readAll(t, r, Object{Bucket: "bucket", Key: "k"}, Position{})
	var oe *ObjectError
	if !errors.As(err, &oe) || oe.Object != "s3://bucket/k" {
		t.Fatalf("err = %v, want *ObjectError for s3://bucket/k", err)
	}
	// each reset still delivers a third of what was asked, so progress resets
	// the budget; the read gives up only when resumes stop making progress
	if n := len(env.faults.headers()); n < 3 {
		t.Errorf("%d GETs, want at least 3", n)
	}
}

func TestS3StalledBodyCancel(t *testing.T) {
	_, objs := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k", objs["plain.ndjson"])
	env.faults.plan = func(int) fault { return stall }
	r, _ := NewReader(env.client, ReaderOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	_, err := r.ReadObject(ctx, Object{Bucket: "bucket", Key: "k"}, Position{}, func(Record) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestReadObjectResume(t *testing.T) {
	plain, objs := testObjects(t)
	want, _ := scanAll(t, bytes.NewReader(plain), Options{})
	env := newS3(t, false)
	dir := t.TempDir()
	for k, v := range objs {
		env.put(t, k, v)
		writeFile(t, dir+"/"+k, v)
	}
	r, _ := NewReader(env.client, ReaderOptions{})
	for _, key := range []string{"plain.ndjson", "data.ndjson.gz", "data.zst"} {
		for _, obj := range []Object{{Bucket: "bucket", Key: key}, {Key: dir + "/" + key}} {
			t.Run(obj.String(), func(t *testing.T) {
				stop := errors.New("stop")
				var first []rec
				pos, err := r.ReadObject(context.Background(), obj, Position{}, func(x Record) error {
					if len(first) == 500 {
						return stop
					}
					first = append(first, rec{string(x.Data), x.Offset, x.Line, x.Number})
					return nil
				})
				if !errors.Is(err, stop) || pos.Record != 500 {
					t.Fatalf("first pass: %v at %+v", err, pos)
				}
				env.faults.mu.Lock()
				env.faults.gets = nil
				env.faults.mu.Unlock()
				rest, _, err := readAll(t, r, obj, pos)
				if err != nil {
					t.Fatal(err)
				}
				got := append(first, rest...)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("resumed read differs: %d+%d records, want %d", len(first), len(rest), len(want))
				}
				if obj.IsS3() && key == "plain.ndjson" {
					h := env.faults.headers()
					if len(h) != 2 || h[1].Get("Range") != fmt.Sprintf("bytes=%d-", pos.Offset) {
						t.Errorf("resume GETs %v, want a sniff then Range bytes=%d-", h, pos.Offset)
					}
				}
			})
		}
	}
}

func TestListS3(t *testing.T) {
	env := newS3(t, true)
	keys := []string{"a/3.json", "a/1.json", "a/2.json.gz", "a/sub/4.json", "b/5.json", "a/dir/"}
	for _, k := range keys {
		env.put(t, k, []byte("{}"))
	}
	for _, tt := range []struct {
		opts ListOptions
		want string
	}{
		{ListOptions{Bucket: "bucket", Prefix: "a/"}, "[a/1.json a/2.json.gz a/3.json a/sub/4.json]"},
		{ListOptions{Bucket: "bucket", Prefix: "a/", StartAfter: "a/2.json.gz"}, "[a/3.json a/sub/4.json]"},
		{ListOptions{Bucket: "bucket", Suffixes: []string{".gz"}}, "[a/2.json.gz]"},
		{ListOptions{Bucket: "bucket", Limit: 2}, "[a/1.json a/2.json.gz]"},
		{ListOptions{Bucket: "bucket", ModifiedAfter: time.Now().Add(time.Hour)}, "[]"},
	} {
		objs, err := ListS3(context.Background(), env.client, tt.opts)
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
			if o.ETag == "" || o.Size != 2 {
				t.Errorf("object %+v lacks identity", o)
			}
		}
		if err != nil || fmt.Sprint(got) != tt.want && !(tt.want == "[]" && got == nil) {
			t.Errorf("ListS3(%+v) = %v, %v, want %s", tt.opts, got, err, tt.want)
		}
	}
}

func TestReadObjectResumeReopenFails(t *testing.T) {
	plain, _ := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k", plain)
	env.faults.plan = func(n int) fault {
		if n >= 2 {
			return internal
		}
		return pass
	}
	r, _ := NewReader(env.client, ReaderOptions{})
	_, err := r.ReadObject(context.Background(), Object{Bucket: "bucket", Key: "k"}, Position{Offset: 100, Record: 2}, func(Record) error { return nil })
	if err == nil || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestScannerClosed(t *testing.T) {
	s := NewScanner(strings.NewReader("1\n2\n"), NDJSON)
	if !s.Scan() {
		t.Fatal(s.Err())
	}
	s.Close()
	if s.Scan() || !errors.Is(s.Err(), ErrClosed) {
		t.Errorf("Scan after Close: Err() = %v, want ErrClosed", s.Err())
	}
	s.Reset(strings.NewReader("3\n"))
	if !s.Scan() || string(s.Bytes()) != "3" {
		t.Errorf("Scan after Reset = %q, %v", s.Bytes(), s.Err())
	}
}

func TestReadObjectResumePastEnd(t *testing.T) {
	env := newS3(t, false)
	env.put(t, "k", []byte("{}\n{}\n"))
	r, _ := NewReader(env.client, ReaderOptions{})
	for _, from := range []Position{{Offset: 100, Record: 2}, {Record: 5}} {
		_, err := r.ReadObject(context.Background(), Object{Bucket: "bucket", Key: "k"}, from, func(Record) error { return nil })
		var oe *ObjectError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), "past the end") {
			t.Errorf("resume at %+v: err = %v, want past-the-end *ObjectError", from, err)
		}
	}
}
