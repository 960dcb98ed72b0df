package main

// This file is the only one that touches package load's API: load_file uses
// load as any importer would (Writer, then Loader or S3Sink); it never
// encodes staged files, PUTs or COPYs itself.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source"
)

// loadFileFn is the external function load_file(bucket VARCHAR, key
// VARCHAR) RETURNS VARIANT: it reads the S3 object, flattens its records
// and stores them through package load, into the target table (mode
// snowflake: stage + COPY) or as staged files under FLATPIPE_DESTINATION
// for Snowpipe (mode s3). Its answer per row is an OBJECT:
//
//	{"object": "s3://b/k", "status": "loaded", "records": 3, "rejected": 0,
//	 "rows": 3, "files": 1, "already_loaded": 0}
//
// status is "loaded" (rows went in, or every file was found already
// loaded: a replay), or "failed" with "error" for an object that no retry
// can load (missing, not readable as records). Records that are not JSON
// objects or break the limits are rejected (counted, logged, not loaded).
// S3 or Snowflake failures fail the batch with 503 for Snowflake to retry:
// staged names are deterministic and COPY skips files it has loaded, so a
// retry never loads an object twice.
type loadFileFn struct {
	cfg     *Config
	log     *slog.Logger
	metrics *lambdaenv.Metrics
	reader  *source.Reader
	wo      stagefile.WriterOptions
	loader  *load.Loader // mode snowflake
	sink    *load.S3Sink // mode s3
	db      *sql.DB      // mode snowflake, closed by close
}

// loadAnswer is load_file's answer for one row.
type loadAnswer struct {
	Object        string `json:"object"`
	Status        string `json:"status"`
	Records       int64  `json:"records"`
	Rejected      int64  `json:"rejected"`
	Rows          int64  `json:"rows"`
	Files         int    `json:"files"`
	AlreadyLoaded int    `json:"already_loaded"`
	Error         string `json:"error,omitempty"`
}

func (l *loadFileFn) close() error {
	if l.db != nil {
		return l.db.Close()
	}
	return nil
}

func (l *loadFileFn) row(ctx context.Context, args []json.RawMessage) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("%w: load_file takes two arguments (bucket, key), got %d", errBadCall, len(args))
	}
	var bucket, key *string
	if json.Unmarshal(args[0], &bucket) != nil || json.Unmarshal(args[1], &key) != nil {
		return loadAnswer{Status: "failed", Error: "bucket and key must be strings"}, nil
	}
	if bucket == nil || key == nil {
		return nil, nil // SQL NULL in, NULL out
	}
	b, k := *bucket, strings.TrimPrefix(*key, "/")
	if rest, ok := strings.CutPrefix(k, "s3://"); ok { // a full URL in key
		b, k, _ = strings.Cut(rest, "/")
	}
	if b == "" || k == "" {
		return loadAnswer{Object: "s3://" + b + "/" + k, Status: "failed", Error: "empty bucket or key"}, nil
	}
	obj := source.Object{Bucket: b, Key: k, Size: -1}
	ans, err := l.load(ctx, obj)
	if err != nil {
		if permanent(err) {
			l.log.ErrorContext(ctx, "object not loaded", slog.String("object", obj.String()), slog.String("error", err.Error()))
			if l.metrics != nil {
				l.metrics.Object(lambdaenv.OutcomeSkipped)
			}
			return loadAnswer{Object: obj.String(), Status: "failed", Error: err.Error()}, nil
		}
		if l.metrics != nil {
			l.metrics.Object(lambdaenv.OutcomeFailed)
		}
		return nil, err
	}
	if l.metrics != nil {
		l.metrics.Object(lambdaenv.OutcomeLoaded)
		l.metrics.Add(lambdaenv.MetricRows, ans.Rows)
		l.metrics.Add(lambdaenv.MetricFiles, int64(ans.Files))
	}
	l.log.InfoContext(ctx, "object loaded", slog.String("object", obj.String()), slog.Int64("records", ans.Records),
		slog.Int64("rejected", ans.Rejected), slog.Int64("rows", ans.Rows), slog.Int("alreadyLoaded", ans.AlreadyLoaded))
	return ans, nil
}

// load reads, flattens and delivers one object, all or nothing.
func (l *loadFileFn) load(ctx context.Context, obj source.Object) (loadAnswer, error) {
	ans := loadAnswer{Object: obj.String(), Status: "loaded"}
	dir, err := os.MkdirTemp(l.cfg.WorkDir, "flatpipe-extfunc-")
	if err != nil {
		return ans, err
	}
	defer os.RemoveAll(dir)
	fl, err := flatten.New(l.cfg.Flatten)
	if err != nil {
		return ans, err
	}
	wo := l.wo
	wo.Dir = dir
	wo.Source = obj.Bucket + "/" + obj.Key
	w, err := stagefile.NewWriter(wo)
	if err != nil {
		return ans, err
	}
	var fields []flatten.Field
	_, err = l.reader.ReadObject(ctx, obj, source.Position{}, func(rec source.Record) error {
		ans.Records++
		if err := schema.CheckDepth(rec.Data, l.cfg.MaxDepth, l.cfg.MaxRecord); err != nil {
			ans.Rejected++
			return nil
		}
		fields, err = fl.Append(fields[:0], rec.Data)
		if err != nil || firstByte(rec.Data) != '{' {
			ans.Rejected++
			return nil
		}
		if err := w.Write(rec.Number, fields); err != nil {
			if errors.Is(err, stagefile.ErrValue) {
				ans.Rejected++
				return nil
			}
			return err
		}
		return nil
	})
	files, cerr := w.Close()
	if err != nil {
		return ans, err
	}
	if cerr != nil {
		return ans, cerr
	}
	if l.metrics != nil {
		l.metrics.Add(lambdaenv.MetricRecords, ans.Records)
		l.metrics.Add(lambdaenv.MetricRejects, ans.Rejected)
	}
	if len(files) == 0 {
		return ans, nil
	}
	ans.Files = len(files)
	if l.sink != nil {
		for _, f := range files {
			o, err := l.sink.Put(ctx, "", f)
			if err != nil {
				return ans, err
			}
			ans.Rows += f.Rows
			if o.Skipped {
				ans.AlreadyLoaded++
			}
		}
		return ans, nil
	}
	res, err := l.loader.Load(ctx, tableOf(wo.Table, files), files)
	if err != nil {
		return ans, err
	}
	for _, r := range res.Files {
		if r.Status == "LOAD_SKIPPED" {
			ans.AlreadyLoaded++
		} else {
			ans.Rows += r.RowsLoaded
		}
	}
	return ans, nil
}

// tableOf is the table the files were written for: the union of their
// columns, each with the type of the last file holding it.
func tableOf(name string, files []stagefile.File) schema.Table {
	t := schema.Table{Name: name}
	at := map[string]int{}
	for _, f := range files {
		for _, c := range f.Schema {
			if i, ok := at[c.Name]; ok {
				t.Columns[i] = c
				continue
			}
			at[c.Name] = len(t.Columns)
			t.Columns = append(t.Columns, c)
		}
		t.Records += f.Rows
	}
	return t
}

func firstByte(doc []byte) byte {
	for _, c := range doc {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// permanent reports a failure no retry of the batch fixes: anything but
// throttling, 5xx, network trouble and the Snowflake errors load's
// classifier calls transient. The object is gone, its bytes are not
// records, or its rows do not fit the table: the row answers "failed" and
// the other rows of the batch are kept.
func permanent(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return !(s3source.IsRetryable(err) || (load.ErrorClassifier{}).Retryable(err) || (resilience.NetworkClassifier{}).Retryable(err))
}
