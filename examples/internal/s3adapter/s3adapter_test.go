package s3adapter_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/examples/internal/s3adapter"
	"github.com/flatpipe/flatpipe/resilience"
)

func newStore(t *testing.T) (*s3adapter.Store, *env) {
	t.Helper()
	e := newEnv(t)
	st, err := s3adapter.New(e.client)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return st, e
}

func TestNewNil(t *testing.T) {
	if _, err := s3adapter.New(nil); !errors.Is(err, s3adapter.ErrNilClient) {
		t.Errorf("New(nil) error = %v, want ErrNilClient", err)
	}
}

func TestRoundTripETag(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	for _, body := range [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{0xff, 0x00}, 70000)} {
		putTag, err := st.PutObject(ctx, testBucket, "k", body, resilience.PutCondition{})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		got, getTag, err := st.GetObject(ctx, testBucket, "k")
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		if !bytes.Equal(got, body) {
			t.Errorf("GetObject body = %d bytes, want %d bytes", len(got), len(body))
		}
		if getTag != putTag {
			t.Errorf("GetObject ETag = %s, PutObject ETag = %s; want equal", getTag, putTag)
		}
		if len(putTag) < 3 || putTag[0] != '"' || putTag[len(putTag)-1] != '"' {
			t.Errorf("ETag = %s, want quoted as S3 sends it", putTag)
		}
	}
}

func TestGetObjectErrors(t *testing.T) {
	st, _ := newStore(t)
	tests := []struct {
		name, bucket string
		notFound     bool
	}{
		{"missing key", testBucket, true},
		{"missing bucket", "no-such-bucket", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := st.GetObject(context.Background(), tt.bucket, "absent")
			if err == nil {
				t.Fatal("GetObject = nil error, want one")
			}
			if got := errors.Is(err, resilience.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
			var ae *s3adapter.Error
			if !errors.As(err, &ae) || ae.Op != s3adapter.OpGet || ae.Bucket != tt.bucket || ae.Key != "absent" {
				t.Errorf("errors.As(*Error) = %+v, want Op GetObject on %s/absent", ae, tt.bucket)
			}
			noSecrets(t, err)
		})
	}
}

func TestPutConditions(t *testing.T) {
	st, e := newStore(t)
	ctx := context.Background()
	v1, err := st.PutObject(ctx, testBucket, "existing", []byte("v1"), resilience.PutCondition{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     string
		cond    resilience.PutCondition
		wantErr error // nil: success
	}{
		{"create absent", "new", resilience.PutCondition{IfNoneMatch: "*"}, nil},
		{"create existing", "existing", resilience.PutCondition{IfNoneMatch: "*"}, resilience.ErrPreconditionFailed},
		{"match stale", "existing", resilience.PutCondition{IfMatch: `"0123456789abcdef0123456789abcdef"`}, resilience.ErrPreconditionFailed},
		{"match missing key", "missing", resilience.PutCondition{IfMatch: v1}, resilience.ErrPreconditionFailed},
		{"match current", "existing", resilience.PutCondition{IfMatch: v1}, nil},
		{"unconditional", "existing", resilience.PutCondition{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("body of " + tt.name)
			etag, err := st.PutObject(ctx, testBucket, tt.key, body, tt.cond)
			h := e.rec.lastPut(t)
			for hdr, want := range map[string]string{"If-None-Match": tt.cond.IfNoneMatch, "If-Match": tt.cond.IfMatch} {
				got, sent := h[hdr]
				switch {
				case want == "" && sent:
					t.Errorf("header %s = %q sent, want absent", hdr, got)
				case want != "" && (len(got) != 1 || got[0] != want):
					t.Errorf("header %s = %q, want %q", hdr, got, want)
				}
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PutObject error = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(err, resilience.ErrNotFound) {
					t.Errorf("PutObject error %v matches ErrNotFound", err)
				}
				noSecrets(t, err)
				return
			}
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			got, getTag, err := st.GetObject(ctx, testBucket, tt.key)
			if err != nil || !bytes.Equal(got, body) || getTag != etag {
				t.Errorf("GetObject = %q, %s, %v; want %q, %s", got, getTag, err, body, etag)
			}
		})
	}
}

// TestPutServerErrors checks the mapping of answers gofakes3 does not give
// by itself, injected in front of it.
func TestPutServerErrors(t *testing.T) {
	st, e := newStore(t)
	tests := []struct {
		status       int
		code         string
		precondition bool
	}{
		{http.StatusConflict, "ConditionalRequestConflict", true},
		{http.StatusPreconditionFailed, "PreconditionFailed", true},
		{http.StatusConflict, "OperationAborted", false},
		{http.StatusForbidden, "AccessDenied", false},
		{http.StatusNotFound, "NoSuchBucket", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			e.rec.setOverride(func(*http.Request) (int, string) { return tt.status, tt.code })
			defer e.rec.setOverride(nil)
			_, err := st.PutObject(context.Background(), testBucket, "k", []byte("x"), resilience.PutCondition{IfNoneMatch: "*"})
			if err == nil {
				t.Fatal("PutObject = nil error, want one")
			}
			if got := errors.Is(err, resilience.ErrPreconditionFailed); got != tt.precondition {
				t.Errorf("errors.Is(%v, ErrPreconditionFailed) = %v, want %v", err, got, tt.precondition)
			}
			if !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q does not name the S3 code %s", err, tt.code)
			}
			var ae *s3adapter.Error
			if !errors.As(err, &ae) || ae.Op != s3adapter.OpPut || ae.Key != "k" {
				t.Errorf("errors.As(*Error) = %+v, want Op PutObject on k", ae)
			}
			noSecrets(t, err)
		})
	}
}

func TestContextCanceled(t *testing.T) {
	st, _ := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := st.PutObject(ctx, testBucket, "k", []byte("x"), resilience.PutCondition{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("PutObject(canceled) error = %v, want context.Canceled", err)
	}
	if errors.Is(err, resilience.ErrPreconditionFailed) || errors.Is(err, resilience.ErrNotFound) {
		t.Errorf("PutObject(canceled) error = %v, classified as a resilience sentinel", err)
	}
}
