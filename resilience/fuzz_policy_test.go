package resilience

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzBreaker drives a breaker with an arbitrary sequence of calls, results
// and clock moves, and checks its invariants: transitions follow the state
// machine, at most HalfOpenProbes probes are out at once, nothing passes
// while open, and ConsecutiveFailures failures in a row while closed open it.
func FuzzBreaker(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 2, 9, 0, 0, 3, 0, 1}, uint8(3), uint8(2))
	f.Add([]byte{1, 1, 1, 1, 1, 8, 0, 0, 0, 7, 0, 2, 2}, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, ops []byte, threshold, probes uint8) {
		threshold, probes = threshold%5+1, probes%3+1
		clk := newFakeClock()
		const open, probeTimeout = 10 * time.Second, 4 * time.Second
		var changes []StateChange
		b, err := NewBreaker(BreakerOptions{ConsecutiveFailures: int(threshold), OpenDuration: open,
			HalfOpenProbes: int(probes), ProbeTimeout: probeTimeout, Clock: clk,
			Listeners: []func(StateChange){func(c StateChange) { changes = append(changes, c) }}})
		if err != nil {
			t.Fatal(err)
		}
		var outstanding []Permit
		var openedAt time.Time
		isOpen := false
		run := 0 // failures in a row reported while closed
		for _, op := range ops {
			before := len(changes)
			switch op % 10 {
			case 0, 1, 2, 3, 4: // a call: allow and keep the permit
				stateBefore := b.State()
				p, err := b.Allow()
				if err == nil {
					if isOpen && clk.Now().Before(openedAt.Add(open)) {
						t.Fatalf("Allow() passed %v after opening, before OpenDuration", clk.Now().Sub(openedAt))
					}
					outstanding = append(outstanding, p)
				} else if stateBefore == StateClosed && len(changes) == before {
					t.Fatal("Allow() rejected in closed state")
				}
			case 5, 6, 7: // finish the oldest call
				if len(outstanding) == 0 {
					continue
				}
				p := outstanding[0]
				outstanding = outstanding[1:]
				var res error
				if op%10 != 5 {
					res = errBoom
				}
				closedBefore := b.State() == StateClosed && p.gen == b.gen
				p.Done(res)
				if closedBefore {
					if res != nil {
						run++
					} else {
						run = 0
					}
					if run >= int(threshold) && b.State() == StateClosed {
						t.Fatalf("%d failures in a row (threshold %d) left the breaker closed", run, threshold)
					}
				}
			case 8:
				clk.Advance(time.Second * time.Duration(op/10+1))
			case 9:
				clk.Advance(open)
			}
			for _, c := range changes[before:] {
				if c.To == StateOpen {
					isOpen, openedAt = true, c.At
				} else {
					isOpen = false
				}
				if c.To == StateClosed || c.To == StateOpen {
					run = 0
				}
			}
			// Probes out in the current generation stay within the bound.
			b.mu.Lock()
			n := 0
			for _, p := range outstanding {
				if p.gen == b.gen && p.slot >= 0 {
					n++
				}
			}
			state := b.state
			b.mu.Unlock()
			if n > int(probes) {
				t.Fatalf("%d probes out, at most %d allowed", n, probes)
			}
			if state != StateHalfOpen && n > 0 {
				t.Fatalf("%d probe permits of the current generation in state %v", n, state)
			}
		}
		valid := map[[2]State]bool{
			{StateClosed, StateOpen}: true, {StateOpen, StateHalfOpen}: true,
			{StateHalfOpen, StateOpen}: true, {StateHalfOpen, StateClosed}: true,
		}
		prev := StateClosed
		for _, c := range changes {
			if c.From != prev || !valid[[2]State{c.From, c.To}] {
				t.Fatalf("invalid transition %v -> %v after %v", c.From, c.To, prev)
			}
			prev = c.To
		}
	})
}

// FuzzRetry runs Retry with arbitrary limits against an operation failing
// in an arbitrary pattern, and checks the bounds: attempts <= MaxAttempts,
// every wait <= MaxDelay, waits end within MaxElapsed, and a success is
// returned as nil.
func FuzzRetry(f *testing.F) {
	f.Add(uint8(3), uint16(100), uint16(1000), uint16(0), []byte{1, 1, 0})
	f.Add(uint8(10), uint16(1), uint16(5), uint16(20), []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, attempts uint8, baseMS, maxMS, elapsedMS uint16, pattern []byte) {
		base := time.Duration(baseMS%1000+1) * time.Millisecond
		maxDelay := base + time.Duration(maxMS)*time.Millisecond
		elapsed := time.Duration(elapsedMS) * time.Millisecond
		clk := newFakeClock()
		r, err := NewRetry(RetryOptions{MaxAttempts: int(attempts%12) + 1, BaseDelay: base, MaxDelay: maxDelay, MaxElapsed: elapsed, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		start := clk.Now()
		calls := 0
		err = r.Do(context.Background(), func(context.Context) error {
			calls++
			if calls > len(pattern) || pattern[calls-1]%3 == 0 {
				return nil
			}
			if pattern[calls-1]%3 == 1 {
				return Transient(errBoom)
			}
			return errBoom // not retryable
		})
		if calls > int(attempts%12)+1 {
			t.Fatalf("%d calls, MaxAttempts %d", calls, attempts%12+1)
		}
		for _, s := range clk.Sleeps() {
			if s < 0 || s > maxDelay {
				t.Fatalf("wait %v outside [0, %v]", s, maxDelay)
			}
		}
		if elapsed > 0 && clk.Now().Sub(start) > elapsed {
			t.Fatalf("waited %v in total, MaxElapsed %v", clk.Now().Sub(start), elapsed)
		}
		lastOK := calls > len(pattern) || pattern[calls-1]%3 == 0
		if lastOK != (err == nil) {
			t.Fatalf("Do() = %v after %d calls, last call ok: %v", err, calls, lastOK)
		}
		if err != nil && !errors.Is(err, errBoom) {
			t.Fatalf("Do() = %v does not wrap the operation's error", err)
		}
	})
}
