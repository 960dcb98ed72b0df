package schema

import (
	"errors"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

func num(p, s int) Type  { return Type{Kind: Number, Precision: p, Scale: s} }
func vc(n int) Type      { return Type{Kind: Varchar, Length: n} }
func kt(k TypeKind) Type { return Type{Kind: k} }

func TestNumberType(t *testing.T) {
	tests := []struct {
		lit  string
		want Type
	}{
		{"0", num(1, 0)},
		{"-12", num(2, 0)},
		{"1.50", num(3, 2)},
		{"0.5", num(1, 1)},
		{"-0.001", num(3, 3)},
		{"12345678901234567890123456789012345678", num(38, 0)},
		{"123456789012345678901234567890123456789", vc(39)},
		{"1.2345678901234567890123456789012345678", num(38, 37)},
		{"0.12345678901234567890123456789012345678", kt(Float)},
		{"1.23456789012345678901234567890123456789", kt(Float)},
		{"1e5", kt(Float)},
		{"-2.5E-3", kt(Float)},
		{"1e400", vc(5)},
		{"", vc(1)},
	}
	for _, tt := range tests {
		if got := NumberType([]byte(tt.lit)); got != tt.want {
			t.Errorf("NumberType(%q) = %v, want %v", tt.lit, got, tt.want)
		}
	}
}

func TestTimeType(t *testing.T) {
	tests := []struct {
		s    string
		want TypeKind
	}{
		{"2024-02-29", Date},
		{"2023-02-29", Unknown},
		{"2024-13-01", Unknown},
		{"2024-01-02T03:04:05", TimestampNTZ},
		{"2024-01-02 03:04:05.123456789", TimestampNTZ},
		{"2024-01-02T03:04:05.1234567890", Unknown},
		{"2024-01-02T03:04:05Z", TimestampTZ},
		{"2024-01-02T03:04:05.5+05:30", TimestampTZ},
		{"2024-01-02T03:04:05+0530", Unknown},
		{"2024-01-02T24:00:00", Unknown},
		{"2024-01-02T", Unknown},
		{"hello", Unknown},
		{"20240102", Unknown},
	}
	for _, tt := range tests {
		if got := TimeType([]byte(tt.s)); got != tt.want {
			t.Errorf("TimeType(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestWiden(t *testing.T) {
	tests := []struct {
		a, b Type
		text int
		want Type
	}{
		{kt(Unknown), num(3, 0), 0, num(3, 0)},
		{num(3, 0), num(5, 2), 0, num(5, 2)},
		{num(10, 0), num(5, 4), 0, num(14, 4)},
		{num(38, 0), num(2, 1), 0, kt(Float)},
		{num(3, 0), kt(Float), 0, kt(Float)},
		{kt(Float), num(3, 0), 0, kt(Float)},
		{num(3, 0), vc(2), 3, vc(3)},
		{kt(Boolean), num(1, 0), 5, vc(5)},
		{kt(Boolean), kt(Boolean), 0, kt(Boolean)},
		{vc(4), vc(9), 0, vc(9)},
		{kt(Date), kt(TimestampNTZ), 0, kt(TimestampNTZ)},
		{kt(TimestampTZ), kt(Date), 0, kt(TimestampTZ)},
		{kt(Date), vc(3), 10, vc(10)},
		{kt(Object), kt(Array), 0, kt(Variant)},
		{kt(Object), kt(Object), 0, kt(Object)},
		{num(1, 0), kt(Array), 0, kt(Variant)},
		{kt(Variant), vc(3), 0, kt(Variant)},
		{Type{Kind: Other, Raw: "BINARY"}, vc(3), 0, kt(Variant)},
	}
	for _, tt := range tests {
		if got := Widen(tt.a, tt.b, tt.text); got != tt.want {
			t.Errorf("Widen(%v, %v, %d) = %v, want %v", tt.a, tt.b, tt.text, got, tt.want)
		}
		if got := Widen(tt.b, tt.a, tt.text); got != tt.want {
			t.Errorf("Widen(%v, %v, %d) = %v, want %v (commutative)", tt.b, tt.a, tt.text, got, tt.want)
		}
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{"NUMBER(38,0)", num(38, 0)},
		{"number(10, 2)", num(10, 2)},
		{"DECIMAL", num(38, 0)},
		{"INT", num(38, 0)},
		{"VARCHAR(16777216)", vc(16777216)},
		{"TEXT", vc(MaxVarcharLength)},
		{"CHAR", vc(1)},
		{"FLOAT", kt(Float)},
		{"DOUBLE", kt(Float)},
		{"BOOLEAN", kt(Boolean)},
		{"DATE", kt(Date)},
		{"TIMESTAMP_NTZ(9)", kt(TimestampNTZ)},
		{"TIMESTAMP_TZ(9)", kt(TimestampTZ)},
		{"VARIANT", kt(Variant)},
		{"OBJECT", kt(Object)},
		{"ARRAY", kt(Array)},
		{"BINARY(8388608)", Type{Kind: Other, Raw: "BINARY(8388608)"}},
		{"ARRAY(NUMBER(38,0))", Type{Kind: Other, Raw: "ARRAY(NUMBER(38,0))"}},
		{"OBJECT(a VARCHAR, b NUMBER)", Type{Kind: Other, Raw: "OBJECT(a VARCHAR, b NUMBER)"}},
		{"VECTOR(FLOAT, 256)", Type{Kind: Other, Raw: "VECTOR(FLOAT, 256)"}},
		{"TIMESTAMP_LTZ(9)", Type{Kind: Other, Raw: "TIMESTAMP_LTZ(9)"}},
		{"GEOGRAPHY", Type{Kind: Other, Raw: "GEOGRAPHY"}},
	}
	for _, tt := range tests {
		got, err := ParseType(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseType(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "NUMBER(39,0)", "NUMBER(5,6)", "VARCHAR(x)", "NUMBER(1", "VARCHAR(0)"} {
		if _, err := ParseType(bad); !errors.Is(err, ErrType) {
			t.Errorf("ParseType(%q) = %v, want ErrType", bad, err)
		}
	}
	for _, typ := range []Type{num(7, 3), vc(12), kt(Float), kt(TimestampTZ), kt(Variant), kt(Boolean)} {
		if got, err := ParseType(typ.String()); err != nil || got != typ {
			t.Errorf("ParseType(%q) = %v, %v, want %v", typ.String(), got, err, typ)
		}
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		t    Type
		k    flatten.Kind
		v    string
		want bool
	}{
		{num(5, 2), flatten.Number, "123.45", true},
		{num(5, 2), flatten.Number, "1234.5", false},
		{num(5, 2), flatten.Number, "1.234", false},
		{num(5, 2), flatten.String, "1", false},
		{num(5, 2), flatten.Null, "null", true},
		{kt(Float), flatten.Number, "1e300", true},
		{kt(Float), flatten.Number, "1e400", false},
		{vc(3), flatten.String, "abc", true},
		{vc(3), flatten.String, "äöü", true},
		{vc(3), flatten.String, "abcd", false},
		{vc(5), flatten.Number, "12345", true},
		{vc(5), flatten.Array, "[]", false},
		{kt(Boolean), flatten.Bool, "true", true},
		{kt(Boolean), flatten.String, "true", false},
		{kt(TimestampTZ), flatten.String, "2024-01-01", true},
		{kt(Date), flatten.String, "2024-01-01T00:00:00Z", false},
		{kt(Variant), flatten.Object, "{}", true},
		{kt(Array), flatten.Object, "{}", false},
	}
	for _, tt := range tests {
		if got := tt.t.Accepts(tt.k, []byte(tt.v), true); got != tt.want {
			t.Errorf("%v.Accepts(%v, %q) = %v, want %v", tt.t, tt.k, tt.v, got, tt.want)
		}
	}
}
