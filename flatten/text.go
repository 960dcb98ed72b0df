package flatten

import "github.com/flatpipe/flatpipe/internal/enumtext"

// The enums of this package implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return, so
// they can be flags (flag.TextVar) and configuration fields.

var (
	kindText = enumtext.Enum[Kind]{Type: "Kind", Err: ErrOptions, Names: []string{
		Null: "null", Bool: "bool", Number: "number", String: "string", Object: "object", Array: "array"}}
	arrayModeText = enumtext.Enum[ArrayMode]{Type: "ArrayMode", Err: ErrOptions, Names: []string{
		ArraysJSON: "json", ArraysIndex: "index", ArraysTables: "tables"}}
	collisionText = enumtext.Enum[CollisionPolicy]{Type: "CollisionPolicy", Err: ErrOptions, Names: []string{
		CollisionError: "error", CollisionFirst: "first", CollisionLast: "last"}}
)

// String returns the lower-case JSON name of k ("null", "bool", ...).
func (k Kind) String() string { return kindText.String(k) }

// MarshalText returns the name String returns; Kind(0) and unknown values
// are an error wrapping ErrOptions.
func (k Kind) MarshalText() ([]byte, error) { return kindText.Marshal(k) }

// UnmarshalText sets k from a name String returns.
func (k *Kind) UnmarshalText(text []byte) error { return kindText.Unmarshal(text, k) }

// String returns "json", "index" or "tables".
func (m ArrayMode) String() string { return arrayModeText.String(m) }

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (m ArrayMode) MarshalText() ([]byte, error) { return arrayModeText.Marshal(m) }

// UnmarshalText sets m from "json", "index" or "tables".
func (m *ArrayMode) UnmarshalText(text []byte) error { return arrayModeText.Unmarshal(text, m) }

// String returns "error", "first" or "last".
func (p CollisionPolicy) String() string { return collisionText.String(p) }

// MarshalText returns the name String returns; an unknown value is an error
// wrapping ErrOptions.
func (p CollisionPolicy) MarshalText() ([]byte, error) { return collisionText.Marshal(p) }

// UnmarshalText sets p from "error", "first" or "last".
func (p *CollisionPolicy) UnmarshalText(text []byte) error { return collisionText.Unmarshal(text, p) }
