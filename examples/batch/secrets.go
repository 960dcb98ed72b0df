package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// secretResolver turns a secret reference into the secret. A value without
// a known prefix is the secret itself.
//
//	env:NAME                 the environment variable NAME
//	file:PATH                the file's content, one trailing newline removed
//	secretsmanager:ID        an AWS Secrets Manager secret (string value)
//	secretsmanager:ID#FIELD  one field of a JSON secret
//	ssm:NAME                 an SSM Parameter Store parameter, decrypted
//
// Errors name the reference, never the secret.
type secretResolver struct {
	getenv func(string) string
	aws    func(ctx context.Context) (aws.Config, error)
}

func newSecretResolver(getenv func(string) string) *secretResolver {
	return &secretResolver{
		getenv: getenv,
		aws: func(ctx context.Context) (aws.Config, error) {
			return awsconfig.LoadDefaultConfig(ctx)
		},
	}
}

// resolveSnowflake replaces the references in the secret fields of sf.
func (r *secretResolver) resolveSnowflake(ctx context.Context, sf *SnowflakeConfig) error {
	var errs []error
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"snowflake.password", &sf.Password},
		{"snowflake.private_key", &sf.PrivateKey},
		{"snowflake.private_key_passphrase", &sf.PrivateKeyPassphrase},
	} {
		v, err := r.resolve(ctx, *f.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			continue
		}
		*f.v = v
	}
	return errors.Join(errs...)
}

func (r *secretResolver) resolve(ctx context.Context, ref string) (string, error) {
	scheme, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return ref, nil
	}
	switch scheme {
	case "env":
		v := r.getenv(rest)
		if v == "" {
			return "", fmt.Errorf("env:%s is not set", rest)
		}
		return v, nil
	case "file":
		b, err := os.ReadFile(rest)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("file:%s: %w", rest, pe.Err)
			}
			return "", fmt.Errorf("file:%s: cannot read", rest)
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	case "secretsmanager":
		id, field, _ := strings.Cut(rest, "#")
		cfg, err := r.aws(ctx)
		if err != nil {
			return "", fmt.Errorf("secretsmanager:%s: AWS configuration: %w", id, err)
		}
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("secretsmanager:%s: %w", id, err)
		}
		v := aws.ToString(out.SecretString)
		if field == "" {
			return v, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return "", fmt.Errorf("secretsmanager:%s: the secret is not a JSON object", id)
		}
		s, ok := m[field].(string)
		if !ok {
			return "", fmt.Errorf("secretsmanager:%s: no string field %q", id, field)
		}
		return s, nil
	case "ssm":
		cfg, err := r.aws(ctx)
		if err != nil {
			return "", fmt.Errorf("ssm:%s: AWS configuration: %w", rest, err)
		}
		out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(rest), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("ssm:%s: %w", rest, err)
		}
		if out.Parameter == nil {
			return "", fmt.Errorf("ssm:%s: no parameter", rest)
		}
		return aws.ToString(out.Parameter.Value), nil
	}
	// A colon in a password is no reference.
	return ref, nil
}
