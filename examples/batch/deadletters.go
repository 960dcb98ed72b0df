package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source"
)

// chunkLetters is the job's dead-letter sink: the rejects of one chunk go
// to one object (a file in a directory, or an S3 object) whose name is a
// function of the source object and the chunk's record range, so a chunk
// redone after a crash replaces its dead letters instead of adding to them:
// dead letters are exactly once, like the table's rows.
//
// Between begin and publish the chunk's entries are spooled to a local
// file (in the dead-letter directory, or in the staging directory for
// S3). publish, which the pipeline calls after the chunk's load and before
// its checkpoint, makes them visible at once: rename over the final name,
// or one PutObject of the final key (S3 replaces an object whole). A chunk
// without rejects writes nothing, except the first chunk of a run, which
// may be the redo of a chunk whose dead letters an earlier run published:
// an existing object of that name is removed.
//
// It is safe for concurrent use (rows COPY rejected arrive from the
// loader).
type chunkLetters struct {
	dir    string // local directory, or "" for S3
	s3     *s3.Client
	bucket string
	prefix string // S3 key prefix, or sub-directory of dir
	spool  string // directory of the spool file

	mu      sync.Mutex
	name    string // the current chunk's object name, "" between chunks
	redo    bool
	f       *os.File
	w       *bufio.Writer
	buf     []byte
	n       int64
	written int64
}

// newChunkLetters returns a sink writing under dir (a local directory) or
// s3://bucket/prefix (with client), in sub-directory sub.
func newChunkLetters(dir string, client *s3.Client, bucket, prefix, sub, spool string) (*chunkLetters, error) {
	c := &chunkLetters{dir: dir, s3: client, bucket: bucket, prefix: prefix + sub, spool: spool}
	if dir != "" {
		c.prefix = ""
		c.dir = filepath.Join(dir, sub)
		c.spool = c.dir
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("batch: -dead-letter: %w", err)
		}
		// Spool files of a run that was killed: never published, so the
		// chunks they belong to are redone. The directory is this shard's.
		old, _ := filepath.Glob(filepath.Join(c.dir, ".dead-letters-*.tmp"))
		for _, p := range old {
			os.Remove(p)
		}
	}
	return c, nil
}

// letterName names the dead letters of the chunk of obj holding records
// first to last (the chunk's nominal range, whatever its actual end).
func letterName(obj source.Object, first, last int64) string {
	h := fnv.New32a()
	h.Write([]byte(obj.String()))
	return fmt.Sprintf("%s-%08x.records-%d-%d.ndjson", sanitize(obj.String()), h.Sum32(), first, last)
}

// begin starts the chunk of obj holding records first to last; redo says
// that an earlier run may have published dead letters for it.
func (c *chunkLetters) begin(obj source.Object, first, last int64, redo bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.discardLocked()
	c.name, c.redo, c.n = letterName(obj, first, last), redo, 0
}

// Write implements resilience.DeadLetterSink: it spools d for the current
// chunk.
func (c *chunkLetters) Write(ctx context.Context, d resilience.DeadLetter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.name == "" {
		return errors.New("batch: dead letter outside a chunk")
	}
	if c.f == nil {
		f, err := os.CreateTemp(c.spool, ".dead-letters-*.tmp")
		if err != nil {
			return fmt.Errorf("batch: dead-letter spool: %w", err)
		}
		c.f, c.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	var err error
	if c.buf, err = d.AppendNDJSON(c.buf[:0]); err != nil {
		return err
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return fmt.Errorf("batch: dead-letter spool: %w", err)
	}
	if cap(c.buf) > 1<<20 {
		c.buf = nil
	}
	c.n++
	return nil
}

// publish makes the current chunk's dead letters visible under their final
// name, replacing what an earlier run published there, and ends the chunk.
func (c *chunkLetters) publish(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.name == "" {
		return nil
	}
	defer c.discardLocked()
	if c.n == 0 {
		if !c.redo {
			return nil
		}
		return c.removeLocked(ctx)
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("batch: dead-letter spool: %w", err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("batch: dead-letter spool: %w", err)
	}
	if c.dir != "" {
		final := filepath.Join(c.dir, c.name)
		if err := os.Rename(c.f.Name(), final); err != nil {
			return fmt.Errorf("batch: publishing dead letters: %w", err)
		}
		if err := syncDir(c.dir); err != nil {
			return fmt.Errorf("batch: publishing dead letters: %w", err)
		}
		c.written += c.n
		return nil
	}
	size, err := c.f.Seek(0, 0)
	if err == nil {
		size, err = c.f.Seek(0, 2)
	}
	if err == nil {
		_, err = c.f.Seek(0, 0)
	}
	if err != nil {
		return fmt.Errorf("batch: dead-letter spool: %w", err)
	}
	// A plain PUT: S3 replaces the object whole, so a redo overwrites the
	// earlier run's dead letters and a reader sees one version or the other.
	_, err = c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.prefix + c.name),
		Body: c.f, ContentLength: aws.Int64(size), ContentType: aws.String("application/x-ndjson")})
	if err != nil {
		return fmt.Errorf("batch: publishing dead letters to s3://%s/%s: %w", c.bucket, c.prefix+c.name, err)
	}
	c.written += c.n
	return nil
}

// removeLocked removes the chunk's object if an earlier run published it.
func (c *chunkLetters) removeLocked(ctx context.Context) error {
	if c.dir != "" {
		if err := os.Remove(filepath.Join(c.dir, c.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("batch: removing stale dead letters: %w", err)
		}
		return nil
	}
	_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.prefix + c.name)})
	if err != nil {
		return fmt.Errorf("batch: removing stale dead letters s3://%s/%s: %w", c.bucket, c.prefix+c.name, err)
	}
	return nil
}

// discardLocked drops the spool file and ends the chunk.
func (c *chunkLetters) discardLocked() {
	if c.f != nil {
		c.f.Close()
		os.Remove(c.f.Name()) // already renamed when published locally
		c.f, c.w = nil, nil
	}
	c.name, c.n = "", 0
}

// Close drops an unpublished chunk.
func (c *chunkLetters) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.discardLocked()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
