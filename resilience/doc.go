// Package resilience keeps a flatpipe job going when its dependencies
// misbehave, and tells someone when it cannot: retry with backoff, a circuit
// breaker, a bulkhead, per-call timeouts and panic recovery (composed by
// Policy); checkpoints to resume from; dead letters for records that cannot
// be processed; health checks; metrics and alerts.
//
// It is a leaf: it imports no other flatpipe package and no AWS or Snowflake
// SDK. The packages that talk to S3 and Snowflake accept its types through
// small interfaces, and S3 access goes through ObjectStore, which an adapter
// over the AWS SDK implements outside this package.
//
// The library packages do not import this one; they accept small
// interfaces that its types satisfy, for example
//
//	interface{ Do(ctx context.Context, fn func(context.Context) error) error }
//
// (*Retry, *Breaker, *Bulkhead and *Policy), Metrics, DeadLetterSink and
// Check.
//
// # Reading this package
//
// It stays one package because its importers (a batch job, a Lambda) use
// its parts together and its parts refer to each other (BreakerAlerts and
// BreakerMetrics join the breaker to alerts and metrics, MonitoredSink joins
// dead letters to alerts); it imports only the standard library, so no
// importer pays for a part it does not use. Its files hold one concern
// each, to be read on their own: retry.go and classify.go (Retry, Budget,
// Classifier), breaker.go (Breaker), call.go (Bulkhead, WithTimeout,
// Recover), policy.go (Policy), checkpoint.go (checkpoints and their
// stores), deadletter.go (dead letters, sinks, reader), health.go (Health,
// checks), metrics.go (Metrics, EMF, SlogMetrics), alert.go (alerts,
// MonitoredSink), clock.go (Clock).
//
// # Options
//
// As in every flatpipe package, a constructor New… takes an …Options struct
// (RetryOptions, BreakerOptions, S3DeadLetterOptions, ...) whose zero fields
// mean documented defaults, checks it up front and returns an error wrapping
// ErrOptions. State and Outcome implement encoding.TextMarshaler and
// encoding.TextUnmarshaler; AlertKind, Status and Unit are strings.
//
// # Retry and the drivers' own retries
//
// Retry makes attempts with exponential backoff and full jitter (a wait
// uniform in [0, min(MaxDelay, BaseDelay×Multiplier^(n−1)))), bounded by
// MaxAttempts and MaxElapsed, stopping at once when its context ends. What
// is transient is decided by a Classifier, an interface with two methods,
// Retryable(err) and Throttled(err), that the packages knowing their
// dependencies' errors implement without importing this one:
// NetworkClassifier here (the default), s3source.ErrorClassifier for S3 and
// load.ErrorClassifier for Snowflake; Classifiers combines them. A throttled
// error waits at least half the backoff cap. Errors can also be marked with
// Permanent, Transient and RetryAfter; ErrOpen, context.Canceled and
// ErrPreconditionFailed are never retried. A shared Budget (a token bucket, like
// the AWS SDK's retry quota) stops a fleet of callers from hammering a dead
// dependency.
//
// The drivers underneath already retry: the AWS SDK makes 3 attempts per
// request with its own retry quota, and gosnowflake retries HTTP 5xx, 429
// and 408 up to 7 times with backoff, renews expired sessions and polls
// queries in progress. Their final errors mean "already retried"; stacking
// another tight retry on top multiplies the load (3 × 7 × ours × the
// Lambda/SQS redelivery) exactly when the dependency is struggling. So:
//
//   - retry at the unit of work (one object, one batch, one COPY), never per
//     record and never around each SDK call;
//   - few attempts (the default 3) with long waits, a Budget shared by all
//     workers, and a Breaker that ends retries at once when the dependency
//     is down (Retry.Do never retries ErrOpen);
//   - retry only what cannot have been applied or is idempotent: COPY INTO
//     with load history, MERGE, PUT of a staged file with a fixed name.
//
// # Composition order
//
// Policy composes, outermost first:
//
//	Retry → Breaker → Bulkhead → Timeout → Recover → fn
//
// Every attempt asks the breaker, so an opening breaker ends the retry; the
// bulkhead slot is held only while an attempt runs, not during backoff; the
// timeout bounds one attempt, not the whole retry (use the caller's context
// for that); a panic becomes a *PanicError that the breaker counts as a
// failure. Resilience4j uses the same order.
//
// # Circuit breaker
//
// Breaker is closed, open or half-open. It opens after ConsecutiveFailures
// failures in a row, or when the failure ratio over a rolling window passes
// FailureRatio; after OpenDuration it admits at most HalfOpenProbes probes;
// SuccessesToClose successful probes close it and one failed probe opens it
// again. A probe that has not reported within ProbeTimeout counts as failed,
// so a hung call cannot keep the breaker half-open (Resilience4j issue 903).
// Cancellation by the caller counts as nothing. Listeners observe state
// changes; BreakerAlerts and BreakerMetrics are ready-made listeners.
//
// # Checkpoints
//
// A Checkpoint records what a job durably did: the object (bucket, key,
// version id, ETag, size), the records done, and the position of the next
// record (decompressed offset and line, as source.Position).
// CheckpointStore saves it with compare-and-swap: FileCheckpointStore writes
// a temporary file, fsyncs and renames it; S3CheckpointStore creates with
// If-None-Match: * and advances with If-Match: <ETag>, so of two workers
// racing from the same version exactly one wins and the other gets
// ErrConflict. Progress is a worker's handle: ResumeProgress loads, Commit
// advances. Commit the checkpoint only after the data it covers is durable
// in the destination, and make the work between two checkpoints idempotent
// (a staged file named by its source position, COPY's load history); then a
// crash at any point loses and duplicates nothing.
//
// # Dead letters
//
// A DeadLetter keeps the raw record byte for byte (as a JSON string when it
// is valid UTF-8, base64 otherwise), its provenance (object, offset, line),
// the reason, the error type and message, and a time. FileDeadLetterSink
// appends NDJSON; S3DeadLetterSink writes one NDJSON object per flush, never
// overwriting, and holds its lock only to swap buffers, never across the
// upload; DeadLetterReader reads both back for replay;
// MonitoredSink counts and raises AlertDeadLetters as they accumulate.
//
// # Health, metrics and alerts
//
// Health runs Checks concurrently, each under its own timeout, and returns a
// Report (JSON and text) that a job prints before it starts and a service
// serves with Health.Handler. Generic checks: PingCheck (a *sql.DB),
// DiskSpaceCheck (a staging directory), HTTPCheck. Metrics is a small
// interface with NopMetrics, SlogMetrics and EMF (CloudWatch Embedded Metric
// Format lines on an io.Writer: no API calls, what a Lambda wants). An
// AlertFunc is called on breaker open, dead-letter growth and failed health;
// SlogAlerts logs them.
//
// # Concurrency
//
// Retry, Budget, Breaker, Bulkhead, Policy, the checkpoint stores, the
// dead-letter sinks, MonitoredSink, Health, EMF, SlogMetrics and NopMetrics
// are safe for concurrent use. Progress, Permit and DeadLetterReader belong
// to one goroutine. Options structs, Checkpoint, DeadLetter, Report, Alert and the
// event types are plain values without internal state. Listeners, OnRetry hooks and AlertFuncs are called
// synchronously from the goroutine that caused them and must not block.
// Nothing here starts a goroutine that outlives a call, except a health
// check that ignores its context, which is abandoned (and finishes on its
// own) when its timeout passes.
//
// # Limits
//
// Allocations: on the success path, Retry.Do, Breaker.Allow/Permit.Done,
// Breaker.Do in closed state, Bulkhead and Policy.Do (without Timeout) make
// no heap allocations, and the function passed to Do does not escape (a
// closure stays on the stack); see TestRetryAllocs, TestBreakerAllocs and
// TestPolicyAllocs. These paths allocate: a per-call timeout (WithTimeout,
// RetryOptions.AttemptTimeout, Policy.Timeout, and half-open probes in
// Breaker.Do) needs a context.WithTimeout; waits between attempts need a
// timer; errors allocate. Metrics calls through the interface may allocate
// their variadic dimensions.
//
// Breakers admit at most 1024 concurrent probes. EMF keeps at most 9
// dimensions per metric, 100 metrics per directive and 100 values per
// metric per line, splitting lines as needed. DeadLetterReader accepts lines
// up to 256 MiB by default. Checkpoint names are [A-Za-z0-9._-], at most 200
// bytes. FileCheckpointStore locks across processes with flock on Linux,
// macOS and the BSDs; DiskSpaceCheck works on Linux and macOS.
//
// # Errors
//
// Sentinels: ErrOptions (invalid options), ErrOpen (breaker rejected the call), ErrAttemptsExhausted,
// ErrElapsedExhausted, ErrBudgetExhausted and ErrNotRetryable (why a retry
// gave up, inside a *RetryError), ErrTimeout (*TimeoutError), ErrBulkheadFull,
// ErrConflict (*ConflictError), ErrRegress, ErrNotFound, ErrSinkFull,
// ErrPreconditionFailed (what ObjectStore adapters return), ErrLineTooLong
// (inside a *DeadLetterFormatError) and ErrUnhealthy. *PanicError carries a
// recovered panic and its stack. All wrap their causes for errors.Is and
// errors.As. Error texts contain no secrets: HTTPCheck strips user info and
// query from URLs.
//
// # Stability
//
// Retry, Breaker, Policy, the Classifier seam and the checkpoint and
// dead-letter formats are settled in shape; the rest may still change before
// v1. Checkpoint files carry a format number, so a later version can still
// read them.
package resilience
