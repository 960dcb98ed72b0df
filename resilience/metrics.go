package resilience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units accepted by CloudWatch (a subset).
const (
	UnitNone           Unit = "None"
	UnitCount          Unit = "Count"
	UnitPercent        Unit = "Percent"
	UnitSeconds        Unit = "Seconds"
	UnitMilliseconds   Unit = "Milliseconds"
	UnitMicroseconds   Unit = "Microseconds"
	UnitBytes          Unit = "Bytes"
	UnitBytesPerSecond Unit = "Bytes/Second"
	UnitCountPerSecond Unit = "Count/Second"
)

// Dim is a metric dimension. Keep values low-cardinality (pipeline, stage,
// table); object keys and request ids belong in logs, not in dimensions.
type Dim struct{ Name, Value string }

// Metrics records counters, gauges and histograms with dimensions. The
// library packages accept it (or a subset) and default to NopMetrics.
// Implementations must be safe for concurrent use and must not keep dims
// after the call.
type Metrics interface {
	// Count adds delta to a counter.
	Count(name string, delta float64, dims ...Dim)
	// Gauge sets a gauge to value.
	Gauge(name string, value float64, unit Unit, dims ...Dim)
	// Observe records one value of a distribution (a latency, a size).
	Observe(name string, value float64, unit Unit, dims ...Dim)
}

// NopMetrics discards everything. Its zero value is ready and safe for
// concurrent use.
type NopMetrics struct{}

// Count does nothing.
func (NopMetrics) Count(string, float64, ...Dim) {}

// Gauge does nothing.
func (NopMetrics) Gauge(string, float64, Unit, ...Dim) {}

// Observe does nothing.
func (NopMetrics) Observe(string, float64, Unit, ...Dim) {}

// SlogMetrics writes every metric as a log record with the message "metric"
// and the attributes kind, name, value, unit and dims. It is safe for
// concurrent use.
type SlogMetrics struct {
	logger *slog.Logger
	level  slog.Level
}

// NewSlogMetrics logs to logger at level. A nil logger discards.
func NewSlogMetrics(logger *slog.Logger, level slog.Level) *SlogMetrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SlogMetrics{logger: logger, level: level}
}

func (m *SlogMetrics) log(kind, name string, v float64, unit Unit, dims []Dim) {
	ctx := context.Background()
	if !m.logger.Enabled(ctx, m.level) {
		return
	}
	attrs := make([]any, 0, len(dims))
	for _, d := range dims {
		attrs = append(attrs, slog.String(d.Name, d.Value))
	}
	m.logger.Log(ctx, m.level, "metric", slog.String("kind", kind), slog.String("name", name),
		slog.Float64("value", v), slog.String("unit", string(unit)), slog.Group("dims", attrs...))
}

// Count logs a counter increment.
func (m *SlogMetrics) Count(name string, delta float64, dims ...Dim) {
	m.log("counter", name, delta, UnitCount, dims)
}

// Gauge logs a gauge value.
func (m *SlogMetrics) Gauge(name string, value float64, unit Unit, dims ...Dim) {
	m.log("gauge", name, value, unit, dims)
}

// Observe logs a histogram observation.
func (m *SlogMetrics) Observe(name string, value float64, unit Unit, dims ...Dim) {
	m.log("histogram", name, value, unit, dims)
}

// EMF limits (CloudWatch Embedded Metric Format).
const (
	emfMaxMetrics = 100 // metrics per directive
	emfMaxValues  = 100 // values per metric per line
	emfMaxDims    = 9   // dimensions per set (the older, stricter limit)
)

// EMFOptions configures an EMF writer.
type EMFOptions struct {
	// W receives the lines (os.Stdout in AWS Lambda). Required.
	W io.Writer
	// Namespace of all metrics. Required.
	Namespace string
	// Dims are added to every metric (e.g. Pipeline=orders); they count
	// towards the limit of 9 dimensions.
	Dims []Dim
	// Properties are extra root members, searchable in CloudWatch Logs
	// Insights but not dimensions (a function name, a job id).
	Properties map[string]string
	// Clock stamps each flush; nil means SystemClock.
	Clock Clock
}

type emfMetric struct {
	kind   uint8 // 0 counter, 1 gauge, 2 histogram
	unit   Unit
	sum    float64
	values []float64
}

type emfGroup struct {
	dims    []Dim
	names   []string
	metrics map[string]*emfMetric
}

// EMF aggregates metrics in memory and writes them in CloudWatch Embedded
// Metric Format on Flush: per set of dimension values, one JSON line (more
// only when a limit of 100 metrics or 100 values per line requires it).
// Counters are summed, gauges keep the last value, histograms keep every
// value. No AWS API is called: in Lambda, CloudWatch Logs extracts the
// metrics from stdout. It is safe for concurrent use.
type EMF struct {
	w          io.Writer
	namespace  string
	dims       []Dim
	properties map[string]string
	clock      Clock

	mu      sync.Mutex
	groups  map[string]*emfGroup
	order   []string
	dropped []string
}

// NewEMF checks opts and returns an EMF writer.
func NewEMF(opts EMFOptions) (*EMF, error) {
	if opts.W == nil || opts.Namespace == "" {
		return nil, fmt.Errorf("%w: EMF needs a writer and a namespace", ErrOptions)
	}
	if len(opts.Dims) > emfMaxDims {
		return nil, fmt.Errorf("%w: %d EMF dimensions, at most %d", ErrOptions, len(opts.Dims), emfMaxDims)
	}
	for _, d := range opts.Dims {
		if err := checkDim(d); err != nil {
			return nil, err
		}
	}
	for k := range opts.Properties {
		if k == "" || k == "_aws" || slices.ContainsFunc(opts.Dims, func(d Dim) bool { return d.Name == k }) {
			return nil, fmt.Errorf("%w: EMF property %q is empty, reserved or a dimension", ErrOptions, k)
		}
	}
	props := make(map[string]string, len(opts.Properties))
	for k, v := range opts.Properties {
		props[k] = v
	}
	return &EMF{w: opts.W, namespace: opts.Namespace, dims: slices.Clone(opts.Dims), properties: props,
		clock: clockOrSystem(opts.Clock), groups: map[string]*emfGroup{}}, nil
}

func checkDim(d Dim) error {
	if d.Name == "" || d.Value == "" || d.Name == "_aws" || strings.HasPrefix(d.Name, ":") {
		return fmt.Errorf("resilience: invalid dimension %q=%q", d.Name, d.Value)
	}
	return nil
}

// Count adds delta to a counter.
func (e *EMF) Count(name string, delta float64, dims ...Dim) { e.add(0, name, delta, UnitCount, dims) }

// Gauge sets a gauge.
func (e *EMF) Gauge(name string, value float64, unit Unit, dims ...Dim) {
	e.add(1, name, value, unit, dims)
}

// Observe records a histogram value.
func (e *EMF) Observe(name string, value float64, unit Unit, dims ...Dim) {
	e.add(2, name, value, unit, dims)
}

func (e *EMF) add(kind uint8, name string, v float64, unit Unit, extra []Dim) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if reason := e.reject(name, v, extra); reason != "" {
		if len(e.dropped) < 10 {
			e.dropped = append(e.dropped, fmt.Sprintf("%q: %s", name, reason))
		}
		return
	}
	var key strings.Builder
	all := make([]Dim, 0, len(e.dims)+len(extra))
	all = append(append(all, e.dims...), extra...)
	for _, d := range all {
		key.WriteString(d.Name)
		key.WriteByte(0)
		key.WriteString(d.Value)
		key.WriteByte(0)
	}
	g := e.groups[key.String()]
	if g == nil {
		g = &emfGroup{dims: all, metrics: map[string]*emfMetric{}}
		e.groups[key.String()] = g
		e.order = append(e.order, key.String())
	}
	m := g.metrics[name]
	if m == nil {
		m = &emfMetric{kind: kind, unit: unit}
		g.metrics[name] = m
		g.names = append(g.names, name)
	}
	switch m.kind {
	case 0:
		m.sum += v
	case 1:
		m.sum = v
	default:
		m.values = append(m.values, v)
	}
}

// reject returns why a metric cannot be recorded, or "". e.mu is held.
func (e *EMF) reject(name string, v float64, extra []Dim) string {
	switch {
	case name == "" || name == "_aws":
		return "invalid name"
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "value not finite"
	case len(e.dims)+len(extra) > emfMaxDims:
		return "more than 9 dimensions"
	}
	if _, ok := e.properties[name]; ok {
		return "name is a property"
	}
	for i, d := range extra {
		if checkDim(d) != nil {
			return "invalid dimension"
		}
		if d.Name == name {
			return "name is a dimension"
		}
		if _, ok := e.properties[d.Name]; ok {
			return "dimension is a property"
		}
		for _, o := range e.dims {
			if o.Name == d.Name {
				return "dimension repeated"
			}
		}
		for _, o := range extra[:i] {
			if o.Name == d.Name {
				return "dimension repeated"
			}
		}
	}
	for _, o := range e.dims {
		if o.Name == name {
			return "name is a dimension"
		}
	}
	return ""
}

// Flush writes and forgets everything recorded since the last Flush. It
// returns an error for a failed write and for metrics dropped as invalid
// (bad name or dimension, non-finite value).
func (e *EMF) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.clock.Now().UnixMilli()
	var errs []error
	for _, key := range e.order {
		g := e.groups[key]
		for start := 0; start < len(g.names); start += emfMaxMetrics {
			names := g.names[start:min(len(g.names), start+emfMaxMetrics)]
			for first := true; ; first = false {
				line, more := e.line(ts, g, names, first)
				if line == nil {
					break
				}
				if _, err := e.w.Write(line); err != nil {
					errs = append(errs, fmt.Errorf("resilience: write EMF: %w", err))
				}
				if !more {
					break
				}
			}
		}
	}
	if len(e.dropped) > 0 {
		errs = append(errs, fmt.Errorf("resilience: EMF dropped invalid metrics: %s", strings.Join(e.dropped, "; ")))
	}
	clear(e.groups)
	e.order, e.dropped = e.order[:0], nil
	return errors.Join(errs...)
}

// line builds one EMF line for names of g, taking up to emfMaxValues values
// of each histogram (consumed from the front). Counters and gauges go in the
// first line only. It returns nil when there is nothing to write, and
// whether values remain.
func (e *EMF) line(ts int64, g *emfGroup, names []string, first bool) ([]byte, bool) {
	type metricDef struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit,omitempty"`
	}
	root := make(map[string]any, len(g.dims)+len(names)+len(e.properties)+1)
	var defs []metricDef
	more := false
	for _, n := range names {
		m := g.metrics[n]
		if m.kind != 2 {
			if !first {
				continue
			}
			root[n] = m.sum
		} else {
			if len(m.values) == 0 {
				continue
			}
			k := min(len(m.values), emfMaxValues)
			root[n] = m.values[:k:k]
			m.values = m.values[k:]
			more = more || len(m.values) > 0
		}
		defs = append(defs, metricDef{Name: n, Unit: m.unit})
	}
	if len(defs) == 0 {
		return nil, false
	}
	dimNames := make([]string, 0, len(g.dims))
	for _, d := range g.dims {
		root[d.Name] = d.Value
		dimNames = append(dimNames, d.Name)
	}
	for k, v := range e.properties {
		root[k] = v
	}
	root["_aws"] = map[string]any{
		"Timestamp": ts,
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  e.namespace,
			"Dimensions": [][]string{dimNames},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(root)
	if err != nil { // only finite floats and strings: cannot happen
		return nil, false
	}
	return append(b, '\n'), more
}
