package resilience

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// AlertKind says what an Alert is about.
type AlertKind string

// The alert kinds.
const (
	AlertBreakerOpen AlertKind = "breaker-open"  // a circuit breaker opened
	AlertDeadLetters AlertKind = "dead-letters"  // dead letters are accumulating
	AlertUnhealthy   AlertKind = "health-failed" // a health run failed
)

// Alert is passed to an AlertFunc.
type Alert struct {
	Kind AlertKind
	// Source names what raised it: the breaker, the sink, the failing
	// checks.
	Source  string
	Message string
	Time    time.Time
	// Count is the number of dead letters so far for AlertDeadLetters, else 0.
	Count int64
}

// AlertFunc receives alerts: the "log & alert" hook. It is called
// synchronously from the goroutine that raised the alert, so it must be
// quick and safe for concurrent use; hand slow deliveries (SNS, a pager) to
// a goroutine of your own.
type AlertFunc func(Alert)

// SlogAlerts returns an AlertFunc that logs each alert at Error level.
func SlogAlerts(logger *slog.Logger) AlertFunc {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(a Alert) {
		logger.LogAttrs(context.Background(), slog.LevelError, "alert",
			slog.String("kind", string(a.Kind)), slog.String("source", a.Source),
			slog.String("message", a.Message), slog.Time("at", a.Time), slog.Int64("count", a.Count))
	}
}

// BreakerAlerts returns a breaker listener that raises AlertBreakerOpen each
// time the breaker opens.
func BreakerAlerts(alert AlertFunc) func(StateChange) {
	return func(c StateChange) {
		if c.To == StateOpen && alert != nil {
			alert(Alert{Kind: AlertBreakerOpen, Source: c.Name, Time: c.At,
				Message: "circuit breaker " + strconv.Quote(c.Name) + " opened: " + c.Reason})
		}
	}
}

// BreakerMetrics returns a breaker listener that counts state changes as
// "BreakerStateChange" with dimensions Breaker and State (the new state).
func BreakerMetrics(m Metrics) func(StateChange) {
	return func(c StateChange) {
		m.Count("BreakerStateChange", 1, Dim{"Breaker", nameOr(c.Name)}, Dim{"State", c.To.String()})
	}
}

// RetryMetrics returns a RetryOptions.OnRetry hook that counts retries as
// "Retry" with dimension Operation=op.
func RetryMetrics(m Metrics, op string) func(RetryEvent) {
	return func(RetryEvent) { m.Count("Retry", 1, Dim{"Operation", nameOr(op)}) }
}

func nameOr(s string) string {
	if s == "" {
		return "unnamed"
	}
	return s
}

// MonitoredSinkOptions configures a MonitoredSink.
type MonitoredSinkOptions struct {
	// Name identifies the sink in alerts and in the Sink dimension.
	Name string
	// Metrics receives "DeadLetter" counts (dimensions Sink, Reason) and
	// "DeadLetterWriteError"; nil means NopMetrics.
	Metrics Metrics
	// Alert, if not nil, is raised on the first dead letter and then every
	// AlertEvery more.
	Alert AlertFunc
	// AlertEvery is the growth that raises another alert; 0 means 100.
	AlertEvery int64
	// Clock stamps alerts; nil means SystemClock.
	Clock Clock
}

// MonitoredSink wraps a DeadLetterSink with metrics and growth alerts. It is
// safe for concurrent use if the wrapped sink is.
type MonitoredSink struct {
	sink  DeadLetterSink
	opts  MonitoredSinkOptions
	mu    sync.Mutex
	count int64
}

// NewMonitoredSink wraps sink.
func NewMonitoredSink(sink DeadLetterSink, opts MonitoredSinkOptions) (*MonitoredSink, error) {
	if sink == nil {
		return nil, fmt.Errorf("%w: nil dead-letter sink", ErrOptions)
	}
	if opts.AlertEvery < 0 {
		return nil, fmt.Errorf("%w: negative AlertEvery", ErrOptions)
	}
	opts.AlertEvery = cmp0(opts.AlertEvery, 100)
	opts.Name = nameOr(opts.Name)
	if opts.Metrics == nil {
		opts.Metrics = NopMetrics{}
	}
	opts.Clock = clockOrSystem(opts.Clock)
	return &MonitoredSink{sink: sink, opts: opts}, nil
}

// Write passes d to the wrapped sink, then counts it and raises an alert
// when the count reaches 1, 1+AlertEvery, 1+2×AlertEvery, ...
func (s *MonitoredSink) Write(ctx context.Context, d DeadLetter) error {
	if err := s.sink.Write(ctx, d); err != nil {
		s.opts.Metrics.Count("DeadLetterWriteError", 1, Dim{"Sink", s.opts.Name})
		return err
	}
	s.opts.Metrics.Count("DeadLetter", 1, Dim{"Sink", s.opts.Name}, Dim{"Reason", nameOr(d.Reason)})
	s.mu.Lock()
	s.count++
	n := s.count
	s.mu.Unlock()
	if s.opts.Alert != nil && (n-1)%s.opts.AlertEvery == 0 {
		s.opts.Alert(Alert{Kind: AlertDeadLetters, Source: s.opts.Name, Count: n, Time: s.opts.Clock.Now(),
			Message: strconv.FormatInt(n, 10) + " dead letters in " + strconv.Quote(s.opts.Name) + ", latest: " + d.Reason})
	}
	return nil
}

// Count returns the number of dead letters written through s.
func (s *MonitoredSink) Count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}
