package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type slowErr struct{}

func (slowErr) Error() string   { return "slow" }
func (slowErr) Timeout() bool   { return false }
func (slowErr) Temporary() bool { return true }

func TestTransient(t *testing.T) {
	boom := errors.New("boom")
	sys := func(op string, errno syscall.Errno) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", boom, false},
		{"EOF", io.EOF, false},
		{"canceled", context.Canceled, false},
		{"wrapped canceled", fmt.Errorf("get: %w", context.Canceled), false},
		{"canceled beside a reset", errors.Join(context.Canceled, syscall.ECONNRESET), false},
		{"deadline", context.DeadlineExceeded, true},
		{"wrapped deadline", fmt.Errorf("attempt: %w", context.DeadlineExceeded), true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"reset", sys("read", syscall.ECONNRESET), true},
		{"refused", sys("connect", syscall.ECONNREFUSED), true},
		{"aborted", sys("read", syscall.ECONNABORTED), true},
		{"broken pipe", syscall.EPIPE, true},
		{"write broken pipe", sys("write", syscall.EPIPE), true},
		{"ETIMEDOUT", sys("read", syscall.ETIMEDOUT), true},
		{"host unreachable", sys("write", syscall.EHOSTUNREACH), true},
		{"network unreachable", sys("write", syscall.ENETUNREACH), true},
		{"other errno", sys("read", syscall.EINVAL), false},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"dns not found though temporary", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true, IsTemporary: true}, false},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, true},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, true},
		{"dns other", &net.DNSError{Err: "odd", Name: "x"}, false},
		{"dial other", &net.OpError{Op: "dial", Net: "tcp", Err: boom}, true},
		{"read other", &net.OpError{Op: "read", Net: "tcp", Err: boom}, false},
		{"net timeout", fmt.Errorf("get: %w", timeoutErr{}), true},
		{"net error not a timeout", slowErr{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
