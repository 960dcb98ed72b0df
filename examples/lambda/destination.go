package main

// This file is the only one that touches package load's API, so that
// following that API as it settles is a change here only. The Lambda uses
// load as any importer would: it never writes staged files, PUTs, COPYs or
// talks to Snowpipe itself.

import (
	"context"
	"errors"
	"fmt"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source"
)

// loadFile is one staged file of an object.
type loadFile = load.File

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
	write(fields []flatten.Field, rec source.Record) error
	close() ([]loadFile, error)
	abort()
}

// delivered says what deliver did.
type delivered struct {
	// Files are the staged names loaded or the s3:// URLs written.
	Files []string
	// Rows loaded or written.
	Rows int64
	// Skipped counts files found already loaded (a redelivery).
	Skipped int
}

// errLoadMissing is what the function answers while package load lacks the
// API it needs.
var errLoadMissing = errors.New("lambda: package load has no staged-file writer and loader yet")

// newDestination builds the destination of cfg.Mode. lookup reads the
// SNOWFLAKE_* variables (with the private key fetched at start-up overlaid).
func newDestination(ctx context.Context, cfg *Config, lookup func(string) (string, bool), s3c s3Client) (destination, error) {
	return nil, fmt.Errorf("%w (mode %s)", errLoadMissing, cfg.Mode)
}

// retryable reports whether a failure may go away on a retry: S3
// throttling and 5xx, network errors, and Snowflake errors that load's
// classifier calls transient.
func retryable(err error) bool {
	if source.IsRetryable(err) {
		return true
	}
	if source.IsPermanent(err) {
		return false
	}
	return resilience.ClassifyNetwork(err) == resilience.Retryable
}
