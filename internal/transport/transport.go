// Package transport classifies the errors of network transports for retry
// decisions: Transient is the one rule shared by resilience's
// NetworkClassifier and s3source's IsRetryable, which may not import each
// other.
//
// # Concurrency
//
// Transient has no state; it is safe for concurrent use.
package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// Transient reports whether err is a transport failure that a new attempt
// of the same request may not meet:
//
//   - context.DeadlineExceeded: true (a per-attempt timeout; a retry loop
//     checks its own context before each attempt).
//   - io.ErrUnexpectedEOF (a body cut short), connection reset, refused or
//     aborted, broken pipe, ETIMEDOUT, host or network unreachable: true.
//   - a DNS error that is a timeout or temporary, but not a name that does
//     not exist: true.
//   - a dial error (*net.OpError with Op "dial") and any net.Error whose
//     Timeout() is true: true.
//   - everything else, context.Canceled (even wrapped together with one of
//     the above) and nil: false.
//
// Whether the request may be repeated at all (it is idempotent, or cannot
// have been applied) is the caller's decision. Transient does not allocate
// for errors that wrap nothing.
func Transient(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound && (dns.IsTimeout || dns.IsTemporary)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
