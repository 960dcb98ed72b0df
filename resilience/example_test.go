package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flatpipe/flatpipe/resilience"
)

// fixedClock is a Clock that never moves and never waits, for deterministic
// examples.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                                   { return c.t }
func (c fixedClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

var clock = fixedClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}

func ExampleRetry_Do() {
	r, err := resilience.NewRetry(resilience.RetryOptions{
		MaxAttempts: 4,
		Clock:       clock, // a real job leaves this nil
		OnRetry: func(e resilience.RetryEvent) {
			fmt.Println("attempt", e.Attempt, "failed:", e.Err)
		},
	})
	if err != nil {
		panic(err)
	}
	calls := 0
	err = r.Do(context.Background(), func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return resilience.Transient(errors.New("connection reset"))
		}
		return nil
	})
	fmt.Println("result:", err, "after", calls, "calls")
	// Output:
	// attempt 1 failed: connection reset
	// attempt 2 failed: connection reset
	// result: <nil> after 3 calls
}

func ExampleBreaker() {
	b, err := resilience.NewBreaker(resilience.BreakerOptions{
		Name:                "snowflake",
		ConsecutiveFailures: 2,
		OpenDuration:        time.Minute,
		Clock:               clock,
		Listeners: []func(resilience.StateChange){func(c resilience.StateChange) {
			fmt.Printf("%s: %v -> %v (%s)\n", c.Name, c.From, c.To, c.Reason)
		}},
	})
	if err != nil {
		panic(err)
	}
	down := func(context.Context) error { return errors.New("503 service unavailable") }
	for range 3 {
		fmt.Println(b.Do(context.Background(), down))
	}
	// Output:
	// 503 service unavailable
	// snowflake: closed -> open (consecutive failures)
	// 503 service unavailable
	// resilience: circuit breaker open
}

func ExamplePolicy() {
	retry, _ := resilience.NewRetry(resilience.RetryOptions{MaxAttempts: 3, Clock: clock})
	breaker, _ := resilience.NewBreaker(resilience.BreakerOptions{Clock: clock})
	bulkhead, _ := resilience.NewBulkhead(4)
	p := &resilience.Policy{Retry: retry, Breaker: breaker, Bulkhead: bulkhead, Recover: true}

	err := p.Do(context.Background(), func(ctx context.Context) error {
		var batch []string
		return errors.New(batch[len(batch)]) // a bug: index out of range
	})
	var pe *resilience.PanicError
	fmt.Println(errors.As(err, &pe), err)
	// Output:
	// true resilience: panic: runtime error: index out of range [0] with length 0
}

func ExampleProgress() {
	dir, _ := os.MkdirTemp("", "checkpoints")
	defer os.RemoveAll(dir)
	store, err := resilience.NewFileCheckpointStore(filepath.Join(dir, "cp"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// First run: process part of an object, then "crash".
	p, _ := resilience.ResumeProgress(ctx, store, "orders", clock)
	cp := resilience.Checkpoint{Bucket: "in", Key: "orders/part-0.ndjson", ETag: `"9b2c"`, Size: 4096}
	cp.RecordsDone, cp.NextOffset = 10, 1024 // after the rows are durably loaded
	if err := p.Commit(ctx, cp); err != nil {
		panic(err)
	}

	// Second run: resume where the first left off.
	p2, _ := resilience.ResumeProgress(ctx, store, "orders", clock)
	got, ok := p2.Checkpoint()
	fmt.Println(ok, got.Key, got.RecordsDone, got.NextOffset)

	// A stale worker still holding the first version cannot advance it.
	cp.NextOffset = 2048
	if err := p2.Commit(ctx, cp); err != nil {
		panic(err)
	}
	fmt.Println(errors.Is(p.Commit(ctx, cp), resilience.ErrConflict))
	// Output:
	// true orders/part-0.ndjson 10 1024
	// true
}

func ExampleDeadLetter_AppendNDJSON() {
	d := resilience.NewDeadLetter([]byte("\xff{\"id\":1}"), "parse", errors.New("flatten: invalid character"))
	d.Time, d.Object, d.Offset, d.Line = clock.t, "s3://in/a.ndjson", 512, 7
	line, _ := d.AppendNDJSON(nil)
	fmt.Print(string(line))
	back, _ := resilience.ParseDeadLetter(line)
	fmt.Printf("%q\n", back.Record)
	// Output:
	// {"time":"2026-11-26T12:00:00Z","object":"s3://in/a.ndjson","offset":512,"line":7,"reason":"parse","error_type":"*errors.errorString","error":"flatten: invalid character","record_encoding":"base64","record":"/3siaWQiOjF9"}
	// "\xff{\"id\":1}"
}

func ExampleEMF() {
	emf, err := resilience.NewEMF(resilience.EMFOptions{
		W:         os.Stdout,
		Namespace: "flatpipe",
		Dims:      []resilience.Dim{{Name: "Pipeline", Value: "orders"}},
		Clock:     clock,
	})
	if err != nil {
		panic(err)
	}
	emf.Count("RecordsFlattened", 1200)
	emf.Observe("LoadLatency", 412, resilience.UnitMilliseconds)
	emf.Observe("LoadLatency", 388, resilience.UnitMilliseconds)
	if err := emf.Flush(); err != nil { // at the end of each Lambda invocation
		panic(err)
	}
	// Output:
	// {"LoadLatency":[412,388],"Pipeline":"orders","RecordsFlattened":1200,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Pipeline"]],"Metrics":[{"Name":"RecordsFlattened","Unit":"Count"},{"Name":"LoadLatency","Unit":"Milliseconds"}],"Namespace":"flatpipe"}],"Timestamp":1795694400000}}
}

func ExampleHealth() {
	h, err := resilience.NewHealth(resilience.HealthOptions{Clock: clock},
		resilience.NewCheck("snowflake", func(ctx context.Context) error { return nil }),
		resilience.NewCheck("staging", func(ctx context.Context) error { return errors.New("free 10.0 MiB < 1.0 GiB") }),
	)
	if err != nil {
		panic(err)
	}
	rep := h.Run(context.Background())
	_ = rep.WriteText(os.Stdout) // a job prints this before it starts
	fmt.Println(rep.Err())
	// Output:
	// health: fail (1 of 2 checks failed)
	// ok    snowflake  0s
	// FAIL  staging    0s  free 10.0 MiB < 1.0 GiB
	// resilience: health check failed: staging: free 10.0 MiB < 1.0 GiB
}
