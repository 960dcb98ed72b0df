package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
)

// destination is the job's only seam with package load: it turns chunks of
// flattened records into staged files and loads them. Everything else in
// this program (reading, checks, checkpoints, dead letters, reporting) is
// independent of how load is shaped.
type destination interface {
	// start prepares the job's load; fresh says that no earlier run of
	// this shard made progress (replace then clears its staging tables).
	start(ctx context.Context, fresh bool) error
	// newChunk starts the chunk of obj holding records first to last
	// (fewer at the object's end); redo says that an earlier run may have
	// loaded it (the run's first chunk).
	newChunk(ctx context.Context, obj source.Object, first, last int64, redo bool) (chunk, error)
	// finish completes the job's load after the last chunk (replace swaps
	// the new tables in here, unless the job is one shard of several).
	finish(ctx context.Context) (chunkResult, error)
	// sample returns the table's row count and up to n of its rows, for
	// the report.
	sample(ctx context.Context, n int) (count int64, cols []string, rows [][]string, err error)
	// describe names the destination for the report.
	describe() string
}

// chunk collects the rows of consecutive records of one object.
type chunk interface {
	// add adds a flattened record.
	add(rec flatRecord) error
	// finish stages the chunk and, unless dry-running, loads it; when it
	// returns nil the chunk's rows are durable in the table, except those
	// of the records rejected reports.
	finish(ctx context.Context) (chunkResult, error)
	// rejected returns, after finish, the records the load rejected, each
	// once, in record order: those of files COPY rejected whole and of
	// rows it refused, and for a redo those an earlier run rejected.
	rejected(ctx context.Context) ([]loadReject, error)
	// discard takes the rejected records (read again from the source) out
	// of every table of the chunk, recording the decision first, and
	// returns what it takes back from finish's counts.
	discard(ctx context.Context, recs []rejectedRecord) (chunkResult, error)
	// committed is called after the chunk's checkpoint.
	committed(ctx context.Context) error
	// abort drops the chunk's staged files.
	abort()
}

// chunkResult is what finishing a chunk did.
type chunkResult struct {
	files         int
	stagedBytes   int64
	recordsLoaded int64 // rows loaded into the root table
	alreadyLoaded int64 // root rows of files COPY skipped as loaded before
	childRows     int64 // rows loaded into child tables (-arrays tables)
	tableChanges  []string
	failed        []failedFile  // files COPY rejected whole
	inferTime     time.Duration // part of the time spent in add
	stageTime     time.Duration
	loadTime      time.Duration
}

// failedFile is a staged file COPY rejected whole (LOAD_FAILED): none of
// its rows loaded; its records are dead-lettered.
type failedFile struct {
	result load.FileResult
	table  string      // the target table's name
	err    error       // the *load.FileError, with COPY's first error
	pos    []recordPos // the records of its rows
}

// stagingSuffix names the table a replace loads into before it is swapped
// in: TABLE__FLATPIPE_NEXT (and CHILD__FLATPIPE_NEXT for child tables).
const stagingSuffix = "__FLATPIPE_NEXT"

// swappedMarker is the comment a staging table carries into the SWAP: a
// target with it was swapped in and its staging table (now holding the old
// rows) not yet dropped. Cleared once the swap is complete.
const swappedMarker = "flatpipe batch: replacement swapped in, cleanup pending"

// loadDest stages chunks with stagefile.Writer (stagefile.RowsWriter with -arrays
// tables) and loads them with one load.Loader per table.
//
// Append and merge load each chunk into the target as it is finished, so a
// checkpoint follows every durable load. Replace loads each chunk the same
// way (append, with checkpoints) into a staging table, TABLE__FLATPIPE_NEXT,
// and finish swaps it in at the end (ALTER TABLE ... SWAP WITH, atomic for
// readers); a killed replace resumes into the same staging table and swaps
// once (see swapIn). A replace split into shards loads every shard into the
// one staging table, and -finalize N swaps it in once all N shards finished.
type loadDest struct {
	cfg      *Config
	db       *sql.DB            // nil with -dry-run
	opts     load.LoaderOptions // set by connect; Table is the target
	table    string
	stageDir string
	name     string
	hook     func(point string)
	dead     *rowSink

	mu      sync.Mutex
	loaders map[string]*load.Loader // by target table

	rejMu    sync.Mutex
	rejReady bool // rejectsTable exists

	flat *flatten.Flattener // flattens rejected records again for their row IDs
	rows []flatten.Row
}

func (d *loadDest) describe() string { return d.name }

func (d *loadDest) replace() bool { return d.cfg.Disposition == "replace" }

func (d *loadDest) tablesMode() bool { return d.cfg.Arrays == "tables" }

// init checks the loader options by building the root table's loader.
func (d *loadDest) init() error {
	_, err := d.loaderFor(d.table)
	return err
}

// loaderFor returns the loader of target table name (root or child):
// replace loads into its staging table, appending.
func (d *loadDest) loaderFor(name string) (*load.Loader, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.loaders[name]; ok {
		return l, nil
	}
	o := d.opts
	o.Table = string(schema.QuoteIdent(nil, name))
	if d.replace() {
		o.Table = string(schema.QuoteIdent(nil, name+stagingSuffix))
		o.Disposition = load.Append
	}
	l, err := load.NewLoader(d.db, o)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	if d.loaders == nil {
		d.loaders = map[string]*load.Loader{}
	}
	d.loaders[name] = l
	return l, nil
}

func (d *loadDest) loading() bool { return d.db != nil && !d.cfg.DryRun }

func (d *loadDest) start(ctx context.Context, fresh bool) error {
	_, n, _ := parseShard(d.cfg.Shard)
	if !d.loading() || !d.replace() || !fresh || n > 1 {
		return nil
	}
	// A fresh replace starts from empty staging tables: what an earlier
	// run left there (without a checkpoint, or with one deleted since)
	// is not part of this input.
	tables, err := d.family(ctx)
	if err != nil {
		return err
	}
	// So are the records it rejected (see rejectsTable).
	if err := d.clearRejects(ctx, ""); err != nil {
		return err
	}
	for name, comment := range tables {
		switch {
		case strings.HasSuffix(name, stagingSuffix):
			if err := d.exec(ctx, "DROP TABLE IF EXISTS "+quoteName(name)); err != nil {
				return err
			}
		case comment == swappedMarker:
			if err := d.exec(ctx, "COMMENT ON TABLE "+quoteName(name)+" IS ''"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *loadDest) newChunk(ctx context.Context, obj source.Object, first, last int64, redo bool) (chunk, error) {
	// Time columns are declared by their path, which a table's columns
	// hold in their comments (timecols.go).
	detect := d.cfg.DetectTime && !d.tablesMode() && d.cfg.ColumnComments
	in, err := schema.NewInferrer(schema.InferOptions{Separator: d.cfg.Sep, Sizing: schema.SizeMax, DetectTime: detect})
	if err != nil {
		return nil, err
	}
	names := schema.NameOptions{Separator: d.cfg.Sep}
	wo := stagefile.WriterOptions{Dir: d.stageDir, Table: d.table, Format: d.cfg.format(),
		Compression: d.cfg.compression(), Source: obj.String(), Names: names}
	c := &loadChunk{d: d, obj: obj, in: in, first: first, last: last, redo: redo}
	if d.tablesMode() {
		if c.rw, err = stagefile.NewRowsWriter(wo, nil); err != nil {
			return nil, err
		}
		// Child tables are named as the RowsWriter names them: a Namer
		// over the table's paths in order of first appearance.
		if c.tnames, err = schema.NewNamer(names, d.table); err != nil {
			return nil, err
		}
		c.pathName, c.rowRecs = map[string]string{}, map[string][]int32{}
		return c, nil
	}
	if !detect {
		if c.w, err = stagefile.NewWriter(wo); err != nil {
			return nil, err
		}
		return c, nil
	}
	// -detect-time: the writer is made after the look-ahead, with the
	// time columns declared (timecols.go).
	c.wo, c.look, c.parquet = wo, &hold{}, d.cfg.Format == "parquet"
	if d.loading() {
		l, err := d.loaderFor(d.table)
		if err != nil {
			return nil, err
		}
		existing, _, err := l.Columns(ctx)
		if err != nil {
			return nil, fmt.Errorf("batch: reading the columns of table %s: %w", l.Table(), err)
		}
		c.times, c.tablePaths, c.tableCols = tableTimes(existing, names)
	}
	return c, nil
}

type loadChunk struct {
	d           *loadDest
	obj         source.Object
	first, last int64                 // the chunk's record range
	redo        bool                  // an earlier run may have loaded the chunk
	w           *stagefile.Writer     // -arrays json or index (nil during the look-ahead)
	rw          *stagefile.RowsWriter // -arrays tables
	in          *schema.Inferrer
	pos         []recordPos // written records in file order

	// -arrays tables: per table, the index in pos of each row's record,
	// in the order the rows were written.
	rowRecs  map[string][]int32
	pathName map[string]string
	tnames   *schema.Namer

	inferTime time.Duration

	// -detect-time (timecols.go): the writer's options, the records held
	// until its time columns are known, the declared time columns by
	// path, and the table's paths and column names.
	wo         stagefile.WriterOptions
	look       *hold
	times      map[string]timeCol
	tablePaths map[string]bool
	tableCols  map[string]bool
	parquet    bool

	// After the load: the staged files, the records of their rows, what
	// COPY did with each (the first answer that was not a skip), the rows
	// it rejected, the files it rejected whole.
	files      []stagefile.File
	filePos    map[string][]recordPos
	results    map[string]load.FileResult
	rowRejects map[string]map[int64]loadReject
	failed     []failedFile
	rejects    bool // rejectsTable may hold entries of the chunk
}

// recordPos locates a written record in its source.
type recordPos struct{ number, offset, line int64 }

func (c *loadChunk) add(r flatRecord) error {
	if c.rw != nil {
		return c.addRows(r)
	}
	if err := c.checkTimes(r.fields); err != nil {
		return err
	}
	if c.w == nil {
		c.look.add(r)
		t := time.Now()
		c.in.Observe(r.fields)
		c.inferTime += time.Since(t)
		if c.look.full() {
			return c.startWriter()
		}
		return nil
	}
	if err := c.w.Write(r.number, r.fields); err != nil {
		if errors.Is(err, stagefile.ErrValue) {
			return &recordError{reason: "value", err: err}
		}
		return err
	}
	t := time.Now()
	c.in.Observe(r.fields)
	c.inferTime += time.Since(t)
	c.pos = append(c.pos, recordPos{r.number, r.offset, r.line})
	return nil
}

// addRows writes a record's rows one by one, so that every row written is
// traced to its record.
func (c *loadChunk) addRows(r flatRecord) error {
	idx := int32(len(c.pos))
	c.pos = append(c.pos, recordPos{r.number, r.offset, r.line})
	for i := range r.rows {
		name := c.tableName(r.rows[i].Table)
		if err := c.rw.WriteRows(r.number, r.rows[i:i+1]); err != nil {
			if i == 0 {
				c.pos = c.pos[:idx]
			}
			c.observe(r.rows[:i])
			if errors.Is(err, stagefile.ErrValue) {
				// Rows written before it stay written (documented
				// limit); the record is dead-lettered.
				return &recordError{reason: "value", err: err}
			}
			return err
		}
		c.rowRecs[name] = append(c.rowRecs[name], idx)
	}
	c.observe(r.rows)
	return nil
}

func (c *loadChunk) observe(rows []flatten.Row) {
	t := time.Now()
	c.in.ObserveRows(rows)
	c.inferTime += time.Since(t)
}

// tableName returns the name of the table of rows at path, as the
// RowsWriter names it.
func (c *loadChunk) tableName(path []byte) string {
	if len(path) == 0 {
		return c.d.table
	}
	if n, ok := c.pathName[string(path)]; ok {
		return n
	}
	n := c.d.table + "__" + c.tnames.Name(string(path))
	c.pathName[string(path)] = n
	return n
}

func (c *loadChunk) close() ([]stagefile.File, error) {
	if c.rw != nil {
		return c.rw.Close()
	}
	if err := c.startWriter(); err != nil {
		return nil, err
	}
	return c.w.Close()
}

func (c *loadChunk) abort() {
	files, _ := c.close()
	if !c.d.cfg.DryRun {
		for _, f := range files {
			os.Remove(f.Path)
		}
	}
}

// filePositions returns, per staged file, the records of its rows in row
// order. It fails if the files hold rows the chunk did not trace (a
// naming mismatch between the chunk and the writer: a bug, not bad data).
func (c *loadChunk) filePositions(files []stagefile.File) (map[string][]recordPos, error) {
	out := make(map[string][]recordPos, len(files))
	if c.rw == nil {
		i := 0
		for _, f := range files {
			n := int(f.Rows)
			out[f.Name] = c.pos[min(i, len(c.pos)):min(i+n, len(c.pos))]
			i += n
		}
		if i != len(c.pos) {
			return nil, fmt.Errorf("batch: %s: the staged files hold %d rows, the chunk wrote %d records", c.obj, i, len(c.pos))
		}
		return out, nil
	}
	next := map[string]int{} // rows of each table taken by earlier files
	for _, f := range files {
		recs := c.rowRecs[f.Table]
		i := next[f.Table]
		n := int(f.Rows)
		if i+n > len(recs) {
			return nil, fmt.Errorf("batch: %s: staged file %s holds rows of table %s that the chunk did not trace to records", c.obj, f.Name, f.Table)
		}
		ps := make([]recordPos, 0, n)
		for _, k := range recs[i : i+n] {
			ps = append(ps, c.pos[k])
		}
		next[f.Table] = i + n
		out[f.Name] = ps
	}
	return out, nil
}

func (c *loadChunk) finish(ctx context.Context) (chunkResult, error) {
	res := chunkResult{inferTime: c.inferTime}
	t0 := time.Now()
	files, err := c.close()
	res.stageTime = time.Since(t0)
	if err != nil {
		return res, fmt.Errorf("batch: staging %s: %w", c.obj, err)
	}
	for _, f := range files {
		res.files++
		res.stagedBytes += f.Size
	}
	if len(files) == 0 || !c.d.loading() {
		return res, nil
	}
	inferred, err := c.in.Tables(c.d.table)
	if err != nil {
		return res, err
	}
	byName := map[string]schema.Table{}
	for _, t := range inferred {
		byName[t.Name] = t
	}
	// One load per table, the root table first; the checkpoint after the
	// chunk covers them all (a redo skips the files already loaded).
	var order []string
	groups := map[string][]stagefile.File{}
	for _, f := range files {
		if _, ok := groups[f.Table]; !ok {
			order = append(order, f.Table)
		}
		groups[f.Table] = append(groups[f.Table], f)
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Compare(b2i(a != c.d.table), b2i(b != c.d.table))
	})
	pos, err := c.filePositions(files)
	if err != nil {
		return res, err
	}
	c.files, c.filePos = files, pos
	c.results, c.rowRejects = map[string]load.FileResult{}, map[string]map[int64]loadReject{}
	t1 := time.Now()
	defer func() { res.loadTime = time.Since(t1) }()
	for _, table := range order {
		fs := groups[table]
		l, err := c.d.loaderFor(table)
		if err != nil {
			return res, err
		}
		changes, err := c.load(ctx, l, table, byName[table], fs)
		res.tableChanges = append(res.tableChanges, changes...)
		if err != nil {
			return res, fmt.Errorf("batch: loading %s records %d-%d into %s: %w", c.obj, fs[0].FirstRecord, fs[len(fs)-1].LastRecord, table, err)
		}
	}
	res.failed = c.failed
	// Rows loaded now and rows found loaded before (COPY's load metadata
	// skipped their file: an earlier run loaded it, or an identical file).
	for _, f := range files {
		r, ok := c.results[f.Name]
		if !ok {
			continue
		}
		switch root := f.Table == c.d.table; {
		case r.Status == "LOAD_SKIPPED" && root:
			res.alreadyLoaded += r.RowsLoaded
		case r.Status == "LOAD_SKIPPED":
		case root:
			res.recordsLoaded += r.RowsLoaded
		default:
			res.childRows += r.RowsLoaded
		}
	}
	for _, f := range files {
		os.Remove(f.Path)
	}
	return res, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// load loads one table's files. A file COPY rejects whole (LOAD_FAILED:
// every row refused, under ON_ERROR = CONTINUE) is set aside with its
// records for the dead letters, and the rest is loaded again (files
// already loaded are skipped), until every other file is in. Each file's
// result is the first that is not a skip: a file loaded by an earlier
// round is skipped by the next.
func (c *loadChunk) load(ctx context.Context, l *load.Loader, table string, t schema.Table, files []stagefile.File) (changes []string, err error) {
	c.d.dead.register(files, c.obj, table, c.filePos)
	defer func() { maps.Copy(c.rowRejects, c.d.dead.unregister(files)) }()
	note := func(rs []load.FileResult) {
		for _, r := range rs {
			if prev, ok := c.results[r.File.Name]; ok && r.Status == "LOAD_SKIPPED" && prev.Status != "LOAD_SKIPPED" {
				continue
			}
			c.results[r.File.Name] = r
		}
	}
	for len(files) > 0 {
		r, err := l.Load(ctx, t, files)
		if r != nil {
			changes = append(changes, planChanges(r.Plan)...)
			note(r.Files)
		}
		var fe *load.FileError
		if err == nil || !errors.As(err, &fe) || fe.Result.Status != "LOAD_FAILED" || !slices.ContainsFunc(files, func(f stagefile.File) bool { return f.Name == fe.Result.File.Name }) {
			return changes, err
		}
		c.results[fe.Result.File.Name] = fe.Result
		c.failed = append(c.failed, failedFile{result: fe.Result, table: table, err: fe, pos: c.filePos[fe.Result.File.Name]})
		files = slices.DeleteFunc(slices.Clone(files), func(f stagefile.File) bool { return f.Name == fe.Result.File.Name })
	}
	return changes, nil
}

func (c *loadChunk) rejected(ctx context.Context) ([]loadReject, error) {
	if !c.d.loading() || len(c.files) == 0 {
		return nil, nil
	}
	byNum := map[int64]loadReject{}
	add := func(r loadReject) {
		if prev, ok := byNum[r.pos.number]; !ok || r.durable && !prev.durable {
			byNum[r.pos.number] = r
		}
	}
	for _, f := range c.failed {
		for _, rp := range f.pos {
			add(loadReject{pos: rp, reason: "load-failed", table: f.table, msg: f.err.Error()})
		}
	}
	for _, rows := range c.rowRejects {
		for _, r := range rows {
			add(r)
		}
	}
	if c.redo {
		earlier, err := c.d.readRejects(ctx, c.obj, c.first, c.last)
		if err != nil {
			return nil, err
		}
		for _, r := range earlier {
			add(r)
		}
	}
	if len(byNum) > 0 {
		c.rejects = true
	}
	out := slices.Collect(maps.Values(byNum))
	slices.SortFunc(out, func(a, b loadReject) int { return cmp.Compare(a.pos.number, b.pos.number) })
	return out, nil
}

// discard takes the rejected records out of the chunk's tables. A record
// is one row without -arrays tables, which a rejected record never has in
// the table: nothing to do. With -arrays tables, the rows of each record,
// found by flattening it again (row IDs derive from its place), are
// deleted from every table, in one transaction with the decision.
func (c *loadChunk) discard(ctx context.Context, recs []rejectedRecord) (chunkResult, error) {
	var back chunkResult
	if c.rw == nil || !c.d.loading() || len(recs) == 0 {
		return back, nil
	}
	gone := make(map[int64]loadReject, len(recs))
	for _, r := range recs {
		gone[r.pos.number] = r.loadReject
	}
	// What finish counted of their rows: rows of files that loaded, or
	// that COPY skipped as loaded before, which COPY did not refuse.
	for _, f := range c.files {
		r, ok := c.results[f.Name]
		if !ok || r.Status == "LOAD_FAILED" {
			continue
		}
		refused := c.rowRejects[f.Name]
		for i, rp := range c.filePos[f.Name] {
			g, ok := gone[rp.number]
			if _, no := refused[int64(i+1)]; no || !ok {
				continue
			}
			switch root := f.Table == c.d.table; {
			case r.Status == "LOAD_SKIPPED" && root:
				// Skipped now, so its refused rows are known from the
				// earlier run's decision only: the record's root row,
				// if COPY refused it, was not counted.
				if g.reason != "load-rejected" || g.table != c.d.table {
					back.alreadyLoaded++
				}
			case r.Status == "LOAD_SKIPPED":
			case root:
				back.recordsLoaded++
			default:
				back.childRows++
			}
		}
	}
	d := c.d
	if d.flat == nil {
		f, err := flatten.New(flattenOptions(d.cfg))
		if err != nil {
			return back, err
		}
		d.flat = f
	}
	inChunk := map[string]bool{}
	for _, f := range c.files {
		inChunk[f.Table] = true
	}
	ids := map[string][]uint64{}
	var key []byte
	var fresh []loadReject
	name := c.obj.String()
	for _, r := range recs {
		if !r.durable {
			fresh = append(fresh, r.loadReject)
		}
		key = recordKey(key[:0], name, r.pos.number)
		rows, err := d.flat.AppendRowsKey(d.rows[:0], r.data, key)
		d.rows = rows[:0]
		if err != nil {
			return back, fmt.Errorf("batch: %s line %d: flattening a rejected record again: %w; has the object changed?", name, r.pos.line, err)
		}
		for _, row := range rows {
			t := c.tableName(row.Table)
			if !inChunk[t] {
				return back, fmt.Errorf("batch: %s line %d: a rejected record has rows in table %s, which the chunk did not load; has the object changed?", name, r.pos.line, t)
			}
			ids[t] = append(ids[t], row.ID)
		}
	}
	c.rejects = true
	_, err := d.discardRows(ctx, c.obj, fresh, ids)
	return back, err
}

func (c *loadChunk) committed(ctx context.Context) error {
	if !c.rejects {
		return nil
	}
	return c.d.forgetRejects(ctx, c.obj, c.first, c.last)
}

// recordKey appends the key from which the row IDs of record number of
// object name derive (-arrays tables), so a redone chunk writes the same
// rows.
func recordKey(dst []byte, name string, number int64) []byte {
	return strconv.AppendInt(append(append(dst, name...), '#'), number, 10)
}

// finish swaps a replace's staging tables in, unless the job is one shard
// of several (-finalize N does it then).
func (d *loadDest) finish(ctx context.Context) (chunkResult, error) {
	var res chunkResult
	_, n, _ := parseShard(d.cfg.Shard)
	if !d.loading() || !d.replace() || n > 1 {
		return res, nil
	}
	t := time.Now()
	changes, err := d.swapIn(ctx)
	res.loadTime = time.Since(t)
	res.tableChanges = changes
	return res, err
}

// swapIn swaps every staging table of the table (root and child tables)
// in for its target and drops what it replaced. It can be repeated after a
// crash at any point and swaps each table once: a staging table that
// exists while its target does not carry swappedMarker holds the new rows
// (swap them in); a target carrying the marker was swapped in (drop the
// staging table, now holding the old rows, then clear the marker). A
// target that does not exist yet is created by renaming its staging
// table. The tables are swapped one after another, root first, each
// atomically; not all at once.
func (d *loadDest) swapIn(ctx context.Context) ([]string, error) {
	tables, err := d.family(ctx)
	if err != nil {
		return nil, err
	}
	var staging []string
	for name := range tables {
		if strings.HasSuffix(name, stagingSuffix) {
			staging = append(staging, name)
		}
	}
	slices.Sort(staging)
	slices.SortStableFunc(staging, func(a, b string) int {
		return cmp.Compare(b2i(a != d.table+stagingSuffix), b2i(b != d.table+stagingSuffix))
	})
	var changes []string
	for _, stg := range staging {
		target := strings.TrimSuffix(stg, stagingSuffix)
		comment, exists := tables[target]
		if comment != swappedMarker {
			if !exists {
				if err := d.exec(ctx, "ALTER TABLE "+quoteName(stg)+" RENAME TO "+quoteName(target)); err != nil {
					return changes, err
				}
				changes = append(changes, "replace: "+target+" created from "+stg)
				d.hook("swapped")
				continue
			}
			if err := d.exec(ctx, "COMMENT ON TABLE "+quoteName(stg)+" IS "+string(schema.QuoteString(nil, swappedMarker))); err != nil {
				return changes, err
			}
			// Not retried: a SWAP repeated after a lost answer would
			// swap back. A rerun finds the marker instead.
			if _, err := d.db.ExecContext(ctx, "ALTER TABLE "+quoteName(target)+" SWAP WITH "+quoteName(stg)); err != nil {
				return changes, fmt.Errorf("batch: replace: swapping %s in for %s: %w", stg, target, err)
			}
			changes = append(changes, "replace: "+stg+" swapped in for "+target)
			d.hook("swapped")
		}
		if err := d.exec(ctx, "DROP TABLE IF EXISTS "+quoteName(stg)); err != nil {
			return changes, err
		}
		tables[target] = swappedMarker
	}
	for name, comment := range tables {
		if comment == swappedMarker && !strings.HasSuffix(name, stagingSuffix) {
			if err := d.exec(ctx, "COMMENT ON TABLE "+quoteName(name)+" IS ''"); err != nil {
				return changes, err
			}
		}
	}
	return changes, nil
}

// family returns the tables of the job's table (TABLE, TABLE__… child
// tables, and their staging tables) in the session's schema, with their
// comments.
func (d *loadDest) family(ctx context.Context) (map[string]string, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT TABLE_NAME, COMMENT FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = CURRENT_SCHEMA()")
	if err != nil {
		return nil, fmt.Errorf("batch: listing tables: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, comment sql.NullString
		if err := rows.Scan(&name, &comment); err != nil {
			return nil, fmt.Errorf("batch: listing tables: %w", err)
		}
		if name.String == d.table || strings.HasPrefix(name.String, d.table+"__") {
			out[name.String] = comment.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("batch: listing tables: %w", err)
	}
	return out, nil
}

// exec runs an idempotent statement through the loader's retry policy.
func (d *loadDest) exec(ctx context.Context, q string) error {
	run := func(ctx context.Context) error {
		_, err := d.db.ExecContext(ctx, q)
		return err
	}
	var err error
	if d.opts.Retry != nil {
		err = d.opts.Retry.Do(ctx, run)
	} else {
		err = run(ctx)
	}
	if err != nil {
		return fmt.Errorf("batch: %s: %w", q, err)
	}
	return nil
}

func quoteName(name string) string { return string(schema.QuoteIdent(nil, name)) }

func planChanges(p *schema.Plan) []string {
	if p == nil {
		return nil
	}
	var out []string
	if p.Create {
		out = append(out, fmt.Sprintf("create table %s with %d columns", p.Table, len(p.Columns)))
	}
	for _, c := range p.Changes {
		if c.Kind != schema.ChangeCreate {
			out = append(out, c.String())
		}
	}
	return out
}

func (c *Config) format() stagefile.Format {
	var f stagefile.Format
	_ = f.UnmarshalText([]byte(c.Format))
	return f
}

func (c *Config) compression() stagefile.Compression {
	var z stagefile.Compression
	_ = z.UnmarshalText([]byte(c.Compression))
	return z
}

// progressEvents turns the loader's events into metrics and crash points.
type progressEvents struct {
	metrics resilience.Metrics
	hook    func(string)
}

func (p progressEvents) Progress(e load.Event) {
	switch e.Step {
	case load.StepUpload:
		p.metrics.Count("FilesUploaded", 1)
		p.metrics.Count("BytesUploaded", float64(e.Bytes))
		p.hook("put")
	case load.StepCopy:
		p.metrics.Observe("CopyTime", e.Duration.Seconds(), resilience.UnitSeconds)
	case load.StepRejected:
		p.metrics.Count("RowsRejectedByCopy", float64(e.Rows))
	}
}

func (d *loadDest) sample(ctx context.Context, n int) (int64, []string, [][]string, error) {
	if d.db == nil {
		return -1, nil, nil, nil
	}
	var count int64
	if err := d.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+string(schema.QuoteIdent(nil, d.table))).Scan(&count); err != nil {
		return -1, nil, nil, err
	}
	if n <= 0 {
		return count, nil, nil, nil
	}
	rows, err := d.db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %s ORDER BY 1 LIMIT %d", schema.QuoteIdent(nil, d.table), n))
	if err != nil {
		return count, nil, nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	// Dates and timestamps are printed as their type holds them: a date,
	// a wall clock (TIMESTAMP_NTZ), or an instant in its offset.
	layouts := make([]string, len(cols))
	if cts, err := rows.ColumnTypes(); err == nil {
		for i, ct := range cts {
			switch ct.DatabaseTypeName() {
			case "DATE":
				layouts[i] = time.DateOnly
			case "TIMESTAMP_NTZ":
				layouts[i] = "2006-01-02T15:04:05.999999999"
			case "TIMESTAMP_TZ", "TIMESTAMP_LTZ":
				layouts[i] = time.RFC3339Nano
			}
		}
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		times := make([]sql.NullTime, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
			if layouts[i] != "" {
				ptrs[i] = &times[i]
			}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return count, nil, nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch {
			case layouts[i] != "" && times[i].Valid:
				row[i] = times[i].Time.Format(layouts[i])
			case layouts[i] == "" && v.Valid:
				row[i] = v.String
			default:
				row[i] = "NULL"
			}
		}
		out = append(out, row)
	}
	return count, cols, out, rows.Err()
}

// sanitize makes a name usable in a file or checkpoint name.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 120 {
		b = b[len(b)-120:]
	}
	return string(b)
}
