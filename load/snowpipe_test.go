package load

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJWTAccount(t *testing.T) {
	for in, want := range map[string]string{"xy12345.eu-west-1": "XY12345", "xy12345.us-east-2.aws": "XY12345", "myorg-myacct": "MYORG-MYACCT", "Acct": "ACCT"} {
		if got := JWTAccount(in); got != want {
			t.Errorf("JWTAccount(%q) = %q, want %q", in, got, want)
		}
	}
}

// pipeServer is a scripted Snowpipe endpoint that checks every token.
type pipeServer struct {
	t       *testing.T
	pub     *rsa.PublicKey
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request) // consumed in order; the last repeats
	ids     []string
	claims  []map[string]any
}

func (p *pipeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, sum[:], sig); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var c map[string]any
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(pb, &c)
	p.claims = append(p.claims, c)
	p.ids = append(p.ids, r.URL.Query().Get("requestId"))
	a := p.answers[0]
	if len(p.answers) > 1 {
		p.answers = p.answers[1:]
	}
	a(w, r)
}

func newPipeTest(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) (*Snowpipe, *pipeServer, *[]time.Duration) {
	t.Helper()
	key, err := parsePrivateKey([]byte(readTestdata(t, "key.p8")), "")
	if err != nil {
		t.Fatal(err)
	}
	ps := &pipeServer{t: t, pub: &key.PublicKey, answers: answers}
	srv := httptest.NewServer(ps)
	t.Cleanup(srv.Close)
	var slept []time.Duration
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	sp, err := NewSnowpipe(SnowpipeOptions{Account: "xy12345.eu-west-1", User: "loader", Key: key, Pipe: "DB.S.P", BaseURL: srv.URL,
		Now:   func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return sp, ps, &slept
}

func TestSnowpipeInsertFilesJWTAndBackoff(t *testing.T) {
	sp, ps, slept := newPipeTest(t,
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			http.Error(w, `{"code":"429","message":"slow down"}`, http.StatusTooManyRequests)
		},
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, "{}", http.StatusServiceUnavailable) },
		func(w http.ResponseWriter, r *http.Request) {
			var body struct{ Files []StagedPath }
			_ = json.NewDecoder(r.Body).Decode(&body)
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/v1/data/pipes/DB.S.P/insertFiles") || len(body.Files) != 2 {
				http.Error(w, fmt.Sprintf("bad request %s %s %v", r.Method, r.URL.Path, body), 400)
				return
			}
			fmt.Fprintf(w, `{"requestId":%q,"responseCode":"SUCCESS"}`, r.URL.Query().Get("requestId"))
		})
	id, err := sp.InsertFiles(context.Background(), []StagedPath{{Path: "a.ndjson.gz", Size: 10}, {Path: "b.ndjson.gz"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{7 * time.Second, 2 * time.Second}; fmt.Sprint(*slept) != fmt.Sprint(want) {
		t.Errorf("backoff waits %v, want %v (Retry-After, then doubled)", *slept, want)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(id) || len(ps.ids) != 3 || ps.ids[0] != id || ps.ids[2] != id {
		t.Errorf("request ids %v (returned %q), want one UUID for the call and its retries", ps.ids, id)
	}
	c := ps.claims[0]
	fp, _ := keyFingerprint(ps.pub)
	if c["sub"] != "XY12345.LOADER" || c["iss"] != "XY12345.LOADER."+fp {
		t.Errorf("claims %v, want sub XY12345.LOADER and iss XY12345.LOADER.%s", c, fp)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 59*60 {
		t.Errorf("token lifetime %v s, want 3540", exp-iat)
	}
	// A second call in the next call gets a new request id.
	if _, err := sp.InsertFiles(context.Background(), []StagedPath{{Path: "a"}, {Path: "b"}}); err != nil {
		t.Fatal(err)
	}
	if ps.ids[3] == id {
		t.Errorf("second call reused request id %s", id)
	}
}

func TestSnowpipeErrors(t *testing.T) {
	sp, ps, slept := newPipeTest(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"code":"002003","message":"Pipe not found","success":false}`)
	})
	_, err := sp.InsertFiles(context.Background(), []StagedPath{{Path: "x"}})
	var pe *SnowpipeError
	if !errors.As(err, &pe) || pe.Status != 404 || pe.Code != "002003" || len(*slept) != 0 || len(ps.ids) != 1 {
		t.Errorf("InsertFiles() = %v after %d requests, want a SnowpipeError 404 and no retry", err, len(ps.ids))
	}
	if (ErrorClassifier{}).Retryable(err) {
		t.Errorf("404 classified retryable")
	}
	if _, err := sp.InsertFiles(context.Background(), nil); !errors.Is(err, ErrOptions) {
		t.Errorf("InsertFiles(nil) = %v, want ErrOptions", err)
	}
	if _, err := NewSnowpipe(SnowpipeOptions{Pipe: "nodots"}); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "DATABASE.SCHEMA.PIPE") {
		t.Errorf("NewSnowpipe() = %v, want ErrOptions naming the pipe format", err)
	}
	throttled, _, _ := newPipeTest(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "{}", http.StatusTooManyRequests) })
	_, err = throttled.InsertReport(context.Background(), "")
	if !(ErrorClassifier{}).Throttled(err) || !(ErrorClassifier{}).Retryable(err) {
		t.Errorf("429 after retries: Throttled/Retryable false for %v", err)
	}
}

func TestSnowpipeWaitLoaded(t *testing.T) {
	var reports int
	sp, _, slept := newPipeTest(t, func(w http.ResponseWriter, r *http.Request) {
		reports++
		switch r.URL.Query().Get("beginMark") {
		case "":
			fmt.Fprint(w, `{"nextBeginMark":"1","files":[{"path":"a","status":"LOADED","rowsParsed":3,"rowsInserted":3,"complete":true},{"path":"b","status":"LOAD_IN_PROGRESS","complete":false}]}`)
		case "1":
			fmt.Fprint(w, `{"nextBeginMark":"2","files":[{"path":"b","status":"PARTIALLY_LOADED","rowsParsed":4,"rowsInserted":3,"errorsSeen":1,"firstError":"bad number","firstErrorLineNum":2,"complete":true}]}`)
		default:
			fmt.Fprint(w, `{"nextBeginMark":"2","files":[]}`)
		}
	})
	files, err := sp.WaitLoaded(context.Background(), []string{"a", "/b"}, time.Second)
	var le *PipeLoadError
	if !errors.As(err, &le) || !errors.Is(err, ErrIncomplete) || len(le.Files) != 1 || le.Files[0].Path != "b" {
		t.Fatalf("WaitLoaded() = %v, want a PipeLoadError for b", err)
	}
	if len(files) != 2 || files[0].RowsInserted != 3 || files[1].FirstErrorLineNum != 2 || reports != 2 || len(*slept) != 1 {
		t.Errorf("WaitLoaded() files %+v after %d reports and %d waits", files, reports, len(*slept))
	}
}

func TestSnowpipeLoadHistoryScan(t *testing.T) {
	var query string
	sp, _, _ := newPipeTest(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Path + "?" + r.URL.Query().Get("startTimeInclusive") + "|" + r.URL.Query().Get("endTimeExclusive")
		fmt.Fprint(w, `{"pipe":"DB.S.P","completeResult":true,"files":[{"path":"a","status":"LOADED","rowsInserted":5,"complete":true}]}`)
	})
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.FixedZone("x", 3600))
	r, err := sp.LoadHistoryScan(context.Background(), start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := "/v1/data/pipes/DB.S.P/loadHistoryScan?2026-12-03T08:00:00Z|2026-12-03T09:00:00Z"; query != want {
		t.Errorf("request %q, want %q", query, want)
	}
	if len(r.Files) != 1 || r.Files[0].RowsInserted != 5 || !r.CompleteResult {
		t.Errorf("LoadHistoryScan() = %+v", r)
	}
}
