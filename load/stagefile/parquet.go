package stagefile

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/internal/jsonstr"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	pgzip "github.com/parquet-go/parquet-go/compress/gzip"
)

// Parquet encoding classes: one per physical and logical column type.
const (
	pqText   uint8 = iota // UTF8 string
	pqJSON                // JSON logical type (VARIANT, OBJECT, ARRAY)
	pqBool                // BOOLEAN
	pqInt64               // INT64 (NUMBER(p,0), p ≤ 18)
	pqDouble              // DOUBLE (FLOAT)
	pqDate                // DATE on INT32
	pqTsNTZ               // TIMESTAMP(NANOS, isAdjustedToUTC = false) on INT64
	pqTsUTC               // TIMESTAMP(NANOS, isAdjustedToUTC = true) on INT64
	pqDec64  = 32         // DECIMAL(18,s) on INT64: pqDec64 + s
	pqDec128 = 64         // DECIMAL(38,s) on FIXED_LEN_BYTE_ARRAY(16): pqDec128 + s
)

// parquetEncoder writes Parquet files whose schema is built from the
// columns' types when the file opens: every column optional, named as the
// table column, in byte order of names (parquet-go orders group fields so).
// Rows are gathered column by column in batches of parquetBatchRows and
// handed to parquet-go's column writers, so a row costs in proportion to
// the fields it has, not to the file's columns. Pages are compressed with
// the writer's Compression; a row group is flushed when its values reach
// RowGroupBytes, and pages are sized so that every column's page buffer
// together stays within RowGroupBytes.
type parquetEncoder struct {
	codec  compress.Codec
	pool   parquet.BufferPool // a row group's compressed pages, until it is flushed
	opts   []parquet.WriterOption
	pw     *parquet.GenericWriter[any]
	cws    []*parquet.ColumnWriter
	vals   [][]parquet.Value // per file column: this batch's values
	rowIdx [][]int32         // per file column: their rows in the batch
	pad    []parquet.Value
	tmp    []byte
	arena  chunks
	rows   int   // rows in the batch
	rgRaw  int64 // bytes of values in the row group
	groups int   // row groups flushed in this file
}

// parquetBatchRows is the number of rows gathered before they are handed
// to the column writers.
const parquetBatchRows = 512

// chunks is an arena of fixed-size chunks: growing it never moves bytes a
// parquet.Value points to.
type chunks struct {
	list [][]byte
	cur  int
	used int64
}

const chunkSize = 256 << 10

// store copies b into the arena.
func (a *chunks) store(b []byte) []byte {
	a.used += int64(len(b))
	if len(b) > chunkSize/4 {
		return bytes.Clone(b) // large values get their own slice
	}
	for {
		if a.cur == len(a.list) {
			a.list = append(a.list, make([]byte, 0, chunkSize))
		}
		c := a.list[a.cur]
		if cap(c)-len(c) >= len(b) {
			start := len(c)
			c = append(c, b...)
			a.list[a.cur] = c
			return c[start:len(c):len(c)]
		}
		a.cur++
	}
}

func (a *chunks) reset() {
	for i := range a.list {
		a.list[i] = a.list[i][:0]
	}
	a.cur, a.used = 0, 0
}

func newParquetEncoder(o WriterOptions) *parquetEncoder {
	// Compressed pages wait in the pool's chunks until their row group is
	// flushed; parquet-go's default 32 KiB chunks cost ~700 × 32 KiB on
	// wide sparse tables whose columns each hold a few small pages.
	e := &parquetEncoder{pool: parquet.NewChunkBufferPool(pqChunkSize)}
	switch o.Compression {
	case Gzip:
		lvl := 6
		if o.Level > 0 {
			lvl = o.Level
		}
		e.codec = &pgzip.Codec{Level: lvl}
	case Zstd:
		lvl := zstd.SpeedDefault
		if o.Level > 0 {
			lvl = zstd.EncoderLevel(o.Level)
		}
		e.codec = &pqZstd{level: lvl}
	default:
		e.codec = &parquet.Uncompressed
	}
	return e
}

func (e *parquetEncoder) fixedColumns() bool { return true }

func (e *parquetEncoder) class(t schema.Type) uint8 {
	switch timeKindOf(t) {
	case timeDate:
		return pqDate
	case timeNTZ:
		return pqTsNTZ
	case timeLTZ, timeTZ:
		return pqTsUTC
	}
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
	case c.class == pqDate:
		n = parquet.Date()
	case c.class == pqTsNTZ:
		n = parquet.TimestampAdjusted(parquet.Nanosecond, false)
	case c.class == pqTsUTC:
		n = parquet.Timestamp(parquet.Nanosecond)
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
	n := len(w.fileCols)
	page := int(min(256<<10, max(4<<10, pageBudget/int64(max(n, 1)))))
	opts := append(e.opts[:0], parquet.NewSchema("schema", g), parquet.Compression(e.codec),
		parquet.PageBufferSize(page), parquet.ColumnPageBuffers(e.pool), parquet.CreatedBy("flatpipe", "", ""))
	for _, c := range w.fileCols {
		// No page bounds in the column index: COPY does not read them,
		// and parquet-go keeps them for every page until the file closes.
		opts = append(opts, parquet.SkipPageBounds(c.name))
	}
	e.opts = opts
	e.pw = parquet.NewGenericWriter[any](w.buf, opts...)
	clear(e.opts) // the writer keeps no reference to its options
	e.cws = e.pw.ColumnWriters()
	if len(e.cws) != n {
		return fmt.Errorf("stagefile: parquet schema has %d columns, want %d", len(e.cws), n)
	}
	if cap(e.vals) < n {
		e.vals = make([][]parquet.Value, n)
		e.rowIdx = make([][]int32, n)
	}
	e.vals, e.rowIdx = e.vals[:n], e.rowIdx[:n]
	for i := range e.vals {
		e.vals[i], e.rowIdx[i] = e.vals[i][:0], e.rowIdx[i][:0]
	}
	e.rows, e.rgRaw, e.groups = 0, 0, 0
	e.arena.reset()
	return nil
}

func (e *parquetEncoder) pending() int64 { return e.rgRaw / 4 }

// Memory bounds of a Parquet file: pageBudget is shared by the columns'
// page buffers; maxColumnChunks bounds the footer metadata parquet-go
// keeps until the file closes (statistics and page indexes of every column
// chunk, about 1.5 KB each): a file is closed when another row group would
// exceed it.
const (
	pageBudget      = 4 << 20
	maxColumnChunks = 8192
	pqChunkSize     = 4 << 10
)

func (e *parquetEncoder) full() bool {
	return (e.groups+1)*len(e.cws) > maxColumnChunks && e.groups > 0
}

func (e *parquetEncoder) end(w *Writer) error {
	err := e.flushBatch(w)
	if cerr := e.pw.Close(); err == nil {
		err = cerr
	}
	e.pw, e.cws = nil, nil
	return err
}

func (e *parquetEncoder) row(w *Writer, fields []flatten.Field) error {
	r := int32(e.rows)
	for i := range fields {
		f := &fields[i]
		c := w.cols[w.fcol[i]]
		pos := c.pos
		if n := len(e.rowIdx[pos]); n > 0 && e.rowIdx[pos][n-1] == r {
			return fmt.Errorf("%w: two fields for column %s", ErrValue, c.name)
		}
		var v parquet.Value
		switch {
		case f.Kind == flatten.Null:
			if c.class == pqJSON && c.typ.Kind == schema.Variant {
				v = parquet.ByteArrayValue(nullJSON)
			} else {
				continue // SQL NULL: padded at flush
			}
		case c.class == pqJSON && f.Kind == flatten.String:
			e.tmp = jsonstr.Append(e.tmp[:0], f.Value)
			v = parquet.ByteArrayValue(e.arena.store(e.tmp))
		case c.class == pqJSON || c.class == pqText:
			v = parquet.ByteArrayValue(e.arena.store(f.Value))
		case c.class >= pqDec128:
			var tmp [16]byte
			d, ok := appendDecimal128(tmp[:0], f.Value, c.typ.Scale)
			if !ok {
				return fmt.Errorf("%w: %q does not fit %s", ErrValue, f.Value, c.typ)
			}
			v = parquet.FixedLenByteArrayValue(e.arena.store(d))
		case c.class == pqBool:
			v = parquet.BooleanValue(len(f.Value) == 4)
		case c.class == pqDate || c.class == pqTsNTZ || c.class == pqTsUTC:
			t, ok := parseWallTime(f.Value)
			var n int64
			switch {
			case !ok:
			case c.class == pqDate:
				n = t.days
			case c.class == pqTsNTZ:
				n, ok = t.wallNanos()
			default:
				n, ok = t.instantNanos()
			}
			if !ok {
				return fmt.Errorf("%w: %q is not a %s", ErrValue, f.Value, c.typ)
			}
			if c.class == pqDate {
				v = parquet.Int32Value(int32(n))
			} else {
				v = parquet.Int64Value(n)
			}
		case c.class == pqDouble:
			x, err := strconv.ParseFloat(bytesString(f.Value), 64)
			if err != nil {
				return fmt.Errorf("%w: %q is not a FLOAT", ErrValue, f.Value)
			}
			v = parquet.DoubleValue(x)
		default: // INT64 and DECIMAL on INT64
			n, ok := unscaled64(f.Value, c.typ.Scale)
			if !ok {
				return fmt.Errorf("%w: %q does not fit %s", ErrValue, f.Value, c.typ)
			}
			v = parquet.Int64Value(n)
		}
		e.rgRaw += int64(len(f.Value)) + 2
		e.vals[pos] = append(e.vals[pos], v.Level(0, 1, pos))
		e.rowIdx[pos] = append(e.rowIdx[pos], r)
	}
	e.rows++
	if e.rows >= parquetBatchRows || e.arena.used >= 1<<20 {
		return e.flushBatch(w)
	}
	return nil
}

var nullJSON = []byte("null")

// flushBatch hands the batch to the column writers, each column's values
// with SQL NULLs in the rows that lack it.
func (e *parquetEncoder) flushBatch(w *Writer) error {
	if e.rows == 0 {
		return nil
	}
	for pos, cw := range e.cws {
		vals, idx := e.vals[pos], e.rowIdx[pos]
		pad := e.pad[:0]
		null := parquet.NullValue().Level(0, 0, pos)
		k := 0
		for r := int32(0); r < int32(e.rows); r++ {
			if k < len(idx) && idx[k] == r {
				pad = append(pad, vals[k])
				k++
			} else {
				pad = append(pad, null)
			}
		}
		e.pad = pad
		if _, err := cw.WriteRowValues(pad); err != nil {
			return err
		}
		clear(vals) // drop references into the arena
		e.vals[pos], e.rowIdx[pos] = vals[:0], idx[:0]
	}
	e.rows = 0
	e.arena.reset()
	if e.rgRaw >= w.o.RowGroupBytes {
		e.rgRaw = 0
		e.groups++
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
