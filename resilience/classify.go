package resilience

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// Decision is a classifier's verdict on an error.
type Decision uint8

const (
	// NoOpinion means the classifier does not know the error; the next
	// classifier decides, and when none does, the error is not retried.
	NoOpinion Decision = iota
	// Retryable means the operation cannot have been applied, or is
	// idempotent, and may succeed when tried again.
	Retryable
	// NotRetryable means trying again cannot help (bad input, permissions,
	// a missing object) or is unsafe (a non-idempotent write that may have
	// been applied).
	NotRetryable
)

// String returns "no-opinion", "retryable" or "not-retryable".
func (d Decision) String() string {
	switch d {
	case NoOpinion:
		return "no-opinion"
	case Retryable:
		return "retryable"
	case NotRetryable:
		return "not-retryable"
	}
	return "Decision(?)"
}

// Classifier decides whether an error is transient. It is called only with
// non-nil errors and must be safe for concurrent use. Classifiers for the
// errors of the S3 SDK and of gosnowflake live in the packages that know those
// types (source and load); this package ships ClassifyNetwork.
type Classifier func(err error) Decision

// Classifiers combines classifiers: the first one with an opinion wins. The
// returned Classifier is safe for concurrent use if the given ones are.
func Classifiers(cs ...Classifier) Classifier {
	cs = append([]Classifier(nil), cs...)
	return func(err error) Decision {
		for _, c := range cs {
			if c == nil {
				continue
			}
			if d := c(err); d != NoOpinion {
				return d
			}
		}
		return NoOpinion
	}
}

// ClassifyNetwork classifies network and context errors:
//
//   - context.Canceled: NotRetryable (someone gave up on purpose).
//   - context.DeadlineExceeded: Retryable. A per-attempt timeout is worth
//     another attempt; when the caller's own context expired, Retry.Do stops
//     anyway because it checks its context before every attempt and sleep.
//   - connection reset, refused or aborted, broken pipe, host or network
//     unreachable, ETIMEDOUT, io.ErrUnexpectedEOF, dial errors and any
//     net.Error whose Timeout() is true: Retryable.
//   - DNS errors: Retryable when temporary or a timeout, NotRetryable when
//     the name does not exist.
//   - ErrOpen, ErrPreconditionFailed: NotRetryable.
//
// Everything else is NoOpinion. It does not allocate for errors that wrap
// nothing.
func ClassifyNetwork(err error) Decision {
	switch {
	case err == nil:
		return NoOpinion
	case errors.Is(err, context.Canceled), errors.Is(err, ErrOpen), errors.Is(err, ErrPreconditionFailed):
		return NotRetryable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF):
		return Retryable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return Retryable
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return NotRetryable
		}
		if dns.IsTimeout || dns.IsTemporary {
			return Retryable
		}
		return NoOpinion
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return Retryable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Retryable
	}
	return NoOpinion
}

// Permanent marks err as not retryable, whatever the classifier says. It
// returns nil for a nil err. The mark is visible through wrapping.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, decision: NotRetryable}
}

// Transient marks err as retryable, whatever the classifier says (Retry.Do
// still stops when its context is done). It returns nil for a nil err.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, decision: Retryable}
}

// RetryAfter marks err as retryable and asks Retry.Do to wait at least d
// before the next attempt (an HTTP Retry-After or a 429 hint). Errors of other
// packages can carry the same hint by having a method RetryAfter()
// time.Duration. It returns nil for a nil err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, decision: Retryable, after: d}
}

type markedError struct {
	err      error
	decision Decision
	after    time.Duration
}

func (e *markedError) Error() string { return e.err.Error() }
func (e *markedError) Unwrap() error { return e.err }

// RetryAfter returns the wait hint given to the RetryAfter function.
func (e *markedError) RetryAfter() time.Duration { return e.after }

type retryAfterer interface{ RetryAfter() time.Duration }

// classify applies the marks, then c, then the default (not retryable).
func classify(c Classifier, err error) (Decision, time.Duration) {
	var m *markedError
	if errors.As(err, &m) {
		return m.decision, m.after
	}
	var after time.Duration
	var ra retryAfterer
	if errors.As(err, &ra) {
		after = ra.RetryAfter()
	}
	d := NoOpinion
	if c != nil {
		d = c(err)
	}
	if d == NoOpinion {
		if after > 0 {
			return Retryable, after
		}
		return NotRetryable, 0
	}
	return d, after
}
