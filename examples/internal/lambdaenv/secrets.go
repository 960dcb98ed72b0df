package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ErrSecret is wrapped by every error fetching a secret.
var ErrSecret = errors.New("lambdaenv: cannot fetch secret")

// SecretsManagerAPI is the part of *secretsmanager.Client PrivateKey uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the part of *ssm.Client PrivateKey uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Key is a Snowflake private key fetched at start-up. String hides it.
type Key struct {
	PEM, Passphrase string
	// From names where it came from: "env", "secretsmanager:<id>" or
	// "ssm:<name>".
	From string
}

// String names the key's origin only.
func (k Key) String() string { return "private key from " + k.From }

// Overlay returns the variables that hand k to package load's
// ConfigFromEnv: SNOWFLAKE_PRIVATE_KEY and, when set,
// SNOWFLAKE_PRIVATE_KEY_PASSPHRASE. It is empty when k came from the
// environment already.
func (k Key) Overlay() map[string]string {
	m := map[string]string{}
	if k.From == "env" || k.PEM == "" {
		return m
	}
	m["SNOWFLAKE_PRIVATE_KEY"] = k.PEM
	if k.Passphrase != "" {
		m["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"] = k.Passphrase
	}
	return m
}

// PrivateKey finds the Snowflake private key: SNOWFLAKE_PRIVATE_KEY (or
// SNOWFLAKE_PRIVATE_KEY_PATH, left to load) when set, else the Secrets
// Manager secret FLATPIPE_PRIVATE_KEY_SECRET, else the SSM parameter
// FLATPIPE_PRIVATE_KEY_PARAMETER (decrypted). The clients are asked for
// only when needed: newSM and newSSM may be nil when the variable is unset.
// The zero Key (From "") means no key is configured (password auth).
// Call it once per container, at start-up, not per invocation.
func PrivateKey(ctx context.Context, lookup LookupFunc, newSM func() SecretsManagerAPI, newSSM func() SSMAPI) (Key, error) {
	get := func(n string) string { v, _ := lookup(n); return strings.TrimSpace(v) }
	if get("SNOWFLAKE_PRIVATE_KEY") != "" || get("SNOWFLAKE_PRIVATE_KEY_PATH") != "" {
		return Key{PEM: get("SNOWFLAKE_PRIVATE_KEY"), From: "env"}, nil
	}
	if id := get("FLATPIPE_PRIVATE_KEY_SECRET"); id != "" {
		if newSM == nil {
			return Key{}, fmt.Errorf("%w: secretsmanager %q: no client", ErrSecret, id)
		}
		out, err := newSM().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return Key{}, fmt.Errorf("%w: secretsmanager %q: %w", ErrSecret, id, err)
		}
		k, err := parseSecret(aws.ToString(out.SecretString))
		if err != nil {
			return Key{}, fmt.Errorf("%w: secretsmanager %q: %w", ErrSecret, id, err)
		}
		k.From = "secretsmanager:" + id
		if k.Passphrase == "" {
			k.Passphrase = get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
		}
		return k, nil
	}
	if name := get("FLATPIPE_PRIVATE_KEY_PARAMETER"); name != "" {
		if newSSM == nil {
			return Key{}, fmt.Errorf("%w: ssm %q: no client", ErrSecret, name)
		}
		out, err := newSSM().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return Key{}, fmt.Errorf("%w: ssm %q: %w", ErrSecret, name, err)
		}
		if out.Parameter == nil {
			return Key{}, fmt.Errorf("%w: ssm %q: no parameter in the answer", ErrSecret, name)
		}
		k, err := parseSecret(aws.ToString(out.Parameter.Value))
		if err != nil {
			return Key{}, fmt.Errorf("%w: ssm %q: %w", ErrSecret, name, err)
		}
		k.From = "ssm:" + name
		if k.Passphrase == "" {
			k.Passphrase = get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
		}
		return k, nil
	}
	return Key{}, nil
}

// parseSecret accepts PEM text or JSON {"private_key": …, "passphrase": …}.
// Its errors never quote the secret.
func parseSecret(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var j struct {
			PrivateKey string `json:"private_key"`
			Passphrase string `json:"passphrase"`
		}
		if err := json.Unmarshal([]byte(s), &j); err != nil {
			return Key{}, errors.New("secret is neither PEM nor valid JSON")
		}
		pem := strings.TrimSpace(j.PrivateKey)
		if !strings.HasPrefix(pem, "-----BEGIN ") {
			return Key{}, errors.New(`JSON secret has no PEM "private_key"`)
		}
		return Key{PEM: pem, Passphrase: j.Passphrase}, nil
	}
	if !strings.HasPrefix(s, "-----BEGIN ") {
		return Key{}, errors.New("secret is not a PEM private key")
	}
	return Key{PEM: s}, nil
}
