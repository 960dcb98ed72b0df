// Package schema decides what flattened JSON becomes in Snowflake: it checks
// documents (nesting depth and size, or a declarative Contract),
// infers typed columns from flattened fields, turns paths into safe, stable
// identifiers, writes CREATE TABLE statements and plans the ALTER TABLE
// statements a new batch needs against an existing table.
//
// The package is pure: it does no I/O and starts no goroutines. Reading a
// table's columns (DESC TABLE, INFORMATION_SCHEMA.COLUMNS) and running the
// statements it writes are the caller's job; rows are passed in as plain values.
//
// # Identifiers
//
// A path becomes a column name by Normalize: upper case, the separator and
// every character outside [A-Z0-9_$] replaced by "_" ("meta.k" → "META_K"),
// "_" prefixed to a leading digit or "$" and to an empty name, and names
// longer than MaxLength (255) cut and given a stable hash suffix. Two paths
// that normalize to the same name collide: the smallest path (byte order)
// keeps the plain name and the others get "_" plus 8 hexadecimal digits of a
// hash of their path. A Namer holds the mapping; it is loaded from an existing
// table's columns (column comments hold the path, see Column.Comment) or from
// a saved Mapping (Plan.Mappings, PlanOptions.Mappings), so names stay stable
// across batches and processes: a path already in the table keeps its
// column whatever the new batch holds. A saved mapping that contradicts the
// comments fails planning with ErrMapping instead of being guessed at.
// Writers that
// may evolve one table at once (two Lambdas) should serialize their
// ALTER TABLE statements, for example with a lock or by letting one writer
// evolve, and re-read the columns before planning again; with IfNotExists
// the second ADD COLUMN of the same name is harmless and the comments show
// which path the column holds.
// Every identifier is written quoted (QuoteIdent): double quotes, an embedded
// double quote doubled; no key can inject SQL.
//
// # Inference
//
// An Inferrer observes records and infers one column per path. Each value is
// typed on its own and the column's type is the join of its values' types on
// this lattice (Widen):
//
//	null only                     → VARIANT (anything can be loaded later)
//	true/false                    → BOOLEAN
//	integer literal, ≤ 38 digits  → NUMBER(p,0)
//	decimal literal, ≤ 38 digits  → NUMBER(p,s)
//	integer literal, > 38 digits  → VARCHAR (FLOAT would round it)
//	other numbers (exponent, or a decimal > 38 digits)
//	                              → FLOAT if float64 holds it, else VARCHAR
//	string                        → VARCHAR(max length in characters), or with
//	                                DetectTime: DATE, TIMESTAMP_NTZ, TIMESTAMP_TZ
//	kept object / array           → OBJECT / ARRAY
//
//	NUMBER(p1,s1) ⊔ NUMBER(p2,s2) → NUMBER(max integer digits + max scale, max scale),
//	                                FLOAT if that exceeds 38 digits
//	NUMBER ⊔ FLOAT                → FLOAT
//	DATE ⊔ TIMESTAMP_NTZ          → TIMESTAMP_NTZ
//	TIMESTAMP_NTZ ⊔ TIMESTAMP_TZ  → TIMESTAMP_TZ (values without an offset take the session time zone)
//	any other two scalar types    → VARCHAR (long enough for every value's text)
//	OBJECT ⊔ ARRAY, scalar ⊔ container → VARIANT
//	anything ⊔ VARIANT            → VARIANT
//
// JSON null and a missing key both load as SQL NULL into a typed column
// (BOOLEAN, NUMBER, FLOAT, VARCHAR, DATE, TIMESTAMP_*, OBJECT, ARRAY), and
// make it nullable. In a VARIANT column a JSON null value loads as a VARIANT
// null, distinct from the SQL NULL of a missing key (Column.KeepsJSONNull),
// and a JSON null inside a kept container is always a VARIANT null.
//
// An object with more than MaxObjectKeys distinct keys (ids used as keys, as
// in citm_catalog.json or gsoc-2018.json) becomes one VARIANT column holding
// the whole sub-document instead of one column per key (Column.Subtree;
// AppendSubtree rebuilds its value from the fields). When a table would get
// more than MaxColumns columns, the object with the most keys is kept whole
// the same way until it fits. Observing a record that adds no column
// allocates nothing, and an Inferrer's memory grows with the number of
// columns, not of records. InferOptions.Sizing rounds VARCHAR lengths and NUMBER
// precisions up (or to their maximum) so that later batches need fewer
// widenings.
//
// Child tables from flatten.ArraysTables get their own inferred tables with
// "_ID", "_PARENT_ID" and "_INDEX" columns; the root table then has "_ID".
//
// # Evolution
//
// PlanChanges compares a batch's inferred table with the existing columns and
// lists the statements to run: ADD COLUMN (always nullable), the widenings
// Snowflake makes in place (a longer VARCHAR, a NUMBER with more precision
// and the same scale), and for a change it cannot make (NUMBER to VARCHAR
// fails with error 002108) a fallback column named NAME__V_TYPE (or
// NAME__V_VARIANT if that name is taken) that takes the values the original
// column cannot: Plan.Route sends each value to the first column that
// accepts it. New paths below an existing VARIANT column go into it, so a
// wide object stays whole across batches. The Evolution of the table (its
// Mode, and a Mode per path) decides whether the table changes at all:
// Evolve, Freeze, DiscardRow or DiscardValue (after dlt's schema contract
// modes). One decision applies the mode to every kind of change, so a mode
// gives the same reasons whichever change a path needs. Plan.Filter applies
// the discard modes to each record and returns what it discards with its
// bytes and reason.
//
// # Validation
//
// CheckDepth is a 0-allocation pre-check of nesting depth and size, 1.3 to 5
// times faster than flattening on the benchmark corpus (BenchmarkCheckDepth;
// least on indented documents such as citm_catalog.json).
//
// A Contract (a Go value, or JSON or YAML) is compiled into a Validator that
// checks flattened fields: required paths, kinds, string lengths, number
// ranges, enumerations and unknown paths; a valid record costs no
// allocation. ContractFor writes the contract of an inferred table, to be
// edited and saved: infer on a sample, then hold later data to it.
//
// JSON Schema validation lives in package schema/jsonschema, so that only its
// users link github.com/santhosh-tekuri/jsonschema and its dependencies; it
// decodes each document into Go values and costs much more per record: on a
// small order record, 8 to 25 times the time of flattening plus validating
// with a Contract in our runs, and 78 allocations against none. Use it when a
// schema already exists or when it needs what a Contract lacks
// (conditionals, patterns, formats, references within the schema); use a
// Contract for the checks a loader needs on every record. YAML (for
// Contracts and Evolution settings) stays here: go.yaml.in/yaml/v3 is one
// package with no dependencies.
//
// # Reading this package
//
// The package is one import because its parts share the Type lattice and
// the naming rules, and a loader needs all of them together; its files are
// split by job: types.go (Type, the lattice), infer.go (Inferrer), ident.go
// (names), ddl.go, evolve.go (Evolution, Mode, Plan), plan.go (PlanChanges),
// route.go (Route, Filter), contract.go (Contract, Validator), depth.go.
//
// # Options
//
// As in every flatpipe package, constructors take an …Options struct whose
// zero fields mean documented defaults (InferOptions, NameOptions,
// PlanOptions, DDLOptions) and reject invalid options up front with an
// error wrapping ErrOptions. Mode, TypeKind, Sizing and Case implement
// encoding.TextMarshaler and encoding.TextUnmarshaler.
//
// # Concurrency
//
// Inferrer, Namer and Validator are not safe for concurrent use; use one
// per goroutine (Inferrer.Merge combines the Inferrers of several
// goroutines). Plan is read-only once built and safe for concurrent use. The plain value types (Type, Column, Table, Contract, Rule,
// Evolution, Mapping, the options, rows and errors) hold no hidden state: they
// are safe for concurrent use as long as nobody modifies them. Package
// functions are safe for concurrent use.
//
// # Limits
//
// Snowflake identifiers are at most 255 characters, NUMBER at most 38 digits
// (scale ≤ 37), VARCHAR at most MaxVarcharLength characters (longer observed
// strings are capped at that length and will fail to load as is).
// Path segments are found by splitting on the separator, so a key that
// itself contains the separator is counted as two segments when looking for
// wide objects.
//
// # Errors
//
// Errors wrap the sentinels ErrTooDeep, ErrTooLarge (both as *LimitError),
// ErrInvalid (*ValidationError, listing every violation of a record),
// ErrFrozen (*FrozenError), ErrMapping, ErrType and ErrOptions. Errors about a
// record carry no position: the caller wraps them with the record's source,
// line and offset.
//
// # Stability
//
// Type, Column, Table, the Inferrer and the DDL writers are settled in
// shape; Evolution, Plan and Contract are recent and may still change before
// v1.
package schema
