package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// ErrOpen is returned by a Breaker that rejects a call: open, or half-open
// with all probe slots taken. Retry.Do never retries it.
var ErrOpen = errors.New("resilience: circuit breaker open")

// State is a circuit breaker state.
type State uint8

// The breaker states.
const (
	StateClosed   State = iota // calls pass; failures are counted
	StateOpen                  // calls are rejected with ErrOpen
	StateHalfOpen              // a bounded number of probe calls pass
)

// Outcome is how a Breaker counts a call's result.
type Outcome uint8

// The outcomes.
const (
	Success Outcome = iota // counts as a success
	Failure                // counts as a failure
	Ignore                 // counts as nothing (e.g. the caller cancelled)
)

// DefaultOutcome is the default BreakerOptions.Classify: nil is Success,
// context.Canceled and ErrOpen (of a nested breaker) are Ignore, everything
// else is Failure.
func DefaultOutcome(err error) Outcome {
	switch {
	case err == nil:
		return Success
	case errors.Is(err, context.Canceled), errors.Is(err, ErrOpen):
		return Ignore
	}
	return Failure
}

// StateChange is passed to breaker listeners.
type StateChange struct {
	Name     string
	From, To State
	At       time.Time
	// Reason says why: "consecutive failures", "failure ratio", "probe
	// failed", "probe timed out", "open duration elapsed", "probes
	// succeeded", "reset".
	Reason string
}

// BreakerOptions configures a Breaker. The zero value is usable: open after 5
// consecutive failures, stay open 30 s, then admit 1 probe with a 30 s probe
// timeout.
type BreakerOptions struct {
	// Name identifies the breaker in StateChange events and alerts.
	Name string
	// ConsecutiveFailures trips the breaker after this many failures in a
	// row; 0 means 5, a negative value disables this rule.
	ConsecutiveFailures int
	// FailureRatio, when > 0, also trips the breaker when, over Window, at
	// least MinCalls calls were counted and failures/calls >= FailureRatio.
	FailureRatio float64
	// Window is the rolling window of the ratio rule, kept in 10 buckets; 0
	// means 60 s.
	Window time.Duration
	// MinCalls is the minimum number of calls in Window before the ratio
	// rule applies; 0 means 20.
	MinCalls int
	// OpenDuration is how long the breaker stays open before it lets
	// probes through; 0 means 30 s.
	OpenDuration time.Duration
	// HalfOpenProbes is the number of probes admitted at once in half-open
	// state; 0 means 1.
	HalfOpenProbes int
	// SuccessesToClose is the number of successful probes that close the
	// breaker; 0 means HalfOpenProbes.
	SuccessesToClose int
	// ProbeTimeout bounds a probe: Do runs probes under a context with this
	// timeout, and a probe that has not reported after it counts as failed
	// (the breaker opens again) so a hung call cannot hold the breaker
	// half-open. 0 means OpenDuration.
	ProbeTimeout time.Duration
	// Classify maps a call's error to an Outcome; nil means DefaultOutcome.
	Classify func(error) Outcome
	// Listeners are called after every state change, outside the breaker's
	// lock, from the goroutine that caused it. Concurrent changes may
	// reach a listener in any order; StateChange.At orders them. Listeners
	// must not block.
	Listeners []func(StateChange)
	// Clock is the time source; nil means SystemClock.
	Clock Clock
}

const windowBuckets = 10

type probeSlot struct {
	busy  bool
	start time.Time
}

type bucket struct {
	idx             int64
	calls, failures int64
}

// Breaker is a circuit breaker: closed, open, half-open, with a
// consecutive-failure rule, an optional failure-ratio rule over a rolling
// window, bounded half-open probes and a probe timeout. It is safe for
// concurrent use. Allow, Permit.Done and Do do not allocate, except that Do
// runs half-open probes under a context with a timeout.
type Breaker struct {
	name         string
	consecutiveN int
	ratio        float64
	bucketDur    int64
	minCalls     int64
	openDur      time.Duration
	successesN   int
	probeTimeout time.Duration
	classify     func(error) Outcome
	listeners    []func(StateChange)
	clock        Clock

	mu          sync.Mutex
	state       State
	gen         uint64
	openedUntil time.Time
	consecutive int
	buckets     [windowBuckets]bucket
	probes      []probeSlot
	successes   int
}

// NewBreaker checks opts, fills in its defaults and returns a closed Breaker.
func NewBreaker(opts BreakerOptions) (*Breaker, error) {
	switch {
	case opts.FailureRatio < 0 || opts.FailureRatio > 1 || math.IsNaN(opts.FailureRatio):
		return nil, fmt.Errorf("%w: FailureRatio %v not in [0, 1]", ErrOptions, opts.FailureRatio)
	case opts.Window < 0, opts.OpenDuration < 0, opts.ProbeTimeout < 0:
		return nil, fmt.Errorf("%w: negative duration in BreakerOptions", ErrOptions)
	case opts.MinCalls < 0, opts.HalfOpenProbes < 0, opts.SuccessesToClose < 0:
		return nil, fmt.Errorf("%w: negative count in BreakerOptions", ErrOptions)
	case opts.HalfOpenProbes > 1024:
		return nil, fmt.Errorf("%w: HalfOpenProbes %d > 1024", ErrOptions, opts.HalfOpenProbes)
	}
	window := cmp0(opts.Window, 60*time.Second)
	if window < windowBuckets {
		return nil, fmt.Errorf("%w: Window %v too short", ErrOptions, window)
	}
	probes := cmp0(opts.HalfOpenProbes, 1)
	b := &Breaker{
		name:         opts.Name,
		consecutiveN: cmp0(opts.ConsecutiveFailures, 5),
		ratio:        opts.FailureRatio,
		bucketDur:    int64(window / windowBuckets),
		minCalls:     int64(cmp0(opts.MinCalls, 20)),
		openDur:      cmp0(opts.OpenDuration, 30*time.Second),
		successesN:   cmp0(opts.SuccessesToClose, probes),
		classify:     opts.Classify,
		listeners:    slices.Clone(opts.Listeners),
		clock:        clockOrSystem(opts.Clock),
		probes:       make([]probeSlot, probes),
	}
	if b.consecutiveN < 0 && b.ratio == 0 {
		return nil, fmt.Errorf("%w: breaker has no trip rule (ConsecutiveFailures < 0 and no FailureRatio)", ErrOptions)
	}
	b.probeTimeout = cmp0(opts.ProbeTimeout, b.openDur)
	if b.classify == nil {
		b.classify = DefaultOutcome
	}
	if b.successesN > probes {
		return nil, fmt.Errorf("%w: SuccessesToClose %d > HalfOpenProbes %d", ErrOptions, b.successesN, probes)
	}
	return b, nil
}

// Name returns the configured name.
func (b *Breaker) Name() string { return b.name }

// Permit is the right to make one call through a Breaker, returned by Allow.
// Report the call's result with Done exactly once. A Permit is a small value;
// it is not safe for concurrent use.
type Permit struct {
	b    *Breaker
	gen  uint64
	slot int32 // probe slot, -1 when not a probe
}

// Probe reports whether the permit is a half-open probe.
func (p Permit) Probe() bool { return p.slot >= 0 }

// Allow asks for a permit. It returns ErrOpen when the breaker is open, or
// half-open with every probe slot taken.
func (b *Breaker) Allow() (Permit, error) {
	b.mu.Lock()
	if b.state == StateClosed { // the common case needs no clock reading
		p := Permit{b: b, gen: b.gen, slot: -1}
		b.mu.Unlock()
		return p, nil
	}
	b.mu.Unlock()
	now := b.clock.Now()
	b.mu.Lock()
	ch, changed := b.advance(now)
	var p Permit
	err := ErrOpen
	switch b.state {
	case StateClosed:
		p, err = Permit{b: b, gen: b.gen, slot: -1}, nil
	case StateHalfOpen:
		for i := range b.probes {
			if !b.probes[i].busy {
				b.probes[i] = probeSlot{busy: true, start: now}
				p, err = Permit{b: b, gen: b.gen, slot: int32(i)}, nil
				break
			}
		}
	}
	b.mu.Unlock()
	if changed {
		b.notify(ch)
	}
	return p, err
}

// advance applies the transitions that time alone causes. b.mu is held.
func (b *Breaker) advance(now time.Time) (StateChange, bool) {
	switch b.state {
	case StateOpen:
		if !now.Before(b.openedUntil) {
			return b.transition(now, StateHalfOpen, "open duration elapsed"), true
		}
	case StateHalfOpen:
		for _, ps := range b.probes {
			if ps.busy && now.Sub(ps.start) >= b.probeTimeout {
				return b.transition(now, StateOpen, "probe timed out"), true
			}
		}
	}
	return StateChange{}, false
}

// transition moves to state to and resets per-state data. b.mu is held.
func (b *Breaker) transition(now time.Time, to State, reason string) StateChange {
	ch := StateChange{Name: b.name, From: b.state, To: to, At: now, Reason: reason}
	b.state = to
	b.gen++
	b.consecutive = 0
	b.successes = 0
	clear(b.probes)
	switch to {
	case StateOpen:
		b.openedUntil = now.Add(b.openDur)
	case StateClosed:
		b.buckets = [windowBuckets]bucket{}
	}
	return ch
}

func (b *Breaker) notify(ch StateChange) {
	for _, l := range b.listeners {
		l(ch)
	}
}

// Done reports the result of the call made with p. Results of permits from
// before a state change are ignored.
func (p Permit) Done(err error) {
	b := p.b
	if b == nil {
		return
	}
	outcome := b.classify(err)
	// Reading the clock costs more than the rest of the call on some VMs;
	// a success in closed state needs it only for the ratio window.
	var now time.Time
	if outcome == Failure || p.slot >= 0 || (b.ratio > 0 && outcome == Success) {
		now = b.clock.Now()
	}
	b.mu.Lock()
	ch, changed := b.record(p, outcome, now)
	b.mu.Unlock()
	if changed {
		b.notify(ch)
	}
}

func (b *Breaker) record(p Permit, outcome Outcome, now time.Time) (StateChange, bool) {
	if p.gen != b.gen {
		return StateChange{}, false
	}
	switch b.state {
	case StateHalfOpen:
		if p.slot < 0 || int(p.slot) >= len(b.probes) {
			return StateChange{}, false
		}
		b.probes[p.slot] = probeSlot{}
		switch outcome {
		case Failure:
			return b.transition(now, StateOpen, "probe failed"), true
		case Success:
			b.successes++
			if b.successes >= b.successesN {
				return b.transition(now, StateClosed, "probes succeeded"), true
			}
		}
	case StateClosed:
		if outcome == Ignore {
			return StateChange{}, false
		}
		var bk *bucket
		var idx int64
		if b.ratio > 0 {
			idx = now.UnixNano() / b.bucketDur
			bk = &b.buckets[uint64(idx)%windowBuckets]
			if bk.idx != idx {
				*bk = bucket{idx: idx}
			}
			bk.calls++
		}
		if outcome == Success {
			b.consecutive = 0
			return StateChange{}, false
		}
		b.consecutive++
		if bk != nil {
			bk.failures++
		}
		if b.consecutiveN > 0 && b.consecutive >= b.consecutiveN {
			return b.transition(now, StateOpen, "consecutive failures"), true
		}
		if b.ratio > 0 {
			calls, failures := b.windowCounts(idx)
			if calls >= b.minCalls && float64(failures) >= b.ratio*float64(calls) {
				return b.transition(now, StateOpen, "failure ratio"), true
			}
		}
	}
	return StateChange{}, false
}

func (b *Breaker) windowCounts(idx int64) (calls, failures int64) {
	for _, bk := range b.buckets {
		if bk.idx > idx-windowBuckets && bk.idx <= idx {
			calls += bk.calls
			failures += bk.failures
		}
	}
	return calls, failures
}

// Do runs fn if the breaker allows it and records the result. It returns
// ErrOpen without calling fn when the breaker rejects the call. A probe runs
// under a context with ProbeTimeout. If ctx was cancelled when fn fails, the
// result is ignored. A panic in fn propagates unrecorded (a probe's slot is
// reclaimed after ProbeTimeout); Policy with Recover turns it into a counted
// failure.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	p, err := b.Allow()
	if err != nil {
		return err
	}
	if p.slot >= 0 {
		err = WithTimeout(ctx, b.probeTimeout, fn)
	} else {
		err = fn(ctx)
	}
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		p.b.mu.Lock()
		if p.gen == b.gen && p.slot >= 0 && int(p.slot) < len(b.probes) {
			b.probes[p.slot] = probeSlot{}
		}
		p.b.mu.Unlock()
		return err
	}
	p.Done(err)
	return err
}

// State returns the current state, applying the transitions that time alone
// causes (open → half-open, hung probe → open).
func (b *Breaker) State() State {
	now := b.clock.Now()
	b.mu.Lock()
	ch, changed := b.advance(now)
	s := b.state
	b.mu.Unlock()
	if changed {
		b.notify(ch)
	}
	return s
}

// BreakerCounts is a snapshot of a Breaker's counters.
type BreakerCounts struct {
	State               State
	ConsecutiveFailures int
	WindowCalls         int64 // calls in the rolling window (closed state, FailureRatio > 0)
	WindowFailures      int64
	ProbesInFlight      int
}

// Counts returns a snapshot of the counters.
func (b *Breaker) Counts() BreakerCounts {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := BreakerCounts{State: b.state, ConsecutiveFailures: b.consecutive}
	c.WindowCalls, c.WindowFailures = b.windowCounts(now.UnixNano() / b.bucketDur)
	for _, ps := range b.probes {
		if ps.busy {
			c.ProbesInFlight++
		}
	}
	return c
}

// Reset closes the breaker and clears its counters.
func (b *Breaker) Reset() {
	now := b.clock.Now()
	b.mu.Lock()
	ch := b.transition(now, StateClosed, "reset")
	b.mu.Unlock()
	b.notify(ch)
}
