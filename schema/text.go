package schema

import "github.com/flatpipe/flatpipe/internal/enumtext"

// The enums of this package implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return, so
// they can be flags and configuration fields (JSON, YAML). Type does too,
// with its SQL text (ParseType).

var (
	typeKindText = enumtext.Enum[TypeKind]{Type: "TypeKind", Err: ErrOptions, Names: []string{
		Unknown: "VARIANT", Boolean: "BOOLEAN", Number: "NUMBER", Float: "FLOAT", Varchar: "VARCHAR",
		Date: "DATE", TimestampNTZ: "TIMESTAMP_NTZ", TimestampTZ: "TIMESTAMP_TZ", Object: "OBJECT",
		Array: "ARRAY", Variant: "VARIANT", Other: "OTHER"}}
	modeText = enumtext.Enum[Mode]{Type: "Mode", Err: ErrOptions, Names: []string{
		Evolve: "evolve", Freeze: "freeze", DiscardRow: "discard_row", DiscardValue: "discard_value"}}
	sizingText = enumtext.Enum[Sizing]{Type: "Sizing", Err: ErrOptions, Names: []string{
		SizeExact: "exact", SizeRounded: "rounded", SizeMax: "max"}}
	caseText = enumtext.Enum[Case]{Type: "Case", Err: ErrOptions, Names: []string{
		Upper: "upper", Preserve: "preserve"}}
	changeKindText = enumtext.Enum[ChangeKind]{Type: "ChangeKind", Err: ErrOptions, Names: []string{
		ChangeCreate: "create", ChangeAdd: "add", ChangeWiden: "widen"}}
)

// String returns the Snowflake name of k (Unknown, which loads as VARIANT,
// is "VARIANT").
func (k TypeKind) String() string { return typeKindText.String(k) }

// MarshalText returns the Snowflake name String returns.
func (k TypeKind) MarshalText() ([]byte, error) { return typeKindText.Marshal(k) }

// UnmarshalText sets k from a Snowflake type name as String returns it
// ("VARIANT" gives Variant).
func (k *TypeKind) UnmarshalText(text []byte) error { return typeKindText.Unmarshal(text, k) }

// String returns "evolve", "freeze", "discard_row" or "discard_value".
func (m Mode) String() string { return modeText.String(m) }

// MarshalText returns the name String returns.
func (m Mode) MarshalText() ([]byte, error) { return modeText.Marshal(m) }

// UnmarshalText sets m from "evolve", "freeze", "discard_row" or
// "discard_value".
func (m *Mode) UnmarshalText(text []byte) error { return modeText.Unmarshal(text, m) }

// String returns "exact", "rounded" or "max".
func (z Sizing) String() string { return sizingText.String(z) }

// MarshalText returns the name String returns.
func (z Sizing) MarshalText() ([]byte, error) { return sizingText.Marshal(z) }

// UnmarshalText sets z from "exact", "rounded" or "max".
func (z *Sizing) UnmarshalText(text []byte) error { return sizingText.Unmarshal(text, z) }

// String returns "upper" or "preserve".
func (c Case) String() string { return caseText.String(c) }

// MarshalText returns the name String returns.
func (c Case) MarshalText() ([]byte, error) { return caseText.Marshal(c) }

// UnmarshalText sets c from "upper" or "preserve".
func (c *Case) UnmarshalText(text []byte) error { return caseText.Unmarshal(text, c) }

// String returns "create", "add" or "widen".
func (k ChangeKind) String() string { return changeKindText.String(k) }

// MarshalText returns the name String returns.
func (k ChangeKind) MarshalText() ([]byte, error) { return changeKindText.Marshal(k) }

// UnmarshalText sets k from "create", "add" or "widen".
func (k *ChangeKind) UnmarshalText(text []byte) error { return changeKindText.Unmarshal(text, k) }

// MarshalText returns t's SQL text, as String does.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses SQL type text with ParseType.
func (t *Type) UnmarshalText(text []byte) error {
	v, err := ParseType(string(text))
	if err == nil {
		*t = v
	}
	return err
}
