package source

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// InputOptions configures ResolveInputs.
type InputOptions struct {
	// S3PathStyle addresses buckets as https://endpoint/bucket/key, as
	// S3-compatible servers need.
	S3PathStyle bool
	// Client is used for s3:// inputs if set; otherwise one is built from the
	// SDK's standard configuration chain (AWS_REGION, AWS_ENDPOINT_URL_S3,
	// credentials variables, shared config files, ...), only if an s3:// input
	// is present.
	Client S3API
	// Suffixes, if set, keeps only objects under s3:// prefixes whose keys end
	// in one of them.
	Suffixes []string
}

// ParseS3URL splits "s3://bucket/key" into bucket and key. A key that is
// empty or ends in "/" is a prefix.
func ParseS3URL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("source: %q is not an s3:// URL", u)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("source: %q has no bucket", u)
	}
	return bucket, key, nil
}

// NewS3ClientFromEnv builds an S3 client from the SDK's standard configuration
// chain. With a custom endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) the
// request checksum calculation and response validation default to "when
// required", which S3-compatible servers accept; AWS_REQUEST_CHECKSUM_CALCULATION
// and AWS_RESPONSE_CHECKSUM_VALIDATION still override that. An empty region
// becomes us-east-1.
func NewS3ClientFromEnv(ctx context.Context, pathStyle bool) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
			if !envSet("AWS_REQUEST_CHECKSUM_CALCULATION") {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			}
			if !envSet("AWS_RESPONSE_CHECKSUM_VALIDATION") {
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		}
	}), nil
}

// ResolveInputs turns command-line inputs into objects, in the order given:
// local paths, globs and directories (see ListLocal), "s3://bucket/key" (one
// object) and "s3://bucket/prefix/" or "s3://bucket" (every object under the
// prefix, in key order). It returns the S3 client used, nil if no input
// named S3.
func ResolveInputs(ctx context.Context, args []string, opts InputOptions) ([]Object, S3API, error) {
	client := opts.Client
	var out []Object
	for _, a := range args {
		if !strings.HasPrefix(a, "s3://") {
			objs, err := ListLocal(a)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, objs...)
			continue
		}
		bucket, key, err := ParseS3URL(a)
		if err != nil {
			return nil, nil, err
		}
		if client == nil {
			c, err := NewS3ClientFromEnv(ctx, opts.S3PathStyle)
			if err != nil {
				return nil, nil, err
			}
			client = c
		}
		if key != "" && !strings.HasSuffix(key, "/") {
			out = append(out, Object{Bucket: bucket, Key: key, Size: -1})
			continue
		}
		objs, err := ListS3(ctx, client, ListOptions{Bucket: bucket, Prefix: key, Suffixes: opts.Suffixes})
		if err != nil {
			return nil, nil, err
		}
		if len(objs) == 0 {
			return nil, nil, fmt.Errorf("source: no objects under %s", a)
		}
		out = append(out, objs...)
	}
	return out, client, nil
}

func envSet(name string) bool { return os.Getenv(name) != "" }
