package snowflaketest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

// TestQueryHistory: statements appear in QUERY_HISTORY_BY_USER newest
// first with their per-statement tag (the driver's WithQueryTag), type and
// status; a failed statement shows its error; RESULT_LIMIT and
// QUERY_HISTORY_BY_SESSION narrow the list.
func TestQueryHistory(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE qh (a INT)")
	if _, err := db.ExecContext(gosnowflake.WithQueryTag(ctx, "tag-1"), "INSERT INTO qh VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(gosnowflake.WithQueryTag(ctx, "tag-2"), "SELECT * FROM no_such_table"); err == nil {
		t.Fatal("SELECT from a missing table succeeded")
	}
	_, rows := queryAll(t, db, "SELECT QUERY_TYPE, QUERY_TAG, EXECUTION_STATUS, ERROR_CODE FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER(RESULT_LIMIT => 3))")
	got := fmt.Sprint(rows)
	if want := "[[SELECT tag-2 FAILED_WITH_ERROR 002003] [INSERT tag-1 SUCCESS <nil>] [CREATE_TABLE  SUCCESS <nil>]]"; got != want {
		t.Errorf("QUERY_HISTORY_BY_USER(RESULT_LIMIT => 3) = %s, want %s", got, want)
	}
	id := queryOne(t, db, "SELECT QUERY_ID FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY()) WHERE QUERY_TAG = 'tag-1'")
	if text := queryOne(t, db, "SELECT QUERY_TEXT FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY()) WHERE QUERY_ID = ?", id); text != "INSERT INTO qh VALUES (1)" {
		t.Errorf("QUERY_TEXT of %s = %q, want the INSERT", id, text)
	}
	if _, err := db.Query("SELECT * FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY(RESULT_LIMIT => 0))"); err == nil {
		t.Error("RESULT_LIMIT => 0 accepted, want an error")
	}
	// Another session sees the user's statements, but not in its own
	// session history.
	db.SetMaxOpenConns(2)
	c, err := db.Conn(ctx) // the first session, held so that c2 is another
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	var n int
	if err := c2.QueryRowContext(ctx, "SELECT COUNT(*) FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_SESSION()) WHERE QUERY_TAG = 'tag-1'").Scan(&n); err != nil || n != 0 {
		t.Errorf("tag-1 in a fresh session's history: %d, %v; want 0", n, err)
	}
	if err := c2.QueryRowContext(ctx, "SELECT COUNT(*) FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER()) WHERE QUERY_TAG = 'tag-1'").Scan(&n); err != nil || n != 1 {
		t.Errorf("tag-1 in the user's history from a fresh session: %d, %v; want 1", n, err)
	}
}
