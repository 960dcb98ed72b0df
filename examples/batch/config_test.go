package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// runInProcess runs the job with an environment of its own (no process
// variables), for tests that never reach S3 or Snowflake.
func runInProcess(env []string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	var stopping atomic.Bool
	code := run(context.Background(), args, func() []string { return env }, &out, &errb, &stopping, nil)
	return code, out.String(), errb.String()
}

// TestConfigPrecedence: defaults < file < environment < flags, secrets
// masked in -print-config.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "job.yaml")
	os.WriteFile(file, []byte(`
table: from_file
format: csv
chunk_records: 111
uploads: 2
snowflake:
  password: file-secret-XYZ
  warehouse: FILE_WH
`), 0o600)
	env := []string{"FLATPIPE_CHUNK_RECORDS=222", "FLATPIPE_UPLOADS=3", "SNOWFLAKE_PASSWORD=env-secret-ABC",
		"SNOWFLAKE_ACCOUNT=acct", "SNOWFLAKE_USER=loader", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=pass-secret-QRS",
		"FLATPIPE_KEY=a,b", "UNRELATED=1"}
	code, out, errs := runInProcess(env, "-config", file, "-uploads", "4", "-disposition", "merge", "-print-config")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		`table: "from_file"`,         // file over default
		`format: "csv"`,              // file over default
		`chunk_records: 222`,         // env over file
		`uploads: 4`,                 // flag over env
		`disposition: "merge"`,       // flag over default
		`key: [a, b]`,                // env list
		`log_level: "info"`,          // default
		`snowflake.password: "****"`, // env over file, masked
		`snowflake.private_key_passphrase: "****"`,
		`snowflake.warehouse: "FILE_WH"`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("-print-config lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"env-secret-ABC", "file-secret-XYZ", "pass-secret-QRS"} {
		if strings.Contains(out+errs, secret) {
			t.Errorf("output shows the secret %q", secret)
		}
	}

	// A JSON file works the same; a reference to a secret store is shown.
	jf := filepath.Join(dir, "job.json")
	os.WriteFile(jf, []byte(`{"table":"j","snowflake":{"password":"secretsmanager:prod/loader#password"}}`), 0o600)
	code, out, errs = runInProcess(nil, "-config", jf, "-print-config")
	if code != 0 || !strings.Contains(out, `table: "j"`) || !strings.Contains(out, `snowflake.password: "secretsmanager:prod/loader#password"`) {
		t.Errorf("JSON config: exit %d\n%s%s", code, out, errs)
	}
}

// TestConfigProblems: every problem is listed at once, secrets never.
func TestConfigProblems(t *testing.T) {
	env := []string{"FLATPIPE_BOGUS=1", "SNOWFLAKE_HOST=127.0.0.1", "SNOWFLAKE_PASSWORD=hunter2-secret"}
	code, out, errs := runInProcess(env, "-disposition", "upsert", "-shard", "3/2", "-format", "xml", "-uploads", "0", "-dry-run", "-checkpoint", "cp")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{"disposition", "shard", "format", "uploads", "out: -dry-run needs -o DIR", "checkpoint: -dry-run loads nothing", `unknown setting "bogus"`,
		"SNOWFLAKE_ACCOUNT is required", "SNOWFLAKE_USER is required"} {
		if !strings.Contains(errs, want) {
			t.Errorf("problems lack %q:\n%s", want, errs)
		}
	}
	if strings.Contains(out+errs, "hunter2") {
		t.Error("output shows the password")
	}
}

// TestUnknownJobArguments: Glue-style --key value arguments are dropped
// with a warning; an unknown single-dash flag is an error.
func TestUnknownJobArguments(t *testing.T) {
	code, out, errs := runInProcess(nil, "--JOB_NAME", "nightly", "--TempDir=s3://tmp/x", "--job-bookmark-option", "job-bookmark-disable",
		"--table", "glued", "-print-config")
	if code != 0 || !strings.Contains(out, `table: "glued"`) {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, w := range []string{"--JOB_NAME", "--TempDir", "--job-bookmark-option"} {
		if !strings.Contains(errs, "ignoring unknown job argument "+w) {
			t.Errorf("no warning for %s:\n%s", w, errs)
		}
	}
	if strings.Contains(out, "nightly") || strings.Contains(out, "job-bookmark-disable") {
		t.Errorf("the values of unknown arguments were taken as inputs:\n%s", out)
	}
	if code, _, errs := runInProcess(nil, "-tabel", "x"); code != 1 || !strings.Contains(errs, "tabel") {
		t.Errorf("-tabel: exit %d, want 1 naming the flag\n%s", code, errs)
	}
}

// TestSecretReferences resolves env: and file: references, and names a
// missing one without showing any secret.
func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file-secret\n"), 0o600)
	r := newSecretResolver(envLookup(func() []string { return []string{"PW=from-env-secret"} }))
	sf := SnowflakeConfig{Password: "file:" + pw, PrivateKeyPassphrase: "env:PW", PrivateKey: "plain"}
	if err := r.resolveSnowflake(context.Background(), &sf); err != nil {
		t.Fatal(err)
	}
	if sf.Password != "from-file-secret" || sf.PrivateKeyPassphrase != "from-env-secret" || sf.PrivateKey != "plain" {
		t.Errorf("resolved %q, %q, %q", sf.Password, sf.PrivateKeyPassphrase, sf.PrivateKey)
	}
	sf = SnowflakeConfig{Password: "env:MISSING", PrivateKey: "file:" + filepath.Join(dir, "none")}
	err := r.resolveSnowflake(context.Background(), &sf)
	if err == nil || !strings.Contains(err.Error(), "env:MISSING") || !strings.Contains(err.Error(), "snowflake.private_key") {
		t.Errorf("error %v, want both references named", err)
	}
}
