package flatten

import (
	"errors"
	"fmt"
)

// Kind is the JSON type of a Field's value.
type Kind uint8

// The kinds of field values. Object and Array are kept containers: their Value
// is compact JSON.
const (
	Null Kind = iota + 1
	Bool
	Number
	String
	Object
	Array
)

// Field is one flattened value.
//
// Path and Value alias the input document or the Flattener's internal buffers:
// they are valid until the next call on the Flattener that returned them. Copy
// them to keep them longer.
type Field struct {
	// Path is the field's path: keys (and, with ArraysIndex, array indices)
	// joined by Options.Separator, as unescaped UTF-8.
	Path []byte
	// Value is the value's text. Strings are unescaped UTF-8 without quotes;
	// numbers are the literal as written; booleans and null are "true",
	// "false" and "null"; kept objects and arrays are compact JSON.
	Value []byte
	// Kind is the JSON type of Value.
	Kind Kind
}

// ArrayMode says what the Flattener does with arrays.
type ArrayMode uint8

const (
	// ArraysJSON keeps every array whole as one field of Kind Array whose
	// Value is compact JSON (what a Snowflake VARIANT column takes). Default.
	ArraysJSON ArrayMode = iota
	// ArraysIndex recurses into arrays with the element index as the key
	// ("a.0.b").
	ArraysIndex
	// ArraysTables splits arrays into child rows (see Flattener.AppendRows).
	ArraysTables
)

// CollisionPolicy says what happens when two fields of one row have the same
// path (duplicate keys, or a key such as "a.b" beside a nested a → b).
type CollisionPolicy uint8

const (
	// CollisionError fails the document with an error wrapping ErrCollision.
	// Default.
	CollisionError CollisionPolicy = iota
	// CollisionFirst keeps the first field with a path and drops later ones.
	CollisionFirst
	// CollisionLast keeps the last value seen for a path, at the position of
	// the first field with that path.
	CollisionLast
)

// DefaultMaxNesting is the hard nesting limit used when Options.MaxNesting is 0.
const DefaultMaxNesting = 10000

// Options configures a Flattener: New checks it. The zero value is the
// default configuration, which a zero Flattener also uses.
type Options struct {
	// Separator joins path segments. Default ".".
	Separator string
	// MaxDepth limits a path to at most MaxDepth segments (array indices count
	// in ArraysIndex mode): a container reached at MaxDepth segments is kept
	// whole as one field. 0 means no limit.
	MaxDepth int
	// MaxNesting is the hard limit on container nesting; deeper documents fail
	// with an error wrapping ErrNesting. 0 means DefaultMaxNesting.
	MaxNesting int
	// Arrays selects the array mode. Default ArraysJSON.
	Arrays ArrayMode
	// OnCollision selects the collision policy. Default CollisionError.
	OnCollision CollisionPolicy
	// Include, when not empty, keeps only fields whose path equals one of
	// these paths or lies below one of them (on a separator boundary).
	Include []string
	// Exclude drops fields whose path equals one of these paths or lies below
	// one of them. Exclude wins over Include.
	Exclude []string
}

// Sentinel errors. Every error of this package wraps one of them; use
// errors.Is.
var (
	// ErrOptions is wrapped by every error about invalid Options (New) or
	// enum text (UnmarshalText).
	ErrOptions = errors.New("flatten: invalid options")
	// ErrSyntax is wrapped by every *SyntaxError.
	ErrSyntax = errors.New("flatten: invalid JSON")
	// ErrNesting reports a document nested deeper than Options.MaxNesting.
	ErrNesting = errors.New("flatten: nesting too deep")
	// ErrCollision reports two fields of one row with the same path under
	// CollisionError.
	ErrCollision = errors.New("flatten: path collision")
	// ErrMode reports a method called in an array mode it does not serve
	// (Append with ArraysTables).
	ErrMode = errors.New("flatten: wrong array mode")
)

// SyntaxError reports invalid JSON: the byte offset of the offending byte in
// the document and the path reached when it was found.
type SyntaxError struct {
	Offset int64  // byte offset in the document
	Path   string // path of the field being read, as far as it was built
	Err    error  // what was wrong; wraps ErrSyntax
}

func (e *SyntaxError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%v at offset %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("%v at offset %d (path %q)", e.Err, e.Offset, e.Path)
}

// Unwrap returns e.Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// PathError reports a limit or collision at a path: Err is ErrNesting or
// ErrCollision.
type PathError struct {
	Offset int64  // byte offset in the document where the problem was found
	Path   string // the path concerned
	Err    error
}

func (e *PathError) Error() string {
	return fmt.Sprintf("%v at offset %d (path %q)", e.Err, e.Offset, e.Path)
}

// Unwrap returns e.Err.
func (e *PathError) Unwrap() error { return e.Err }

// Row is one row of ArraysTables output.
//
// The root row has an empty Table, ParentID 0 and Index -1. Every array at
// path P (row-relative paths joined to the parent row's table path) yields one
// row per element in table P, whose ParentID is the containing row's ID and
// whose Index is the element's position. An object element's fields are its
// flattened keys; a scalar element has one field "value"; an array element is
// a row whose "value" array becomes the child table P+Separator+"value" (so
// an array element is treated like an object {"value": [...]}, and shares its
// child table with elements that are objects with an array under "value").
// An empty array is kept as a field "[]" in its row; it yields no rows. A
// top-level array's elements are the root table's rows (Table empty,
// ParentID 0, Index their position), and there is no separate root row.
//
// IDs are deterministic: the root row's ID is a 64-bit hash of the record key
// (by default the document bytes) and every child row's ID is a hash of its
// parent's ID, its table and its index, so a rerun yields the same IDs.
//
// Table and Fields are valid until the next call on the Flattener.
type Row struct {
	Table    []byte
	ID       uint64
	ParentID uint64
	Index    int
	Fields   []Field
}
