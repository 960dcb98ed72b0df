package resilience

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/flatpipe/flatpipe/internal/transport"
)

// Classifier decides which errors Retry retries. It is the consumer-side
// seam for the packages that know their dependencies' errors:
// s3source.ErrorClassifier and load.ErrorClassifier have these two methods,
// and this package ships NetworkClassifier. Methods are called only with
// non-nil errors and must be safe for concurrent use.
type Classifier interface {
	// Retryable reports whether the operation cannot have been applied, or
	// is idempotent, and may succeed when tried again. False means
	// permanent: bad input, permissions, a missing object, or a
	// non-idempotent write that may have been applied.
	Retryable(err error) bool
	// Throttled reports whether the dependency asked the caller to slow
	// down (HTTP 429, S3 SlowDown, a spent client-side retry quota). Retry
	// retries a throttled error and waits at least half of the backoff cap
	// before the next attempt, instead of a fully jittered wait.
	Throttled(err error) bool
}

// ClassifierFunc adapts a function deciding retryability to a Classifier
// that reports nothing as throttled.
type ClassifierFunc func(err error) bool

// Retryable returns f(err).
func (f ClassifierFunc) Retryable(err error) bool { return f(err) }

// Throttled returns false.
func (ClassifierFunc) Throttled(error) bool { return false }

// Classifiers combines classifiers: an error is retryable if any of them
// says so, and throttled if any of them says so. Nil entries are skipped.
// The result is safe for concurrent use if the given ones are.
func Classifiers(cs ...Classifier) Classifier {
	return classifiers(slices.DeleteFunc(slices.Clone(cs), func(c Classifier) bool { return c == nil }))
}

type classifiers []Classifier

func (cs classifiers) Retryable(err error) bool {
	return slices.ContainsFunc(cs, func(c Classifier) bool { return c.Retryable(err) })
}

func (cs classifiers) Throttled(err error) bool {
	return slices.ContainsFunc(cs, func(c Classifier) bool { return c.Throttled(err) })
}

// NetworkClassifier classifies network and context errors; it is Retry's
// default Classifier. Retryable reports:
//
//   - context.DeadlineExceeded: true. A per-attempt timeout is worth
//     another attempt; when the caller's own context expired, Retry.Do stops
//     anyway because it checks its context before every attempt and sleep.
//   - connection reset, refused or aborted, broken pipe, host or network
//     unreachable, ETIMEDOUT, io.ErrUnexpectedEOF, dial errors, DNS errors
//     that are temporary or a timeout, and any net.Error whose Timeout() is
//     true: true.
//   - everything else, including context.Canceled, a DNS name that does
//     not exist, ErrOpen and ErrPreconditionFailed: false.
//
// Throttled is always false. It does not allocate for errors that wrap
// nothing.
type NetworkClassifier struct{}

// Throttled returns false: network errors carry no throttling signal.
func (NetworkClassifier) Throttled(error) bool { return false }

// Retryable reports whether err is a transient network or context error, as
// listed on NetworkClassifier (s3source.IsRetryable applies the same rule to
// transport failures).
func (NetworkClassifier) Retryable(err error) bool {
	if errors.Is(err, ErrOpen) || errors.Is(err, ErrPreconditionFailed) {
		return false
	}
	return transport.Transient(err)
}

// Permanent marks err as not retryable, whatever the classifier says. It
// returns nil for a nil err. The mark is visible through wrapping.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err}
}

// Transient marks err as retryable, whatever the classifier says (Retry.Do
// still stops when its context is done). It returns nil for a nil err.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, retry: true}
}

// RetryAfter marks err as retryable and asks Retry.Do to wait at least d
// before the next attempt (an HTTP Retry-After or a 429 hint). Errors of other
// packages can carry the same hint by having a method RetryAfter()
// time.Duration. It returns nil for a nil err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, retry: true, after: d}
}

// verdict is what Retry does with an error.
type verdict uint8

const (
	giveUp verdict = iota
	retry
	retryThrottled
)

type markedError struct {
	err   error
	retry bool
	after time.Duration
}

func (e *markedError) Error() string { return e.err.Error() }
func (e *markedError) Unwrap() error { return e.err }

// RetryAfter returns the wait hint given to the RetryAfter function.
func (e *markedError) RetryAfter() time.Duration { return e.after }

type retryAfterer interface{ RetryAfter() time.Duration }

// classify applies the marks, then the rules no classifier overrides
// (ErrOpen, context.Canceled and ErrPreconditionFailed are never retried),
// then c. An error with a foreign RetryAfter hint that c does not call
// permanent is retried after the hint.
func classify(c Classifier, err error) (verdict, time.Duration) {
	var m *markedError
	if errors.As(err, &m) {
		if m.retry {
			return retry, m.after
		}
		return giveUp, 0
	}
	if errors.Is(err, ErrOpen) || errors.Is(err, context.Canceled) || errors.Is(err, ErrPreconditionFailed) {
		return giveUp, 0
	}
	var after time.Duration
	var ra retryAfterer
	if errors.As(err, &ra) {
		after = ra.RetryAfter()
	}
	switch {
	case c.Throttled(err):
		return retryThrottled, after
	case c.Retryable(err), after > 0:
		return retry, after
	}
	return giveUp, 0
}
