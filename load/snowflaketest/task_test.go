package snowflaketest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// manualClock is a clock the test advances.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTasks(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	srv, db := newDB(t, snowflaketest.Options{Now: clock.Now})
	ctx := context.Background()
	mustExec(t, db, "CREATE DATABASE tdb")
	mustExec(t, db, "CREATE TABLE src (id INT)")
	mustExec(t, db, "CREATE TABLE sink (id INT)")
	mustExec(t, db, "CREATE STREAM s ON TABLE src")
	mustExec(t, db, `CREATE TASK load_sink
		WAREHOUSE = etl
		SCHEDULE = '1 MINUTE'
		ALLOW_OVERLAPPING_EXECUTION = FALSE
		COMMENT = 'moves new rows'
		WHEN SYSTEM$STREAM_HAS_DATA('S')
		AS INSERT INTO sink SELECT id FROM s WHERE METADATA$ACTION = 'INSERT'`)
	_, rows := queryAll(t, db, "SHOW TASKS LIKE 'LOAD%'")
	if len(rows) != 1 || rows[0][1] != "LOAD_SINK" || rows[0][7] != "ETL" || rows[0][8] != "1 MINUTE" || rows[0][10] != "suspended" ||
		!strings.HasPrefix(rows[0][11], "INSERT INTO sink") || rows[0][12] != "SYSTEM$STREAM_HAS_DATA('S')" {
		t.Fatalf("SHOW TASKS = %v", rows)
	}
	history := func(args string) [][]string {
		t.Helper()
		_, rows := queryAll(t, db, "SELECT name, state, error_code, error_message, scheduled_from FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY("+args+")) ORDER BY scheduled_time DESC, query_start_time DESC")
		return rows
	}

	// EXECUTE TASK with nothing in the stream: the WHEN condition skips it.
	mustExec(t, db, "EXECUTE TASK load_sink")
	if h := history("TASK_NAME => 'LOAD_SINK'"); len(h) != 1 || h[0][1] != "SKIPPED" || h[0][4] != "EXECUTE_TASK" {
		t.Fatalf("history after a skipped run = %v", h)
	}
	// With rows: the run moves them and consumes the stream.
	mustExec(t, db, "INSERT INTO src VALUES (1), (2)")
	clock.Advance(time.Second)
	mustExec(t, db, "EXECUTE TASK load_sink")
	if h := history("TASK_NAME => 'LOAD_SINK', RESULT_LIMIT => 1"); len(h) != 1 || h[0][1] != "SUCCEEDED" || h[0][2] != "<nil>" {
		t.Fatalf("history after a run = %v", h)
	}
	if _, got := queryAll(t, db, "SELECT id FROM sink ORDER BY id"); fmt.Sprint(got) != "[[1] [2]]" {
		t.Errorf("sink after EXECUTE TASK = %v, want 1, 2", got)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM s"); got != "0" {
		t.Errorf("stream after the run = %s rows, want 0", got)
	}

	// The schedule runs only resumed tasks, by the emulator's clock.
	mustExec(t, db, "INSERT INTO src VALUES (3)")
	clock.Advance(2 * time.Minute)
	if n := srv.RunScheduledTasks(ctx); n != 0 {
		t.Errorf("a suspended task ran %d times on schedule", n)
	}
	mustExec(t, db, "ALTER TASK load_sink RESUME")
	if n := srv.RunScheduledTasks(ctx); n != 0 {
		t.Errorf("a task ran %d times before its first interval", n)
	}
	clock.Advance(59 * time.Second)
	if n := srv.RunScheduledTasks(ctx); n != 0 {
		t.Errorf("a task ran %d times before its interval", n)
	}
	clock.Advance(time.Second)
	if n := srv.RunScheduledTasks(ctx); n != 1 {
		t.Fatalf("scheduled runs after one interval = %d, want 1", n)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM sink"); got != "3" {
		t.Errorf("sink after the scheduled run = %s rows, want 3", got)
	}
	if h := history("TASK_NAME => 'LOAD_SINK', RESULT_LIMIT => 1"); h[0][1] != "SUCCEEDED" || h[0][4] != "SCHEDULE" {
		t.Errorf("scheduled run history = %v", h)
	}
	// Missed intervals run once; nothing new is skipped.
	clock.Advance(5 * time.Minute)
	if n := srv.RunScheduledTasks(ctx); n != 1 {
		t.Errorf("runs after five missed intervals = %d, want 1", n)
	}
	if h := history("TASK_NAME => 'LOAD_SINK', RESULT_LIMIT => 1"); h[0][1] != "SKIPPED" {
		t.Errorf("run with an empty stream = %v, want SKIPPED", h)
	}
	mustExec(t, db, "ALTER TASK load_sink SUSPEND")
	clock.Advance(time.Hour)
	if n := srv.RunScheduledTasks(ctx); n != 0 {
		t.Errorf("a suspended task ran %d times", n)
	}

	// A failing statement is FAILED with Snowflake's error.
	mustExec(t, db, "CREATE TASK broken AS INSERT INTO missing_table SELECT 1")
	mustExec(t, db, "EXECUTE TASK broken")
	h := history("TASK_NAME => 'BROKEN'")
	if len(h) != 1 || h[0][1] != "FAILED" || h[0][2] != "002003" || !strings.Contains(h[0][3], "MISSING_TABLE") {
		t.Errorf("failed run history = %v", h)
	}
	if h := history("ERROR_ONLY => TRUE"); len(h) != 1 || h[0][0] != "BROKEN" {
		t.Errorf("ERROR_ONLY history = %v", h)
	}
	if n := len(history("")); n != 5 {
		t.Errorf("history rows = %d, want 5", n)
	}

	// Errors.
	for q, num := range map[string]int{
		"CREATE TASK load_sink AS SELECT 1": 2002,
		"EXECUTE TASK nope":                 2003,
		"ALTER TASK nope RESUME":            2003,
		"CREATE TASK c SCHEDULE = 'USING CRON 0 * * * * Mars/Olympus' AS SELECT 1": 2001,
		"CREATE TASK c SCHEDULE = 'USING CRON 0 0 L * * UTC' AS SELECT 1":          2,
		"CREATE TASK g AFTER load_sink AS SELECT 1":                                2,
		"CREATE TASK x SCHEDULE = 'often' AS SELECT 1":                             2001,
	} {
		_, err := db.Exec(q)
		if se := snowErr(t, err); se.Number != num {
			t.Errorf("%s: %v, want %06d", q, err, num)
		}
	}
	mustExec(t, db, "DROP TASK broken")
	_, rows = queryAll(t, db, "DESC TASK load_sink")
	if len(rows) != 1 || fmt.Sprint(rows[0][10]) != "suspended" {
		t.Errorf("DESC TASK = %v", rows)
	}
}

// TestTaskTickScheduler: with Options.TaskTick, a background scheduler runs
// due tasks by the emulator's clock without the test calling
// RunScheduledTasks.
func TestTaskTickScheduler(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	_, db := newDB(t, snowflaketest.Options{Now: clock.Now, TaskTick: time.Millisecond})
	mustExec(t, db, "CREATE DATABASE tickdb")
	mustExec(t, db, "CREATE TABLE sink (n INT)")
	mustExec(t, db, "CREATE TASK tick SCHEDULE = '1 MINUTE' AS INSERT INTO sink SELECT 1")
	mustExec(t, db, "ALTER TASK tick RESUME")
	clock.Advance(time.Minute)
	deadline := time.Now().Add(30 * time.Second)
	for queryOne(t, db, "SELECT COUNT(*) FROM sink") == "0" {
		if time.Now().After(deadline) {
			t.Fatal("the background scheduler did not run the due task")
		}
		time.Sleep(2 * time.Millisecond)
	}
	mustExec(t, db, "ALTER TASK tick SUSPEND")
	if got := queryOne(t, db, "SELECT COUNT(*) FROM sink"); got != "1" {
		t.Errorf("sink = %s rows, want 1 (one interval passed)", got)
	}
}

// TestTaskCronSchedule: SCHEDULE = 'USING CRON …' runs at the times the
// expression names, in its time zone.
func TestTaskCronSchedule(t *testing.T) {
	// Friday 2026-01-02 23:50 in New York.
	ny, _ := time.LoadLocation("America/New_York")
	clock := &manualClock{t: time.Date(2026, 1, 2, 23, 50, 0, 0, ny)}
	srv, db := newDB(t, snowflaketest.Options{Now: clock.Now})
	ctx := context.Background()
	mustExec(t, db, "CREATE DATABASE crondb")
	mustExec(t, db, "CREATE TABLE sink (at TIMESTAMP_LTZ)")
	mustExec(t, db, "CREATE TASK weekdays SCHEDULE = 'USING CRON 30 9,17 * * MON-FRI America/New_York' AS INSERT INTO sink SELECT CURRENT_TIMESTAMP()")
	mustExec(t, db, "ALTER TASK weekdays RESUME")
	var runs []string
	for range 4 * 24 * 4 { // four days in steps of 15 minutes
		clock.Advance(15 * time.Minute)
		if srv.RunScheduledTasks(ctx) == 1 {
			runs = append(runs, clock.Now().In(ny).Format("Mon 15:04"))
		}
	}
	// Saturday and Sunday skipped; Monday and Tuesday at 09:30 and 17:30,
	// each seen at the first step after the scheduled minute.
	if got := fmt.Sprint(runs); got != "[Mon 09:35 Mon 17:35 Tue 09:35 Tue 17:35]" {
		t.Errorf("runs = %s, want Monday and Tuesday at 09:30 and 17:30 (seen at the next step)", got)
	}
	_, hist := queryAll(t, db, "SELECT scheduled_time FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY()) ORDER BY scheduled_time LIMIT 1")
	if want := time.Date(2026, 1, 5, 9, 30, 0, 0, ny); len(hist) != 1 || !strings.HasPrefix(hist[0][0], want.UTC().Format("2006-01-02T15:04:05")) {
		t.Errorf("first scheduled time = %v, want %s", hist, want.UTC())
	}
	_, rows := queryAll(t, db, "SHOW TASKS")
	if rows[0][8] != "USING CRON 30 9,17 * * MON-FRI America/New_York" {
		t.Errorf("SHOW TASKS schedule = %q", rows[0][8])
	}
}
