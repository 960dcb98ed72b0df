package resilience

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// ErrTimeout is matched (errors.Is) by a *TimeoutError.
var ErrTimeout = errors.New("resilience: call timed out")

// TimeoutError is returned by WithTimeout when the call failed after its own
// deadline passed while the caller's context was still live. It unwraps to
// the call's error (usually context.DeadlineExceeded) and matches
// ErrTimeout.
type TimeoutError struct {
	After time.Duration // the timeout
	Err   error         // the call's error
}

// Error describes the timeout and the call's error.
func (e *TimeoutError) Error() string {
	return "resilience: call timed out after " + e.After.String() + ": " + errString(e.Err)
}

// Unwrap returns ErrTimeout and the call's error.
func (e *TimeoutError) Unwrap() []error { return []error{ErrTimeout, e.Err} }

// WithTimeout runs fn with a child of ctx that is cancelled after d. A d <= 0
// runs fn with ctx unchanged. The timeout is cooperative: fn must return when
// its context is done; WithTimeout does not abandon it. The child context
// allocates on every call.
func WithTimeout(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	if d <= 0 {
		return fn(ctx)
	}
	cctx, cancel := context.WithTimeout(ctx, d)
	err := fn(cctx)
	timedOut := err != nil && cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
	cancel()
	if timedOut {
		return &TimeoutError{After: d, Err: err}
	}
	return err
}

// PanicError is the error Recover returns for a panic. It carries the panic
// value and the stack of the panicking goroutine.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // runtime/debug.Stack() at the recovery point
}

// Error returns "resilience: panic: " and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("resilience: panic: %v", e.Value)
}

// Unwrap returns the panic value when it is an error, so errors.Is sees
// runtime errors and errors passed to panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Recover calls fn and turns a panic in it into a *PanicError carrying the
// stack. It does not allocate when fn does not panic.
func Recover(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// ErrBulkheadFull is returned by Bulkhead.TryDo when no slot is free.
var ErrBulkheadFull = errors.New("resilience: bulkhead full")

// Bulkhead limits how many calls run at once. It is safe for concurrent use
// and does not allocate.
type Bulkhead struct {
	sem chan struct{}
}

// NewBulkhead returns a Bulkhead admitting limit concurrent calls (limit >= 1).
func NewBulkhead(limit int) (*Bulkhead, error) {
	if limit < 1 {
		return nil, fmt.Errorf("%w: bulkhead limit %d < 1", ErrOptions, limit)
	}
	return &Bulkhead{sem: make(chan struct{}, limit)}, nil
}

// Acquire waits for a free slot or for ctx to be done (then it returns
// ctx.Err()). Every successful Acquire must be followed by one Release.
func (b *Bulkhead) Acquire(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryAcquire takes a slot if one is free and reports whether it did.
func (b *Bulkhead) TryAcquire() bool {
	select {
	case b.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees a slot taken by Acquire or TryAcquire.
func (b *Bulkhead) Release() { <-b.sem }

// InUse returns the number of slots taken.
func (b *Bulkhead) InUse() int { return len(b.sem) }

// Limit returns the number of slots.
func (b *Bulkhead) Limit() int { return cap(b.sem) }

// Do runs fn in a slot, waiting for one as long as ctx allows.
func (b *Bulkhead) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := b.Acquire(ctx); err != nil {
		return err
	}
	defer b.Release()
	return fn(ctx)
}

// TryDo runs fn in a slot if one is free and returns ErrBulkheadFull if not.
func (b *Bulkhead) TryDo(ctx context.Context, fn func(context.Context) error) error {
	if !b.TryAcquire() {
		return ErrBulkheadFull
	}
	defer b.Release()
	return fn(ctx)
}
