package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flatpipe/flatpipe/examples/internal/promadapter"
	"github.com/flatpipe/flatpipe/resilience"
)

// metrics returns the job's metrics sink: CloudWatch EMF lines on stdout
// (flushed at the end of the run), Prometheus served on -metrics-addr, or
// nothing. Besides what the pipeline counts as it goes, the sink receives
// the report's running totals (see statsMetrics).
func (j *job) metrics() (resilience.Metrics, error) {
	m, err := j.metricsSink()
	if err != nil || j.cfg.Metrics == "none" {
		return m, err
	}
	sm := &statsMetrics{Metrics: m, stats: j.stats}
	// Before the EMF flush, which flushers run after this one.
	j.flushers = append([]func() error{func() error { sm.publish(); return nil }}, j.flushers...)
	return sm, nil
}

// statsMetrics forwards to a sink and, before each call, adds to it what
// the report's counters gained since the last time: RecordsRead, BytesIn
// (uncompressed input), BytesStaged and ObjectsDone. The pipeline emits
// metrics with every chunk and reject, so these totals move as the job
// runs; the last publish, at the end of the run, makes them equal to the
// report's. It is safe for concurrent use.
type statsMetrics struct {
	resilience.Metrics
	stats *stats

	mu                             sync.Mutex
	read, bytesIn, staged, objDone int64
}

func (m *statsMetrics) Count(name string, delta float64, dims ...resilience.Dim) {
	m.publish()
	m.Metrics.Count(name, delta, dims...)
}

func (m *statsMetrics) Gauge(name string, value float64, unit resilience.Unit, dims ...resilience.Dim) {
	m.publish()
	m.Metrics.Gauge(name, value, unit, dims...)
}

func (m *statsMetrics) Observe(name string, value float64, unit resilience.Unit, dims ...resilience.Dim) {
	m.publish()
	m.Metrics.Observe(name, value, unit, dims...)
}

// publish counts the totals' gains since the last publish.
func (m *statsMetrics) publish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range []struct {
		name string
		now  int64
		last *int64
	}{
		{"RecordsRead", m.stats.recordsRead.Load(), &m.read},
		{"BytesIn", m.stats.bytesIn.Load(), &m.bytesIn},
		{"BytesStaged", m.stats.bytesStaged.Load(), &m.staged},
		{"ObjectsDone", m.stats.objectsDone.Load(), &m.objDone},
	} {
		if d := c.now - *c.last; d > 0 {
			m.Metrics.Count(c.name, float64(d))
			*c.last = c.now
		}
	}
}

func (j *job) metricsSink() (resilience.Metrics, error) {
	switch j.cfg.Metrics {
	case "emf":
		e, err := resilience.NewEMF(resilience.EMFOptions{W: j.stdout, Namespace: "flatpipe",
			Dims: []resilience.Dim{{Name: "Job", Value: "batch"}, {Name: "Table", Value: j.cfg.Table}}})
		if err != nil {
			return nil, err
		}
		j.flushers = append(j.flushers, e.Flush)
		return e, nil
	case "prometheus":
		reg := prometheus.NewRegistry()
		m, err := promadapter.New(promadapter.Options{Registerer: reg, Namespace: "flatpipe_batch"})
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", j.cfg.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("batch: -metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				j.log.Warn("metrics server", "error", err)
			}
		}()
		j.closers = append(j.closers, srv.Close)
		j.log.Info("serving Prometheus metrics", "addr", ln.Addr().String())
		return m, nil
	}
	return resilience.NopMetrics{}, nil
}
