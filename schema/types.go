package schema

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
)

// Limits of Snowflake types.
const (
	// MaxPrecision is the most digits of a NUMBER.
	MaxPrecision = 38
	// MaxVarcharLength is the default (and, on older accounts, largest)
	// VARCHAR length in characters.
	MaxVarcharLength = 16777216
)

// TypeKind is a Snowflake column type without its parameters.
type TypeKind uint8

// The column types inferred or read. Their order is not the lattice order;
// see Widen.
const (
	Unknown TypeKind = iota // only JSON null seen; rendered as VARIANT
	Boolean
	Number // NUMBER(Precision, Scale)
	Float
	Varchar // VARCHAR(Length)
	Date
	TimestampNTZ
	TimestampTZ
	Object
	Array
	Variant
	Other // a type read from a table that this package does not infer (BINARY, TIME, ...)
)

// Type is a column type. It is a plain value, safe for concurrent use.
type Type struct {
	Kind      TypeKind
	Precision int    // NUMBER: total digits, 1..38
	Scale     int    // NUMBER: digits after the point, 0..Precision
	Length    int    // VARCHAR: characters, 1..MaxVarcharLength
	Raw       string // Other: the type as read
}

// String returns the type as written in DDL: "NUMBER(10,2)", "VARCHAR(12)",
// "TIMESTAMP_TZ", ...
func (t Type) String() string {
	return string(t.AppendSQL(nil))
}

// AppendSQL appends the type as written in DDL to dst.
func (t Type) AppendSQL(dst []byte) []byte {
	switch t.Kind {
	case Number:
		dst = append(dst, "NUMBER("...)
		dst = strconv.AppendInt(dst, int64(t.Precision), 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(t.Scale), 10)
		return append(dst, ')')
	case Varchar:
		dst = append(dst, "VARCHAR("...)
		dst = strconv.AppendInt(dst, int64(max(t.Length, 1)), 10)
		return append(dst, ')')
	case Other:
		return append(dst, t.Raw...)
	}
	return append(dst, t.Kind.String()...)
}

// ParseType parses a type as DESC TABLE shows it ("NUMBER(38,0)",
// "VARCHAR(16777216)", "TIMESTAMP_NTZ(9)", "FLOAT", "VARIANT") or as written
// in DDL with synonyms (INT, DECIMAL(10,2), TEXT, STRING, DOUBLE, ...). Types
// this package does not infer parse as Kind Other with Raw set.
func ParseType(s string) (Type, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "" {
		return Type{}, fmt.Errorf("%w: empty", ErrType)
	}
	name, args := u, ""
	if i := strings.IndexByte(u, '('); i >= 0 {
		if !strings.HasSuffix(u, ")") {
			return Type{}, fmt.Errorf("%w: %q", ErrType, s)
		}
		name, args = strings.TrimSpace(u[:i]), u[i+1:len(u)-1]
	}
	nums, numeric := typeArgs(args)
	var t Type
	switch name {
	case "NUMBER", "DECIMAL", "NUMERIC", "FIXED":
		t = Type{Kind: Number, Precision: arg(nums, 0, MaxPrecision), Scale: arg(nums, 1, 0)}
		if !numeric || len(nums) > 2 || t.Precision < 1 || t.Precision > MaxPrecision || t.Scale > t.Precision {
			return Type{}, fmt.Errorf("%w: %q", ErrType, s)
		}
	case "VARCHAR", "TEXT", "STRING", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR", "NVARCHAR2", "CHAR VARYING", "NCHAR VARYING":
		def := MaxVarcharLength
		if name == "CHAR" || name == "CHARACTER" || name == "NCHAR" {
			def = 1
		}
		t = Type{Kind: Varchar, Length: arg(nums, 0, def)}
		if !numeric || len(nums) > 1 || t.Length < 1 {
			return Type{}, fmt.Errorf("%w: %q", ErrType, s)
		}
	default:
		t = Type{Kind: Other}
		// Only timestamps take a parameter (their precision) we drop;
		// structured OBJECT(...) and ARRAY(...), VECTOR(...), BINARY(n)...
		// are Other.
		if numeric && (args == "" || strings.HasPrefix(name, "TIMESTAMP") || name == "DATETIME") {
			t = plainType(name)
		}
		if t.Kind == Other {
			t.Raw = strings.TrimSpace(s)
		}
	}
	return t, nil
}

// typeArgs parses the text between a type's parentheses: the non-negative
// integers, and whether there was nothing else.
func typeArgs(args string) (nums []int, ok bool) {
	if args == "" {
		return nil, true
	}
	for _, a := range strings.Split(args, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil || v < 0 {
			return nil, false
		}
		nums = append(nums, v)
	}
	return nums, true
}

// arg returns nums[i], or def when there are fewer arguments.
func arg(nums []int, i, def int) int {
	if i < len(nums) {
		return nums[i]
	}
	return def
}

// plainType returns the type named name (upper case, no parameters) among
// those this package infers, by every name Snowflake accepts for them, or
// Kind Other.
func plainType(name string) Type {
	switch name {
	case "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT":
		return Type{Kind: Number, Precision: MaxPrecision}
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL":
		return Type{Kind: Float}
	case "BOOLEAN":
		return Type{Kind: Boolean}
	case "DATE":
		return Type{Kind: Date}
	case "TIMESTAMP_NTZ", "DATETIME":
		return Type{Kind: TimestampNTZ}
	case "TIMESTAMP_TZ":
		return Type{Kind: TimestampTZ}
	case "VARIANT":
		return Type{Kind: Variant}
	case "OBJECT":
		return Type{Kind: Object}
	case "ARRAY":
		return Type{Kind: Array}
	}
	return Type{Kind: Other}
}

func isTemporal(k TypeKind) bool { return k == Date || k == TimestampNTZ || k == TimestampTZ }
func isContainer(k TypeKind) bool {
	return k == Object || k == Array || k == Variant
}

// Widen returns the smallest type on the lattice (see the package
// documentation, "Inference") that holds every value of a and of b. textLen
// is the longest text (in characters) of any value seen; it sizes the
// VARCHAR made when two scalar types meet.
func Widen(a, b Type, textLen int) Type {
	if a.Kind == Unknown {
		return b
	}
	if b.Kind == Unknown {
		return a
	}
	if a.Kind == Other || b.Kind == Other {
		if a == b {
			return a
		}
		return Type{Kind: Variant}
	}
	if a.Kind == b.Kind {
		switch a.Kind {
		case Number:
			s := max(a.Scale, b.Scale)
			p := max(a.Precision-a.Scale, b.Precision-b.Scale) + s
			if p > MaxPrecision {
				return Type{Kind: Float}
			}
			return Type{Kind: Number, Precision: p, Scale: s}
		case Varchar:
			return Type{Kind: Varchar, Length: max(a.Length, b.Length)}
		}
		return a
	}
	if isContainer(a.Kind) || isContainer(b.Kind) {
		return Type{Kind: Variant}
	}
	if a.Kind > b.Kind {
		a, b = b, a
	}
	switch {
	case a.Kind == Number && b.Kind == Float:
		return Type{Kind: Float}
	case isTemporal(a.Kind) && isTemporal(b.Kind):
		return Type{Kind: max(a.Kind, b.Kind)}
	}
	return Type{Kind: Varchar, Length: min(max(a.Length, b.Length, textLen, 1), MaxVarcharLength)}
}

// Covers reports whether a column of type t takes every value of type u
// without loss: Widen(t, u) == t, ignoring VARCHAR text lengths of non-text
// values.
func (t Type) Covers(u Type) bool {
	if t.Kind == Variant || u.Kind == Unknown {
		return true
	}
	if t.Kind == Varchar && u.Kind != Varchar && !isContainer(u.Kind) && u.Kind != Other {
		return true // any scalar's text fits a long enough VARCHAR; lengths are checked per value
	}
	return Widen(t, u, 0) == t
}

// NumberType returns the type of a JSON number literal by the documented
// rule: NUMBER(p,s) when it has at most 38 digits and no exponent, VARCHAR
// for a longer integer, FLOAT for an exponent or a longer decimal that float64
// holds, VARCHAR otherwise. It does not allocate.
func NumberType(lit []byte) Type {
	i := 0
	if i < len(lit) && (lit[i] == '-' || lit[i] == '+') {
		i++
	}
	intStart := i
	for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
		i++
	}
	intEnd := i
	frac := 0
	if i < len(lit) && lit[i] == '.' {
		i++
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
			frac++
		}
	}
	exp := i < len(lit) && (lit[i] == 'e' || lit[i] == 'E')
	if intEnd == intStart && frac == 0 {
		return Type{Kind: Varchar, Length: max(len(lit), 1)}
	}
	if !exp && i == len(lit) {
		z := intStart
		for z < intEnd && lit[z] == '0' {
			z++
		}
		intDigits := intEnd - z
		if intDigits+frac <= MaxPrecision && frac <= MaxPrecision-1 {
			return Type{Kind: Number, Precision: max(intDigits+frac, 1), Scale: frac}
		}
		if frac == 0 {
			return Type{Kind: Varchar, Length: len(lit)}
		}
	}
	f, err := strconv.ParseFloat(bytesToString(lit), 64)
	if err != nil || f-f != 0 {
		return Type{Kind: Varchar, Length: max(len(lit), 1)}
	}
	return Type{Kind: Float}
}

// ValueType returns the type of one flattened value: see NumberType and, for
// strings, TimeType when detectTime is set. It does not allocate.
func ValueType(k flatten.Kind, v []byte, detectTime bool) Type {
	switch k {
	case flatten.Null:
		return Type{}
	case flatten.Bool:
		return Type{Kind: Boolean}
	case flatten.Number:
		return NumberType(v)
	case flatten.String:
		if detectTime {
			if tk := TimeType(v); tk != Unknown {
				return Type{Kind: tk}
			}
		}
		return Type{Kind: Varchar, Length: min(max(runeCount(v), 1), MaxVarcharLength)}
	case flatten.Object:
		return Type{Kind: Object}
	case flatten.Array:
		return Type{Kind: Array}
	}
	return Type{Kind: Variant}
}

// Accepts reports whether a column of type t takes the value v of kind k as
// is: a number with no more integer digits and scale than a NUMBER, a string
// no longer than a VARCHAR, and so on. JSON null is accepted by every type.
// It does not allocate.
func (t Type) Accepts(k flatten.Kind, v []byte, detectTime bool) bool {
	if k == flatten.Null {
		return true
	}
	switch t.Kind {
	case Variant, Unknown:
		return true
	case Varchar:
		if k == flatten.Object || k == flatten.Array {
			return false
		}
		if len(v) <= t.Length {
			return true
		}
		return runeCount(v) <= t.Length
	case Float:
		if k != flatten.Number {
			return false
		}
		f, err := strconv.ParseFloat(bytesToString(v), 64)
		return err == nil && f-f == 0
	case Date, TimestampNTZ, TimestampTZ:
		if k != flatten.String {
			return false
		}
		return t.Covers(Type{Kind: TimeType(v)}) && TimeType(v) != Unknown
	case Other:
		return false
	}
	return t.Covers(ValueType(k, v, detectTime))
}

// TimeType classifies an ISO-8601 string: "2006-01-02" is Date;
// "2006-01-02T15:04:05" (a space instead of T allowed, optional fraction of up
// to 9 digits) is TimestampNTZ; the same followed by "Z" or "±hh:mm" is
// TimestampTZ. Anything else, including impossible dates, is Unknown. It
// does not allocate.
func TimeType(v []byte) TypeKind {
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return Unknown
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return Unknown
	}
	if len(v) == 10 {
		return Date
	}
	if len(v) < 19 || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') || v[13] != ':' || v[16] != ':' {
		return Unknown
	}
	h, ok1 := num(v[11:13])
	mi, ok2 := num(v[14:16])
	s, ok3 := num(v[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 59 {
		return Unknown
	}
	rest := v[19:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return Unknown
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 0:
		return TimestampNTZ
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		return TimestampTZ
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if ok1 && ok2 && oh <= 23 && om <= 59 {
			return TimestampTZ
		}
	}
	return Unknown
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
