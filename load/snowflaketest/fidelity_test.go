package snowflaketest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

// snowpipeCall sends one Snowpipe REST request with a key-pair token.
func snowpipeCall(t *testing.T, srv *snowflaketest.Server, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// keyPairDB opens a driver connection logged in with a key pair.
func keyPairDB(t *testing.T, srv *snowflaketest.Server, user string, key *rsa.PrivateKey) *sql.DB {
	t.Helper()
	cfg := srv.Config()
	cfg.User, cfg.Password, cfg.Authenticator, cfg.PrivateKey = user, "", gosnowflake.AuthTypeJwt, key
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

// TestNoHang: a Snowpipe report for a file missing from the stage used to
// dereference the missing line under the emulator's lock, after which
// every request (new logins included) hung. A handler that panics answers
// 500 and the emulator keeps serving.
func TestNoHang(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := snowflaketest.NewServer(snowflaketest.Options{UserKeys: map[string]*rsa.PublicKey{"LOADER": &key.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := keyPairDB(t, srv, "LOADER", key)
	mustExec(t, db, "CREATE TABLE t (a INT)")
	mustExec(t, db, "CREATE STAGE st")
	mustExec(t, db, "CREATE PIPE p AS COPY INTO t FROM @st FILE_FORMAT = (TYPE = CSV)")
	tok := signJWT(t, key, "EMULATOR", "LOADER")
	code, out := snowpipeCall(t, srv, "POST", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertFiles?requestId=r1", `{"files":[{"path":"missing.csv"}]}`, tok)
	if code != 200 || out["responseCode"] != "SUCCESS" {
		t.Fatalf("insertFiles of a missing file = %d %v, want 200 SUCCESS", code, out)
	}
	code, out = snowpipeCall(t, srv, "GET", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertReport", "", tok)
	files, _ := out["files"].([]any)
	if code != 200 || len(files) != 1 {
		t.Fatalf("insertReport = %d %v, want one file", code, out)
	}
	f := files[0].(map[string]any)
	if f["status"] != "LOAD_FAILED" || !strings.Contains(f["firstError"].(string), "missing.csv") || f["firstErrorLineNum"] != nil {
		t.Errorf("report entry = %v, want LOAD_FAILED with a first error naming the file and no line", f)
	}
	// The emulator still serves: a fresh login and a statement, bounded in time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db2 := keyPairDB(t, srv, "LOADER", key)
	var n int
	if err := db2.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("new session after the report = %d, %v", n, err)
	}

	// A panicking handler answers 500; the emulator carries on.
	srv.InjectFault(snowflaketest.Fault{Path: "/session/heartbeat", Panic: true})
	resp, err := http.Post(srv.URL+"/session/heartbeat", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("panicking handler = HTTP %d, want 500", resp.StatusCode)
	}
	// A statement whose handler panics once: the driver retries the 500 and
	// the emulator answers the retry.
	srv.InjectFault(snowflaketest.Fault{SQL: "SELECT 42", Panic: true})
	if err := db2.QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
		t.Errorf("SELECT 42 after a panicking attempt = %d, %v, want 42", n, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Errorf("first session after the panics = %d, %v", n, err)
	}
}

// TestDropMidCopy: Fault.Drop lets the COPY load and commit, then closes
// the connection without an answer. The driver retries; the retried COPY
// finds the file in the load metadata, so the rows are there exactly once.
func TestDropMidCopy(t *testing.T) {
	srv, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (a INT, b STRING)")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "a.csv", "1,x\n2,y\n3,z\n")+" @%t")
	srv.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Drop: true})
	rows, err := db.Query("COPY INTO t FROM @%t")
	t.Logf("COPY through a dropped connection: err = %v", err)
	if err == nil {
		var got []string
		for rows.Next() {
			var s sql.NullString
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			vals[0] = &s
			for i := 1; i < len(cols); i++ {
				vals[i] = new(sql.RawBytes)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			got = append(got, s.String)
		}
		rows.Close()
		if len(got) != 1 || got[0] != "Copy executed with 0 files processed." {
			t.Errorf("retried COPY after a dropped connection = %v, want the file skipped by load metadata", got)
		}
	}
	_, all := queryAll(t, db, "SELECT a, b FROM t ORDER BY a")
	if len(all) != 3 || all[0][0] != "1" || all[2][1] != "z" {
		t.Errorf("table after a dropped COPY = %v, want the 3 rows once", all)
	}
}
