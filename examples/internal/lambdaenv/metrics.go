package lambdaenv

import (
	"fmt"
	"io"
	"time"

	"github.com/flatpipe/flatpipe/resilience"
)

// The metric names, in CloudWatch namespace FLATPIPE_METRICS_NAMESPACE, each
// with dimension Function (the function's name) and, where said, Stage or
// Outcome. Object keys and request ids go to the logs, never to dimensions.
const (
	MetricObjects = "Objects"      // objects handled; dimension Outcome (loaded, failed, skipped, deferred)
	MetricRecords = "Records"      // records read
	MetricRejects = "Rejects"      // records rejected (dead-lettered)
	MetricRows    = "Rows"         // rows loaded or written
	MetricFiles   = "Files"        // staged files loaded or written
	MetricBytes   = "Bytes"        // object bytes read (as stored)
	MetricLatency = "Latency"      // milliseconds; dimension Stage (read, stage, load, upload, notify)
	MetricAlerts  = "Alerts"       // alerts raised; the template's alarm watches it
	MetricMessage = "MessagesFail" // SQS messages reported as batch item failures
)

// Outcomes of an object (dimension Outcome of MetricObjects).
const (
	OutcomeLoaded   = "loaded"   // in the table, or written to the destination
	OutcomeFailed   = "failed"   // left for a retry (message failed)
	OutcomeSkipped  = "skipped"  // gone or unreadable for good; not retried
	OutcomeDeferred = "deferred" // not started: too close to the deadline
)

// Metrics records the functions' metrics and writes them as CloudWatch EMF
// lines on Flush (once per invocation). It is safe for concurrent use.
type Metrics struct {
	emf *resilience.EMF
}

// NewMetrics returns Metrics writing to w (os.Stdout in Lambda) under
// namespace, with dimension Function=function. clock may be nil.
func NewMetrics(w io.Writer, namespace, function string, clock resilience.Clock) (*Metrics, error) {
	if function == "" {
		function = "local"
	}
	emf, err := resilience.NewEMF(resilience.EMFOptions{W: w, Namespace: namespace, Clock: clock,
		Dims: []resilience.Dim{{Name: "Function", Value: function}}})
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: metrics: %w", err)
	}
	return &Metrics{emf: emf}, nil
}

// Object counts one object with its outcome.
func (m *Metrics) Object(outcome string) {
	m.emf.Count(MetricObjects, 1, resilience.Dim{Name: "Outcome", Value: outcome})
}

// Add adds n to one of the plain counters (MetricRecords, MetricRejects,
// MetricRows, MetricFiles, MetricAlerts, MetricMessage); MetricBytes is
// recorded in bytes.
func (m *Metrics) Add(name string, n int64) {
	if name == MetricBytes {
		m.emf.Observe(name, float64(n), resilience.UnitBytes)
		return
	}
	m.emf.Count(name, float64(n))
}

// Stage records the latency of one stage.
func (m *Metrics) Stage(stage string, d time.Duration) {
	m.emf.Observe(MetricLatency, float64(d.Microseconds())/1000, resilience.UnitMilliseconds,
		resilience.Dim{Name: "Stage", Value: stage})
}

// Flush writes the EMF lines of everything recorded since the last Flush.
func (m *Metrics) Flush() error { return m.emf.Flush() }
