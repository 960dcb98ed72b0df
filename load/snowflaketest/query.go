package snowflaketest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxStoredResults bounds the results kept for /queries/<id>/result.
const maxStoredResults = 10000

// resultWait is how long a result request waits for a running query before
// answering "still in progress", as Snowflake does after 45 seconds.
const resultWait = 45 * time.Second

// stored is a query result kept for /queries/<id>/result.
type stored struct {
	done chan struct{}
	body map[string]any
}

func (e *Emulator) storeResult(qid string) *stored {
	st := &stored{done: make(chan struct{})}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results[qid] = st
	e.order = append(e.order, qid)
	if len(e.order) > maxStoredResults {
		delete(e.results, e.order[0])
		e.order = e.order[1:]
	}
	return st
}

// handleQuery serves POST /queries/v1/query-request.
func (e *Emulator) handleQuery(w http.ResponseWriter, r *http.Request) {
	qid := newQueryID()
	s, err := e.lookupSession(r)
	if err != nil {
		var se *SQLError
		if errors.As(err, &se) {
			writeFailure(w, se, qid)
			return
		}
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var req queryRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<30)).Decode(&req); err != nil {
		writeFailure(w, sqlErr(errSyntax, "42000", "Invalid query request: %v", err), qid)
		return
	}
	e.log.Debug("query", "queryId", qid, "sql", req.SQLText)
	f := e.takeFault(r.URL.Path, req.SQLText)
	if f != nil {
		switch {
		case f.Panic:
			panic("snowflaketest: injected panic (Fault.Panic) in a statement")
		case f.Status != 0:
			http.Error(w, http.StatusText(f.Status), f.Status)
			return
		case f.SessionExpired:
			writeFailure(w, sqlErr(sessionExpiredCode, "08001", "Authentication token has expired.  The user must authenticate again."), qid)
			return
		case f.Error != nil:
			writeFailure(w, f.Error, qid)
			return
		}
	}
	host := hostOf(r)
	parent := r.Context()
	if req.AsyncExec {
		parent = context.WithoutCancel(parent) // outlives the request
	}
	ctx, cancel := context.WithCancel(parent)
	reqID := r.URL.Query().Get("requestId")
	if reqID != "" {
		e.locked(func() {
			e.running[reqID] = cancel
		})
	}
	run := func() map[string]any {
		defer func() {
			cancel()
			if reqID != "" {
				e.locked(func() {
					delete(e.running, reqID)
				})
			}
		}()
		if f != nil && f.Hold != nil {
			select {
			case <-f.Hold:
			case <-ctx.Done():
				return failureBody(sqlErr(604, "57014", "SQL execution canceled"), qid)
			}
		}
		start := e.now()
		body := e.runRequest(ctx, s, &req, qid, host)
		e.logQuery(s, &req, qid, start, body) // queryhistory.go
		return body
	}
	if req.AsyncExec {
		st := e.storeResult(qid)
		go func() {
			st.body = run()
			close(st.done)
		}()
		writeJSON(w, map[string]any{"success": true, "code": queryInProgressAsync, "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
			"data": map[string]any{"queryId": qid, "getResultUrl": "/queries/" + qid + "/result"}})
		return
	}
	body := run()
	st := e.storeResult(qid)
	st.body = body
	close(st.done)
	if f != nil && f.Drop {
		dropConnection(w)
		return
	}
	writeJSON(w, body)
}

// Snowflake response codes the driver acts on.
const (
	queryInProgressAsync = "333334"
	sessionExpiredCode   = 390112
)

// runRequest executes one request (one statement, or several when
// MULTI_STATEMENT_COUNT allows) and returns the response body.
func (e *Emulator) runRequest(ctx context.Context, s *session, req *queryRequest, qid, host string) map[string]any {
	want := 1
	if v, ok := req.Parameters["MULTI_STATEMENT_COUNT"]; ok {
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil || n < 0 {
			return failureBody(sqlErr(errSyntax, "42000", "Invalid MULTI_STATEMENT_COUNT %v.", v), qid)
		}
		want = n
	}
	stmts := splitStatements(req.SQLText)
	if len(stmts) == 0 {
		stmts = []string{req.SQLText}
	}
	if want != 0 && len(stmts) != want {
		return failureBody(sqlErr(8, "0A000", "Actual statement count %d did not match the desired statement count %d.", len(stmts), want), qid)
	}
	if want == 1 || (want == 0 && len(stmts) == 1 && req.Parameters["MULTI_STATEMENT_COUNT"] == nil) {
		return e.statementBody(ctx, s, req, qid, host)
	}
	if len(req.Bindings) > 0 || req.BindStage != "" {
		return failureBody(unsupported("bind variables in multi-statement requests"), qid)
	}
	var ids, types []string
	for _, text := range stmts {
		cid := newQueryID()
		sub := &queryRequest{SQLText: text}
		body := e.statementBody(ctx, s, sub, cid, host)
		if ok, _ := body["success"].(bool); !ok {
			return body
		}
		st := e.storeResult(cid)
		st.body = body
		close(st.done)
		ids = append(ids, cid)
		data := body["data"].(map[string]any)
		types = append(types, fmt.Sprint(data["statementTypeId"]))
	}
	s.mu.Lock()
	db, sch := s.db, s.schema
	s.mu.Unlock()
	return map[string]any{"success": true, "code": nil, "message": nil, "data": map[string]any{
		"queryId": qid, "statementTypeId": 0xA000, "queryResultFormat": "json",
		"rowtype":           []rowType{textCol("multiple statement execution")},
		"rowset":            [][]*string{{strp("Multiple statements executed successfully.")}},
		"total":             1,
		"returned":          1,
		"resultIds":         strings.Join(ids, ","),
		"resultTypes":       strings.Join(types, ","),
		"finalDatabaseName": db, "finalSchemaName": sch,
	}}
}

// statementBody executes one statement and renders the response body.
func (e *Emulator) statementBody(ctx context.Context, s *session, req *queryRequest, qid, host string) (body map[string]any) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("statement panicked", "queryId", qid, "panic", fmt.Sprint(p))
			body = failureBody(sqlErr(errGeneric, "XX000", "Internal error in snowflaketest (a bug): %v", p), qid)
		}
	}()
	res, err := e.execute(ctx, s, req, host)
	s.mu.Lock()
	s.queryIDs = append(s.queryIDs, qid)
	if len(s.queryIDs) > 100 {
		s.queryIDs = s.queryIDs[1:]
	}
	var job *copyJob
	switch {
	case err == nil && res.job != nil:
		job = res.job
	case err != nil && s.failedJob != nil:
		job = s.failedJob
	}
	s.failedJob = nil
	if job != nil {
		if s.lastCopy == nil {
			s.lastCopy = map[string]string{}
		}
		s.lastCopy[job.table] = qid
		e.locked(func() {
			e.jobs[qid] = job
			e.jobOrder = append(e.jobOrder, qid)
			if len(e.jobOrder) > maxStoredResults {
				delete(e.jobs, e.jobOrder[0])
				e.jobOrder = e.jobOrder[1:]
			}
		})
	}
	s.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return failureBody(sqlErr(604, "57014", "SQL execution canceled"), qid)
		}
		return failureBody(mapDuckError(err), qid)
	}
	s.mu.Lock()
	db, sch := s.db, s.schema
	s.mu.Unlock()
	data := map[string]any{
		"queryId": qid, "statementTypeId": res.typeID, "queryResultFormat": "json",
		"finalDatabaseName": db, "finalSchemaName": sch,
	}
	if res.raw != nil {
		for k, v := range res.raw {
			data[k] = v
		}
	} else {
		if len(res.rowtype) == 0 {
			res.rowtype = []rowType{textCol("status")}
			res.rowset = [][]*string{{strp("Statement executed successfully.")}}
		}
		if res.rowset == nil {
			res.rowset = [][]*string{}
		}
		data["rowtype"] = res.rowtype
		data["rowset"] = res.rowset
		data["total"] = len(res.rowset)
		data["returned"] = len(res.rowset)
	}
	return map[string]any{"success": true, "code": nil, "message": nil, "data": data}
}

func failureBody(e *SQLError, qid string) map[string]any {
	return map[string]any{
		"success": false,
		"code":    fmt.Sprintf("%06d", e.Number),
		"message": e.Message,
		"data":    map[string]any{"sqlState": e.SQLState, "queryId": qid, "errorCode": strconv.Itoa(e.Number)},
	}
}

// splitStatements splits SQL text at top-level semicolons, dropping empty
// statements. Semicolons in strings, quoted names and comments do not count.
func splitStatements(text string) []string {
	var out []string
	start := 0
	toks := lex(text)
	flush := func(end int) {
		piece := text[start:end]
		if len(words(lex(piece))) > 0 {
			out = append(out, strings.TrimSpace(piece))
		}
	}
	for _, t := range toks {
		if t.kind == tkPunct && t.text == ";" {
			flush(t.pos)
			start = t.pos + 1
		}
	}
	flush(len(text))
	return out
}

// handleResult serves GET /queries/<id>/result: a finished result, or
// "in progress" after waiting up to 45 seconds.
func (e *Emulator) handleResult(w http.ResponseWriter, r *http.Request) {
	qid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/queries/"), "/result")
	if _, err := e.lookupSession(r); err != nil {
		var se *SQLError
		if errors.As(err, &se) {
			writeFailure(w, se, qid)
			return
		}
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	e.mu.Lock()
	st := e.results[qid]
	e.mu.Unlock()
	if st == nil {
		writeFailure(w, sqlErr(errDoesNotExist, "02000", "Query %s does not exist or not authorized.", qid), qid)
		return
	}
	timer := time.NewTimer(resultWait)
	defer timer.Stop()
	select {
	case <-st.done:
		writeJSON(w, st.body)
	case <-timer.C:
		writeJSON(w, map[string]any{"success": true, "code": queryInProgressAsync, "message": "Query execution in progress.",
			"data": map[string]any{"queryId": qid, "getResultUrl": "/queries/" + qid + "/result"}})
	case <-r.Context().Done():
	}
}

// handleAbort serves POST /queries/v1/abort-request: the running request
// with that request id is cancelled.
func (e *Emulator) handleAbort(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RequestID string `json:"requestId"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body)
	e.mu.Lock()
	cancel := e.running[body.RequestID]
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	writeJSON(w, map[string]any{"success": true, "data": nil})
}

// Fault is a failure injected into the emulator's answers, for testing a
// client's handling of it. Faults match requests in the order they were
// injected; the first matching one with firings left applies.
type Fault struct {
	// Path is the request path it applies to: "" or
	// "/queries/v1/query-request" for statements, "/session/v1/login-request",
	// "/session/token-request", or UploadPath for presigned uploads.
	Path string
	// SQL limits a statement fault to statements whose text contains it,
	// case-insensitively. Empty matches every statement.
	SQL string
	// Skip lets this many matching requests through before the fault fires.
	Skip int
	// Times is how often it fires; 0 means once, negative means always.
	Times int

	// Exactly one effect:

	// Status answers with this HTTP status (503 and 429 make the driver
	// back off and retry, for real: about 1.6 s each).
	Status int
	// SessionExpired answers 390112, so the driver renews its session
	// token and retries the statement.
	SessionExpired bool
	// Error answers the statement with this Snowflake error.
	Error *SQLError
	// Hold makes the statement wait until Hold is closed, or until it is
	// cancelled (the client's context, or abort-request), which answers
	// 000604 "SQL execution canceled". Use it for slow queries without
	// sleeping.
	Hold <-chan struct{}
	// Drop runs the statement to its end (a COPY loads and commits), then
	// closes the client's connection without an answer, as a network
	// failure after the server did the work would. The driver sees a
	// transport error and, for a statement, retries it with the same
	// request id. Use it to test that a retried or re-run COPY loads
	// nothing twice.
	Drop bool
	// Panic makes the request's handler panic, to test that the emulator
	// answers HTTP 500 and keeps serving (it is a bug stand-in).
	Panic bool
	// FailFile makes COPY reject every row of stage files whose name (as in
	// the COPY result's file column) ends with FailFile.
	FailFile string
}

// dropConnection closes the client's connection without writing an
// answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// UploadPath is the path prefix of presigned PUT uploads, for Fault.Path.
const UploadPath = uploadPrefix

type faultState struct {
	f    Fault
	seen int
	left int
}

// InjectFault adds a fault. It is safe to call while clients are connected.
func (e *Emulator) InjectFault(f Fault) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &faultState{f: f, left: left})
}

// ClearFaults removes all injected faults.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// takeFault returns the fault that fires for a request, if any, and counts
// the firing. FailFile faults are not taken here (see failFile).
func (e *Emulator) takeFault(path, sql string) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, fs := range e.faults {
		f := &fs.f
		if f.FailFile != "" || fs.left == 0 {
			continue
		}
		p := f.Path
		if p == "" {
			p = "/queries/v1/query-request"
		}
		if !strings.HasPrefix(path, p) {
			continue
		}
		if f.SQL != "" && !strings.Contains(strings.ToUpper(sql), strings.ToUpper(f.SQL)) {
			continue
		}
		fs.seen++
		if fs.seen <= f.Skip {
			continue
		}
		if fs.left > 0 {
			fs.left--
		}
		cp := *f
		return &cp
	}
	return nil
}

// failFile reports whether a FailFile fault applies to a COPY file name,
// and counts the firing.
func (e *Emulator) failFile(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, fs := range e.faults {
		if fs.f.FailFile == "" || fs.left == 0 || !strings.HasSuffix(name, fs.f.FailFile) {
			continue
		}
		fs.seen++
		if fs.seen <= fs.f.Skip {
			continue
		}
		if fs.left > 0 {
			fs.left--
		}
		return true
	}
	return false
}
