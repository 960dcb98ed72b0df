package resilience

import (
	"errors"
	"io"
	"testing"
	"time"
)

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&RetryError{Attempts: 3, Err: errBoom, Reason: ErrAttemptsExhausted}, "resilience: gave up after 3 attempts (resilience: retry attempts exhausted): boom"},
		{&RetryError{Attempts: 1, Reason: ErrBudgetExhausted}, "resilience: gave up after 1 attempts (resilience: retry budget exhausted): <nil>"},
		{&TimeoutError{After: 2 * time.Second, Err: errBoom}, "resilience: call timed out after 2s: boom"},
		{&PanicError{Value: 42}, "resilience: panic: 42"},
		{&ConflictError{Name: "orders", Err: ErrPreconditionFailed}, `resilience: checkpoint "orders" changed by another writer: resilience: precondition failed`},
		{&DeadLetterFormatError{Line: 7, Err: io.ErrUnexpectedEOF}, "resilience: dead-letter line 7: unexpected EOF"},
		{Permanent(errBoom), "boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	ce := &ConflictError{Name: "x", Err: ErrPreconditionFailed}
	if !errors.Is(ce, ErrConflict) || !errors.Is(ce, ErrPreconditionFailed) {
		t.Error("ConflictError does not match ErrConflict and its cause")
	}
	if (&PanicError{Value: "s"}).Unwrap() != nil {
		t.Error("PanicError of a string unwraps to non-nil")
	}
	for s, want := range map[State]string{StateClosed: "closed", StateOpen: "open", StateHalfOpen: "half-open", 9: "State(?)"} {
		if s.String() != want {
			t.Errorf("State(%d).String() = %q", s, s.String())
		}
	}
	if ra, ok := RetryAfter(errBoom, time.Second).(interface{ RetryAfter() time.Duration }); !ok || ra.RetryAfter() != time.Second {
		t.Error("RetryAfter mark does not expose its hint")
	}
}
