package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// HeadBucketAPI is the part of *s3.Client a BucketCheck uses.
type HeadBucketAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, opts ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// DefaultHealthTimeout bounds a BucketCheck when its timeout is zero.
const DefaultHealthTimeout = 5 * time.Second

// BucketCheck is a health check that an S3 bucket is reachable with the
// client's credentials (HeadBucket). It has the Name/Check shape health
// aggregators take and is safe for concurrent use.
type BucketCheck struct {
	client  HeadBucketAPI
	bucket  string
	timeout time.Duration
}

// NewBucketCheck returns a check of bucket; timeout zero means
// DefaultHealthTimeout.
func NewBucketCheck(client HeadBucketAPI, bucket string, timeout time.Duration) (*BucketCheck, error) {
	if client == nil || bucket == "" {
		return nil, errors.New("source: NewBucketCheck needs a client and a bucket")
	}
	if timeout < 0 {
		return nil, fmt.Errorf("source: negative health timeout %v", timeout)
	}
	if timeout == 0 {
		timeout = DefaultHealthTimeout
	}
	return &BucketCheck{client: client, bucket: bucket, timeout: timeout}, nil
}

// Name returns "s3:" followed by the bucket name.
func (c *BucketCheck) Name() string { return "s3:" + c.bucket }

// Check calls HeadBucket with the check's timeout and returns nil if the
// bucket answered. A missing bucket, a permission error or a timeout is
// returned wrapped, with the bucket name and no credentials.
func (c *BucketCheck) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if _, err := c.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)}); err != nil {
		return fmt.Errorf("source: bucket %s unreachable: %w", c.bucket, err)
	}
	return nil
}

// throttleCodes are the S3 and SDK error codes that mean "slow down".
func isThrottleCode(code string) bool {
	switch code {
	case "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled",
		"ProvisionedThroughputExceededException", "EC2ThrottledException", "PriorRequestNotComplete":
		return true
	}
	return false
}

func statusCode(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsThrottle reports whether err is S3 asking the client to slow down
// (SlowDown, 429, a throttling code) or the SDK's client-side retry budget
// being spent (ratelimit.QuotaExceededError: the SDK refused to send the
// request at all after too many recent failures).
func IsThrottle(err error) bool {
	if err == nil {
		return false
	}
	var q ratelimit.QuotaExceededError
	if errors.As(err, &q) {
		return true
	}
	return isThrottleCode(errorCode(err)) || statusCode(err) == 429
}

// IsRetryable reports whether trying the same S3 read again later may
// succeed: throttling (see IsThrottle), HTTP 5xx, RequestTimeout and
// InternalError codes. The SDK has already retried these (3 attempts by
// default) before the caller sees them, so a caller's retry should wait
// first. Network errors and body resets are left to a network classifier;
// everything IsPermanent reports is false here.
func IsRetryable(err error) bool {
	if err == nil || IsPermanent(err) {
		return false
	}
	if IsThrottle(err) {
		return true
	}
	switch errorCode(err) {
	case "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable":
		return true
	}
	return statusCode(err) >= 500
}

// IsPermanent reports errors that trying again cannot fix: a missing bucket
// or key, denied access or bad credentials, an object that changed under a
// resumed read, an invalid range, other 4xx answers (but 408 and 429), and
// the scanner's input errors (syntax, record too large, corrupt compression).
// Event decoding errors (*MessageError) are permanent too.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var (
		ce *ObjectChangedError
		se *SyntaxError
		te *RecordTooLargeError
		de *DecompressError
		me *MessageError
	)
	if errors.As(err, &ce) || errors.As(err, &se) || errors.As(err, &te) || errors.As(err, &de) || errors.As(err, &me) {
		return true
	}
	if IsThrottle(err) {
		return false
	}
	switch errorCode(err) {
	case "NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchVersion", "AccessDenied", "Forbidden", "InvalidAccessKeyId",
		"SignatureDoesNotMatch", "InvalidRange", "PreconditionFailed", "InvalidBucketName", "AllAccessDisabled",
		"InvalidObjectState", "ExpiredToken", "InvalidToken":
		return true
	}
	s := statusCode(err)
	return s >= 400 && s < 500 && s != 408 && s != 429
}
