package main

// This file is the only one that touches package load's API, so that
// following that API as it settles is a change here only. The Lambda uses
// load as any importer would: it never encodes staged files, PUTs, COPYs or
// talks to Snowpipe itself.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
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

// loadFile is one staged file of an object.
type loadFile = stagefile.File

// destination is where an object's flattened rows go.
type destination interface {
	// writer starts the staged files of one object in dir.
	writer(dir string, obj source.Object) (stagedWriter, error)
	// deliver loads (mode snowflake) or uploads (mode s3) an object's
	// files, all or none, idempotently.
	deliver(ctx context.Context, obj source.Object, files []loadFile) (delivered, error)
	// stage names the delivery stage in logs and metrics: "load" or
	// "upload".
	stage() string
	close() error
}

// stagedWriter writes one object's rows to staged files.
type stagedWriter interface {
	// write writes one record's row. An error for which rejected reports
	// true rejects that record only (it is dead-lettered); any other ends
	// the object.
	write(fields []flatten.Field, rec source.Record) error
	close() ([]loadFile, error)
}

// rejected reports a write error that concerns the record, not the files.
func rejected(err error) bool { return errors.Is(err, stagefile.ErrValue) }

// delivered says what deliver did.
type delivered struct {
	// Files are the staged names loaded or the s3:// URLs written.
	Files []string
	// Rows loaded or written.
	Rows int64
	// Skipped counts files found already loaded or written (a redelivery).
	Skipped int
}

// snowflakeConfig is load.ConfigFromEnv (the SNOWFLAKE_* variables) with
// the private key fetched at start-up put in its place.
func snowflakeConfig(key lambdaenv.Key) (load.Config, error) {
	sc, err := load.ConfigFromEnv()
	if err != nil {
		return sc, err
	}
	if key.From != "" && key.From != "env" {
		sc.PrivateKey, sc.PrivateKeyPassphrase = key.PEM, key.Passphrase
	}
	return sc, sc.Validate()
}

// newDestination builds the destination of cfg.Mode. Opening the *sql.DB
// does not connect: the first load logs in.
func newDestination(cfg *Config, key lambdaenv.Key, s3c s3Client) (destination, error) {
	wo := stagefile.WriterOptions{Table: cfg.Table}
	if err := wo.Format.UnmarshalText([]byte(cfg.Format)); err != nil {
		return nil, err
	}
	if err := wo.Compression.UnmarshalText([]byte(cfg.Compression)); err != nil {
		return nil, err
	}
	wo.Names = schema.NameOptions{Separator: cfg.Flatten.Separator}
	switch cfg.Mode {
	case modeS3:
		name, err := load.TableName(cfg.Table)
		if err != nil {
			return nil, fmt.Errorf("lambda: FLATPIPE_TABLE: %w", err)
		}
		wo.Table = name
		d := &s3Dest{wo: wo, sink: &load.S3Sink{Client: s3c, Bucket: cfg.DestBucket, Prefix: cfg.DestPrefix}}
		if cfg.Pipe != "" {
			sc, err := snowflakeConfig(key)
			if err != nil {
				return nil, err
			}
			pipe := cfg.Pipe
			if strings.Count(pipe, ".") == 0 && sc.Database != "" && sc.Schema != "" {
				pipe = sc.Database + "." + sc.Schema + "." + pipe
			}
			pc, err := sc.SnowpipeOptions(pipe)
			if err != nil {
				return nil, err
			}
			if d.pipe, err = load.NewSnowpipe(pc); err != nil {
				return nil, err
			}
		}
		return d, nil
	default:
		sc, err := snowflakeConfig(key)
		if err != nil {
			return nil, err
		}
		db, err := sc.OpenDB()
		if err != nil {
			return nil, err
		}
		l, err := load.NewLoader(db, load.LoaderOptions{Table: cfg.Table})
		if err != nil {
			db.Close()
			return nil, err
		}
		wo.Table = l.Table()
		return &tableDest{wo: wo, db: db, loader: l}, nil
	}
}

// fileWriter is a stagefile.Writer for one object.
type fileWriter struct{ w *stagefile.Writer }

func newFileWriter(wo stagefile.WriterOptions, dir string, obj source.Object) (*fileWriter, error) {
	wo.Dir = dir
	// The source identity is part of every staged name: the same object
	// (and content) always stages under the same names.
	wo.Source = obj.Bucket + "/" + obj.Key
	w, err := stagefile.NewWriter(wo)
	if err != nil {
		return nil, err
	}
	return &fileWriter{w: w}, nil
}

func (f *fileWriter) write(fields []flatten.Field, rec source.Record) error {
	return f.w.Write(rec.Number, fields)
}

func (f *fileWriter) close() ([]loadFile, error) { return f.w.Close() }

// tableDest stages and COPYs into the target table (mode snowflake).
type tableDest struct {
	wo     stagefile.WriterOptions
	db     *sql.DB
	loader *load.Loader
}

func (d *tableDest) writer(dir string, obj source.Object) (stagedWriter, error) {
	return newFileWriter(d.wo, dir, obj)
}

func (d *tableDest) stage() string { return "load" }

func (d *tableDest) close() error { return d.db.Close() }

func (d *tableDest) deliver(ctx context.Context, _ source.Object, files []loadFile) (delivered, error) {
	// The zero Table: load takes the columns and types from the files'
	// own Schema (load.TableOf).
	res, err := d.loader.Load(ctx, schema.Table{}, files)
	if err != nil {
		return delivered{}, err
	}
	dv := delivered{Rows: res.RowsLoaded}
	for _, r := range res.Files {
		dv.Files = append(dv.Files, r.File.Name)
		if r.Status == "LOAD_SKIPPED" {
			dv.Skipped++
		}
	}
	return dv, nil
}

// s3Dest writes the staged files under FLATPIPE_DESTINATION (mode s3), for
// Snowpipe: auto-ingest, or insertFiles on FLATPIPE_PIPE, whose stage
// location must be FLATPIPE_DESTINATION (the paths sent are relative to it).
type s3Dest struct {
	wo   stagefile.WriterOptions
	sink *load.S3Sink
	pipe *load.Snowpipe // nil: auto-ingest
}

func (d *s3Dest) writer(dir string, obj source.Object) (stagedWriter, error) {
	return newFileWriter(d.wo, dir, obj)
}

func (d *s3Dest) stage() string { return "upload" }

func (d *s3Dest) close() error { return nil }

func (d *s3Dest) deliver(ctx context.Context, _ source.Object, files []loadFile) (delivered, error) {
	var dv delivered
	var paths []load.StagedPath
	for _, f := range files {
		o, err := d.sink.Put(ctx, "", f)
		if err != nil {
			return delivered{}, err
		}
		dv.Files = append(dv.Files, "s3://"+path.Join(d.sink.Bucket, o.Key))
		dv.Rows += f.Rows
		if o.Skipped {
			dv.Skipped++
		}
		paths = append(paths, load.StagedPath{Path: f.Name, Size: f.Size})
	}
	// Snowpipe only queues the files, and skips those it loaded before
	// (its load history is keyed by path and content), so a redelivery
	// asks again safely. Files written but not announced because of a
	// failure here are announced by the retry.
	for len(paths) > 0 && d.pipe != nil {
		n := min(len(paths), 5000)
		if _, err := d.pipe.InsertFiles(ctx, paths[:n]); err != nil {
			return delivered{}, err
		}
		paths = paths[n:]
	}
	return dv, nil
}

// retryable reports whether a failure may go away on a retry: S3
// throttling and 5xx, network errors, and Snowflake errors that load's
// classifier calls transient.
func retryable(err error) bool {
	var pe *load.SnowpipeError
	if s3source.IsRetryable(err) || (load.ErrorClassifier{}).Retryable(err) || (errors.As(err, &pe) && pe.Retryable()) {
		return true
	}
	if s3source.IsPermanent(err) {
		return false
	}
	return (resilience.NetworkClassifier{}).Retryable(err)
}
