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
	for s, want := range map[State]string{StateClosed: "closed", StateOpen: "open", StateHalfOpen: "half-open", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("State(%d).String() = %q", s, s.String())
		}
	}
	if ra, ok := RetryAfter(errBoom, time.Second).(interface{ RetryAfter() time.Duration }); !ok || ra.RetryAfter() != time.Second {
		t.Error("RetryAfter mark does not expose its hint")
	}
}

// TestConstructorsRejectInvalidOptions: every constructor checks its
// options up front, with an error wrapping ErrOptions.
func TestConstructorsRejectInvalidOptions(t *testing.T) {
	for name, err := range map[string]error{
		"NewRetry":             second(NewRetry(RetryOptions{MaxAttempts: -1})),
		"NewRetry delays":      second(NewRetry(RetryOptions{BaseDelay: time.Minute, MaxDelay: time.Second})),
		"NewBudget":            second(NewBudget(BudgetOptions{Capacity: -1})),
		"NewBreaker":           second(NewBreaker(BreakerOptions{FailureRatio: 2})),
		"NewBulkhead":          second(NewBulkhead(0)),
		"NewFileCheckpoint":    second(NewFileCheckpointStore("")),
		"NewS3CheckpointStore": second(NewS3CheckpointStore(nil, "b", "")),
		"NewFileDeadLetter":    second(NewFileDeadLetterSink(FileDeadLetterOptions{})),
		"NewS3DeadLetterSink":  second(NewS3DeadLetterSink(S3DeadLetterOptions{})),
		"NewMonitoredSink":     second(NewMonitoredSink(nil, MonitoredSinkOptions{})),
		"NewHealth":            second(NewHealth(HealthOptions{Timeout: -1})),
		"NewEMF":               second(NewEMF(EMFOptions{})),
	} {
		if !errors.Is(err, ErrOptions) {
			t.Errorf("%s: err = %v, want an error wrapping ErrOptions", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestEnumText(t *testing.T) {
	for _, s := range []State{StateClosed, StateOpen, StateHalfOpen} {
		b, err := s.MarshalText()
		var back State
		if err != nil || string(b) != s.String() || back.UnmarshalText(b) != nil || back != s {
			t.Errorf("State %v: MarshalText = %q, %v; round trip %v", s, b, err, back)
		}
	}
	for _, o := range []Outcome{Success, Failure, Ignore} {
		b, err := o.MarshalText()
		var back Outcome
		if err != nil || string(b) != o.String() || back.UnmarshalText(b) != nil || back != o {
			t.Errorf("Outcome %v: MarshalText = %q, %v; round trip %v", o, b, err, back)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("Open")); !errors.Is(err, ErrOptions) {
		t.Errorf("State.UnmarshalText(Open) = %v, want ErrOptions", err)
	}
	if _, err := State(9).MarshalText(); !errors.Is(err, ErrOptions) {
		t.Errorf("State(9).MarshalText() = %v, want ErrOptions", err)
	}
}
