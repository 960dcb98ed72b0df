package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
)

// flattenFn is the external function flatten(v VARIANT) RETURNS VARIANT:
// one JSON document in (a VARIANT, or a VARCHAR holding JSON text), its
// flattened fields out as an OBJECT of path → value, in document order,
// with the configured array mode and separator. SQL NULL gives NULL. A
// document that cannot be flattened (invalid JSON, over the depth or size
// limits) gives NULL too, and is logged and counted as a reject: the
// protocol has no per-row error, and one bad document must not fail the
// others.
type flattenFn struct {
	opts                flatten.Options
	maxDepth, maxRecord int
	log                 *slog.Logger
	metrics             *lambdaenv.Metrics
	pool                sync.Pool // *flatten.Flattener
}

func newFlattenFn(opts flatten.Options, maxDepth, maxRecord int, log *slog.Logger, m *lambdaenv.Metrics) (*flattenFn, error) {
	if _, err := flatten.New(opts); err != nil {
		return nil, err
	}
	return &flattenFn{opts: opts, maxDepth: maxDepth, maxRecord: maxRecord, log: log, metrics: m}, nil
}

func (f *flattenFn) row(ctx context.Context, args []json.RawMessage) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%w: flatten takes one argument (v VARIANT), got %d", errBadCall, len(args))
	}
	doc := bytes.TrimSpace(args[0])
	if string(doc) == "null" {
		return nil, nil
	}
	if f.metrics != nil {
		f.metrics.Add(lambdaenv.MetricRecords, 1)
	}
	if len(doc) > 0 && doc[0] == '"' { // VARCHAR holding JSON text
		var s string
		if err := json.Unmarshal(doc, &s); err != nil {
			return f.reject(ctx, err), nil
		}
		doc = []byte(s)
	}
	out, err := f.flatten(doc)
	if err != nil {
		return f.reject(ctx, err), nil
	}
	return json.RawMessage(out), nil
}

func (f *flattenFn) reject(ctx context.Context, err error) any {
	f.log.WarnContext(ctx, "document not flattened", slog.String("error", err.Error()))
	if f.metrics != nil {
		f.metrics.Add(lambdaenv.MetricRejects, 1)
	}
	return nil
}

// flatten returns the document's fields as one JSON object.
func (f *flattenFn) flatten(doc []byte) ([]byte, error) {
	if err := schema.CheckDepth(doc, f.maxDepth, f.maxRecord); err != nil {
		return nil, err
	}
	fl, _ := f.pool.Get().(*flatten.Flattener)
	if fl == nil {
		var err error
		if fl, err = flatten.New(f.opts); err != nil {
			return nil, err
		}
	}
	defer f.pool.Put(fl)
	fields, err := fl.Append(nil, doc)
	if err != nil {
		return nil, err
	}
	return fieldsObject(fields), nil
}

// fieldsObject renders fields as a JSON object; a path seen twice keeps
// its last value at its first place.
func fieldsObject(fields []flatten.Field) []byte {
	at := make(map[string]int, len(fields))
	keep := make([]flatten.Field, 0, len(fields))
	for _, fd := range fields {
		if i, ok := at[string(fd.Path)]; ok {
			keep[i] = fd
			continue
		}
		at[string(fd.Path)] = len(keep)
		keep = append(keep, fd)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, fd := range keep {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, fd.Path)
		b.WriteByte(':')
		if fd.Kind == flatten.String {
			writeString(&b, fd.Value)
		} else {
			b.Write(fd.Value)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s []byte) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(s))
	b.Truncate(b.Len() - 1) // Encode's newline
}
