package resilience

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Check is one health check. Check must honour ctx (the aggregator gives it
// a deadline) and return nil when healthy. Its error text ends up in
// reports, so it must not contain secrets. Implementations must be safe for
// concurrent use.
type Check interface {
	Name() string
	Check(ctx context.Context) error
}

type funcCheck struct {
	name string
	fn   func(context.Context) error
}

func (c funcCheck) Name() string                    { return c.name }
func (c funcCheck) Check(ctx context.Context) error { return c.fn(ctx) }

// NewCheck returns a Check named name running fn.
func NewCheck(name string, fn func(ctx context.Context) error) Check {
	return funcCheck{name: name, fn: fn}
}

type timeoutCheck struct {
	c       Check
	timeout time.Duration
}

func (c timeoutCheck) Name() string                    { return c.c.Name() }
func (c timeoutCheck) Check(ctx context.Context) error { return c.c.Check(ctx) }
func (c timeoutCheck) Timeout() time.Duration          { return c.timeout }

// CheckWithTimeout gives c its own timeout instead of
// HealthOptions.Timeout.
func CheckWithTimeout(c Check, d time.Duration) Check { return timeoutCheck{c: c, timeout: d} }

// Status is a health status.
type Status string

// The statuses.
const (
	StatusOK   Status = "ok"
	StatusFail Status = "fail"
)

// CheckResult is the outcome of one check.
type CheckResult struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Report is the outcome of a health run: StatusOK only when every check
// passed. Checks are in the order they were registered.
type Report struct {
	Status Status        `json:"status"`
	Time   time.Time     `json:"time"`
	Checks []CheckResult `json:"checks"`
}

// OK reports whether every check passed.
func (r Report) OK() bool { return r.Status == StatusOK }

// Err returns nil for a passing report and otherwise an error naming the
// failed checks, for a job that refuses to start.
func (r Report) Err() error {
	if r.OK() {
		return nil
	}
	var parts []string
	for _, c := range r.Checks {
		if c.Status != StatusOK {
			parts = append(parts, c.Name+": "+c.Error)
		}
	}
	return fmt.Errorf("%w: %s", ErrUnhealthy, strings.Join(parts, "; "))
}

// ErrUnhealthy is wrapped by Report.Err.
var ErrUnhealthy = errors.New("resilience: health check failed")

// WriteText writes the report as aligned text, one check per line:
//
//	health: fail (1 of 3 checks failed)
//	ok    snowflake  12ms
//	FAIL  staging    0s    free 10.0 MiB < 1.0 GiB
func (r Report) WriteText(w io.Writer) error {
	failed := 0
	for _, c := range r.Checks {
		if c.Status != StatusOK {
			failed++
		}
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "health: %s (%d of %d checks failed)\n", r.Status, failed, len(r.Checks))
	for _, c := range r.Checks {
		st := "ok"
		if c.Status != StatusOK {
			st = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", st, c.Name, c.Duration.Round(time.Millisecond), oneLine(c.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var out []byte
	for line := range bytes.Lines(buf.Bytes()) {
		out = append(append(out, bytes.TrimRight(line, " \n")...), '\n')
	}
	_, err := w.Write(out)
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// HealthOptions configures a Health aggregator.
type HealthOptions struct {
	// Timeout bounds each check that has no timeout of its own; 0 means 5 s.
	Timeout time.Duration
	// Alert, if not nil, is raised when a run fails after a passing one (or
	// the first run fails); not again until a run passes. Runs whose context
	// ended do not count.
	Alert AlertFunc
	// Metrics receives "HealthCheckFailed" counts (dimension Check); nil
	// means NopMetrics.
	Metrics Metrics
	// Clock stamps reports and measures durations; nil means SystemClock.
	Clock Clock
}

// Health runs a fixed set of checks concurrently, each under its timeout, and
// reports. It is safe for concurrent use.
type Health struct {
	checks  []Check
	timeout time.Duration
	alert   AlertFunc
	metrics Metrics
	clock   Clock

	mu     sync.Mutex
	failed bool // the last run failed
}

// NewHealth checks that names are non-empty and unique.
func NewHealth(opts HealthOptions, checks ...Check) (*Health, error) {
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative health timeout", ErrOptions)
	}
	seen := map[string]bool{}
	for _, c := range checks {
		if c == nil || c.Name() == "" || seen[c.Name()] {
			return nil, fmt.Errorf("%w: health checks need unique non-empty names", ErrOptions)
		}
		seen[c.Name()] = true
	}
	h := &Health{checks: append([]Check(nil), checks...), timeout: cmp0(opts.Timeout, 5*time.Second),
		alert: opts.Alert, metrics: opts.Metrics, clock: clockOrSystem(opts.Clock)}
	if h.metrics == nil {
		h.metrics = NopMetrics{}
	}
	return h, nil
}

// Run runs every check and returns the report. A check that does not return
// within its timeout is reported failed ("timed out after ...") even if it
// ignores its context; its goroutine is left to finish on its own. A panic
// in a check is reported as its failure.
func (h *Health) Run(ctx context.Context) Report {
	rep := Report{Status: StatusOK, Time: h.clock.Now().UTC(), Checks: make([]CheckResult, len(h.checks))}
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() { rep.Checks[i] = h.runOne(ctx, c) })
	}
	wg.Wait()
	var failedNames []string
	for _, c := range rep.Checks {
		if c.Status != StatusOK {
			rep.Status = StatusFail
			failedNames = append(failedNames, c.Name)
			h.metrics.Count("HealthCheckFailed", 1, Dim{"Check", c.Name})
		}
	}
	if ctx.Err() != nil {
		// The caller gave up (a client hung up): the failures say nothing
		// about the dependencies; report them but do not alert.
		return rep
	}
	h.mu.Lock()
	raise := rep.Status == StatusFail && !h.failed
	h.failed = rep.Status == StatusFail
	h.mu.Unlock()
	if raise && h.alert != nil {
		h.alert(Alert{Kind: AlertUnhealthy, Source: strings.Join(failedNames, ","), Time: rep.Time,
			Message: oneLine(rep.Err().Error())})
	}
	return rep
}

func (h *Health) runOne(ctx context.Context, c Check) CheckResult {
	timeout := h.timeout
	if t, ok := c.(interface{ Timeout() time.Duration }); ok && t.Timeout() > 0 {
		timeout = t.Timeout()
	}
	start := h.clock.Now()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1) // buffered: a late check does not leak blocked
	go func() { done <- Recover(cctx, c.Check) }()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		select {
		case err = <-done: // finished at the deadline: take its answer
		default:
			err = cctx.Err()
		}
	}
	if err != nil && cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	r := CheckResult{Name: c.Name(), Status: StatusOK, Duration: h.clock.Now().Sub(start)}
	if err != nil {
		r.Status, r.Error = StatusFail, err.Error()
	}
	return r
}

// Handler returns an http.Handler that runs the checks on every request and
// answers 200 when healthy and 503 otherwise, with the report as JSON, or as
// text when the request has ?format=text or prefers text/plain.
func (h *Health) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rep := h.Run(r.Context())
		code := http.StatusOK
		if !rep.OK() {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Query().Get("format") == "text" || strings.HasPrefix(r.Header.Get("Accept"), "text/plain") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(code)
			_ = rep.WriteText(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	})
}

// Pinger is what PingCheck needs; *sql.DB, *sql.Conn satisfy it.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// PingCheck checks a database (or anything with PingContext).
func PingCheck(name string, p Pinger) Check {
	return NewCheck(name, func(ctx context.Context) error {
		if p == nil {
			return errors.New("no database configured")
		}
		return p.PingContext(ctx)
	})
}

// DiskSpaceCheck fails when the file system holding dir has less than
// minFree bytes available (statfs; Linux and macOS only, elsewhere it fails
// as unsupported). Use it for the staging directory of a load.
func DiskSpaceCheck(name, dir string, minFree uint64) Check {
	return NewCheck(name, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		free, err := diskFree(dir)
		if err != nil {
			return fmt.Errorf("free space of %s: %w", dir, err)
		}
		if free < minFree {
			return fmt.Errorf("free %s < %s in %s", iec(free), iec(minFree), dir)
		}
		return nil
	})
}

func iec(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}

// HTTPCheck GETs rawURL with client (nil means a client without timeout of
// its own; the check's deadline applies) and passes on a 2xx status. Errors
// name the URL without user info and query, which may hold credentials.
func HTTPCheck(name string, client *http.Client, rawURL string) Check {
	if client == nil {
		client = &http.Client{}
	}
	shown := redactURL(rawURL)
	return NewCheck(name, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return fmt.Errorf("GET %s: invalid request", shown)
		}
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text repeats the full URL
			}
			return fmt.Errorf("GET %s: %w", shown, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("GET %s: status %s", shown, resp.Status)
		}
		return nil
	})
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}
