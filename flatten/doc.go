// Package flatten turns one JSON document into flat fields, a path and a value
// per leaf, in one strict pass with zero heap allocations per document in
// steady state.
//
//	f, err := flatten.New(flatten.Options{Arrays: flatten.ArraysIndex})
//	fields, err := f.Append(fields[:0], doc) // valid until the next call on f
//
// # Paths and values
//
// A key directly under the root object, or an index directly under a
// top-level array (ArraysIndex), is its own path; a deeper key is the
// parent's path, Options.Separator and the key, even when the parent's path
// is empty. Keys and string values are unescaped UTF-8; an unpaired UTF-16
// surrogate escape becomes U+FFFD. Numbers are the literal text byte for byte
// (12345678901234567890123, 1E400 and -0.000 come out as written), never
// converted through float64. A top-level scalar, or a top-level array under
// ArraysJSON, is one field with the empty path; a root {} gives no field.
// JSON null is a field of Kind Null; a missing key is no field.
//
// Kept containers — arrays under ArraysJSON, empty {} and [] below the root
// (which peers silently drop), and containers reached at Options.MaxDepth
// segments — are one field of Kind Object or Array whose Value is compact
// JSON: whitespace outside strings removed, every other byte as in the input,
// so it always fits on one line.
//
// # Array modes
//
// ArraysJSON (default) keeps arrays whole, which is what a Snowflake VARIANT
// column takes. ArraysIndex recurses with the index as the key. ArraysTables
// is relational, as dlt's normalizer and AWS Glue's Relationalize split
// documents: Flattener.AppendRows returns a root row and one child row per
// array element, linked by deterministic IDs (see Row).
//
// # Collisions
//
// Two fields of one row with the same path — a repeated key, or "a.b" beside
// a → b — are a collision: CollisionError (default) fails the document with
// an error wrapping ErrCollision; CollisionFirst and CollisionLast keep the
// first or the last value. A repeated key whose subtrees produce distinct
// paths ({"a":{"b":1},"a":{"c":2}}) gives distinct fields, not a collision.
// With a one-byte separator the check costs only a per-object key
// fingerprint; a document with a repeated key or a key containing the
// separator is walked a second time with every path compared.
//
// # Strictness
//
// Input must be RFC 8259 JSON: every JSONTestSuite n_ case is rejected and
// every y_ case accepted. Invalid UTF-8 in strings and keys and a leading
// byte order mark are rejected (RFC 8259 requires UTF-8 and forbids adding a
// BOM); escaped lone surrogates are accepted and become U+FFFD. The outcome
// of every implementation-defined i_ case is pinned in
// testdata/jsontestsuite_i_outcomes.txt.
//
// # Path filters
//
// Options.Include keeps only fields at or below the given paths and
// Options.Exclude drops fields at or below them; skipped subtrees are still
// validated. Filters match field paths (row-relative in tables mode), so a
// kept container is included only if its own path is.
//
// # Peeking
//
// Flattener.Peek returns one value by its key path, for routing a record
// before flattening it. It is as strict as Append: the whole document is
// validated, and a key repeated on the path is a collision, not a choice.
//
// # Options and zero values
//
// New takes an Options struct whose zero fields mean the documented
// defaults and rejects invalid options up front with an error wrapping
// ErrOptions; this is the convention of every flatpipe package. The enums
// (ArrayMode, CollisionPolicy, Kind) implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return. A zero
// Flattener is ready to use with the default options.
//
// # Concurrency
//
// A Flattener is not safe for concurrent use; create one per goroutine. They
// are cheap, and each keeps its buffers between calls.
//
// # Limits
//
// Options.MaxNesting (default 10,000) bounds container nesting; deeper input
// fails with an error wrapping ErrNesting, never with a stack overflow,
// because the walk keeps its own stack. Options.MaxDepth bounds path
// segments. Documents are limited only by memory; a Flattener's buffers grow
// to the largest document it has seen.
//
// # Errors
//
// Invalid JSON gives a *SyntaxError with the byte offset of the offending
// byte and the path reached; nesting and collisions give a *PathError. Every
// error wraps one of ErrOptions, ErrSyntax, ErrNesting, ErrCollision, ErrMode
// or ErrNotFound (Peek); test with errors.Is. On error, Append and AppendRows return dst unchanged.
// Errors are the only path that allocates. The walk that is fastest on valid
// input does not describe errors: a document it fails on is read again by the
// walker that does, so an invalid document costs up to three passes.
//
// # Stability
//
// Options, Field, Kind, Row and the Append/AppendRows methods are stable in
// shape; their semantics are pinned by tests against JSONTestSuite and an
// encoding/json reference. Peek is new and may still change before v1.
package flatten
