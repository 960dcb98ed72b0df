package loadtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// TestSnowpipeEndToEnd logs in with a key pair through load.Config (the
// emulator checks the JWT against the registered public key), stages files
// with the Loader's PUT path, and has the pipe load them through the
// Snowpipe REST client: insertFiles, then WaitLoaded reports per file, and
// the table holds every row.
func TestSnowpipeEndToEnd(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	srv, _ := emulator(t, snowflaketest.Options{UserKeys: map[string]*rsa.PublicKey{"LOADER": &key.PublicKey}})
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	cfg := load.Config{Account: "xy12345.eu-west-1", User: "loader", PrivateKey: keyPEM, Database: "TEST_DB", Schema: "PUBLIC",
		Host: u.Hostname(), Port: port, Protocol: "http", MaxRetryCount: 2, DisableTelemetry: true}
	db, err := cfg.OpenDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	// A wrong key is refused at login.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad := cfg
	bad.PrivateKey, bad.Key = "", other
	if bdb, err := bad.OpenDB(); err == nil {
		if err := bdb.PingContext(ctx); err == nil {
			t.Errorf("login with an unregistered key succeeded")
		}
		bdb.Close()
	}

	b := makeBatch(t, t.TempDir(), "pipe", 3, records(1, 9, ""))
	// Create the table and stage the files as a loader would, without COPY.
	l := newLoader(t, db, load.LoaderOptions{Table: "piped", Stage: load.Stage{Kind: load.NamedStage, Name: "pipe_stage", Create: true}})
	if _, err := l.Load(ctx, b.table, b.files[:1]); err != nil {
		t.Fatal(err)
	}
	for _, f := range b.files[1:] {
		if _, err := db.ExecContext(ctx, "PUT 'file://"+f.Path+"' @PIPE_STAGE AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "CREATE PIPE PIPED_PIPE AS COPY INTO PIPED FROM @PIPE_STAGE FILE_FORMAT = ("+b.files[0].FileFormat()+") "+b.files[0].CopyOptions()); err != nil {
		t.Fatal(err)
	}
	pc, err := cfg.SnowpipeOptions("TEST_DB.PUBLIC.PIPED_PIPE")
	if err != nil {
		t.Fatal(err)
	}
	pc.Sleep = func(context.Context, time.Duration) error { return nil }
	sp, err := load.NewSnowpipe(pc)
	if err != nil {
		t.Fatal(err)
	}
	var paths []load.StagedPath
	var names []string
	for _, f := range b.files[1:] {
		paths = append(paths, load.StagedPath{Path: f.Name, Size: f.Size})
		names = append(names, f.Name)
	}
	if _, err := sp.InsertFiles(ctx, paths); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := sp.WaitLoaded(wctx, names, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range got {
		if f.Status != "LOADED" || f.RowsInserted != b.files[i+1].Rows {
			t.Errorf("pipe file %s: %+v, want LOADED with %d rows", names[i], f, b.files[i+1].Rows)
		}
	}
	sameRows(t, "piped table", tableRows(t, db, "piped", colNames(b.table)), rowsOf(b.recs, colNames(b.table)))

	// A pipe that does not exist: a SnowpipeError, not retried.
	pc.Pipe = "TEST_DB.PUBLIC.NO_PIPE"
	sp2, _ := load.NewSnowpipe(pc)
	_, err = sp2.InsertFiles(ctx, paths)
	var pe *load.SnowpipeError
	if !errors.As(err, &pe) || pe.Status != 404 {
		t.Errorf("InsertFiles to a missing pipe = %v, want a 404 SnowpipeError", err)
	}
}

// TestConfigLoginErrorsHideSecrets: a refused login's error, through the
// real driver, shows neither the password nor the key.
func TestConfigLoginErrorsHideSecrets(t *testing.T) {
	const secret = "Zebra-Secret-7781"
	srv, _ := emulator(t, snowflaketest.Options{Users: map[string]string{"TEST": "the-right-one"}})
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	cfg := load.Config{Account: "emulator", User: "TEST", Password: secret, Host: u.Hostname(), Port: port, Protocol: "http", MaxRetryCount: 1, DisableTelemetry: true}
	db, err := cfg.OpenDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(context.Background())
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(cfg.String(), secret) {
		t.Errorf("error %q or config %q shows the password", err, cfg)
	}
}
