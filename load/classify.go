package load

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/snowflakedb/gosnowflake"
)

// ErrorClassifier classifies the errors of gosnowflake, of the network and of
// this package for a retry policy: which are worth another attempt
// (Retryable), which mean the service is shedding load (Throttled, wait
// longer), and which mean the session is gone and a new connection is
// needed (SessionExpired). resilience's retry takes it as
// interface{ Retryable(error) bool; Throttled(error) bool }.
//
// The driver already retries HTTP 5xx, 429 and 408 (MaxRetryCount times,
// with backoff) and renews an expired session token (390112) by itself; its
// errors after that mean "already retried". Retry them at the unit of work
// (one COPY, one batch) and only units that are safe to repeat (see Retrier).
//
// Permanent: SQL compilation errors, missing objects, data errors of COPY
// (100xxx), a *FileError, ErrNotOurs, options and configuration errors,
// authentication failures (390100, 390144), and a cancelled context.
//
// ErrorClassifier is a zero-size value, safe for concurrent use.
type ErrorClassifier struct{}

// Snowflake error numbers the classifier knows.
const (
	errSessionExpired      = 390112 // session token expired: the driver renews it
	errSessionGone         = 390111 // session no longer exists
	errSessionTokenInvalid = 390114 // session token expired for good (4 h idle)
	errMasterTokenExpired  = 390115 // master token expired: log in again
	errLockWaitersExceeded = 625    // 000625 (57014): more than 20 statements wait for a table's lock
)

// Retryable reports whether another attempt of the same unit may succeed.
func (ErrorClassifier) Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var fe *FileError
	var ce *ConfigError
	if errors.As(err, &fe) || errors.As(err, &ce) || errors.Is(err, ErrNotOurs) || errors.Is(err, ErrOptions) || errors.Is(err, stagefile.ErrOptions) || errors.Is(err, ErrPassphrase) {
		return false
	}
	var pe *SnowpipeError
	if errors.As(err, &pe) {
		return pe.Retryable()
	}
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) {
		switch se.Number {
		case errSessionExpired, errSessionGone, errSessionTokenInvalid, errMasterTokenExpired,
			errLockWaitersExceeded,
			gosnowflake.ErrFailedToPostQuery, gosnowflake.ErrCodeServiceUnavailable,
			gosnowflake.ErrFailedToRenewSession, gosnowflake.ErrFailedToHeartbeat:
			return true
		}
		// Connection exceptions, except 08004 (the server refused the
		// login: wrong credentials stay wrong).
		return strings.HasPrefix(se.SQLState, "08") && se.SQLState != "08004"
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false // a mistyped account or host stays mistyped
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true // timeouts, refused and reset connections, DNS failures
	}
	return driverGaveUp(err) != 0
}

// Throttled reports whether err says the service is shedding load (HTTP 429
// after the driver's retries, or more than 20 writers queued on a table's
// lock, 000625): wait longer before the
// next attempt.
func (ErrorClassifier) Throttled(err error) bool {
	if err == nil {
		return false
	}
	var pe *SnowpipeError
	if errors.As(err, &pe) {
		return pe.Status == 429
	}
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) {
		return se.Number == errLockWaitersExceeded
	}
	return driverGaveUp(err) == 429
}

// SessionExpired reports whether err means the session cannot be used any
// more: drop the connection and log in again. gosnowflake does not tell the
// *sql.DB pool that such a connection is dead, so the pool would hand it
// out again; a Loader on a *sql.DB drops it itself (see LoaderOptions) and
// sends the statement again on another connection. Code of one's own does
// the same with a *sql.Conn: Conn.Raw with a callback returning
// driver.ErrBadConn, then Close. Config keeps sessions alive to make it
// rare.
func (ErrorClassifier) SessionExpired(err error) bool {
	var se *gosnowflake.SnowflakeError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Number {
	case errSessionExpired, errSessionGone, errSessionTokenInvalid, errMasterTokenExpired, gosnowflake.ErrFailedToRenewSession:
		return true
	}
	return false
}

// driverGaveUp returns the HTTP status of gosnowflake's "timeout after …
// attempts. HTTP Status: N" error, which the driver returns unwrapped (as a
// plain fmt error) when its own retries of a 5xx, 429 or 408 ran out, or -1
// for its status-less form; 0 if err is not one. The driver offers no type
// for it, so its fixed wording is matched.
func driverGaveUp(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "timeout after ")
	if i < 0 || !strings.Contains(msg[i:], "attempts") {
		return 0
	}
	j := strings.Index(msg[i:], "HTTP Status: ")
	if j < 0 {
		return -1
	}
	s := msg[i+j+len("HTTP Status: "):]
	n := 0
	for k := 0; k < len(s) && k < 3 && s[k] >= '0' && s[k] <= '9'; k++ {
		n = n*10 + int(s[k]-'0')
	}
	if n == 0 {
		return -1
	}
	return n
}
