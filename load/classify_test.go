package load

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
	"unsafe"

	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/snowflakedb/gosnowflake"
)

func TestErrorClassifier(t *testing.T) {
	sf := func(n int, state string) error {
		return fmt.Errorf("load: COPY: %w", &gosnowflake.SnowflakeError{Number: n, SQLState: state, Message: "m"})
	}
	tests := []struct {
		name                        string
		err                         error
		retryable, throttled, renew bool
	}{
		{"nil", nil, false, false, false},
		{"session expired", sf(390112, "08001"), true, false, true},
		{"session token gone for good", sf(390114, "08001"), true, false, true},
		{"master token expired", sf(390115, "08001"), true, false, true},
		{"session gone", sf(390111, "08001"), true, false, true},
		{"driver could not renew", sf(gosnowflake.ErrFailedToRenewSession, gosnowflake.SQLStateConnectionFailure), true, false, true},
		{"lock waiters", sf(625, "57014"), true, true, false},
		{"driver failed to post", sf(gosnowflake.ErrFailedToPostQuery, gosnowflake.SQLStateConnectionFailure), true, false, false},
		{"connection exception", sf(250001, "08001"), true, false, false},
		{"wrong password", sf(390100, "08004"), false, false, false},
		{"bad JWT", sf(390144, "08004"), false, false, false},
		{"syntax", sf(1003, "42000"), false, false, false},
		{"missing table", sf(2003, "42S02"), false, false, false},
		{"bad number in COPY", sf(100038, "22018"), false, false, false},
		{"cancelled statement", sf(604, "57014"), false, false, false},
		{"driver gave up on 429", errors.New("timeout after 10s and 3 attempts. HTTP Status: 429. Hanging?"), true, true, false},
		{"driver gave up on 503", errors.New("timeout after 10s and 3 attempts. HTTP Status: 503. Hanging?"), true, false, false},
		{"driver gave up", errors.New("timeout after 10s and 3 attempts. Hanging?"), true, false, false},
		{"bad conn", driver.ErrBadConn, true, false, false},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true, false, false},
		{"no such host", &url.Error{Op: "Post", URL: "https://typo.snowflakecomputing.com", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "typo.snowflakecomputing.com", IsNotFound: true}}}, false, false, false},
		{"DNS timeout", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "acct.snowflakecomputing.com", IsTimeout: true}}, true, false, false},
		{"unexpected EOF", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true, false, false},
		{"context cancelled", fmt.Errorf("x: %w", context.Canceled), false, false, false},
		{"deadline", context.DeadlineExceeded, false, false, false},
		{"file error", &FileError{}, false, false, false},
		{"not ours", ErrNotOurs, false, false, false},
		{"options", ErrOptions, false, false, false},
		{"writer options over EOF", fmt.Errorf("%w: %w", stagefile.ErrOptions, io.EOF), false, false, false},
		{"snowpipe 429", &SnowpipeError{Status: 429}, true, true, false},
		{"snowpipe 503", &SnowpipeError{Status: 503}, true, false, false},
		{"snowpipe 401", &SnowpipeError{Status: 401}, false, false, false},
	}
	var c ErrorClassifier
	if unsafe.Sizeof(c) != 0 {
		t.Errorf("ErrorClassifier has size %d, want 0", unsafe.Sizeof(c))
	}
	for _, tt := range tests {
		if got := c.Retryable(tt.err); got != tt.retryable {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, tt.err, got, tt.retryable)
		}
		if got := c.Throttled(tt.err); got != tt.throttled {
			t.Errorf("%s: Throttled(%v) = %v, want %v", tt.name, tt.err, got, tt.throttled)
		}
		if got := c.SessionExpired(tt.err); got != tt.renew {
			t.Errorf("%s: SessionExpired(%v) = %v, want %v", tt.name, tt.err, got, tt.renew)
		}
	}
	// It fits resilience's retry without importing it.
	var _ interface {
		Retryable(error) bool
		Throttled(error) bool
	} = c
}
