// Package s3source reads and lists S3 objects for source.Reader, resolves
// command-line inputs that name local files or S3, checks a bucket's health
// and classifies S3 errors for retry policies.
//
// # Reading
//
// Opener implements source.Opener: one streaming GetObject per object,
// pinned to the ETag seen first (If-Match) and the version, and, when a body
// breaks mid-way, resumed with a Range request from the next raw (still
// compressed) byte, beneath decompression, so no record is lost or repeated;
// OpenerOptions.MaxResumes bounds resumes that make no progress. A changed
// object gives an *ObjectChangedError (errors.Is ErrObjectChanged).
//
//	op, err := s3source.NewOpener(client, s3source.OpenerOptions{})
//	r, err := source.NewReader(source.ReaderOptions{Format: source.NDJSON, Opener: op})
//	pos, err := r.ReadObject(ctx, source.Object{Bucket: "b", Key: "k.ndjson.gz"}, source.Position{}, fn)
//
// Large objects are read with one streaming GetObject and this package's own
// Range + If-Match resume, not with feature/s3/transfermanager: the transfer
// manager downloads ranged parts concurrently into buffers, which gives
// neither constant memory nor an exact resume point beneath decompression,
// and records are consumed in order anyway.
//
// # Listing and inputs
//
// Walk and List list a prefix in key order with pagination, StartAfter,
// suffix and modification-time filters. ResolveInputs expands command-line
// inputs: local paths, globs and directories (source.ListLocal),
// "s3://bucket/key" and "s3://bucket/prefix/". Clients are passed in; this
// package never reads the environment (the examples build their client with
// the SDK's configuration chain).
//
// # Retry classification
//
// The SDK already retries 5xx, 429 and throttling answers (3 attempts, with a
// per-client retry token bucket); this package adds no blanket retry on top.
// When the SDK's attempts are spent the caller sees the last error;
// ErrorClassifier (Retryable, Throttled: the shape resilience.RetryOptions
// takes as its Classifier) and the functions IsRetryable, IsThrottled and
// IsPermanent classify it. When the SDK's token bucket is empty it fails at
// once with a ratelimit.QuotaExceededError, which IsThrottled reports, and
// the caller should back off before trying the object again.
//
// # Health
//
// BucketCheck (Name, Check) reports whether a bucket answers HeadBucket
// within a timeout; it has the shape resilience.Health takes.
//
// # Concurrency
//
// Opener, BucketCheck and ErrorClassifier are safe for concurrent use; the
// functions hold no state.
//
// # Errors
//
// Invalid arguments give errors wrapping source.ErrOptions. S3 errors are
// wrapped with the bucket and key, never with credentials.
//
// # Stability
//
// New in this release; names may still change before v1.
package s3source
