package load

import (
	"errors"
	"testing"

	"github.com/snowflakedb/gosnowflake"
)

// textEnum is what TestEnumText needs of an enum.
type textEnum interface {
	String() string
	MarshalText() ([]byte, error)
}

// TestEnumText checks the text form of Disposition and StageKind: the names
// they had before internal/enumtext, a round trip through UnmarshalText, and
// the errors for unknown names and values.
func TestEnumText(t *testing.T) {
	for _, tt := range []struct {
		v    textEnum
		name string
		back func([]byte) (textEnum, error)
	}{
		{Append, "append", unmarshal[Disposition]},
		{Replace, "replace", unmarshal[Disposition]},
		{Merge, "merge", unmarshal[Disposition]},
		{TableStage, "table", unmarshal[StageKind]},
		{NamedStage, "named", unmarshal[StageKind]},
		{ExternalStage, "external", unmarshal[StageKind]},
	} {
		b, err := tt.v.MarshalText()
		if err != nil || string(b) != tt.name || tt.v.String() != tt.name {
			t.Errorf("%#v: MarshalText() = %q, %v, String() = %q; want %q", tt.v, b, err, tt.v.String(), tt.name)
		}
		if back, err := tt.back([]byte(tt.name)); err != nil || back != tt.v {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tt.name, back, err, tt.v)
		}
	}
	for _, tt := range []struct {
		text, want string
		back       func([]byte) (textEnum, error)
	}{
		{"upsert", `load: invalid options: unknown Disposition "upsert" (want append, replace or merge)`, unmarshal[Disposition]},
		{"Append", `load: invalid options: unknown Disposition "Append" (want append, replace or merge)`, unmarshal[Disposition]},
		{"user", `load: invalid options: unknown StageKind "user" (want table, named or external)`, unmarshal[StageKind]},
	} {
		if _, err := tt.back([]byte(tt.text)); !errors.Is(err, ErrOptions) || err.Error() != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, want %s", tt.text, err, tt.want)
		}
	}
	for _, v := range []textEnum{Disposition(9), StageKind(9)} {
		if _, err := v.MarshalText(); !errors.Is(err, ErrOptions) {
			t.Errorf("%s.MarshalText() = %v, want ErrOptions", v, err)
		}
	}
	if got := Disposition(9).String(); got != "Disposition(9)" {
		t.Errorf("Disposition(9).String() = %q", got)
	}
	if got := StageKind(9).String(); got != "StageKind(9)" {
		t.Errorf("StageKind(9).String() = %q", got)
	}
	// A failed UnmarshalText leaves the value unchanged.
	d := Merge
	if err := d.UnmarshalText([]byte("x")); err == nil || d != Merge {
		t.Errorf("UnmarshalText(x) = %v and set %v", err, d)
	}
}

// unmarshal parses text with *T's UnmarshalText.
func unmarshal[T any, P interface {
	*T
	UnmarshalText([]byte) error
}](text []byte) (textEnum, error) {
	var v T
	err := P(&v).UnmarshalText(text)
	te, _ := any(v).(textEnum)
	return te, err
}

func TestErrorsUnwrapToSentinels(t *testing.T) {
	sf := &gosnowflake.SnowflakeError{Number: 100038}
	ce := &CopyError{Table: "T", Files: 1, Err: sf}
	var got *gosnowflake.SnowflakeError
	if !errors.Is(ce, ErrCopy) || !errors.As(ce, &got) || got.Number != 100038 {
		t.Errorf("CopyError unwraps to ErrCopy %v and the driver error %v", errors.Is(ce, ErrCopy), got)
	}
	for _, c := range []struct {
		err  error
		want error
	}{
		{&SnowpipeError{Status: 404}, ErrSnowpipe},
		{&FileError{}, ErrIncomplete},
		{&PipeLoadError{}, ErrIncomplete},
		{&SchemaMismatchError{}, ErrSchemaMismatch},
		{&ConfigError{}, ErrConfig},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%T does not unwrap to %v", c.err, c.want)
		}
	}
	if _, err := (Config{PrivateKeyPath: "testdata/none.p8"}).PrivateKeyRSA(); !errors.Is(err, ErrPrivateKey) {
		t.Errorf("missing key file: %v, want ErrPrivateKey", err)
	}
	if _, err := parsePrivateKey([]byte("x"), ""); !errors.Is(err, ErrPrivateKey) {
		t.Errorf("bad key: %v, want ErrPrivateKey", err)
	}
}
