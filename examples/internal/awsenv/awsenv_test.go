package awsenv

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestNewS3Client reads the endpoint, region and credentials from the
// environment, as the flatten command's users set them, and relaxes
// checksums only for a custom endpoint. (examples/flatten's TestS3Inputs
// runs the client against an S3 server.)
func TestNewS3Client(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9", "AWS_REGION": "", "AWS_ACCESS_KEY_ID": "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY": "secret", "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_ENDPOINT_URL": "",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_REQUEST_CHECKSUM_CALCULATION": "", "AWS_RESPONSE_CHECKSUM_VALIDATION": "",
	} {
		t.Setenv(k, v)
	}
	c, err := NewS3Client(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:9" || !o.UsePathStyle || o.Region != "us-east-1" {
		t.Errorf("endpoint %q, path style %v, region %q; want the environment's endpoint, path style, us-east-1",
			aws.ToString(o.BaseEndpoint), o.UsePathStyle, o.Region)
	}
	if o.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired ||
		o.ResponseChecksumValidation != aws.ResponseChecksumValidationWhenRequired {
		t.Errorf("checksums %v/%v with a custom endpoint, want when-required", o.RequestChecksumCalculation, o.ResponseChecksumValidation)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	c, err = NewS3Client(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); o.Region != "eu-west-1" || o.UsePathStyle || o.RequestChecksumCalculation == aws.RequestChecksumCalculationWhenRequired {
		t.Errorf("AWS default endpoint: region %q, path style %v, checksums %v; want eu-west-1, virtual hosts, SDK defaults",
			o.Region, o.UsePathStyle, o.RequestChecksumCalculation)
	}
}
