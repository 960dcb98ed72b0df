package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/snowflakedb/gosnowflake"
)

func TestMain(m *testing.M) {
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	os.Setenv("SF_DISABLE_MINICORE", "true")
	_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	os.Exit(m.Run())
}

// start runs the command and returns its address and a stop function.
func start(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the listening line: %v (run: %v)", err, <-done)
	}
	m := regexp.MustCompile(`http://(\S+)`).FindStringSubmatch(line)
	if m == nil {
		cancel()
		t.Fatalf("listening line = %q", line)
	}
	go io.Copy(io.Discard, pr)
	return m[1], func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

func open(t *testing.T, addr, user string) *sql.DB {
	t.Helper()
	db, err := sql.Open("snowflake", user+"@"+addr+"/MY_DB/PUBLIC?account=emulator&protocol=http&disableTelemetry=true")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestServePersistsWithDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sf.duckdb")
	addr, stop := start(t, "-db", path)
	db := open(t, addr, "u:p")
	if _, err := db.Exec("CREATE TABLE t (x STRING)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(src, []byte("loaded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PUT file://" + src + " @%t"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("COPY INTO t FROM @%t"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	stop()

	addr, stop = start(t, "-db", path)
	defer stop()
	db = open(t, addr, "u:p")
	defer db.Close()
	var got string
	if err := db.QueryRow("SELECT x FROM t WHERE x = 'kept'").Scan(&got); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got != "kept" {
		t.Errorf("after restart x = %q, want kept", got)
	}
	// Stages and load metadata persist too: the loaded file is skipped.
	var status string
	if err := db.QueryRow("COPY INTO t FROM @%t").Scan(&status); err != nil {
		t.Fatalf("COPY after restart: %v", err)
	}
	if status != "Copy executed with 0 files processed." {
		t.Errorf("COPY after restart = %q, want 0 files processed", status)
	}
}

func TestUsers(t *testing.T) {
	addr, stop := start(t, "-user", "alice=pw1")
	defer stop()
	tests := []struct {
		cred string
		ok   bool
	}{
		{"alice:pw1", true},
		{"alice:wrong", false},
		{"bob:pw1", false},
	}
	for _, tt := range tests {
		db := open(t, addr, tt.cred)
		err := db.Ping()
		db.Close()
		if (err == nil) != tt.ok {
			t.Errorf("Ping as %s = %v, want ok=%v", tt.cred, err, tt.ok)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-put", "s3"}, {"-user", "noequals"}, {"-nosuchflag"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}

func TestUserKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(t.TempDir(), "loader.pub.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop := start(t, "-user-key", "loader="+pemFile)
	defer stop()
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	cfg := gosnowflake.Config{Account: "emulator", User: "LOADER", Host: host, Port: port, Protocol: "http",
		Authenticator: gosnowflake.AuthTypeJwt, PrivateKey: key, Database: "D", Schema: "PUBLIC"}
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Errorf("key-pair login with -user-key: %v", err)
	}
	pw := open(t, addr, "loader:pw")
	defer pw.Close()
	if err := pw.Ping(); err == nil {
		t.Errorf("password login with only -user-key = nil, want an error")
	}
	if err := run(context.Background(), []string{"-user-key", "x=" + filepath.Join(t.TempDir(), "missing.pem")}, io.Discard, io.Discard); err == nil {
		t.Errorf("-user-key with a missing file = nil, want an error")
	}
}
