package loadtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// TestLoaderMerge upserts by key: duplicates inside a batch resolved by the
// ordering column, deletes by the flag column, a rerun changes nothing.
func TestLoaderMerge(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	l := newLoader(t, db, load.LoaderOptions{Table: "accounts", Disposition: load.Merge, MergeKeys: []string{"ID"}, MergeOrder: "VERSION", MergeDelete: "DELETED"})
	b1 := makeBatch(t, t.TempDir(), "m1", 2, []string{
		`{"id":1,"version":1,"name":"a","deleted":false}`,
		`{"id":2,"version":1,"name":"b","deleted":false}`,
		`{"id":3,"version":1,"name":"c","deleted":false}`,
	})
	if _, err := l.Load(ctx, b1.table, b1.files); err != nil {
		t.Fatal(err)
	}
	// Batch 2: id 1 twice (version 3 wins, though it comes first), id 2
	// deleted, id 4 new, id 5 new and deleted at once (never inserted).
	b2 := makeBatch(t, t.TempDir(), "m2", 2, []string{
		`{"id":1,"version":3,"name":"a3","deleted":false}`,
		`{"id":1,"version":2,"name":"a2","deleted":false}`,
		`{"id":2,"version":2,"name":"b","deleted":true}`,
		`{"id":4,"version":1,"name":"d","deleted":false}`,
		`{"id":5,"version":1,"name":"e","deleted":true}`,
	})
	res, err := l.Load(ctx, b2.table, b2.files)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 1 || res.Updated != 1 || res.Deleted != 1 {
		t.Errorf("merge counts inserted %d, updated %d, deleted %d; want 1, 1, 1", res.Inserted, res.Updated, res.Deleted)
	}
	want := []string{"ID=1|VERSION=3|NAME=a3|", "ID=3|VERSION=1|NAME=c|", "ID=4|VERSION=1|NAME=d|"}
	cols := []string{"ID", "VERSION", "NAME"}
	sameRows(t, "after merge", tableRows(t, db, "accounts", cols), want)
	if _, err := l.Load(ctx, b2.table, b2.files); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	sameRows(t, "after rerun", tableRows(t, db, "accounts", cols), want)
	if n := len(tableRows(t, db, "INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME LIKE 'ACCOUNTS__FLATPIPE%'", []string{"TABLE_NAME"})); n != 0 {
		t.Errorf("%d staging tables left behind", n)
	}

	t.Run("duplicates without order", func(t *testing.T) {
		l := newLoader(t, db, load.LoaderOptions{Table: "nodup", Disposition: load.Merge, MergeKeys: []string{"ID"}})
		b := makeBatch(t, t.TempDir(), "d", 1, []string{`{"id":1,"v":1}`, `{"id":1,"v":2}`})
		if _, err := l.Load(ctx, b.table, b.files); !errors.Is(err, load.ErrDuplicateKey) {
			t.Errorf("Load() = %v, want ErrDuplicateKey", err)
		}
	})
	t.Run("unknown key column", func(t *testing.T) {
		l := newLoader(t, db, load.LoaderOptions{Table: "nokey", Disposition: load.Merge, MergeKeys: []string{"MISSING"}})
		b := makeBatch(t, t.TempDir(), "k", 1, []string{`{"id":1}`})
		if _, err := l.Load(ctx, b.table, b.files); !errors.Is(err, load.ErrOptions) {
			t.Errorf("Load() = %v, want ErrOptions", err)
		}
	})
}

// TestLoaderReplace swaps a new table in: the old rows are gone, the new
// ones are there once, and the replacement table is dropped.
func TestLoaderReplace(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	l := newLoader(t, db, load.LoaderOptions{Table: "snapshot", Disposition: load.Replace, Stage: load.Stage{Kind: load.NamedStage, Name: "snap", Create: true}})
	b1 := makeBatch(t, t.TempDir(), "r1", 2, records(1, 10, ""))
	if _, err := l.Load(ctx, b1.table, b1.files); err != nil {
		t.Fatal(err)
	}
	b2 := makeBatch(t, t.TempDir(), "r2", 3, records(100, 7, ""))
	ev := &events{}
	l = newLoader(t, db, load.LoaderOptions{Table: "snapshot", Disposition: load.Replace, Progress: ev})
	res, err := l.Load(ctx, b2.table, b2.files)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 7 || ev.count(load.StepSwap) != 1 {
		t.Errorf("replace loaded %d rows with %d swaps, want 7 and 1", res.RowsLoaded, ev.count(load.StepSwap))
	}
	sameRows(t, "after replace", tableRows(t, db, "snapshot", colNames(b2.table)), rowsOf(b2.recs, colNames(b2.table)))
	// A rerun replaces again with the same rows.
	if _, err := l.Load(ctx, b2.table, b2.files); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "after rerun", tableRows(t, db, "snapshot", colNames(b2.table)), rowsOf(b2.recs, colNames(b2.table)))
}

// retry is a test Retrier: up to 4 attempts of what ErrorClassifier calls
// retryable, without sleeping.
type retry struct{ retried int }

func (r *retry) Do(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for i := 0; i < 4; i++ {
		if err = fn(ctx); err == nil || !(load.ErrorClassifier{}).Retryable(err) {
			return err
		}
		r.retried++
	}
	return err
}

// TestLoaderFaults: HTTP 503 and 429 (retried by the driver), an expired
// session (renewed by the driver), a connection dropped after the COPY
// committed (retried by the driver, skipped by load metadata) and one
// dropped before any answer to a PUT: the table ends with each row once.
func TestLoaderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the driver's backoff sleeps for real")
	}
	for _, tc := range []struct {
		name  string
		fault snowflaketest.Fault
	}{
		{"503 on COPY", snowflaketest.Fault{SQL: "COPY INTO", Status: 503}},
		{"429 on COPY", snowflaketest.Fault{SQL: "COPY INTO", Status: 429}},
		{"session expired on COPY", snowflaketest.Fault{SQL: "COPY INTO", SessionExpired: true}},
		{"dropped connection after COPY", snowflaketest.Fault{SQL: "COPY INTO", Drop: true}},
		{"dropped connection after PUT", snowflaketest.Fault{SQL: "PUT ", Drop: true}},
		{"503 on upload", snowflaketest.Fault{Path: snowflaketest.UploadPath, Status: 503}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, db := emulator(t, snowflaketest.Options{})
			srv.InjectFault(tc.fault)
			r := &retry{}
			l := newLoader(t, db, load.LoaderOptions{Table: "faults", Retry: r})
			b := makeBatch(t, t.TempDir(), "x", 3, records(1, 12, ""))
			res, err := l.Load(context.Background(), b.table, b.files)
			if err != nil {
				t.Fatalf("Load: %v (retried %d)", err, r.retried)
			}
			if res.RowsLoaded != 12 {
				t.Errorf("RowsLoaded = %d, want 12", res.RowsLoaded)
			}
			sameRows(t, "after faults", tableRows(t, db, "faults", colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
		})
	}
}

// TestLoaderFaultsRerun: a fault that outlasts the driver's retries fails
// the load with an error the classifier calls retryable; the caller's rerun
// (after the fault ends) loads each row once, whatever the failed attempt
// committed.
func TestLoaderFaultsRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("the driver's backoff sleeps for real")
	}
	for _, tc := range []struct {
		name  string
		fault snowflaketest.Fault
	}{
		{"503 on every COPY", snowflaketest.Fault{SQL: "COPY INTO", Status: 503, Times: -1}},
		{"connection dropped after every COPY", snowflaketest.Fault{SQL: "COPY INTO", Drop: true, Times: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, db := emulator(t, snowflaketest.Options{})
			srv.InjectFault(tc.fault)
			b := makeBatch(t, t.TempDir(), "rr", 2, records(1, 8, ""))
			l := newLoader(t, db, load.LoaderOptions{Table: "rerun"})
			_, err := l.Load(context.Background(), b.table, b.files)
			if err == nil {
				t.Fatal("Load under a lasting fault succeeded")
			}
			if !(load.ErrorClassifier{}).Retryable(err) {
				t.Errorf("Retryable(%v) = false, want true", err)
			}
			srv.ClearFaults()
			if _, err := l.Load(context.Background(), b.table, b.files); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			sameRows(t, "after rerun", tableRows(t, db, "rerun", colNames(b.table)), rowsOf(b.recs, colNames(b.table)))
		})
	}
}
