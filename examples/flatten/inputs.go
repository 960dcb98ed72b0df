package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flatpipe/flatpipe/source"
)

// recordSink consumes records: record handles one (an error is reported
// with the record's position and the run goes on), done says to stop
// reading.
type recordSink interface {
	record(name string, n int64, doc []byte) error
	done() bool
}

var errStop = errors.New("stop")

// readAll feeds every record of the command's inputs to s: standard input
// when no input is named, else each local path, glob, directory, s3://bucket/key
// object or s3://bucket/prefix/ (every object under it, in key order).
// Every bad record, unreadable input and framing error gets one line on
// stderr naming the input, the 1-based record number and the byte offset;
// readAll reports whether there was any.
func readAll(ctx context.Context, c *config, stdin io.Reader, stderr io.Writer, s recordSink) (failed bool) {
	report := func(name string, n, line, off int64, err error) {
		fmt.Fprintf(stderr, "flatten: %s: record %d (line %d, offset %d): %v\n", name, n, line, off, err)
		failed = true
	}
	if len(c.files) == 0 {
		sc, err := source.NewScannerOptions(stdin, source.Options{Format: c.format})
		if err != nil {
			fmt.Fprintln(stderr, "flatten:", err)
			return true
		}
		defer sc.Close()
		for !s.done() && sc.Scan() {
			if err := s.record("stdin", sc.Record(), sc.Bytes()); err != nil {
				report("stdin", sc.Record(), sc.Line(), sc.Offset(), err)
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(stderr, "flatten: stdin: record %d: %v\n", sc.Record()+1, err)
			failed = true
		}
		return failed
	}
	opts := source.InputOptions{S3PathStyle: c.s3PathStyle}
	var rd *source.Reader
	for _, arg := range c.files {
		if s.done() {
			break
		}
		// One argument at a time, so a missing file is reported and the
		// others are still read.
		objs, client, err := source.ResolveInputs(ctx, []string{arg}, opts)
		if err != nil {
			fmt.Fprintln(stderr, "flatten:", err)
			failed = true
			continue
		}
		if client != nil && opts.Client == nil || rd == nil {
			opts.Client = client
			if rd, err = source.NewReader(client, source.ReaderOptions{Format: c.format}); err != nil {
				fmt.Fprintln(stderr, "flatten:", err)
				return true
			}
		}
		for _, obj := range objs {
			name := obj.String()
			_, err := rd.ReadObject(ctx, obj, source.Position{}, func(r source.Record) error {
				if s.done() {
					return errStop
				}
				if err := s.record(name, r.Number, r.Data); err != nil {
					report(name, r.Number, r.Line, r.Offset, err)
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStop) {
				fmt.Fprintln(stderr, "flatten:", err)
				failed = true
			}
		}
	}
	return failed
}
