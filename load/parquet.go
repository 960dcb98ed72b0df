package load

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	pgzip "github.com/parquet-go/parquet-go/compress/gzip"
	pzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// Parquet encoding classes: one per physical and logical column type.
const (
	pqText   uint8 = iota // UTF8 string
	pqJSON                // JSON logical type (VARIANT, OBJECT, ARRAY)
	pqBool                // BOOLEAN
	pqInt64               // INT64 (NUMBER(p,0), p ≤ 18)
	pqDouble              // DOUBLE (FLOAT)
	pqDec64  = 32         // DECIMAL(18,s) on INT64: pqDec64 + s
	pqDec128 = 64         // DECIMAL(38,s) on FIXED_LEN_BYTE_ARRAY(16): pqDec128 + s
)

// parquetEncoder writes Parquet files whose schema is built from the
// columns' types when the file opens: every column optional, named as the
// table column, in byte order of names (parquet-go orders group fields so).
// Pages are compressed with the writer's Compression; a row group is
// flushed when its values reach RowGroupBytes.
type parquetEncoder struct {
	codec   compress.Codec
	rgBytes int64
	pw      *parquet.GenericWriter[any]
	prow    parquet.Row
	rows    []parquet.Row
	arena   []byte
	spans   [][2]int32 // per file column: arena span of this row's bytes
	slot    []int32
	gen     []uint32
	cur     uint32
	rgRaw   int64
}

func newParquetEncoder(o WriterOptions) *parquetEncoder {
	e := &parquetEncoder{rgBytes: o.RowGroupBytes}
	switch o.Compression {
	case Gzip:
		lvl := 6
		if o.Level > 0 {
			lvl = o.Level
		}
		e.codec = &pgzip.Codec{Level: lvl}
	case Zstd:
		lvl := pzstd.DefaultLevel
		if o.Level > 0 {
			lvl = pzstd.Level(o.Level)
		}
		e.codec = &pzstd.Codec{Level: lvl, Concurrency: 1}
	default:
		e.codec = &parquet.Uncompressed
	}
	return e
}

func (e *parquetEncoder) fixedColumns() bool { return true }

func (e *parquetEncoder) class(t schema.Type) uint8 {
	switch t.Kind {
	case schema.Boolean:
		return pqBool
	case schema.Number:
		switch {
		case t.Precision <= 18 && t.Scale == 0:
			return pqInt64
		case t.Precision <= 18:
			return pqDec64 + uint8(t.Scale)
		default:
			return pqDec128 + uint8(t.Scale)
		}
	case schema.Float:
		return pqDouble
	case schema.Variant, schema.Object, schema.Array, schema.Unknown:
		return pqJSON
	}
	return pqText
}

func (e *parquetEncoder) order(cols []*column) {
	slices.SortFunc(cols, func(a, b *column) int { return strings.Compare(a.name, b.name) })
}

func (e *parquetEncoder) node(c *column) parquet.Node {
	var n parquet.Node
	switch t := c.typ; {
	case c.class == pqBool:
		n = parquet.Leaf(parquet.BooleanType)
	case c.class == pqInt64:
		n = parquet.Int(64)
	case c.class == pqDouble:
		n = parquet.Leaf(parquet.DoubleType)
	case c.class == pqJSON:
		n = parquet.JSON()
	case c.class == pqText:
		n = parquet.String()
	case c.class >= pqDec128:
		n = parquet.Decimal(t.Scale, schema.MaxPrecision, parquet.FixedLenByteArrayType(16))
	default:
		n = parquet.Decimal(t.Scale, 18, parquet.Int64Type)
	}
	return parquet.Optional(n)
}

func (e *parquetEncoder) begin(w *Writer) error {
	g := parquet.Group{}
	for _, c := range w.fileCols {
		g[c.name] = e.node(c)
	}
	sch := parquet.NewSchema("schema", g)
	opts := []parquet.WriterOption{sch, parquet.Compression(e.codec), parquet.CreatedBy("flatpipe", "", "")}
	e.pw = parquet.NewGenericWriter[any](w.buf, opts...)
	n := len(w.fileCols)
	e.prow = grow(e.prow, n)
	e.spans = grow(e.spans, n)
	e.slot = grow(e.slot, n)
	e.gen = grow(e.gen, n)
	clear(e.gen)
	e.cur = 0
	e.rgRaw = 0
	if cap(e.rows) == 0 {
		e.rows = make([]parquet.Row, 1)
	}
	return nil
}

func (e *parquetEncoder) pending() int64 { return e.rgRaw / 4 }

func (e *parquetEncoder) end(w *Writer) error {
	err := e.pw.Close()
	e.pw = nil
	return err
}

func (e *parquetEncoder) row(w *Writer, fields []flatten.Field) error {
	e.cur++
	if e.cur == 0 {
		clear(e.gen)
		e.cur = 1
	}
	for i := range fields {
		pos := w.cols[w.fcol[i]].pos
		e.slot[pos] = int32(i)
		e.gen[pos] = e.cur
	}
	// First the bytes that need a home (JSON strings, decimals), then the
	// values, so that growing the arena moves nothing a value points to.
	a := e.arena[:0]
	for pos, c := range w.fileCols {
		e.spans[pos] = [2]int32{-1, -1}
		if e.gen[pos] != e.cur {
			continue
		}
		f := &fields[e.slot[pos]]
		start := len(a)
		switch {
		case f.Kind == flatten.Null:
			if c.class == pqJSON && c.typ.Kind == schema.Variant {
				a = append(a, "null"...)
			} else {
				continue
			}
		case c.class == pqJSON && f.Kind == flatten.String:
			a = appendJSONString(a, f.Value)
		case c.class >= pqDec128:
			var ok bool
			if a, ok = appendDecimal128(a, f.Value, c.typ.Scale); !ok {
				return fmt.Errorf("%w: %q does not fit %s", ErrValue, f.Value, c.typ)
			}
		default:
			continue
		}
		e.spans[pos] = [2]int32{int32(start), int32(len(a))}
	}
	e.arena = a
	for pos, c := range w.fileCols {
		var v parquet.Value
		if e.gen[pos] != e.cur {
			e.prow[pos] = parquet.NullValue().Level(0, 0, pos)
			continue
		}
		f := &fields[e.slot[pos]]
		sp := e.spans[pos]
		switch {
		case sp[0] >= 0:
			if c.class >= pqDec128 {
				v = parquet.FixedLenByteArrayValue(a[sp[0]:sp[1]])
			} else {
				v = parquet.ByteArrayValue(a[sp[0]:sp[1]])
			}
		case f.Kind == flatten.Null:
			e.prow[pos] = parquet.NullValue().Level(0, 0, pos)
			continue
		case c.class == pqBool:
			v = parquet.BooleanValue(len(f.Value) == 4)
		case c.class == pqInt64 || c.class >= pqDec64 && c.class < pqDec128:
			n, ok := unscaled64(f.Value, c.typ.Scale)
			if !ok {
				return fmt.Errorf("%w: %q does not fit %s", ErrValue, f.Value, c.typ)
			}
			v = parquet.Int64Value(n)
		case c.class == pqDouble:
			x, err := strconv.ParseFloat(bytesString(f.Value), 64)
			if err != nil {
				return fmt.Errorf("%w: %q is not a FLOAT", ErrValue, f.Value)
			}
			v = parquet.DoubleValue(x)
		default:
			v = parquet.ByteArrayValue(f.Value)
		}
		e.rgRaw += int64(len(f.Value)) + 2
		e.prow[pos] = v.Level(0, 1, pos)
	}
	e.rows[0] = e.prow
	if _, err := e.pw.WriteRows(e.rows); err != nil {
		return err
	}
	if e.rgRaw >= w.o.RowGroupBytes {
		e.rgRaw = 0
		return e.pw.Flush()
	}
	return nil
}

// digits splits a JSON number literal without exponent into its sign,
// integer digits and fraction digits.
func digits(v []byte) (neg bool, intPart, frac []byte, ok bool) {
	if len(v) > 0 && v[0] == '-' {
		neg, v = true, v[1:]
	}
	intPart = v
	for i, c := range v {
		if c == '.' {
			intPart, frac = v[:i], v[i+1:]
			break
		}
		if c < '0' || c > '9' {
			return false, nil, nil, false
		}
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return false, nil, nil, false
		}
	}
	return neg, intPart, frac, len(intPart) > 0
}

// unscaled64 returns the literal v times 10^scale as an int64, exactly.
func unscaled64(v []byte, scale int) (int64, bool) {
	neg, ip, frac, ok := digits(v)
	if !ok || len(frac) > scale {
		return 0, false
	}
	var n uint64
	add := func(d byte) bool {
		hi, lo := bits.Mul64(n, 10)
		if hi != 0 {
			return false
		}
		n = lo + uint64(d-'0')
		return n >= lo
	}
	for _, c := range ip {
		if !add(c) {
			return 0, false
		}
	}
	for i := 0; i < scale; i++ {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if !add(d) {
			return 0, false
		}
	}
	if n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// appendDecimal128 appends the literal v times 10^scale as a 16-byte
// big-endian two's complement integer.
func appendDecimal128(dst, v []byte, scale int) ([]byte, bool) {
	neg, ip, frac, ok := digits(v)
	if !ok || len(frac) > scale || len(ip)+scale > 38 {
		return dst, false
	}
	var hi, lo uint64
	add := func(d byte) {
		h1, l1 := bits.Mul64(lo, 10)
		hi = hi*10 + h1
		var c uint64
		lo, c = bits.Add64(l1, uint64(d-'0'), 0)
		hi += c
	}
	for _, c := range ip {
		add(c)
	}
	for i := 0; i < scale; i++ {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		add(d)
	}
	if neg {
		lo, hi = ^lo, ^hi
		var c uint64
		lo, c = bits.Add64(lo, 1, 0)
		hi += c
	}
	for i := 7; i >= 0; i-- {
		dst = append(dst, byte(hi>>(8*i)))
	}
	for i := 7; i >= 0; i-- {
		dst = append(dst, byte(lo>>(8*i)))
	}
	return dst, true
}
