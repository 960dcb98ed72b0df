package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// syncBuffer is a bytes.Buffer safe for the job's concurrent log writers
// and a test reading it meanwhile.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLogs decodes the job's -log-format json lines (the health report
// among them is text), failing on a line that starts a JSON object but is
// not one.
func jsonLogs(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(logs) {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// jobReport returns the final report the job logs with -log-format json.
func jobReport(t *testing.T, logs string) summary {
	t.Helper()
	for _, m := range jsonLogs(t, logs) {
		if m["msg"] != "report" {
			continue
		}
		b, _ := json.Marshal(m["report"])
		var sm summary
		if err := json.Unmarshal(b, &sm); err != nil {
			t.Fatal(err)
		}
		return sm
	}
	t.Fatalf("no report in the logs:\n%s", logs)
	return summary{}
}

// scrape reads /metrics as Prometheus text and parses it strictly,
// returning each counter's value per label set ("" without labels, else
// name=value pairs joined by ",").
func scrape(addr string) (map[string]map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		return nil, fmt.Errorf("GET /metrics: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w\n%s", err, body)
	}
	out := map[string]map[string]float64{}
	for name, f := range fams {
		if f.GetHelp() == "" {
			return nil, fmt.Errorf("metric %s has no HELP", name)
		}
		if f.GetType().String() != "COUNTER" {
			continue
		}
		vals := map[string]float64{}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			vals[strings.Join(labels, ",")] = m.GetCounter().GetValue()
		}
		out[name] = vals
	}
	return out, nil
}

// TestPrometheusEndpoint runs the job on the samples with -metrics
// prometheus, scrapes /metrics over HTTP after each checkpoint, and checks
// that the counters move during the run and equal the final report's
// numbers at the end.
func TestPrometheusEndpoint(t *testing.T) {
	in := t.TempDir()
	writeSamples(t, in)
	var logs syncBuffer
	var scrapes []map[string]map[string]float64
	var scrapeErr error
	addr := func() string {
		for _, m := range jsonLogs(t, logs.String()) {
			if m["msg"] == "serving Prometheus metrics" {
				a, _ := m["addr"].(string)
				return a
			}
		}
		return ""
	}
	hook := func(point string) {
		if point != "committed" || scrapeErr != nil {
			return
		}
		a := addr()
		if a == "" {
			scrapeErr = fmt.Errorf("no address logged")
			return
		}
		s, err := scrape(a)
		if err != nil {
			scrapeErr = err
			return
		}
		scrapes = append(scrapes, s)
	}
	var out bytes.Buffer
	var stopping atomic.Bool
	args := []string{"-progress", "none", "-log-format", "json", "-metrics", "prometheus", "-metrics-addr", "127.0.0.1:0",
		"-checkpoint", t.TempDir(), "-chunk-records", "1000", "-show-rows", "0", in}
	code := run(context.Background(), args, func() []string { return nil }, &out, &logs, &stopping, hook)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, out.String(), logs.String())
	}
	if scrapeErr != nil {
		t.Fatal(scrapeErr)
	}
	sm := jobReport(t, logs.String())
	if len(scrapes) < 3 {
		t.Fatalf("%d scrapes, want one per checkpoint (at least 3)", len(scrapes))
	}
	last := scrapes[len(scrapes)-1]
	counter := func(s map[string]map[string]float64, name string) float64 {
		v, ok := s["flatpipe_batch_"+name+"_total"][""]
		if !ok {
			t.Errorf("no counter flatpipe_batch_%s_total in %v", name, slices.Sorted(maps.Keys(s)))
		}
		return v
	}
	for _, c := range []struct {
		name string
		want int64
	}{
		{"records_read", sm.RecordsRead},
		{"records_loaded", sm.RecordsLoaded},
		{"records_already_loaded", sm.AlreadyLoaded},
		{"bytes_in", sm.BytesIn},
		{"bytes_staged", sm.BytesStaged},
		{"files_staged", sm.FilesStaged},
		{"checkpoints", int64(len(scrapes))},
	} {
		if got := counter(last, c.name); got != float64(c.want) {
			t.Errorf("flatpipe_batch_%s_total = %v, want %d as in the report", c.name, got, c.want)
		}
	}
	rejected := last["flatpipe_batch_records_rejected_total"]
	var sum float64
	for reason, n := range sm.Rejected {
		if got := rejected["reason="+reason]; got != float64(n) {
			t.Errorf("flatpipe_batch_records_rejected_total{reason=%q} = %v, want %d", reason, got, n)
		}
		sum += rejected["reason="+reason]
	}
	if sum != float64(sm.RecordsRejected) || len(rejected) != len(sm.Rejected) {
		t.Errorf("records_rejected_total = %v, want %d in reasons %v", rejected, sm.RecordsRejected, sm.Rejected)
	}
	if sm.RecordsRead != 4200 || sm.RecordsRejected != 18 {
		t.Errorf("report: %d read, %d rejected, want the samples' 4200 and 18", sm.RecordsRead, sm.RecordsRejected)
	}
	// During the run the counters only went up, from less than the total.
	first := scrapes[0]
	if counter(first, "records_read") >= float64(sm.RecordsRead) || counter(first, "records_read") == 0 {
		t.Errorf("first scrape: records_read %v, want between 0 and %d", counter(first, "records_read"), sm.RecordsRead)
	}
	for i := 1; i < len(scrapes); i++ {
		for _, name := range []string{"records_read", "records_loaded", "bytes_in", "checkpoints"} {
			if counter(scrapes[i], name) < counter(scrapes[i-1], name) {
				t.Errorf("scrape %d: %s went down", i, name)
			}
		}
	}
	// The endpoint is gone with the job.
	if _, err := scrape(addr()); err == nil {
		t.Error("/metrics still served after the job returned")
	}
}

// TestEMFOutput runs the job with -metrics emf and checks each EMF line on
// stdout against the Embedded Metric Format: an _aws block with a
// millisecond timestamp and CloudWatchMetrics naming a namespace,
// dimension sets whose names are root members, and metrics whose names are
// root members holding numbers; the counters equal the report's numbers.
func TestEMFOutput(t *testing.T) {
	in := t.TempDir()
	writeSamples(t, in)
	var out, logs syncBuffer
	var stopping atomic.Bool
	args := []string{"-progress", "none", "-log-format", "json", "-metrics", "emf", "-show-rows", "0", "-table", "emf_events", in}
	code := run(context.Background(), args, func() []string { return nil }, &out, &logs, &stopping, nil)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, out.String(), logs.String())
	}
	sm := jobReport(t, logs.String())
	totals := map[string]float64{}   // metric name → sum over lines without a Reason
	byReason := map[string]float64{} // RecordsRejected per Reason
	units := map[string]string{}     // metric name → unit
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue // the report
		}
		lines++
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("EMF line is not JSON: %v\n%s", err, line)
		}
		var meta struct {
			Timestamp         *int64 `json:"Timestamp"`
			CloudWatchMetrics []struct {
				Namespace  string     `json:"Namespace"`
				Dimensions [][]string `json:"Dimensions"`
				Metrics    []struct {
					Name string `json:"Name"`
					Unit string `json:"Unit"`
				} `json:"Metrics"`
			} `json:"CloudWatchMetrics"`
		}
		dec := json.NewDecoder(bytes.NewReader(doc["_aws"]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&meta); err != nil {
			t.Fatalf("_aws block: %v\n%s", err, line)
		}
		if meta.Timestamp == nil || *meta.Timestamp < 1e12 || len(meta.CloudWatchMetrics) == 0 {
			t.Fatalf("_aws block lacks a millisecond Timestamp or CloudWatchMetrics:\n%s", line)
		}
		root := func(name string) (string, bool) {
			var s string
			err := json.Unmarshal(doc[name], &s)
			return s, err == nil
		}
		for _, d := range meta.CloudWatchMetrics {
			if d.Namespace != "flatpipe" || len(d.Dimensions) == 0 || len(d.Metrics) == 0 || len(d.Metrics) > 100 {
				t.Fatalf("directive %+v: want namespace flatpipe, dimensions and 1–100 metrics", d)
			}
			reason := ""
			for _, set := range d.Dimensions {
				if len(set) > 30 {
					t.Errorf("dimension set of %d names, EMF allows 30", len(set))
				}
				for _, name := range set {
					v, ok := root(name)
					if !ok || v == "" {
						t.Errorf("dimension %s is not a string root member:\n%s", name, line)
					}
					if name == "Reason" {
						reason = v
					}
				}
				if !slices.Contains(set, "Job") || !slices.Contains(set, "Table") {
					t.Errorf("dimension set %v lacks Job and Table", set)
				}
			}
			if job, _ := root("Job"); job != "batch" {
				t.Errorf("Job = %q, want batch", job)
			}
			if table, _ := root("Table"); table != "emf_events" {
				t.Errorf("Table = %q, want emf_events", table)
			}
			for _, m := range d.Metrics {
				raw, ok := doc[m.Name]
				if !ok {
					t.Fatalf("metric %s is defined but not a root member:\n%s", m.Name, line)
				}
				var v float64
				if err := json.Unmarshal(raw, &v); err != nil {
					var vs []float64
					if err := json.Unmarshal(raw, &vs); err != nil || len(vs) == 0 || len(vs) > 100 {
						t.Fatalf("metric %s = %s, want a number or 1–100 numbers", m.Name, raw)
					}
					for _, x := range vs {
						v += x
					}
				}
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("metric %s = %v", m.Name, v)
				}
				if m.Unit != "" && !validEMFUnit(m.Unit) {
					t.Errorf("metric %s has unit %q, not a CloudWatch unit", m.Name, m.Unit)
				}
				units[m.Name] = m.Unit
				if reason != "" {
					if m.Name == "RecordsRejected" {
						byReason[reason] += v
					}
					continue
				}
				totals[m.Name] += v
			}
		}
	}
	if lines == 0 {
		t.Fatalf("no EMF lines on stdout:\n%s", out.String())
	}
	for name, want := range map[string]int64{"RecordsRead": sm.RecordsRead, "RecordsLoaded": sm.RecordsLoaded, "RecordsAlreadyLoaded": sm.AlreadyLoaded,
		"BytesIn": sm.BytesIn, "BytesStaged": sm.BytesStaged, "FilesStaged": sm.FilesStaged, "ObjectsDone": sm.Objects} {
		if totals[name] != float64(want) {
			t.Errorf("EMF %s = %v, want %d as in the report", name, totals[name], want)
		}
		if units[name] != "Count" {
			t.Errorf("EMF %s unit %q, want Count", name, units[name])
		}
	}
	for reason, n := range sm.Rejected {
		if byReason[reason] != float64(n) {
			t.Errorf("EMF RecordsRejected{Reason=%s} = %v, want %d", reason, byReason[reason], n)
		}
	}
	if len(byReason) != len(sm.Rejected) || sm.RecordsRejected != 18 {
		t.Errorf("EMF rejects by reason %v, report %v (%d)", byReason, sm.Rejected, sm.RecordsRejected)
	}
}

// validEMFUnit reports whether u is one of CloudWatch's units.
func validEMFUnit(u string) bool {
	switch u {
	case "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
		"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
		"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
		"Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None":
		return true
	}
	return false
}
