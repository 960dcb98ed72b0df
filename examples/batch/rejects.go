package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
)

// Records the load rejects.
//
// COPY rejects a staged file whole (LOAD_FAILED) or single rows of it
// (ON_ERROR = CONTINUE: PARTIALLY_LOADED, the rows read back with
// VALIDATE). Either way the records of those rows are dead-lettered, read
// again from the source, once each, with the table and COPY's error. With
// -arrays tables a record is rows in several tables, loaded table by table,
// so its other rows may be loaded already: they are deleted from every
// table of the chunk, so that a record is loaded whole or not at all.
//
// The decision to reject a record is durable before any of its rows is
// deleted, in the table rejectsTable (in the target's schema): a row COPY
// rejected is written there before package load's ledger records its file
// as done (load.DeadLetterFlusher), and the records of a failed file (with
// -arrays tables) in the transaction that deletes their rows. A chunk that
// an earlier run may have loaded (the run's first) reads that run's
// decisions back: COPY's load metadata skips the files it loaded, so their
// rejected rows are not reported again, and a file that failed then may
// load now, while its records' other rows were deleted. The records stay
// rejected, their rows are deleted again, and the dead letters of the
// chunk, which the redo replaces, hold them once more. The entries of a
// chunk are deleted after its checkpoint.

// rejectsTable holds the records the load rejected, per chunk in flight.
const rejectsTable = "FLATPIPE_BATCH_REJECTS"

// loadReject is a record the load rejected.
type loadReject struct {
	pos     recordPos
	reason  string // "load-failed" or "load-rejected"
	table   string // the table whose COPY rejected it (the target's name)
	msg     string // COPY's error
	durable bool   // recorded in rejectsTable
}

func (r loadReject) err() error { return &loadRejectError{table: r.table, msg: r.msg} }

// loadRejectError is the dead letter's error of a record the load rejected.
type loadRejectError struct{ table, msg string }

func (e *loadRejectError) Error() string { return "table " + e.table + ": " + e.msg }

// rejectedRecord is a rejected record with its data, read again from the
// source.
type rejectedRecord struct {
	loadReject
	data []byte
}

// rowSink receives the rows COPY rejected (ON_ERROR = CONTINUE with
// load's AcceptPartial): a row of a staged file is traced back to its
// record through the order in which the chunk wrote them. It keeps them
// for the chunk, and FlushRejected records them in rejectsTable before the
// loader's ledger records the file as done. It is safe for concurrent use.
type rowSink struct {
	store func(ctx context.Context, obj source.Object, rs []loadReject) error

	mu      sync.Mutex
	files   map[string]fileRows
	taken   map[string]map[int64]loadReject // by file name and 1-based row
	pending []pendingReject                 // taken, not yet stored
}

type fileRows struct {
	obj   source.Object
	table string
	pos   []recordPos // the file's rows, in order
}

type pendingReject struct {
	obj source.Object
	rej loadReject
}

func (s *rowSink) register(files []stagefile.File, obj source.Object, table string, pos map[string][]recordPos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files, s.taken = map[string]fileRows{}, map[string]map[int64]loadReject{}
	}
	for _, f := range files {
		s.files[f.Name] = fileRows{obj: obj, table: table, pos: pos[f.Name]}
	}
}

// unregister forgets files and returns the rows of theirs that COPY
// rejected, by file name and 1-based row.
func (s *rowSink) unregister(files []stagefile.File) map[string]map[int64]loadReject {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[int64]loadReject{}
	for _, f := range files {
		if t := s.taken[f.Name]; len(t) > 0 {
			out[f.Name] = t
		}
		delete(s.files, f.Name)
		delete(s.taken, f.Name)
	}
	return out
}

// RejectedRow implements load.DeadLetterSink. A row handed twice (the
// loader's delivery is at least once) is kept once.
func (s *rowSink) RejectedRow(ctx context.Context, r load.RejectedRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := ""
	for n := range s.files {
		if n == r.File || strings.HasSuffix(r.File, "/"+n) {
			name = n
			break
		}
	}
	fr, ok := s.files[name]
	if !ok {
		return fmt.Errorf("batch: COPY rejected a row of %s, which is no file of the chunk", r.File)
	}
	if r.Row < 1 || int(r.Row) > len(fr.pos) {
		return fmt.Errorf("batch: COPY rejected row %d of %s, which has %d rows", r.Row, r.File, len(fr.pos))
	}
	if s.taken[name] == nil {
		s.taken[name] = map[int64]loadReject{}
	}
	if _, dup := s.taken[name][r.Row]; dup {
		return nil
	}
	// Durable once FlushRejected returned nil, which every load that
	// goes on after this row implies.
	rej := loadReject{pos: fr.pos[r.Row-1], reason: "load-rejected", table: fr.table, msg: (&copyRejection{r}).Error(), durable: true}
	s.taken[name][r.Row] = rej
	s.pending = append(s.pending, pendingReject{obj: fr.obj, rej: rej})
	return nil
}

// FlushRejected implements load.DeadLetterFlusher: the rows taken are
// recorded in rejectsTable. On error they stay pending (and the load
// fails).
func (s *rowSink) FlushRejected(ctx context.Context) error {
	s.mu.Lock()
	batch := slices.Clone(s.pending)
	s.mu.Unlock()
	for i := 0; i < len(batch); {
		obj := batch[i].obj
		var rs []loadReject
		for ; i < len(batch) && batch[i].obj.String() == obj.String(); i++ {
			rs = append(rs, batch[i].rej)
		}
		if err := s.store(ctx, obj, rs); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.pending = s.pending[len(batch):]
	s.mu.Unlock()
	return nil
}

// copyRejection is the error of a row COPY rejected.
type copyRejection struct{ r load.RejectedRow }

func (e *copyRejection) Error() string {
	return fmt.Sprintf("COPY rejected row %d of %s (line %d, column %s): %s %s", e.r.Row, e.r.File, e.r.Line, e.r.Column, e.r.Code, e.r.Message)
}

// rejectsTarget is the root table whose records the entries of
// rejectsTable describe (the staging table of a replace).
func (d *loadDest) rejectsTarget() string {
	if d.replace() {
		return d.table + stagingSuffix
	}
	return d.table
}

// sourceVersion identifies the version of obj whose records rejectsTable
// describes.
func sourceVersion(obj source.Object) string {
	return fmt.Sprintf("%s %s %d", obj.ETag, obj.VersionID, obj.Size)
}

// ensureRejects creates rejectsTable once.
func (d *loadDest) ensureRejects(ctx context.Context) error {
	d.rejMu.Lock()
	defer d.rejMu.Unlock()
	if d.rejReady {
		return nil
	}
	err := d.exec(ctx, "CREATE TABLE IF NOT EXISTS "+quoteName(rejectsTable)+
		" (TABLE_NAME VARCHAR, SOURCE_OBJECT VARCHAR, SOURCE_VERSION VARCHAR, RECORD_NUMBER NUMBER(38,0), BYTE_OFFSET NUMBER(38,0),"+
		" SOURCE_LINE NUMBER(38,0), REASON VARCHAR, REJECTED_IN VARCHAR, COPY_ERROR VARCHAR, REJECTED_AT VARCHAR)")
	d.rejReady = err == nil
	return err
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertRejects records rs, records of obj, in rejectsTable.
func (d *loadDest) insertRejects(ctx context.Context, db execer, obj source.Object, rs []loadReject) error {
	const perStatement = 500
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 0; i < len(rs); i += perStatement {
		part := rs[i:min(i+perStatement, len(rs))]
		var q strings.Builder
		args := make([]any, 0, 10*len(part))
		q.WriteString("INSERT INTO " + quoteName(rejectsTable) +
			" (TABLE_NAME, SOURCE_OBJECT, SOURCE_VERSION, RECORD_NUMBER, BYTE_OFFSET, SOURCE_LINE, REASON, REJECTED_IN, COPY_ERROR, REJECTED_AT) VALUES ")
		for j, r := range part {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, d.rejectsTarget(), obj.String(), sourceVersion(obj), r.pos.number, r.pos.offset, r.pos.line, r.reason, r.table, r.msg, now)
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("batch: recording rejected records in %s: %w", rejectsTable, err)
		}
	}
	return nil
}

// storeRejects records rs in rejectsTable, on their own (the row sink's).
func (d *loadDest) storeRejects(ctx context.Context, obj source.Object, rs []loadReject) error {
	if err := d.ensureRejects(ctx); err != nil {
		return err
	}
	return d.retry(ctx, func(ctx context.Context) error { return d.insertRejects(ctx, d.db, obj, rs) })
}

// retry runs fn through the loader's retry policy, if any.
func (d *loadDest) retry(ctx context.Context, fn func(context.Context) error) error {
	if d.opts.Retry != nil {
		return d.opts.Retry.Do(ctx, fn)
	}
	return fn(ctx)
}

// missingTable reports whether err says that a table does not exist
// (Snowflake's 002003).
func missingTable(err error) bool {
	var se *gosnowflake.SnowflakeError
	return errors.As(err, &se) && se.Number == 2003
}

// readRejects returns the records of obj numbered first to last that
// rejectsTable holds, each once; none if the table does not exist (it is
// created with its first entry).
func (d *loadDest) readRejects(ctx context.Context, obj source.Object, first, last int64) ([]loadReject, error) {
	var out []loadReject
	err := d.retry(ctx, func(ctx context.Context) error {
		out = nil
		rows, err := d.db.QueryContext(ctx, "SELECT RECORD_NUMBER, BYTE_OFFSET, SOURCE_LINE, REASON, REJECTED_IN, COPY_ERROR FROM "+quoteName(rejectsTable)+
			" WHERE TABLE_NAME = ? AND SOURCE_OBJECT = ? AND SOURCE_VERSION = ? AND RECORD_NUMBER BETWEEN ? AND ? ORDER BY RECORD_NUMBER",
			d.rejectsTarget(), obj.String(), sourceVersion(obj), first, last)
		if missingTable(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		seen := map[int64]bool{}
		for rows.Next() {
			var r loadReject
			var reason, table, msg sql.NullString
			if err := rows.Scan(&r.pos.number, &r.pos.offset, &r.pos.line, &reason, &table, &msg); err != nil {
				return err
			}
			if seen[r.pos.number] {
				continue
			}
			seen[r.pos.number] = true
			r.reason, r.table, r.msg, r.durable = reason.String, table.String, msg.String, true
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("batch: reading %s: %w", rejectsTable, err)
	}
	return out, nil
}

// forgetRejects deletes the entries of obj's records first to last, once
// their chunk's checkpoint is committed.
func (d *loadDest) forgetRejects(ctx context.Context, obj source.Object, first, last int64) error {
	return d.clearRejects(ctx, " AND SOURCE_OBJECT = ? AND SOURCE_VERSION = ? AND RECORD_NUMBER BETWEEN ? AND ?",
		obj.String(), sourceVersion(obj), first, last)
}

// clearRejects deletes the entries of the job's table that also match
// cond (with args), if the table exists.
func (d *loadDest) clearRejects(ctx context.Context, cond string, args ...any) error {
	err := d.retry(ctx, func(ctx context.Context) error {
		_, err := d.db.ExecContext(ctx, "DELETE FROM "+quoteName(rejectsTable)+" WHERE TABLE_NAME = ?"+cond, append([]any{d.rejectsTarget()}, args...)...)
		if missingTable(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("batch: clearing %s: %w", rejectsTable, err)
	}
	return nil
}

// discardRows records fresh (rejected records of obj not yet in
// rejectsTable) and deletes the rows ids (by target table name) in one
// transaction: INSERT and DELETE are DML, which Snowflake runs in an
// explicit transaction (DDL would commit it, so rejectsTable is created
// before). Repeating it is harmless: a lost COMMIT's answer leaves
// entries twice, which readRejects reads once.
func (d *loadDest) discardRows(ctx context.Context, obj source.Object, fresh []loadReject, ids map[string][]uint64) (map[string]int64, error) {
	if err := d.ensureRejects(ctx); err != nil {
		return nil, err
	}
	tables := slices.Sorted(maps.Keys(ids))
	slices.SortStableFunc(tables, func(a, b string) int { return cmp.Compare(b2i(a != d.table), b2i(b != d.table)) })
	var deleted map[string]int64
	err := d.retry(ctx, func(ctx context.Context) error {
		deleted = map[string]int64{}
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := d.insertRejects(ctx, tx, obj, fresh); err != nil {
			return err
		}
		const perStatement = 1000
		for _, name := range tables {
			l, err := d.loaderFor(name)
			if err != nil {
				return err
			}
			list := ids[name]
			for i := 0; i < len(list); i += perStatement {
				var q strings.Builder
				q.WriteString("DELETE FROM " + quoteName(l.Table()) + " WHERE " + quoteName(schema.IDColumn) + " IN (")
				for j, id := range list[i:min(i+perStatement, len(list))] {
					if j > 0 {
						q.WriteString(", ")
					}
					q.WriteString(strconv.FormatUint(id, 10))
				}
				q.WriteString(")")
				res, err := tx.ExecContext(ctx, q.String())
				if err != nil {
					return fmt.Errorf("batch: deleting the rows of rejected records from %s: %w", l.Table(), err)
				}
				if n, err := res.RowsAffected(); err == nil {
					deleted[name] += n
				}
			}
		}
		return tx.Commit()
	})
	return deleted, err
}
