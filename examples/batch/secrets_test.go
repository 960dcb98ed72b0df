package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/snowflakedb/gosnowflake"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

const (
	awsTestKeyID  = "AKIDSECRETSTEST"
	awsTestSecret = "aws-secret-key-for-the-secrets-test"
	awsAccount    = "123456789012"
)

// awsSecrets is a loopback server for the two AWS JSON-protocol
// operations the job's secret references use: Secrets Manager
// GetSecretValue and SSM GetParameter (with decryption). It checks each
// request as AWS would (POST /, the X-Amz-Target, a SigV4 signature over
// the request, exactly the body fields expected) and answers in AWS's
// shapes, including its not-found errors.
type awsSecrets struct {
	secrets map[string]string // secret name → SecretString
	params  map[string]string // parameter name → value (SecureString)

	mu       sync.Mutex
	calls    []string // "GetSecretValue NAME", "GetParameter NAME"
	problems []string // requests AWS would refuse
}

func (a *awsSecrets) arn(name string) string {
	return "arn:aws:secretsmanager:us-east-1:" + awsAccount + ":secret:" + name + "-AbCdEf"
}

func (a *awsSecrets) problem(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.problems = append(a.problems, fmt.Sprintf(format, args...))
}

func (a *awsSecrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		a.problem("reading the body: %v", err)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	service := map[string]string{"secretsmanager.GetSecretValue": "secretsmanager", "AmazonSSM.GetParameter": "ssm"}[target]
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		a.problem("%s %s, want POST /", r.Method, r.URL.Path)
	case service == "":
		a.problem("X-Amz-Target %q is not an operation this server knows", target)
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		a.problem("%s: Content-Type %q", target, r.Header.Get("Content-Type"))
	}
	if err := checkSigV4(r, body, service); err != nil {
		a.problem("%s: %v", target, err)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000001")
	fail := func(typ, msg string) {
		w.Header().Set("X-Amzn-Errortype", typ)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	switch target {
	case "secretsmanager.GetSecretValue":
		var in struct{ SecretId string }
		if err := dec.Decode(&in); err != nil || in.SecretId == "" {
			a.problem("GetSecretValue body %s: %v", body, err)
			fail("ValidationException", "bad request")
			return
		}
		name := in.SecretId
		if strings.HasPrefix(name, "arn:") {
			for n := range a.secrets {
				if a.arn(n) == name {
					name = n
				}
			}
		}
		a.mu.Lock()
		a.calls = append(a.calls, "GetSecretValue "+in.SecretId)
		a.mu.Unlock()
		v, ok := a.secrets[name]
		if !ok {
			fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": a.arn(name), "Name": name, "SecretString": v,
			"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9})
	case "AmazonSSM.GetParameter":
		var in struct {
			Name           string
			WithDecryption *bool
		}
		if err := dec.Decode(&in); err != nil || in.Name == "" || in.WithDecryption == nil || !*in.WithDecryption {
			a.problem("GetParameter body %s: %v (want Name and WithDecryption true)", body, err)
			fail("ValidationException", "bad request")
			return
		}
		a.mu.Lock()
		a.calls = append(a.calls, "GetParameter "+in.Name)
		a.mu.Unlock()
		v, ok := a.params[in.Name]
		if !ok {
			fail("ParameterNotFound", "")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString",
			"Value": v, "Version": 1, "DataType": "text", "LastModifiedDate": 1.7e9,
			"ARN": "arn:aws:ssm:us-east-1:" + awsAccount + ":parameter" + in.Name}})
	}
}

// checkSigV4 verifies the request's SigV4 Authorization: its credential
// scope, then its signature, recomputed with the SDK's signer over the
// headers the client signed, the body's hash and the X-Amz-Date.
func checkSigV4(r *http.Request, body []byte, service string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("Authorization %q is not SigV4", auth)
	}
	parts := map[string]string{}
	for p := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %v", err)
	}
	scope := awsTestKeyID + "/" + when.Format("20060102") + "/us-east-1/" + service + "/aws4_request"
	if parts["Credential"] != scope {
		return fmt.Errorf("credential %q, want %q", parts["Credential"], scope)
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	for _, h := range []string{"host", "x-amz-date", "x-amz-target", "content-type"} {
		if !strings.Contains(";"+parts["SignedHeaders"]+";", ";"+h+";") {
			return fmt.Errorf("SignedHeaders %q lacks %s", parts["SignedHeaders"], h)
		}
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	again.Host = r.Host
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: awsTestKeyID, SecretAccessKey: awsTestSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), service, "us-east-1", when); err != nil {
		return err
	}
	if got := again.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature does not verify:\n got  %s\n want %s", auth, got)
	}
	return nil
}

// secretsEnv starts the AWS server and points the SDK's default
// configuration (which the job's resolver loads from the process
// environment) at it.
func secretsEnv(t *testing.T, a *awsSecrets) {
	t.Helper()
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL, "AWS_ENDPOINT_URL_SSM": srv.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": awsTestKeyID, "AWS_SECRET_ACCESS_KEY": awsTestSecret, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "",
	} {
		t.Setenv(k, v)
	}
	t.Cleanup(func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, p := range a.problems {
			t.Errorf("AWS server: %s", p)
		}
	})
}

// TestSecretsFromAWS logs the job in to the emulator with a password from
// Secrets Manager (a field of a JSON secret), then with an encrypted
// private key from Secrets Manager (by ARN) and its passphrase from SSM
// Parameter Store, over HTTP with the SDK's clients; loads a table each
// time (compared cell for cell), and finds no secret in the job's output
// and logs (debug level, JSON, the driver's included).
func TestSecretsFromAWS(t *testing.T) {
	plainPEM, err := os.ReadFile("../../load/testdata/key.p8")
	if err != nil {
		t.Fatal(err)
	}
	encPEM, err := os.ReadFile("../../load/testdata/key_aes256.p8")
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "correct-horse-battery" // load/testdata's
	block, _ := pem.Decode(plainPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	const password = "pw-from-secrets-manager-Q7f3a"
	a := &awsSecrets{
		secrets: map[string]string{
			"prod/snowflake/loader": `{"username":"loader","password":"` + password + `"}`,
			"prod/snowflake/key":    string(encPEM),
		},
		params: map[string]string{"/prod/snowflake/key-passphrase": passphrase},
	}
	secretsEnv(t, a)
	sf, err := snowflaketest.NewServer(snowflaketest.Options{
		Users:    map[string]string{"TEST": "test", "LOADER": password, "KEYLOADER": "not-the-way-in"},
		UserKeys: map[string]*rsa.PublicKey{"KEYLOADER": &key.(*rsa.PrivateKey).PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	db := sf.OpenDB()
	t.Cleanup(func() { db.Close() })
	cfg := sf.Config()
	base := []string{"SNOWFLAKE_ACCOUNT=" + cfg.Account, "SNOWFLAKE_DATABASE=" + cfg.Database, "SNOWFLAKE_SCHEMA=" + cfg.Schema,
		"SNOWFLAKE_HOST=" + cfg.Host, "SNOWFLAKE_PORT=" + strconv.Itoa(cfg.Port), "SNOWFLAKE_PROTOCOL=http"}

	dir := t.TempDir()
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(`{"id":%d,"name":"n%d","tags":["a","b"],"amount":%d.25}`, i, i, i))
	}
	input := []byte(strings.Join(lines, "\n") + "\n")
	os.WriteFile(filepath.Join(dir, "in.ndjson"), input, 0o644)
	want := expect(t, map[string][]byte{"in": input})

	// The driver's own log, at its most verbose, goes where the test reads
	// it (the job leaves the driver's level alone with -log-level debug).
	var driverLog syncBuffer
	gosnowflake.GetLogger().SetOutput(&driverLog)
	if err := gosnowflake.GetLogger().SetLogLevel("trace"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gosnowflake.GetLogger().SetOutput(os.Stderr)
		_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	})
	secrets := []string{password, passphrase, pemBody(plainPEM), pemBody(encPEM)}
	runWith := func(t *testing.T, env []string, args ...string) (int, string) {
		t.Helper()
		var out syncBuffer
		var stopping atomic.Bool
		args = append([]string{"-progress", "none", "-log-level", "debug", "-log-format", "json"}, args...)
		code := run(context.Background(), args, func() []string { return append(append([]string{}, base...), env...) }, &out, &out, &stopping, nil)
		all := out.String() + driverLog.String()
		if driverLog.String() == "" {
			t.Error("the driver logged nothing at trace level")
		}
		for _, s := range secrets {
			if strings.Contains(all, s) {
				t.Errorf("the output or logs show a secret (%.6s…)", s)
			}
		}
		return code, out.String()
	}

	t.Run("password", func(t *testing.T) {
		code, out := runWith(t, []string{"SNOWFLAKE_USER=loader", "SNOWFLAKE_PASSWORD=secretsmanager:prod/snowflake/loader#password"},
			"-table", "pw_events", dir)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		checkTable(t, db, "PW_EVENTS", want)
	})
	t.Run("key pair", func(t *testing.T) {
		code, out := runWith(t, []string{"SNOWFLAKE_USER=keyloader",
			"SNOWFLAKE_PRIVATE_KEY=secretsmanager:" + a.arn("prod/snowflake/key"),
			"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=ssm:/prod/snowflake/key-passphrase"},
			"-table", "key_events", dir)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		checkTable(t, db, "KEY_EVENTS", want)
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		a.params["/prod/snowflake/other"] = "not-the-passphrase-Z9"
		secrets = append(secrets, "not-the-passphrase-Z9")
		code, out := runWith(t, []string{"SNOWFLAKE_USER=keyloader", "SNOWFLAKE_PRIVATE_KEY=secretsmanager:prod/snowflake/key",
			"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=ssm:/prod/snowflake/other"}, "-table", "never", dir)
		if code != 1 || !strings.Contains(out, "passphrase") {
			t.Errorf("exit %d, want 1 naming the passphrase\n%s", code, out)
		}
	})
	t.Run("print-config", func(t *testing.T) {
		a.mu.Lock()
		before := len(a.calls)
		a.mu.Unlock()
		code, out := runWith(t, []string{"SNOWFLAKE_USER=keyloader", "SNOWFLAKE_PASSWORD=" + password,
			"SNOWFLAKE_PRIVATE_KEY=secretsmanager:prod/snowflake/key", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=ssm:/prod/snowflake/key-passphrase"},
			"-print-config")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, w := range []string{`snowflake.password: "****"`, `snowflake.private_key: "secretsmanager:prod/snowflake/key"`,
			`snowflake.private_key_passphrase: "ssm:/prod/snowflake/key-passphrase"`} {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("-print-config lacks %q:\n%s", w, out)
			}
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.calls) != before {
			t.Errorf("-print-config fetched secrets: %q", a.calls[before:])
		}
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range []string{"GetSecretValue prod/snowflake/loader", "GetSecretValue " + a.arn("prod/snowflake/key"),
		"GetParameter /prod/snowflake/key-passphrase"} {
		if !strings.Contains(strings.Join(a.calls, "\n")+"\n", c+"\n") {
			t.Errorf("the AWS server saw %q, want %q among them", a.calls, c)
		}
	}
}

// TestSecretsNotFound: a missing secret or parameter is a clear error
// naming the reference (and, through errors.As, AWS's typed error); a
// secret that is fetched but unusable is named without its value. Every
// problem is reported at once.
func TestSecretsNotFound(t *testing.T) {
	const plain = "plain-secret-value-K2m9"
	a := &awsSecrets{secrets: map[string]string{"prod/plain": plain}, params: map[string]string{}}
	secretsEnv(t, a)
	r := newSecretResolver(func(string) string { return "" })
	sf := SnowflakeConfig{Password: "secretsmanager:prod/missing", PrivateKeyPassphrase: "ssm:/prod/missing",
		PrivateKey: "secretsmanager:prod/plain#password"}
	err := r.resolveSnowflake(context.Background(), &sf)
	if err == nil {
		t.Fatal("resolved missing secrets")
	}
	msg := err.Error()
	for _, w := range []string{"snowflake.password: secretsmanager:prod/missing", "ResourceNotFoundException",
		"snowflake.private_key_passphrase: ssm:/prod/missing", "ParameterNotFound",
		"snowflake.private_key: secretsmanager:prod/plain: the secret is not a JSON object"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, plain) {
		t.Errorf("error shows the secret:\n%s", msg)
	}
	var rnf *smtypes.ResourceNotFoundException
	var pnf *ssmtypes.ParameterNotFound
	if !errors.As(err, &rnf) || !errors.As(err, &pnf) {
		t.Errorf("error %v: want ResourceNotFoundException and ParameterNotFound through errors.As", err)
	}

	// Through the job: exit 1 before any work, the reference named.
	var out syncBuffer
	var stopping atomic.Bool
	env := []string{"SNOWFLAKE_ACCOUNT=acct", "SNOWFLAKE_USER=u", "SNOWFLAKE_PASSWORD=secretsmanager:prod/plain#nope"}
	code := run(context.Background(), []string{"-progress", "none", "-log-level", "debug", t.TempDir()}, func() []string { return env }, &out, &out, &stopping, nil)
	if code != 1 || !strings.Contains(out.String(), `secretsmanager:prod/plain: the secret is not a JSON object`) || strings.Contains(out.String(), plain) {
		t.Errorf("exit %d, want 1 naming the reference, not the secret:\n%s", code, out.String())
	}
}

// pemBody returns the first line of base64 in a PEM block: enough of the
// key to spot it in a log.
func pemBody(p []byte) string {
	lines := strings.Split(string(p), "\n")
	if len(lines) < 2 {
		return string(p)
	}
	return lines[1]
}
