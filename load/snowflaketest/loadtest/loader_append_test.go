package loadtest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/snowflakedb/gosnowflake"
)

// TestLoaderAppend loads a batch through each kind of internal stage, checks
// every cell, then loads the same batch again: every file is skipped as ours
// and the table still holds each row once.
func TestLoaderAppend(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		stage load.Stage
	}{
		{"table stage", load.Stage{}},
		{"named stage", load.Stage{Kind: load.NamedStage, Name: "landing", Path: "batch/1", Create: true}},
		{"temporary named stage", load.Stage{Kind: load.NamedStage, Name: "tmp_landing", Create: true, Temporary: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "append_" + strings.ReplaceAll(tc.name, " ", "_")
			b := makeBatch(t, t.TempDir(), "f", 3, records(1, 25, ""))
			ev := &events{}
			l := newLoader(t, db, load.LoaderOptions{Table: table, Stage: tc.stage, Progress: ev, Parallel: 2})
			res, err := l.Load(ctx, b.table, b.files)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if res.RowsLoaded != 25 || len(res.Files) != 3 {
				t.Fatalf("Load() = %d rows in %d files, want 25 in 3", res.RowsLoaded, len(res.Files))
			}
			for _, r := range res.Files {
				if r.Status != "LOADED" || r.RowsLoaded != r.File.Rows || r.RowsParsed != r.File.Rows || r.QueryID == "" {
					t.Errorf("file %s: %+v, want LOADED with all rows and the COPY's query id", r.File.Name, r)
				}
			}
			if got := ev.count(load.StepUpload); got != 3 {
				t.Errorf("%d upload events, want 3", got)
			}
			want := rowsOf(b.recs, colNames(b.table))
			// The table name was normalised: an unquoted SELECT finds it.
			sameRows(t, "after load", tableRows(t, db, table, colNames(b.table)), want)

			res, err = l.Load(ctx, b.table, b.files)
			if err != nil {
				t.Fatalf("second Load: %v", err)
			}
			for _, r := range res.Files {
				if r.Status != "LOAD_SKIPPED" || r.RowsLoaded != r.File.Rows {
					t.Errorf("second load, file %s: %+v, want LOAD_SKIPPED", r.File.Name, r)
				}
			}
			sameRows(t, "after second load", tableRows(t, db, table, colNames(b.table)), want)
		})
	}
}

// TestLoaderTableNames: unquoted names are normalised like columns, quoted
// names kept as written.
func TestLoaderTableNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"events", "EVENTS"}, {"my-events.v2", "MY_EVENTS_V2"}, {`"events"`, "events"}, {`"a""b"`, `a"b`},
	} {
		got, err := load.TableName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("TableName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", `"`, `""`, `ev"ents`, `"a"b"`} {
		if got, err := load.TableName(bad); err == nil {
			t.Errorf("TableName(%q) = %q, want an error", bad, got)
		}
	}
	_, db := emulator(t, snowflaketest.Options{})
	b := makeBatch(t, t.TempDir(), "q", 1, records(1, 3, ""))
	l := newLoader(t, db, load.LoaderOptions{Table: `"events"`})
	if _, err := l.Load(context.Background(), b.table, b.files); err != nil {
		t.Fatal(err)
	}
	sameRows(t, `"events"`, tableRows(t, db, `"events"`, colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
}

// TestLoaderEvolve loads a second batch with a new column and longer
// strings into the table the first batch created.
func TestLoaderEvolve(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	l := newLoader(t, db, load.LoaderOptions{Table: "evolve"})
	b1 := makeBatch(t, t.TempDir(), "a", 1, []string{`{"id":1,"code":"ab"}`, `{"id":2,"code":"cd"}`})
	if _, err := l.Load(ctx, b1.table, b1.files); err != nil {
		t.Fatal(err)
	}
	b2 := makeBatch(t, t.TempDir(), "b", 2, []string{`{"id":3,"code":"a much longer code than before","flag":true}`, `{"id":40000000000,"code":"x","flag":false}`})
	res, err := l.Load(ctx, b2.table, b2.files)
	if err != nil {
		t.Fatalf("Load of the wider batch: %v", err)
	}
	var added int
	for _, c := range res.Plan.Changes {
		if c.Column.Name == "FLAG" {
			added++
		}
	}
	if added != 1 {
		t.Errorf("plan changes %v, want FLAG added", res.Plan.Changes)
	}
	got := tableRows(t, db, "evolve", []string{"ID", "CODE", "FLAG"})
	want := []string{"ID=1|CODE=ab|FLAG=NULL|", "ID=2|CODE=cd|FLAG=NULL|", "ID=3|CODE=a much longer code than before|FLAG=1|", "ID=40000000000|CODE=x|FLAG=0|"}
	sameRows(t, "evolved table", got, want)
}

// conflictRetry retries a statement that the emulator's DuckDB aborted on
// a transaction conflict (a COPY into a table another session is altering).
// Snowflake makes such statements wait for the table's lock instead; the
// emulator answers a generic 100000 error, so only its text tells.
type conflictRetry struct{}

func (conflictRetry) Do(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = fn(ctx); err == nil || !strings.Contains(err.Error(), "Transaction conflict") && !strings.Contains(err.Error(), "write-write conflict") {
			return err
		}
	}
	return err
}

// TestLoaderConcurrentEvolve: two loaders add different columns to one
// table at once; both succeed and the table has the union.
func TestLoaderConcurrentEvolve(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	base := makeBatch(t, t.TempDir(), "base", 1, []string{`{"id":0}`})
	l0 := newLoader(t, db, load.LoaderOptions{Table: "conc"})
	if _, err := l0.Load(ctx, base.table, base.files); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	var batches [2]batch
	batches[0] = makeBatch(t, t.TempDir(), "left", 1, []string{`{"id":1,"left":"l","both":"x"}`})
	batches[1] = makeBatch(t, t.TempDir(), "right", 1, []string{`{"id":2,"right":2,"both":"y"}`})
	for i := range batches {
		l := newLoader(t, db, load.LoaderOptions{Table: "conc", Retry: conflictRetry{}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.Load(ctx, batches[i].table, batches[i].files)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("loader %d: %v", i, err)
		}
	}
	got := tableRows(t, db, "conc", []string{"ID", "LEFT", "RIGHT", "BOTH"})
	want := []string{"ID=0|LEFT=NULL|RIGHT=NULL|BOTH=NULL|", "ID=1|LEFT=l|RIGHT=NULL|BOTH=x|", "ID=2|LEFT=NULL|RIGHT=2|BOTH=y|"}
	sameRows(t, "union of columns", got, want)
}

// TestLoaderNeverSilent: a file whose rows COPY did not all load is an
// error, whatever COPY's status says.
func TestLoaderNeverSilent(t *testing.T) {
	srv, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()

	t.Run("row count differs", func(t *testing.T) {
		b := makeBatch(t, t.TempDir(), "lie", 1, records(1, 4, ""))
		b.files[0].Rows = 5 // the writer said 5
		l := newLoader(t, db, load.LoaderOptions{Table: "lie"})
		_, err := l.Load(ctx, b.table, b.files)
		var fe *load.FileError
		if !errors.As(err, &fe) || !errors.Is(err, load.ErrIncomplete) || fe.Result.RowsLoaded != 4 {
			t.Fatalf("Load() = %v, want a FileError with 4 rows loaded", err)
		}
	})

	t.Run("abort statement", func(t *testing.T) {
		b := makeBatch(t, t.TempDir(), "abort", 2, records(1, 6, ""))
		srv.InjectFault(snowflaketest.Fault{FailFile: b.files[1].Name})
		defer srv.ClearFaults()
		l := newLoader(t, db, load.LoaderOptions{Table: "abort"})
		_, err := l.Load(ctx, b.table, b.files)
		var ce *load.CopyError
		if !errors.As(err, &ce) {
			t.Fatalf("Load() = %v, want a CopyError", err)
		}
		if (load.ErrorClassifier{}).Retryable(err) {
			t.Errorf("Retryable(%v) = true, want false", err)
		}
		if n := len(tableRows(t, db, "abort", []string{"ID"})); n != 0 {
			t.Errorf("%d rows loaded after an aborted COPY, want 0", n)
		}
	})

	t.Run("continue without accepting partial loads", func(t *testing.T) {
		b := makeBatch(t, t.TempDir(), "cont", 2, records(1, 6, ""))
		srv.InjectFault(snowflaketest.Fault{FailFile: b.files[1].Name})
		defer srv.ClearFaults()
		l := newLoader(t, db, load.LoaderOptions{Table: "cont", OnError: "CONTINUE"})
		_, err := l.Load(ctx, b.table, b.files)
		var fe *load.FileError
		if !errors.As(err, &fe) || fe.Result.File.Name != b.files[1].Name || fe.Result.FirstError == nil {
			t.Fatalf("Load() = %v, want a FileError for %s with its first error", err, b.files[1].Name)
		}
		// The failed file left no load metadata: a rerun loads it, and
		// skips the other one as ours.
		srv.ClearFaults()
		res, err := l.Load(ctx, b.table, b.files)
		if err != nil {
			t.Fatalf("rerun: %v", err)
		}
		if res.Files[0].Status != "LOAD_SKIPPED" || res.Files[1].Status != "LOADED" {
			t.Errorf("rerun statuses %s, %s; want LOAD_SKIPPED, LOADED", res.Files[0].Status, res.Files[1].Status)
		}
		sameRows(t, "after rerun", tableRows(t, db, "cont", colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
	})

	t.Run("skipped but not ours", func(t *testing.T) {
		b := makeBatch(t, t.TempDir(), "foreign", 1, records(1, 3, ""))
		l := newLoader(t, db, load.LoaderOptions{Table: "foreign"})
		if _, err := l.Load(ctx, b.table, b.files); err != nil {
			t.Fatal(err)
		}
		// The ledger now knows the name with other content (a writer
		// that reused a name): the skip cannot vouch for our rows.
		if _, err := db.ExecContext(ctx, "UPDATE FLATPIPE_LOADS SET SHA256 = 'other' WHERE TABLE_NAME = 'FOREIGN'"); err != nil {
			t.Fatal(err)
		}
		_, err := l.Load(ctx, b.table, b.files)
		if !errors.Is(err, load.ErrNotOurs) {
			t.Fatalf("Load() = %v, want ErrNotOurs", err)
		}
	})
}

func TestLoaderOptions(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	for _, tc := range []struct {
		name string
		o    load.LoaderOptions
		want string
	}{
		{"no table", load.LoaderOptions{}, "table name is empty"},
		{"bad on error", load.LoaderOptions{Table: "t", OnError: "IGNORE"}, "ON_ERROR"},
		{"partial without sink", load.LoaderOptions{Table: "t", AcceptPartial: true}, "DeadLetter"},
		{"merge without keys", load.LoaderOptions{Table: "t", Disposition: load.Merge}, "MergeKeys"},
		{"keys without merge", load.LoaderOptions{Table: "t", MergeKeys: []string{"ID"}}, "Merge disposition only"},
		{"named stage without name", load.LoaderOptions{Table: "t", Stage: load.Stage{Kind: load.NamedStage}}, "needs a Name"},
		{"external stage created", load.LoaderOptions{Table: "t", Stage: load.Stage{Kind: load.ExternalStage, Name: "x", Create: true}}, "not by the Loader"},
	} {
		_, err := load.NewLoader(db, tc.o)
		if !errors.Is(err, load.ErrOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New() = %v, want ErrOptions mentioning %q", tc.name, err, tc.want)
		}
	}
	l := newLoader(t, db, load.LoaderOptions{Table: "t"})
	b := makeBatch(t, t.TempDir(), "dup", 1, records(1, 2, ""))
	if _, err := l.Load(context.Background(), b.table, append(b.files, b.files[0])); !errors.Is(err, load.ErrOptions) {
		t.Errorf("Load() of a file twice = %v, want ErrOptions", err)
	}
	// A statement the server refuses: the stage does not exist.
	missing := newLoader(t, db, load.LoaderOptions{Table: "t", Stage: load.Stage{Kind: load.NamedStage, Name: "no_such_stage"}})
	_, err := missing.Load(context.Background(), b.table, b.files)
	var se *gosnowflake.SnowflakeError
	if !errors.Is(err, load.ErrStatement) || !errors.As(err, &se) {
		t.Errorf("Load() through a missing stage = %v, want ErrStatement wrapping the driver's error", err)
	}
	nosum := b.files[0]
	nosum.SHA256 = ""
	if _, err := l.Load(context.Background(), b.table, []stagefile.File{nosum}); !errors.Is(err, load.ErrOptions) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("Load() of a file without SHA-256 = %v, want ErrOptions", err)
	}
}

// TestLoaderWriterFiles loads the writers' files of every format with the
// zero Table: the Loader builds the table from the files' Schema.
func TestLoaderWriterFiles(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	recs := records(1, 40, "")
	want := makeBatch(t, t.TempDir(), "w", 1, recs)
	for _, tc := range []struct {
		format stagefile.Format
		comp   stagefile.Compression
	}{{stagefile.NDJSON, stagefile.Gzip}, {stagefile.NDJSON, stagefile.Zstd}, {stagefile.NDJSON, stagefile.Uncompressed}, {stagefile.CSV, stagefile.Gzip}, {stagefile.Parquet, stagefile.Zstd}} {
		format := tc.format
		t.Run(format.String()+"/"+tc.comp.String(), func(t *testing.T) {
			w, err := stagefile.NewWriter(stagefile.WriterOptions{Dir: t.TempDir(), Table: "T", Format: format, Compression: tc.comp, MaxRows: 15})
			if err != nil {
				t.Fatal(err)
			}
			fl, _ := flatten.New(flatten.Options{})
			var fields []flatten.Field
			for i, r := range recs {
				fields, _ = fl.Append(fields[:0], []byte(r))
				if err := w.Write(int64(i+1), fields); err != nil {
					t.Fatal(err)
				}
			}
			files, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 3 {
				t.Fatalf("%d files, want 3", len(files))
			}
			table := "written_" + format.String() + "_" + tc.comp.String()
			res, err := newLoader(t, db, load.LoaderOptions{Table: table}).Load(context.Background(), schema.Table{}, files)
			if err != nil {
				t.Fatal(err)
			}
			if res.RowsLoaded != 40 {
				t.Errorf("loaded %d rows, want 40", res.RowsLoaded)
			}
			cols := colNames(want.table)
			sameRows(t, format.String(), tableRows(t, db, table, cols), rowsOf(want.recs, cols))
		})
	}
}

// racingDB runs a competing statement just before the first ALTER TABLE
// the Loader sends, as a second loader would.
type racingDB struct {
	*sql.DB
	before string
	once   sync.Once
}

func (r *racingDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if strings.HasPrefix(q, "ALTER TABLE") {
		var err error
		r.once.Do(func() { _, err = r.DB.ExecContext(ctx, r.before) })
		if err != nil {
			return nil, err
		}
	}
	return r.DB.ExecContext(ctx, q, args...)
}

// TestLoaderEvolveConflict: another loader adds the same column (with
// another type) between our DESC TABLE and our ALTER TABLE; the Loader
// reads the table again, re-plans (a fallback column for the values the
// other type cannot take) and loads every row.
func TestLoaderEvolveConflict(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	base := makeBatch(t, t.TempDir(), "base", 1, []string{`{"id":1}`})
	if _, err := newLoader(t, db, load.LoaderOptions{Table: "race"}).Load(ctx, base.table, base.files); err != nil {
		t.Fatal(err)
	}
	rdb := &racingDB{DB: db, before: `ALTER TABLE "RACE" ADD COLUMN "CODE" NUMBER(38,0)`}
	b := makeBatch(t, t.TempDir(), "next", 1, []string{`{"id":2,"code":"abc"}`})
	l := newLoader(t, rdb, load.LoaderOptions{Table: "race"})
	_, err := l.Load(ctx, b.table, b.files)
	var me *load.SchemaMismatchError
	if !errors.As(err, &me) || !errors.Is(err, load.ErrSchemaMismatch) {
		t.Fatalf("Load after a concurrent ALTER = %v, want a SchemaMismatchError", err)
	}
	var fallback string
	for _, c := range me.Plan.Columns {
		if strings.HasPrefix(c.Name, "CODE__V_") {
			fallback = c.Name
		}
	}
	if fallback == "" {
		t.Errorf("plan columns %v: want a fallback column for CODE", me.Plan.Columns)
	}
	if got := tableRows(t, db, "race", []string{"ID"}); len(got) != 1 {
		t.Errorf("table rows %v: want only the first batch's", got)
	}
	// Planning again adds nothing more: the fallback column is found
	// again by its comment.
	for i := 0; i < 2; i++ {
		plan, err := l.Prepare(ctx, b.table)
		if err != nil || len(plan.Changes) != 0 || len(plan.Columns) != len(me.Plan.Columns) {
			t.Errorf("Prepare() = %v, %v; want no change and %d columns", plan, err, len(me.Plan.Columns))
		}
	}
	desc := tableRows(t, db, "INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'RACE'", []string{"COLUMN_NAME"})
	if len(desc) != 3 {
		t.Errorf("table columns %v: fallback columns keep being added", desc)
	}
}

// TestLoaderNoColumnComments: without comments a fallback column could
// never be found again, so the Loader refuses to add one.
func TestLoaderNoColumnComments(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	o := load.LoaderOptions{Table: "nocomment", NoColumnComments: true}
	b1 := makeBatch(t, t.TempDir(), "n1", 1, []string{`{"id":1,"code":1}`})
	if _, err := newLoader(t, db, o).Load(ctx, b1.table, b1.files); err != nil {
		t.Fatal(err)
	}
	b2 := makeBatch(t, t.TempDir(), "n2", 1, []string{`{"id":2,"code":"abc"}`})
	_, err := newLoader(t, db, o).Load(ctx, b2.table, b2.files)
	if !errors.Is(err, load.ErrSchemaMismatch) || !strings.Contains(err.Error(), "fallback") {
		t.Errorf("Load() = %v, want ErrSchemaMismatch about the fallback column", err)
	}
}

// TestLoaderTxAndConn: the DB may be a *sql.Tx (a rolled-back load leaves
// no rows and no load metadata, so the next load loads the files) or a
// *sql.Conn.
func TestLoaderTxAndConn(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	b1 := makeBatch(t, t.TempDir(), "t1", 1, records(1, 4, ""))
	if _, err := newLoader(t, db, load.LoaderOptions{Table: "txn"}).Load(ctx, b1.table, b1.files); err != nil {
		t.Fatal(err)
	}
	b2 := makeBatch(t, t.TempDir(), "t2", 2, records(5, 6, ""))
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newLoader(t, tx, load.LoaderOptions{Table: "txn"}).Load(ctx, b2.table, b2.files); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	cols := colNames(b1.table)
	sameRows(t, "after rollback", tableRows(t, db, "txn", cols), rowsOf(b1.recs, cols))

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := newLoader(t, conn, load.LoaderOptions{Table: "txn"}).Load(ctx, b2.table, b2.files)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Files {
		if r.Status != "LOADED" {
			t.Errorf("file %s after the rollback: %s, want LOADED", r.File.Name, r.Status)
		}
	}
	sameRows(t, "after load on a Conn", tableRows(t, db, "txn", cols), rowsOf(append(b1.recs, b2.recs...), cols))
}

// TestLoaderVarcharSizing: VARCHAR columns are unsized by default, so a
// longer value later needs no change; with SizedVarchar the table is
// widened in place (ALTER … SET DATA TYPE) for the longer batch.
func TestLoaderVarcharSizing(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	colType := func(table string) string {
		var typ string
		if err := db.QueryRowContext(ctx, "SELECT DATA_TYPE || '(' || CHARACTER_MAXIMUM_LENGTH || ')' FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = '"+table+"' AND COLUMN_NAME = 'CODE'").Scan(&typ); err != nil {
			t.Fatal(err)
		}
		return typ
	}
	short := makeBatch(t, t.TempDir(), "s", 1, []string{`{"id":1,"code":"ab"}`})
	long := makeBatch(t, t.TempDir(), "l", 1, []string{`{"id":2,"code":"a much longer code"}`})
	for _, sized := range []bool{false, true} {
		table := "UNSIZED"
		if sized {
			table = "SIZED"
		}
		l := newLoader(t, db, load.LoaderOptions{Table: table, SizedVarchar: sized})
		if _, err := l.Load(ctx, short.table, short.files); err != nil {
			t.Fatal(err)
		}
		first := colType(table)
		res, err := l.Load(ctx, long.table, long.files)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		switch {
		case !sized && (first != "TEXT(16777216)" || len(res.Plan.Changes) != 0):
			t.Errorf("unsized: CODE is %s, then changes %v; want TEXT(16777216) and no change", first, res.Plan.Changes)
		case sized && (first != "TEXT(2)" || colType(table) != "TEXT(18)"):
			t.Errorf("sized: CODE is %s, then %s; want TEXT(2), then TEXT(18)", first, colType(table))
		}
		sameRows(t, table, tableRows(t, db, table, []string{"ID", "CODE"}), []string{"ID=1|CODE=ab|", "ID=2|CODE=a much longer code|"})
	}
}

// TestLoaderFallbackComment: a fallback column (the path's column cannot
// change its type in place, 002108) carries a comment that names, after
// the path, the column and type it stands in for; DESC TABLE shows it, and
// a later plan still finds the column by its path.
func TestLoaderFallbackComment(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	l := newLoader(t, db, load.LoaderOptions{Table: "fallback_note"})
	first := makeBatch(t, t.TempDir(), "num", 1, []string{`{"id":1,"code":5}`})
	if _, err := l.Load(ctx, first.table, first.files); err != nil {
		t.Fatal(err)
	}
	next := makeBatch(t, t.TempDir(), "text", 1, []string{`{"id":2,"code":"abc"}`})
	plan, err := l.Prepare(ctx, next.table)
	if err != nil {
		t.Fatal(err)
	}
	var fb, orig schema.Column
	for _, c := range plan.Columns {
		switch {
		case c.Name == "CODE":
			orig = c
		case strings.HasPrefix(c.Name, "CODE__V_"):
			fb = c
		}
	}
	if fb.Name == "" || orig.Name == "" {
		t.Fatalf("plan columns %v: want CODE and a fallback column for it", plan.Columns)
	}
	comments := map[string]string{}
	rows, err := db.QueryContext(ctx, `DESC TABLE fallback_note`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var name, comment string
		for i, c := range cols {
			switch strings.ToLower(c) {
			case "name":
				name = vals[i].String
			case "comment":
				comment = vals[i].String
			}
		}
		comments[name] = comment
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	want := `code — fallback of column "CODE" ` + orig.Type.String() + ", for the values it cannot take: " + orig.Type.String() + " cannot take "
	if got := comments[fb.Name]; !strings.HasPrefix(got, want) || !strings.Contains(got, "in place") {
		t.Errorf("DESC TABLE comment of %s = %q, want it to start %q and say why", fb.Name, got, want)
	}
	t.Logf("DESC TABLE comment of %s: %s", fb.Name, comments[fb.Name])
	if got := comments["CODE"]; got != "code" {
		t.Errorf("DESC TABLE comment of CODE = %q, want its path %q", got, "code")
	}
	again, err := l.Prepare(ctx, next.table)
	if err != nil || len(again.Changes) != 0 {
		t.Errorf("Prepare() again = %v, %v; want no change (the fallback column found by the path in its comment)", again, err)
	}
}

// stageFiles lists the names of the files on a stage.
func stageFiles(t *testing.T, db *sql.DB, stage string) []string {
	t.Helper()
	rows, err := db.Query("LIST " + stage)
	if err != nil {
		t.Fatalf("LIST %s: %v", stage, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals[0].String)
	}
	return out
}

// TestLoaderPurgeAndSkipFile: Purge removes the loaded files from the
// stage (COPY's PURGE) and keeps them without it; under ON_ERROR =
// SKIP_FILE a file with a bad row is skipped whole, which fails the load
// (never silent) while the good file's rows are in the table.
func TestLoaderPurgeAndSkipFile(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	for _, purge := range []bool{false, true} {
		table := fmt.Sprintf("purge_%v", purge)
		b := makeBatch(t, t.TempDir(), table, 2, records(1, 6, ""))
		stage := load.Stage{Kind: load.NamedStage, Name: table + "_stage", Create: true}
		if _, err := newLoader(t, db, load.LoaderOptions{Table: table, Stage: stage, Purge: purge}).Load(ctx, b.table, b.files); err != nil {
			t.Fatal(err)
		}
		want := 2
		if purge {
			want = 0
		}
		if got := stageFiles(t, db, "@"+strings.ToUpper(table)+"_STAGE"); len(got) != want {
			t.Errorf("Purge %v: stage holds %v, want %d files", purge, got, want)
		}
		sameRows(t, table, tableRows(t, db, table, colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
	}

	b, bad, _ := partialBatch(t, db, "skip_file")
	moreRecs := []map[string]any{ // values the table's inferred types take
		{"ID": json.Number("7"), "NAME": "seven", "AMOUNT": json.Number("5.25")},
		{"ID": json.Number("8"), "NAME": "eight", "AMOUNT": json.Number("6.50")},
	}
	more := writeNDJSON(t, t.TempDir(), "skip_more", b.table, moreRecs, 7, 8)
	_, err := newLoader(t, db, load.LoaderOptions{Table: "skip_file", OnError: "SKIP_FILE"}).Load(ctx, b.table, []stagefile.File{more, bad})
	var fe *load.FileError
	if !errors.As(err, &fe) || fe.Result.File.Name != bad.Name || fe.Result.Status != "LOAD_FAILED" || fe.Result.RowsLoaded != 0 {
		t.Fatalf("Load() = %v, want a FileError: %s LOAD_FAILED with no row", err, bad.Name)
	}
	want := rowsOf(append(append([]map[string]any{}, b.recs...), moreRecs...), colNames(b.table))
	sameRows(t, "skip_file", tableRows(t, db, "skip_file", colNames(b.table)), want)
}
