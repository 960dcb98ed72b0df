// Package source reads records of JSON from byte streams: local files, S3
// objects and the S3 event notifications that announce them.
//
// A Scanner splits a stream into records in the manner of bufio.Scanner:
//
//	sc := source.NewScanner(r, source.NDJSON)
//	defer sc.Close()
//	for sc.Scan() {
//		rec := sc.Bytes() // valid until the next Scan
//		_ = rec           // sc.Offset(), sc.Line(), sc.Record() locate it
//	}
//	if err := sc.Err(); err != nil { ... }
//
// Four framings are supported: NDJSON (one record per line, the default),
// Document (the whole stream is one record), Array (each element of a
// top-level JSON array) and Concatenated (JSON values back to back). gzip
// (including multi-member files) and zstd are detected from their magic bytes,
// never from names. Array and Concatenated framing tracks strings, escapes and
// nesting, but does not validate JSON: that is the flattener's job.
//
// Positions are reported in the decompressed stream: the byte offset of a
// record's first byte, the 1-based line on which it starts and its 1-based
// record number. Next returns the position after the current record; an
// NDJSON or Concatenated stream can be restarted there (see Options.Start).
//
// # Objects
//
// An Object names a local file or an S3 object with its identity (bucket,
// key, version id, ETag, size). ListLocal expands paths, globs and
// directories; ListS3 and WalkS3 list a prefix in key order with pagination,
// StartAfter, suffix and modification-time filters; ResolveInputs does both
// for command-line arguments ("s3://bucket/key", "s3://bucket/prefix/").
//
// Reader.ReadObject streams an object's records in constant memory, each with
// its provenance (object, offset, line, record number). S3 reads are pinned to
// the ETag seen first (If-Match) and, when a body breaks mid-way, resumed with
// a Range request from the next raw (still compressed) byte, beneath
// decompression, so no record is lost or repeated; ReaderOptions.MaxResumes
// bounds resumes that make no progress. A job resumes from a Checkpoint: an
// uncompressed NDJSON or Concatenated object is reopened at the saved offset;
// others are re-read and the records already done are skipped.
//
// Large objects are read with one streaming GetObject and this package's own
// Range + If-Match resume, not with feature/s3/transfermanager: the transfer
// manager downloads ranged parts concurrently into buffers, which gives
// neither constant memory nor an exact resume point beneath decompression,
// and records are consumed in order anyway.
//
// The SDK already retries 5xx, 429 and throttling answers (3 attempts, with a
// per-client retry token bucket); this package adds no blanket retry on top.
// When the SDK's attempts are spent the caller sees the last error (IsRetryable
// reports true, IsThrottle for SlowDown); when its token bucket is empty the
// SDK fails at once with a ratelimit.QuotaExceededError, which IsThrottle
// reports, and the caller should back off before trying the object again.
//
// # Events
//
// DecodeSQSEvent, DecodeMessage, DecodeS3Event, DecodeSNSEvent and
// DecodeEventBridge turn what a Lambda receives (S3 notifications directly,
// inside SQS messages or inside SNS-in-SQS envelopes, EventBridge "Object
// Created" events) into ObjectEvents with URL-decoded keys. The s3:TestEvent is
// acknowledged and skipped; other event names are ignored. A message that
// cannot be decoded gives a *MessageError naming its message id, for
// SQSBatchItemFailures.
//
// # Health and retry classification
//
// BucketCheck (Name, Check) reports whether a bucket answers HeadBucket within
// a timeout. IsRetryable, IsThrottle and IsPermanent classify S3 errors (and
// this package's own) for a retry policy that takes func(error) bool.
//
// # Concurrency
//
// A Scanner is not safe for concurrent use; use one per goroutine. Scanners
// share no state, so any number may run in parallel. A Reader and a
// BucketCheck are safe for concurrent use; the functions hold no state.
//
// # Limits
//
// Records may be up to Options.MaxRecordSize bytes (DefaultMaxRecordSize, 128
// MiB, when zero); a 50 MB line is read with the defaults. The buffer starts at
// 256 KiB and doubles as needed, so memory is bounded by about twice the
// largest record, plus the decompressor's window (zstd windows above
// MaxZstdWindow are rejected). In steady state Scan does not allocate.
//
// # Errors
//
// Err returns one of the typed, positioned errors: *RecordTooLargeError
// (errors.Is ErrRecordTooLarge), *SyntaxError (errors.Is ErrSyntax) when a
// stream cannot be framed (an unterminated array or string, a missing comma),
// *DecompressError for a corrupt or truncated compressed stream and *ReadError
// for an error of the underlying reader; the last two unwrap to the cause.
// Errors are sticky. Records completed before a read or decompression error are
// delivered first; an incomplete tail is not.
package source
