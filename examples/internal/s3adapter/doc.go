// Package s3adapter implements resilience.ObjectStore over the AWS SDK for
// Go v2, so that resilience.S3CheckpointStore and resilience.S3DeadLetterSink
// can keep checkpoints and dead letters in S3 without the resilience package
// importing the SDK.
//
//	store := s3adapter.New(s3.NewFromConfig(cfg))
//	cps, err := resilience.NewS3CheckpointStore(store, "my-bucket", "checkpoints/orders/")
//
// GetObject reads the whole body and returns the ETag as S3 sends it,
// quotes included. PutObject sends PutCondition.IfNoneMatch as the
// If-None-Match header and PutCondition.IfMatch as If-Match, each only when
// not empty and byte for byte, and returns the ETag of the new version,
// which is the same string a later GetObject of that version returns.
//
// # Concurrency
//
// A *Store is safe for concurrent use, as *s3.Client is.
//
// # Limits
//
// GetObject holds the whole object in memory; it is meant for checkpoints
// and dead-letter files, not for data objects (package source streams
// those). PutObject sends one PUT, so bodies are limited to 5 GiB by S3.
// Retries are the SDK's own; Store adds none.
//
// # Errors
//
// Every error is an *Error naming the operation, bucket and key, wrapping
// the SDK error with %w. Its Kind, also matched by errors.Is, classifies
// the failure:
//
//   - resilience.ErrNotFound: GetObject of a key that does not exist (HTTP
//     404 NoSuchKey or NotFound). A missing bucket (NoSuchBucket) is not
//     ErrNotFound: it is a configuration error, and treating it as "no
//     checkpoint yet" would restart a job from the beginning.
//   - resilience.ErrPreconditionFailed: PutObject whose condition failed
//     (HTTP 412 PreconditionFailed), lost a race with a concurrent
//     conditional write (HTTP 409 ConditionalRequestConflict), or carried
//     If-Match for a key that no longer exists (S3 answers 404 NoSuchKey;
//     the condition "matches the stored ETag" failed all the same).
//   - nil Kind: anything else (throttling, network, access denied), passed
//     through for the caller's retry classifier.
//
// Error texts are built from the operation, bucket, key and the SDK's
// error, which holds the service's error code, message and request id but
// never credentials or signatures.
package s3adapter
