package resilience

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recMetrics records metric calls as text.
type recMetrics struct {
	mu    sync.Mutex
	calls []string
}

func (m *recMetrics) rec(kind, name string, dims []Dim) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := kind + " " + name
	for _, d := range dims {
		s += " " + d.Name + "=" + d.Value
	}
	m.calls = append(m.calls, s)
}
func (m *recMetrics) Count(name string, _ float64, dims ...Dim)         { m.rec("count", name, dims) }
func (m *recMetrics) Gauge(name string, _ float64, _ Unit, dims ...Dim) { m.rec("gauge", name, dims) }
func (m *recMetrics) Observe(name string, _ float64, _ Unit, dims ...Dim) {
	m.rec("observe", name, dims)
}

func TestBreakerAlertsAndMetrics(t *testing.T) {
	var alerts []Alert
	m := &recMetrics{}
	clk := newFakeClock()
	b, err := NewBreaker(BreakerOptions{Name: "snowflake", ConsecutiveFailures: 1, OpenDuration: time.Second, Clock: clk,
		Listeners: []func(StateChange){BreakerAlerts(func(a Alert) { alerts = append(alerts, a) }), BreakerMetrics(m)}})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(context.Background(), fail)
	clk.Advance(time.Second)
	_ = b.Do(context.Background(), ok)
	if len(alerts) != 1 || alerts[0].Kind != AlertBreakerOpen || alerts[0].Source != "snowflake" || !strings.Contains(alerts[0].Message, "consecutive failures") {
		t.Errorf("alerts = %+v, want one breaker-open", alerts)
	}
	want := "count BreakerStateChange Breaker=snowflake State=open|count BreakerStateChange Breaker=snowflake State=half-open|count BreakerStateChange Breaker=snowflake State=closed"
	if got := strings.Join(m.calls, "|"); got != want {
		t.Errorf("metrics = %s, want %s", got, want)
	}
}

func TestRetryMetrics(t *testing.T) {
	m := &recMetrics{}
	r, _ := NewRetry(RetryOptions{MaxAttempts: 3, Clock: newFakeClock(), OnRetry: RetryMetrics(m, "copy")})
	_ = r.Do(context.Background(), func(context.Context) error { return Transient(errBoom) })
	if got := strings.Join(m.calls, "|"); got != "count Retry Operation=copy|count Retry Operation=copy" {
		t.Errorf("metrics = %s", got)
	}
}

type failingSink struct{ err error }

func (s failingSink) Write(context.Context, DeadLetter) error { return s.err }

func TestMonitoredSink(t *testing.T) {
	var alerts []Alert
	m := &recMetrics{}
	inner := &memSink{}
	s, err := NewMonitoredSink(inner, MonitoredSinkOptions{Name: "orders-dlq", Metrics: m, AlertEvery: 3, Clock: newFakeClock(),
		Alert: func(a Alert) { alerts = append(alerts, a) }})
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if err := s.Write(context.Background(), DeadLetter{Reason: "schema", Record: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	var counts []int64
	for _, a := range alerts {
		if a.Kind != AlertDeadLetters || a.Source != "orders-dlq" {
			t.Errorf("alert = %+v", a)
		}
		counts = append(counts, a.Count)
	}
	if len(counts) != 3 || counts[0] != 1 || counts[1] != 4 || counts[2] != 7 || s.Count() != 7 || len(inner.got) != 7 {
		t.Errorf("alert counts = %v, Count() = %d, want [1 4 7] and 7", counts, s.Count())
	}
	if m.calls[0] != "count DeadLetter Sink=orders-dlq Reason=schema" {
		t.Errorf("metric = %q", m.calls[0])
	}
	bad, _ := NewMonitoredSink(failingSink{errors.New("disk full")}, MonitoredSinkOptions{Metrics: m})
	if err := bad.Write(context.Background(), DeadLetter{}); err == nil || bad.Count() != 0 {
		t.Errorf("Write through a failing sink = %v, count %d", err, bad.Count())
	}
	if m.calls[len(m.calls)-1] != "count DeadLetterWriteError Sink=unnamed" {
		t.Errorf("metric = %q", m.calls[len(m.calls)-1])
	}
}

type memSink struct {
	mu  sync.Mutex
	got []DeadLetter
}

func (s *memSink) Write(_ context.Context, d DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Record = append([]byte(nil), d.Record...)
	s.got = append(s.got, d)
	return nil
}

func TestSlogAlerts(t *testing.T) {
	var buf bytes.Buffer
	SlogAlerts(slog.New(slog.NewJSONHandler(&buf, nil)))(Alert{Kind: AlertUnhealthy, Source: "db", Message: "down"})
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["level"] != "ERROR" || rec["kind"] != "health-failed" || rec["source"] != "db" {
		t.Errorf("log = %s (%v)", buf.Bytes(), err)
	}
}
