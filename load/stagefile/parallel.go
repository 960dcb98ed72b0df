package stagefile

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
)

// ParallelOptions configures a Parallel.
type ParallelOptions struct {
	// Writer configures each worker's Writer.
	Writer WriterOptions
	// Flatten configures each worker's flattener. With ArraysTables each
	// worker writes with a RowsWriter (one file set per table).
	Flatten flatten.Options
	// Tables declares the tables of ArraysTables mode (see NewRowsWriter).
	Tables []schema.Table
	// Workers is the number of goroutines, each with its own flattener
	// and Writer, so each writes its own files. Default 1.
	Workers int
	// BatchRecords is the most records handed to a worker at once.
	// Default 1024.
	BatchRecords int
	// BatchBytes bounds the bytes of the records of a batch: a batch
	// ends before a record that would take it past BatchBytes (a larger
	// record makes a batch of its own). Default 1 MiB. With the
	// batches in flight (2 per worker and one more; with several workers,
	// 4 per worker and one more) it bounds what Parallel holds.
	BatchBytes int
	// Reject, if set, is called for each record that cannot be flattened
	// or written (a flatten error or one wrapping ErrValue), with its
	// source, 1-based record number, line and byte offset (as given to
	// AddAt); the record is skipped. Calls are serialized. Without Reject
	// such a record fails Add or Close with that *RecordError.
	Reject func(*RecordError)
}

// RecordError is a record that could not be flattened or written, with its
// position in its source.
type RecordError struct {
	Source string
	Record int64 // 1-based record number
	// Line is the 1-based line where the record starts and Offset the
	// byte offset of its start in the (decompressed) source; both are 0
	// when the record was added with Add, which knows no position.
	Line, Offset int64
	Err          error
}

func (e *RecordError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("stagefile: %s: record %d: %v", e.Source, e.Record, e.Err)
	}
	return fmt.Sprintf("stagefile: %s: record %d (line %d, offset %d): %v", e.Source, e.Record, e.Line, e.Offset, e.Err)
}

// Unwrap returns the flatten or writer error.
func (e *RecordError) Unwrap() error { return e.Err }

// Parallel flattens records and writes them to staged files with several
// workers. Records are dealt to the workers in batches of at most
// BatchRecords records and BatchBytes bytes, round robin, so each file holds
// whole batches and the rows of a file keep the order of the input. Files are named as Writer names them; with more
// than one worker a file's record range spans the batches it holds, and the
// worker's number follows the content hash (TABLE_SOURCE-h8_FIRST-LAST_SHA16_wN.ext),
// so two workers never name two files alike, even for records with equal
// numbers and content. Names stay deterministic: the same input with the
// same Workers, BatchRecords and BatchBytes gives the same names.
//
// New paths are named by each worker's own schema.Namer: two paths whose
// names collide (a.b and a_b) may be named differently in the files of
// different workers unless WriterOptions.Columns names them.
//
// Add is not safe for concurrent use; Close waits for the workers.
type Parallel struct {
	o      ParallelOptions
	work   []chan *batch
	free   chan *batch
	cur    *batch
	next   int
	wg     sync.WaitGroup
	mu     sync.Mutex // serializes Reject and guards err
	err    error
	outs   []workerOut // each worker's closed files, set when it ends
	closed bool
}

// workerOut is what a worker's Writer gave when the worker closed it.
type workerOut struct {
	files []File
	err   error
}

// batch is records handed to a worker. Batches go round between the
// feeder and the workers through Parallel.free, so their buffers are
// allocated once.
type batch struct {
	source string
	data   []byte // the records' bytes, one after the other
	recs   []batchRec
}

// batchRec is one record of a batch.
type batchRec struct {
	end          int // end of its bytes in batch.data
	record       int64
	line, offset int64 // its position (0, 0 if not given)
}

// NewParallel starts the workers of a Parallel.
func NewParallel(o ParallelOptions) (*Parallel, error) {
	if o.Workers < 0 || o.BatchRecords < 0 || o.BatchBytes < 0 {
		return nil, fmt.Errorf("%w: negative workers or batch size", ErrOptions)
	}
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.BatchRecords == 0 {
		o.BatchRecords = 1024
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = 1 << 20
	}
	// Each worker has up to queue batches waiting besides the one it
	// works on, so a worker whose batch took longer (a row group or a
	// file closed) does not stall the feeder while the other workers run
	// dry. One worker needs no slack: the feeder only waits for it.
	queue := 1
	if o.Workers > 1 {
		queue = 3
	}
	nbatch := (queue+1)*o.Workers + 1
	p := &Parallel{o: o, free: make(chan *batch, nbatch), outs: make([]workerOut, o.Workers)}
	for range nbatch {
		p.free <- &batch{data: make([]byte, 0, o.BatchBytes)}
	}
	for i := 0; i < o.Workers; i++ {
		fl, err := flatten.New(o.Flatten)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrOptions, err)
		}
		wo := o.Writer
		if o.Workers > 1 {
			wo.worker = "w" + strconv.Itoa(i+1)
		}
		var w stagedWriter
		if o.Flatten.Arrays == flatten.ArraysTables {
			w, err = NewRowsWriter(wo, o.Tables)
		} else {
			w, err = NewWriter(wo)
		}
		if err != nil {
			return nil, err
		}
		ch := make(chan *batch, queue)
		p.work = append(p.work, ch)
		p.wg.Add(1)
		go p.worker(fl, w, ch, &p.outs[i])
	}
	return p, nil
}

// stagedWriter is a Writer or a RowsWriter.
type stagedWriter interface {
	SetSource(string) error
	Close() ([]File, error)
}

// worker writes the batches of ch, then closes its Writer itself, so the
// workers flush their last row groups and files at the same time.
func (p *Parallel) worker(fl *flatten.Flattener, sw stagedWriter, ch chan *batch, out *workerOut) {
	defer p.wg.Done()
	var fields []flatten.Field
	var rows []flatten.Row
	w, _ := sw.(*Writer)
	rw, _ := sw.(*RowsWriter)
	for b := range ch {
		if p.failed() {
			p.free <- b
			continue
		}
		if err := sw.SetSource(b.source); err != nil {
			p.setErr(err)
		}
		start := 0
		for i := range b.recs {
			r := &b.recs[i]
			doc := b.data[start:r.end]
			start = r.end
			var err error
			written := false // err comes from the writer, not the flattener
			if rw != nil {
				if rows, err = fl.AppendRows(rows[:0], doc); err == nil {
					err, written = rw.WriteRows(r.record, rows), true
				}
			} else if fields, err = fl.Append(fields[:0], doc); err == nil {
				err, written = w.Write(r.record, fields), true
			}
			if err != nil {
				if written && !errors.Is(err, ErrValue) {
					p.setErr(err)
					break
				}
				re := &RecordError{Source: b.source, Record: r.record, Line: r.line, Offset: r.offset, Err: err}
				if !p.reject(re) {
					break
				}
			}
		}
		p.free <- b
	}
	out.files, out.err = sw.Close()
}

func (p *Parallel) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

func (p *Parallel) setErr(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// reject reports a bad record; it returns false if the run must stop.
func (p *Parallel) reject(re *RecordError) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.o.Reject == nil {
		if p.err == nil {
			p.err = re
		}
		return false
	}
	p.o.Reject(re)
	return true
}

// Add queues one record (its bytes are copied) with its source and 1-based
// record number. It returns the first error of any worker.
func (p *Parallel) Add(source string, record int64, doc []byte) error {
	return p.AddAt(source, record, 0, 0, doc)
}

// AddAt is Add with the record's position in its source: the 1-based line
// where it starts and the byte offset of its start, as source.Record gives
// them, for the RecordError of a rejected record.
func (p *Parallel) AddAt(source string, record, line, offset int64, doc []byte) error {
	if p.closed {
		return fmt.Errorf("%w: Add after Close", ErrOptions)
	}
	if b := p.cur; b != nil && (b.source != source || len(b.data)+len(doc) > p.o.BatchBytes) {
		p.send()
	}
	if p.cur == nil {
		p.cur = <-p.free
		p.cur.source = source
		p.cur.data, p.cur.recs = p.cur.data[:0], p.cur.recs[:0]
	}
	b := p.cur
	b.data = append(b.data, doc...)
	b.recs = append(b.recs, batchRec{end: len(b.data), record: record, line: line, offset: offset})
	if len(b.recs) >= p.o.BatchRecords {
		p.send()
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	return err
}

func (p *Parallel) send() {
	p.work[p.next] <- p.cur
	p.next = (p.next + 1) % len(p.work)
	p.cur = nil
}

// Close writes the last batch, waits for the workers, closes their files
// and returns every file written (worker by worker, each in order).
func (p *Parallel) Close() ([]File, error) {
	if p.closed {
		return nil, fmt.Errorf("%w: Close twice", ErrOptions)
	}
	p.closed = true
	if p.cur != nil {
		p.send()
	}
	for _, ch := range p.work {
		close(ch)
	}
	p.wg.Wait()
	var files []File
	for _, out := range p.outs {
		files = append(files, out.files...)
		if out.err != nil {
			p.setErr(out.err)
		}
	}
	return files, p.err
}
