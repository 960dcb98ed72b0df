package load

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"
)

// The test keys in testdata were made with
//
//	openssl genrsa 2048 > k.pem
//	openssl pkcs8 -topk8 -nocrypt -in k.pem -out key.p8
//	openssl pkcs8 -topk8 -v2 aes256 -in k.pem -passout pass:correct-horse-battery -out key_aes256.p8
//	openssl pkcs8 -topk8 -v2 des3 -in k.pem -passout pass:correct-horse-battery -out key_des3.p8
//	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key_ec.p8
const testPassphrase = "correct-horse-battery"

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"SNOWFLAKE_ACCOUNT": "myorg-acct", "SNOWFLAKE_USER": "loader", "SNOWFLAKE_PASSWORD": "pw",
		"SNOWFLAKE_PRIVATE_KEY_PATH": "/k.p8", "SNOWFLAKE_PRIVATE_KEY": "PEM", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "pp",
		"SNOWFLAKE_ROLE": "R", "SNOWFLAKE_WAREHOUSE": "W", "SNOWFLAKE_DATABASE": "D", "SNOWFLAKE_SCHEMA": "S",
		"SNOWFLAKE_HOST": "127.0.0.1", "SNOWFLAKE_PORT": "8080", "SNOWFLAKE_PROTOCOL": "http",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	got, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Account: "myorg-acct", User: "loader", Password: "pw", PrivateKeyPath: "/k.p8", PrivateKey: "PEM",
		PrivateKeyPassphrase: "pp", Role: "R", Warehouse: "W", Database: "D", Schema: "S", Host: "127.0.0.1", Port: 8080, Protocol: "http"}
	if got != want {
		t.Errorf("ConfigFromEnv() = %+v, want %+v", got, want)
	}
	t.Setenv("SNOWFLAKE_PORT", "eighty")
	if _, err := ConfigFromEnv(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "SNOWFLAKE_PORT") {
		t.Errorf("ConfigFromEnv() with a bad port = %v, want a ConfigError naming SNOWFLAKE_PORT", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want []string // substrings of the problems, all of them
	}{
		{"zero", Config{}, []string{"account is empty", "user is empty", "no authentication"}},
		{"two auths", Config{Account: "a", User: "u", Password: "p", PrivateKey: "k"}, []string{"more than one authentication"}},
		{"bad protocol and port", Config{Account: "a", User: "u", Password: "p", Protocol: "ftp", Port: 70000}, []string{`protocol "ftp"`, "port 70000"}},
		{"passphrase alone", Config{Account: "a", User: "u", Password: "p", PrivateKeyPassphrase: "x"}, []string{"passphrase given without a private key"}},
		{"negative durations", Config{Account: "a", User: "u", Password: "p", LoginTimeout: -time.Second, MaxRetryCount: -1}, []string{"login timeout", "retry count"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want a *ConfigError", err)
			}
			if len(ce.Problems) != len(tt.want) {
				t.Errorf("Validate() problems = %q, want %d of them", ce.Problems, len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
	if err := (Config{Account: "a", User: "u", Password: "p"}).Validate(); err != nil {
		t.Errorf("Validate() of a good config = %v", err)
	}
}

func TestPrivateKeyFiles(t *testing.T) {
	plain, err := parsePrivateKey([]byte(readTestdata(t, "key.p8")), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"key_aes256.p8", "key_des3.p8"} {
		t.Run(f, func(t *testing.T) {
			k, err := Config{PrivateKeyPath: filepath.Join("testdata", f), PrivateKeyPassphrase: testPassphrase}.PrivateKeyRSA()
			if err != nil {
				t.Fatalf("PrivateKeyRSA() = %v", err)
			}
			if !k.Equal(plain) {
				t.Errorf("decrypted key differs from the plain one")
			}
			_, err = Config{PrivateKey: readTestdata(t, f), PrivateKeyPassphrase: "wrong-passphrase"}.PrivateKeyRSA()
			if !errors.Is(err, ErrPassphrase) {
				t.Errorf("PrivateKeyRSA() with a wrong passphrase = %v, want ErrPassphrase", err)
			}
			_, err = Config{PrivateKey: readTestdata(t, f)}.PrivateKeyRSA()
			if err == nil || !strings.Contains(err.Error(), "no passphrase") {
				t.Errorf("PrivateKeyRSA() without a passphrase = %v, want an error saying so", err)
			}
		})
	}
	bad := []struct{ name, pem, want string }{
		{"not pem", "hello", "no PEM block"},
		{"ec key", readTestdata(t, "key_ec.p8"), "needs RSA"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "unsupported PEM block"},
		{"garbage pkcs8", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "malformed PKCS#8"},
		{"garbage encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "malformed encrypted"},
	}
	for _, b := range bad {
		_, err := parsePrivateKey([]byte(b.pem), "x")
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: parsePrivateKey() = %v, want an error containing %q", b.name, err, b.want)
		}
	}
	if _, err := (Config{PrivateKeyPath: "testdata/missing.p8"}).PrivateKeyRSA(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PrivateKeyRSA() of a missing file = %v, want ErrNotExist", err)
	}
}

func TestDriverConfig(t *testing.T) {
	c := Config{Account: "a", User: "u", PrivateKey: readTestdata(t, "key.p8"), QueryTag: "flatpipe", Host: "127.0.0.1", Port: 9, Protocol: "http"}
	dc, err := c.DriverConfig()
	if err != nil {
		t.Fatal(err)
	}
	if dc.Authenticator != gosnowflake.AuthTypeJwt || dc.PrivateKey == nil {
		t.Errorf("DriverConfig() authenticator = %v, key set %v; want JWT with the key", dc.Authenticator, dc.PrivateKey != nil)
	}
	if v := dc.Params["client_session_keep_alive"]; v == nil || *v != "true" {
		t.Errorf("DriverConfig() keep-alive param = %v, want true", v)
	}
	if v := dc.Params["query_tag"]; v == nil || *v != "flatpipe" {
		t.Errorf("DriverConfig() query_tag = %v, want flatpipe", v)
	}
	c.NoKeepAlive = true
	dc, _ = c.DriverConfig()
	if _, ok := dc.Params["client_session_keep_alive"]; ok {
		t.Errorf("DriverConfig() with NoKeepAlive still sets keep-alive")
	}
	if _, err := (Config{}).Connector(); !errors.Is(err, ErrConfig) {
		t.Errorf("Connector() of a zero Config = %v, want ErrConfig", err)
	}
}

// TestConfigNeverShowsSecrets puts recognisable secrets in every secret field
// and drives every path that formats the Config or fails with it.
func TestConfigNeverShowsSecrets(t *testing.T) {
	const secret = "Zebra-Secret-7781"
	keyPEM := readTestdata(t, "key_aes256.p8")
	var keyLines []string
	for _, l := range strings.Split(keyPEM, "\n") {
		if len(l) > 20 && !strings.HasPrefix(l, "-----") {
			keyLines = append(keyLines, l)
		}
	}
	check := func(what, s string) {
		t.Helper()
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the secret: %s", what, s)
		}
		for _, l := range keyLines {
			if strings.Contains(s, l) {
				t.Errorf("%s shows key material: %s", what, s)
			}
		}
	}
	configs := map[string]Config{
		"password":             {Account: "acct", User: "u", Password: secret, Role: "R"},
		"key wrong passphrase": {Account: "acct", User: "u", PrivateKey: keyPEM, PrivateKeyPassphrase: secret},
		"key no passphrase":    {Account: "acct", User: "u", PrivateKey: keyPEM},
		"two auths":            {Account: "acct", User: "u", Password: secret, PrivateKey: keyPEM, PrivateKeyPassphrase: secret},
		"missing key file":     {Account: "acct", User: "u", PrivateKeyPath: "testdata/none.p8", PrivateKeyPassphrase: secret},
		"bad key text":         {Account: "acct", User: "u", PrivateKey: "-----BEGIN PRIVATE KEY-----\n" + secret + "\n-----END PRIVATE KEY-----\n"},
		"no account":           {User: "u", Password: secret, Protocol: "ftp"},
	}
	for name, c := range configs {
		check(name+": String", c.String())
		check(name+": %v", fmt.Sprintf("%v", c))
		check(name+": %+v", fmt.Sprintf("%+v", c))
		check(name+": %#v", fmt.Sprintf("%#v", c))
		if err := c.Validate(); err != nil {
			check(name+": Validate", err.Error())
		}
		if _, err := c.PrivateKeyRSA(); err != nil {
			check(name+": PrivateKeyRSA", err.Error())
		}
		if _, err := c.Connector(); err != nil {
			check(name+": Connector", err.Error())
		}
		if _, err := c.OpenDB(); err != nil {
			check(name+": OpenDB", err.Error())
		}
	}
	if s := configs["password"].String(); !strings.Contains(s, "password=redacted") || !strings.Contains(s, "role=R") {
		t.Errorf("String() = %q, want it to say the password is redacted and show the role", s)
	}
}
