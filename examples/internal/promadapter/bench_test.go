package promadapter_test

import (
	"testing"

	"github.com/flatpipe/flatpipe/resilience"
)

var benchDims = []resilience.Dim{{Name: "Pipeline", Value: "orders"}, {Name: "Stage", Value: "load"}}

func BenchmarkCount(b *testing.B) {
	m, _, _ := newMetrics(b, "flatpipe")
	m.Count("Rows", 1, benchDims...)
	b.ReportAllocs()
	for b.Loop() {
		m.Count("Rows", 1, benchDims...)
	}
}

func BenchmarkCountUnsortedDims(b *testing.B) {
	m, _, _ := newMetrics(b, "flatpipe")
	dims := []resilience.Dim{benchDims[1], benchDims[0]}
	m.Count("Rows", 1, dims...)
	b.ReportAllocs()
	for b.Loop() {
		m.Count("Rows", 1, dims...)
	}
}

func BenchmarkObserve(b *testing.B) {
	m, _, _ := newMetrics(b, "flatpipe")
	m.Observe("Latency", 12, resilience.UnitMilliseconds, benchDims...)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("Latency", 12, resilience.UnitMilliseconds, benchDims...)
	}
}

func BenchmarkGaugeParallel(b *testing.B) {
	m, _, _ := newMetrics(b, "flatpipe")
	m.Gauge("Buffered", 1, resilience.UnitBytes, benchDims...)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Gauge("Buffered", 1, resilience.UnitBytes, benchDims...)
		}
	})
}

// TestAllocs holds Count, Gauge and Observe to the documented contract: no
// allocations after a metric's first use, for up to 8 Dims in any order.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m, _, es := newMetrics(t, "flatpipe")
	unsorted := []resilience.Dim{benchDims[1], benchDims[0]}
	eight := make([]resilience.Dim, 8)
	for i := range eight {
		eight[i] = resilience.Dim{Name: string(rune('H' - i)), Value: "v"}
	}
	tests := []struct {
		name string
		call func()
	}{
		{"Count", func() { m.Count("Rows", 1, benchDims...) }},
		{"Count unsorted dims", func() { m.Count("Rows", 1, unsorted...) }},
		{"Count 8 dims", func() { m.Count("Wide", 1, eight...) }},
		{"Count no dims", func() { m.Count("Plain", 1) }},
		{"Gauge", func() { m.Gauge("Buffered", 3, resilience.UnitBytes, benchDims...) }},
		{"Observe ms", func() { m.Observe("Latency", 12, resilience.UnitMilliseconds, benchDims...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call() // first use registers
			if got := testing.AllocsPerRun(100, tt.call); got != 0 {
				t.Errorf("%s allocates %v times per call, want 0", tt.name, got)
			}
		})
	}
	if e := es.list(); len(e) != 0 {
		t.Errorf("OnError called: %v", e)
	}
}
