package resilience

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
)

// emfLine is one decoded EMF line.
type emfLine struct {
	root       map[string]any
	namespace  string
	dims       [][]string
	metrics    []map[string]any
	timestamp  float64
	directives int
}

// validateEMF decodes lines and checks them against the Embedded Metric
// Format rules: _aws.Timestamp (ms), CloudWatchMetrics directives with
// Namespace, Dimensions (arrays of at most 9 names of string root members),
// Metrics (at most 100, each Name a numeric root member or an array of at
// most 100 numbers).
func validateEMF(t *testing.T, out []byte) []emfLine {
	t.Helper()
	var lines []emfLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var root map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&root); err != nil {
			t.Fatalf("EMF line is not a JSON object: %v\n%s", err, sc.Bytes())
		}
		if len(sc.Bytes()) > 256<<10 {
			t.Errorf("EMF line of %d bytes > 256 KiB", len(sc.Bytes()))
		}
		aws, ok := root["_aws"].(map[string]any)
		if !ok {
			t.Fatalf("no _aws object: %s", sc.Bytes())
		}
		ts, err := aws["Timestamp"].(json.Number).Int64()
		if err != nil || ts < 1e12 {
			t.Errorf("_aws.Timestamp = %v, want epoch milliseconds", aws["Timestamp"])
		}
		directives, ok := aws["CloudWatchMetrics"].([]any)
		if !ok || len(directives) == 0 {
			t.Fatalf("_aws.CloudWatchMetrics = %v", aws["CloudWatchMetrics"])
		}
		l := emfLine{root: root, timestamp: float64(ts), directives: len(directives)}
		for _, d := range directives {
			dir := d.(map[string]any)
			l.namespace, _ = dir["Namespace"].(string)
			if l.namespace == "" {
				t.Errorf("directive without Namespace: %v", dir)
			}
			for _, set := range dir["Dimensions"].([]any) {
				var names []string
				for _, n := range set.([]any) {
					name := n.(string)
					if _, ok := root[name].(string); !ok {
						t.Errorf("dimension %q is not a string root member", name)
					}
					names = append(names, name)
				}
				if len(names) > 9 {
					t.Errorf("dimension set of %d > 9", len(names))
				}
				l.dims = append(l.dims, names)
			}
			ms := dir["Metrics"].([]any)
			if len(ms) == 0 || len(ms) > 100 {
				t.Errorf("%d metrics in a directive", len(ms))
			}
			for _, m := range ms {
				md := m.(map[string]any)
				name := md["Name"].(string)
				switch v := root[name].(type) {
				case json.Number:
				case []any:
					if len(v) == 0 || len(v) > 100 {
						t.Errorf("metric %q has %d values", name, len(v))
					}
					for _, x := range v {
						if _, ok := x.(json.Number); !ok {
							t.Errorf("metric %q value %v not a number", name, x)
						}
					}
				default:
					t.Errorf("metric %q root member = %#v, want a number or array", name, root[name])
				}
				l.metrics = append(l.metrics, md)
			}
		}
		lines = append(lines, l)
	}
	return lines
}

func num(t *testing.T, v any) float64 {
	t.Helper()
	f, err := v.(json.Number).Float64()
	if err != nil {
		t.Fatalf("%v is not a number", v)
	}
	return f
}

func TestEMF(t *testing.T) {
	var out bytes.Buffer
	clk := newFakeClock()
	e, err := NewEMF(EMFOptions{W: &out, Namespace: "flatpipe", Dims: []Dim{{"Pipeline", "orders"}},
		Properties: map[string]string{"function": "loader"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	flatten := Dim{"Stage", "flatten"}
	e.Count("Records", 1000, flatten)
	e.Count("Records", 200, flatten)
	e.Gauge("QueueDepth", 3, UnitCount, flatten)
	e.Gauge("QueueDepth", 7, UnitCount, flatten)
	e.Observe("Latency", 12.5, UnitMilliseconds, flatten)
	e.Observe("Latency", 13.1, UnitMilliseconds, flatten)
	e.Count("Records", 5, Dim{"Stage", "load"})
	e.Count("Objects", 1) // fixed dimensions only
	// Invalid ones are dropped and reported by Flush.
	e.Count("Bad", math.NaN())
	e.Count("Pipeline", 1)
	e.Count("TooMany", 1, Dim{"a", "1"}, Dim{"b", "1"}, Dim{"c", "1"}, Dim{"d", "1"}, Dim{"e", "1"}, Dim{"f", "1"}, Dim{"g", "1"}, Dim{"h", "1"}, Dim{"i", "1"})
	e.Count("EmptyDim", 1, Dim{"Stage", ""})
	err = e.Flush()
	if err == nil || !strings.Contains(err.Error(), `"Bad"`) || !strings.Contains(err.Error(), `"TooMany"`) {
		t.Errorf("Flush() = %v, want the dropped metrics reported", err)
	}
	lines := validateEMF(t, out.Bytes())
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (one per dimension-value set):\n%s", len(lines), out.Bytes())
	}
	l := lines[0]
	if l.namespace != "flatpipe" || fmt.Sprint(l.dims) != "[[Pipeline Stage]]" || l.root["Stage"] != "flatten" || l.root["Pipeline"] != "orders" || l.root["function"] != "loader" {
		t.Errorf("line 0 = %v", l.root)
	}
	if l.timestamp != float64(clk.Now().UnixMilli()) {
		t.Errorf("Timestamp = %v, want %v", l.timestamp, clk.Now().UnixMilli())
	}
	if got := num(t, l.root["Records"]); got != 1200 {
		t.Errorf("Records = %v, want the sum 1200", got)
	}
	if got := num(t, l.root["QueueDepth"]); got != 7 {
		t.Errorf("QueueDepth = %v, want the last value 7", got)
	}
	if got := fmt.Sprint(l.root["Latency"]); got != "[12.5 13.1]" {
		t.Errorf("Latency = %v, want [12.5 13.1]", got)
	}
	units := map[string]any{}
	for _, m := range l.metrics {
		units[m["Name"].(string)] = m["Unit"]
	}
	if units["Records"] != "Count" || units["Latency"] != "Milliseconds" {
		t.Errorf("units = %v", units)
	}
	if lines[1].root["Stage"] != "load" || num(t, lines[1].root["Records"]) != 5 {
		t.Errorf("line 1 = %v", lines[1].root)
	}
	if fmt.Sprint(lines[2].dims) != "[[Pipeline]]" || num(t, lines[2].root["Objects"]) != 1 {
		t.Errorf("line 2 = %v dims %v", lines[2].root, lines[2].dims)
	}
	// A flush resets.
	out.Reset()
	if err := e.Flush(); err != nil || out.Len() != 0 {
		t.Errorf("second Flush() = %v, wrote %q", err, out.String())
	}
}

func TestEMFLimits(t *testing.T) {
	var out bytes.Buffer
	e, _ := NewEMF(EMFOptions{W: &out, Namespace: "ns", Clock: newFakeClock()})
	for i := range 250 {
		e.Observe("Size", float64(i), UnitBytes)
	}
	for i := range 150 {
		e.Count(fmt.Sprintf("C%03d", i), 1)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := validateEMF(t, out.Bytes())
	values, counters := 0, 0
	for _, l := range lines {
		if v, ok := l.root["Size"].([]any); ok {
			values += len(v)
		}
		for _, m := range l.metrics {
			if strings.HasPrefix(m["Name"].(string), "C") {
				counters++
			}
		}
	}
	if values != 250 || counters != 150 {
		t.Errorf("%d values and %d counters over %d lines, want 250 and 150", values, counters, len(lines))
	}
	if _, err := NewEMF(EMFOptions{Namespace: "x"}); err == nil {
		t.Error("NewEMF without writer = nil error")
	}
	if _, err := NewEMF(EMFOptions{W: &out, Namespace: "x", Dims: []Dim{{"A", "1"}}, Properties: map[string]string{"A": "p"}}); err == nil {
		t.Error("NewEMF with a property named like a dimension = nil error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestEMFWriteError(t *testing.T) {
	e, _ := NewEMF(EMFOptions{W: failWriter{}, Namespace: "ns"})
	e.Count("A", 1)
	if err := e.Flush(); err == nil || !strings.Contains(err.Error(), "stdout closed") {
		t.Errorf("Flush() = %v, want the write error", err)
	}
}

func TestSlogMetrics(t *testing.T) {
	var buf bytes.Buffer
	m := NewSlogMetrics(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelInfo)
	m.Count("Records", 3, Dim{"Stage", "load"})
	m.Gauge("Depth", 2, UnitCount)
	m.Observe("Latency", 1.5, UnitSeconds)
	var recs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 || recs[0]["name"] != "Records" || recs[0]["value"] != 3.0 || recs[0]["kind"] != "counter" ||
		recs[0]["dims"].(map[string]any)["Stage"] != "load" || recs[2]["unit"] != "Seconds" || recs[1]["kind"] != "gauge" {
		t.Errorf("records = %v", recs)
	}
	quiet := NewSlogMetrics(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelDebug)
	buf.Reset()
	quiet.Count("X", 1)
	if buf.Len() != 0 {
		t.Errorf("debug metric logged at info level: %s", buf.String())
	}
	var _ Metrics = NopMetrics{}
	var _ Metrics = NewSlogMetrics(nil, 0)
}
