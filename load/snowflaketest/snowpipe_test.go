package snowflaketest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

// signJWT builds a Snowpipe key-pair token the way Snowflake documents it.
func signJWT(t *testing.T, key *rsa.PrivateKey, account, user string) string {
	t.Helper()
	fp, err := snowflaketest.KeyFingerprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": account + "." + user + "." + fp, "sub": account + "." + user,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

func TestSnowpipe(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := snowflaketest.NewServer(snowflaketest.Options{UserKeys: map[string]*rsa.PublicKey{"LOADER": &key.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := srv.Config()
	cfg.User, cfg.Password, cfg.Authenticator, cfg.PrivateKey = "LOADER", "", gosnowflake.AuthTypeJwt, key
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
	defer db.Close()
	db.SetMaxOpenConns(1)
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (a INT, b STRING)")
	mustExec(t, db, "CREATE STAGE st")
	mustExec(t, db, "CREATE PIPE p AS COPY INTO t FROM @st FILE_FORMAT = (TYPE = CSV)")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "good.csv", "1,x\n2,y\n")+" @st")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "bad.csv", "3,z\nq,w\n")+" @st")
	if _, err := db.Exec("CREATE PIPE p2 AS COPY INTO t FROM @st FORCE = TRUE"); snowErr(t, err).Number != 1003 {
		t.Errorf("pipe with FORCE: %v, want 1003", err)
	}

	call := func(method, path, body, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	tok := signJWT(t, key, "EMULATOR", "LOADER")
	code, out := call("POST", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertFiles?requestId=r1",
		`{"files":[{"path":"good.csv.gz"},{"path":"bad.csv.gz"}]}`, tok)
	if code != 200 || out["responseCode"] != "SUCCESS" || out["requestId"] != "r1" {
		t.Fatalf("insertFiles = %d %v, want 200 SUCCESS", code, out)
	}
	code, out = call("GET", "/v1/data/pipes/test_db.public.p/insertReport", "", tok)
	if code != 200 {
		t.Fatalf("insertReport = %d %v", code, out)
	}
	files, _ := out["files"].([]any)
	var got []string
	for _, f := range files {
		m := f.(map[string]any)
		got = append(got, fmt.Sprintf("%v %v %v", m["path"], m["status"], m["rowsInserted"]))
	}
	if strings.Join(got, "; ") != "good.csv.gz LOADED 2; bad.csv.gz LOAD_FAILED 0" {
		t.Errorf("insertReport files = %v, want bad LOAD_FAILED (pipes default to SKIP_FILE) and good LOADED 2", got)
	}
	if n := queryOne(t, db, "SELECT COUNT(*) FROM t"); n != "2" {
		t.Errorf("COUNT(*) = %s, want 2", n)
	}
	code, out = call("GET", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertReport?beginMark="+fmt.Sprint(out["nextBeginMark"]), "", tok)
	if files, _ := out["files"].([]any); code != 200 || len(files) != 0 {
		t.Errorf("insertReport from nextBeginMark = %d %v, want no files", code, out)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if code, _ := call("POST", "/v1/data/pipes/TEST_DB.PUBLIC.P/insertFiles", `{"files":[{"path":"good.csv.gz"}]}`, signJWT(t, other, "EMULATOR", "LOADER")); code != 401 {
		t.Errorf("insertFiles with a foreign key = %d, want 401", code)
	}
	if code, _ := call("POST", "/v1/data/pipes/TEST_DB.PUBLIC.NOPE/insertFiles", `{"files":[{"path":"x"}]}`, tok); code != 404 {
		t.Errorf("insertFiles to a missing pipe = %d, want 404", code)
	}
}
