package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/snowflakedb/gosnowflake"
)

// evolveAttempts bounds re-planning when another loader changes the table
// between our DESC TABLE and our ALTER TABLE.
const evolveAttempts = 5

// ddlOptions are the options of the DDL the Loader writes.
func (l *Loader) ddlOptions() schema.DDLOptions {
	o := l.qual
	o.IfNotExists = true
	o.NoComments = l.o.NoColumnComments
	return o
}

// ensureTable creates or evolves the target table for the batch and checks
// that every file column is a table column.
func (l *Loader) ensureTable(ctx context.Context, t schema.Table, files []stagefile.File) (*schema.Plan, error) {
	start := time.Now()
	inferred := t
	inferred.Name = l.table
	if !l.o.SizedVarchar {
		inferred.Columns = append([]schema.Column(nil), t.Columns...)
		for i := range inferred.Columns {
			if inferred.Columns[i].Type.Kind == schema.Varchar {
				inferred.Columns[i].Type.Length = schema.MaxVarcharLength
			}
		}
	}
	var lastErr error
	for attempt := 0; attempt < evolveAttempts; attempt++ {
		existing, exists, err := l.describe(ctx, l.table)
		if err != nil {
			return nil, err
		}
		if !exists && len(inferred.Columns) == 0 {
			return nil, fmt.Errorf("load: table %s does not exist and the batch's inferred table has no columns to create it with", l.table)
		}
		plan, err := schema.PlanChanges(existing, inferred, l.o.Evolution, l.o.Plan)
		if err != nil {
			return nil, fmt.Errorf("load: table %s: %w", l.table, err)
		}
		if len(plan.Changes) > 0 {
			if err := l.checkFallbacks(plan); err != nil {
				return nil, err
			}
			script := l.planSQL(plan)
			if lastErr = l.execScript(ctx, script); lastErr != nil {
				if ctx.Err() != nil {
					return nil, lastErr
				}
				// Another loader may have changed the table meanwhile, or
				// held it (a concurrent ALTER can fail on a catalog
				// conflict): read it again and re-plan. The statements
				// are idempotent (IF NOT EXISTS), so repeating them is
				// safe; a permanent error is returned after the last
				// attempt.
				continue
			}
			// Read the table back: a concurrent loader may have added a
			// column of the same name with another type.
			if attempt+1 < evolveAttempts {
				existing, _, err = l.describe(ctx, l.table)
				if err != nil {
					return nil, err
				}
				if p2, err := schema.PlanChanges(existing, inferred, l.o.Evolution, l.o.Plan); err == nil && len(p2.Changes) > 0 {
					continue
				}
			}
			l.event(Event{Step: StepTable, Duration: time.Since(start)})
		}
		if err := l.checkColumns(plan, inferred, files); err != nil {
			return nil, err
		}
		return plan, nil
	}
	return nil, fmt.Errorf("load: table %s: schema changes kept conflicting after %d attempts: %w", l.table, evolveAttempts, lastErr)
}

// planSQL writes a plan's statements with IF NOT EXISTS: a column another
// loader added meanwhile makes our ADD COLUMN a no-op, and the table is read
// back and planned again, which catches a column added with another type.
//
// A fallback column's comment says, after its path, which column and type
// it stands in for, so that DESC TABLE explains it to a reader; describe
// reads the path back from it.
func (l *Loader) planSQL(p *schema.Plan) string {
	if !p.Create && !l.o.NoColumnComments {
		q := *p
		q.Changes = slices.Clone(p.Changes)
		for i, c := range q.Changes {
			if note := fallbackNote(p, c); note != "" {
				q.Changes[i].Column.Path += note
			}
		}
		p = &q
	}
	return string(p.AppendSQL(nil, l.ddlOptions()))
}

// fallbackMark starts the note a fallback column's comment carries after
// its path.
const fallbackMark = " — fallback of column "

// fallbackNote returns the note for change c when it adds a fallback
// column: the column of the same path it stands in for, with its type, and
// why. "" for any other change.
func fallbackNote(p *schema.Plan, c schema.Change) string {
	if c.Kind != schema.ChangeAdd || c.Column.Path == "" || c.Reason == "new path" {
		return ""
	}
	for _, o := range p.Columns {
		if o.Path == c.Column.Path && o.Name != c.Column.Name {
			return fallbackMark + string(schema.QuoteIdent(nil, o.Name)) + " " + o.Type.String() + ", for the values it cannot take: " + c.Reason
		}
	}
	return ""
}

// commentPath returns the path a column comment holds: the comment, without
// the note of a fallback column.
func commentPath(comment string) string {
	if i := strings.LastIndex(comment, fallbackMark); i >= 0 {
		return comment[:i]
	}
	return comment
}

// execScript runs statements separated by ";\n" (schema writes string
// literals with escaped line breaks, so the separator never occurs inside one).
func (l *Loader) execScript(ctx context.Context, script string) error {
	for _, stmt := range strings.Split(script, ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt == "" {
			continue
		}
		err := l.do(ctx, func(ctx context.Context) error {
			return l.stmt(ctx, func(db DB) error {
				_, err := db.ExecContext(ctx, stmt)
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrStatement, firstWords(stmt), err)
		}
	}
	return nil
}

// firstWords returns the start of a statement for error messages.
func firstWords(stmt string) string {
	if i := strings.IndexByte(stmt, '('); i > 0 && i < 200 {
		return strings.TrimSpace(stmt[:i])
	}
	if len(stmt) > 200 {
		return stmt[:200] + "…"
	}
	return stmt
}

// describe reads a table's columns with DESC TABLE; exists is false when the
// table does not exist.
func (l *Loader) describe(ctx context.Context, table string) (cols []schema.ExistingColumn, exists bool, err error) {
	err = l.do(ctx, func(ctx context.Context) error {
		return l.stmt(ctx, func(db DB) error {
			cols, exists = nil, false
			rows, err := db.QueryContext(ctx, "DESC TABLE "+l.qualified(table))
			if err != nil {
				var se *gosnowflake.SnowflakeError
				if errors.As(err, &se) && se.Number == 2003 {
					return nil
				}
				return err
			}
			defer rows.Close()
			exists = true
			row, err := newNamedRow(rows)
			if err != nil {
				return err
			}
			for _, need := range []string{"name", "type", "kind"} {
				if !row.has(need) {
					return fmt.Errorf("DESC TABLE result lacks column %q", need)
				}
			}
			get := row.str
			for rows.Next() {
				if err := row.scan(rows); err != nil {
					return err
				}
				c, ok, err := schema.DescRow{Name: get("name"), Type: get("type"), Kind: get("kind"), Null: get("null?"), Comment: commentPath(get("comment"))}.Column()
				if err != nil {
					return err
				}
				if ok {
					cols = append(cols, c)
				}
			}
			return rows.Err()
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("%w: DESC TABLE %s: %w", ErrStatement, table, err)
	}
	return cols, exists, nil
}

// Columns reads the target table's columns with DESC TABLE, as the Loader
// plans against them: a fallback column's comment is its path, without the
// note the Loader adds. exists is false when the table does not exist. A
// caller that writes files for the table reads it here to type its columns
// as the table has them (stagefile.WriterOptions.Columns).
func (l *Loader) Columns(ctx context.Context) (cols []schema.ExistingColumn, exists bool, err error) {
	return l.describe(ctx, l.table)
}

// createLike creates (or replaces) table name with the plan's columns.
func (l *Loader) createLike(ctx context.Context, name string, plan *schema.Plan, transient bool) error {
	o := l.qual
	o.NoComments = l.o.NoColumnComments || transient
	ddl := schema.CreateTable(schema.Table{Name: name, Columns: plan.Columns}, o)
	kind := "CREATE OR REPLACE TABLE "
	if transient {
		kind = "CREATE OR REPLACE TRANSIENT TABLE "
	}
	ddl = kind + strings.TrimPrefix(ddl, "CREATE TABLE ")
	return l.execScript(ctx, ddl)
}

// derivedName returns name+suffix cut to Snowflake's identifier limit.
func derivedName(name, suffix string) string {
	if len(name)+len(suffix) > schema.MaxIdentLength {
		name = name[:schema.MaxIdentLength-len(suffix)]
	}
	return name + suffix
}

// ErrSchemaMismatch is wrapped by every *SchemaMismatchError.
var ErrSchemaMismatch = errors.New("load: files do not fit the table")

// SchemaMismatchError reports file columns that the table, as planned, does
// not have or cannot take: typically another loader gave a column another
// type, and the plan routes these values to a fallback column. Write the
// files again with stagefile.WriterOptions.Columns = Plan.Columns (Loader.Prepare
// returns the plan) and load those.
type SchemaMismatchError struct {
	Table    string
	Plan     *schema.Plan
	Problems []string // "file F column C: ..."
}

func (e *SchemaMismatchError) Error() string {
	return fmt.Sprintf("load: files do not fit table %s: %s", e.Table, strings.Join(e.Problems, "; "))
}

// Unwrap returns ErrSchemaMismatch.
func (e *SchemaMismatchError) Unwrap() error { return ErrSchemaMismatch }

// checkColumns checks that every file column is a table column whose type
// covers the file's (stagefile.File.Schema, else the batch's table). VARCHAR lengths
// are not compared: files are written with unsized VARCHAR.
func (l *Loader) checkColumns(plan *schema.Plan, batch schema.Table, files []stagefile.File) error {
	cols := make(map[string]schema.Type, len(plan.Columns))
	for _, c := range plan.Columns {
		cols[c.Name] = c.Type
	}
	batchTypes := make(map[string]schema.Type, len(batch.Columns))
	for _, c := range batch.Columns {
		batchTypes[c.Name] = c.Type
	}
	var p []string
	for _, f := range files {
		for i, name := range f.Columns {
			have, ok := cols[name]
			if !ok {
				p = append(p, fmt.Sprintf("file %s column %s: not a column of the table", f.Name, name))
				continue
			}
			want, known := batchTypes[name]
			if i < len(f.Schema) && f.Schema[i].Name == name {
				want, known = f.Schema[i].Type, true
			}
			if !known || (have.Kind == schema.Varchar && want.Kind == schema.Varchar) || have.Covers(want) {
				continue
			}
			p = append(p, fmt.Sprintf("file %s column %s: the table's %s cannot take the file's %s", f.Name, name, have, want))
		}
	}
	if len(p) > 0 {
		return &SchemaMismatchError{Table: l.table, Plan: plan, Problems: p}
	}
	return nil
}

// Prepare creates or evolves the table for a batch whose inferred table is
// t (as Load does first) and returns the plan: write the batch's files
// with stagefile.WriterOptions.Columns = plan.Columns so that their columns are the
// table's, fallback columns included.
func (l *Loader) Prepare(ctx context.Context, t schema.Table) (*schema.Plan, error) {
	return l.ensureTable(ctx, t, nil)
}

// checkFallbacks refuses a plan that adds a fallback column (a column for
// the values of a path whose column cannot take them) when column comments
// are off: the comment is the only way a later plan finds that column
// again, so every later batch would add another one.
func (l *Loader) checkFallbacks(plan *schema.Plan) error {
	if !l.o.NoColumnComments {
		return nil
	}
	var p []string
	for _, c := range plan.Changes {
		if c.Kind == schema.ChangeAdd && c.Column.Path != "" && c.Reason != "new path" {
			p = append(p, fmt.Sprintf("path %s needs fallback column %s (%s), which only a column comment ties to its path: set NoColumnComments false", c.Column.Path, c.Column.Name, c.Reason))
		}
	}
	if len(p) > 0 {
		return &SchemaMismatchError{Table: l.table, Plan: plan, Problems: p}
	}
	return nil
}
