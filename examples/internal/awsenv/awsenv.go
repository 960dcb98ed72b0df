// Package awsenv builds AWS clients from the environment for the example
// programs: the SDK's standard configuration chain (AWS_REGION,
// AWS_ENDPOINT_URL_S3, credentials variables, shared config files, ...)
// with the settings S3-compatible servers need. The library packages take a
// client and never read the environment themselves.
package awsenv

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// NewS3Client builds an S3 client from the SDK's standard configuration
// chain. pathStyle addresses buckets as https://endpoint/bucket/key. With a
// custom endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) the request
// checksum calculation and response validation default to "when required",
// which S3-compatible servers accept; AWS_REQUEST_CHECKSUM_CALCULATION and
// AWS_RESPONSE_CHECKSUM_VALIDATION still override that. An empty region
// becomes us-east-1.
func NewS3Client(ctx context.Context, pathStyle bool) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("awsenv: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
			if os.Getenv("AWS_REQUEST_CHECKSUM_CALCULATION") == "" {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			}
			if os.Getenv("AWS_RESPONSE_CHECKSUM_VALIDATION") == "" {
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		}
	}), nil
}
