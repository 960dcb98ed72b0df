// Command flatten reads JSON records and writes each one flattened, as one
// JSON object per line whose keys are the field paths in document order.
//
//	go run ./examples/flatten [flags] [file ...]
//
// With no file it reads standard input. Inputs may be gzip or zstd
// compressed (detected by content). Values are JSON strings, the number
// literals exactly as written, true, false, null, or the compact JSON of a
// kept container. With -arrays tables each row is written as
// {"table":…,"row":{…}}, the row including _id, _parent_id and _index.
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
	ddl         ddlConfig
	stage       stageConfig
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("flatten", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "ndjson", "input framing: ndjson, json (one document), array (elements of a top-level array), concat (values back to back)")
	arrays := fs.String("arrays", "json", "array mode: json (keep whole), index (a.0.b), tables (child rows)")
	sep := fs.String("sep", ".", "path separator")
	maxDepth := fs.Int("max-depth", 0, "maximum path segments; deeper containers are kept whole (0 = no limit)")
	onCollision := fs.String("on-collision", "error", "duplicate paths: error, first or last")
	pathStyle := fs.Bool("s3-path-style", false, "address S3 buckets path-style (https://endpoint/bucket/key), as S3-compatible servers need")
	ddl := ddlFlags(fs)
	stage := stageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: flatten [flags] [input ...]\n\nFlattens JSON records to one JSON object per line, or with -o to staged files for Snowflake.\nInputs may be files, globs, directories, s3://bucket/key or s3://bucket/prefix/ URLs, or standard input\nwhen none is named; gzip or zstd compressed inputs are detected by content.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c := &config{files: fs.Args(), ddl: ddl, stage: stage}
	switch *in {
	case "ndjson":
		c.format = source.NDJSON
	case "json":
		c.format = source.Document
	case "array":
		c.format = source.Array
	case "concat":
		c.format = source.Concatenated
	default:
		return nil, fmt.Errorf("-in: unknown framing %q (want ndjson, json, array or concat)", *in)
	}
	switch *arrays {
	case "json":
		c.opts.Arrays = flatten.ArraysJSON
	case "index":
		c.opts.Arrays = flatten.ArraysIndex
	case "tables":
		c.opts.Arrays = flatten.ArraysTables
	default:
		return nil, fmt.Errorf("-arrays: unknown mode %q (want json, index or tables)", *arrays)
	}
	switch *onCollision {
	case "error":
		c.opts.OnCollision = flatten.CollisionError
	case "first":
		c.opts.OnCollision = flatten.CollisionFirst
	case "last":
		c.opts.OnCollision = flatten.CollisionLast
	default:
		return nil, fmt.Errorf("-on-collision: unknown policy %q (want error, first or last)", *onCollision)
	}
	if *sep == "" {
		return nil, errors.New("-sep: the separator must not be empty")
	}
	if *maxDepth < 0 {
		return nil, errors.New("-max-depth: must not be negative")
	}
	c.opts.Separator = *sep
	c.opts.MaxDepth = *maxDepth
	c.s3PathStyle = *pathStyle
	return c, nil
}

// run is the whole command; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "flatten:", err)
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
	p := &printer{f: f, w: w, tables: c.opts.Arrays == flatten.ArraysTables}
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
}

func (p *printer) done() bool { return false }

// record writes one record's output line(s), or nothing on error.
func (p *printer) record(name string, n int64, doc []byte) error {
	line := p.line[:0]
	if p.tables {
		p.key = strconv.AppendInt(append(append(p.key[:0], name...), '#'), n, 10)
		var err error
		p.rows, err = p.f.AppendRowsKey(p.rows[:0], doc, p.key)
		if err != nil {
			return err
		}
		for _, r := range p.rows {
			line = append(line, `{"table":`...)
			line = appendString(line, r.Table)
			line = append(line, `,"row":{"_id":`...)
			line = strconv.AppendUint(line, r.ID, 10)
			if r.Index < 0 {
				line = append(line, `,"_parent_id":null,"_index":null`...)
			} else {
				if r.ParentID == 0 {
					line = append(line, `,"_parent_id":null`...)
				} else {
					line = append(line, `,"_parent_id":`...)
					line = strconv.AppendUint(line, r.ParentID, 10)
				}
				line = append(line, `,"_index":`...)
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
	dst = appendString(dst, fl.Path)
	dst = append(dst, ':')
	if fl.Kind == flatten.String {
		return appendString(dst, fl.Value)
	}
	return append(dst, fl.Value...) // numbers, literals and compact JSON as they are
}

const hexDigits = "0123456789abcdef"

// appendString appends s (valid UTF-8) as a JSON string.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
