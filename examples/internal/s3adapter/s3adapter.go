package s3adapter

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/flatpipe/flatpipe/resilience"
)

// Client is the part of *s3.Client that Store uses. *s3.Client satisfies
// it; tests may pass another implementation.
type Client interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Store is a resilience.ObjectStore over an S3 client. It is safe for
// concurrent use if its Client is (*s3.Client is).
type Store struct {
	client Client
}

var _ resilience.ObjectStore = (*Store)(nil)

// ErrNilClient is returned by New when the client is nil.
var ErrNilClient = errors.New("s3adapter: nil client")

// New returns a Store sending requests through client, usually an
// *s3.Client. The client's own options (region, credentials, retries,
// endpoint) apply unchanged.
func New(client Client) (*Store, error) {
	if client == nil {
		return nil, ErrNilClient
	}
	return &Store{client: client}, nil
}

// GetObject returns the whole body of bucket/key and its ETag as S3 sent
// it, quotes included. A missing key gives an *Error matching
// resilience.ErrNotFound.
func (s *Store) GetObject(ctx context.Context, bucket, key string) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, "", &Error{Op: OpGet, Bucket: bucket, Key: key, Kind: getKind(err), Err: err}
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", &Error{Op: OpGet, Bucket: bucket, Key: key, Err: err}
	}
	etag := aws.ToString(out.ETag)
	if etag == "" {
		return nil, "", &Error{Op: OpGet, Bucket: bucket, Key: key, Err: ErrNoETag}
	}
	return body, etag, nil
}

// PutObject stores body as bucket/key under cond and returns the new
// version's ETag as S3 sent it. cond.IfNoneMatch and cond.IfMatch are sent
// as the If-None-Match and If-Match headers, each only when not empty. A
// failed condition gives an *Error matching
// resilience.ErrPreconditionFailed.
func (s *Store) PutObject(ctx context.Context, bucket, key string, body []byte, cond resilience.PutCondition) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if cond.IfNoneMatch != "" {
		in.IfNoneMatch = aws.String(cond.IfNoneMatch)
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", &Error{Op: OpPut, Bucket: bucket, Key: key, Kind: putKind(err, cond), Err: err}
	}
	etag := aws.ToString(out.ETag)
	if etag == "" {
		// The object was written, but without its ETag a checkpoint
		// could not be advanced with If-Match; report it rather than
		// return a Version that matches nothing.
		return "", &Error{Op: OpPut, Bucket: bucket, Key: key, Err: ErrNoETag}
	}
	return etag, nil
}

// errorCode returns the S3 error code and the HTTP status of err, either
// possibly zero.
func errorCode(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var he interface{ HTTPStatusCode() int }
	if errors.As(err, &he) {
		status = he.HTTPStatusCode()
	}
	return code, status
}

func getKind(err error) error {
	switch code, status := errorCode(err); {
	case code == "NoSuchBucket":
		return nil
	case code == "NoSuchKey", code == "NotFound", status == 404 && code == "":
		return resilience.ErrNotFound
	}
	return nil
}

func putKind(err error, cond resilience.PutCondition) error {
	switch code, status := errorCode(err); {
	case code == "PreconditionFailed", status == 412:
		return resilience.ErrPreconditionFailed
	case code == "ConditionalRequestConflict":
		return resilience.ErrPreconditionFailed
	case code == "NoSuchKey" && cond.IfMatch != "":
		return resilience.ErrPreconditionFailed
	}
	return nil
}
