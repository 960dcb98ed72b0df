package snowflaketest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// task is a CREATE TASK definition and its schedule state.
type task struct {
	key, db, sch, name string
	warehouse          string
	schedule           string        // as written, e.g. "1 MINUTE"
	interval           time.Duration // 0 when the task has no interval schedule
	cron               *cronSpec     // nil when the task has no CRON schedule
	condition          string        // the WHEN expression, or ""
	body               string        // the statement after AS
	comment, owner     string
	user               string
	created            time.Time
	started            bool      // resumed
	next               time.Time // next scheduled run, when started
	running            bool
}

// taskRun is one row of TASK_HISTORY().
type taskRun struct {
	queryID, name, db, sch, queryText, condition string
	state, errCode, errMsg, scheduledFrom        string
	scheduled, started, completed, nextScheduled time.Time
	runID                                        int64
}

// taskDDL answers CREATE [OR REPLACE] TASK [IF NOT EXISTS] t [WAREHOUSE =
// w] [SCHEDULE = '…'] [other parameters] [WHEN cond] AS stmt, ALTER TASK t
// RESUME | SUSPEND, and DROP TASK [IF EXISTS] t.
func (e *Emulator) taskDDL(ctx context.Context, s *session, d ddlArgs) (*result, error) {
	key, db, sch, name, err := objectKey(s, d.names)
	if err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	old := e.ext.tasks[key]
	e.ext.mu.Unlock()
	ws := d.ws
	switch d.verb {
	case "DROP":
		if old == nil {
			return missingObject(d, "Task", key, name)
		}
		e.ext.mu.Lock()
		delete(e.ext.tasks, key)
		e.ext.mu.Unlock()
		return status(name + " successfully dropped."), nil
	case "ALTER":
		if old == nil {
			if d.ifExists {
				return status("Statement executed successfully."), nil
			}
			return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nTask '%s' does not exist or not authorized.", key)
		}
		if d.end >= len(ws) {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: ALTER TASK needs RESUME or SUSPEND")
		}
		switch ws[d.end].upper() {
		case "RESUME":
			e.ext.mu.Lock()
			if !old.started {
				old.started = true
				old.next = old.nextRun(e.now())
			}
			e.ext.mu.Unlock()
			e.startTaskScheduler()
		case "SUSPEND":
			e.ext.mu.Lock()
			old.started = false
			old.next = time.Time{}
			e.ext.mu.Unlock()
		default:
			return nil, unsupported("ALTER TASK ... " + ws[d.end].upper())
		}
		return status("Statement executed successfully."), nil
	}
	if old != nil && !d.replace {
		return objectExists(d, name)
	}
	t := &task{key: key, db: db, sch: sch, name: name, owner: s.role, user: s.user, created: e.now(), warehouse: s.warehouse}
	i := d.end
	asIdx, whenIdx := -1, -1
	depth := 0
	for j := i; j < len(ws); j++ {
		switch {
		case ws[j].text == "(":
			depth++
		case ws[j].text == ")":
			depth--
		case depth == 0 && ws[j].is("WHEN") && whenIdx < 0:
			whenIdx = j
		case depth == 0 && ws[j].is("AS"):
			asIdx = j
		}
		if asIdx >= 0 {
			break
		}
	}
	if asIdx < 0 || asIdx+1 >= len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: CREATE TASK needs AS <statement>")
	}
	optEnd := asIdx
	if whenIdx >= 0 {
		optEnd = whenIdx
		t.condition = strings.TrimSpace(d.text[ws[whenIdx+1].pos:ws[asIdx].pos])
		if t.condition == "" {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: WHEN needs a condition")
		}
	}
	for j := i; j < optEnd; j++ {
		if ws[j].is("AFTER") || ws[j].is("FINALIZE") {
			return nil, unsupported("task graphs (" + ws[j].upper() + ")")
		}
	}
	opts, end, err := parseOptions(ws[:optEnd], i)
	if err != nil {
		return nil, err
	}
	if end < optEnd {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error line 1 at position %d unexpected '%s'.", ws[end].pos, ws[end].text)
	}
	for k, v := range opts {
		switch k {
		case "WAREHOUSE":
			t.warehouse = v.s
		case "SCHEDULE":
			t.schedule = v.s
			if rest, ok := cutPrefixFold(strings.TrimSpace(v.s), "USING CRON "); ok {
				if t.cron, err = parseCron(rest); err != nil {
					return nil, err
				}
			} else if t.interval, err = parseSchedule(v.s); err != nil {
				return nil, err
			}
		case "COMMENT":
			t.comment = v.s
		case "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE", "SERVERLESS_TASK_MIN_STATEMENT_SIZE", "SERVERLESS_TASK_MAX_STATEMENT_SIZE",
			"ALLOW_OVERLAPPING_EXECUTION", "USER_TASK_TIMEOUT_MS", "SUSPEND_TASK_AFTER_NUM_FAILURES", "TASK_AUTO_RETRY_ATTEMPTS",
			"USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS", "ERROR_INTEGRATION", "SUCCESS_INTEGRATION", "CONFIG", "QUERY_TAG",
			"TARGET_COMPLETION_INTERVAL", "LOG_LEVEL", "TRACE_LEVEL", "TIMEZONE":
			// accepted, no effect in the emulator
		default:
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid property '%s' for 'TASK'", k)
		}
	}
	t.body = textFrom(d.text, ws, asIdx+1)
	if n := len(splitStatements(t.body)); n != 1 {
		return nil, unsupported("a task body of several statements or a scripting block")
	}
	if b := words(lex(t.body)); len(b) > 0 && (b[0].is("BEGIN") || b[0].is("DECLARE") || b[0].is("EXECUTE")) {
		return nil, unsupported("Snowflake Scripting blocks in a task body")
	}
	e.ext.mu.Lock()
	e.ext.tasks[key] = t
	e.ext.mu.Unlock()
	return status("Task " + name + " successfully created."), nil
}

// cutPrefixFold is strings.CutPrefix without regard to case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// nextRun is the task's first scheduled time after now, or the zero time.
func (t *task) nextRun(now time.Time) time.Time {
	switch {
	case t.cron != nil:
		return t.cron.next(now)
	case t.interval > 0:
		return now.Add(t.interval)
	}
	return time.Time{}
}

// parseSchedule reads SCHEDULE = '<n> MINUTE[S]' (also SECOND[S], HOUR[S]).
func parseSchedule(v string) (time.Duration, error) {
	f := strings.Fields(strings.ToUpper(v))
	if len(f) == 2 {
		n, err := strconv.Atoi(f[0])
		if err == nil && n > 0 {
			switch strings.TrimSuffix(f[1], "S") {
			case "SECOND":
				return time.Duration(n) * time.Second, nil
			case "MINUTE", "M":
				return time.Duration(n) * time.Minute, nil
			case "HOUR", "H":
				return time.Duration(n) * time.Hour, nil
			}
		}
	}
	return 0, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value ['%s'] for parameter 'SCHEDULE'", v)
}

func (e *Emulator) lookupTask(s *session, names []string) (*task, error) {
	key, _, _, _, err := objectKey(s, names)
	if err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	t := e.ext.tasks[key]
	e.ext.mu.Unlock()
	if t == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nTask '%s' does not exist or not authorized.", strings.Join(names, "."))
	}
	return t, nil
}

// executeTask answers EXECUTE TASK t. Snowflake queues the run; the
// emulator runs it before answering, so the caller sees its effects and
// its TASK_HISTORY row at once.
func (e *Emulator) executeTask(ctx context.Context, s *session, ws []token) (*result, error) {
	names, end := parseName(ws, 2)
	if len(names) == 0 || end != len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: EXECUTE TASK needs a task name")
	}
	t, err := e.lookupTask(s, names)
	if err != nil {
		return nil, err
	}
	e.runTask(ctx, t, "EXECUTE_TASK", e.now())
	return status("Task " + t.name + " is scheduled to run immediately."), nil
}

// RunScheduledTasks runs every resumed task whose next scheduled time has
// come by the emulator's clock (Options.Now), once each, and returns the
// number of runs (SKIPPED ones included). A test that controls Options.Now
// advances its clock and calls it; with Options.TaskTick set, a
// background scheduler calls it too.
func (e *Emulator) RunScheduledTasks(ctx context.Context) int {
	now := e.now()
	e.ext.mu.Lock()
	var due []*task
	var at []time.Time
	for _, t := range e.ext.tasks {
		if t.started && !t.next.IsZero() && !now.Before(t.next) && !t.running {
			due = append(due, t)
			at = append(at, t.next)
			if t.cron != nil {
				t.next = t.cron.next(now)
			} else {
				for !now.Before(t.next) {
					t.next = t.next.Add(t.interval)
				}
			}
		}
	}
	e.ext.mu.Unlock()
	for i, t := range due {
		e.runTask(ctx, t, "SCHEDULE", at[i])
	}
	return len(due)
}

// startTaskScheduler starts the background scheduler when Options.TaskTick
// is set; it stops when the emulator closes.
func (e *Emulator) startTaskScheduler() {
	if e.opts.TaskTick <= 0 {
		return
	}
	e.ext.scheduler.Do(func() {
		go func() {
			tick := time.NewTicker(e.opts.TaskTick)
			defer tick.Stop()
			for range tick.C {
				e.mu.Lock()
				closed := e.closed
				e.mu.Unlock()
				if closed {
					return
				}
				e.RunScheduledTasks(context.Background())
			}
		}()
	})
}

// runTask runs a task once in a session of its own, as its owner, and
// records the run: SKIPPED when its WHEN condition is false, else
// SUCCEEDED or FAILED with the error.
func (e *Emulator) runTask(ctx context.Context, t *task, from string, scheduled time.Time) {
	e.ext.mu.Lock()
	if t.running {
		e.ext.mu.Unlock()
		e.recordRun(taskRun{queryID: newQueryID(), name: t.name, db: t.db, sch: t.sch, queryText: t.body, condition: t.condition,
			state: "SKIPPED", errMsg: "Previous run of the task is still executing.", scheduledFrom: from, scheduled: scheduled, completed: e.now()})
		return
	}
	t.running = true
	e.ext.mu.Unlock()
	defer func() {
		e.ext.mu.Lock()
		t.running = false
		e.ext.mu.Unlock()
	}()
	run := taskRun{queryID: newQueryID(), name: t.name, db: t.db, sch: t.sch, queryText: t.body, condition: t.condition,
		scheduledFrom: from, scheduled: scheduled, started: e.now(), runID: scheduled.UnixMilli()}
	e.ext.mu.Lock()
	run.nextScheduled = t.next
	e.ext.mu.Unlock()
	fail := func(err error) {
		se := mapDuckError(err)
		run.state, run.errCode, run.errMsg = "FAILED", pad6(se.Number), se.Message
	}
	ts, err := e.newSession(context.WithoutCancel(ctx), t.user, t.db, t.sch, t.warehouse, t.owner)
	if err != nil {
		fail(err)
		run.completed = e.now()
		e.recordRun(run)
		return
	}
	defer e.endSession(ts)
	if t.condition != "" {
		ok, err := e.taskCondition(ctx, ts, t.condition)
		if err != nil {
			fail(err)
			run.completed = e.now()
			e.recordRun(run)
			return
		}
		if !ok {
			run.state = "SKIPPED"
			run.errMsg = "Conditional expression for task evaluated to false."
			run.completed = e.now()
			e.recordRun(run)
			return
		}
	}
	if _, err := e.execute(ctx, ts, &queryRequest{SQLText: t.body}, ""); err != nil {
		fail(err)
	} else {
		run.state = "SUCCEEDED"
	}
	run.completed = e.now()
	e.recordRun(run)
}

// taskCondition evaluates a WHEN condition in the task's session.
func (e *Emulator) taskCondition(ctx context.Context, s *session, cond string) (bool, error) {
	res, err := e.execute(ctx, s, &queryRequest{SQLText: "SELECT (" + cond + ")"}, "")
	if err != nil {
		return false, err
	}
	if len(res.rowset) != 1 || len(res.rowset[0]) != 1 {
		return false, errors.New("snowflaketest: task condition gave no single value")
	}
	v := res.rowset[0][0]
	return v != nil && (*v == "1" || strings.EqualFold(*v, "true")), nil
}

func pad6(n int) string {
	s := strconv.Itoa(n)
	if len(s) < 6 {
		s = strings.Repeat("0", 6-len(s)) + s
	}
	return s
}

func (e *Emulator) recordRun(r taskRun) {
	e.ext.mu.Lock()
	defer e.ext.mu.Unlock()
	e.ext.runs = append(e.ext.runs, r)
	if len(e.ext.runs) > maxTaskHistory {
		e.ext.runs = append([]taskRun(nil), e.ext.runs[len(e.ext.runs)-maxTaskHistory:]...)
	}
}

// taskHistorySQL renders TABLE(INFORMATION_SCHEMA.TASK_HISTORY(args)) as
// a subquery over the recorded runs, newest first. Arguments: TASK_NAME,
// RESULT_LIMIT (default 100, at most 10000), ERROR_ONLY; the time range
// arguments are accepted and ignored.
func (e *Emulator) taskHistorySQL(s *session, args []token) (string, error) {
	limit := 100
	name := ""
	errorOnly := false
	for _, a := range splitArgs(args) {
		w := words(a)
		if len(w) == 0 {
			continue
		}
		if len(w) < 3 || w[1].text != "=" || w[2].text != ">" {
			if len(w) >= 3 && w[1].text == "=>" {
				w = append(w[:1], append([]token{{}, {}}, w[2:]...)...)
			} else {
				return "", sqlErr(errSyntax, "42000", "SQL compilation error:\nTASK_HISTORY takes named arguments (NAME => value)")
			}
		}
		val := w[3:]
		switch w[0].upper() {
		case "TASK_NAME":
			if len(val) != 1 || val[0].kind != tkString {
				return "", sqlErr(1044, "42P13", "SQL compilation error:\nTASK_NAME must be a string literal")
			}
			name = strings.ToUpper(unquoteString(val[0].text))
		case "RESULT_LIMIT":
			n, err := 0, error(nil)
			if len(val) == 1 {
				n, err = strconv.Atoi(val[0].text)
			}
			if len(val) != 1 || err != nil || n < 1 || n > 10000 {
				return "", sqlErr(1044, "42P13", "SQL compilation error:\nRESULT_LIMIT must be between 1 and 10000")
			}
			limit = n
		case "ERROR_ONLY":
			errorOnly = len(val) == 1 && val[0].is("TRUE")
		case "SCHEDULED_TIME_RANGE_START", "SCHEDULED_TIME_RANGE_END", "ROOT_TASK_ID":
		default:
			return "", sqlErr(1044, "42P13", "SQL compilation error:\ninvalid argument '%s' for TASK_HISTORY", w[0].upper())
		}
	}
	e.ext.mu.Lock()
	runs := append([]taskRun(nil), e.ext.runs...)
	e.ext.mu.Unlock()
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "CAST(NULL AS TIMESTAMPTZ)"
		}
		return "CAST(" + quoteString(t.UTC().Format("2006-01-02 15:04:05.999999Z07:00")) + " AS TIMESTAMPTZ)"
	}
	str := func(v string) string {
		if v == "" {
			return "CAST(NULL AS VARCHAR)"
		}
		return quoteString(v)
	}
	var b strings.Builder
	b.WriteString(`(SELECT * FROM (SELECT CAST(NULL AS VARCHAR) AS QUERY_ID, CAST(NULL AS VARCHAR) AS NAME, CAST(NULL AS VARCHAR) AS DATABASE_NAME,
		CAST(NULL AS VARCHAR) AS SCHEMA_NAME, CAST(NULL AS VARCHAR) AS QUERY_TEXT, CAST(NULL AS VARCHAR) AS CONDITION_TEXT,
		CAST(NULL AS VARCHAR) AS STATE, CAST(NULL AS VARCHAR) AS ERROR_CODE, CAST(NULL AS VARCHAR) AS ERROR_MESSAGE,
		CAST(NULL AS TIMESTAMPTZ) AS SCHEDULED_TIME, CAST(NULL AS TIMESTAMPTZ) AS QUERY_START_TIME,
		CAST(NULL AS TIMESTAMPTZ) AS NEXT_SCHEDULED_TIME, CAST(NULL AS TIMESTAMPTZ) AS COMPLETED_TIME,
		CAST(NULL AS DECIMAL(38,0)) AS RUN_ID, CAST(NULL AS VARCHAR) AS SCHEDULED_FROM WHERE FALSE`)
	n := 0
	for i := len(runs) - 1; i >= 0 && n < limit; i-- {
		r := runs[i]
		if r.db != s.db && s.db != "" || name != "" && r.name != name || errorOnly && r.state != "FAILED" {
			continue
		}
		n++
		b.WriteString("\nUNION ALL SELECT " + strings.Join([]string{str(r.queryID), str(r.name), str(r.db), str(r.sch), str(r.queryText),
			str(r.condition), str(r.state), str(r.errCode), str(r.errMsg), ts(r.scheduled), ts(r.started), ts(r.nextScheduled),
			ts(r.completed), "CAST(" + strconv.FormatInt(r.runID, 10) + " AS DECIMAL(38,0))", str(r.scheduledFrom)}, ", "))
	}
	b.WriteString(") ORDER BY SCHEDULED_TIME DESC NULLS LAST)")
	return b.String(), nil
}

// descTask answers DESC TASK.
func (e *Emulator) descTask(_ context.Context, s *session, names []string) (*result, error) {
	t, err := e.lookupTask(s, names)
	if err != nil {
		return nil, err
	}
	return e.taskRows([]*task{t}), nil
}

// showTasks answers SHOW TASKS.
func (e *Emulator) showTasks(match func(db, sch, name string) bool) *result {
	e.ext.mu.Lock()
	var list []*task
	for _, t := range e.ext.tasks {
		if match(t.db, t.sch, t.name) {
			list = append(list, t)
		}
	}
	e.ext.mu.Unlock()
	sortBy(list, func(t *task) string { return t.key })
	return e.taskRows(list)
}

func (e *Emulator) taskRows(list []*task) *result {
	res := &result{typeID: stmtSelect, rowtype: []rowType{timeCol("created_on"), textCol("name"), textCol("id"), textCol("database_name"),
		textCol("schema_name"), textCol("owner"), textCol("comment"), textCol("warehouse"), textCol("schedule"), textCol("predecessors"),
		textCol("state"), textCol("definition"), textCol("condition")}}
	e.ext.mu.Lock()
	defer e.ext.mu.Unlock()
	for _, t := range list {
		state := "suspended"
		if t.started {
			state = "started"
		}
		var sched, cond, wh *string
		if t.schedule != "" {
			sched = strp(t.schedule)
		}
		if t.condition != "" {
			cond = strp(t.condition)
		}
		if t.warehouse != "" {
			wh = strp(t.warehouse)
		}
		res.rowset = append(res.rowset, []*string{ltz(t.created), strp(t.name), strp(t.key), strp(t.db), strp(t.sch), strp(t.owner),
			strp(t.comment), wh, sched, strp("[]"), strp(state), strp(t.body), cond})
	}
	return res
}
