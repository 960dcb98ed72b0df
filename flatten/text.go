package flatten

import (
	"fmt"
	"strconv"
)

// The enums of this package implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return, so
// they can be flags (flag.TextVar) and configuration fields.

var (
	arrayModeNames = []string{ArraysJSON: "json", ArraysIndex: "index", ArraysTables: "tables"}
	collisionNames = []string{CollisionError: "error", CollisionFirst: "first", CollisionLast: "last"}
)

func enumName(names []string, v int, typ string) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(v) + ")"
}

func marshalEnum(names []string, v int, typ string) ([]byte, error) {
	if v >= 0 && v < len(names) && names[v] != "" {
		return []byte(names[v]), nil
	}
	return nil, fmt.Errorf("%w: unknown %s %d", ErrOptions, typ, v)
}

func unmarshalEnum(names []string, text []byte, typ string) (int, error) {
	for i, n := range names {
		if n != "" && string(text) == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown %s %q (want %s)", ErrOptions, typ, text, wantList(names))
}

func wantList(names []string) string {
	var s string
	var k int
	for _, n := range names {
		if n == "" {
			continue
		}
		if k > 0 {
			s += ", "
		}
		s += n
		k++
	}
	return s
}

// String returns the lower-case JSON name of k ("null", "bool", ...).
func (k Kind) String() string { return enumName(kindNames, int(k), "Kind") }

// MarshalText returns the name String returns; Kind(0) and unknown values
// are an error wrapping ErrOptions.
func (k Kind) MarshalText() ([]byte, error) { return marshalEnum(kindNames, int(k), "Kind") }

// UnmarshalText sets k from a name String returns.
func (k *Kind) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(kindNames, text, "Kind")
	if err == nil {
		*k = Kind(v)
	}
	return err
}

// String returns "json", "index" or "tables".
func (m ArrayMode) String() string { return enumName(arrayModeNames, int(m), "ArrayMode") }

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (m ArrayMode) MarshalText() ([]byte, error) {
	return marshalEnum(arrayModeNames, int(m), "ArrayMode")
}

// UnmarshalText sets m from "json", "index" or "tables".
func (m *ArrayMode) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(arrayModeNames, text, "ArrayMode")
	if err == nil {
		*m = ArrayMode(v)
	}
	return err
}

// String returns "error", "first" or "last".
func (p CollisionPolicy) String() string { return enumName(collisionNames, int(p), "CollisionPolicy") }

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (p CollisionPolicy) MarshalText() ([]byte, error) {
	return marshalEnum(collisionNames, int(p), "CollisionPolicy")
}

// UnmarshalText sets p from "error", "first" or "last".
func (p *CollisionPolicy) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(collisionNames, text, "CollisionPolicy")
	if err == nil {
		*p = CollisionPolicy(v)
	}
	return err
}
