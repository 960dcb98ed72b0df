// Package promadapter implements resilience.Metrics with the Prometheus Go
// client (github.com/prometheus/client_golang), so that flatpipe's
// counters, gauges and histograms can be scraped, while the core module
// does not import Prometheus.
//
//	reg := prometheus.NewRegistry()
//	m, err := promadapter.New(promadapter.Options{Registerer: reg, Namespace: "flatpipe"})
//	breaker.OnStateChange(resilience.BreakerMetrics(m)) // or any Metrics consumer
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Names, labels and units
//
// Each metric is registered with the Registerer on its first use (lazily),
// as a CounterVec, GaugeVec or HistogramVec whose label names are the names
// of the Dims of that first call. Names follow Prometheus conventions: the
// CamelCase names flatpipe uses become snake_case ("BreakerStateChange" →
// "breaker_state_change"), characters outside [a-zA-Z0-9_:] become "_",
// Options.Namespace is prepended with "_", counters end in "_total", and the
// unit becomes a suffix: Seconds "_seconds", Bytes "_bytes", Bytes/Second
// "_bytes_per_second", Count/Second "_per_second", Percent "_percent";
// Count and None add nothing. Milliseconds and Microseconds are converted to
// seconds ("_seconds"), the Prometheus base unit. A suffix already present
// is not repeated. Dim names become label names the same way ("Breaker" →
// "breaker"); Dim values are label values as they are.
//
// # Consistent label sets
//
// Prometheus requires every series of a metric to have the same label
// names. The first call for a (kind, name, unit) fixes its Dim names; the
// order of Dims in later calls does not matter, but their names must be the
// same set. A call with another set, a duplicate Dim name, a negative or
// NaN counter delta, or a label value that is not valid UTF-8 is dropped:
// the value is not recorded, Dropped counts it, and Options.OnError, when
// set, receives an error saying why (a *LabelError matching
// ErrLabelMismatch for label sets). Metrics has no error results, and
// panicking or recording under wrong labels would be worse.
//
// Two calls whose names map to the same Prometheus name share one
// collector when their kinds and label names agree (the registry answers
// AlreadyRegisteredError and the existing collector is used, also when
// it was registered by another Metrics on the same registry); otherwise
// registration fails and the call is dropped as above.
//
// # Concurrency
//
// *Metrics is safe for concurrent use. Options is a plain value.
//
// # Limits
//
// After a metric's first use, Count, Gauge and Observe with up to 8 Dims
// make no heap allocations (TestAllocs; BenchmarkCount reports about
// 150–300 ns per call): a read lock, a map lookup and the client's own
// series lookup. A call with more than 8 Dims allocates its label values;
// a caller passing Dims as variadic literals through the resilience.Metrics
// interface may allocate the slice on its side. Dropped calls allocate their
// error. Series are never deleted: keep Dim values low-cardinality, as
// resilience.Dim says.
//
// # Errors
//
// New returns ErrNoRegisterer without a Registerer and ErrInvalidName for a
// Namespace that is not a Prometheus name. Errors given to OnError: *LabelError
// (ErrLabelMismatch), ErrNegativeCounter, and registration or label-value
// errors from client_golang wrapped with %w.
package promadapter
