// Package enumtext is the text form of flatpipe's enums: the names their
// String methods return, which MarshalText and UnmarshalText use too, so
// that flags (flag.TextVar) and configuration files take one set of names.
//
// Each package keeps its names next to its constants and declares one Enum
// per type; its methods are then one line each:
//
//	var modeText = enumtext.Enum[Mode]{Type: "Mode", Names: []string{...}, Err: ErrOptions}
//
//	func (m Mode) String() string                   { return modeText.String(m) }
//	func (m Mode) MarshalText() ([]byte, error)     { return modeText.Marshal(m) }
//	func (m *Mode) UnmarshalText(text []byte) error { return modeText.Unmarshal(text, m) }
//
// An Enum is a plain value, safe for concurrent use.
package enumtext

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Integer is the underlying type an enum may have.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Enum is the text form of the enum type T.
type Enum[T Integer] struct {
	// Type is T's name as its package's users write it ("ArrayMode"): the
	// String of a value without a name is Type(value), and errors name it.
	Type string
	// Names holds each value's name at its index; "" is a value without
	// one. Several values may share a name: Unmarshal gives the last.
	Names []string
	// Err is what Marshal's and Unmarshal's errors wrap: the package's
	// ErrOptions.
	Err error
}

// name returns v's name, or "" when it has none.
func (e Enum[T]) name(v T) string {
	if i := int(v); i >= 0 && i < len(e.Names) && uint64(i) == uint64(v) {
		return e.Names[i]
	}
	return ""
}

// String returns v's name, or Type(v) for a value without one.
func (e Enum[T]) String(v T) string {
	if n := e.name(v); n != "" {
		return n
	}
	if v < 0 {
		return e.Type + "(" + strconv.FormatInt(int64(v), 10) + ")"
	}
	return e.Type + "(" + strconv.FormatUint(uint64(v), 10) + ")"
}

// Marshal returns v's name; a value without one is an error wrapping Err.
func (e Enum[T]) Marshal(v T) ([]byte, error) {
	if n := e.name(v); n != "" {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("%w: unknown %s", e.Err, e.String(v))
}

// Unmarshal sets *v to the value named text; any other text is an error
// wrapping Err that lists the names, and leaves *v unchanged.
func (e Enum[T]) Unmarshal(text []byte, v *T) error {
	for i := len(e.Names) - 1; i >= 0; i-- {
		if e.Names[i] != "" && string(text) == e.Names[i] {
			*v = T(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown %s %q (want %s)", e.Err, e.Type, text, e.list())
}

// list returns the distinct names in order, "a, b or c".
func (e Enum[T]) list() string {
	var names []string
	for _, n := range e.Names {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	switch len(names) {
	case 0:
		return "no name"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
