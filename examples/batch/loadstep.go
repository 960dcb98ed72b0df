package main

import (
	"context"
	"time"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/source"
)

// destination is the job's only seam with package load: it turns chunks of
// flattened records into staged files and loads them. Everything else in
// this program (reading, checks, checkpoints, dead letters, reporting) is
// independent of how load is shaped.
type destination interface {
	// newChunk starts the chunk of obj whose first record is number first.
	newChunk(obj source.Object, first int64) (chunk, error)
	// sample returns up to n rows of the table for the report.
	sample(ctx context.Context, n int) (cols []string, rows [][]string, err error)
	// describe names the destination for the report.
	describe() string
	close() error
}

// chunk collects the rows of consecutive records of one object.
type chunk interface {
	// add adds the flattened record number n (raw is the record's bytes).
	// A *recordError refuses the record alone.
	add(n int64, raw []byte, fields []flatten.Field, offset, line int64) error
	// finish stages the chunk and, unless dry-running, loads it; when it
	// returns nil the chunk's rows are durable in the table.
	finish(ctx context.Context) (chunkResult, error)
	// abort drops the chunk's staged files.
	abort()
}

// chunkResult is what finishing a chunk did.
type chunkResult struct {
	files         int
	stagedBytes   int64
	recordsLoaded int64
	rejected      []rejectedRow
	tableChanges  []string
	stageTime     time.Duration
	loadTime      time.Duration
}

// rejectedRow is a row that COPY refused, traced back to its record.
type rejectedRow struct {
	offset, line int64
	data         []byte
	err          error
}
