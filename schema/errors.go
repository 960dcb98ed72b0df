package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; errors from this package wrap one of them.
var (
	// ErrOptions reports invalid options.
	ErrOptions = errors.New("schema: invalid options")
	// ErrTooDeep reports a document nested deeper than allowed.
	ErrTooDeep = errors.New("schema: nesting too deep")
	// ErrTooLarge reports a document larger than allowed.
	ErrTooLarge = errors.New("schema: document too large")
	// ErrInvalid is wrapped by every *ValidationError.
	ErrInvalid = errors.New("schema: record violates the contract")
	// ErrFrozen is wrapped by every *FrozenError.
	ErrFrozen = errors.New("schema: schema change on a frozen table")
	// ErrType reports a type text that cannot be parsed.
	ErrType = errors.New("schema: unknown column type")
)

// LimitError reports a document over a limit: Err is ErrTooDeep or
// ErrTooLarge, Offset the byte offset where the limit was passed.
type LimitError struct {
	Offset int64
	Limit  int
	Err    error
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v (limit %d) at offset %d", e.Err, e.Limit, e.Offset)
}

// Unwrap returns e.Err.
func (e *LimitError) Unwrap() error { return e.Err }

// Violation is one rule a record breaks.
type Violation struct {
	Path  string // the field's path ("" for the record as a whole)
	Rule  string // "required", "type", "min_length", "max_length", "min", "max", "enum", "unknown", or a JSON Schema keyword
	Value string // the offending value, cut to at most MaxViolationValue bytes
	Msg   string // a human explanation
}

// MaxViolationValue is the most bytes of an offending value kept in a Violation.
const MaxViolationValue = 64

func cutValue(v []byte) string {
	if len(v) <= MaxViolationValue {
		return string(v)
	}
	cut := MaxViolationValue
	for cut > 0 && v[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return string(v[:cut]) + "…"
}

// ValidationError lists every violation of one record. It wraps ErrInvalid.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s at %q: %s", v.Rule, v.Path, v.Msg)
		if v.Value != "" {
			fmt.Fprintf(&b, " (value %q)", v.Value)
		}
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }
