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

func TestClassifyNetwork(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Decision
	}{
		{"plain", errBoom, NoOpinion},
		{"canceled", context.Canceled, NotRetryable},
		{"wrapped canceled", fmt.Errorf("get: %w", context.Canceled), NotRetryable},
		{"deadline", context.DeadlineExceeded, Retryable},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), Retryable},
		{"EOF", io.EOF, NoOpinion},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, Retryable},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, Retryable},
		{"dial other", &net.OpError{Op: "dial", Net: "tcp", Err: errBoom}, Retryable},
		{"broken pipe", syscall.EPIPE, Retryable},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, NotRetryable},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, Retryable},
		{"dns other", &net.DNSError{Err: "odd", Name: "x"}, NoOpinion},
		{"breaker open", fmt.Errorf("load: %w", ErrOpen), NotRetryable},
		{"precondition", ErrPreconditionFailed, NotRetryable},
		{"net timeout", timeoutErr{}, Retryable},
		{"nil", nil, NoOpinion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyNetwork(tt.err); got != tt.want {
				t.Errorf("ClassifyNetwork(%v) = %v, want %v", tt.err, got, tt.want)
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

func TestClassifyMarks(t *testing.T) {
	never := func(error) Decision { return NotRetryable }
	tests := []struct {
		name      string
		c         Classifier
		err       error
		want      Decision
		wantAfter time.Duration
	}{
		{"transient beats classifier", never, fmt.Errorf("x: %w", Transient(errBoom)), Retryable, 0},
		{"permanent beats classifier", ClassifyNetwork, Permanent(context.DeadlineExceeded), NotRetryable, 0},
		{"retry-after", never, RetryAfter(errBoom, 3*time.Second), Retryable, 3 * time.Second},
		{"foreign hint, no opinion", nil, hintErr{2 * time.Second}, Retryable, 2 * time.Second},
		{"foreign hint, classifier says no", never, hintErr{2 * time.Second}, NotRetryable, 2 * time.Second},
		{"unknown defaults to no", ClassifyNetwork, errBoom, NotRetryable, 0},
		{"combined", Classifiers(nil, func(err error) Decision {
			if errors.Is(err, errBoom) {
				return Retryable
			}
			return NoOpinion
		}, never), errBoom, Retryable, 0},
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
		cfg        RetryConfig
		failures   int
		err        error
		wantCalls  int
		wantSleeps []time.Duration
		wantErr    error // matched with errors.Is; nil means success
		wantAsIs   bool  // the error is returned unchanged
	}{
		{name: "success", failures: 0, err: transient, wantCalls: 1},
		{name: "two failures then success", cfg: RetryConfig{MaxAttempts: 3}, failures: 2, err: transient, wantCalls: 3,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "exhausted", cfg: RetryConfig{MaxAttempts: 4}, failures: 10, err: transient, wantCalls: 4,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
			wantErr:    ErrAttemptsExhausted},
		{name: "max delay caps", cfg: RetryConfig{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second}, failures: 10, err: transient,
			wantCalls: 5, wantSleeps: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, wantErr: ErrAttemptsExhausted},
		{name: "not retryable", cfg: RetryConfig{MaxAttempts: 5}, failures: 10, err: errBoom, wantCalls: 1, wantErr: errBoom, wantAsIs: true},
		{name: "breaker open not retried", cfg: RetryConfig{MaxAttempts: 5, Classify: func(error) Decision { return Retryable }},
			failures: 10, err: ErrOpen, wantCalls: 1, wantErr: ErrOpen, wantAsIs: true},
		{name: "elapsed limit", cfg: RetryConfig{MaxAttempts: 10, MaxElapsed: 350 * time.Millisecond}, failures: 10, err: transient,
			wantCalls: 3, wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, wantErr: ErrElapsedExhausted},
		{name: "retry-after hint", cfg: RetryConfig{MaxAttempts: 2}, failures: 1, err: RetryAfter(errBoom, 2*time.Second), wantCalls: 2,
			wantSleeps: []time.Duration{2 * time.Second}},
		{name: "hint capped by max delay", cfg: RetryConfig{MaxAttempts: 2, MaxDelay: time.Second}, failures: 1, err: RetryAfter(errBoom, time.Hour), wantCalls: 2,
			wantSleeps: []time.Duration{time.Second}},
		{name: "single attempt", cfg: RetryConfig{MaxAttempts: 1}, failures: 1, err: transient, wantCalls: 1, wantErr: ErrAttemptsExhausted},
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
	r, err := NewRetry(RetryConfig{BaseDelay: time.Second, MaxDelay: 8 * time.Second})
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
	b, err := NewBudget(BudgetConfig{Capacity: 10, RetryCost: 5, Refund: 1})
	if err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	r, err := NewRetry(RetryConfig{MaxAttempts: 10, Budget: b, Clock: clk, Jitter: noJitter})
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
		r, _ := NewRetry(RetryConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		if got := r.Do(ctx, failN(0, nil, &calls)); got != context.Canceled || calls != 0 {
			t.Errorf("Do() = %v with %d calls, want context.Canceled and no call", got, calls)
		}
	})
	t.Run("cancelled during wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, _ := NewRetry(RetryConfig{MaxAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Minute, Jitter: noJitter})
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
			r, _ := NewRetry(RetryConfig{MaxAttempts: 3, AttemptTimeout: time.Second, Jitter: noJitter})
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
	r, _ := NewRetry(RetryConfig{MaxAttempts: 3, Clock: newFakeClock(), Jitter: noJitter, OnRetry: func(e RetryEvent) { events = append(events, e) }})
	calls := 0
	_ = r.Do(context.Background(), failN(5, Transient(errBoom), &calls))
	if len(events) != 2 || events[0].Attempt != 1 || events[1].Attempt != 2 || events[1].Delay != 200*time.Millisecond || !errors.Is(events[0].Err, errBoom) {
		t.Errorf("events = %+v", events)
	}
}

func TestNewRetryInvalid(t *testing.T) {
	for _, cfg := range []RetryConfig{
		{MaxAttempts: -1},
		{BaseDelay: -time.Second},
		{Multiplier: 0.5},
		{BaseDelay: time.Minute, MaxDelay: time.Second},
	} {
		if _, err := NewRetry(cfg); err == nil {
			t.Errorf("NewRetry(%+v) = nil error, want one", cfg)
		}
	}
	if _, err := NewBudget(BudgetConfig{Capacity: -1}); err == nil {
		t.Error("NewBudget(Capacity: -1) = nil error")
	}
}

func TestRetryAllocs(t *testing.T) {
	skipAllocTest(t)
	b, _ := NewBudget(BudgetConfig{})
	r, _ := NewRetry(RetryConfig{MaxElapsed: time.Minute, Budget: b})
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
	r, _ := NewRetry(RetryConfig{})
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Do(ctx, func(context.Context) error { n++; return nil })
	}
}
