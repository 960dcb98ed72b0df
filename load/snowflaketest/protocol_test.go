package snowflaketest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

func TestKeyPairLogin(t *testing.T) {
	alice, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	srv, _ := newDB(t, snowflaketest.Options{UserKeys: map[string]*rsa.PublicKey{"alice": &alice.PublicKey}, Now: func() time.Time { return clock() }})
	tests := []struct {
		name    string
		user    string
		key     *rsa.PrivateKey
		skew    time.Duration // emulator clock minus client clock
		wantErr int
	}{
		{"registered key", "ALICE", alice, 0, 0},
		{"lower-case user", "alice", alice, 0, 0},
		{"wrong key", "ALICE", mallory, 0, 390144},
		{"user without key", "MALLORY", mallory, 0, 390144},
		{"expired token", "ALICE", alice, 2 * time.Hour, 390144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = time.Now().Add(tt.skew)
			cfg := srv.Config()
			cfg.User, cfg.Password = tt.user, ""
			cfg.Authenticator = gosnowflake.AuthTypeJwt
			cfg.PrivateKey = tt.key
			db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
			defer db.Close()
			var got string
			err := db.QueryRow("SELECT 'ok'").Scan(&got)
			if tt.wantErr == 0 {
				if err != nil || got != "ok" {
					t.Fatalf("key-pair login = %q, %v; want ok", got, err)
				}
				return
			}
			if se := snowErr(t, err); se.Number != tt.wantErr {
				t.Errorf("key-pair login error = %d %q, want %d", se.Number, se.Message, tt.wantErr)
			}
		})
	}
	// A password login is refused once only keys are registered.
	if err := srv.OpenDB().Ping(); err == nil || snowErr(t, err).Number != 390100 {
		t.Errorf("password login with only keys registered = %v, want 390100", err)
	}
}

func TestAsyncQuery(t *testing.T) {
	srv, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE t (a INT)")
	mustExec(t, db, "INSERT INTO t VALUES (1), (2), (3)")
	hold := make(chan struct{})
	srv.InjectFault(snowflaketest.Fault{SQL: "SUM(A)", Hold: hold})
	ctx := gosnowflake.WithAsyncMode(context.Background())
	rows, err := db.QueryContext(ctx, "SELECT SUM(a) FROM t")
	if err != nil {
		t.Fatalf("async query: %v", err)
	}
	defer rows.Close()
	// The request returned before the statement ran; let it finish now.
	close(hold)
	if !rows.Next() {
		t.Fatalf("async result has no row: %v", rows.Err())
	}
	var sum int
	if err := rows.Scan(&sum); err != nil || sum != 6 {
		t.Errorf("async SUM = %d, %v; want 6", sum, err)
	}
	rows.Close() // frees the only connection

	r, err := db.ExecContext(ctx, "INSERT INTO t VALUES (4)")
	if err != nil {
		t.Fatalf("async exec: %v", err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		t.Errorf("async RowsAffected = %d, %v; want 1", n, err)
	}
}

func TestMultiStatement(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	ctx, err := gosnowflake.WithMultiStatement(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.ExecContext(ctx, "CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2); UPDATE t SET a = a + 10 WHERE a = 2")
	if err != nil {
		t.Fatalf("multi-statement exec: %v", err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 3 {
		t.Errorf("multi-statement RowsAffected = %d, %v; want 3 (2 inserted + 1 updated)", n, err)
	}
	ctx2, _ := gosnowflake.WithMultiStatement(context.Background(), 0)
	rows, err := db.QueryContext(ctx2, "SELECT 'a;b'; SELECT a FROM t ORDER BY a")
	if err != nil {
		t.Fatalf("multi-statement query: %v", err)
	}
	defer rows.Close()
	var got []string
	for {
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if want := "a;b 1 12"; strings.Join(got, " ") != want {
		t.Errorf("multi-statement results = %q, want %q", strings.Join(got, " "), want)
	}
	if _, err := db.ExecContext(ctx, "SELECT 1; SELECT 2"); err == nil || snowErr(t, err).Number != 8 {
		t.Errorf("2 statements with count 3 = %v, want 000008", err)
	}
}

func TestFaults(t *testing.T) {
	t.Run("session expiry renews the token", func(t *testing.T) {
		srv, db := newDB(t, snowflaketest.Options{})
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		srv.InjectFault(snowflaketest.Fault{SQL: "SELECT 42", SessionExpired: true})
		if got := queryOne(t, db, "SELECT 42"); got != "42" {
			t.Errorf("SELECT 42 after session expiry = %s, want 42", got)
		}
	})
	t.Run("HTTP 503 is retried by the driver", func(t *testing.T) {
		srv, db := newDB(t, snowflaketest.Options{})
		srv.InjectFault(snowflaketest.Fault{SQL: "SELECT 7", Status: 503})
		if got := queryOne(t, db, "SELECT 7"); got != "7" {
			t.Errorf("SELECT 7 after a 503 = %s, want 7", got)
		}
	})
	t.Run("scripted error on the second matching statement", func(t *testing.T) {
		srv, db := newDB(t, snowflaketest.Options{})
		mustExec(t, db, "CREATE TABLE t (a INT)")
		srv.InjectFault(snowflaketest.Fault{SQL: "INSERT", Skip: 1,
			Error: &snowflaketest.SQLError{Number: 2108, SQLState: "22000", Message: "SQL compilation error: cannot change column A from type NUMBER to VARCHAR"}})
		mustExec(t, db, "INSERT INTO t VALUES (1)")
		_, err := db.Exec("INSERT INTO t VALUES (2)")
		if se := snowErr(t, err); se.Number != 2108 {
			t.Errorf("second INSERT = %v, want 2108", err)
		}
		mustExec(t, db, "INSERT INTO t VALUES (3)") // fired once only
	})
	t.Run("slow query cancelled by the client", func(t *testing.T) {
		srv, db := newDB(t, snowflaketest.Options{})
		hold := make(chan struct{})
		defer close(hold)
		srv.InjectFault(snowflaketest.Fault{SQL: "SELECT 'slow'", Hold: hold})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := db.QueryContext(ctx, "SELECT 'slow'")
			errc <- err
		}()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled slow query = %v, want context.Canceled", err)
		}
		if got := queryOne(t, db, "SELECT 'after'"); got != "after" {
			t.Errorf("session after cancel = %q", got)
		}
	})
	t.Run("a chosen file fails its load", func(t *testing.T) {
		srv, db := newDB(t, snowflaketest.Options{})
		dir := t.TempDir()
		mustExec(t, db, "CREATE TABLE t (a INT)")
		for _, n := range []string{"a.csv", "b.csv"} {
			mustExec(t, db, "PUT file://"+writeFile(t, dir, n, "1\n2\n")+" @%t AUTO_COMPRESS=FALSE")
		}
		srv.InjectFault(snowflaketest.Fault{FailFile: "b.csv"})
		res, _ := copyInto(t, db, "COPY INTO t FROM @%t ON_ERROR = CONTINUE")
		if got := fmt.Sprintf("%s %s %d / %s %s %d", res[0].file, res[0].status, res[0].loaded, res[1].file, res[1].status, res[1].loaded); got != "a.csv LOADED 2 / b.csv LOAD_FAILED 0" {
			t.Errorf("COPY with an injected file failure = %s", got)
		}
		res, _ = copyInto(t, db, "COPY INTO t FROM @%t ON_ERROR = CONTINUE")
		if len(res) != 1 || res[0].file != "b.csv" || res[0].status != "LOADED" {
			t.Errorf("retry COPY = %+v, want b.csv LOADED (a.csv skipped by load metadata)", res)
		}
	})
	t.Run("upload failures", func(t *testing.T) {
		srv, db := newDB(t, snowflaketest.Options{})
		dir := t.TempDir()
		mustExec(t, db, "CREATE TABLE t (a INT)")
		srv.InjectFault(snowflaketest.Fault{Path: snowflaketest.UploadPath, Status: 503}) // retried (1 s driver backoff)
		if _, err := db.Exec("PUT file://" + writeFile(t, dir, "a.csv", "1\n") + " @%t"); err != nil {
			t.Errorf("PUT after one 503 upload = %v, want success", err)
		}
		srv.InjectFault(snowflaketest.Fault{Path: snowflaketest.UploadPath, Status: 404, Times: -1})
		if _, err := db.Exec("PUT file://" + writeFile(t, dir, "b.csv", "1\n") + " @%t"); err == nil {
			t.Errorf("PUT with a failing upload = nil, want an error")
		}
		srv.ClearFaults()
		_, list := queryAll(t, db, "LIST @%t")
		if len(list) != 1 || list[0][0] != "a.csv.gz" {
			t.Errorf("LIST = %v, want only a.csv.gz", list)
		}
	})
}

func TestConcurrentSessions(t *testing.T) {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	db.SetMaxOpenConns(4)
	if _, err := db.Exec("CREATE TABLE t (g INT, i INT)"); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 25
	errc := make(chan error, workers)
	for g := 0; g < workers; g++ {
		go func() {
			for i := 0; i < each; i++ {
				if _, err := db.Exec("INSERT INTO t VALUES (?, ?)", g, i); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for g := 0; g < workers; g++ {
		if err := <-errc; err != nil {
			t.Errorf("concurrent INSERT: %v", err)
		}
	}
	var n, sessions int
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT g) FROM t").Scan(&n, &sessions); err != nil {
		t.Fatal(err)
	}
	if n != workers*each || sessions != workers {
		t.Errorf("rows = %d from %d workers, want %d from %d", n, sessions, workers*each, workers)
	}
}

func TestBindTypes(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE b (i INT, f FLOAT, s STRING, ok BOOLEAN, ts TIMESTAMP_NTZ, d DATE, bin BINARY, n STRING)")
	ts := time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC)
	mustExec(t, db, "INSERT INTO b VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		int64(-7), 2.25, "it's", true, ts, ts, gosnowflake.DataTypeBinary, []byte{0xca, 0xfe}, nil)
	var (
		i       int64
		f       float64
		s       string
		ok      bool
		gotTS   time.Time
		gotDate time.Time
		bin     []byte
		n       sql.NullString
	)
	if err := db.QueryRow("SELECT i, f, s, ok, ts, d, bin, n FROM b").Scan(&i, &f, &s, &ok, &gotTS, &gotDate, &bin, &n); err != nil {
		t.Fatal(err)
	}
	if i != -7 || f != 2.25 || s != "it's" || !ok || !gotTS.Equal(ts) || gotDate.Format("2006-01-02") != "2024-03-01" || fmt.Sprintf("%x", bin) != "cafe" || n.Valid {
		t.Errorf("round trip = %v %v %q %v %v %v %x %v", i, f, s, ok, gotTS, gotDate, bin, n)
	}
}
