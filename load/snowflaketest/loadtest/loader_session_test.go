package loadtest_test

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

// sessionWatch sits in front of the emulator and watches sessions: logins,
// the session token that received 390114 (which it then treats as dead, as
// Snowflake does: every later statement on it fails the same way), and the
// requests that still carried that token.
type sessionWatch struct {
	next http.Handler

	mu      sync.Mutex
	logins  int
	dead    map[string]bool
	reused  int // statements sent with a dead token
	logouts int // session deletes with a dead token (the pool closing it)
}

func (w *sessionWatch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("Authorization")
	w.mu.Lock()
	dead := w.dead[tok]
	switch {
	case r.URL.Path == "/session/v1/login-request":
		w.logins++
	case dead && r.URL.Path == "/session":
		w.logouts++
	case dead:
		w.reused++
	}
	w.mu.Unlock()
	if dead && r.URL.Path == "/queries/v1/query-request" {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(`{"success":false,"code":"390114","message":"Authentication token has expired.  The user must authenticate again.","data":{"sqlState":"08001"}}`))
		return
	}
	rec := &recordingWriter{ResponseWriter: rw}
	w.next.ServeHTTP(rec, r)
	if bytes.Contains(rec.body.Bytes(), []byte(`"code":"390114"`)) {
		w.mu.Lock()
		w.dead[tok] = true
		w.mu.Unlock()
	}
}

type recordingWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recordingWriter) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// TestLoaderSessionExpired: the COPY's session expired for good (390114,
// injected with a Fault). The Loader drops that connection from the pool
// (the driver does not), logs in afresh and runs the COPY there; the load
// completes, every row once, and the dead session is never used again
// (only closed).
func TestLoaderSessionExpired(t *testing.T) {
	t.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	e, err := snowflaketest.New(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	watch := &sessionWatch{next: e, dead: map[string]bool{}}
	hs := httptest.NewServer(watch)
	t.Cleanup(hs.Close)
	host, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, gosnowflake.Config{Account: "emulator", User: "TEST", Password: "test",
		Database: "TEST_DB", Schema: "PUBLIC", Protocol: "http", Host: host, Port: p, MaxRetryCount: 2, DisableTelemetry: true}))
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1) // one session at a time: the retry must log in

	b := makeBatch(t, t.TempDir(), "sess", 2, records(1, 12, ""))
	e.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Error: &snowflaketest.SQLError{Number: 390114, SQLState: "08001",
		Message: "Authentication token has expired.  The user must authenticate again."}})
	ev := &events{}
	res, err := newLoader(t, db, load.LoaderOptions{Table: "sess", Progress: ev}).Load(context.Background(), b.table, b.files)
	if err != nil {
		t.Fatalf("Load() = %v, want the COPY to run again on a new session", err)
	}
	if res.RowsLoaded != 12 {
		t.Errorf("RowsLoaded = %d, want 12", res.RowsLoaded)
	}
	sameRows(t, "after session expiry", tableRows(t, db, "sess", colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if len(watch.dead) != 1 {
		t.Fatalf("%d sessions got 390114, want 1 (was the fault injected?)", len(watch.dead))
	}
	if watch.logins != 2 {
		t.Errorf("%d logins, want 2 (the first session, and one after it expired)", watch.logins)
	}
	if watch.reused != 0 {
		t.Errorf("%d requests on the expired session after 390114, want 0", watch.reused)
	}
	if watch.logouts != 1 {
		t.Errorf("%d closes of the expired session, want 1 (the pool dropping it)", watch.logouts)
	}
	if n := ev.count(load.StepSession); n != 1 {
		t.Errorf("%d session events, want 1", n)
	}
}
