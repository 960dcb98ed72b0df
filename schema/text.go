package schema

import (
	"fmt"
	"strconv"
)

// The enums of this package implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return, so
// they can be flags and configuration fields (JSON, YAML). Type does too,
// with its SQL text (ParseType).

var (
	sizingNames     = []string{SizeExact: "exact", SizeRounded: "rounded", SizeMax: "max"}
	caseNames       = []string{Upper: "upper", Preserve: "preserve"}
	changeKindNames = []string{ChangeCreate: "create", ChangeAdd: "add", ChangeWiden: "widen"}
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
	for i := len(names) - 1; i >= 0; i-- { // the last of equal names wins (TypeKind: VARIANT)
		if names[i] != "" && string(text) == names[i] {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown %s %q (want one of %q)", ErrOptions, typ, text, names)
}

// String returns "exact", "rounded" or "max".
func (z Sizing) String() string { return enumName(sizingNames, int(z), "Sizing") }

// MarshalText returns the name String returns.
func (z Sizing) MarshalText() ([]byte, error) { return marshalEnum(sizingNames, int(z), "Sizing") }

// UnmarshalText sets z from "exact", "rounded" or "max".
func (z *Sizing) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(sizingNames, text, "Sizing")
	if err == nil {
		*z = Sizing(v)
	}
	return err
}

// String returns "upper" or "preserve".
func (c Case) String() string { return enumName(caseNames, int(c), "Case") }

// MarshalText returns the name String returns.
func (c Case) MarshalText() ([]byte, error) { return marshalEnum(caseNames, int(c), "Case") }

// UnmarshalText sets c from "upper" or "preserve".
func (c *Case) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(caseNames, text, "Case")
	if err == nil {
		*c = Case(v)
	}
	return err
}

// String returns "create", "add" or "widen".
func (k ChangeKind) String() string { return enumName(changeKindNames, int(k), "ChangeKind") }

// MarshalText returns the name String returns.
func (k ChangeKind) MarshalText() ([]byte, error) {
	return marshalEnum(changeKindNames, int(k), "ChangeKind")
}

// UnmarshalText sets k from "create", "add" or "widen".
func (k *ChangeKind) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(changeKindNames, text, "ChangeKind")
	if err == nil {
		*k = ChangeKind(v)
	}
	return err
}

// MarshalText returns the Snowflake name String returns (Unknown, which
// loads as VARIANT, is written "VARIANT").
func (k TypeKind) MarshalText() ([]byte, error) {
	return marshalEnum(typeKindNames[:], int(k), "TypeKind")
}

// UnmarshalText sets k from a Snowflake type name as String returns it
// ("VARIANT" gives Variant).
func (k *TypeKind) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(typeKindNames[:], text, "TypeKind")
	if err == nil {
		*k = TypeKind(v)
	}
	return err
}

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
