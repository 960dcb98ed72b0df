package s3source

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/flatpipe/flatpipe/internal/transport"
	"github.com/flatpipe/flatpipe/source"
)

// ErrorClassifier classifies the errors of S3 reads and listings (and of
// this package and source) for a retry policy. It is a zero-size value with
// the two methods resilience.Retry's Classifier takes, so
//
//	resilience.RetryOptions{Classifier: s3source.ErrorClassifier{}}
//
// needs no adapter; this package does not import resilience. It is safe for
// concurrent use.
type ErrorClassifier struct{}

// Retryable reports IsRetryable(err).
func (ErrorClassifier) Retryable(err error) bool { return IsRetryable(err) }

// Throttled reports IsThrottled(err).
func (ErrorClassifier) Throttled(err error) bool { return IsThrottled(err) }

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

// IsThrottled reports whether err is S3 asking the client to slow down
// (SlowDown, 429, a throttling code) or the SDK's client-side retry budget
// being spent (ratelimit.QuotaExceededError: the SDK refused to send the
// request at all after too many recent failures).
func IsThrottled(err error) bool {
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
// succeed: throttling (see IsThrottled), HTTP 5xx, RequestTimeout and
// InternalError codes, and transport failures (a connection refused, reset
// or timed out, a host or network unreachable, a body cut short, a dial or
// DNS timeout, a per-attempt context deadline: the same rule as
// resilience.NetworkClassifier). The SDK has already retried the S3 answers
// (3 attempts by default) before the caller sees them, so a caller's retry
// should wait first. context.Canceled and everything IsPermanent reports are
// false here.
func IsRetryable(err error) bool {
	if err == nil || IsPermanent(err) {
		return false
	}
	if IsThrottled(err) {
		return true
	}
	switch errorCode(err) {
	case "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable":
		return true
	}
	return statusCode(err) >= 500 || transport.Transient(err)
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
	if errors.Is(err, ErrObjectChanged) || errors.Is(err, source.ErrSyntax) || errors.Is(err, source.ErrRecordTooLarge) ||
		errors.Is(err, source.ErrDecompress) || errors.Is(err, source.ErrOptions) {
		return true
	}
	if IsThrottled(err) {
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
