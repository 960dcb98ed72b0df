package resilience

import (
	"context"
	"time"
)

// Clock is the time source of the retry, breaker, health and metrics code.
// Inject a fake one in tests, or run the tests inside a testing/synctest
// bubble with SystemClock.
//
// Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep blocks for d or until ctx is done, whichever is first. It
	// returns ctx.Err() when ctx ended the wait and nil otherwise. A d <= 0
	// returns at once (with ctx.Err() if ctx is already done).
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the Clock of the time package. Its zero value is ready to
// use and safe for concurrent use. Sleep allocates a timer.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or for ctx to be done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
