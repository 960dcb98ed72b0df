package load

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The ledger is a small table in the target's schema (LoaderOptions.Ledger,
// default FLATPIPE_LOADS) with one row per file and target table:
//
//	TABLE_NAME, FILE_NAME, SHA256, ROWS, ROWS_LOADED, STATUS, UPDATED_AT
//
// A row is written with STATUS 'STAGED' before the COPY that loads the file
// and set to 'LOADED' (or 'PARTIAL' with the rows loaded) after the COPY's
// result was checked. COPY skips a file whose stage path and content it
// loaded into the table before (load metadata), and in Snowflake's result a
// skipped file is simply absent (or "0 files processed"). The loader
// counts such a file as loaded when the ledger, as it was before this load,
// holds the name with the file's SHA-256, or does not hold the name at all
// (a COPY of this load whose answer was lost, which the driver retries by
// itself after a dropped connection). It fails with ErrNotOurs when the
// ledger holds the name with other content: the skip may be that content's
// (a PUT with OVERWRITE = FALSE that kept an old file), and our rows would
// be missing. 'STAGED' means a COPY whose answer was lost (a crash after
// COPY); under ON_ERROR = ABORT_STATEMENT such a COPY loaded every row or
// none, so the skip proves a complete load. 'PARTIAL' stays an error on
// every rerun: its missing rows are not in the table.
//
// Limit: under ON_ERROR = CONTINUE with AcceptPartial, a crash between a
// partial COPY and the ledger update loses that file's dead letters (the
// rerun sees a skip and a 'STAGED' record); no row is loaded twice.

type ledgerRecord struct {
	sha, status string
	rows        int64
}

func (l *Loader) ledgerName() string { return l.qualified(l.o.Ledger) }

func (l *Loader) ensureLedger(ctx context.Context) error {
	return l.execScript(ctx, "CREATE TABLE IF NOT EXISTS "+l.ledgerName()+
		" (TABLE_NAME VARCHAR, FILE_NAME VARCHAR, SHA256 VARCHAR, ROWS NUMBER(38,0), ROWS_LOADED NUMBER(38,0), STATUS VARCHAR, UPDATED_AT VARCHAR)")
}

// ledgerLookup returns the ledger's rows for files, by file name; a row with
// the file's SHA-256 wins over others.
func (l *Loader) ledgerLookup(ctx context.Context, files []File) (map[string]ledgerRecord, error) {
	out := map[string]ledgerRecord{}
	want := map[string]string{}
	for _, f := range files {
		want[f.Name] = f.SHA256
	}
	for i := 0; i < len(files); i += maxCopyFiles {
		chunk := files[i:min(i+maxCopyFiles, len(files))]
		args := []any{l.table}
		var q strings.Builder
		q.WriteString("SELECT FILE_NAME, SHA256, STATUS, ROWS_LOADED FROM " + l.ledgerName() + " WHERE TABLE_NAME = ? AND FILE_NAME IN (")
		for j, f := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("?")
			args = append(args, f.Name)
		}
		q.WriteString(")")
		err := l.do(ctx, func(ctx context.Context) error {
			rows, err := l.db.QueryContext(ctx, q.String(), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var name, sha, status sql.NullString
				var loaded sql.NullInt64
				if err := rows.Scan(&name, &sha, &status, &loaded); err != nil {
					return err
				}
				if prev, ok := out[name.String]; ok && prev.sha == want[name.String] {
					continue
				}
				out[name.String] = ledgerRecord{sha: sha.String, status: status.String, rows: loaded.Int64}
			}
			return rows.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("%w: ledger %s: %w", ErrStatement, l.o.Ledger, err)
		}
	}
	return out, nil
}

// ledgerIntent records files about to be COPYed that the ledger does not
// hold with their content, and returns the ledger's records from before.
func (l *Loader) ledgerIntent(ctx context.Context, files []File) (map[string]ledgerRecord, error) {
	rec, err := l.ledgerLookup(ctx, files)
	if err != nil {
		return nil, err
	}
	now := l.o.Now().UTC().Format(time.RFC3339Nano)
	var fresh []File
	for _, f := range files {
		if r, ok := rec[f.Name]; !ok || r.sha != f.SHA256 {
			fresh = append(fresh, f)
		}
	}
	for i := 0; i < len(fresh); i += maxCopyFiles {
		chunk := fresh[i:min(i+maxCopyFiles, len(fresh))]
		var q strings.Builder
		var args []any
		q.WriteString("INSERT INTO " + l.ledgerName() + " (TABLE_NAME, FILE_NAME, SHA256, ROWS, ROWS_LOADED, STATUS, UPDATED_AT) VALUES ")
		for j, f := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, 'STAGED', ?)")
			args = append(args, l.table, f.Name, f.SHA256, f.Rows, f.Rows, now)
		}
		err := l.do(ctx, func(ctx context.Context) error {
			_, err := l.db.ExecContext(ctx, q.String(), args...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%w: ledger %s: %w", ErrStatement, l.o.Ledger, err)
		}
	}
	// rec is the ledger as it was before this load: only those records
	// can explain a skip, besides this load's own lost answers.
	return rec, nil
}

// ledgerDone records the checked results of one COPY.
func (l *Loader) ledgerDone(ctx context.Context, files []File, results map[string]FileResult) error {
	now := l.o.Now().UTC().Format(time.RFC3339Nano)
	var loaded []any
	for _, f := range files {
		r, ok := results[f.Name]
		if !ok {
			continue
		}
		switch r.Status {
		case "LOADED", "LOAD_SKIPPED":
			if r.RowsLoaded == f.Rows {
				loaded = append(loaded, f.Name)
			}
			continue
		case "PARTIALLY_LOADED":
		default: // LOAD_FAILED: nothing loaded, no load metadata kept
			continue
		}
		err := l.do(ctx, func(ctx context.Context) error {
			_, err := l.db.ExecContext(ctx, "UPDATE "+l.ledgerName()+" SET STATUS = 'PARTIAL', ROWS_LOADED = ?, UPDATED_AT = ? WHERE TABLE_NAME = ? AND FILE_NAME = ? AND SHA256 = ?",
				r.RowsLoaded, now, l.table, f.Name, f.SHA256)
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: ledger %s: %w", ErrStatement, l.o.Ledger, err)
		}
	}
	for i := 0; i < len(loaded); i += maxCopyFiles {
		chunk := loaded[i:min(i+maxCopyFiles, len(loaded))]
		args := append([]any{now, l.table}, chunk...)
		q := "UPDATE " + l.ledgerName() + " SET STATUS = 'LOADED', UPDATED_AT = ? WHERE TABLE_NAME = ? AND STATUS = 'STAGED' AND FILE_NAME IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + ")"
		err := l.do(ctx, func(ctx context.Context) error {
			_, err := l.db.ExecContext(ctx, q, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: ledger %s: %w", ErrStatement, l.o.Ledger, err)
		}
	}
	return nil
}
