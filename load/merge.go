package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// ErrDuplicateKey reports a Merge batch holding two rows with one key and no
// MergeOrder to choose between them.
var ErrDuplicateKey = errors.New("load: duplicate merge key in batch and no MergeOrder")

// batchID names a batch by its files, so a rerun of the same batch reuses
// (and replaces) the same staging table.
func batchID(files []stagefile.File) string {
	h := sha256.New()
	for _, f := range files {
		h.Write([]byte(f.Name + "\x00" + f.SHA256 + "\x00"))
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))[:12])
}

// loadVia loads files into a fresh table and then swaps it in (Replace) or
// merges it into the target (Merge). The fresh table is rebuilt from scratch
// on every attempt, and its COPY uses FORCE (its rows are new by
// construction), so an attempt whose answer was lost is simply redone.
func (l *Loader) loadVia(ctx context.Context, plan *schema.Plan, files []stagefile.File, res *Result) error {
	var stg string
	transient := l.o.Disposition == Merge
	if transient {
		stg = derivedName(l.table, "__FLATPIPE_MERGE_"+batchID(files))
	} else {
		stg = derivedName(l.table, "__FLATPIPE_REPLACE_"+batchID(files))
	}
	if l.o.Disposition == Merge {
		if err := l.checkMergeColumns(plan); err != nil {
			return err
		}
	}
	// Build the fresh table and stage and COPY every file into it.
	err := l.do(ctx, func(ctx context.Context) error {
		if err := l.createLike(ctx, stg, plan, transient); err != nil {
			return err
		}
		start := time.Now()
		if err := l.upload(ctx, stg, files); err != nil {
			return err
		}
		res.Upload = time.Since(start)
		start = time.Now()
		defer func() { res.Copy = time.Since(start) }()
		res.Files, res.RowsLoaded, res.RowsRejected = nil, 0, 0
		for _, group := range copyGroups(files) {
			cr, err := l.copy(ctx, stg, group, true)
			if err != nil {
				return err
			}
			for _, f := range group {
				r, ok := cr.files[f.Name]
				if !ok {
					return &FileError{Result: FileResult{File: f, Status: "LOAD_SKIPPED"}, Reason: "COPY with FORCE skipped the file"}
				}
				if err := l.checkFile(ctx, stg, cr.queryID, &r); err != nil {
					return err
				}
				res.Files = append(res.Files, r)
				res.RowsLoaded += r.RowsLoaded
				res.RowsRejected += r.Rejected
				l.event(Event{Step: StepFile, File: f.Name, Rows: r.RowsLoaded})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	start := time.Now()
	defer func() { res.Finish = time.Since(start) }()
	if l.o.Disposition == Replace {
		// Never retried: a SWAP whose answer was lost, repeated, would swap
		// back. A rerun of the whole Load is safe instead.
		err := l.stmt(ctx, func(db DB) error {
			_, err := db.ExecContext(ctx, "ALTER TABLE "+l.qualified(l.table)+" SWAP WITH "+l.qualified(stg))
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: replace %s: %w", ErrStatement, l.table, err)
		}
		l.event(Event{Step: StepSwap, Rows: res.RowsLoaded, Duration: time.Since(start)})
		return l.execScript(ctx, "DROP TABLE IF EXISTS "+l.qualified(stg))
	}
	if err := l.merge(ctx, stg, plan, res); err != nil {
		return err
	}
	l.event(Event{Step: StepMerge, Rows: res.Inserted + res.Updated + res.Deleted, Duration: time.Since(start)})
	return l.execScript(ctx, "DROP TABLE IF EXISTS "+l.qualified(stg))
}

func (l *Loader) checkMergeColumns(plan *schema.Plan) error {
	have := map[string]bool{}
	for _, c := range plan.Columns {
		have[c.Name] = true
	}
	var missing []string
	for _, k := range l.o.MergeKeys {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	for _, k := range []string{l.o.MergeOrder, l.o.MergeDelete} {
		if k != "" && !have[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: merge columns %s are not columns of %s", ErrOptions, strings.Join(missing, ", "), l.table)
	}
	return nil
}

// merge upserts the staging table's rows into the target: one row per key
// (the greatest MergeOrder wins), deleting where MergeDelete is TRUE.
func (l *Loader) merge(ctx context.Context, stg string, plan *schema.Plan, res *Result) error {
	keys := make([]string, len(l.o.MergeKeys))
	for i, k := range l.o.MergeKeys {
		keys[i] = quote(k)
	}
	if l.o.MergeOrder == "" {
		// Without an order, two rows of one key cannot be ranked.
		var dup int64
		q := "SELECT COUNT(*) FROM (SELECT " + strings.Join(keys, ", ") + " FROM " + l.qualified(stg) +
			" GROUP BY " + strings.Join(keys, ", ") + " HAVING COUNT(*) > 1) AS D"
		err := l.do(ctx, func(ctx context.Context) error {
			return l.stmt(ctx, func(db DB) error {
				rows, err := db.QueryContext(ctx, q)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					if err := rows.Scan(&dup); err != nil {
						return err
					}
				}
				return rows.Err()
			})
		})
		if err != nil {
			return fmt.Errorf("%w: merge %s: %w", ErrStatement, l.table, err)
		}
		if dup > 0 {
			return fmt.Errorf("%w: %d keys of %s appear more than once", ErrDuplicateKey, dup, l.table)
		}
	}
	var src string
	if l.o.MergeOrder != "" {
		src = "(SELECT * FROM " + l.qualified(stg) + " QUALIFY ROW_NUMBER() OVER (PARTITION BY " +
			strings.Join(keys, ", ") + " ORDER BY " + quote(l.o.MergeOrder) + " DESC) = 1)"
	} else {
		src = l.qualified(stg)
	}
	var b strings.Builder
	b.WriteString("MERGE INTO " + l.qualified(l.table) + " AS T USING " + src + " AS S ON ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString("T." + k + " = S." + k)
	}
	del := ""
	if l.o.MergeDelete != "" {
		del = "S." + quote(l.o.MergeDelete)
		b.WriteString(" WHEN MATCHED AND " + del + " = TRUE THEN DELETE")
	}
	b.WriteString(" WHEN MATCHED THEN UPDATE SET ")
	var cols, vals []string
	first := true
	for _, c := range plan.Columns {
		q := quote(c.Name)
		cols = append(cols, q)
		vals = append(vals, "S."+q)
		if isKey(l.o.MergeKeys, c.Name) {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(q + " = S." + q)
	}
	if first { // every column is a key: nothing to update
		s := b.String()
		b.Reset()
		b.WriteString(strings.TrimSuffix(s, " WHEN MATCHED THEN UPDATE SET "))
	}
	b.WriteString(" WHEN NOT MATCHED")
	if del != "" {
		b.WriteString(" AND (" + del + " IS NULL OR " + del + " = FALSE)")
	}
	b.WriteString(" THEN INSERT (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")")
	return l.do(ctx, func(ctx context.Context) error {
		return l.stmt(ctx, func(db DB) error {
			rows, err := db.QueryContext(ctx, b.String())
			if err != nil {
				return fmt.Errorf("%w: merge %s: %w", ErrStatement, l.table, err)
			}
			defer rows.Close()
			names, err := rows.Columns()
			if err != nil {
				return err
			}
			vals := make([]any, len(names))
			strs := make([]string, len(names))
			for i := range vals {
				vals[i] = &strs[i]
			}
			res.Inserted, res.Updated, res.Deleted = 0, 0, 0
			for rows.Next() {
				if err := rows.Scan(vals...); err != nil {
					return err
				}
				for i, n := range names {
					v, _ := strconv.ParseInt(strs[i], 10, 64)
					switch strings.ToLower(n) {
					case "number of rows inserted":
						res.Inserted += v
					case "number of rows updated":
						res.Updated += v
					case "number of rows deleted":
						res.Deleted += v
					}
				}
			}
			return rows.Err()
		})
	})
}

func isKey(keys []string, name string) bool {
	for _, k := range keys {
		if k == name {
			return true
		}
	}
	return false
}
