package flatten

import (
	"fmt"
	"hash/maphash"

	"github.com/cespare/xxhash/v2"
)

// Flattener flattens JSON documents. It keeps its buffers between calls, so
// after a warm-up on documents of a similar size it allocates nothing.
//
// A Flattener is not safe for concurrent use; use one per goroutine. The zero
// value is ready to use with the zero Options (the defaults); New makes one
// with other options.
type Flattener struct {
	opts       Options
	sep        []byte
	maxNesting int
	include    [][]byte
	exclude    [][]byte
	filtering  bool
	tables     bool
	seed       maphash.Seed
	empties    []byte // "{}[]": values of empty containers

	// Per-call state, reused.
	doc       []byte
	path      []byte  // current path; a stack of prefixes
	arena     []byte  // field paths, unescaped strings, compacted containers
	stack     []frame // open containers
	vstack    []byte  // validator's container stack
	out       []Field // fields being appended to
	base      int     // index in out of this document's first field
	rowOf     []int32 // tables: row of each field in out
	rows      []Row   // tables: rows being appended to
	rowBase   int     // index in rows of this document's root row
	sorted    []Field // tables: fields grouped by row
	counts    []int32
	idbuf     []byte
	rootArray bool // tables: the document is a top-level array
	ht        []htEntry
	htGen     uint32
	htCount   int
	fastColl  bool // single-byte separator: duplicate keys are the only source of collisions
	sepByte   byte
	slow      bool     // this run checks every path for collisions
	ks        []uint64 // key set: (generation, fingerprint of object serial and key)
	ksGen     uint32
	ksCount   int
	serial    uint32   // objects opened in this run
	khs       []uint32 // key hashes of the open objects, a stack
	fstack    []fframe // the fast walker's open containers
	budget    int      // the fast walker's allowance for copying container paths
	fdepth    int      // containers open in the fast walker, for validate's nesting limit
	noFast    bool     // run the general walker only (tests; fallback runs)
}

type frame struct {
	pathLen  int32 // len(f.path) at this container's own path
	relBase  int32 // start in f.path of the row-relative path
	segs     int32 // segments of this container's path (row-relative)
	idx      int32 // next array index
	ndigits  int32 // index mode: digits of the current index in f.path
	row      int32 // row owning this container's fields (tables)
	table    int32 // tables array frame: arena offset of the table name
	tabLen   int32
	isArr    bool
	root     bool      // children's paths start without a separator
	tabArr   bool      // an array whose elements are rows
	check    bool      // children must be checked against the filters
	serial   uint32    // object serial, for duplicate-key detection
	keyStart int32     // start of this object's key hashes in f.khs
	nkeys    int32     // keys seen in this object
	bloom    [4]uint64 // Bloom filter of this object's key hashes
}

type htEntry struct {
	gen uint32
	idx uint32
	h   uint64
}

// New returns a Flattener for opts, or an error wrapping ErrOptions if opts
// is invalid.
func New(opts Options) (*Flattener, error) {
	if opts.Separator == "" {
		opts.Separator = "."
	}
	switch {
	case opts.MaxDepth < 0:
		return nil, fmt.Errorf("%w: negative MaxDepth %d", ErrOptions, opts.MaxDepth)
	case opts.MaxNesting < 0:
		return nil, fmt.Errorf("%w: negative MaxNesting %d", ErrOptions, opts.MaxNesting)
	case opts.Arrays > ArraysTables:
		return nil, fmt.Errorf("%w: unknown array mode %v", ErrOptions, opts.Arrays)
	case opts.OnCollision > CollisionLast:
		return nil, fmt.Errorf("%w: unknown collision policy %v", ErrOptions, opts.OnCollision)
	}
	if opts.MaxNesting == 0 {
		opts.MaxNesting = DefaultMaxNesting
	}
	f := &Flattener{}
	f.init(opts)
	return f, nil
}

// init sets up f for checked opts with defaults filled in.
func (f *Flattener) init(opts Options) {
	*f = Flattener{
		opts:       opts,
		sep:        []byte(opts.Separator),
		maxNesting: opts.MaxNesting,
		tables:     opts.Arrays == ArraysTables,
		seed:       maphash.MakeSeed(),
		empties:    []byte("{}[]"),
	}
	for _, p := range opts.Include {
		f.include = append(f.include, []byte(p))
	}
	for _, p := range opts.Exclude {
		f.exclude = append(f.exclude, []byte(p))
	}
	f.filtering = len(f.include)+len(f.exclude) > 0
	// With a one-byte separator, paths of distinct fields can only be equal
	// when an object repeats a key or a key contains the separator (splitting
	// a path at the separator recovers its segments otherwise). Array
	// indices are digits, so a digit separator in index mode is excluded.
	if len(f.sep) == 1 && !(opts.Arrays == ArraysIndex && f.sep[0]-'0' < 10) {
		f.fastColl = true
		f.sepByte = f.sep[0]
	}
}

// initZero gives a zero Flattener the default options.
func (f *Flattener) initZero() {
	f.init(Options{Separator: ".", MaxNesting: DefaultMaxNesting})
}

// Options returns the options in effect, defaults filled in.
func (f *Flattener) Options() Options {
	if f.sep == nil {
		f.initZero()
	}
	return f.opts
}

// Append flattens doc and appends its fields to dst in document order.
//
// The fields' Path and Value alias doc and the Flattener's buffers: they are
// valid until the next call on f. On error, dst is returned unchanged.
// Append fails with ErrMode under ArraysTables; use AppendRows.
func (f *Flattener) Append(dst []Field, doc []byte) ([]Field, error) {
	if f.sep == nil {
		f.initZero()
	}
	if f.tables {
		return dst, ErrMode
	}
	f.out = dst
	f.base = len(dst)
	f.slow = !f.fastColl
	err := f.run(doc)
	if err == errSuspect {
		f.out = f.out[:f.base]
		f.slow = true
		err = f.run(doc)
	}
	out := f.out
	f.out, f.doc = nil, nil
	if err != nil {
		return dst, err
	}
	return out, nil
}

// AppendRows flattens doc into rows and appends them to dst: the root row
// first, then child rows in document order (see Row). The record key from
// which IDs derive is the document itself; see AppendRowsKey.
//
// Outside ArraysTables mode, AppendRows appends one root row with every field.
// Rows' Table and Fields are valid until the next call on f. On error, dst is
// returned unchanged.
func (f *Flattener) AppendRows(dst []Row, doc []byte) ([]Row, error) {
	return f.AppendRowsKey(dst, doc, doc)
}

// AppendRowsKey is AppendRows with the record key given: the root row's ID is
// a 64-bit hash of key (for example "bucket/object#line"), and every child ID
// derives from it.
func (f *Flattener) AppendRowsKey(dst []Row, doc, key []byte) ([]Row, error) {
	if f.sep == nil {
		f.initZero()
	}
	f.rows = dst
	f.rowBase = len(dst)
	f.out = f.out[:0]
	f.rowOf = f.rowOf[:0]
	f.base = 0
	rootID := xxhash.Sum64(key)
	f.rows = append(f.rows, Row{ID: rootID, Index: -1})
	f.slow = !f.fastColl
	err := f.run(doc)
	if err == errSuspect {
		clear(f.rows[f.rowBase+1:])
		f.rows = f.rows[:f.rowBase+1]
		f.out, f.rowOf = f.out[:0], f.rowOf[:0]
		f.slow = true
		err = f.run(doc)
	}
	if err != nil {
		clear(f.rows[f.rowBase:])
		f.rows, f.doc = nil, nil
		return dst, err
	}
	rows := f.rows
	f.rows, f.doc = nil, nil
	if !f.tables {
		rows[f.rowBase].Fields = f.out[:len(f.out):len(f.out)]
		return rows, nil
	}
	// A top-level array's elements are the root table's rows: drop the
	// placeholder root row if rows were made for them.
	f.groupFields(rows[f.rowBase:])
	if f.rootArray {
		copy(rows[f.rowBase:], rows[f.rowBase+1:])
		rows = rows[:len(rows)-1]
	}
	return rows, nil
}

// groupFields stably sorts the fields in f.out by row (counting sort) into
// f.sorted and points each row at its fields.
func (f *Flattener) groupFields(rows []Row) {
	n := len(rows)
	if cap(f.counts) < n+1 {
		f.counts = make([]int32, n+1, 2*n+1)
	}
	counts := f.counts[:n+1]
	clear(counts)
	for _, r := range f.rowOf {
		counts[r+1]++
	}
	for k := 1; k <= n; k++ {
		counts[k] += counts[k-1]
	}
	if cap(f.sorted) < len(f.out) {
		f.sorted = make([]Field, len(f.out), 2*len(f.out))
	}
	sorted := f.sorted[:len(f.out)]
	for k := range rows {
		s, e := counts[k], counts[k+1]
		rows[k].Fields = sorted[s:s:e]
	}
	for k, fld := range f.out {
		r := f.rowOf[k]
		rows[r].Fields = append(rows[r].Fields, fld)
	}
}
