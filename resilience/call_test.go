package resilience

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestWithTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		err := WithTimeout(t.Context(), time.Second, hang)
		var te *TimeoutError
		if !errors.As(err, &te) || te.After != time.Second || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WithTimeout(hang) = %v, want *TimeoutError after 1s", err)
		}
		// The caller's own deadline is not our timeout.
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		if err := WithTimeout(ctx, time.Second, hang); err != context.DeadlineExceeded {
			t.Errorf("WithTimeout under a shorter parent deadline = %v, want context.DeadlineExceeded", err)
		}
		if err := WithTimeout(t.Context(), time.Second, ok); err != nil {
			t.Errorf("WithTimeout(ok) = %v", err)
		}
		if err := WithTimeout(t.Context(), 0, fail); err != errBoom {
			t.Errorf("WithTimeout(0, fail) = %v, want errBoom", err)
		}
	})
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name   string
		fn     func(context.Context) error
		want   string
		wantIs error
	}{
		{"string", func(context.Context) error { panic("bad state") }, "resilience: panic: bad state", nil},
		{"error", func(context.Context) error { panic(errBoom) }, "resilience: panic: boom", errBoom},
		{"runtime", func(context.Context) error { var rows []string; return errors.New(rows[len(rows)]) }, "index out of range [0] with length 0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Recover(context.Background(), tt.fn)
			var pe *PanicError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Recover() = %v, want *PanicError containing %q", err, tt.want)
			}
			if !strings.Contains(string(pe.Stack), "TestRecover") {
				t.Errorf("stack does not name the test:\n%s", pe.Stack)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
	if err := Recover(context.Background(), fail); err != errBoom {
		t.Errorf("Recover(fail) = %v, want errBoom", err)
	}
}

func TestBulkhead(t *testing.T) {
	if _, err := NewBulkhead(0); err == nil {
		t.Error("NewBulkhead(0) = nil error")
	}
	synctest.Test(t, func(t *testing.T) {
		bh, err := NewBulkhead(2)
		if err != nil {
			t.Fatal(err)
		}
		var running, peak atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				_ = bh.Do(t.Context(), func(context.Context) error {
					n := running.Add(1)
					if n > peak.Load() {
						peak.Store(n)
					}
					time.Sleep(time.Second)
					running.Add(-1)
					return nil
				})
			})
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if bh.InUse() != 2 {
			t.Errorf("InUse() = %d, want 2", bh.InUse())
		}
		if err := bh.TryDo(t.Context(), ok); err != ErrBulkheadFull {
			t.Errorf("TryDo() on a full bulkhead = %v, want ErrBulkheadFull", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		if err := bh.Do(ctx, ok); err != context.DeadlineExceeded {
			t.Errorf("Do() waiting past its deadline = %v", err)
		}
		cancel()
		start := time.Now()
		wg.Wait()
		if el := time.Since(start); el < 2*time.Second {
			t.Errorf("6 calls of 1s through 2 slots took %v, want >= 3s total", el)
		}
		if err := bh.TryDo(t.Context(), fail); err != errBoom || bh.InUse() != 0 {
			t.Errorf("TryDo() on a free bulkhead = %v, in use %d", err, bh.InUse())
		}
		if peak.Load() != 2 || bh.InUse() != 0 || bh.Limit() != 2 {
			t.Errorf("peak %d, in use %d, want 2 and 0", peak.Load(), bh.InUse())
		}
	})
}

// TestPolicyOrder checks the documented order Retry → Breaker → Bulkhead →
// Timeout → Recover → fn.
func TestPolicyOrder(t *testing.T) {
	clk := newFakeClock()
	r, _ := NewRetry(RetryOptions{MaxAttempts: 5, Clock: clk, Jitter: noJitter, Classifier: ClassifierFunc(func(error) bool { return true })})
	br, _ := NewBreaker(BreakerOptions{ConsecutiveFailures: 2, Clock: clk})
	bh, _ := NewBulkhead(1)
	p := &Policy{Retry: r, Breaker: br, Bulkhead: bh, Timeout: time.Minute, Recover: true}
	calls := 0
	err := p.Do(context.Background(), func(ctx context.Context) error {
		calls++
		if bh.InUse() != 1 {
			t.Error("fn runs outside the bulkhead")
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("fn runs without the timeout")
		}
		panic("driver bug")
	})
	// Panics become errors the breaker counts; after 2 the breaker opens and
	// the retry stops at once with ErrOpen instead of using all 5 attempts.
	var pe *PanicError
	if calls != 2 || !errors.Is(err, ErrOpen) || errors.As(err, &pe) {
		t.Errorf("Do() = %v after %d calls, want ErrOpen after 2", err, calls)
	}
	if bh.InUse() != 0 {
		t.Errorf("bulkhead slot leaked: InUse() = %d", bh.InUse())
	}
	if got := clk.Sleeps(); len(got) != 2 {
		t.Errorf("sleeps = %v, want 2 (the retry is outside the breaker)", got)
	}
	var empty Policy
	if err := empty.Do(context.Background(), fail); err != errBoom {
		t.Errorf("zero Policy Do(fail) = %v", err)
	}
}

func TestPolicyAllocs(t *testing.T) {
	skipAllocTest(t)
	r, _ := NewRetry(RetryOptions{})
	br, _ := NewBreaker(BreakerOptions{})
	bh, _ := NewBulkhead(4)
	p := &Policy{Retry: r, Breaker: br, Bulkhead: bh, Recover: true}
	ctx := context.Background()
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := p.Do(ctx, func(context.Context) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Policy.Do success path: %v allocs/op, want 0", allocs)
	}
	withTimeout := &Policy{Retry: r, Timeout: time.Minute}
	allocs = testing.AllocsPerRun(100, func() { _ = withTimeout.Do(ctx, ok) })
	if allocs == 0 {
		t.Errorf("Policy.Do with Timeout: 0 allocs/op; update the docs that say it allocates")
	}
}

func BenchmarkPolicyDo(b *testing.B) {
	r, _ := NewRetry(RetryOptions{})
	br, _ := NewBreaker(BreakerOptions{})
	bh, _ := NewBulkhead(4)
	for _, bc := range []struct {
		name string
		p    *Policy
	}{
		{"retry+breaker", &Policy{Retry: r, Breaker: br}},
		{"retry+breaker+bulkhead+recover", &Policy{Retry: r, Breaker: br, Bulkhead: bh, Recover: true}},
		{"retry+breaker+timeout", &Policy{Retry: r, Breaker: br, Timeout: time.Minute}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				_ = bc.p.Do(ctx, func(context.Context) error { n++; return nil })
			}
		})
	}
}
