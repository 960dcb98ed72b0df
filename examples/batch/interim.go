package main

// INTERIM: this file stands in for package load's writers and Loader until
// they land (issues 12 and 13). It writes NDJSON gzip staged files described
// by load.File, evolves the table with schema's plans, and loads each file
// with PUT and COPY INTO through database/sql, using the FILE_FORMAT and COPY
// options that load.File states. It is to be replaced by load's API, behind
// the same destination seam (loadstep.go).

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
)

type sqlDest struct {
	db       *sql.DB // nil with -dry-run
	cfg      *Config
	table    string // unquoted, as schema names it
	stageDir string
	policy   *resilience.Policy // around each load (retry, breaker, bulkhead)
	name     string
	hook     func(point string)

	mu sync.Mutex // serialises table evolution
}

func tableName(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return string(schema.Normalize(nil, s, schema.NameOptions{}))
}

func (d *sqlDest) describe() string { return d.name }
func (d *sqlDest) close() error     { return nil }

func (d *sqlDest) newChunk(obj source.Object, first int64) (chunk, error) {
	in, err := schema.NewInferrer(schema.Options{Separator: d.cfg.Sep, Sizing: schema.SizeMax})
	if err != nil {
		return nil, err
	}
	return &sqlChunk{d: d, obj: obj, first: first, in: in}, nil
}

type fieldRef struct {
	path, value [2]int // offsets into arena
	kind        flatten.Kind
}

type sqlChunk struct {
	d     *sqlDest
	obj   source.Object
	first int64
	last  int64
	in    *schema.Inferrer
	arena []byte
	refs  []fieldRef
	rows  []int // start index in refs per row
	pos   [][2]int64
	path  string
}

func (c *sqlChunk) add(n int64, raw []byte, fields []flatten.Field, offset, line int64) error {
	c.in.Observe(fields)
	c.rows = append(c.rows, len(c.refs))
	c.pos = append(c.pos, [2]int64{offset, line})
	for _, f := range fields {
		p0 := len(c.arena)
		c.arena = append(c.arena, f.Path...)
		v0 := len(c.arena)
		c.arena = append(c.arena, f.Value...)
		c.refs = append(c.refs, fieldRef{path: [2]int{p0, v0}, value: [2]int{v0, len(c.arena)}, kind: f.Kind})
	}
	c.last = n
	return nil
}

func (c *sqlChunk) abort() {
	if c.path != "" && !c.d.cfg.DryRun {
		os.Remove(c.path)
	}
}

func (c *sqlChunk) finish(ctx context.Context) (chunkResult, error) {
	var res chunkResult
	if len(c.rows) == 0 {
		return res, nil
	}
	t0 := time.Now()
	ts, err := c.in.Tables(c.d.table)
	if err != nil {
		return res, err
	}
	plan, changes, err := c.d.evolve(ctx, ts[0])
	if err != nil {
		return res, err
	}
	res.tableChanges = changes
	f, err := c.write(plan)
	res.stageTime = time.Since(t0)
	if err != nil {
		return res, err
	}
	res.files, res.stagedBytes = 1, f.Size
	if c.d.db == nil {
		return res, nil
	}
	t1 := time.Now()
	err = c.d.policy.Do(ctx, func(ctx context.Context) error {
		loaded, err := c.d.copyFile(ctx, f)
		res.recordsLoaded = loaded
		return err
	})
	res.loadTime = time.Since(t1)
	if err == nil && !c.d.cfg.DryRun {
		os.Remove(f.Path)
	}
	return res, err
}

// evolve creates or alters the table for an inferred chunk table. Another
// process may evolve the table at the same time (shards): a failed change is
// planned again from the table's new columns.
func (d *sqlDest) evolve(ctx context.Context, t schema.Table) (*schema.Plan, []string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	for range 3 {
		var plan *schema.Plan
		var changes []string
		if plan, changes, err = d.evolveOnce(ctx, t); err == nil {
			return plan, changes, nil
		}
	}
	return nil, nil, err
}

func (d *sqlDest) evolveOnce(ctx context.Context, t schema.Table) (*schema.Plan, []string, error) {
	var existing []schema.ExistingColumn
	if d.db != nil {
		var err error
		if existing, err = d.columns(ctx); err != nil {
			return nil, nil, err
		}
	}
	plan, err := schema.PlanChanges(existing, t, schema.Policy{Mode: schema.Evolve}, schema.PlanOptions{Separator: d.cfg.Sep})
	if err != nil {
		return nil, nil, err
	}
	var changes []string
	if d.db != nil {
		// IF NOT EXISTS only on CREATE: the emulator mistranslates
		// ADD COLUMN IF NOT EXISTS "C" NUMBER(…).
		o := schema.DDLOptions{IfNotExists: plan.Create, NoComments: true}
		for stmt := range strings.SplitSeq(string(plan.AppendSQL(nil, o)), ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := d.db.ExecContext(ctx, stmt); err != nil {
				return nil, nil, fmt.Errorf("batch: evolving table %s: %w", d.table, err)
			}
		}
		if plan.Create {
			changes = append(changes, fmt.Sprintf("create table %s with %d columns", d.table, len(plan.Columns)))
		}
		for _, c := range plan.Changes {
			if c.Kind != schema.ChangeCreate {
				changes = append(changes, c.String())
			}
		}
	}
	return plan, changes, nil
}

func (d *sqlDest) columns(ctx context.Context) ([]schema.ExistingColumn, error) {
	rows, err := d.db.QueryContext(ctx, "DESC TABLE "+string(schema.QuoteIdent(nil, d.table)))
	if err != nil {
		var se interface{ SQLState() string }
		if errors.As(err, &se) || strings.Contains(err.Error(), "does not exist") {
			return nil, nil
		}
		return nil, err
	}
	defer rows.Close()
	names, _ := rows.Columns()
	var out []schema.ExistingColumn
	for rows.Next() {
		vals := make([]sql.NullString, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var r schema.DescRow
		for i, n := range names {
			switch strings.ToLower(n) {
			case "name":
				r.Name = vals[i].String
			case "type":
				r.Type = vals[i].String
			case "kind":
				r.Kind = vals[i].String
			case "null?":
				r.Null = vals[i].String
			case "comment":
				r.Comment = vals[i].String
			}
		}
		c, ok, err := r.Column()
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// write writes the chunk as one NDJSON gzip file named after the source,
// the record range and the content.
func (c *sqlChunk) write(plan *schema.Plan) (load.File, error) {
	var raw bytes.Buffer
	cols := map[string]bool{}
	var line []byte
	for i, start := range c.rows {
		end := len(c.refs)
		if i+1 < len(c.rows) {
			end = c.rows[i+1]
		}
		line = append(line[:0], '{')
		n := 0
		for _, r := range c.refs[start:end] {
			path := c.arena[r.path[0]:r.path[1]]
			val := c.arena[r.value[0]:r.value[1]]
			col, ok := plan.Route(path, r.kind, val)
			if !ok {
				continue
			}
			name := plan.Columns[col].Name
			cols[name] = true
			if n > 0 {
				line = append(line, ',')
			}
			n++
			line = appendJSONString(line, name)
			line = append(line, ':')
			if r.kind == flatten.String {
				line = appendJSONString(line, string(val))
			} else {
				line = append(line, val...)
			}
		}
		line = append(line, "}\n"...)
		raw.Write(line)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		return load.File{}, err
	}
	sum := sha256.Sum256(gz.Bytes())
	h := hex.EncodeToString(sum[:])
	src := sanitize(c.obj.String())
	name := fmt.Sprintf("%s_%d-%d_%s.ndjson.gz", src, c.first, c.last, h[:16])
	dir := c.d.stageDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return load.File{}, err
	}
	path := filepath.Join(dir, name)
	c.path = path
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		return load.File{}, err
	}
	var columns []string
	for _, col := range plan.Columns {
		if cols[col.Name] {
			columns = append(columns, col.Name)
		}
	}
	return load.File{Path: path, Name: name, Table: c.d.table, Format: load.NDJSON, Compression: load.Gzip,
		Columns: columns, Rows: int64(len(c.rows)), Source: c.obj.String(), FirstRecord: c.first, LastRecord: c.last,
		Size: int64(gz.Len()), RawSize: int64(raw.Len()), SHA256: h}, nil
}

func appendJSONString(dst []byte, s string) []byte {
	if utf8.ValidString(s) {
		b, _ := json.Marshal(s)
		return append(dst, b...)
	}
	return strconv.AppendQuote(dst, s)
}

// sanitize makes a source name usable in a file name.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 80 {
		b = b[len(b)-80:]
	}
	return string(b)
}

// copyFile PUTs f to the table stage and COPYs it; a file COPY reports as
// already loaded counts as loaded (its name holds its content hash).
func (d *sqlDest) copyFile(ctx context.Context, f load.File) (int64, error) {
	stage := "@%" + string(schema.QuoteIdent(nil, d.table))
	put := fmt.Sprintf("PUT 'file://%s' %s AUTO_COMPRESS=FALSE OVERWRITE=TRUE", filepath.ToSlash(f.Path), stage)
	if _, err := d.db.ExecContext(ctx, put); err != nil {
		return 0, fmt.Errorf("batch: PUT %s: %w", f.Name, err)
	}
	d.hook("put")
	q := fmt.Sprintf("COPY INTO %s FROM %s FILES = ('%s') FILE_FORMAT = (%s) %s ON_ERROR = ABORT_STATEMENT",
		schema.QuoteIdent(nil, d.table), stage, f.Name, f.FileFormat(), f.CopyOptions())
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("batch: COPY %s: %w", f.Name, err)
	}
	defer rows.Close()
	names, _ := rows.Columns()
	var loaded int64
	var seen bool
	for rows.Next() {
		vals := make([]sql.NullString, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		m := map[string]string{}
		for i, n := range names {
			m[strings.ToLower(n)] = vals[i].String
		}
		if _, ok := m["file"]; !ok {
			continue // "Copy executed with 0 files processed."
		}
		seen = true
		switch m["status"] {
		case "LOADED":
			n, _ := strconv.ParseInt(m["rows_loaded"], 10, 64)
			loaded += n
			if n != f.Rows {
				return loaded, fmt.Errorf("batch: COPY %s loaded %d of %d rows: %s", f.Name, n, f.Rows, m["first_error"])
			}
		case "LOAD_SKIPPED":
			loaded += f.Rows
		default:
			return loaded, fmt.Errorf("batch: COPY %s: %s: %s", f.Name, m["status"], m["first_error"])
		}
	}
	if err := rows.Err(); err != nil {
		return loaded, err
	}
	if !seen {
		// Load metadata says this file (same name and content) is loaded.
		loaded = f.Rows
	}
	return loaded, nil
}

func (d *sqlDest) sample(ctx context.Context, n int) ([]string, [][]string, error) {
	if d.db == nil || n <= 0 {
		return nil, nil, nil
	}
	rows, err := d.db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %s ORDER BY 1 LIMIT %d", schema.QuoteIdent(nil, d.table), n))
	if err != nil {
		return nil, nil, err
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
			return nil, nil, err
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
	return cols, out, rows.Err()
}
