package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
)

// ddlConfig holds the -ddl and -sample flags: with -ddl NAME the command
// infers the table(s) the input would become and prints CREATE TABLE
// statements instead of the records.
type ddlConfig struct {
	name       *string
	sample     *int
	detectTime *bool
	sizing     *schema.Sizing
}

func ddlFlags(fs *flag.FlagSet) ddlConfig {
	sizing := new(schema.Sizing)
	fs.TextVar(sizing, "sizing", schema.SizeExact, "with -ddl, VARCHAR and NUMBER `SIZING`: exact (longest value seen), rounded (powers of two; 9, 18, 38 digits) or max")
	return ddlConfig{
		sizing:     sizing,
		name:       fs.String("ddl", "", "print CREATE TABLE statements for a table `NAME` (and its child tables with -arrays tables) inferred from the input, instead of the records"),
		sample:     fs.Int("sample", 0, "with -ddl, infer from the first `N` records only (0 = all)"),
		detectTime: fs.Bool("detect-time", true, "with -ddl, type ISO-8601 strings as DATE / TIMESTAMP_NTZ / TIMESTAMP_TZ"),
	}
}

// runDDL reads the inputs (up to -sample records), infers the tables and
// prints one CREATE TABLE statement per table, each ending with ";".
// Collisions and bad records go to stderr. It returns the exit status.
func runDDL(c *config, f *flatten.Flattener, stdin io.Reader, stdout, stderr io.Writer) int {
	if *c.ddl.sample < 0 {
		fmt.Fprintln(stderr, "flatten: -sample: must not be negative")
		return 2
	}
	in, err := schema.NewInferrer(schema.InferOptions{Separator: c.opts.Separator, DetectTime: *c.ddl.detectTime, Sizing: *c.ddl.sizing})
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return 2
	}
	d := &ddlReader{f: f, in: in, tables: c.opts.Arrays == flatten.ArraysTables, left: int64(*c.ddl.sample)}
	if *c.ddl.sample == 0 {
		d.left = -1
	}
	failed := readAll(context.Background(), c, stdin, stderr, d)
	ts, err := in.Tables(*c.ddl.name)
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return 2
	}
	w := bufio.NewWriter(stdout)
	var buf []byte
	for _, t := range ts {
		for _, col := range t.Collisions {
			fmt.Fprintf(stderr, "flatten: table %s: %v\n", t.Name, col)
		}
		for _, col := range t.Columns {
			if col.Subtree {
				fmt.Fprintf(stderr, "flatten: table %s: object %q has too many keys; kept whole in VARIANT column %s\n", t.Name, col.Path, col.Name)
			}
		}
		buf = schema.AppendCreateTable(buf[:0], t, schema.DDLOptions{})
		w.Write(buf)
	}
	fmt.Fprintf(stderr, "flatten: inferred %d table(s) from %d record(s)\n", len(ts), d.records)
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "flatten: writing output:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

type ddlReader struct {
	f       *flatten.Flattener
	in      *schema.Inferrer
	tables  bool
	left    int64 // records still to read; -1 = all
	records int64
	fields  []flatten.Field
	rows    []flatten.Row
}

func (d *ddlReader) done() bool { return d.left == 0 }

// record observes one record, or returns its error.
func (d *ddlReader) record(name string, n, _, _ int64, doc []byte) error {
	var err error
	if d.tables {
		d.rows, err = d.f.AppendRows(d.rows[:0], doc)
		if err == nil {
			d.in.ObserveRows(d.rows)
		}
	} else {
		d.fields, err = d.f.Append(d.fields[:0], doc)
		if err == nil {
			d.in.Observe(d.fields)
		}
	}
	if err != nil {
		return err
	}
	d.records++
	if d.left > 0 {
		d.left--
	}
	return nil
}
