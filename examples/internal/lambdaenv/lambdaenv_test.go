package lambdaenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
)

func lookupMap(m map[string]string) lambdaenv.LookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var testVars = []lambdaenv.Var{
	{Name: "MODE", Default: "a", Doc: "mode"},
	{Name: "NEED", Required: true, Doc: "needed"},
	{Name: "KEY", Secret: true, Doc: "a secret"},
	{Name: "N", Doc: "n"},
	{Name: "D", Default: "30s", Doc: "d"},
	{Name: "B", Doc: "b"},
	{Name: "URL", Doc: "url"},
}

func TestEnvValues(t *testing.T) {
	env := lambdaenv.NewEnv(lookupMap(map[string]string{"NEED": " x ", "N": "7", "B": "true", "URL": "s3://bkt/p/q"}), testVars)
	if got := env.OneOf("MODE", "a", "b"); got != "a" {
		t.Errorf("OneOf(MODE) = %q, want the default a", got)
	}
	if got := env.String("NEED"); got != "x" {
		t.Errorf("String(NEED) = %q, want x", got)
	}
	if got := env.Int("N"); got != 7 {
		t.Errorf("Int(N) = %d, want 7", got)
	}
	if got := env.Duration("D"); got != 30*time.Second {
		t.Errorf("Duration(D) = %v, want 30s", got)
	}
	if !env.Bool("B") {
		t.Error("Bool(B) = false, want true")
	}
	if b, p := env.S3URL("URL"); b != "bkt" || p != "p/q/" {
		t.Errorf("S3URL(URL) = %q, %q, want bkt, p/q/", b, p)
	}
	if err := env.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestEnvErrors(t *testing.T) {
	const secret = "-----BEGIN PRIVATE KEY----- very secret"
	env := lambdaenv.NewEnv(lookupMap(map[string]string{"MODE": "c", "KEY": secret, "N": "-1", "D": "soon", "B": "maybe", "URL": "http://x"}), testVars)
	env.OneOf("MODE", "a", "b")
	env.String("NEED")
	env.OneOf("KEY", "x")
	env.Int("N")
	env.Duration("D")
	env.Bool("B")
	env.S3URL("URL")
	env.String("UNDOCUMENTED")
	env.Require(false, "MODE", "needs something")
	err := env.Err()
	if !errors.Is(err, lambdaenv.ErrConfig) {
		t.Fatalf("Err() = %v, want ErrConfig", err)
	}
	for _, want := range []string{"MODE: \"c\" is not one of a, b", "NEED: must be set", "KEY: (value hidden)", "N: \"-1\"",
		"D: \"soon\"", "B: \"maybe\"", "URL: \"http://x\" is not an s3://", "UNDOCUMENTED: not a documented variable", "MODE: needs something"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %v\nwant it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "very secret") {
		t.Errorf("Err() = %v, shows a secret value", err)
	}
}

func TestMarkdown(t *testing.T) {
	got := lambdaenv.Markdown([]lambdaenv.Var{{Name: "A", Default: "1", Doc: "x | y"}, {Name: "B", Required: true, Doc: "b"}, {Name: "C", Doc: "c"}})
	want := "| variable | default | description |\n|---|---|---|\n| `A` | `1` | x \\| y |\n| `B` | required | b |\n| `C` | – | c |\n"
	if got != want {
		t.Errorf("Markdown() = %q, want %q", got, want)
	}
}

const testPEM = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----"

// awsJSONServer answers the AWS JSON protocol of one operation (by its
// X-Amz-Target) with body, and records the requests.
type awsJSONServer struct {
	target string
	status int
	body   string
	got    []map[string]any
}

func (s *awsJSONServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s.got = append(s.got, m)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Header.Get("X-Amz-Target") != s.target {
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		return
	}
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func awsConfig(url string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
}

func TestPrivateKeySources(t *testing.T) {
	ctx := context.Background()
	secretJSON, _ := json.Marshal(map[string]string{"SecretString": `{"private_key":` + strconvQuote(testPEM) + `,"passphrase":"pp"}`})
	sm := &awsJSONServer{target: "secretsmanager.GetSecretValue", status: 200, body: string(secretJSON)}
	smSrv := httptest.NewServer(sm)
	defer smSrv.Close()
	paramJSON, _ := json.Marshal(map[string]any{"Parameter": map[string]string{"Name": "/sf/key", "Value": testPEM}})
	ps := &awsJSONServer{target: "AmazonSSM.GetParameter", status: 200, body: string(paramJSON)}
	psSrv := httptest.NewServer(ps)
	defer psSrv.Close()
	newSM := func() lambdaenv.SecretsManagerAPI { return secretsmanager.NewFromConfig(awsConfig(smSrv.URL)) }
	newSSM := func() lambdaenv.SSMAPI { return ssm.NewFromConfig(awsConfig(psSrv.URL)) }

	tests := []struct {
		name     string
		env      map[string]string
		wantFrom string
		wantPP   string
		overlay  bool
	}{
		{"env", map[string]string{"SNOWFLAKE_PRIVATE_KEY": testPEM, "FLATPIPE_PRIVATE_KEY_SECRET": "ignored"}, "env", "", false},
		{"secretsmanager", map[string]string{"FLATPIPE_PRIVATE_KEY_SECRET": "sf/key"}, "secretsmanager:sf/key", "pp", true},
		{"ssm", map[string]string{"FLATPIPE_PRIVATE_KEY_PARAMETER": "/sf/key", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "envpp"}, "ssm:/sf/key", "envpp", true},
		{"none", map[string]string{}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := lambdaenv.PrivateKey(ctx, lookupMap(tc.env), newSM, newSSM)
			if err != nil {
				t.Fatalf("PrivateKey() error %v", err)
			}
			if k.From != tc.wantFrom || k.Passphrase != tc.wantPP {
				t.Errorf("PrivateKey() = from %q passphrase %q, want %q %q", k.From, k.Passphrase, tc.wantFrom, tc.wantPP)
			}
			if tc.wantFrom != "" && k.PEM != testPEM {
				t.Errorf("PrivateKey().PEM = %q, want the key", k.PEM)
			}
			if strings.Contains(k.String(), "PRIVATE") {
				t.Errorf("Key.String() = %q shows the key", k.String())
			}
			ov := k.Overlay()
			if got := ov["SNOWFLAKE_PRIVATE_KEY"] == testPEM; got != tc.overlay {
				t.Errorf("Overlay() has the key: %v, want %v", got, tc.overlay)
			}
		})
	}
	if len(sm.got) != 1 || sm.got[0]["SecretId"] != "sf/key" {
		t.Errorf("Secrets Manager requests = %v, want one for sf/key", sm.got)
	}
	if len(ps.got) != 1 || ps.got[0]["Name"] != "/sf/key" || ps.got[0]["WithDecryption"] != true {
		t.Errorf("SSM requests = %v, want one for /sf/key WithDecryption", ps.got)
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestPrivateKeyErrors(t *testing.T) {
	ctx := context.Background()
	const leak = "not-a-key-but-secret-text"
	bad, _ := json.Marshal(map[string]string{"SecretString": leak})
	sm := httptest.NewServer(&awsJSONServer{target: "secretsmanager.GetSecretValue", status: 200, body: string(bad)})
	defer sm.Close()
	denied := httptest.NewServer(&awsJSONServer{target: "AmazonSSM.GetParameter", status: 400, body: `{"__type":"AccessDeniedException","message":"no"}`})
	defer denied.Close()
	newSM := func() lambdaenv.SecretsManagerAPI { return secretsmanager.NewFromConfig(awsConfig(sm.URL)) }
	newSSM := func() lambdaenv.SSMAPI { return ssm.NewFromConfig(awsConfig(denied.URL)) }
	for _, env := range []map[string]string{{"FLATPIPE_PRIVATE_KEY_SECRET": "s"}, {"FLATPIPE_PRIVATE_KEY_PARAMETER": "p"}} {
		_, err := lambdaenv.PrivateKey(ctx, lookupMap(env), newSM, newSSM)
		if !errors.Is(err, lambdaenv.ErrSecret) {
			t.Errorf("PrivateKey(%v) error = %v, want ErrSecret", env, err)
		}
		if err != nil && strings.Contains(err.Error(), leak) {
			t.Errorf("PrivateKey(%v) error %q shows the secret", env, err)
		}
	}
}

func TestMetricsEMF(t *testing.T) {
	var buf bytes.Buffer
	m, err := lambdaenv.NewMetrics(&buf, "flatpipe", "fn", nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Object(lambdaenv.OutcomeLoaded)
	m.Object(lambdaenv.OutcomeLoaded)
	m.Add(lambdaenv.MetricRecords, 5)
	m.Add(lambdaenv.MetricBytes, 100)
	m.Stage("load", 1500*time.Microsecond)
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if v["_aws"] == nil || v["Function"] != "fn" {
			t.Errorf("EMF line %q lacks _aws or Function", line)
		}
		for k, x := range v {
			if k != "_aws" && k != "Function" {
				got[k+"="+toString(x)] = true
			}
		}
	}
	for _, want := range []string{"Objects=2", "Outcome=loaded", "Records=5", "Bytes=[100]", "Latency=[1.5]", "Stage=load"} {
		if !got[want] {
			t.Errorf("EMF output %s lacks %s", buf.String(), want)
		}
	}
}

func toString(v any) string { b, _ := json.Marshal(v); return strings.Trim(string(b), `"`) }

func TestLoggerRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := lambdaenv.NewLogger(&buf, nil)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	log.With("a", 1).InfoContext(ctx, "hello", "object", "s3://b/k")
	var v map[string]any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if v["requestId"] != "req-1" || v["msg"] != "hello" || v["object"] != "s3://b/k" || v["a"] != float64(1) {
		t.Errorf("log line = %v, want requestId, msg, object and a", v)
	}
}
