// Command flatten reads JSON records and writes each one flattened, as one
// JSON object per line whose keys are the field paths in document order.
//
//	go run ./examples/flatten [flags] [input ...]
//
// With no input it reads standard input. An input is a local file, a glob
// ("logs/*.ndjson"), a directory (read recursively, hidden entries
// skipped), "s3://bucket/key" or "s3://bucket/prefix/" (every object under
// it, in key order; the AWS SDK's usual environment applies). Inputs may be
// gzip or zstd compressed (detected by content). Values are JSON strings,
// the number literals exactly as written, true, false, null, or the compact
// JSON of a kept container. With -arrays tables each row is written as
// {"table":…,"row":{…}}: the table is named as -ddl names it (-table for
// the root, ROOT__PATH for child tables), and the row holds the system
// columns of that table's DDL (_ID; _PARENT_ID and _INDEX in child tables)
// and the fields by path.
//
// A bad record writes nothing to standard output and one line to standard
// error naming the input, its 1-based record number and the byte offset of
// the record's start; the run goes on and exits with status 1 at the end.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/internal/jsonstr"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	format      source.Format
	opts        flatten.Options
	files       []string // local paths, globs, directories, s3:// URLs
	s3PathStyle bool
	table       string // -arrays tables: the root table's name
	ddl         ddlConfig
	stage       stageConfig
}

const usage = `usage: flatten [flags] [input ...]

Flattens JSON records to one JSON object per line, or with -o writes them
to compressed staged files for Snowflake's COPY INTO.

Inputs: none (standard input), files, globs ("logs/*.ndjson"), directories
(read recursively), s3://bucket/key or s3://bucket/prefix/ (the AWS SDK's
environment: AWS_REGION, credentials, AWS_ENDPOINT_URL_S3). gzip and zstd
are detected by content.

With -o, unless GOMEMLIMIT is set, the command sets a soft memory limit of
40 MiB per worker, which keeps its peak memory near the writers' live heap.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("flatten", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.TextVar(&c.format, "in", source.NDJSON, "input `FRAMING`: ndjson (one record per line), document (the whole input is one record), array (elements of a top-level array), concatenated (values back to back)")
	fs.TextVar(&c.opts.Arrays, "arrays", flatten.ArraysJSON, "array `MODE`: json (keep whole), index (a.0.b), tables (child rows)")
	fs.TextVar(&c.opts.OnCollision, "on-collision", flatten.CollisionError, "`POLICY` for duplicate paths: error, first or last")
	sep := fs.String("sep", ".", "path `SEPARATOR`")
	maxDepth := fs.Int("max-depth", 0, "maximum path segments `N`; deeper containers are kept whole (0 = no limit)")
	fs.StringVar(&c.table, "table", "root", "with -arrays tables, the root table's `NAME` in the output (child tables are NAME__PATH, as -ddl names them); with -o, the target table (normalized like a column name unless in double quotes)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", false, "address S3 buckets path-style (https://endpoint/bucket/key), as S3-compatible servers need")
	c.ddl = ddlFlags(fs)
	c.stage = stageFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, &parseError{err} // already reported by fs
	}
	c.files = fs.Args()
	if *sep == "" {
		return nil, errors.New("-sep: the separator must not be empty")
	}
	if *maxDepth < 0 {
		return nil, errors.New("-max-depth: must not be negative")
	}
	if c.table == "" {
		return nil, errors.New("-table: the name must not be empty")
	}
	c.opts.Separator = *sep
	c.opts.MaxDepth = *maxDepth
	return c, nil
}

// parseError is an error the flag set has already printed.
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// run is the whole command; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		var pe *parseError
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case !errors.As(err, &pe):
			fmt.Fprintln(stderr, "flatten:", err)
		}
		return 2
	}
	f, err := flatten.New(c.opts)
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return 2
	}
	if *c.ddl.name != "" {
		return runDDL(c, f, stdin, stdout, stderr)
	}
	if *c.stage.dir != "" {
		return runStage(c, stdin, stderr)
	}
	w := bufio.NewWriterSize(stdout, 256<<10)
	p := &printer{f: f, w: w, tables: c.opts.Arrays == flatten.ArraysTables, root: c.table,
		names: schema.NameOptions{Separator: c.opts.Separator}}
	failed := readAll(context.Background(), c, stdin, stderr, p)
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "flatten: writing output:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// printer flattens records and writes them.
type printer struct {
	f      *flatten.Flattener
	w      *bufio.Writer
	tables bool
	fields []flatten.Field
	rows   []flatten.Row
	line   []byte
	key    []byte
	root   string             // the root table's name
	names  schema.NameOptions // how child table paths become names
	table  []byte
}

func (p *printer) done() bool { return false }

// record writes one record's output line(s), or nothing on error.
func (p *printer) record(name string, n, _, _ int64, doc []byte) error {
	line := p.line[:0]
	if p.tables {
		p.key = strconv.AppendInt(append(append(p.key[:0], name...), '#'), n, 10)
		var err error
		p.rows, err = p.f.AppendRowsKey(p.rows[:0], doc, p.key)
		if err != nil {
			return err
		}
		for _, r := range p.rows {
			// The table's name and system columns are those of its DDL
			// (schema.Inferrer.Tables): ROOT and _id for the root table,
			// ROOT__PATH and _id, _parent_id, _index for a child table.
			p.table = append(p.table[:0], p.root...)
			if len(r.Table) > 0 {
				p.table = schema.Normalize(append(p.table, "__"...), string(r.Table), p.names)
			}
			line = append(line, `{"table":`...)
			line = jsonstr.Append(line, p.table)
			line = append(line, `,"row":{"`+schema.IDColumn+`":`...)
			line = strconv.AppendUint(line, r.ID, 10)
			if len(r.Table) > 0 {
				line = append(line, `,"`+schema.ParentIDColumn+`":`...)
				line = strconv.AppendUint(line, r.ParentID, 10)
				line = append(line, `,"`+schema.IndexColumn+`":`...)
				line = strconv.AppendInt(line, int64(r.Index), 10)
			}
			for _, fl := range r.Fields {
				line = append(line, ',')
				line = appendField(line, fl)
			}
			line = append(line, "}}\n"...)
		}
	} else {
		var err error
		p.fields, err = p.f.Append(p.fields[:0], doc)
		if err != nil {
			return err
		}
		line = append(line, '{')
		for i, fl := range p.fields {
			if i > 0 {
				line = append(line, ',')
			}
			line = appendField(line, fl)
		}
		line = append(line, "}\n"...)
	}
	p.line = line
	_, err := p.w.Write(line)
	return err
}

func appendField(dst []byte, fl flatten.Field) []byte {
	dst = jsonstr.Append(dst, fl.Path)
	dst = append(dst, ':')
	if fl.Kind == flatten.String {
		return jsonstr.Append(dst, fl.Value)
	}
	return append(dst, fl.Value...) // numbers, literals and compact JSON as they are
}
