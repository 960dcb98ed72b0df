package load

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/flatpipe/flatpipe/load/stagefile"
)

// The ledger is a small table in the target's schema (LoaderOptions.Ledger,
// default FLATPIPE_LOADS) with one row per file and target table:
//
//	TABLE_NAME, FILE_NAME, SHA256, ROWS, ROWS_LOADED, STATUS, UPDATED_AT, COPY_TAGS
//
// A row is written with STATUS 'STAGED' before the COPY that loads the file,
// with the query tag of that load's COPY statements in COPY_TAGS (a rerun
// appends its own), and set after the COPY's result was checked to 'LOADED',
// to 'ACCEPTED' (a partial load accepted, its rejected rows handed to the
// dead-letter sink) or to 'PARTIAL' (a partial load not accepted), with the
// rows loaded. COPY skips a file whose stage path and content it loaded into
// the table before (load metadata), and in Snowflake's result a skipped file
// is simply absent (or "0 files processed"). The loader judges such a file
// by the ledger as it was before this load:
//
//   - the name with other content: ErrNotOurs (the skip may be that
//     content's, a PUT with OVERWRITE = FALSE that kept an old file, and our
//     rows would be missing);
//   - 'LOADED' or 'ACCEPTED': loaded and checked before; nothing is handed to
//     the dead-letter sink again;
//   - 'PARTIAL': an error on every rerun (its missing rows are not in the
//     table), unless the loader now accepts partial loads;
//   - 'STAGED' (a COPY whose answer was lost: a crash after COPY) or no row
//     at all (a COPY of this load whose answer was lost, which the driver
//     retries by itself after a dropped connection): under ON_ERROR =
//     ABORT_STATEMENT or SKIP_FILE that COPY loaded every row, so the file
//     counts as loaded. Under a policy that loads files in part, the loader
//     finds that COPY by its query tag (INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER),
//     reads its per-file result (RESULT_SCAN) and, for a partial load, its
//     rejected rows (VALIDATE), and goes on as if the answer had arrived: the
//     dead letters a crash would have lost reach the sink. When that COPY
//     cannot be found any more (QUERY_HISTORY keeps 7 days and is searched
//     among the user's latest 10,000 statements; RESULT_SCAN keeps 24
//     hours) the file fails with a *FileError rather than count rows it
//     cannot vouch for.

type ledgerRecord struct {
	sha, status string
	rows        int64
	tags        []string // query tags of the COPYs that may have loaded the file
}

func (l *Loader) ledgerName() string { return l.qualified(l.o.Ledger) }

func (l *Loader) ensureLedger(ctx context.Context) error {
	l.ledgerMu.Lock()
	defer l.ledgerMu.Unlock()
	if l.ledgerReady {
		return nil
	}
	// COPY_TAGS came later: a ledger of an earlier version gains it.
	err := l.execScript(ctx, "CREATE TABLE IF NOT EXISTS "+l.ledgerName()+
		" (TABLE_NAME VARCHAR, FILE_NAME VARCHAR, SHA256 VARCHAR, ROWS NUMBER(38,0), ROWS_LOADED NUMBER(38,0), STATUS VARCHAR, UPDATED_AT VARCHAR, COPY_TAGS VARCHAR);\n"+
		"ALTER TABLE "+l.ledgerName()+" ADD COLUMN IF NOT EXISTS COPY_TAGS VARCHAR")
	l.ledgerReady = err == nil
	return err
}

// copyTag returns a new query tag for the COPY statements of one load.
func copyTag() string { return "flatpipe-copy-" + strings.ToLower(rand.Text()) }

// ledgerLookup returns the ledger's rows for files, by file name; a row with
// the file's SHA-256 wins over others.
func (l *Loader) ledgerLookup(ctx context.Context, files []stagefile.File) (map[string]ledgerRecord, error) {
	out := map[string]ledgerRecord{}
	want := map[string]string{}
	for _, f := range files {
		want[f.Name] = f.SHA256
	}
	for i := 0; i < len(files); i += maxCopyFiles {
		chunk := files[i:min(i+maxCopyFiles, len(files))]
		args := []any{l.table}
		var q strings.Builder
		q.WriteString("SELECT FILE_NAME, SHA256, STATUS, ROWS_LOADED, COPY_TAGS FROM " + l.ledgerName() + " WHERE TABLE_NAME = ? AND FILE_NAME IN (")
		for j, f := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("?")
			args = append(args, f.Name)
		}
		q.WriteString(")")
		err := l.do(ctx, func(ctx context.Context) error {
			return l.stmt(ctx, func(db DB) error {
				rows, err := db.QueryContext(ctx, q.String(), args...)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var name, sha, status, tags sql.NullString
					var loaded sql.NullInt64
					if err := rows.Scan(&name, &sha, &status, &loaded, &tags); err != nil {
						return err
					}
					if prev, ok := out[name.String]; ok && prev.sha == want[name.String] {
						continue
					}
					out[name.String] = ledgerRecord{sha: sha.String, status: status.String, rows: loaded.Int64, tags: strings.Fields(tags.String)}
				}
				return rows.Err()
			})
		})
		if err != nil {
			return nil, fmt.Errorf("%w: ledger %s: %w", ErrStatement, l.o.Ledger, err)
		}
	}
	return out, nil
}

// ledgerIntent records files about to be COPYed with the COPYs' query tag:
// a new row for a file the ledger does not hold with its content, the tag
// added to a 'STAGED' row. It returns the ledger's records from before.
func (l *Loader) ledgerIntent(ctx context.Context, files []stagefile.File, tag string) (map[string]ledgerRecord, error) {
	rec, err := l.ledgerLookup(ctx, files)
	if err != nil {
		return nil, err
	}
	now := l.o.Now().UTC().Format(time.RFC3339Nano)
	var fresh []stagefile.File
	var staged []any
	for _, f := range files {
		r, ok := rec[f.Name]
		switch {
		case !ok || r.sha != f.SHA256:
			fresh = append(fresh, f)
		case r.status == "STAGED" || r.status == "PARTIAL":
			staged = append(staged, f.Name)
		}
	}
	for i := 0; i < len(fresh); i += maxCopyFiles {
		chunk := fresh[i:min(i+maxCopyFiles, len(fresh))]
		var q strings.Builder
		var args []any
		q.WriteString("INSERT INTO " + l.ledgerName() + " (TABLE_NAME, FILE_NAME, SHA256, ROWS, ROWS_LOADED, STATUS, UPDATED_AT, COPY_TAGS) VALUES ")
		for j, f := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, 'STAGED', ?, ?)")
			args = append(args, l.table, f.Name, f.SHA256, f.Rows, f.Rows, now, tag)
		}
		if err := l.ledgerExec(ctx, q.String(), args...); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(staged); i += maxCopyFiles {
		chunk := staged[i:min(i+maxCopyFiles, len(staged))]
		q := "UPDATE " + l.ledgerName() + " SET COPY_TAGS = COALESCE(COPY_TAGS || ' ', '') || ?, UPDATED_AT = ? WHERE TABLE_NAME = ? AND STATUS IN ('STAGED', 'PARTIAL') AND FILE_NAME IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + ")"
		if err := l.ledgerExec(ctx, q, append([]any{tag, now, l.table}, chunk...)...); err != nil {
			return nil, err
		}
	}
	// rec is the ledger as it was before this load: only those records
	// can explain a skip, besides this load's own lost answers.
	return rec, nil
}

// ledgerExec runs one statement on the ledger.
func (l *Loader) ledgerExec(ctx context.Context, q string, args ...any) error {
	err := l.do(ctx, func(ctx context.Context) error {
		return l.stmt(ctx, func(db DB) error {
			_, err := db.ExecContext(ctx, q, args...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("%w: ledger %s: %w", ErrStatement, l.o.Ledger, err)
	}
	return nil
}

// ledgerDone records the checked results of one COPY: 'LOADED' for whole
// files, 'ACCEPTED' for partial loads whose rejected rows the dead-letter
// sink took, 'PARTIAL' for partial loads the policy does not accept. A
// partial load whose dead letters did not all reach the sink stays
// 'STAGED', so a rerun hands them again.
func (l *Loader) ledgerDone(ctx context.Context, files []stagefile.File, results map[string]FileResult) error {
	now := l.o.Now().UTC().Format(time.RFC3339Nano)
	var loaded []any
	for _, f := range files {
		r, ok := results[f.Name]
		if !ok {
			continue
		}
		status := "PARTIAL"
		switch {
		case r.Status == "LOADED" || r.Status == "LOAD_SKIPPED":
			if r.RowsLoaded == f.Rows {
				loaded = append(loaded, f.Name)
			}
			continue
		case r.Status != "PARTIALLY_LOADED":
			continue // LOAD_FAILED: nothing loaded, no load metadata kept
		case l.o.AcceptPartial && r.RowsLoaded+r.Rejected == f.Rows:
			status = "ACCEPTED"
		case l.o.AcceptPartial:
			continue
		}
		err := l.ledgerExec(ctx, "UPDATE "+l.ledgerName()+" SET STATUS = ?, ROWS_LOADED = ?, UPDATED_AT = ? WHERE TABLE_NAME = ? AND FILE_NAME = ? AND SHA256 = ?",
			status, r.RowsLoaded, now, l.table, f.Name, f.SHA256)
		if err != nil {
			return err
		}
	}
	for i := 0; i < len(loaded); i += maxCopyFiles {
		chunk := loaded[i:min(i+maxCopyFiles, len(loaded))]
		args := append([]any{now, l.table}, chunk...)
		q := "UPDATE " + l.ledgerName() + " SET STATUS = 'LOADED', UPDATED_AT = ? WHERE TABLE_NAME = ? AND STATUS = 'STAGED' AND FILE_NAME IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + ")"
		if err := l.ledgerExec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// jobFinder finds the COPY statement that loaded a file, by the query tags
// the ledger holds for it, and reads that COPY's result for the file. It
// caches what one load looked up.
type jobFinder struct {
	l       *Loader
	files   []stagefile.File                 // the load's files, to read COPY results with
	ids     map[string][]string              // tag → COPY query ids, oldest first
	results map[string]map[string]FileResult // query id → its per-file results
}

// find returns the result of the COPY that loaded f (LOADED or
// PARTIALLY_LOADED), with that COPY's query id, or false when no COPY of
// tags can be found that did.
func (j *jobFinder) find(ctx context.Context, f stagefile.File, tags []string) (FileResult, bool, error) {
	for _, tag := range tags {
		ids, err := j.copies(ctx, tag)
		if err != nil {
			return FileResult{}, false, err
		}
		for _, id := range ids {
			r, ok := j.result(ctx, id)[f.Name]
			if ok && (r.Status == "LOADED" || r.Status == "PARTIALLY_LOADED") {
				r.QueryID = id
				return r, true, nil
			}
		}
	}
	return FileResult{}, false, nil
}

// copies returns the query ids of the successful COPY statements tagged
// tag, oldest first.
func (j *jobFinder) copies(ctx context.Context, tag string) ([]string, error) {
	if ids, ok := j.ids[tag]; ok {
		return ids, nil
	}
	is := "INFORMATION_SCHEMA"
	if j.l.o.Database != "" {
		is = quote(j.l.o.Database) + "." + is
	}
	q := "SELECT QUERY_ID FROM TABLE(" + is + ".QUERY_HISTORY_BY_USER(RESULT_LIMIT => 10000)) WHERE QUERY_TAG = " + literal(tag) +
		" AND QUERY_TYPE = 'COPY' AND EXECUTION_STATUS = 'SUCCESS' ORDER BY START_TIME"
	var ids []string
	err := j.l.do(ctx, func(ctx context.Context) error {
		return j.l.stmt(ctx, func(db DB) error {
			ids = nil
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%w: QUERY_HISTORY for the COPYs tagged %s: %w", ErrStatement, tag, err)
	}
	if j.ids == nil {
		j.ids = map[string][]string{}
	}
	j.ids[tag] = ids
	return ids, nil
}

// result returns the per-file results of COPY id, read with RESULT_SCAN;
// none when the result can no longer be read (kept 24 hours).
func (j *jobFinder) result(ctx context.Context, id string) map[string]FileResult {
	if r, ok := j.results[id]; ok {
		return r
	}
	var out map[string]FileResult
	err := j.l.do(ctx, func(ctx context.Context) error {
		return j.l.stmt(ctx, func(db DB) error {
			rows, err := db.QueryContext(ctx, "SELECT * FROM TABLE(RESULT_SCAN("+literal(id)+"))")
			if err != nil {
				return err
			}
			defer rows.Close()
			out, err = readCopyRows(rows, j.files, false)
			return err
		})
	})
	if err != nil {
		out = nil
	}
	if j.results == nil {
		j.results = map[string]map[string]FileResult{}
	}
	j.results[id] = out
	return out
}
