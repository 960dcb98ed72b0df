package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/examples/internal/awsenv"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source"
)

// recordSink consumes records: record handles one (an error is reported
// with the record's position and the run goes on), done says to stop
// reading.
type recordSink interface {
	// record takes the record numbered n (1-based) of input name, which
	// starts on line line at byte offset off.
	record(name string, n, line, off int64, doc []byte) error
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
		fmt.Fprintf(stderr, "flatten: %s: record %d (line %d, offset %d): %s\n", name, n, line, off, message(err))
		failed = true
	}
	if len(c.files) == 0 {
		sc, err := source.NewScanner(stdin, source.Options{Format: c.format})
		if err != nil {
			fmt.Fprintln(stderr, "flatten:", err)
			return true
		}
		defer sc.Close()
		for !s.done() && sc.Scan() {
			if err := s.record("stdin", sc.Number(), sc.Line(), sc.Offset(), sc.Bytes()); err != nil {
				report("stdin", sc.Number(), sc.Line(), sc.Offset(), err)
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(stderr, "flatten: stdin: record %d: %v\n", sc.Number()+1, err)
			failed = true
		}
		return failed
	}
	in, err := newInputs(c)
	if err != nil {
		fmt.Fprintln(stderr, "flatten:", err)
		return true
	}
	for _, arg := range c.files {
		if s.done() {
			break
		}
		// One argument at a time, so a missing file is reported and the
		// others are still read.
		objs, rd, err := in.resolve(ctx, arg)
		if err != nil {
			fmt.Fprintln(stderr, "flatten:", err)
			failed = true
			continue
		}
		for _, obj := range objs {
			name := obj.String()
			_, err := rd.ReadObject(ctx, obj, source.Position{}, func(r source.Record) error {
				if s.done() {
					return errStop
				}
				if err := s.record(name, r.Number, r.Line, r.Offset, r.Data); err != nil {
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

// message is err's text without the "flatten: " that the library's errors
// start with, since every line of the command's own starts with it.
func message(err error) string {
	return strings.TrimPrefix(err.Error(), "flatten: ")
}

// inputs resolves command-line arguments and reads them. The S3 client is
// built from the environment on the first s3:// argument, so local runs
// need no AWS configuration.
type inputs struct {
	c      *config
	local  *source.Reader
	remote *source.Reader
	client *s3.Client
}

func newInputs(c *config) (*inputs, error) {
	rd, err := source.NewReader(source.ReaderOptions{Format: c.format})
	if err != nil {
		return nil, err
	}
	return &inputs{c: c, local: rd}, nil
}

// resolve expands one argument into objects and returns the reader for them.
func (in *inputs) resolve(ctx context.Context, arg string) ([]source.Object, *source.Reader, error) {
	if !s3source.IsURL(arg) {
		objs, err := source.ListLocal(arg)
		return objs, in.local, err
	}
	if in.client == nil {
		client, err := awsenv.NewS3Client(ctx, in.c.s3PathStyle)
		if err != nil {
			return nil, nil, err
		}
		op, err := s3source.NewOpener(client, s3source.OpenerOptions{})
		if err != nil {
			return nil, nil, err
		}
		rd, err := source.NewReader(source.ReaderOptions{Format: in.c.format, Opener: op})
		if err != nil {
			return nil, nil, err
		}
		in.client, in.remote = client, rd
	}
	objs, err := s3source.ResolveInputs(ctx, []string{arg}, s3source.InputOptions{Client: in.client})
	return objs, in.remote, err
}
