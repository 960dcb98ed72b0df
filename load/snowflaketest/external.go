package snowflaketest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Options configure where external stages (CREATE STAGE ... URL =
// 's3://bucket/path/') read their objects: tests point Endpoint at an
// in-process S3 server such as github.com/rclone/gofakes3.
type S3Options struct {
	// Endpoint is the S3 base URL, e.g. "http://127.0.0.1:9000". Empty
	// means AWS's regional endpoint. Requests use path-style addressing
	// when Endpoint is set.
	Endpoint string
	// Region signs requests; empty means "us-east-1".
	Region string
	// AccessKeyID and SecretAccessKey sign the requests of stages created
	// with STORAGE_INTEGRATION (the emulator has no integration objects).
	// A stage's own CREDENTIALS = (AWS_KEY_ID = ... AWS_SECRET_KEY = ...)
	// take precedence. With neither, requests are anonymous.
	AccessKeyID, SecretAccessKey string
}

// extStage is the definition of an external stage, kept next to the
// stage's directory (the emulator's stage directory is test state: the
// credentials are stored there in clear).
type extStage struct {
	URL         string `json:"url"`
	KeyID       string `json:"key_id,omitempty"`
	Secret      string `json:"secret,omitempty"`
	Token       string `json:"token,omitempty"`
	Integration string `json:"integration,omitempty"`

	bucket, prefix string
	client         *s3.Client
}

func (sr *stageRef) externalFile() string { return sr.dir + ".external.json" }

// parseS3URL splits s3://bucket/prefix.
func parseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		if strings.Contains(u, "://") {
			return "", "", unsupported("external stage URL " + strings.SplitN(u, "://", 2)[0] + "://… (only s3://)")
		}
		return "", "", sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid URL '%s' for an external stage", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid URL '%s' for an external stage", u)
	}
	return bucket, prefix, nil
}

// newExternal checks CREATE STAGE's URL, CREDENTIALS and
// STORAGE_INTEGRATION options.
func newExternal(opts map[string]optVal) (*extStage, error) {
	u, ok := opts["URL"]
	if !ok {
		if _, ok := opts["CREDENTIALS"]; ok {
			return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nCREDENTIALS need an external stage URL")
		}
		return nil, nil
	}
	x := &extStage{URL: u.s}
	if _, _, err := parseS3URL(x.URL); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(x.URL, "/") && x.URL != "" {
		// Snowflake treats the URL as a prefix; keep it as written.
	}
	if c, ok := opts["CREDENTIALS"]; ok {
		for k, v := range c.sub {
			switch k {
			case "AWS_KEY_ID":
				x.KeyID = v.s
			case "AWS_SECRET_KEY":
				x.Secret = v.s
			case "AWS_TOKEN":
				x.Token = v.s
			case "AWS_ROLE":
				return nil, unsupported("CREDENTIALS = (AWS_ROLE = …)")
			default:
				return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid property '%s' for CREDENTIALS", k)
			}
		}
		if x.KeyID == "" || x.Secret == "" {
			return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nCREDENTIALS need AWS_KEY_ID and AWS_SECRET_KEY")
		}
	}
	if v, ok := opts["STORAGE_INTEGRATION"]; ok {
		if x.KeyID != "" {
			return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nspecify either CREDENTIALS or STORAGE_INTEGRATION, not both")
		}
		x.Integration = v.s
	}
	return x, nil
}

// loadExternal reads an external stage's definition, if sr is one, and
// connects its S3 client.
func (e *Emulator) loadExternal(sr *stageRef) error {
	b, err := os.ReadFile(sr.externalFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("snowflaketest: external stage: %w", err)
	}
	x := &extStage{}
	if err := json.Unmarshal(b, x); err != nil {
		return fmt.Errorf("snowflaketest: external stage: %w", err)
	}
	x.bucket, x.prefix, err = parseS3URL(x.URL)
	if err != nil {
		return err
	}
	o := e.opts.S3
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	so := s3.Options{Region: region}
	if o.Endpoint != "" {
		so.BaseEndpoint = aws.String(o.Endpoint)
		so.UsePathStyle = true
	}
	switch {
	case x.KeyID != "":
		so.Credentials = credentials.NewStaticCredentialsProvider(x.KeyID, x.Secret, x.Token)
	case o.AccessKeyID != "":
		so.Credentials = credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")
	default:
		so.Credentials = aws.AnonymousCredentials{}
	}
	x.client = s3.New(so)
	sr.kind, sr.ext, sr.url = "external", x, x.URL
	sr.prefix = x.URL
	if !strings.HasSuffix(sr.prefix, "/") {
		sr.prefix += "/"
	}
	return nil
}

// s3Error turns an S3 failure into the error Snowflake gives for a stage
// it cannot read; the SDK's text names the operation and the service's
// code, never credentials.
func s3Error(sr *stageRef, err error) *SQLError {
	return &SQLError{Number: 3001, SQLState: "42501", Err: err,
		Message: fmt.Sprintf("Failure using stage area. Cause: [%s: %v]", sr.url, err)}
}

// listExternal lists the objects under the stage's URL and sub-path.
func listExternal(ctx context.Context, sr *stageRef) ([]stageFile, error) {
	x := sr.ext
	base := x.prefix
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	var out []stageFile
	p := s3.NewListObjectsV2Paginator(x.client, &s3.ListObjectsV2Input{Bucket: aws.String(x.bucket), Prefix: aws.String(base + sr.sub)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Error(sr, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			f := stageFile{rel: strings.TrimPrefix(key, base), size: aws.ToInt64(o.Size), etag: strings.Trim(aws.ToString(o.ETag), `"`), remote: true}
			if o.LastModified != nil {
				f.mod = *o.LastModified
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// fetchExternal downloads one object into a temporary file under the
// stage root and returns its path; the caller removes it.
func (e *Emulator) fetchExternal(ctx context.Context, sr *stageRef, f stageFile) (string, error) {
	x := sr.ext
	base := x.prefix
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	obj, err := x.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(x.bucket), Key: aws.String(base + f.rel)})
	if err != nil {
		return "", s3Error(sr, err)
	}
	defer obj.Body.Close()
	dir := filepath.Join(e.stageRoot, "_fetch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("snowflaketest: external stage: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "obj-*")
	if err != nil {
		return "", fmt.Errorf("snowflaketest: external stage: %w", err)
	}
	_, err = io.Copy(tmp, obj.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", s3Error(sr, err)
	}
	return tmp.Name(), nil
}

// removeExternal deletes one object (REMOVE, PURGE).
func removeExternal(ctx context.Context, sr *stageRef, f stageFile) error {
	x := sr.ext
	base := x.prefix
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if _, err := x.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(x.bucket), Key: aws.String(base + f.rel)}); err != nil {
		return s3Error(sr, err)
	}
	return nil
}
