package resilience

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

var errBoom = errors.New("boom")

func noJitter(d time.Duration) time.Duration { return d }

func TestNetworkClassifier(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"plain", errBoom, false},
		{"canceled", context.Canceled, false},
		{"wrapped canceled", fmt.Errorf("get: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"EOF", io.EOF, false},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"dial other", &net.OpError{Op: "dial", Net: "tcp", Err: errBoom}, true},
		{"broken pipe", syscall.EPIPE, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, true},
		{"dns other", &net.DNSError{Err: "odd", Name: "x"}, false},
		{"breaker open", fmt.Errorf("load: %w", ErrOpen), false},
		{"precondition", ErrPreconditionFailed, false},
		{"net timeout", timeoutErr{}, true},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NetworkClassifier{}).Retryable(tt.err); got != tt.want {
				t.Errorf("NetworkClassifier.Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if (NetworkClassifier{}).Throttled(tt.err) {
				t.Errorf("NetworkClassifier.Throttled(%v) = true", tt.err)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type hintErr struct{ d time.Duration }

func (e hintErr) Error() string             { return "slow down" }
func (e hintErr) RetryAfter() time.Duration { return e.d }

// throttler calls errThrottle throttling, and nothing retryable.
type throttler struct{}

var errThrottle = errors.New("slow down")

func (throttler) Retryable(error) bool     { return false }
func (throttler) Throttled(err error) bool { return errors.Is(err, errThrottle) }

func TestClassify(t *testing.T) {
	never := ClassifierFunc(func(error) bool { return false })
	always := ClassifierFunc(func(error) bool { return true })
	net := NetworkClassifier{}
	tests := []struct {
		name      string
		c         Classifier
		err       error
		want      verdict
		wantAfter time.Duration
	}{
		{"transient beats classifier", never, fmt.Errorf("x: %w", Transient(errBoom)), retry, 0},
		{"permanent beats classifier", always, Permanent(context.DeadlineExceeded), giveUp, 0},
		{"retry-after", never, RetryAfter(errBoom, 3*time.Second), retry, 3 * time.Second},
		{"foreign hint", never, hintErr{2 * time.Second}, retry, 2 * time.Second},
		{"unknown defaults to no", net, errBoom, giveUp, 0},
		{"breaker open is never retried", always, fmt.Errorf("x: %w", ErrOpen), giveUp, 0},
		{"canceled is never retried", always, context.Canceled, giveUp, 0},
		{"precondition failed is never retried", always, ErrPreconditionFailed, giveUp, 0},
		{"throttled", throttler{}, errThrottle, retryThrottled, 0},
		{"throttled with a hint", throttler{}, fmt.Errorf("%w: %w", errThrottle, hintErr{time.Second}), retryThrottled, time.Second},
		{"combined: any retryable", Classifiers(nil, never, net), io.ErrUnexpectedEOF, retry, 0},
		{"combined: any throttled", Classifiers(net, throttler{}), errThrottle, retryThrottled, 0},
		{"combined: none", Classifiers(never, net), errBoom, giveUp, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, after := classify(tt.c, tt.err)
			if got != tt.want || after != tt.wantAfter {
				t.Errorf("classify(%v) = %v, %v, want %v, %v", tt.err, got, after, tt.want, tt.wantAfter)
			}
		})
	}
	if Permanent(nil) != nil || Transient(nil) != nil || RetryAfter(nil, time.Second) != nil {
		t.Error("marking a nil error is not nil")
	}
}

// TestRetryThrottledWaitsHalfTheCap: with a jitter that picks no wait at
// all, a throttled error still waits half the backoff cap, and OnRetry says
// it was throttled.
func TestRetryThrottledWaitsHalfTheCap(t *testing.T) {
	clk := newFakeClock()
	var events []RetryEvent
	r, err := NewRetry(RetryOptions{MaxAttempts: 3, Clock: clk, Classifier: throttler{},
		Jitter: func(time.Duration) time.Duration { return 0 }, OnRetry: func(e RetryEvent) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	if err := r.Do(context.Background(), failN(2, errThrottle, &calls)); err != nil {
		t.Fatalf("Do = %v", err)
	}
	if want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}; !slices.Equal(clk.Sleeps(), want) {
		t.Errorf("sleeps %v, want %v", clk.Sleeps(), want)
	}
	if len(events) != 2 || !events[0].Throttled || !events[1].Throttled {
		t.Errorf("OnRetry events %+v, want two throttled", events)
	}
}

// failN returns an operation failing its first n calls with err.
func failN(n int, err error, calls *int) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls <= n {
			return err
		}
		return nil
	}
}

func TestRetryDo(t *testing.T) {
	transient := Transient(errBoom)
	tests := []struct {
		name       string
		cfg        RetryOptions
		failures   int
		err        error
		wantCalls  int
		wantSleeps []time.Duration
		wantErr    error // matched with errors.Is; nil means success
		wantAsIs   bool  // the error is returned unchanged
	}{
		{name: "success", failures: 0, err: transient, wantCalls: 1},
		{name: "two failures then success", cfg: RetryOptions{MaxAttempts: 3}, failures: 2, err: transient, wantCalls: 3,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "exhausted", cfg: RetryOptions{MaxAttempts: 4}, failures: 10, err: transient, wantCalls: 4,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
			wantErr:    ErrAttemptsExhausted},
		{name: "max delay caps", cfg: RetryOptions{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second}, failures: 10, err: transient,
			wantCalls: 5, wantSleeps: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, wantErr: ErrAttemptsExhausted},
		{name: "not retryable", cfg: RetryOptions{MaxAttempts: 5}, failures: 10, err: errBoom, wantCalls: 1, wantErr: errBoom, wantAsIs: true},
		{name: "breaker open not retried", cfg: RetryOptions{MaxAttempts: 5, Classifier: ClassifierFunc(func(error) bool { return true })},
			failures: 10, err: ErrOpen, wantCalls: 1, wantErr: ErrOpen, wantAsIs: true},
		{name: "elapsed limit", cfg: RetryOptions{MaxAttempts: 10, MaxElapsed: 350 * time.Millisecond}, failures: 10, err: transient,
			wantCalls: 3, wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, wantErr: ErrElapsedExhausted},
		{name: "retry-after hint", cfg: RetryOptions{MaxAttempts: 2}, failures: 1, err: RetryAfter(errBoom, 2*time.Second), wantCalls: 2,
			wantSleeps: []time.Duration{2 * time.Second}},
		{name: "hint capped by max delay", cfg: RetryOptions{MaxAttempts: 2, MaxDelay: time.Second}, failures: 1, err: RetryAfter(errBoom, time.Hour), wantCalls: 2,
			wantSleeps: []time.Duration{time.Second}},
		{name: "single attempt", cfg: RetryOptions{MaxAttempts: 1}, failures: 1, err: transient, wantCalls: 1, wantErr: ErrAttemptsExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			cfg := tt.cfg
			cfg.Clock, cfg.Jitter = clk, noJitter
			r, err := NewRetry(cfg)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			got := r.Do(context.Background(), failN(tt.failures, tt.err, &calls))
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if s := clk.Sleeps(); !slices.Equal(s, tt.wantSleeps) {
				t.Errorf("sleeps = %v, want %v", s, tt.wantSleeps)
			}
			switch {
			case tt.wantErr == nil && got != nil:
				t.Errorf("Do() = %v, want nil", got)
			case tt.wantErr != nil && !errors.Is(got, tt.wantErr):
				t.Errorf("Do() = %v, want %v", got, tt.wantErr)
			case tt.wantAsIs && got != tt.err:
				t.Errorf("Do() = %#v, want the error unchanged", got)
			}
			var re *RetryError
			if tt.wantErr != nil && !tt.wantAsIs {
				if !errors.As(got, &re) || re.Attempts != tt.wantCalls || !errors.Is(got, errBoom) {
					t.Errorf("Do() = %#v, want *RetryError with %d attempts wrapping errBoom", got, tt.wantCalls)
				}
			}
		})
	}
}

func TestRetryFullJitterBounds(t *testing.T) {
	r, err := NewRetry(RetryOptions{BaseDelay: time.Second, MaxDelay: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 6; attempt++ {
		limit := r.Backoff(attempt)
		want := min(time.Second<<(attempt-1), 8*time.Second)
		if limit != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, limit, want)
		}
		seen := map[bool]int{}
		for range 200 {
			d := r.jitter(limit)
			if d < 0 || d >= limit {
				t.Fatalf("jitter(%v) = %v, want in [0, %v)", limit, d, limit)
			}
			seen[d < limit/2]++
		}
		if seen[true] == 0 || seen[false] == 0 {
			t.Errorf("jitter(%v) is not spread over the range: %v", limit, seen)
		}
	}
	if got := r.Backoff(1000); got != 8*time.Second {
		t.Errorf("Backoff(1000) = %v, want the cap", got)
	}
}

func TestRetryBudget(t *testing.T) {
	b, err := NewBudget(BudgetOptions{Capacity: 10, RetryCost: 5, Refund: 1})
	if err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	r, err := NewRetry(RetryOptions{MaxAttempts: 10, Budget: b, Clock: clk, Jitter: noJitter})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	got := r.Do(context.Background(), failN(100, Transient(errBoom), &calls))
	if !errors.Is(got, ErrBudgetExhausted) || calls != 3 {
		t.Errorf("Do() = %v after %d calls, want ErrBudgetExhausted after 3", got, calls)
	}
	if b.Tokens() != 0 {
		t.Errorf("Tokens() = %d, want 0", b.Tokens())
	}
	// A second caller cannot retry at all until successes refill the bucket.
	calls = 0
	if got := r.Do(context.Background(), failN(100, Transient(errBoom), &calls)); !errors.Is(got, ErrBudgetExhausted) || calls != 1 {
		t.Errorf("Do() = %v after %d calls, want ErrBudgetExhausted after 1", got, calls)
	}
	for range 5 {
		if err := r.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if b.Tokens() != 5 {
		t.Errorf("Tokens() after 5 successes = %d, want 5", b.Tokens())
	}
	for range 100 {
		_ = r.Do(context.Background(), func(context.Context) error { return nil })
	}
	if b.Tokens() != 10 {
		t.Errorf("Tokens() = %d, want capped at 10", b.Tokens())
	}
}

func TestRetryContext(t *testing.T) {
	t.Run("done before start", func(t *testing.T) {
		r, _ := NewRetry(RetryOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		if got := r.Do(ctx, failN(0, nil, &calls)); got != context.Canceled || calls != 0 {
			t.Errorf("Do() = %v with %d calls, want context.Canceled and no call", got, calls)
		}
	})
	t.Run("cancelled during wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, _ := NewRetry(RetryOptions{MaxAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Minute, Jitter: noJitter})
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(30*time.Second, cancel)
			start := time.Now()
			calls := 0
			got := r.Do(ctx, failN(10, Transient(errBoom), &calls))
			if !errors.Is(got, context.Canceled) || !errors.Is(got, errBoom) || calls != 1 {
				t.Errorf("Do() = %v after %d calls, want Canceled wrapping errBoom after 1", got, calls)
			}
			if el := time.Since(start); el != 30*time.Second {
				t.Errorf("Do returned after %v, want 30s", el)
			}
		})
	})
	t.Run("attempt timeout is retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, _ := NewRetry(RetryOptions{MaxAttempts: 3, AttemptTimeout: time.Second, Jitter: noJitter})
			calls := 0
			start := time.Now()
			err := r.Do(t.Context(), func(ctx context.Context) error {
				calls++
				if calls < 3 {
					<-ctx.Done() // hang until the per-attempt timeout
					return ctx.Err()
				}
				return nil
			})
			if err != nil || calls != 3 {
				t.Errorf("Do() = %v after %d calls, want nil after 3", err, calls)
			}
			if el, want := time.Since(start), 2*time.Second+300*time.Millisecond; el != want {
				t.Errorf("elapsed %v, want %v", el, want)
			}
		})
	})
}

func TestRetryOnRetry(t *testing.T) {
	var events []RetryEvent
	r, _ := NewRetry(RetryOptions{MaxAttempts: 3, Clock: newFakeClock(), Jitter: noJitter, OnRetry: func(e RetryEvent) { events = append(events, e) }})
	calls := 0
	_ = r.Do(context.Background(), failN(5, Transient(errBoom), &calls))
	if len(events) != 2 || events[0].Attempt != 1 || events[1].Attempt != 2 || events[1].Delay != 200*time.Millisecond || !errors.Is(events[0].Err, errBoom) {
		t.Errorf("events = %+v", events)
	}
}

func TestNewRetryInvalid(t *testing.T) {
	for _, cfg := range []RetryOptions{
		{MaxAttempts: -1},
		{BaseDelay: -time.Second},
		{Multiplier: 0.5},
		{BaseDelay: time.Minute, MaxDelay: time.Second},
	} {
		if _, err := NewRetry(cfg); err == nil {
			t.Errorf("NewRetry(%+v) = nil error, want one", cfg)
		}
	}
	if _, err := NewBudget(BudgetOptions{Capacity: -1}); err == nil {
		t.Error("NewBudget(Capacity: -1) = nil error")
	}
}

func TestRetryAllocs(t *testing.T) {
	skipAllocTest(t)
	b, _ := NewBudget(BudgetOptions{})
	r, _ := NewRetry(RetryOptions{MaxElapsed: time.Minute, Budget: b})
	ctx := context.Background()
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		// A closure capturing a local: it must stay on the stack.
		if err := r.Do(ctx, func(context.Context) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Retry.Do success path: %v allocs/op, want 0", allocs)
	}
	if n == 0 {
		t.Fatal("operation not called")
	}
}

func BenchmarkRetryDo(b *testing.B) {
	r, _ := NewRetry(RetryOptions{})
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Do(ctx, func(context.Context) error { n++; return nil })
	}
}
