// Package source splits byte streams into records of JSON: local files and
// any io.Reader, plain or compressed. It imports no cloud SDK; S3 reading and
// listing live in source/s3source and Lambda event decoding in
// source/s3event, so a program that only frames records links neither.
//
// A Scanner splits a stream into records in the manner of bufio.Scanner:
//
//	sc, err := source.NewScanner(r, source.Options{Format: source.NDJSON})
//	if err != nil { ... }
//	defer sc.Close()
//	for sc.Scan() {
//		rec := sc.Bytes() // valid until the next Scan
//		_ = rec           // sc.Number(), sc.Offset(), sc.Line() locate it
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
// # Positions and numbers
//
// Positions are reported in the decompressed stream. A record has a 1-based
// Number (Scanner.Number, Record.Number, RecordTooLargeError.Number,
// ObjectError.Number), a byte Offset of its first byte and the 1-based Line
// on which it starts. A Position is a point between records: Offset, Line and
// Records, the count of records before it. Scanner.ResumeAt returns the
// Position after the current record; an NDJSON or Concatenated stream can be
// restarted there (see Options.Start), and Reader.ReadObject takes and
// returns one.
//
// # Objects
//
// An Object names a local file (Bucket empty) or a remote object with its
// identity (bucket, key, version id, ETag, size). ListLocal expands paths,
// globs and directories. Reader.ReadObject streams an object's records in
// constant memory, each with its provenance, and resumes from a Position: an
// uncompressed NDJSON or Concatenated object is reopened at the saved offset;
// others are re-read and the records already done are skipped. Remote
// objects are opened through an Opener (s3source.Opener for S3). A Reader
// reuses its Scanners, buffers and decompressors across objects.
//
// # Options and constructors
//
// As in every flatpipe package, a constructor New… takes an …Options struct
// whose zero fields mean documented defaults, checks it up front and returns
// an error wrapping this package's ErrOptions; nothing invalid is discovered
// later. Enums (Format, Compression) implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names String returns.
//
// # Concurrency
//
// A Scanner is not safe for concurrent use; use one per goroutine. Scanners
// share no state, so any number may run in parallel. A Reader is safe for
// concurrent use; ListLocal holds no state.
//
// # Zero values
//
// A zero Scanner is ready after Reset and reads NDJSON with the default
// limits; without a reader its Scan fails with ErrNoReader. A zero Reader is
// not usable: use NewReader.
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
// Every error wraps one of the sentinels: ErrOptions (invalid options),
// ErrRecordTooLarge (*RecordTooLargeError), ErrSyntax (*SyntaxError: a
// stream that cannot be framed, such as an unterminated array or string or a
// missing comma), ErrDecompress (*DecompressError, a corrupt or truncated
// compressed stream), ErrRead (*ReadError, an error of the underlying
// reader, which it also wraps), ErrClosed and ErrNoReader. Errors are sticky.
// Records completed before a read or decompression error are delivered
// first; an incomplete tail is not. ReadObject wraps errors in an
// *ObjectError naming the object and the record being read.
//
// # Stability
//
// The API may still change before v1; Scanner's Scan/Bytes/Err loop, Options,
// Format and Position are not expected to.
package source
