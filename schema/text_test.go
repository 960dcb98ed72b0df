package schema

import (
	"encoding"
	"errors"
	"testing"
)

// TestEnumText checks that every enum's text is the name String returns,
// both ways, and that unknown names wrap ErrOptions.
func TestEnumText(t *testing.T) {
	type enum interface {
		String() string
		encoding.TextMarshaler
	}
	roundTrip := func(v enum, back encoding.TextUnmarshaler, get func() enum) {
		t.Helper()
		b, err := v.MarshalText()
		if err != nil || string(b) != v.String() {
			t.Errorf("%T(%v).MarshalText() = %q, %v, want %q", v, v, b, err, v.String())
			return
		}
		if err := back.UnmarshalText(b); err != nil || get() != v {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", b, get(), err, v)
		}
		if err := back.UnmarshalText([]byte("no such name")); !errors.Is(err, ErrOptions) {
			t.Errorf("%T.UnmarshalText(no such name) = %v, want ErrOptions", back, err)
		}
	}
	for _, v := range []Mode{Evolve, Freeze, DiscardRow, DiscardValue} {
		var x Mode
		roundTrip(v, &x, func() enum { return x })
	}
	for _, v := range []Sizing{SizeExact, SizeRounded, SizeMax} {
		var x Sizing
		roundTrip(v, &x, func() enum { return x })
	}
	for _, v := range []Case{Upper, Preserve} {
		var x Case
		roundTrip(v, &x, func() enum { return x })
	}
	for _, v := range []ChangeKind{ChangeCreate, ChangeAdd, ChangeWiden} {
		var x ChangeKind
		roundTrip(v, &x, func() enum { return x })
	}
	for _, v := range []TypeKind{Boolean, Number, Float, Varchar, Date, TimestampNTZ, TimestampTZ, Object, Array, Variant, Other} {
		var x TypeKind
		roundTrip(v, &x, func() enum { return x })
	}
	for _, s := range []string{"NUMBER(38,2)", "VARCHAR(16)", "BOOLEAN", "TIMESTAMP_TZ"} {
		var ty Type
		if err := ty.UnmarshalText([]byte(s)); err != nil {
			t.Fatalf("Type.UnmarshalText(%q): %v", s, err)
		}
		if b, _ := ty.MarshalText(); string(b) != s {
			t.Errorf("Type %q round trip = %q", s, b)
		}
	}
}
