package stagefile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/internal/jsonstr"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Defaults of WriterOptions.
const (
	// DefaultFileSize is the default target size of a staged file as
	// stored (compressed), inside Snowflake's advised 100–250 MB range.
	DefaultFileSize = 128 << 20
	// DefaultRowGroupBytes is the default bound on the uncompressed
	// values of one Parquet row group; it bounds a Parquet writer's memory.
	DefaultRowGroupBytes = 32 << 20
)

// ErrValue is wrapped by the error of a row the writer cannot encode (a
// field of an unknown kind, a number literal that is not a number).
var ErrValue = errors.New("stagefile: value cannot be written")

// WriterOptions configures a Writer. Zero fields mean the documented
// defaults; Dir and Table are required.
type WriterOptions struct {
	// Dir is the directory the files are written to; it must exist.
	Dir string
	// Table is the target table's name, unquoted, as schema names it
	// (schema.Inferrer.Tables, or the user's normalized name).
	Table string
	// Format and Compression are the files' encoding (default NDJSON, gzip).
	Format      Format
	Compression Compression
	// Level is the compression level: for gzip 1 (fastest) to 9, for zstd
	// 1 (fastest) to 4 (best), as github.com/klauspost/compress counts
	// them. 0 means each codec's default.
	Level int
	// Source identifies where the rows come from (an object key, a path);
	// it is part of every file's name. Default "-".
	Source string
	// FileSize is the target size of a file as stored: a file is closed
	// after the row that makes it reach FileSize. Default DefaultFileSize.
	FileSize int64
	// MaxRows closes a file after that many rows. Default 0: no limit.
	MaxRows int64
	// RowGroupBytes bounds the uncompressed size of a Parquet row group.
	// Default DefaultRowGroupBytes.
	RowGroupBytes int64
	// DiscoverRows is how many rows a CSV or Parquet writer holds (up to
	// 4 MiB of them) before it opens a file, so that the file's columns and
	// types are those of all these rows and keys that appear in the first
	// rows do not each start a new file. Default 10,000; negative means
	// none. NDJSON files need no discovery.
	DiscoverRows int
	// Columns are the table's known columns (from schema: an inferred
	// table, or the existing table's columns with their paths): a field
	// whose path is a column's Path goes to that column, under its name and
	// with its type. Other paths get new columns named by a schema.Namer
	// (with Names, and every name in Columns reserved) and typed by their
	// values (see the package documentation). A Subtree column takes every
	// field below its path, joined into one JSON object; DATE and
	// TIMESTAMP_* columns take times in Snowflake's AUTO forms (package
	// documentation, "Wide objects" and "Dates and timestamps").
	Columns []schema.Column
	// Names are the naming options of new columns; they must be those of
	// the table's DDL (the same Separator as the flattener).
	Names schema.NameOptions

	// worker is the part of file names that sets apart the files of one
	// of Parallel's workers ("w1", "w2", ...; "" with one worker).
	worker string
}

// Writer writes flattened records of one table to staged files in
// WriterOptions.Dir, rotating them by size and row count. Write each record
// with Write; Close finishes the last file. A Writer is not safe for
// concurrent use.
type Writer struct {
	o       WriterOptions
	namer   *schema.Namer
	cols    []*column
	byPath  map[string]int
	srcID   string
	enc     encoder
	files   []File
	names   map[string]int // file names without extension → files given them
	err     error          // sticky
	scratch []byte
	fcol    []int32 // per field of the current row: its column index

	// subtree columns (schema.Column.Subtree): prefix → column index, and
	// the record's fields with each subtree's members joined into one
	subtrees map[string]int
	sep      string
	sepB     []byte
	joined   []flatten.Field
	subBuf   []byte

	// rows held for discovery (fixed-column formats)
	held     []byte
	heldRecs []int64
	heldEnds []int
	hfields  []flatten.Field

	// current file
	open        bool
	f           *os.File
	tmpPath     string
	sum         hashCounter
	comp        io.WriteCloser // gzip or zstd writer, nil when uncompressed
	buf         *bufio.Writer  // rows, before compression
	fbuf        *bufio.Writer  // the file's bytes, before the system call
	raw         countWriter    // counts bytes before compression
	fileCols    []*column      // the file's columns, in file order
	rows        int64
	first, last int64
	rotate      bool // a column or type change closes the file before the next row

	gz *gzip.Writer
	zw *zstd.Encoder
}

// column is one table column the writer knows.
type column struct {
	name   string
	path   string
	typ    schema.Type
	ftyp   schema.Type // the type of the column in the open file (File.Schema)
	pathB  []byte      // path as bytes, for subtree columns
	quoted []byte      // the name as a JSON string, for NDJSON
	pos    int         // position in the current file, -1 if not in it
	class  uint8       // encoding class of typ in the current file
	system bool
}

// NewWriter returns a Writer for o, or an error wrapping ErrOptions.
func NewWriter(o WriterOptions) (*Writer, error) {
	if o.Dir == "" {
		return nil, fmt.Errorf("%w: no directory", ErrOptions)
	}
	if o.Table == "" {
		return nil, fmt.Errorf("%w: no table name", ErrOptions)
	}
	if o.Format > Parquet {
		return nil, fmt.Errorf("%w: unknown format %d", ErrOptions, o.Format)
	}
	if o.Compression > Uncompressed {
		return nil, fmt.Errorf("%w: unknown compression %d", ErrOptions, o.Compression)
	}
	if o.FileSize < 0 || o.MaxRows < 0 || o.RowGroupBytes < 0 || o.Level < 0 {
		return nil, fmt.Errorf("%w: negative size, row count or level", ErrOptions)
	}
	if o.FileSize == 0 {
		o.FileSize = DefaultFileSize
	}
	if o.RowGroupBytes == 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.Source == "" {
		o.Source = "-"
	}
	if o.DiscoverRows == 0 {
		o.DiscoverRows = 10000
	}
	if st, err := os.Stat(o.Dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrOptions, o.Dir)
	}
	var reserved []string
	for _, c := range o.Columns {
		reserved = append(reserved, c.Name)
	}
	namer, err := schema.NewNamer(o.Names, reserved...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOptions, err)
	}
	w := &Writer{o: o, namer: namer, byPath: make(map[string]int), names: make(map[string]int)}
	for _, c := range o.Columns {
		if c.Name == "" {
			return nil, fmt.Errorf("%w: a column without a name", ErrOptions)
		}
		key := c.Path
		if c.System || c.Path == "" {
			key = "\x00" + c.Name // system columns are not field paths
		}
		if _, dup := w.byPath[key]; dup {
			return nil, fmt.Errorf("%w: two columns for path %q", ErrOptions, c.Path)
		}
		t := c.Type
		if t.Kind == schema.Unknown {
			t.Kind = schema.Variant // a column only seen null is VARIANT in the DDL
		}
		w.addColumn(key, c.Name, t, c.System)
		if c.Subtree && !c.System && c.Path != "" {
			if w.subtrees == nil {
				w.subtrees = make(map[string]int)
			}
			w.subtrees[c.Path] = len(w.cols) - 1
			w.cols[len(w.cols)-1].pathB = []byte(c.Path)
		}
	}
	w.sep = o.Names.Separator
	if w.sep == "" {
		w.sep = "."
	}
	w.sepB = []byte(w.sep)
	w.srcID = sourceID(o.Source)
	switch o.Format {
	case NDJSON:
		w.enc = &ndjsonEncoder{}
	case CSV:
		w.enc = &csvEncoder{}
	case Parquet:
		w.enc = newParquetEncoder(o)
	}
	return w, nil
}

func (w *Writer) addColumn(key, name string, t schema.Type, system bool) *column {
	c := &column{name: name, path: key, typ: t, ftyp: t, pos: -1, system: system}
	c.quoted = jsonstr.Append(nil, []byte(name))
	w.byPath[key] = len(w.cols)
	w.cols = append(w.cols, c)
	return c
}

// Write writes one record's fields (from flatten's Append) as one row;
// record is its 1-based number in the source (for File.FirstRecord and
// LastRecord). The fields are not retained. An error wrapping ErrValue
// rejects the record and leaves the files as they were; any other error
// (I/O) is sticky.
func (w *Writer) Write(record int64, fields []flatten.Field) error {
	if w.err != nil {
		return w.err
	}
	if len(w.subtrees) > 0 {
		fields = w.joinSubtrees(fields)
	}
	// Resolve columns and types first: a new column or a change of
	// encoding closes the current file before the row is written.
	if cap(w.fcol) < len(fields) {
		w.fcol = make([]int32, len(fields), len(fields)+len(fields)/2)
	}
	w.fcol = w.fcol[:len(fields)]
	for i := range fields {
		f := &fields[i]
		if f.Kind < flatten.Null || f.Kind > flatten.Array {
			return fmt.Errorf("%w: field %q has kind %d", ErrValue, f.Path, f.Kind)
		}
		ci, ok := w.byPath[string(f.Path)]
		if !ok {
			if f.Kind == flatten.Number && !validNumber(f.Value) {
				return fmt.Errorf("%w: field %q: %q is not a JSON number", ErrValue, f.Path, f.Value)
			}
			path := string(f.Path)
			w.fcol[i] = int32(len(w.cols))
			w.addColumn(path, w.namer.Name(path), w.newType(f.Kind, f.Value), false)
			if w.open && w.enc.fixedColumns() {
				w.rotate = true
			}
			continue
		}
		w.fcol[i] = int32(ci)
		c := w.cols[ci]
		if f.Kind == flatten.Null || c.typ.Kind == schema.Variant {
			continue
		}
		if f.Kind == flatten.String && c.typ.Kind == schema.Varchar {
			continue // unsized VARCHAR; a sized one is the table's business
		}
		if tk := timeKindOf(c.typ); tk != notTime {
			if f.Kind == flatten.String && timeFits(tk, f.Value, w.o.Format == Parquet) {
				continue
			}
		} else if c.typ.Kind != schema.Unknown && c.typ.Accepts(f.Kind, f.Value, false) {
			continue
		}
		if f.Kind == flatten.Number && !validNumber(f.Value) {
			return fmt.Errorf("%w: field %q: %q is not a JSON number", ErrValue, f.Path, f.Value)
		}
		c.typ = w.widen(c.typ, f.Kind, f.Value)
		if w.open && c.pos >= 0 && w.enc.class(c.typ) != c.class {
			w.rotate = true // the open file keeps c.ftyp
		} else {
			c.ftyp = c.typ
		}
	}
	if w.rotate {
		if err := w.closeFile(); err != nil {
			return err
		}
	}
	if !w.open && w.o.DiscoverRows > 0 && w.enc.fixedColumns() {
		w.hold(record, fields)
		if len(w.heldRecs) >= w.o.DiscoverRows || len(w.held) >= maxHeld {
			return w.release()
		}
		return nil
	}
	return w.writeRow(record, fields)
}

// joinSubtrees returns fields with the members of each subtree column (the
// fields below its path, and one at its path) replaced by one field at its
// path holding the object they make (schema.AppendSubtree), where the first
// of them was. A record without fields below a subtree column's path is
// returned as it is (a value at the path itself goes to the column as any
// value does). The result is valid until the next call.
func (w *Writer) joinSubtrees(fields []flatten.Field) []flatten.Field {
	first := -1
	for i := range fields {
		if _, below := w.subtreeOf(fields[i].Path); below {
			first = i
			break
		}
	}
	if first < 0 {
		return fields
	}
	var spansArr [8]subSpan
	spans := spansArr[:0]
	for i := first; i < len(fields); i++ {
		if ci, below := w.subtreeOf(fields[i].Path); below && !hasSpan(spans, ci) {
			spans = append(spans, subSpan{col: ci, at: -1})
		}
	}
	out := w.joined[:0]
	buf := w.subBuf[:0]
	for i := range fields {
		ci, below := w.subtreeOf(fields[i].Path)
		if !below {
			ci = -1
			if c, ok := w.subtrees[string(fields[i].Path)]; ok {
				ci = c // the value at the path itself, joined if members follow
			}
		}
		k := -1
		for j := range spans {
			if spans[j].col == ci {
				k = j
			}
		}
		if k < 0 {
			out = append(out, fields[i])
			continue
		}
		if spans[k].at >= 0 {
			continue // joined at the first of them
		}
		c := w.cols[ci]
		start := len(buf)
		buf = schema.AppendSubtree(buf, fields, c.path, w.sep)
		spans[k].at, spans[k].start, spans[k].end = len(out), start, len(buf)
		out = append(out, flatten.Field{Path: c.pathB, Kind: flatten.Object})
	}
	// buf may have moved while it grew: point the values into it now.
	for _, sp := range spans {
		out[sp.at].Value = buf[sp.start:sp.end]
	}
	w.joined, w.subBuf = out, buf
	return out
}

// subSpan is a subtree column's joined value in joinSubtrees: the
// column, the position of its field in the output and its bytes.
type subSpan struct{ col, at, start, end int }

func hasSpan(spans []subSpan, col int) bool {
	for _, sp := range spans {
		if sp.col == col {
			return true
		}
	}
	return false
}

// subtreeOf returns the subtree column above path: the one at a proper
// prefix of path on a separator boundary, shallowest first. It does not
// allocate.
func (w *Writer) subtreeOf(path []byte) (int, bool) {
	off := 0
	for {
		j := bytes.Index(path[off:], w.sepB)
		if j < 0 {
			return 0, false
		}
		off += j
		if ci, ok := w.subtrees[string(path[:off])]; ok {
			return ci, true
		}
		off += len(w.sep)
	}
}

// maxHeld bounds the bytes of rows held for discovery.
const maxHeld = 4 << 20

// hold keeps a copy of a row until the file opens.
func (w *Writer) hold(record int64, fields []flatten.Field) {
	b := w.held
	for i := range fields {
		f := &fields[i]
		b = append(b, byte(f.Kind))
		b = binary.AppendUvarint(b, uint64(len(f.Path)))
		b = append(b, f.Path...)
		b = binary.AppendUvarint(b, uint64(len(f.Value)))
		b = append(b, f.Value...)
	}
	w.held = b
	w.heldRecs = append(w.heldRecs, record)
	w.heldEnds = append(w.heldEnds, len(b))
}

// release writes the held rows.
func (w *Writer) release() error {
	start := 0
	for i, end := range w.heldEnds {
		fs := w.hfields[:0]
		b := w.held[start:end]
		start = end
		for len(b) > 0 {
			k := flatten.Kind(b[0])
			n, m := binary.Uvarint(b[1:])
			p := b[1+m : 1+m+int(n)]
			b = b[1+m+int(n):]
			n, m = binary.Uvarint(b)
			v := b[m : m+int(n)]
			b = b[m+int(n):]
			fs = append(fs, flatten.Field{Path: p, Value: v, Kind: k})
		}
		w.hfields = fs
		w.fcol = grow(w.fcol, len(fs))
		for j := range fs {
			w.fcol[j] = int32(w.byPath[string(fs[j].Path)])
		}
		if err := w.writeRow(w.heldRecs[i], fs); err != nil {
			return err
		}
	}
	w.held, w.heldRecs, w.heldEnds = w.held[:0], w.heldRecs[:0], w.heldEnds[:0]
	clear(w.hfields[:cap(w.hfields)]) // they point into held
	if cap(w.held) > 1<<20 {
		w.held = nil // held again only when the next file opens
	}
	return nil
}

// writeRow writes one row whose columns are resolved (w.fcol).
func (w *Writer) writeRow(record int64, fields []flatten.Field) error {
	if !w.open {
		if err := w.openFile(record); err != nil {
			return err
		}
	}
	if err := w.enc.row(w, fields); err != nil {
		return w.fail(err)
	}
	w.rows++
	w.last = record
	if w.o.MaxRows > 0 && w.rows >= w.o.MaxRows || w.sum.n+w.enc.pending() >= w.o.FileSize || w.enc.full() {
		return w.closeFile()
	}
	return nil
}

// newType is the type a new column gets from its first value.
func (w *Writer) newType(k flatten.Kind, v []byte) schema.Type {
	return w.widen(schema.Type{}, k, v)
}

// widen returns t widened to take v, with VARCHAR unsized and, for Parquet,
// NUMBER precisions rounded up to 18 or 38 digits so that later values
// rarely change a file's physical types.
func (w *Writer) widen(t schema.Type, k flatten.Kind, v []byte) schema.Type {
	if timeKindOf(t) != notTime {
		// A value that is not a time of the column's kind (or, in
		// Parquet, outside TIMESTAMP(NANOS)) makes the file's column text.
		return schema.Type{Kind: schema.Varchar, Length: schema.MaxVarcharLength}
	}
	vt := schema.ValueType(k, v, false)
	if vt.Kind == schema.Number && t.Kind == schema.Unknown {
		vt.Precision = roundPrecision(vt.Precision, vt.Scale)
	}
	nt := schema.Widen(t, vt, schema.MaxVarcharLength)
	switch nt.Kind {
	case schema.Varchar:
		nt.Length = schema.MaxVarcharLength
	case schema.Number:
		nt.Precision = roundPrecision(nt.Precision, nt.Scale)
	}
	return nt
}

func roundPrecision(p, s int) int {
	if p <= 18 && s <= 18 {
		return 18
	}
	return schema.MaxPrecision
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// openFile starts a file whose columns are every column known so far.
func (w *Writer) openFile(record int64) error {
	f, err := os.CreateTemp(w.o.Dir, "."+safeName(w.o.Table, 64)+".*.tmp")
	if err != nil {
		return w.fail(fmt.Errorf("stagefile: creating staged file: %w", err))
	}
	w.f, w.tmpPath = f, f.Name()
	if w.fbuf == nil {
		w.fbuf = bufio.NewWriterSize(f, 256<<10)
	} else {
		w.fbuf.Reset(f)
	}
	w.sum.reset(w.fbuf)
	var out io.Writer = &w.sum
	w.comp = nil
	if w.o.Format != Parquet {
		switch w.o.Compression {
		case Gzip:
			lvl := gzip.DefaultCompression
			if w.o.Level > 0 {
				lvl = w.o.Level
			}
			if w.gz == nil || w.o.Level > 0 {
				if w.gz, err = gzip.NewWriterLevel(out, lvl); err != nil {
					return w.fail(fmt.Errorf("%w: %v", ErrOptions, err))
				}
			} else {
				w.gz.Reset(out)
			}
			w.comp = w.gz
		case Zstd:
			if w.zw == nil {
				// Not WithLowerEncoderMem: its history is the 8 MB window
				// plus one 128 KB block, so every block slid the whole
				// window down (64 bytes copied per byte written: most of
				// the CPU of a zstd file, and with 2 workers memory
				// bandwidth both cores share). Without it the history is
				// twice the window and slides once per window, for the
				// same bytes out and less RSS (BENCHMARKS.md).
				lvl := zstd.SpeedDefault
				if w.o.Level > 0 {
					lvl = zstd.EncoderLevel(w.o.Level)
				}
				if w.zw, err = zstd.NewWriter(out, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1)); err != nil {
					return w.fail(fmt.Errorf("%w: %v", ErrOptions, err))
				}
			} else {
				w.zw.Reset(out)
			}
			w.comp = w.zw
		}
		if w.comp != nil {
			out = w.comp
		}
	}
	w.raw.w, w.raw.n = out, 0
	if w.buf == nil {
		w.buf = bufio.NewWriterSize(&w.raw, 256<<10)
	} else {
		w.buf.Reset(&w.raw)
	}
	for _, c := range w.cols {
		c.pos = -1
	}
	w.fileCols = w.fileCols[:0]
	if w.enc.fixedColumns() {
		w.fileCols = append(w.fileCols, w.cols...)
		w.enc.order(w.fileCols)
		for i, c := range w.fileCols {
			c.pos = i
			c.class = w.enc.class(c.typ)
		}
	}
	for _, c := range w.cols {
		c.ftyp = c.typ
	}
	w.open, w.rotate = true, false
	w.rows, w.first, w.last = 0, record, record
	if err := w.enc.begin(w); err != nil {
		return w.fail(err)
	}
	return nil
}

// closeFile finishes the current file, names it and records it.
func (w *Writer) closeFile() error {
	w.rotate = false
	if !w.open {
		return nil
	}
	w.open = false
	err := w.enc.end(w)
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil && w.comp != nil {
		err = w.comp.Close()
	}
	if err == nil {
		err = w.fbuf.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(w.tmpPath)
		return w.fail(fmt.Errorf("stagefile: writing staged file: %w", err))
	}
	sum := hex.EncodeToString(w.sum.h.Sum(w.scratch[:0]))
	file := File{
		Table: w.o.Table, Format: w.o.Format, Compression: w.o.Compression,
		Rows: w.rows, Source: w.o.Source, FirstRecord: w.first, LastRecord: w.last,
		Size: w.sum.n, RawSize: w.raw.n, SHA256: sum,
	}
	for _, c := range w.fileCols {
		file.Columns = append(file.Columns, c.name)
		file.Schema = append(file.Schema, schema.Column{Name: c.name, Path: pathOf(c), Type: c.ftyp, Nullable: true, System: c.system})
	}
	base := fmt.Sprintf("%s_%s_%d-%d_%s", safeName(w.o.Table, 64), w.srcID, w.first, w.last, sum[:16])
	if w.o.worker != "" {
		base += "_" + w.o.worker
	}
	// Two files of this writer with one name would be one file on the
	// stage: the same record numbers and content twice (records numbered
	// 0, replayed duplicates) get _2, _3, ... in the order they close.
	file.Name = base
	if n := w.names[base]; n > 0 {
		file.Name = fmt.Sprintf("%s_%d", base, n+1)
	}
	w.names[base]++
	file.Name += w.ext()
	file.Path = filepath.Join(w.o.Dir, file.Name)
	if err := os.Rename(w.tmpPath, file.Path); err != nil {
		os.Remove(w.tmpPath)
		return w.fail(fmt.Errorf("stagefile: naming staged file: %w", err))
	}
	w.files = append(w.files, file)
	return nil
}

func pathOf(c *column) string {
	if len(c.path) > 0 && c.path[0] == 0 {
		return ""
	}
	return c.path
}

// ext is the file name extension of the writer's format and compression.
func (w *Writer) ext() string {
	e := "." + w.o.Format.String()
	if w.o.Format == Parquet {
		return e
	}
	switch w.o.Compression {
	case Gzip:
		e += ".gz"
	case Zstd:
		e += ".zst"
	}
	return e
}

// SetSource sets the source of the rows written next. A change of source
// closes the current file, so that a file's rows come from one source.
func (w *Writer) SetSource(src string) error {
	if src == "" {
		src = "-"
	}
	if src == w.o.Source {
		return nil
	}
	if err := w.Flush(); err != nil {
		return err
	}
	w.o.Source, w.srcID = src, sourceID(src)
	return nil
}

// Flush closes the current file, if it has rows, so that the next row
// starts a new one.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.heldRecs) > 0 {
		if err := w.release(); err != nil {
			return err
		}
	}
	return w.closeFile()
}

// Close finishes the current file and returns every file written, in the
// order they were finished. The Writer must not be used afterwards.
func (w *Writer) Close() ([]File, error) {
	if w.err != nil {
		if w.open {
			w.f.Close()
			os.Remove(w.tmpPath)
			w.open = false
		}
		return w.files, w.err
	}
	err := w.Flush()
	if w.zw != nil {
		w.zw.Close()
	}
	return w.files, err
}

// Files returns the files finished so far. The slice is the Writer's: do
// not modify it.
func (w *Writer) Files() []File { return w.files }

// encoder is one format's encoding of rows.
type encoder interface {
	// fixedColumns reports whether a file's columns are fixed when it
	// opens (CSV header, Parquet schema).
	fixedColumns() bool
	// class is an encoding class of a type: a column whose class changes
	// needs a new file.
	class(t schema.Type) uint8
	// order sorts a new file's columns into file order.
	order(cols []*column)
	begin(w *Writer) error
	row(w *Writer, fields []flatten.Field) error
	end(w *Writer) error
	// pending is the number of bytes the encoder holds that count toward
	// the file's size but are not yet written.
	pending() int64
	// full reports that the file must close to bound the encoder's memory.
	full() bool
}

// hashCounter hashes and counts the bytes written to a file.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (h *hashCounter) reset(w io.Writer) {
	h.w, h.n = w, 0
	if h.h == nil {
		h.h = sha256.New()
	} else {
		h.h.Reset()
	}
}

func (h *hashCounter) Write(p []byte) (int, error) {
	h.h.Write(p)
	n, err := h.w.Write(p)
	h.n += int64(n)
	return n, err
}

// countWriter counts bytes.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// sourceID is the source's part of a file name: its base name made safe,
// and 8 hexadecimal digits of the SHA-256 of the whole identity.
func sourceID(src string) string {
	h := sha256.Sum256([]byte(src))
	base := src
	if i := lastSlash(src); i >= 0 && i < len(src)-1 {
		base = src[i+1:]
	}
	return safeName(base, 48) + "-" + hex.EncodeToString(h[:4])
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' || s[i] == '\\' {
			return i
		}
	}
	return -1
}

// safeName keeps [A-Za-z0-9.-] and replaces every other byte with '_', cut
// to max bytes.
func safeName(s string, max int) string {
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// validNumber reports whether b is a JSON number literal.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(b)
}

// bytesString views b as a string without copying; the string must not
// outlive b's next change.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
