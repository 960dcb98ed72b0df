package resilience

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func newTestBreaker(t *testing.T, cfg BreakerOptions) (*Breaker, *fakeClock, *[]StateChange) {
	t.Helper()
	clk := newFakeClock()
	var mu sync.Mutex
	changes := &[]StateChange{}
	cfg.Clock = clk
	cfg.Listeners = append(cfg.Listeners, func(c StateChange) {
		mu.Lock()
		*changes = append(*changes, c)
		mu.Unlock()
	})
	b, err := NewBreaker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, clk, changes
}

func fail(context.Context) error { return errBoom }
func ok(context.Context) error   { return nil }

func transitions(cs []StateChange) string {
	s := ""
	for _, c := range cs {
		s += fmt.Sprintf("%v>%v(%s) ", c.From, c.To, c.Reason)
	}
	return s
}

func TestBreakerConsecutive(t *testing.T) {
	b, clk, changes := newTestBreaker(t, BreakerOptions{Name: "snowflake", ConsecutiveFailures: 3, OpenDuration: 10 * time.Second})
	ctx := context.Background()
	// Successes in between reset the run.
	for _, fn := range []func(context.Context) error{fail, fail, ok, fail, fail} {
		_ = b.Do(ctx, fn)
	}
	if s := b.State(); s != StateClosed {
		t.Fatalf("State() = %v after a broken run, want closed", s)
	}
	if err := b.Do(ctx, fail); !errors.Is(err, errBoom) {
		t.Fatalf("Do(fail) = %v", err)
	}
	if s := b.State(); s != StateOpen {
		t.Fatalf("State() = %v after 3 failures in a row, want open", s)
	}
	called := false
	if err := b.Do(ctx, func(context.Context) error { called = true; return nil }); err != ErrOpen || called {
		t.Fatalf("Do() while open = %v (called %v), want ErrOpen without a call", err, called)
	}
	clk.Advance(9 * time.Second)
	if s := b.State(); s != StateOpen {
		t.Fatalf("State() = %v before OpenDuration, want open", s)
	}
	clk.Advance(time.Second)
	if s := b.State(); s != StateHalfOpen {
		t.Fatalf("State() = %v after OpenDuration, want half-open", s)
	}
	if err := b.Do(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if s := b.State(); s != StateClosed {
		t.Fatalf("State() = %v after a good probe, want closed", s)
	}
	want := "closed>open(consecutive failures) open>half-open(open duration elapsed) half-open>closed(probes succeeded) "
	if got := transitions(*changes); got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
	if (*changes)[0].Name != "snowflake" {
		t.Errorf("StateChange.Name = %q", (*changes)[0].Name)
	}
}

func TestBreakerRatio(t *testing.T) {
	b, clk, _ := newTestBreaker(t, BreakerOptions{ConsecutiveFailures: -1, FailureRatio: 0.5, MinCalls: 10, Window: 10 * time.Second})
	ctx := context.Background()
	// 4 failures of 9 calls: under MinCalls.
	for i := range 9 {
		if i%2 == 0 {
			_ = b.Do(ctx, ok)
		} else {
			_ = b.Do(ctx, fail)
		}
	}
	if c := b.Counts(); c.State != StateClosed || c.WindowCalls != 9 || c.WindowFailures != 4 {
		t.Fatalf("Counts() = %+v, want closed 9 calls 4 failures", c)
	}
	// The window rolls: after 10 s the old calls are gone.
	clk.Advance(11 * time.Second)
	if c := b.Counts(); c.WindowCalls != 0 {
		t.Fatalf("Counts() after the window = %+v, want 0 calls", c)
	}
	for range 5 {
		_ = b.Do(ctx, ok)
		clk.Advance(100 * time.Millisecond)
	}
	for i := range 5 {
		_ = b.Do(ctx, fail)
		if i < 4 && b.State() != StateClosed {
			t.Fatalf("opened after %d failures of %d calls", i+1, i+6)
		}
	}
	if s := b.State(); s != StateOpen {
		t.Errorf("State() = %v after 5/10 failures, want open", s)
	}
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	b, clk, changes := newTestBreaker(t, BreakerOptions{ConsecutiveFailures: 1, OpenDuration: time.Second, HalfOpenProbes: 2, ProbeTimeout: 5 * time.Second})
	_ = b.Do(context.Background(), fail)
	clk.Advance(time.Second)
	p1, err1 := b.Allow()
	p2, err2 := b.Allow()
	_, err3 := b.Allow()
	if err1 != nil || err2 != nil || !p1.Probe() || !p2.Probe() {
		t.Fatalf("Allow() = %v, %v, want two probes", err1, err2)
	}
	if err3 != ErrOpen {
		t.Fatalf("third Allow() in half-open = %v, want ErrOpen", err3)
	}
	p1.Done(nil)
	if s := b.State(); s != StateHalfOpen {
		t.Fatalf("State() = %v after 1 of 2 probes, want half-open", s)
	}
	// The freed slot admits another probe.
	p3, err := b.Allow()
	if err != nil {
		t.Fatalf("Allow() after a probe finished = %v", err)
	}
	p2.Done(errBoom)
	if s := b.State(); s != StateOpen {
		t.Fatalf("State() = %v after a failed probe, want open", s)
	}
	// p3 is stale now: its result must not close the breaker.
	p3.Done(nil)
	if s := b.State(); s != StateOpen {
		t.Fatalf("State() = %v after a stale permit, want open", s)
	}
	want := "closed>open(consecutive failures) open>half-open(open duration elapsed) half-open>open(probe failed) "
	if got := transitions(*changes); got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
}

// A probe that never reports must not hold the breaker half-open
// (Resilience4j #903).
func TestBreakerHungProbe(t *testing.T) {
	b, clk, changes := newTestBreaker(t, BreakerOptions{ConsecutiveFailures: 1, OpenDuration: time.Second, ProbeTimeout: 3 * time.Second})
	_ = b.Do(context.Background(), fail)
	clk.Advance(time.Second)
	hung, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if _, err := b.Allow(); err != ErrOpen {
		t.Fatalf("Allow() with the probe slot taken = %v, want ErrOpen", err)
	}
	clk.Advance(time.Second)
	if s := b.State(); s != StateOpen {
		t.Fatalf("State() = %v after the probe timeout, want open", s)
	}
	clk.Advance(time.Second)
	p, err := b.Allow()
	if err != nil {
		t.Fatalf("Allow() after reopening and waiting = %v, want a new probe", err)
	}
	hung.Done(errBoom) // late and stale: ignored
	p.Done(nil)
	if s := b.State(); s != StateClosed {
		t.Fatalf("State() = %v, want closed", s)
	}
	want := "closed>open(consecutive failures) open>half-open(open duration elapsed) half-open>open(probe timed out) " +
		"open>half-open(open duration elapsed) half-open>closed(probes succeeded) "
	if got := transitions(*changes); got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
}

// Do runs probes under ProbeTimeout, so a probe honouring its context ends.
func TestBreakerProbeContextTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := NewBreaker(BreakerOptions{ConsecutiveFailures: 1, OpenDuration: time.Second, ProbeTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Do(t.Context(), fail)
		time.Sleep(time.Second)
		start := time.Now()
		err = b.Do(t.Context(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		if !errors.Is(err, ErrTimeout) || time.Since(start) != 2*time.Second {
			t.Errorf("probe Do() = %v after %v, want ErrTimeout after 2s", err, time.Since(start))
		}
		if s := b.State(); s != StateOpen {
			t.Errorf("State() = %v after a timed-out probe, want open", s)
		}
	})
}

func TestBreakerIgnoresCancellation(t *testing.T) {
	b, _, _ := newTestBreaker(t, BreakerOptions{ConsecutiveFailures: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 {
		_ = b.Do(ctx, func(ctx context.Context) error { return fmt.Errorf("query: %w", ctx.Err()) })
		_ = b.Do(context.Background(), func(context.Context) error { return context.Canceled })
	}
	if c := b.Counts(); c.State != StateClosed || c.ConsecutiveFailures != 0 || c.WindowCalls != 0 {
		t.Errorf("Counts() = %+v after cancelled calls, want nothing counted", c)
	}
	custom, _, _ := newTestBreaker(t, BreakerOptions{ConsecutiveFailures: 1, Classify: func(err error) Outcome {
		if errors.Is(err, errBoom) {
			return Ignore // e.g. bad input, not the dependency's fault
		}
		return DefaultOutcome(err)
	}})
	_ = custom.Do(context.Background(), fail)
	if s := custom.State(); s != StateClosed {
		t.Errorf("State() = %v after an ignored error, want closed", s)
	}
}

func TestBreakerReset(t *testing.T) {
	b, _, changes := newTestBreaker(t, BreakerOptions{ConsecutiveFailures: 1})
	_ = b.Do(context.Background(), fail)
	b.Reset()
	if s := b.State(); s != StateClosed {
		t.Errorf("State() = %v after Reset, want closed", s)
	}
	if got, want := transitions(*changes), "closed>open(consecutive failures) open>closed(reset) "; got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
}

func TestNewBreakerInvalid(t *testing.T) {
	for _, cfg := range []BreakerOptions{
		{FailureRatio: 1.5},
		{FailureRatio: -0.1},
		{Window: -time.Second},
		{Window: 5},
		{MinCalls: -1},
		{HalfOpenProbes: 2000},
		{HalfOpenProbes: 1, SuccessesToClose: 2},
		{ConsecutiveFailures: -1},
	} {
		if _, err := NewBreaker(cfg); err == nil {
			t.Errorf("NewBreaker(%+v) = nil error, want one", cfg)
		}
	}
}

// Many goroutines through one breaker: run with -race. Probes are counted
// only between Allow and a no-op, so the bound is loose but must hold.
func TestBreakerConcurrent(t *testing.T) {
	clk := newFakeClock()
	b, err := NewBreaker(BreakerOptions{ConsecutiveFailures: 3, OpenDuration: time.Millisecond, HalfOpenProbes: 2, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var inProbe, maxProbe atomic.Int32
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				p, err := b.Allow()
				if err != nil {
					clk.Advance(time.Millisecond)
					continue
				}
				if p.Probe() {
					n := inProbe.Add(1)
					for {
						m := maxProbe.Load()
						if n <= m || maxProbe.CompareAndSwap(m, n) {
							break
						}
					}
					inProbe.Add(-1)
				}
				if (i+g)%3 == 0 {
					p.Done(errBoom)
				} else {
					p.Done(nil)
				}
			}
		})
	}
	wg.Wait()
	if m := maxProbe.Load(); m > 2 {
		t.Errorf("max concurrent probes = %d, want <= 2", m)
	}
	states := []State{StateClosed, StateOpen, StateHalfOpen}
	if s := b.State(); !slices.Contains(states, s) {
		t.Errorf("State() = %v", s)
	}
}

func TestBreakerAllocs(t *testing.T) {
	skipAllocTest(t)
	b, _ := NewBreaker(BreakerOptions{FailureRatio: 0.5})
	ctx := context.Background()
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := b.Do(ctx, func(context.Context) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(nil)
	})
	if allocs != 0 {
		t.Errorf("Breaker success path: %v allocs/op, want 0", allocs)
	}
	// Rejections do not allocate either.
	open, _ := NewBreaker(BreakerOptions{ConsecutiveFailures: 1})
	_ = open.Do(ctx, fail)
	allocs = testing.AllocsPerRun(1000, func() {
		if err := open.Do(ctx, ok); err != ErrOpen {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Breaker rejection: %v allocs/op, want 0", allocs)
	}
}

func BenchmarkBreakerDo(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  BreakerOptions
	}{
		{"consecutive", BreakerOptions{}},
		{"ratio-window", BreakerOptions{FailureRatio: 0.5}}, // reads the clock once per call
	} {
		b.Run(bc.name, func(b *testing.B) {
			br, _ := NewBreaker(bc.cfg)
			ctx := context.Background()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				_ = br.Do(ctx, func(context.Context) error { n++; return nil })
			}
		})
	}
}

func BenchmarkBreakerDoParallel(b *testing.B) {
	br, _ := NewBreaker(BreakerOptions{FailureRatio: 0.5})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_ = br.Do(ctx, ok)
		}
	})
}
