package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
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
	os.WriteFile(jf, []byte(`{"table":"j","snowflake":{"account":"a","user":"u","password":"secretsmanager:prod/loader#password"}}`), 0o600)
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
	// An unknown argument followed by a flag takes no value; one at the end
	// neither; after "--" everything is an input.
	code, out, errs = runInProcess(nil, "--enable-metrics", "-table", "t2", "-print-config", "--", "--JOB_ID", "in1")
	if code != 0 || !strings.Contains(out, `table: "t2"`) || !strings.Contains(out, "inputs: [--JOB_ID, in1]\n") ||
		!strings.Contains(errs, "ignoring unknown job argument --enable-metrics") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runInProcess(nil, "-print-config", "-table", "t3", "--JOB_RUN_ID")
	if code != 0 || !strings.Contains(out, `table: "t3"`) || !strings.Contains(out, "inputs: []\n") ||
		!strings.Contains(errs, "ignoring unknown job argument --JOB_RUN_ID") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
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

// TestConfigLayers checks the precedence defaults < file < environment <
// flags for each kind of setting (string, int, float, bool, list, a nested
// key), including a flag that sets a bool back to false and a list flag
// replacing an environment list.
func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "job.yaml")
	os.WriteFile(yamlFile, []byte("table: from_file\nuploads: 2\nmax_reject_rate: 0.1\ns3:\n  path_style: true\nkey: [f1]\ndisposition: merge\ndetect_time: false\n"), 0o600)
	jsonFile := filepath.Join(dir, "job.json")
	os.WriteFile(jsonFile, []byte(`{"table":"from_file","uploads":2,"max_reject_rate":0.1,"s3":{"path_style":true},"key":["f1"],"disposition":"merge","detect_time":false}`), 0o600)
	env := []string{"FLATPIPE_TABLE=from_env", "FLATPIPE_UPLOADS=3", "FLATPIPE_MAX_REJECT_RATE=0.2",
		"FLATPIPE_S3_PATH_STYLE=false", "FLATPIPE_KEY=e1,e2", "FLATPIPE_DISPOSITION=merge", "FLATPIPE_DETECT_TIME=true"}
	flags := []string{"-table", "from_flag", "-uploads", "4", "-max-reject-rate", "0.3", "-s3-path-style=true", "-key", "g1", "-detect-time=false"}
	tests := []struct {
		name  string
		env   []string
		args  []string
		wants []string
	}{
		{"defaults", nil, nil,
			[]string{`table: "EVENTS"`, `uploads: 4`, `max_reject_rate: 0.05`, `s3.path_style: false`, `key: []`, `detect_time: true`}},
		{"yaml file", nil, []string{"-config", yamlFile},
			[]string{`table: "from_file"`, `uploads: 2`, `max_reject_rate: 0.1`, `s3.path_style: true`, `key: [f1]`, `detect_time: false`}},
		{"json file", nil, []string{"-config", jsonFile},
			[]string{`table: "from_file"`, `uploads: 2`, `max_reject_rate: 0.1`, `s3.path_style: true`, `key: [f1]`, `detect_time: false`}},
		{"environment over file", env, []string{"-config", yamlFile},
			[]string{`table: "from_env"`, `uploads: 3`, `max_reject_rate: 0.2`, `s3.path_style: false`, `key: [e1, e2]`, `detect_time: true`}},
		{"flags over environment", env, append([]string{"-config", yamlFile}, flags...),
			[]string{`table: "from_flag"`, `uploads: 4`, `max_reject_rate: 0.3`, `s3.path_style: true`, `key: [g1]`, `detect_time: false`}},
		{"a false flag over a true file", nil, []string{"-config", jsonFile, "-s3-path-style=false"},
			[]string{`s3.path_style: false`, `table: "from_file"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runInProcess(tt.env, append(tt.args, "-print-config")...)
			for _, w := range tt.wants {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("-print-config lacks %q:\n%s%s", w, out, errs)
				}
			}
			if tt.name != "defaults" && code != 0 {
				t.Errorf("exit %d\n%s", code, errs)
			}
		})
	}
}

// TestSecretsMaskedFromEverySource: each secret setting, given literally
// in a YAML file, a JSON file or the environment, is masked by
// -print-config, also when the configuration has problems, and never
// appears in the problems listed; references to a secret store are shown,
// and an environment reference overrides a literal from the file.
func TestSecretsMaskedFromEverySource(t *testing.T) {
	dir := t.TempDir()
	pem := "-----BEGIN PRIVATE KEY-----\nMIIsecretKEYbodyLINE0123456789\n-----END PRIVATE KEY-----"
	yamlFile := filepath.Join(dir, "job.yaml")
	os.WriteFile(yamlFile, []byte("snowflake:\n  account: a\n  user: u\n  password: yaml-pw-S1\n  private_key: |\n    "+
		strings.ReplaceAll(pem, "\n", "\n    ")+"\n  private_key_passphrase: yaml-pass-S2\n"), 0o600)
	jsonFile := filepath.Join(dir, "job.json")
	os.WriteFile(jsonFile, []byte(`{"snowflake":{"account":"a","user":"u","password":"json-pw-S3","private_key":`+
		strconv.Quote(pem)+`,"private_key_passphrase":"json-pass-S4"}}`), 0o600)
	envSecrets := []string{"SNOWFLAKE_ACCOUNT=a", "SNOWFLAKE_USER=u", "SNOWFLAKE_PASSWORD=env-pw-S5",
		"SNOWFLAKE_PRIVATE_KEY=" + pem, "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=env-pass-S6"}
	secrets := []string{"yaml-pw-S1", "yaml-pass-S2", "json-pw-S3", "json-pass-S4", "env-pw-S5", "env-pass-S6", "MIIsecretKEYbodyLINE"}
	masked := []string{`snowflake.password: "****"`, `snowflake.private_key: "****"`, `snowflake.private_key_passphrase: "****"`}
	tests := []struct {
		name  string
		env   []string
		args  []string
		code  int
		wants []string
	}{
		{"yaml file", nil, []string{"-config", yamlFile}, 0, masked},
		{"json file", nil, []string{"-config", jsonFile}, 0, masked},
		{"environment", envSecrets, nil, 0, masked},
		{"with problems", envSecrets, []string{"-config", yamlFile, "-disposition", "upsert"}, 1, masked},
		{"references", []string{"SNOWFLAKE_PASSWORD=ssm:/prod/pw", "SNOWFLAKE_PRIVATE_KEY=file:/keys/k.p8",
			"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=env:KEY_PASS"}, []string{"-config", yamlFile}, 0,
			[]string{`snowflake.password: "ssm:/prod/pw"`, `snowflake.private_key: "file:/keys/k.p8"`,
				`snowflake.private_key_passphrase: "env:KEY_PASS"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runInProcess(tt.env, append(tt.args, "-print-config")...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, errs)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("-print-config lacks %q:\n%s", w, out)
				}
			}
			for _, s := range secrets {
				if strings.Contains(out+errs, s) {
					t.Errorf("output shows the secret %q:\n%s%s", s, out, errs)
				}
			}
		})
	}
	// A secret of the wrong shape is refused without being shown.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("snowflake:\n  password: [list-pw-S7]\n  private_key: {k: map-key-S8}\n"), 0o600)
	code, out, errs := runInProcess(nil, "-config", bad)
	if code != 1 || !strings.Contains(errs, "snowflake.password") || strings.Contains(out+errs, "list-pw-S7") || strings.Contains(out+errs, "map-key-S8") {
		t.Errorf("exit %d, want 1 naming snowflake.password without its value:\n%s%s", code, out, errs)
	}
}

// TestConfigProblemsAcrossLayers: problems from the file, the environment
// and the flags, type errors and invalid values, are listed together.
func TestConfigProblemsAcrossLayers(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "job.yaml")
	os.WriteFile(f, []byte("disposition: upsert\nsnowflake:\n  protocol: ftp\n  pasword: typo-secret-S9\n"), 0o600)
	env := []string{"FLATPIPE_UPLOADS=many", "FLATPIPE_EMULATOR_MEMORY=lots"}
	code, out, errs := runInProcess(env, "-config", f, "-shard", "1/1", "-metrics", "prometheus")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{"'uploads' cannot parse", `disposition: "upsert"`, `unknown setting "snowflake.pasword"`,
		"snowflake.account: SNOWFLAKE_ACCOUNT is required", "shard:", "metrics_addr", `emulator_memory: "lots"`, "8 configuration problem(s)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("problems lack %q:\n%s", want, errs)
		}
	}
	if strings.Contains(out+errs, "typo-secret-S9") {
		t.Error("a misspelt key's value is shown")
	}
}
