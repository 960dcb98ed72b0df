package load

import (
	"errors"
	"testing"

	"github.com/snowflakedb/gosnowflake"
)

func TestEnumText(t *testing.T) {
	for _, d := range []Disposition{Append, Replace, Merge} {
		b, err := d.MarshalText()
		var back Disposition
		if err != nil || back.UnmarshalText(b) != nil || back != d || string(b) != d.String() {
			t.Errorf("Disposition %v: text %q, %v; back %v", d, b, err, back)
		}
	}
	for _, k := range []StageKind{TableStage, NamedStage, ExternalStage} {
		b, err := k.MarshalText()
		var back StageKind
		if err != nil || back.UnmarshalText(b) != nil || back != k || string(b) != k.String() {
			t.Errorf("StageKind %v: text %q, %v; back %v", k, b, err, back)
		}
	}
	var d Disposition
	if err := d.UnmarshalText([]byte("upsert")); !errors.Is(err, ErrOptions) {
		t.Errorf("UnmarshalText(upsert) = %v, want ErrOptions", err)
	}
	var k StageKind
	if err := k.UnmarshalText([]byte("user")); !errors.Is(err, ErrOptions) {
		t.Errorf("UnmarshalText(user) = %v, want ErrOptions", err)
	}
	if _, err := Disposition(9).MarshalText(); !errors.Is(err, ErrOptions) {
		t.Errorf("MarshalText(9) = %v, want ErrOptions", err)
	}
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
