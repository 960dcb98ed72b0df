package loadtest_test

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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
	reused  int            // statements sent with a dead token
	logouts int            // session deletes with a dead token (the pool closing it)
	tokens  map[string]int // statements per session token
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
	case dead && strings.HasPrefix(r.URL.Path, "/queries/"):
		w.reused++
	}
	if r.URL.Path == "/queries/v1/query-request" {
		w.tokens[tok]++
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

// watchedEmulator starts an emulator behind a sessionWatch and opens a
// *sql.DB on it through the real driver.
func watchedEmulator(t *testing.T) (*snowflaketest.Emulator, *sessionWatch, *sql.DB) {
	t.Helper()
	t.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	e, err := snowflaketest.New(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	watch := &sessionWatch{next: e, dead: map[string]bool{}, tokens: map[string]int{}}
	hs := httptest.NewServer(watch)
	t.Cleanup(hs.Close)
	host, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, gosnowflake.Config{Account: "emulator", User: "TEST", Password: "test",
		Database: "TEST_DB", Schema: "PUBLIC", Protocol: "http", Host: host, Port: p, MaxRetryCount: 2}))
	t.Cleanup(func() { _ = db.Close() })
	return e, watch, db
}

// TestLoaderSessionExpired: the COPY's session expired for good (390114,
// injected with a Fault). The Loader drops that connection from the pool
// (the driver does not), logs in afresh and runs the COPY there; the load
// completes, every row once, and the dead session is never used again
// (only closed).
func TestLoaderSessionExpired(t *testing.T) {
	e, watch, db := watchedEmulator(t)
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

// TestLoaderTemporaryStageOneSession: a temporary stage exists in one
// session only (the emulator does not scope it, so the test counts
// sessions): with a *sql.DB whose pool holds several sessions, every
// statement of a load through a temporary stage runs in one of them.
func TestLoaderTemporaryStageOneSession(t *testing.T) {
	_, watch, db := watchedEmulator(t)
	ctx := context.Background()
	db.SetMaxIdleConns(4)
	var conns []*sql.Conn
	for range 3 { // three idle sessions in the pool
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	b := makeBatch(t, t.TempDir(), "tmp", 4, records(1, 20, ""))
	watch.mu.Lock()
	clear(watch.tokens)
	watch.mu.Unlock()
	l := newLoader(t, db, load.LoaderOptions{Table: "tmp_stage", Parallel: 4,
		Stage: load.Stage{Kind: load.NamedStage, Name: "tmp_landing", Create: true, Temporary: true}})
	if _, err := l.Load(ctx, b.table, b.files); err != nil {
		t.Fatal(err)
	}
	watch.mu.Lock()
	sessions := len(watch.tokens)
	watch.mu.Unlock()
	if sessions != 1 {
		t.Errorf("the load ran statements in %d sessions, want 1 (its temporary stage's)", sessions)
	}
	sameRows(t, "through a temporary stage", tableRows(t, db, "tmp_stage", colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
}
