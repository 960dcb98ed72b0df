package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
)

// errStopped is returned when SIGINT or SIGTERM stopped the job at a safe
// point, after its last checkpoint.
var errStopped = errors.New("batch: stopped by signal")

// errTooManyRejects is returned when the dead-letter rate passes
// max_reject_rate.
var errTooManyRejects = errors.New("batch: too many records rejected")

// pipeline reads the shard's objects in order, cuts each object into
// chunks of chunk_records records (a chunk ends at a multiple of C,
// whatever the run's starting point, so a rerun stages byte-identical
// files under the same names; a rerun with another C cuts its first chunk
// with the C it was cut with before, see chunkSizes), and hands every
// chunk to the destination, which stages and loads it; after each durable
// load it commits the checkpoint.
//
// A checkpoint names the last object with loaded records and how many of
// its records are done; objects sorting before it are done. Records
// rejected go to the dead-letter sink, which spools them while the chunk
// runs and publishes them under a name of their own (object and record
// range) after its load and before its checkpoint. A crash before the
// checkpoint makes the rerun redo the chunk, and its dead letters replace
// what the killed run published: dead letters are exactly once, like the
// table's rows (see chunkLetters).
type pipeline struct {
	cfg      *Config
	log      *slog.Logger
	reader   *source.Reader
	dest     destination
	progress *resilience.Progress // nil without -checkpoint
	dead     resilience.DeadLetterSink
	letters  *chunkLetters // dead letters per chunk; nil without -dead-letter
	alert    resilience.AlertFunc
	stats    *stats
	check    *checker
	flat     *flatten.Flattener
	stopping *atomic.Bool // set by SIGINT/SIGTERM
	metrics  resilience.Metrics
	hook     func(point string)
	sizes    *chunkSizes // nil without -checkpoint

	tables      bool // -arrays tables: records become rows of a root and child tables
	fields      []flatten.Field
	rows        []flatten.Row
	key         []byte
	begun       bool        // a chunk was started by this run
	rateAlerted atomic.Bool // deadLetter may be called from the loader's goroutines
}

// objectOrder sorts objects the way the checkpoint assumes.
func objectOrder(a, b source.Object) int {
	return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Key, b.Key))
}

func (p *pipeline) run(ctx context.Context, objs []source.Object) error {
	slices.SortFunc(objs, objectOrder)
	objs = slices.CompactFunc(objs, func(a, b source.Object) bool { return objectOrder(a, b) == 0 })
	cp, haveCP := resilience.Checkpoint{}, false
	if p.progress != nil {
		cp, haveCP = p.progress.Checkpoint()
	}
	p.stats.objects.Store(int64(len(objs)))
	if err := p.dest.start(ctx, !haveCP || cp.Key == ""); err != nil {
		return err
	}
	for i := range objs {
		obj := objs[i]
		var from source.Position
		if haveCP {
			c := objectOrder(obj, source.Object{Bucket: cp.Bucket, Key: cp.Key})
			switch {
			case c < 0:
				p.stats.objectsSkipped.Add(1)
				p.stats.objectsDone.Add(1)
				p.stats.rawDone.Add(max(obj.Size, 0))
				continue
			case c == 0:
				if !sameObject(obj, cp) {
					return fmt.Errorf("batch: %s changed since the checkpoint of %s (ETag %s, size %d, now ETag %s, size %d); delete the checkpoint to load it again",
						obj, cp.UpdatedAt.Format(time.RFC3339), cp.ETag, cp.Size, obj.ETag, obj.Size)
				}
				if cp.Done {
					p.stats.objectsSkipped.Add(1)
					p.stats.objectsDone.Add(1)
					p.stats.recordsSkipped.Add(cp.RecordsDone)
					continue
				}
				from = source.Position{Offset: cp.NextOffset, Line: cp.NextLine, Records: cp.RecordsDone}
				p.stats.recordsSkipped.Add(from.Records)
			}
		}
		if err := p.object(ctx, obj, from); err != nil {
			return err
		}
		p.stats.objectsDone.Add(1)
		p.stats.rawDone.Add(max(obj.Size, 0))
		if p.stopping.Load() && i < len(objs)-1 {
			return errStopped
		}
	}
	res, err := p.dest.finish(ctx)
	p.stats.addStage(stageLoad, res.loadTime)
	p.stats.recordsLoaded.Add(res.recordsLoaded)
	p.stats.tableChanges(res.tableChanges...)
	return err
}

func sameObject(o source.Object, cp resilience.Checkpoint) bool {
	return o.ETag == cp.ETag && o.VersionID == cp.VersionID && (o.Size < 0 || o.Size == cp.Size)
}

// object loads the records of obj after position from (the checkpoint's:
// an uncompressed object is reopened there, others are read again and their
// first from.Records records skipped).
func (p *pipeline) object(ctx context.Context, obj source.Object, from source.Position) error {
	start := from.Records // records before the current chunk
	ch, end, err := p.newChunk(ctx, obj, start)
	if err != nil {
		return err
	}
	name := obj.String()
	readStart := time.Now()
	var inner time.Duration // time spent in the callback, not reading
	lastSeen := start
	var stepErr error // an error of ours, already described
	pos, err := p.reader.ReadObject(ctx, obj, from, func(r source.Record) error {
		t0 := time.Now()
		lastSeen = r.Number
		defer func() { inner += time.Since(t0) }()
		if r.Number > end {
			if err := p.finish(ctx, obj, ch, source.Position{Offset: r.Offset, Line: r.Line, Records: end}, false); err != nil {
				stepErr = err
				return err
			}
			if p.stopping.Load() {
				return errStopped
			}
			start = end
			if ch, end, err = p.newChunk(ctx, obj, start); err != nil {
				return err
			}
		}
		p.stats.recordsRead.Add(1)
		p.stats.bytesIn.Add(int64(len(r.Data)))
		stepErr = p.record(ctx, name, ch, r)
		return stepErr
	})
	p.stats.addStage(stageRead, time.Since(readStart)-inner)
	if err != nil {
		ch.abort()
		// What this chunk rejected so far; the rerun redoes the chunk and
		// replaces them.
		if p.letters != nil {
			if perr := p.letters.publish(context.WithoutCancel(ctx)); perr != nil {
				p.log.Warn("publishing the dead letters of an unfinished chunk", "error", perr)
			}
		}
		if errors.Is(err, errStopped) || stepErr != nil {
			return err
		}
		return fmt.Errorf("batch: reading %s: %w", name, err)
	}
	// The last chunk (possibly empty: the object's end must be recorded).
	pos.Records = max(pos.Records, lastSeen)
	return p.finish(ctx, obj, ch, pos, true)
}

// newChunk starts the chunk of obj after its first start records, and its
// dead letters, and returns the number of the chunk's last record. The
// run's first chunk may redo one of an earlier run: it is cut with the
// chunk size that run used (see chunkSizes), so that its staged files are
// the ones that run may have loaded.
func (p *pipeline) newChunk(ctx context.Context, obj source.Object, start int64) (chunk, int64, error) {
	size := int64(p.cfg.ChunkRecords)
	switch {
	case !p.begun && p.sizes != nil && p.sizes.resume > 0:
		size = p.sizes.resume
	case p.sizes != nil:
		if err := p.sizes.use(ctx, size); err != nil {
			return nil, 0, err
		}
	}
	end := (start/size + 1) * size
	ch, err := p.dest.newChunk(ctx, obj, start+1, end, !p.begun)
	if err != nil {
		return nil, 0, err
	}
	if p.letters != nil {
		p.letters.begin(obj, start+1, end, !p.begun)
	}
	p.begun = true
	return ch, end, nil
}

// record checks, flattens and validates one record, then adds it to the
// chunk or dead-letters it. Flattening comes before the JSON Schema so that
// a record that is not JSON is rejected as "parse" by the strict parser.
func (p *pipeline) record(ctx context.Context, name string, ch chunk, r source.Record) error {
	t := time.Now()
	if err := schema.CheckDepth(r.Data, p.cfg.MaxNesting, p.cfg.MaxRecordBytes); err != nil {
		p.stats.addStage(stageCheck, time.Since(t))
		return p.reject(ctx, name, r, "limits", err)
	}
	t1 := time.Now()
	p.stats.addStage(stageCheck, t1.Sub(t))
	var err error
	rec := flatRecord{number: r.Number, offset: r.Offset, line: r.Line}
	if p.tables {
		// Row IDs derive from the record's place, so a redone chunk
		// writes the same rows.
		p.key = recordKey(p.key[:0], name, r.Number)
		p.rows, err = p.flat.AppendRowsKey(p.rows[:0], r.Data, p.key)
		rec.rows = p.rows
	} else {
		p.fields, err = p.flat.Append(p.fields[:0], r.Data)
		rec.fields = p.fields
	}
	t2 := time.Now()
	p.stats.addStage(stageFlatten, t2.Sub(t1))
	if err != nil {
		return p.reject(ctx, name, r, "parse", err)
	}
	if err := p.check.document(r.Data); err != nil {
		p.stats.addStage(stageValidate, time.Since(t2))
		return p.reject(ctx, name, r, "json-schema", err)
	}
	if err := p.checkFields(rec); err != nil {
		p.stats.addStage(stageValidate, time.Since(t2))
		return p.reject(ctx, name, r, "contract", err)
	}
	t3 := time.Now()
	p.stats.addStage(stageValidate, t3.Sub(t2))
	err = ch.add(rec)
	p.stats.addStage(stageStage, time.Since(t3))
	if err != nil {
		var re *recordError
		if errors.As(err, &re) {
			return p.reject(ctx, name, r, re.reason, re.err)
		}
		return err
	}
	return nil
}

// checkFields checks a flattened record against the contract; with
// -arrays tables, the rows of the root table (the contract describes the
// record's top level).
func (p *pipeline) checkFields(rec flatRecord) error {
	if !p.tables {
		return p.check.fields(rec.fields)
	}
	for _, row := range rec.rows {
		if len(row.Table) == 0 {
			if err := p.check.fields(row.Fields); err != nil {
				return err
			}
		}
	}
	return nil
}

// flatRecord is one flattened record and its place in the source.
type flatRecord struct {
	number, offset, line int64
	fields               []flatten.Field // -arrays json or index
	rows                 []flatten.Row   // -arrays tables
}

// recordError is a chunk's refusal of one record (a schema contract's
// discard or freeze): the record is dead-lettered and the job goes on.
type recordError struct {
	reason string
	err    error
}

func (e *recordError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *recordError) Unwrap() error { return e.err }

// reject dead-letters one record with its position and reason.
func (p *pipeline) reject(ctx context.Context, name string, r source.Record, reason string, err error) error {
	return p.deadLetter(ctx, name, r.Offset, r.Line, r.Data, reason, err)
}

func (p *pipeline) deadLetter(ctx context.Context, name string, offset, line int64, data []byte, reason string, cause error) error {
	p.stats.reject(reason)
	p.metrics.Count("RecordsRejected", 1, resilience.Dim{Name: "Reason", Value: reason})
	d := resilience.NewDeadLetter(data, reason, cause)
	d.Object, d.Offset, d.Line = name, offset, line
	if p.dead != nil {
		if err := p.dead.Write(ctx, d); err != nil {
			return fmt.Errorf("batch: dead-letter sink: %w", err)
		}
	} else {
		p.log.Warn("record rejected", "object", name, "line", line, "offset", offset, "reason", reason, "error", cause.Error())
	}
	p.checkRate()
	return nil
}

// checkRate raises one alert when the reject rate passes the limit (after
// enough records for the rate to mean something).
func (p *pipeline) checkRate() {
	read, rej := p.stats.recordsRead.Load(), p.stats.recordsRejected.Load()
	if p.rateAlerted.Load() || read < 100 || float64(rej) <= p.cfg.MaxRejectRate*float64(read) {
		return
	}
	if p.rateAlerted.Swap(true) {
		return
	}
	if p.alert != nil {
		p.alert(resilience.Alert{Kind: resilience.AlertDeadLetters, Source: "batch", Time: time.Now(), Count: rej,
			Message: fmt.Sprintf("%d of %d records rejected, above the allowed rate %.2f%%", rej, read, 100*p.cfg.MaxRejectRate)})
	}
}

// finish makes a chunk durable (stage, load), dead-letters the rows the
// load rejected, then commits the checkpoint: the records of obj before
// next are loaded; with final, obj is finished.
func (p *pipeline) finish(ctx context.Context, obj source.Object, ch chunk, next source.Position, final bool) (err error) {
	defer func() {
		if err != nil && p.letters != nil {
			// What the chunk rejected so far; the rerun redoes the chunk
			// and replaces them.
			if perr := p.letters.publish(context.WithoutCancel(ctx)); perr != nil {
				p.log.Warn("publishing the dead letters of an unfinished chunk", "error", perr)
			}
		}
	}()
	res, err := ch.finish(ctx)
	p.stats.addStage(stageStage, res.stageTime-res.inferTime)
	p.stats.addStage(stageInfer, res.inferTime)
	p.stats.addStage(stageLoad, res.loadTime)
	if err != nil {
		return err
	}
	back, err := p.settle(ctx, obj, ch, res.failed)
	if err != nil {
		return err
	}
	res.recordsLoaded -= back.recordsLoaded
	res.alreadyLoaded -= back.alreadyLoaded
	res.childRows -= back.childRows
	p.stats.chunks.Add(1)
	p.stats.filesStaged.Add(int64(res.files))
	p.stats.bytesStaged.Add(res.stagedBytes)
	p.stats.recordsLoaded.Add(res.recordsLoaded)
	p.stats.alreadyLoaded.Add(res.alreadyLoaded)
	p.stats.childRows.Add(res.childRows)
	p.stats.tableChanges(res.tableChanges...)
	p.metrics.Count("RecordsLoaded", float64(res.recordsLoaded))
	p.metrics.Count("RecordsAlreadyLoaded", float64(res.alreadyLoaded))
	p.metrics.Count("FilesStaged", float64(res.files))
	if p.letters != nil {
		if err := p.letters.publish(ctx); err != nil {
			return err
		}
	}
	p.hook("loaded")
	if p.progress == nil {
		p.forget(ctx, ch)
		return nil
	}
	t := time.Now()
	cp := resilience.Checkpoint{Bucket: obj.Bucket, Key: obj.Key, VersionID: obj.VersionID, ETag: obj.ETag,
		Size: max(obj.Size, 0), RecordsDone: next.Records, NextOffset: next.Offset, NextLine: next.Line, Done: final}
	err = p.progress.Commit(ctx, cp)
	p.stats.addStage(stageCheckpoint, time.Since(t))
	if err != nil {
		return fmt.Errorf("batch: checkpoint: %w", err)
	}
	p.metrics.Count("Checkpoints", 1)
	p.hook("committed")
	p.forget(ctx, ch)
	return nil
}

// forget drops what rejectsTable holds of a chunk done.
func (p *pipeline) forget(ctx context.Context, ch chunk) {
	if err := ch.committed(ctx); err != nil {
		// Entries of a finished chunk: only a run that redoes it
		// (its checkpoint deleted) would read them.
		p.log.Warn("forgetting the rejected records of a finished chunk", "table", rejectsTable, "error", err)
	}
}

// chunkSizes keeps, beside the checkpoint (its name + ".chunking"), the
// chunk size with which the chunk after the checkpoint is cut. A run whose
// -chunk-records differs cuts its first chunk, which a run killed before
// its checkpoint may have loaded, with the recorded size, so that its
// staged files are that run's and COPY's load metadata skips them (cut
// otherwise, they would be other files, and their records loaded twice);
// it records its own size before its second chunk, when no chunk is in
// flight.
type chunkSizes struct {
	pr     *resilience.Progress
	stored int64 // the size recorded; 0 if none
	resume int64 // the size of the run's first chunk, if not the run's own
}

// newChunkSizes reads the recorded chunk size of checkpoint name.
func newChunkSizes(ctx context.Context, store resilience.CheckpointStore, name string, size int64) (*chunkSizes, error) {
	pr, err := resilience.ResumeProgress(ctx, store, name+".chunking", nil)
	if err != nil {
		return nil, fmt.Errorf("batch: reading the chunk size of checkpoint %s: %w", name, err)
	}
	c := &chunkSizes{pr: pr}
	if cp, ok := pr.Checkpoint(); ok && cp.Key == "chunk_records" && cp.RecordsDone > 0 {
		c.stored = cp.RecordsDone
		if c.stored != size {
			c.resume = c.stored
		}
	}
	return c, nil
}

// use records size as the one chunks are cut with from now on.
func (c *chunkSizes) use(ctx context.Context, size int64) error {
	if c.stored == size {
		return nil
	}
	if err := c.pr.Commit(ctx, resilience.Checkpoint{Key: "chunk_records", RecordsDone: size}); err != nil {
		return fmt.Errorf("batch: recording the chunk size beside the checkpoint: %w", err)
	}
	c.stored = size
	return nil
}

// errEnough ends the re-reading of an object once past the records wanted.
var errEnough = errors.New("batch: records found")

// settle dead-letters the records the chunk's load rejected, each once,
// with its source position, the table and COPY's error, after taking
// them out of the chunk's tables (a record is loaded whole or not at
// all). The records are read again from the source (the chunk keeps only
// their positions), from the first of them on. It returns what the
// chunk's counts lose.
func (p *pipeline) settle(ctx context.Context, obj source.Object, ch chunk, failed []failedFile) (chunkResult, error) {
	for _, f := range failed {
		p.log.Warn("COPY rejected a staged file whole; its records are dead-lettered", "table", f.table, "file", f.result.File.Name,
			"records", len(f.pos), "error", f.err.Error())
	}
	rejects, err := ch.rejected(ctx)
	if err != nil || len(rejects) == 0 {
		return chunkResult{}, err
	}
	name := obj.String()
	first, last := rejects[0].pos, rejects[len(rejects)-1].pos.number
	want := make(map[int64]int, len(rejects))
	for i, r := range rejects {
		want[r.pos.number] = i
	}
	recs := make([]rejectedRecord, len(rejects))
	found := 0
	from := source.Position{Offset: first.offset, Line: first.line, Records: first.number - 1}
	_, err = p.reader.ReadObject(ctx, obj, from, func(r source.Record) error {
		if r.Number > last {
			return errEnough
		}
		i, ok := want[r.Number]
		if !ok {
			return nil
		}
		found++
		recs[i] = rejectedRecord{loadReject: rejects[i], data: bytes.Clone(r.Data)}
		recs[i].pos = recordPos{r.Number, r.Offset, r.Line}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return chunkResult{}, fmt.Errorf("batch: reading %s again for the records the load rejected: %w", name, err)
	}
	if found != len(rejects) {
		return chunkResult{}, fmt.Errorf("batch: %s: found %d of the %d records the load rejected; has the object changed?", name, found, len(rejects))
	}
	back, err := ch.discard(ctx, recs)
	if err != nil {
		return back, err
	}
	for _, r := range recs {
		if err := p.deadLetter(ctx, name, r.pos.offset, r.pos.line, r.data, r.reason, r.err()); err != nil {
			return back, err
		}
	}
	return back, nil
}
