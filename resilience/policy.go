package resilience

import (
	"context"
	"time"
)

// Policy composes the policies of this package around one operation, in
// this fixed order, outermost first:
//
//	Retry → Breaker → Bulkhead → Timeout → Recover → fn
//
// Each retry attempt asks the breaker (an open breaker ends the retry at
// once with ErrOpen), then waits for a bulkhead slot (sleeping retries hold
// no slot), then runs fn under the per-attempt timeout with panics turned
// into errors (which the breaker counts as failures). Nil fields and a zero
// Timeout are skipped.
//
// A Policy is safe for concurrent use when its parts are (all of this
// package's are); do not change its fields while calls run. With Timeout
// zero, Do does not allocate on the success path.
type Policy struct {
	Retry    *Retry
	Breaker  *Breaker
	Bulkhead *Bulkhead
	// Timeout bounds each attempt (see WithTimeout); the context it needs
	// allocates on every call.
	Timeout time.Duration
	// Recover turns a panic in fn into a *PanicError.
	Recover bool
}

// Do runs fn through the policies.
func (p *Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	if p.Retry != nil {
		return p.Retry.Do(ctx, func(ctx context.Context) error { return p.guarded(ctx, fn) })
	}
	return p.guarded(ctx, fn)
}

func (p *Policy) guarded(ctx context.Context, fn func(context.Context) error) error {
	if p.Breaker != nil {
		return p.Breaker.Do(ctx, func(ctx context.Context) error { return p.limited(ctx, fn) })
	}
	return p.limited(ctx, fn)
}

func (p *Policy) limited(ctx context.Context, fn func(context.Context) error) error {
	if p.Bulkhead != nil {
		if err := p.Bulkhead.Acquire(ctx); err != nil {
			return err
		}
		defer p.Bulkhead.Release()
	}
	if p.Timeout > 0 {
		return WithTimeout(ctx, p.Timeout, func(ctx context.Context) error { return p.inner(ctx, fn) })
	}
	return p.inner(ctx, fn)
}

func (p *Policy) inner(ctx context.Context, fn func(context.Context) error) error {
	if p.Recover {
		return Recover(ctx, fn)
	}
	return fn(ctx)
}
