package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// Reasons a Retry gave up, found with errors.Is on the error Retry.Do returns.
var (
	// ErrAttemptsExhausted: MaxAttempts attempts failed.
	ErrAttemptsExhausted = errors.New("resilience: retry attempts exhausted")
	// ErrElapsedExhausted: the next wait would pass MaxElapsed.
	ErrElapsedExhausted = errors.New("resilience: retry time exhausted")
	// ErrBudgetExhausted: the shared retry Budget has no tokens left.
	ErrBudgetExhausted = errors.New("resilience: retry budget exhausted")
	// ErrNotRetryable: a later attempt failed with an error that is not
	// retryable.
	ErrNotRetryable = errors.New("resilience: error not retryable")
)

// RetryError is returned by Retry.Do when it gave up on a retryable error
// (attempts, time or budget exhausted, or its context ended), or when an
// attempt after the first failed with an error that is not retryable. Err is
// the last error of the operation and Reason why no further attempt was
// made: one of ErrAttemptsExhausted, ErrElapsedExhausted,
// ErrBudgetExhausted, ErrNotRetryable, or the context's error. errors.Is and
// errors.As see both.
type RetryError struct {
	Attempts int
	Err      error
	Reason   error
}

// Error gives the attempts, the reason and the last error.
func (e *RetryError) Error() string {
	return "resilience: gave up after " + strconv.Itoa(e.Attempts) + " attempts (" +
		e.Reason.Error() + "): " + errString(e.Err)
}

// Unwrap returns the last error and the reason.
func (e *RetryError) Unwrap() []error { return []error{e.Err, e.Reason} }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// RetryEvent describes one scheduled retry, passed to RetryOptions.OnRetry.
type RetryEvent struct {
	Attempt int           // the attempt that failed, from 1
	Err     error         // its error
	Delay   time.Duration // the wait before the next attempt
	// Throttled reports that the Classifier called the error throttling.
	Throttled bool
}

// RetryOptions configures a Retry. The zero value is usable: 3 attempts, 100
// ms base delay doubling up to 10 s with full jitter, no elapsed limit,
// NetworkClassifier, the system clock.
type RetryOptions struct {
	// MaxAttempts is the number of attempts including the first. 0 means 3;
	// 1 means no retry.
	MaxAttempts int
	// MaxElapsed bounds the time from the start of Do to the start of the
	// last attempt: Do does not start a wait that would end after it. 0
	// means no bound.
	MaxElapsed time.Duration
	// BaseDelay is the cap of the first wait; 0 means 100 ms.
	BaseDelay time.Duration
	// MaxDelay caps every wait, including RetryAfter hints; 0 means 10 s.
	MaxDelay time.Duration
	// Multiplier grows the cap per attempt; 0 means 2. Must be >= 1.
	Multiplier float64
	// Jitter maps the cap of a wait to the wait. nil means full jitter: a
	// uniform random duration in [0, cap). Tests pass a deterministic one.
	Jitter func(limit time.Duration) time.Duration
	// Classifier decides which errors are retried and which are
	// throttling; nil means NetworkClassifier{}. Errors marked with
	// Permanent, Transient or RetryAfter bypass it; ErrOpen,
	// context.Canceled and ErrPreconditionFailed are never retried. Combine
	// classifiers with Classifiers.
	Classifier Classifier
	// AttemptTimeout, when > 0, runs each attempt under a context with this
	// timeout. That context allocates on every call, success included.
	AttemptTimeout time.Duration
	// Budget, when not nil, is a token bucket shared across calls: every
	// retry withdraws from it and every success refills it, so a dead
	// dependency is not hammered by all callers at once.
	Budget *Budget
	// OnRetry, when not nil, is called before each wait. It must not block.
	OnRetry func(RetryEvent)
	// Clock is the time source; nil means SystemClock.
	Clock Clock
}

// Retry runs operations again on transient errors with exponential backoff
// and full jitter. It is safe for concurrent use; its configuration is fixed
// at construction.
type Retry struct {
	maxAttempts    int
	maxElapsed     time.Duration
	base, maxDelay time.Duration
	mult           float64
	jitter         func(time.Duration) time.Duration
	classify       Classifier
	attemptTimeout time.Duration
	budget         *Budget
	onRetry        func(RetryEvent)
	clock          Clock
}

// NewRetry checks opts, fills in its defaults and returns a Retry.
func NewRetry(opts RetryOptions) (*Retry, error) {
	switch {
	case opts.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: MaxAttempts %d < 0", ErrOptions, opts.MaxAttempts)
	case opts.MaxElapsed < 0, opts.BaseDelay < 0, opts.MaxDelay < 0, opts.AttemptTimeout < 0:
		return nil, fmt.Errorf("%w: negative duration in RetryOptions", ErrOptions)
	case opts.Multiplier != 0 && (opts.Multiplier < 1 || math.IsNaN(opts.Multiplier) || math.IsInf(opts.Multiplier, 0)):
		return nil, fmt.Errorf("%w: Multiplier %v, want >= 1", ErrOptions, opts.Multiplier)
	}
	r := &Retry{
		maxAttempts:    cmp0(opts.MaxAttempts, 3),
		maxElapsed:     opts.MaxElapsed,
		base:           cmp0(opts.BaseDelay, 100*time.Millisecond),
		maxDelay:       cmp0(opts.MaxDelay, 10*time.Second),
		mult:           cmp0(opts.Multiplier, 2),
		jitter:         opts.Jitter,
		classify:       opts.Classifier,
		attemptTimeout: opts.AttemptTimeout,
		budget:         opts.Budget,
		onRetry:        opts.OnRetry,
		clock:          clockOrSystem(opts.Clock),
	}
	if r.base > r.maxDelay {
		return nil, fmt.Errorf("%w: BaseDelay %v > MaxDelay %v", ErrOptions, r.base, r.maxDelay)
	}
	if r.jitter == nil {
		r.jitter = fullJitter
	}
	if r.classify == nil {
		r.classify = NetworkClassifier{}
	}
	return r, nil
}

func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func fullJitter(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(limit)))
}

// Backoff returns the cap of the wait after the given failed attempt (from
// 1), before jitter: min(MaxDelay, BaseDelay × Multiplier^(attempt−1)).
func (r *Retry) Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(r.base) * math.Pow(r.mult, float64(attempt-1))
	if d >= float64(r.maxDelay) || math.IsInf(d, 0) || math.IsNaN(d) {
		return r.maxDelay
	}
	return time.Duration(d)
}

// Do calls fn until it returns nil, a non-retryable error, or a limit is
// reached. fn receives ctx (or, with AttemptTimeout, a child of it); Do does
// not keep fn after it returns, so a closure passed to it is not moved to
// the heap.
//
// Do returns nil on success. When the first attempt fails with an error that
// is not retryable, or ErrOpen from a circuit breaker, Do returns that error
// unchanged. Otherwise it returns a *RetryError. Do makes no attempt when ctx
// is already done and returns ctx.Err().
//
// On the success path without AttemptTimeout, Do does not allocate.
func (r *Retry) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var start time.Time
	if r.maxElapsed > 0 {
		start = r.clock.Now()
	}
	err := r.attempt(ctx, fn)
	if err == nil {
		r.budget.refund()
		return nil
	}
	return r.retry(ctx, fn, err, start)
}

func (r *Retry) attempt(ctx context.Context, fn func(context.Context) error) error {
	if r.attemptTimeout > 0 {
		return WithTimeout(ctx, r.attemptTimeout, fn)
	}
	return fn(ctx)
}

func (r *Retry) retry(ctx context.Context, fn func(context.Context) error, err error, start time.Time) error {
	for attempt := 1; ; attempt++ {
		v, hint := classify(r.classify, err)
		if v == giveUp {
			if attempt == 1 {
				return err
			}
			return &RetryError{Attempts: attempt, Err: err, Reason: ErrNotRetryable}
		}
		if cerr := ctx.Err(); cerr != nil {
			return &RetryError{Attempts: attempt, Err: err, Reason: cerr}
		}
		if attempt >= r.maxAttempts {
			return &RetryError{Attempts: attempt, Err: err, Reason: ErrAttemptsExhausted}
		}
		limit := r.Backoff(attempt)
		delay := max(0, min(r.jitter(limit), limit)) // a custom Jitter may stray
		if v == retryThrottled {
			delay = max(delay, limit/2) // asked to slow down: no near-immediate retry
		}
		if hint > delay {
			delay = hint
		}
		delay = min(delay, r.maxDelay)
		if r.maxElapsed > 0 && r.clock.Now().Add(delay).Sub(start) > r.maxElapsed {
			return &RetryError{Attempts: attempt, Err: err, Reason: ErrElapsedExhausted}
		}
		if !r.budget.withdraw() {
			return &RetryError{Attempts: attempt, Err: err, Reason: ErrBudgetExhausted}
		}
		if r.onRetry != nil {
			r.onRetry(RetryEvent{Attempt: attempt, Err: err, Delay: delay, Throttled: v == retryThrottled})
		}
		if serr := r.clock.Sleep(ctx, delay); serr != nil {
			return &RetryError{Attempts: attempt, Err: err, Reason: serr}
		}
		if err = r.attempt(ctx, fn); err == nil {
			r.budget.refund()
			return nil
		}
	}
}

// BudgetOptions configures a Budget. Zero fields take the defaults of the AWS
// SDK's standard retryer: capacity 500, retry cost 5, refund 1.
type BudgetOptions struct {
	Capacity  int64 // tokens when full
	RetryCost int64 // tokens one retry takes
	Refund    int64 // tokens one successful call returns
}

// Budget is a token bucket that limits retries across all the calls sharing
// it: a retry needs RetryCost tokens, a success returns Refund tokens. It is
// safe for concurrent use and does not allocate.
type Budget struct {
	tokens   atomic.Int64
	capacity int64
	cost     int64
	refundN  int64
}

// NewBudget returns a full Budget.
func NewBudget(opts BudgetOptions) (*Budget, error) {
	if opts.Capacity < 0 || opts.RetryCost < 0 || opts.Refund < 0 {
		return nil, fmt.Errorf("%w: negative value in BudgetOptions", ErrOptions)
	}
	b := &Budget{capacity: cmp0(opts.Capacity, 500), cost: cmp0(opts.RetryCost, 5), refundN: cmp0(opts.Refund, 1)}
	b.tokens.Store(b.capacity)
	return b, nil
}

// Tokens returns the tokens left.
func (b *Budget) Tokens() int64 { return b.tokens.Load() }

func (b *Budget) withdraw() bool {
	if b == nil {
		return true
	}
	for {
		t := b.tokens.Load()
		if t < b.cost {
			return false
		}
		if b.tokens.CompareAndSwap(t, t-b.cost) {
			return true
		}
	}
}

func (b *Budget) refund() {
	if b == nil {
		return
	}
	for {
		t := b.tokens.Load()
		if t >= b.capacity {
			return
		}
		if b.tokens.CompareAndSwap(t, min(b.capacity, t+b.refundN)) {
			return
		}
	}
}
