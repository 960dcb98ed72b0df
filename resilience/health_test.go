package resilience

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A database/sql driver whose Ping fails on demand: proves that *sql.DB
// satisfies Pinger.
type pingConnector struct{ down *atomic.Bool }

func (c pingConnector) Connect(context.Context) (driver.Conn, error) {
	if c.down.Load() {
		return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
	}
	return pingConn(c), nil
}
func (c pingConnector) Driver() driver.Driver { return nil }

type pingConn struct{ down *atomic.Bool }

func (pingConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (pingConn) Close() error                        { return nil }
func (pingConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }
func (c pingConn) Ping(context.Context) error {
	if c.down.Load() {
		return driver.ErrBadConn
	}
	return nil
}

func TestHealthGenericChecks(t *testing.T) {
	var down atomic.Bool
	db := sql.OpenDB(pingConnector{&down})
	defer db.Close()
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	var alerts []Alert
	var mu sync.Mutex
	h, err := NewHealth(HealthOptions{Alert: func(a Alert) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() }},
		PingCheck("snowflake", db),
		DiskSpaceCheck("staging", t.TempDir(), 1),
		HTTPCheck("api", srv.Client(), srv.URL+"/health?token=s3cret"),
	)
	if err != nil {
		t.Fatal(err)
	}
	rep := h.Run(context.Background())
	if !rep.OK() || rep.Err() != nil || len(rep.Checks) != 3 || rep.Checks[0].Name != "snowflake" {
		t.Fatalf("healthy Run() = %+v", rep)
	}
	down.Store(true)
	status.Store(503)
	rep = h.Run(context.Background())
	if rep.OK() || rep.Checks[0].Status != StatusFail || rep.Checks[1].Status != StatusOK || rep.Checks[2].Status != StatusFail {
		t.Fatalf("unhealthy Run() = %+v", rep)
	}
	if !errors.Is(rep.Err(), ErrUnhealthy) || !strings.Contains(rep.Checks[2].Error, "503") {
		t.Errorf("Err() = %v; api error %q", rep.Err(), rep.Checks[2].Error)
	}
	if strings.Contains(rep.Checks[2].Error, "s3cret") {
		t.Errorf("HTTP check error leaks the query: %q", rep.Checks[2].Error)
	}
	_ = h.Run(context.Background()) // still failing: no second alert
	down.Store(false)
	status.Store(200)
	_ = h.Run(context.Background())
	down.Store(true)
	_ = h.Run(context.Background())
	if len(alerts) != 2 || alerts[0].Kind != AlertUnhealthy || alerts[0].Source != "snowflake,api" || alerts[1].Source != "snowflake" {
		t.Errorf("alerts = %+v, want one per transition to failing", alerts)
	}
}

func TestHealthDiskSpace(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		dir     string
		min     uint64
		wantErr string
	}{
		{"enough", dir, 1, ""},
		{"too little", dir, 1 << 62, "free "},
		{"missing dir", dir + "/nope", 1, "free space of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DiskSpaceCheck("d", tt.dir, tt.min).Check(context.Background())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Check() = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if got := iec(3 << 30); got != "3.0 GiB" {
		t.Errorf("iec(3 GiB) = %q", got)
	}
}

func TestHTTPCheckTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens now
	err := HTTPCheck("gone", nil, strings.Replace(u, "http://", "http://user:pw@", 1)+"/?sig=abc").Check(context.Background())
	if err == nil || strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "sig=abc") {
		t.Errorf("Check() = %v, want an error without credentials", err)
	}
	if !(NetworkClassifier{}).Retryable(err) {
		t.Errorf("connection refused from HTTPCheck (%v) not retryable", err)
	}
}

func TestHealthTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h, err := NewHealth(HealthOptions{Timeout: 2 * time.Second},
			NewCheck("honours-ctx", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }),
			CheckWithTimeout(NewCheck("ignores-ctx", func(context.Context) error { <-release; return nil }), time.Second),
			NewCheck("panics", func(context.Context) error { panic("nil map") }),
			NewCheck("fast", func(context.Context) error { return nil }),
		)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep := h.Run(t.Context())
		if el := time.Since(start); el != 2*time.Second {
			t.Errorf("Run took %v, want the longest timeout, 2s", el)
		}
		want := []struct {
			st  Status
			err string
			dur time.Duration
		}{
			{StatusFail, "timed out after 2s", 2 * time.Second},
			{StatusFail, "timed out after 1s", time.Second},
			{StatusFail, "panic: nil map", 0},
			{StatusOK, "", 0},
		}
		for i, w := range want {
			c := rep.Checks[i]
			if c.Status != w.st || !strings.Contains(c.Error, w.err) || c.Duration != w.dur {
				t.Errorf("check %s = %+v, want %v %q after %v", c.Name, c, w.st, w.err, w.dur)
			}
		}
		close(release)
	})
	if _, err := NewHealth(HealthOptions{}, NewCheck("a", nil), NewCheck("a", nil)); err == nil {
		t.Error("NewHealth with duplicate names = nil error")
	}
}

func TestHealthReportFormats(t *testing.T) {
	clk := newFakeClock()
	h, _ := NewHealth(HealthOptions{Clock: clk},
		NewCheck("db", func(context.Context) error { return nil }),
		NewCheck("staging", func(context.Context) error { return errors.New("free 10.0 MiB < 1.0 GiB\nin /tmp") }))
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	err = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET = %d %s, %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	if rep.Status != StatusFail || len(rep.Checks) != 2 || rep.Checks[1].Error == "" || !rep.Time.Equal(clk.Now()) {
		t.Errorf("decoded report = %+v", rep)
	}

	resp, err = srv.Client().Get(srv.URL + "?format=text")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantText := "health: fail (1 of 2 checks failed)\n" +
		"ok    db       0s\n" +
		"FAIL  staging  0s  free 10.0 MiB < 1.0 GiB in /tmp\n"
	if string(body) != wantText {
		t.Errorf("text report =\n%s\nwant\n%s", body, wantText)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil || buf.String() != wantText {
		t.Errorf("WriteText =\n%s", buf.String())
	}
	resp, err = srv.Client().Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", resp.StatusCode)
	}
	ok, _ := NewHealth(HealthOptions{}, NewCheck("db", func(context.Context) error { return nil }))
	rec := httptest.NewRecorder()
	ok.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthy handler = %d, want 200", rec.Code)
	}
}
