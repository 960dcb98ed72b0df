package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
)

// destination is the job's only seam with package load: it turns chunks of
// flattened records into staged files and loads them. Everything else in
// this program (reading, checks, checkpoints, dead letters, reporting) is
// independent of how load is shaped.
type destination interface {
	// newChunk starts the chunk of obj whose first record is number first.
	newChunk(obj source.Object, first int64) (chunk, error)
	// finish completes the job's load after the last chunk (Replace swaps
	// the new table in here).
	finish(ctx context.Context) (chunkResult, error)
	// sample returns the table's row count and up to n of its rows, for
	// the report.
	sample(ctx context.Context, n int) (count int64, cols []string, rows [][]string, err error)
	// describe names the destination for the report.
	describe() string
}

// chunk collects the rows of consecutive records of one object.
type chunk interface {
	// add adds the flattened record number n.
	add(n int64, fields []flatten.Field, offset, line int64) error
	// finish stages the chunk and, unless dry-running, loads it; when it
	// returns nil the chunk's rows are durable in the table.
	finish(ctx context.Context) (chunkResult, error)
	// abort drops the chunk's staged files.
	abort()
}

// chunkResult is what finishing a chunk did.
type chunkResult struct {
	files         int
	stagedBytes   int64
	recordsLoaded int64
	tableChanges  []string
	inferTime     time.Duration // part of the time spent in add
	stageTime     time.Duration
	loadTime      time.Duration
}

// loadDest stages chunks with load.Writer and loads them with load.Loader.
//
// Append and Merge load each chunk as it is finished, so a checkpoint
// follows every durable load. Replace must swap one new table in for the
// whole job: its chunks are only staged, and the files are loaded (into a
// new table, then swapped in) by finish, after the last chunk; a crash
// before that leaves the old table untouched and the rerun starts over
// (-checkpoint is refused with replace).
type loadDest struct {
	cfg      *Config
	db       *sql.DB      // nil with -dry-run
	loader   *load.Loader // nil with -dry-run
	table    string
	stageDir string
	name     string
	hook     func(point string)
	dead     *rowSink

	mu       sync.Mutex
	pending  []load.File      // Replace: files staged, not yet loaded
	inferred *schema.Inferrer // Replace: the whole job's table
}

func (d *loadDest) describe() string { return d.name }

func (d *loadDest) newChunk(obj source.Object, first int64) (chunk, error) {
	in, err := schema.NewInferrer(schema.InferOptions{Separator: d.cfg.Sep, Sizing: schema.SizeMax})
	if err != nil {
		return nil, err
	}
	w, err := load.NewWriter(load.WriterOptions{Dir: d.stageDir, Table: d.table, Format: d.cfg.format(),
		Compression: d.cfg.compression(), Source: obj.String(), Names: schema.NameOptions{Separator: d.cfg.Sep}})
	if err != nil {
		return nil, err
	}
	return &loadChunk{d: d, obj: obj, w: w, in: in}, nil
}

type loadChunk struct {
	d   *loadDest
	obj source.Object
	w   *load.Writer
	in  *schema.Inferrer
	pos []recordPos // written records in file order

	inferTime time.Duration
}

// recordPos locates a written record in its source.
type recordPos struct{ number, offset, line int64 }

func (c *loadChunk) add(n int64, fields []flatten.Field, offset, line int64) error {
	if err := c.w.Write(n, fields); err != nil {
		if errors.Is(err, load.ErrValue) {
			return &recordError{reason: "value", err: err}
		}
		return err
	}
	t := time.Now()
	c.in.Observe(fields)
	c.inferTime += time.Since(t)
	c.pos = append(c.pos, recordPos{n, offset, line})
	return nil
}

func (c *loadChunk) abort() {
	files, _ := c.w.Close()
	if !c.d.cfg.DryRun {
		for _, f := range files {
			os.Remove(f.Path)
		}
	}
}

func (c *loadChunk) finish(ctx context.Context) (chunkResult, error) {
	res := chunkResult{inferTime: c.inferTime}
	t0 := time.Now()
	files, err := c.w.Close()
	res.stageTime = time.Since(t0)
	if err != nil {
		return res, fmt.Errorf("batch: staging %s: %w", c.obj, err)
	}
	for _, f := range files {
		res.files++
		res.stagedBytes += f.Size
	}
	if len(files) == 0 || c.d.loader == nil {
		return res, nil
	}
	if c.d.cfg.Disposition == "replace" {
		c.d.mu.Lock()
		defer c.d.mu.Unlock()
		c.d.pending = append(c.d.pending, files...)
		if c.d.inferred == nil {
			c.d.inferred = c.in
		} else if err := c.d.inferred.Merge(c.in); err != nil {
			return res, err
		}
		return res, nil
	}
	ts, err := c.in.Tables(c.d.table)
	if err != nil {
		return res, err
	}
	c.d.dead.register(files, c.obj.String(), c.pos)
	defer c.d.dead.unregister(files)
	t1 := time.Now()
	r, err := c.d.loader.Load(ctx, ts[0], files)
	res.loadTime = time.Since(t1)
	if err != nil {
		return res, fmt.Errorf("batch: loading %s records %d-%d: %w", c.obj, files[0].FirstRecord, files[len(files)-1].LastRecord, err)
	}
	res.recordsLoaded = r.RowsLoaded
	res.tableChanges = planChanges(r.Plan)
	for _, f := range files {
		os.Remove(f.Path)
	}
	return res, nil
}

// finish loads a Replace job's files and swaps the new table in.
func (d *loadDest) finish(ctx context.Context) (chunkResult, error) {
	var res chunkResult
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loader == nil || d.cfg.Disposition != "replace" || len(d.pending) == 0 {
		return res, nil
	}
	ts, err := d.inferred.Tables(d.table)
	if err != nil {
		return res, err
	}
	t1 := time.Now()
	r, err := d.loader.Load(ctx, ts[0], d.pending)
	res.loadTime = time.Since(t1)
	if err != nil {
		return res, fmt.Errorf("batch: replacing %s: %w", d.table, err)
	}
	res.recordsLoaded = r.RowsLoaded
	res.tableChanges = planChanges(r.Plan)
	return res, nil
}

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

func (c *Config) format() load.Format {
	var f load.Format
	_ = f.UnmarshalText([]byte(c.Format))
	return f
}

func (c *Config) compression() load.Compression {
	var z load.Compression
	_ = z.UnmarshalText([]byte(c.Compression))
	return z
}

// rowSink receives the rows COPY rejected (ON_ERROR = CONTINUE with
// load's AcceptPartial) and dead-letters them with their source position:
// a row of a staged file is traced back to its record through the order
// in which the chunk wrote them.
type rowSink struct {
	mu    sync.Mutex
	files map[string]fileRows
	write func(ctx context.Context, object string, pos recordPos, data []byte, err error) error
}

type fileRows struct {
	object string
	pos    []recordPos // the file's rows, in order
}

func (s *rowSink) register(files []load.File, object string, pos []recordPos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string]fileRows{}
	}
	i := 0
	for _, f := range files {
		n := int(f.Rows)
		s.files[f.Name] = fileRows{object: object, pos: pos[i:min(i+n, len(pos))]}
		i += n
	}
}

func (s *rowSink) unregister(files []load.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		delete(s.files, f.Name)
	}
}

// RejectedRow implements load.DeadLetterSink.
func (s *rowSink) RejectedRow(ctx context.Context, r load.RejectedRow) error {
	s.mu.Lock()
	var fr fileRows
	for name, v := range s.files {
		if name == r.File || strings.HasSuffix(r.File, "/"+name) {
			fr = v
			break
		}
	}
	s.mu.Unlock()
	var pos recordPos
	if r.Row >= 1 && int(r.Row) <= len(fr.pos) {
		pos = fr.pos[r.Row-1]
	}
	return s.write(ctx, fr.object, pos, []byte(r.Record), &copyRejection{r})
}

// copyRejection is the error of a row COPY rejected.
type copyRejection struct{ r load.RejectedRow }

func (e *copyRejection) Error() string {
	return fmt.Sprintf("COPY rejected row %d of %s (line %d, column %s): %s %s", e.r.Row, e.r.File, e.r.Line, e.r.Column, e.r.Code, e.r.Message)
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
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return count, nil, nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			} else {
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
