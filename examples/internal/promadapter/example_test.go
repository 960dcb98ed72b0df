package promadapter_test

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/flatpipe/flatpipe/examples/internal/promadapter"
	"github.com/flatpipe/flatpipe/resilience"
)

// Metrics from flatpipe, exposed in the Prometheus text format (what
// promhttp serves on /metrics).
func Example() {
	reg := prometheus.NewRegistry()
	m, err := promadapter.New(promadapter.Options{
		Registerer: reg,
		Namespace:  "flatpipe",
		OnError:    func(err error) { fmt.Println("dropped:", err) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var metrics resilience.Metrics = m
	hook := resilience.RetryMetrics(metrics, "copy")
	hook(resilience.RetryEvent{})
	hook(resilience.RetryEvent{})
	metrics.Gauge("Buffered", 512, resilience.UnitBytes, resilience.Dim{Name: "Sink", Value: "s3"})
	metrics.Gauge("Buffered", 1, resilience.UnitBytes) // no Sink dim: dropped

	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(os.Stdout, mf); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// dropped: promadapter: metric flatpipe_buffered_bytes registered with dims ["Sink"], called with []
	// # HELP flatpipe_buffered_bytes flatpipe gauge Buffered (resilience.Metrics).
	// # TYPE flatpipe_buffered_bytes gauge
	// flatpipe_buffered_bytes{sink="s3"} 512
	// # HELP flatpipe_retry_total flatpipe counter Retry (resilience.Metrics).
	// # TYPE flatpipe_retry_total counter
	// flatpipe_retry_total{operation="copy"} 2
}
