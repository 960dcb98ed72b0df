package promadapter

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flatpipe/flatpipe/resilience"
)

// Sentinel errors.
var (
	// ErrNoRegisterer is returned by New when Options.Registerer is nil.
	ErrNoRegisterer = errors.New("promadapter: no Registerer")
	// ErrInvalidName is returned by New for a Namespace that is not a
	// Prometheus metric name.
	ErrInvalidName = errors.New("promadapter: invalid name")
	// ErrLabelMismatch is matched by a *LabelError.
	ErrLabelMismatch = errors.New("promadapter: inconsistent label names")
	// ErrNegativeCounter is given to OnError for a negative or NaN
	// counter delta: Prometheus counters only go up.
	ErrNegativeCounter = errors.New("promadapter: negative or NaN counter delta")
)

// LabelError reports a call whose Dim names differ from those the metric
// was registered with, or repeat a name. It matches ErrLabelMismatch. It is
// a plain value.
type LabelError struct {
	Metric     string   // the Prometheus name
	Registered []string // the Dim names of the first call, sorted; nil when the first call itself is invalid
	Got        []string // the Dim names of this call, in call order
}

// Error names the metric and both label sets.
func (e *LabelError) Error() string {
	if e.Registered == nil {
		return fmt.Sprintf("promadapter: metric %s: repeated dim name in %q", e.Metric, e.Got)
	}
	return fmt.Sprintf("promadapter: metric %s registered with dims %q, called with %q", e.Metric, e.Registered, e.Got)
}

// Unwrap returns ErrLabelMismatch.
func (e *LabelError) Unwrap() error { return ErrLabelMismatch }

// Options configures New. Zero fields mean the documented defaults.
type Options struct {
	// Registerer receives the collectors (usually a *prometheus.Registry).
	// Required.
	Registerer prometheus.Registerer
	// Namespace is prepended to every metric name with "_"; empty means
	// none.
	Namespace string
	// Buckets returns the histogram buckets for a metric's first
	// observation, given its Prometheus name and unit (after conversion
	// to seconds). Nil, or a nil result, means prometheus.DefBuckets for
	// seconds and unitless values, and 64 B·4ⁿ (64 B to 16 MiB) for
	// bytes.
	Buckets func(name string, unit resilience.Unit) []float64
	// OnError is called, synchronously and without locks held, for each
	// dropped call. It must be safe for concurrent use. Nil ignores.
	OnError func(error)
}

type kind uint8

const (
	kindCounter kind = iota
	kindGauge
	kindHistogram
)

// key identifies a metric as flatpipe names it.
type key struct {
	kind kind
	name string
	unit resilience.Unit
}

// entry is a registered metric.
type entry struct {
	promName string
	dims     []string // Dim names of the first call, sorted
	scale    float64  // applied to values (ms → s)
	counter  *prometheus.CounterVec
	gauge    *prometheus.GaugeVec
	hist     *prometheus.HistogramVec
}

// Metrics is a resilience.Metrics over a Prometheus Registerer. It is safe
// for concurrent use.
type Metrics struct {
	cfg     Options
	prefix  string
	dropped atomic.Uint64

	mu      sync.RWMutex
	entries map[key]*entry
}

var _ resilience.Metrics = (*Metrics)(nil)

// New checks cfg and returns a Metrics that registers collectors with
// cfg.Registerer as metrics are first used.
func New(cfg Options) (*Metrics, error) {
	if cfg.Registerer == nil {
		return nil, ErrNoRegisterer
	}
	prefix := ""
	if cfg.Namespace != "" {
		if !validName(cfg.Namespace) {
			return nil, fmt.Errorf("%w: namespace %q", ErrInvalidName, cfg.Namespace)
		}
		prefix = cfg.Namespace + "_"
	}
	return &Metrics{cfg: cfg, prefix: prefix, entries: make(map[key]*entry)}, nil
}

// Dropped returns the number of calls dropped so far (see the package
// documentation).
func (m *Metrics) Dropped() uint64 { return m.dropped.Load() }

// Count adds delta to the counter name. A negative or NaN delta is
// dropped.
func (m *Metrics) Count(name string, delta float64, dims ...resilience.Dim) {
	if delta < 0 || math.IsNaN(delta) {
		m.drop(fmt.Errorf("%w: %s %v", ErrNegativeCounter, name, delta))
		return
	}
	m.record(key{kindCounter, name, resilience.UnitCount}, delta, dims)
}

// Gauge sets the gauge name to value.
func (m *Metrics) Gauge(name string, value float64, unit resilience.Unit, dims ...resilience.Dim) {
	m.record(key{kindGauge, name, unit}, value, dims)
}

// Observe records value in the histogram name.
func (m *Metrics) Observe(name string, value float64, unit resilience.Unit, dims ...resilience.Dim) {
	m.record(key{kindHistogram, name, unit}, value, dims)
}

func (m *Metrics) drop(err error) {
	m.dropped.Add(1)
	if m.cfg.OnError != nil {
		m.cfg.OnError(err)
	}
}

func (m *Metrics) record(k key, v float64, dims []resilience.Dim) {
	m.mu.RLock()
	e := m.entries[k]
	m.mu.RUnlock()
	if e == nil {
		var err error
		if e, err = m.register(k, dims); err != nil {
			m.drop(err)
			return
		}
	}
	var buf [8]string
	vals := buf[:0]
	if len(dims) > len(buf) {
		vals = make([]string, 0, len(dims))
	}
	vals, ok := e.labelValues(vals, dims)
	if !ok {
		m.drop(&LabelError{Metric: e.promName, Registered: slices.Clone(e.dims), Got: dimNames(dims)})
		return
	}
	v *= e.scale
	var err error
	switch k.kind {
	case kindCounter:
		var c prometheus.Counter
		if c, err = e.counter.GetMetricWithLabelValues(vals...); err == nil {
			c.Add(v)
		}
	case kindGauge:
		var g prometheus.Gauge
		if g, err = e.gauge.GetMetricWithLabelValues(vals...); err == nil {
			g.Set(v)
		}
	case kindHistogram:
		var o prometheus.Observer
		if o, err = e.hist.GetMetricWithLabelValues(vals...); err == nil {
			o.Observe(v)
		}
	}
	if err != nil {
		m.drop(fmt.Errorf("promadapter: metric %s: %w", e.promName, err))
	}
}

// labelValues appends the values of dims in the order of e.dims and reports
// whether dims has exactly e's names.
func (e *entry) labelValues(dst []string, dims []resilience.Dim) ([]string, bool) {
	if len(dims) != len(e.dims) {
		return dst, false
	}
	for i, name := range e.dims {
		if dims[i].Name == name { // the common case: dims in sorted order
			dst = append(dst, dims[i].Value)
			continue
		}
		j := slices.IndexFunc(dims, func(d resilience.Dim) bool { return d.Name == name })
		if j < 0 {
			return dst, false
		}
		dst = append(dst, dims[j].Value)
	}
	// len(dims) == len(e.dims), e.dims are distinct and all were found,
	// so dims is a permutation of them.
	return dst, true
}

func (m *Metrics) register(k key, dims []resilience.Dim) (*entry, error) {
	names := dimNames(dims)
	slices.Sort(names)
	promName, unit, scale := m.promName(k)
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		return nil, &LabelError{Metric: promName, Got: dimNames(dims)}
	}
	labels := make([]string, len(names))
	for i, n := range names {
		labels[i] = snake(n)
	}
	if len(slices.Compact(slices.Clone(labels))) != len(labels) {
		return nil, fmt.Errorf("%w: metric %s: dims %q give repeated label names %q", ErrInvalidName, promName, names, labels)
	}
	help := fmt.Sprintf("flatpipe %s %s (resilience.Metrics).", kindName(k.kind), k.name)
	e := &entry{promName: promName, dims: names, scale: scale}
	var c prometheus.Collector
	switch k.kind {
	case kindCounter:
		e.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName, Help: help}, labels)
		c = e.counter
	case kindGauge:
		e.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: promName, Help: help}, labels)
		c = e.gauge
	case kindHistogram:
		var b []float64
		if m.cfg.Buckets != nil {
			b = m.cfg.Buckets(promName, unit)
		}
		if b == nil {
			b = defaultBuckets(unit)
		}
		e.hist = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: promName, Help: help, Buckets: b}, labels)
		c = e.hist
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.entries[k]; old != nil { // registered by a concurrent call
		return old, nil
	}
	if err := m.cfg.Registerer.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("promadapter: register %s: %w", promName, err)
		}
		var ok bool
		switch k.kind {
		case kindCounter:
			e.counter, ok = are.ExistingCollector.(*prometheus.CounterVec)
		case kindGauge:
			e.gauge, ok = are.ExistingCollector.(*prometheus.GaugeVec)
		case kindHistogram:
			e.hist, ok = are.ExistingCollector.(*prometheus.HistogramVec)
		}
		if !ok {
			return nil, fmt.Errorf("promadapter: register %s: already registered as %T: %w", promName, are.ExistingCollector, err)
		}
	}
	m.entries[k] = e
	return e, nil
}

func kindName(k kind) string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	}
	return "histogram"
}

func dimNames(dims []resilience.Dim) []string {
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = d.Name
	}
	return names
}

// promName returns the Prometheus name of k, the unit after conversion and
// the factor converting values to it.
func (m *Metrics) promName(k key) (string, resilience.Unit, float64) {
	unit, scale := k.unit, 1.0
	switch unit {
	case resilience.UnitMilliseconds:
		unit, scale = resilience.UnitSeconds, 1e-3
	case resilience.UnitMicroseconds:
		unit, scale = resilience.UnitSeconds, 1e-6
	}
	name := m.prefix + snake(k.name)
	for _, suffix := range []string{unitSuffix(unit), counterSuffix(k.kind)} {
		if suffix != "" && !strings.HasSuffix(name, suffix) {
			name += suffix
		}
	}
	return name, unit, scale
}

func counterSuffix(k kind) string {
	if k == kindCounter {
		return "_total"
	}
	return ""
}

func unitSuffix(u resilience.Unit) string {
	switch u {
	case resilience.UnitSeconds:
		return "_seconds"
	case resilience.UnitBytes:
		return "_bytes"
	case resilience.UnitBytesPerSecond:
		return "_bytes_per_second"
	case resilience.UnitCountPerSecond:
		return "_per_second"
	case resilience.UnitPercent:
		return "_percent"
	}
	return ""
}

func defaultBuckets(u resilience.Unit) []float64 {
	if u == resilience.UnitBytes {
		return prometheus.ExponentialBuckets(64, 4, 10)
	}
	return prometheus.DefBuckets
}

// snake turns a CamelCase name into snake_case and replaces characters that
// are not allowed in Prometheus names with "_": "BreakerStateChange" →
// "breaker_state_change", "HTTPCheck" → "http_check", "p99-ms" → "p99_ms".
// A leading digit gets a "_" before it.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prev := rs[i-1]
			prevLowerOrDigit := (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')
			nextLower := i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z'
			prevUpper := prev >= 'A' && prev <= 'Z'
			if prevLowerOrDigit || (prevUpper && nextLower) {
				b.WriteByte('_')
			}
		}
		switch {
		case upper:
			b.WriteRune(r + ('a' - 'A'))
		case r >= 'a' && r <= 'z', r == '_', r == ':':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// validName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == ':':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
