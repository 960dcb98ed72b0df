package promadapter_test

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flatpipe/flatpipe/examples/internal/promadapter"
	"github.com/flatpipe/flatpipe/resilience"
)

// errs collects OnError calls.
type errs struct {
	mu  sync.Mutex
	all []error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, err)
}

func (e *errs) list() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.all...)
}

func newMetrics(t testing.TB, ns string) (*promadapter.Metrics, *prometheus.Registry, *errs) {
	t.Helper()
	reg := prometheus.NewRegistry()
	es := &errs{}
	m, err := promadapter.New(promadapter.Options{Registerer: reg, Namespace: ns, OnError: es.add})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg, es
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  promadapter.Options
		want error
	}{
		{"no registerer", promadapter.Options{}, promadapter.ErrNoRegisterer},
		{"namespace with dash", promadapter.Options{Registerer: prometheus.NewRegistry(), Namespace: "flat-pipe"}, promadapter.ErrInvalidName},
		{"namespace with digit first", promadapter.Options{Registerer: prometheus.NewRegistry(), Namespace: "1x"}, promadapter.ErrInvalidName},
		{"ok", promadapter.Options{Registerer: prometheus.NewRegistry(), Namespace: "flatpipe"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := promadapter.New(tt.cfg)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("New(%+v) error = %v, want %v", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		record func(m *promadapter.Metrics)
		want   string
	}{
		{func(m *promadapter.Metrics) { m.Count("BreakerStateChange", 1) }, "fp_breaker_state_change_total"},
		{func(m *promadapter.Metrics) { m.Count("requests_total", 1) }, "fp_requests_total"},
		{func(m *promadapter.Metrics) { m.Count("HTTPCheck", 1) }, "fp_http_check_total"},
		{func(m *promadapter.Metrics) { m.Gauge("p99-latency.ms", 1, resilience.UnitNone) }, "fp_p99_latency_ms"},
		{func(m *promadapter.Metrics) { m.Gauge("QueueDepth", 1, resilience.UnitCount) }, "fp_queue_depth"},
		{func(m *promadapter.Metrics) { m.Gauge("Buffered", 1, resilience.UnitBytes) }, "fp_buffered_bytes"},
		{func(m *promadapter.Metrics) { m.Gauge("Throughput", 1, resilience.UnitBytesPerSecond) }, "fp_throughput_bytes_per_second"},
		{func(m *promadapter.Metrics) { m.Gauge("Rate", 1, resilience.UnitCountPerSecond) }, "fp_rate_per_second"},
		{func(m *promadapter.Metrics) { m.Gauge("DiskUsed", 1, resilience.UnitPercent) }, "fp_disk_used_percent"},
		{func(m *promadapter.Metrics) { m.Observe("CopyDuration", 1, resilience.UnitMilliseconds) }, "fp_copy_duration_seconds"},
		{func(m *promadapter.Metrics) { m.Observe("PutLatency", 1, resilience.UnitMicroseconds) }, "fp_put_latency_seconds"},
		{func(m *promadapter.Metrics) { m.Observe("wait_seconds", 1, resilience.UnitSeconds) }, "fp_wait_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			m, reg, es := newMetrics(t, "fp")
			tt.record(m)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			if len(mfs) != 1 || mfs[0].GetName() != tt.want {
				var got []string
				for _, mf := range mfs {
					got = append(got, mf.GetName())
				}
				t.Errorf("gathered %q, want [%s]", got, tt.want)
			}
			if e := es.list(); len(e) != 0 {
				t.Errorf("OnError called: %v", e)
			}
		})
	}
}

func TestValues(t *testing.T) {
	m, reg, es := newMetrics(t, "flatpipe")
	m.Count("Retry", 1, resilience.Dim{Name: "Operation", Value: "copy"})
	m.Count("Retry", 2.5, resilience.Dim{Name: "Operation", Value: "copy"})
	m.Count("Retry", 1, resilience.Dim{Name: "Operation", Value: "put"})
	m.Gauge("Buffered", 10, resilience.UnitBytes, resilience.Dim{Name: "Sink", Value: "s3"})
	m.Gauge("Buffered", 7, resilience.UnitBytes, resilience.Dim{Name: "Sink", Value: "s3"})
	m.Observe("CopyDuration", 250, resilience.UnitMilliseconds, resilience.Dim{Name: "Table", Value: "orders"})
	m.Observe("CopyDuration", 3000, resilience.UnitMilliseconds, resilience.Dim{Name: "Table", Value: "orders"})
	want := `
# HELP flatpipe_buffered_bytes flatpipe gauge Buffered (resilience.Metrics).
# TYPE flatpipe_buffered_bytes gauge
flatpipe_buffered_bytes{sink="s3"} 7
# HELP flatpipe_copy_duration_seconds flatpipe histogram CopyDuration (resilience.Metrics).
# TYPE flatpipe_copy_duration_seconds histogram
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.005"} 0
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.01"} 0
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.025"} 0
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.05"} 0
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.1"} 0
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.25"} 1
flatpipe_copy_duration_seconds_bucket{table="orders",le="0.5"} 1
flatpipe_copy_duration_seconds_bucket{table="orders",le="1"} 1
flatpipe_copy_duration_seconds_bucket{table="orders",le="2.5"} 1
flatpipe_copy_duration_seconds_bucket{table="orders",le="5"} 2
flatpipe_copy_duration_seconds_bucket{table="orders",le="10"} 2
flatpipe_copy_duration_seconds_bucket{table="orders",le="+Inf"} 2
flatpipe_copy_duration_seconds_sum{table="orders"} 3.25
flatpipe_copy_duration_seconds_count{table="orders"} 2
# HELP flatpipe_retry_total flatpipe counter Retry (resilience.Metrics).
# TYPE flatpipe_retry_total counter
flatpipe_retry_total{operation="copy"} 3.5
flatpipe_retry_total{operation="put"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if e := es.list(); len(e) != 0 {
		t.Errorf("OnError called: %v", e)
	}
	if got := m.Dropped(); got != 0 {
		t.Errorf("Dropped = %d, want 0", got)
	}
}

func TestBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	var gotName string
	var gotUnit resilience.Unit
	m, err := promadapter.New(promadapter.Options{Registerer: reg, Buckets: func(name string, unit resilience.Unit) []float64 {
		gotName, gotUnit = name, unit
		return []float64{1, 2}
	}})
	if err != nil {
		t.Fatal(err)
	}
	m.Observe("Wait", 1500, resilience.UnitMilliseconds)
	if gotName != "wait_seconds" || gotUnit != resilience.UnitSeconds {
		t.Errorf("Buckets called with %q, %q; want wait_seconds, Seconds", gotName, gotUnit)
	}
	want := `
# HELP wait_seconds flatpipe histogram Wait (resilience.Metrics).
# TYPE wait_seconds histogram
wait_seconds_bucket{le="1"} 0
wait_seconds_bucket{le="2"} 1
wait_seconds_bucket{le="+Inf"} 1
wait_seconds_sum 1.5
wait_seconds_count 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestDimOrderDoesNotMatter(t *testing.T) {
	m, reg, es := newMetrics(t, "")
	a := resilience.Dim{Name: "Pipeline", Value: "orders"}
	b := resilience.Dim{Name: "Stage", Value: "load"}
	m.Count("Rows", 1, b, a)
	m.Count("Rows", 2, a, b)
	want := `
# HELP rows_total flatpipe counter Rows (resilience.Metrics).
# TYPE rows_total counter
rows_total{pipeline="orders",stage="load"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if e := es.list(); len(e) != 0 {
		t.Errorf("OnError called: %v", e)
	}
}

func TestDropped(t *testing.T) {
	p := resilience.Dim{Name: "Pipeline", Value: "orders"}
	s := resilience.Dim{Name: "Stage", Value: "load"}
	tests := []struct {
		name   string
		record func(m *promadapter.Metrics)
		want   error // matched with errors.Is; nil: only check that an error came
	}{
		{"missing dim", func(m *promadapter.Metrics) { m.Count("Rows", 1, p) }, promadapter.ErrLabelMismatch},
		{"extra dim", func(m *promadapter.Metrics) { m.Count("Rows", 1, p, s, resilience.Dim{Name: "Table", Value: "t"}) }, promadapter.ErrLabelMismatch},
		{"other dim", func(m *promadapter.Metrics) { m.Count("Rows", 1, p, resilience.Dim{Name: "Table", Value: "t"}) }, promadapter.ErrLabelMismatch},
		{"repeated dim", func(m *promadapter.Metrics) { m.Count("Rows", 1, p, p) }, promadapter.ErrLabelMismatch},
		{"repeated dim on first use", func(m *promadapter.Metrics) { m.Count("Fresh", 1, p, p) }, promadapter.ErrLabelMismatch},
		{"dims mapping to one label", func(m *promadapter.Metrics) {
			m.Count("Fresh", 1, resilience.Dim{Name: "StageName", Value: "x"}, resilience.Dim{Name: "stage_name", Value: "y"})
		}, promadapter.ErrInvalidName},
		{"negative counter", func(m *promadapter.Metrics) { m.Count("Rows", -1, p, s) }, promadapter.ErrNegativeCounter},
		{"NaN counter", func(m *promadapter.Metrics) { m.Count("Rows", math.NaN(), p, s) }, promadapter.ErrNegativeCounter},
		{"invalid UTF-8 value", func(m *promadapter.Metrics) { m.Count("Rows", 1, p, resilience.Dim{Name: "Stage", Value: "\xff"}) }, nil},
		{"gauge name taken by histogram", func(m *promadapter.Metrics) { m.Observe("Level", 1, resilience.UnitNone) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg, es := newMetrics(t, "")
			m.Count("Rows", 1, p, s)
			m.Gauge("Level", 1, resilience.UnitNone)
			tt.record(m)
			errs := es.list()
			if len(errs) != 1 {
				t.Fatalf("OnError calls = %v, want one", errs)
			}
			if tt.want != nil && !errors.Is(errs[0], tt.want) {
				t.Errorf("OnError(%v), want %v", errs[0], tt.want)
			}
			var le *promadapter.LabelError
			if errors.As(errs[0], &le) && le.Metric == "" {
				t.Errorf("LabelError %+v names no metric", le)
			}
			if got := m.Dropped(); got != 1 {
				t.Errorf("Dropped = %d, want 1", got)
			}
			// Nothing of the dropped call was recorded.
			want := `
# HELP level flatpipe gauge Level (resilience.Metrics).
# TYPE level gauge
level 1
# HELP rows_total flatpipe counter Rows (resilience.Metrics).
# TYPE rows_total counter
rows_total{pipeline="orders",stage="load"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLabelErrorText(t *testing.T) {
	m, _, es := newMetrics(t, "")
	m.Count("Rows", 1, resilience.Dim{Name: "Stage", Value: "a"}, resilience.Dim{Name: "Pipeline", Value: "b"})
	m.Count("Rows", 1, resilience.Dim{Name: "Stage", Value: "a"})
	e := es.list()
	if len(e) != 1 {
		t.Fatalf("errors = %v, want one", e)
	}
	const want = `promadapter: metric rows_total registered with dims ["Pipeline" "Stage"], called with ["Stage"]`
	if got := e[0].Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestNilOnError drops without a callback and does not panic.
func TestNilOnError(t *testing.T) {
	m, err := promadapter.New(promadapter.Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	m.Count("X", -1)
	if got := m.Dropped(); got != 1 {
		t.Errorf("Dropped = %d, want 1", got)
	}
}

// TestSharedRegistry has two Metrics, for example two jobs in one process,
// share a registry: the second reuses the first's collector.
func TestSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	var ms [2]*promadapter.Metrics
	for i := range ms {
		var err error
		if ms[i], err = promadapter.New(promadapter.Options{Registerer: reg, OnError: func(err error) { t.Errorf("OnError(%v)", err) }}); err != nil {
			t.Fatal(err)
		}
		ms[i].Count("Rows", 2, resilience.Dim{Name: "Job", Value: "orders"})
	}
	want := `
# HELP rows_total flatpipe counter Rows (resilience.Metrics).
# TYPE rows_total counter
rows_total{job="orders"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestConcurrent(t *testing.T) {
	m, reg, es := newMetrics(t, "")
	const workers, calls = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stage := []string{"read", "load"}[w%2]
			for range calls {
				m.Count("Rows", 1, resilience.Dim{Name: "Stage", Value: stage})
				m.Observe("Latency", 0.1, resilience.UnitSeconds, resilience.Dim{Name: "Stage", Value: stage})
				m.Gauge("Workers", float64(w), resilience.UnitNone)
			}
		}()
	}
	wg.Wait()
	if e := es.list(); len(e) != 0 {
		t.Errorf("OnError called: %v", e)
	}
	if got := testutil.CollectAndCount(reg, "rows_total"); got != 2 {
		t.Errorf("rows_total series = %d, want 2", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	var observations uint64
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			switch mf.GetName() {
			case "rows_total":
				total += mm.GetCounter().GetValue()
			case "latency_seconds":
				observations += mm.GetHistogram().GetSampleCount()
			}
		}
	}
	if total != workers*calls || observations != workers*calls {
		t.Errorf("rows_total sum = %v, latency observations = %d; want %d each", total, observations, workers*calls)
	}
}

// TestResilienceHooks feeds resilience's ready-made metric hooks into the
// adapter.
func TestResilienceHooks(t *testing.T) {
	m, reg, es := newMetrics(t, "flatpipe")
	br, err := resilience.NewBreaker(resilience.BreakerOptions{Name: "snowflake", ConsecutiveFailures: 1, Listeners: []func(resilience.StateChange){resilience.BreakerMetrics(m)}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := br.Allow()
	if err != nil {
		t.Fatal(err)
	}
	p.Done(errors.New("boom"))
	resilience.RetryMetrics(m, "copy")(resilience.RetryEvent{})
	want := `
# HELP flatpipe_breaker_state_change_total flatpipe counter BreakerStateChange (resilience.Metrics).
# TYPE flatpipe_breaker_state_change_total counter
flatpipe_breaker_state_change_total{breaker="snowflake",state="open"} 1
# HELP flatpipe_retry_total flatpipe counter Retry (resilience.Metrics).
# TYPE flatpipe_retry_total counter
flatpipe_retry_total{operation="copy"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if e := es.list(); len(e) != 0 {
		t.Errorf("OnError called: %v", e)
	}
}
