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
// # Concurrency
//
// A Scanner is not safe for concurrent use; use one per goroutine. Scanners
// share no state, so any number may run in parallel.
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
