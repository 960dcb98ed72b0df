package loadtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
)

// partialBatch creates table name with a first batch and returns a file of
// four rows whose third has a text id, which the NUMBER column rejects.
func partialBatch(t *testing.T, db load.DB, name string) (batch, stagefile.File, []map[string]any) {
	t.Helper()
	b := makeBatch(t, t.TempDir(), name, 1, records(1, 3, ""))
	if _, err := newLoader(t, db, load.LoaderOptions{Table: name}).Load(context.Background(), b.table, b.files); err != nil {
		t.Fatal(err)
	}
	rows := []map[string]any{
		{"ID": json.Number("4"), "NAME": "four", "AMOUNT": json.Number("1.50")},
		{"ID": json.Number("5"), "NAME": "five", "AMOUNT": json.Number("2.00")},
		{"ID": "not a number", "NAME": "bad", "AMOUNT": json.Number("3.00")},
		{"ID": json.Number("6"), "NAME": "six", "AMOUNT": json.Number("4.00")},
	}
	f := writeNDJSON(t, t.TempDir(), name+"_bad", b.table, rows, 4, 7)
	good := append(append([]map[string]any{}, b.recs...), rows[0], rows[1], rows[3])
	return b, f, good
}

// TestLoaderPartial: under ON_ERROR = CONTINUE a file with a bad row is an
// error unless partial loads are accepted, and stays one on a rerun; with
// AcceptPartial, the rejected row goes to the dead-letter sink with its
// reason and line.
func TestLoaderPartial(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()

	t.Run("not accepted", func(t *testing.T) {
		b, f, good := partialBatch(t, db, "partial")
		l := newLoader(t, db, load.LoaderOptions{Table: "partial", OnError: "CONTINUE"})
		_, err := l.Load(ctx, b.table, []stagefile.File{f})
		var fe *load.FileError
		if !errors.As(err, &fe) || fe.Result.Status != "PARTIALLY_LOADED" || fe.Result.RowsLoaded != 3 || fe.Result.FirstError == nil || fe.Result.FirstError.Line != 3 {
			t.Fatalf("Load() = %v, want a FileError: PARTIALLY_LOADED, 3 rows, first error on line 3", err)
		}
		_, err = l.Load(ctx, b.table, []stagefile.File{f})
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "partial") {
			t.Fatalf("rerun: Load() = %v, want a FileError about the earlier partial load", err)
		}
		sameRows(t, "partial", tableRows(t, db, "partial", colNames(b.table)), rowsOf(good, colNames(b.table)))
	})

	t.Run("accepted with dead letters", func(t *testing.T) {
		b, f, good := partialBatch(t, db, "accepted")
		dl := &deadLetters{}
		l := newLoader(t, db, load.LoaderOptions{Table: "accepted", OnError: "CONTINUE", AcceptPartial: true, DeadLetter: dl})
		res, err := l.Load(ctx, b.table, []stagefile.File{f})
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Files[0]; r.Status != "PARTIALLY_LOADED" || r.RowsLoaded != 3 || r.Rejected != 1 || res.RowsRejected != 1 {
			t.Errorf("result %+v, want PARTIALLY_LOADED with 3 loaded and 1 rejected", r)
		}
		if len(dl.rows) != 1 || dl.rows[0].Line != 3 || dl.rows[0].Message == "" || !strings.HasSuffix(dl.rows[0].File, f.Name) {
			t.Errorf("dead letters %+v, want the row of line 3 with its error", dl.rows)
		}
		sameRows(t, "accepted", tableRows(t, db, "accepted", colNames(b.table)), rowsOf(good, colNames(b.table)))
	})
}

// TestLoaderPartialDropped: the connection drops after a COPY that loaded
// a file in part (the server did the work, the answer is lost); the
// driver sends the COPY again, which skips the file. The Loader finds the
// first COPY by its query tag, reports its result and hands its rejected
// row to the dead-letter sink once.
func TestLoaderPartialDropped(t *testing.T) {
	srv, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	b, f, good := partialBatch(t, db, "dropped")
	srv.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Drop: true})
	dl := &deadLetters{}
	l := newLoader(t, db, load.LoaderOptions{Table: "dropped", OnError: "CONTINUE", AcceptPartial: true, DeadLetter: dl})
	res, err := l.Load(ctx, b.table, []stagefile.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Files[0]; r.Status != "PARTIALLY_LOADED" || r.RowsLoaded != 3 || r.Rejected != 1 || r.QueryID == "" {
		t.Errorf("result %+v, want the first COPY's: PARTIALLY_LOADED, 3 loaded, 1 rejected, its query id", r)
	}
	if len(dl.rows) != 1 || dl.rows[0].Line != 3 || dl.rows[0].QueryID != res.Files[0].QueryID {
		t.Errorf("dead letters %+v, want the row of line 3 from the first COPY", dl.rows)
	}
	sameRows(t, "dropped", tableRows(t, db, "dropped", colNames(b.table)), rowsOf(good, colNames(b.table)))
	// Loading the file again hands nothing more.
	if _, err := l.Load(ctx, b.table, []stagefile.File{f}); err != nil || len(dl.rows) != 1 {
		t.Errorf("second Load() = %v with %d dead letters, want nil and still 1", err, len(dl.rows))
	}
}

// failingSink refuses every rejected row.
type failingSink struct{}

func (failingSink) RejectedRow(context.Context, load.RejectedRow) error {
	return errors.New("dead-letter store unavailable")
}

// TestLoaderPartialSinkFails: the dead-letter sink fails after a partial
// COPY, so the load fails and the ledger keeps the file 'STAGED'; the next
// Load finds that COPY by its tag and hands the rejected row to the sink.
// When the COPY cannot be found (here: a ledger row without tags, as an
// older ledger or an expired history leaves it), the file fails instead of
// counting rows nobody checked.
func TestLoaderPartialSinkFails(t *testing.T) {
	_, db := emulator(t, snowflaketest.Options{})
	ctx := context.Background()
	for _, lost := range []bool{false, true} {
		name := "sink_fails"
		if lost {
			name = "sink_fails_lost"
		}
		t.Run(name, func(t *testing.T) {
			b, f, good := partialBatch(t, db, name)
			o := load.LoaderOptions{Table: name, OnError: "CONTINUE", AcceptPartial: true, DeadLetter: failingSink{}}
			if _, err := newLoader(t, db, o).Load(ctx, b.table, []stagefile.File{f}); err == nil || !strings.Contains(err.Error(), "unavailable") {
				t.Fatalf("Load() with a failing sink = %v, want its error", err)
			}
			if lost {
				if _, err := db.ExecContext(ctx, "UPDATE FLATPIPE_LOADS SET COPY_TAGS = NULL WHERE FILE_NAME = ?", f.Name); err != nil {
					t.Fatal(err)
				}
			}
			dl := &deadLetters{}
			o.DeadLetter = dl
			res, err := newLoader(t, db, o).Load(ctx, b.table, []stagefile.File{f})
			var fe *load.FileError
			switch {
			case lost && (!errors.As(err, &fe) || !strings.Contains(err.Error(), "cannot be found")):
				t.Errorf("Load() without the COPY's tag = %v, want a FileError: the COPY cannot be found", err)
			case !lost && err != nil:
				t.Fatalf("Load() after the sink recovered = %v", err)
			case !lost && (res.Files[0].Status != "PARTIALLY_LOADED" || res.Files[0].RowsLoaded != 3 || len(dl.rows) != 1 || dl.rows[0].Line != 3):
				t.Errorf("result %+v, dead letters %+v; want the first COPY's partial load and its row of line 3", res.Files[0], dl.rows)
			}
			sameRows(t, name, tableRows(t, db, name, colNames(b.table)), rowsOf(good, colNames(b.table)))
		})
	}
}
