package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flatpipe/flatpipe/examples/internal/promadapter"
	"github.com/flatpipe/flatpipe/resilience"
)

// metrics returns the job's metrics sink: CloudWatch EMF lines on stdout
// (flushed at the end of the run), Prometheus served on -metrics-addr, or
// nothing.
func (j *job) metrics() (resilience.Metrics, error) {
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
