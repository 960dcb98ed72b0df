package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3event"
	"github.com/flatpipe/flatpipe/source/s3source"
)

// deadLetters is the part of resilience.S3DeadLetterSink the function uses.
type deadLetters interface {
	Write(ctx context.Context, d resilience.DeadLetter) error
	Flush(ctx context.Context) error
}

// processor turns one object into rows at the destination. It is safe for
// concurrent use (runtimes with AWS_LAMBDA_MAX_CONCURRENCY run several
// invocations in one process): each object takes a flattener and its
// buffer from a pool. One invocation processes its objects one after the
// other, which keeps memory constant.
type processor struct {
	cfg     *Config
	log     *slog.Logger
	metrics *lambdaenv.Metrics
	reader  *source.Reader
	flats   sync.Pool   // of *flat
	dead    deadLetters // nil: rejected records are only logged
	alert   resilience.AlertFunc
	dest    destination
	notify  notifier // nil: no notification
	now     func() time.Time
}

// flat is a flattener with its reused output buffer.
type flat struct {
	fl     *flatten.Flattener
	fields []flatten.Field
}

// newFlats fills the pool's New with flatteners of opts, which must have
// been checked by flatten.New already.
func (p *processor) newFlats(opts flatten.Options) {
	p.flats.New = func() any {
		fl, _ := flatten.New(opts)
		return &flat{fl: fl}
	}
}

// maxRejectLogs bounds the rejected-record log lines per object; the dead
// letters hold them all.
const maxRejectLogs = 20

// stageError marks a failure of the staged-file writer (local disk), as
// opposed to one reading the object.
type stageError struct{ err error }

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// process reads, validates and flattens one object into staged files, then
// delivers them whole: nothing of an object reaches the destination unless
// every record was read and every rejected record was dead-lettered, so a
// retry never finds it half loaded, and delivery is idempotent (staged
// names are deterministic; COPY and Snowpipe skip files already loaded).
func (p *processor) process(ctx context.Context, oe s3event.ObjectEvent) outcome {
	obj := oe.Object
	lg := p.log.With(slog.String("object", obj.String()), slog.String("messageId", oe.MessageID))
	dir, err := os.MkdirTemp(p.cfg.WorkDir, "flatpipe-")
	if err != nil {
		return p.failed(ctx, lg, "stage", err)
	}
	defer os.RemoveAll(dir)

	fl := p.flats.Get().(*flat)
	defer p.flats.Put(fl)
	start := p.now()
	var w stagedWriter
	var records, rejects int64
	_, err = p.reader.ReadObject(ctx, obj, source.Position{}, func(rec source.Record) error {
		records++
		fields, reason, err := p.record(fl, rec.Data)
		if err != nil {
			rejects++
			return p.reject(ctx, lg, rec, reason, err, rejects)
		}
		if w == nil {
			if w, err = p.dest.writer(dir, obj); err != nil {
				return &stageError{err}
			}
		}
		if err := w.write(fields, rec); err != nil {
			if rejected(err) {
				rejects++
				return p.reject(ctx, lg, rec, "value", err, rejects)
			}
			return &stageError{err}
		}
		return nil
	})
	p.metrics.Add(lambdaenv.MetricRecords, records)
	p.metrics.Add(lambdaenv.MetricRejects, rejects)
	if err != nil {
		if w != nil {
			_, _ = w.close() // the files are removed with dir
		}
		return p.readFailed(ctx, lg, obj, err)
	}
	var files []loadFile
	if w != nil {
		if files, err = w.close(); err != nil {
			return p.failed(ctx, lg, "stage", err)
		}
	}
	p.metrics.Stage("stage", p.now().Sub(start))
	if obj.Size > 0 {
		p.metrics.Add(lambdaenv.MetricBytes, obj.Size)
	}
	if p.dead != nil && rejects > 0 {
		if err := p.dead.Flush(ctx); err != nil {
			return p.failed(ctx, lg, "dead-letter", err)
		}
	}

	start = p.now()
	var d delivered
	if len(files) > 0 {
		if d, err = p.dest.deliver(ctx, obj, files); err != nil {
			return p.failed(ctx, lg, p.dest.stage(), err)
		}
	}
	p.metrics.Stage(p.dest.stage(), p.now().Sub(start))
	p.metrics.Add(lambdaenv.MetricRows, d.Rows)
	p.metrics.Add(lambdaenv.MetricFiles, int64(len(d.Files)))

	if p.notify != nil && len(d.Files) > 0 {
		start = p.now()
		n := notification{Table: p.cfg.Table, Mode: p.cfg.Mode, Object: obj.String(), Files: d.Files,
			Records: records, Rejected: rejects, Rows: d.Rows}
		if err := p.notify.notify(ctx, n); err != nil {
			return p.failed(ctx, lg, "notify", err)
		}
		p.metrics.Stage("notify", p.now().Sub(start))
	}
	lg.InfoContext(ctx, "object loaded", slog.String("mode", p.cfg.Mode), slog.String("table", p.cfg.Table),
		slog.Int64("records", records), slog.Int64("rejected", rejects), slog.Int64("rows", d.Rows),
		slog.Int("files", len(d.Files)), slog.Int("alreadyLoaded", d.Skipped))
	return outcome{state: lambdaenv.OutcomeLoaded}
}

// record validates and flattens one record. reason names the check that
// failed, for the dead letter.
func (p *processor) record(fl *flat, doc []byte) ([]flatten.Field, string, error) {
	if err := schema.CheckDepth(doc, p.cfg.MaxDepth, p.cfg.MaxRecord); err != nil {
		return nil, "limit", err
	}
	fields, err := fl.fl.Append(fl.fields[:0], doc)
	if err != nil {
		return nil, "parse", err
	}
	fl.fields = fields
	if first := firstByte(doc); first != '{' {
		return nil, "not-object", errNotObject
	}
	return fields, "", nil
}

// errNotObject rejects a record that is valid JSON but not an object: it
// has no columns.
var errNotObject = errors.New("lambda: record is not a JSON object")

func firstByte(doc []byte) byte {
	for _, c := range doc {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// reject dead-letters one record and logs it (the first few per object).
func (p *processor) reject(ctx context.Context, lg *slog.Logger, rec source.Record, reason string, err error, n int64) error {
	if n <= maxRejectLogs {
		lg.WarnContext(ctx, "record rejected", slog.Int64("record", rec.Number), slog.Int64("line", rec.Line),
			slog.Int64("offset", rec.Offset), slog.String("reason", reason), slog.String("error", err.Error()))
	}
	if p.dead == nil {
		return nil
	}
	d := resilience.NewDeadLetter(rec.Data, reason, err)
	d.Object, d.Offset, d.Line = rec.Object.String(), rec.Offset, rec.Line
	if err := p.dead.Write(ctx, d); err != nil {
		// Write keeps d buffered when only its flush failed; either way the
		// object must be retried so no rejected record is lost silently.
		return &stageError{fmt.Errorf("dead letter: %w", err)}
	}
	return nil
}

// readFailed decides what a failed read means: an object that is gone or
// was replaced is skipped (its new version has its own event); an object
// whose bytes cannot be read as records (bad framing, corrupt compression,
// a record over the scanner's limit) is dead-lettered whole and skipped,
// since a retry reads the same bytes; anything else (throttling, 5xx,
// network, access denied, a full disk) fails the object for a retry.
func (p *processor) readFailed(ctx context.Context, lg *slog.Logger, obj source.Object, err error) outcome {
	var se *stageError
	if errors.As(err, &se) {
		return p.failed(ctx, lg, "stage", se.err)
	}
	var ce *s3source.ObjectChangedError
	if gone(err) || errors.As(err, &ce) {
		lg.WarnContext(ctx, "object skipped", slog.String("reason", "gone"), slog.String("error", err.Error()))
		return outcome{state: lambdaenv.OutcomeSkipped, err: err}
	}
	if errors.Is(err, source.ErrSyntax) || errors.Is(err, source.ErrRecordTooLarge) || errors.Is(err, source.ErrDecompress) {
		lg.ErrorContext(ctx, "object rejected", slog.String("reason", "unreadable"), slog.String("error", err.Error()))
		if p.dead != nil {
			d := resilience.NewDeadLetter(nil, "unreadable-object", err)
			d.Object = obj.String()
			var oe *source.ObjectError
			if errors.As(err, &oe) {
				d.Offset, d.Line = oe.Offset, oe.Line
			}
			if werr := p.dead.Write(ctx, d); werr != nil {
				return p.failed(ctx, lg, "dead-letter", werr)
			}
			if ferr := p.dead.Flush(ctx); ferr != nil {
				return p.failed(ctx, lg, "dead-letter", ferr)
			}
		}
		p.alert(resilience.Alert{Kind: resilience.AlertDeadLetters, Source: obj.String(), Time: p.now(),
			Message: "object cannot be read as records: " + err.Error()})
		return outcome{state: lambdaenv.OutcomeSkipped, err: err}
	}
	return p.failed(ctx, lg, "read", err)
}

// gone reports a missing object (deleted between the event and the read).
func gone(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchVersion":
			return true
		}
	}
	return false
}

// failed logs a failure that a retry may fix and raises an alert when it
// will not (the message then reaches the queue's dead-letter queue after
// maxReceiveCount, and someone must look).
func (p *processor) failed(ctx context.Context, lg *slog.Logger, stage string, err error) outcome {
	retry := retryable(err)
	lg.ErrorContext(ctx, "object failed", slog.String("stage", stage), slog.Bool("retryable", retry),
		slog.String("reason", stage), slog.String("error", err.Error()))
	if !retry {
		p.alert(resilience.Alert{Kind: resilience.AlertUnhealthy, Source: stage, Time: p.now(),
			Message: "object failed and a retry is unlikely to help: " + err.Error()})
	}
	return outcome{state: lambdaenv.OutcomeFailed, err: err}
}
