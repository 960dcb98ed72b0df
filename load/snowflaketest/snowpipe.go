package snowflaketest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pipe is a CREATE PIPE definition and its load history.
type pipe struct {
	db, sch, name string
	copySQL       string // the COPY INTO statement
	history       []map[string]any
	paused        bool
	// lastIngestedAt and lastIngestedPath describe the last file loaded.
	lastIngestedAt, lastIngestedPath string
}

// pipeDDL answers CREATE [OR REPLACE] PIPE [IF NOT EXISTS] name ... AS COPY
// INTO ... and DROP PIPE [IF EXISTS] name.
func (e *Emulator) pipeDDL(ctx context.Context, s *session, verb, text string, ws []token, n int, names []string, replace, ifExists, ifNotExists bool) (*result, error) {
	db, sch, name, err := s.qualify(names)
	if err != nil {
		return nil, err
	}
	key := db + "." + sch + "." + name
	e.mu.Lock()
	_, exists := e.pipes[key]
	e.mu.Unlock()
	switch verb {
	case "DROP":
		if !exists {
			return missingObject(ddlArgs{ifExists: ifExists}, "Pipe", key, name)
		}
		e.locked(func() {
			delete(e.pipes, key)
		})
		return status(name + " successfully dropped."), nil
	case "CREATE":
	case "ALTER":
		if !exists {
			return missingObject(ddlArgs{}, "Pipe", key, name)
		}
		var p *pipe
		e.locked(func() { p = e.pipes[key] })
		return e.alterPipe(ctx, s, p, key, ws, n, "")
	default:
		return nil, unsupported(verb + " PIPE")
	}
	asIdx := -1
	for i := n; i < len(ws); i++ {
		if ws[i].is("AS") {
			asIdx = i
			break
		}
		if ws[i].is("AUTO_INGEST") || ws[i].is("INTEGRATION") || ws[i].is("AWS_SNS_TOPIC") || ws[i].is("ERROR_INTEGRATION") {
			if ws[i].is("AUTO_INGEST") && i+2 < len(ws) && ws[i+2].is("FALSE") {
				continue
			}
			return nil, unsupported("CREATE PIPE with " + ws[i].upper())
		}
	}
	if asIdx < 0 || asIdx+2 >= len(ws) || !ws[asIdx+1].is("COPY") || !ws[asIdx+2].is("INTO") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: CREATE PIPE needs AS COPY INTO")
	}
	if exists && !replace {
		return objectExists(ddlArgs{ifNotExists: ifNotExists}, name)
	}
	copySQL := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(text[ws[asIdx+1].pos:]), ";"))
	for _, w := range words(lex(copySQL)) {
		if w.is("FILES") || w.is("FORCE") || w.is("VALIDATION_MODE") || w.is("PURGE") {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ncopy option %s is not allowed in a pipe", w.upper())
		}
	}
	e.locked(func() {
		e.pipes[key] = &pipe{db: db, sch: sch, name: name, copySQL: copySQL}
	})
	return status("Pipe " + name + " successfully created."), nil
}

// handleSnowpipe serves the Snowpipe REST API:
// POST /v1/data/pipes/<db.schema.pipe>/insertFiles and
// GET /v1/data/pipes/<db.schema.pipe>/insertReport.
func (e *Emulator) handleSnowpipe(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/v1/data/pipes/")
	pipeName, op, ok := strings.Cut(rest, "/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		snowpipeError(w, http.StatusUnauthorized, 390144, "JWT token is invalid.")
		return
	}
	if _, err := e.verifyJWT(tok); err != nil {
		e.log.Debug("snowpipe JWT rejected", "reason", err.Error())
		snowpipeError(w, http.StatusUnauthorized, 390144, "JWT token is invalid.")
		return
	}
	parts := lexNameParts(pipeName)
	if len(parts) != 3 {
		snowpipeError(w, http.StatusNotFound, 2003, "Specified object does not exist or not authorized. Pipe not found")
		return
	}
	key := normName(parts[0]) + "." + normName(parts[1]) + "." + normName(parts[2])
	e.mu.Lock()
	p := e.pipes[key]
	e.mu.Unlock()
	if p == nil {
		snowpipeError(w, http.StatusNotFound, 2003, "Specified object does not exist or not authorized. Pipe not found")
		return
	}
	switch {
	case op == "insertFiles" && r.Method == http.MethodPost:
		e.insertFiles(w, r, p, key)
	case op == "insertReport" && r.Method == http.MethodGet:
		begin, _ := strconv.Atoi(r.URL.Query().Get("beginMark"))
		var files []map[string]any
		var next int
		e.locked(func() {
			if begin < 0 || begin > len(p.history) {
				begin = 0
			}
			files = append([]map[string]any{}, p.history[begin:]...)
			next = len(p.history)
		})
		writeJSON(w, map[string]any{"pipe": key, "completeResult": true, "nextBeginMark": strconv.Itoa(next), "files": files})
	case op == "loadHistoryScan" && r.Method == http.MethodGet:
		e.loadHistoryScan(w, r, p, key)
	default:
		snowpipeError(w, http.StatusNotFound, 2, "Unsupported feature 'Snowpipe "+op+"' (snowflaketest does not implement it; see FIDELITY.md).")
	}
}

func snowpipeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"data": nil, "code": fmt.Sprintf("%06d", code), "message": msg, "success": false})
}

// insertFiles loads the named files through the pipe's COPY (ON_ERROR =
// SKIP_FILE unless the pipe says otherwise) before answering, so the
// report is complete as soon as insertFiles returns.
func (e *Emulator) insertFiles(w http.ResponseWriter, r *http.Request, p *pipe, key string) {
	var body struct {
		Files []pipeFile `json:"files"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&body); err != nil || len(body.Files) == 0 || len(body.Files) > 5000 {
		snowpipeError(w, http.StatusBadRequest, 1003, "Invalid insertFiles request: want {\"files\": [{\"path\": ...}]} with 1 to 5000 files.")
		return
	}
	reqID := r.URL.Query().Get("requestId")
	if p.paused {
		snowpipeError(w, http.StatusBadRequest, 2, "Pipe "+key+" is paused (PIPE_EXECUTION_PAUSED = TRUE).")
		return
	}
	if err := e.pipeLoad(context.WithoutCancel(r.Context()), p, key, body.Files, hostOf(r)); err != nil {
		snowpipeError(w, http.StatusInternalServerError, errGeneric, "cannot open a session for the pipe")
		return
	}
	writeJSON(w, map[string]any{"requestId": reqID, "responseCode": "SUCCESS"})
}

// pipeFile is a file handed to a pipe.
type pipeFile = struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// pipeLoad loads files (stage-relative paths) through the pipe's COPY
// (ON_ERROR = SKIP_FILE unless the pipe says otherwise) in a session of
// its own, and adds them to the pipe's report.
func (e *Emulator) pipeLoad(ctx context.Context, p *pipe, key string, files []pipeFile, host string) error {
	s, err := e.newSession(ctx, "SNOWPIPE", quoteIdent(p.db), quoteIdent(p.sch), "", "")
	if err != nil {
		return err
	}
	defer e.endSession(s)
	s.pipe = key
	var quoted []string
	for _, f := range files {
		quoted = append(quoted, quoteString(strings.TrimLeft(f.Path, "/")))
	}
	stmt := p.copySQL + " FILES = (" + strings.Join(quoted, ", ") + ")"
	if !strings.Contains(strings.ToUpper(p.copySQL), "ON_ERROR") {
		stmt += " ON_ERROR = SKIP_FILE"
	}
	res, err := e.execute(ctx, s, &queryRequest{SQLText: stmt}, host)
	now := e.now().UTC().Format(time.RFC3339Nano)
	// The report entries are built without the emulator's lock; only the
	// append below holds it.
	var entries []map[string]any
	if err != nil {
		se := mapDuckError(err)
		for _, f := range files {
			entries = append(entries, map[string]any{"path": f.Path, "fileSize": f.Size, "timeReceived": now, "lastInsertTime": now,
				"rowsInserted": 0, "rowsParsed": 0, "errorsSeen": 1, "errorLimit": 1, "firstError": se.Message,
				"complete": true, "status": "LOAD_FAILED", "stageLocation": ""})
		}
	} else if len(res.rowtype) == 10 {
		for _, row := range res.rowset {
			entries = append(entries, pipeReportEntry(row, files, now))
		}
	}
	e.locked(func() {
		p.history = append(p.history, entries...)
		for _, en := range entries {
			if en["status"] == "LOADED" || en["status"] == "PARTIALLY_LOADED" {
				p.lastIngestedAt, p.lastIngestedPath = now, fmt.Sprint(en["path"])
			}
		}
	})
	return nil
}

// alterPipe answers ALTER PIPE p SET PIPE_EXECUTION_PAUSED = TRUE|FALSE
// and ALTER PIPE p REFRESH [PREFIX = 'path/']: the stage's files (under
// the prefix) that the table's load metadata does not hold are loaded
// through the pipe at once; the answer lists them with status SENT.
func (e *Emulator) alterPipe(ctx context.Context, s *session, p *pipe, key string, ws []token, n int, host string) (*result, error) {
	_, i := parseName(ws, n)
	switch {
	case i < len(ws) && ws[i].is("SET"):
		opts, _, err := parseOptions(ws, i+1)
		if err != nil {
			return nil, err
		}
		for k := range opts {
			switch k {
			case "PIPE_EXECUTION_PAUSED":
				on, err := boolOpt(opts, k, false)
				if err != nil {
					return nil, err
				}
				e.locked(func() { p.paused = on })
			case "COMMENT":
			default:
				return nil, unsupported("ALTER PIPE ... SET " + k)
			}
		}
		return status("Statement executed successfully."), nil
	case i < len(ws) && ws[i].is("REFRESH"):
		opts, _, err := parseOptions(ws, i+1)
		if err != nil {
			return nil, err
		}
		prefix := strings.TrimLeft(opts["PREFIX"].s, "/")
		cw := words(lex(p.copySQL))
		var stageTok string
		for j, w := range cw {
			if w.is("FROM") && j+1 < len(cw) && cw[j+1].kind == tkStage {
				stageTok = cw[j+1].text
			}
		}
		if stageTok == "" {
			return nil, unsupported("ALTER PIPE ... REFRESH of a pipe whose COPY reads no stage")
		}
		ps, err := e.newSession(ctx, "SNOWPIPE", quoteIdent(p.db), quoteIdent(p.sch), "", "")
		if err != nil {
			return nil, err
		}
		sr, err := e.resolveStage(ctx, ps, stageTok, true)
		e.endSession(ps)
		if err != nil {
			return nil, err
		}
		all, err := listStage(sr)
		if err != nil {
			return nil, err
		}
		base := sr.sub
		if base != "" && !strings.HasSuffix(base, "/") {
			base += "/"
		}
		res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("File"), textCol("Status")}}
		var files []pipeFile
		for _, f := range all {
			rel := strings.TrimPrefix(f.rel, base)
			if !strings.HasPrefix(rel, prefix) {
				continue
			}
			files = append(files, pipeFile{Path: rel, Size: f.size})
			res.rowset = append(res.rowset, []*string{strp(rel), strp("SENT")})
		}
		for start := 0; start < len(files); start += 1000 {
			if err := e.pipeLoad(ctx, p, key, files[start:min(start+1000, len(files))], host); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	return nil, unsupported("this ALTER PIPE form")
}

// pipeReportEntry turns one COPY result row (file, status, rows_parsed,
// rows_loaded, error_limit, errors_seen, first_error, first_error_line,
// first_error_character, first_error_column_name) into an insertReport
// file entry. Any cell may be NULL: a file missing from the stage has a
// first error but no line, character or column.
func pipeReportEntry(row []*string, files []pipeFile, now string) map[string]any {
	cell := func(i int) (string, bool) {
		if i >= len(row) || row[i] == nil {
			return "", false
		}
		return *row[i], true
	}
	path, _ := cell(0)
	for _, f := range files {
		if p := strings.TrimLeft(f.Path, "/"); strings.HasSuffix(path, p) {
			path = p
			break
		}
	}
	st, _ := cell(1)
	entry := map[string]any{"path": path, "timeReceived": now, "lastInsertTime": now, "complete": true, "status": st}
	for i, k := range []string{"", "", "rowsParsed", "rowsInserted", "errorLimit", "errorsSeen"} {
		if k != "" {
			v, _ := cell(i)
			n, _ := strconv.Atoi(v)
			entry[k] = n
		}
	}
	if msg, ok := cell(6); ok {
		entry["firstError"] = msg
		if v, ok := cell(7); ok {
			entry["firstErrorLineNum"], _ = strconv.Atoi(v)
		}
		if v, ok := cell(8); ok {
			entry["firstErrorCharacterPos"], _ = strconv.Atoi(v)
		}
		if v, ok := cell(9); ok {
			entry["firstErrorColumnName"] = v
		}
	}
	return entry
}

// endSession removes an internal session.
func (e *Emulator) endSession(s *session) {
	e.locked(func() {
		delete(e.sessions, s.token)
		delete(e.masters, s.master)
	})
	s.close()
}

// loadHistoryScan serves GET .../loadHistoryScan?startTimeInclusive=
// &endTimeExclusive=: the pipe's report entries whose last insert time is
// in the range (ISO 8601; endTimeExclusive defaults to now).
func (e *Emulator) loadHistoryScan(w http.ResponseWriter, r *http.Request, p *pipe, key string) {
	q := r.URL.Query()
	parse := func(name string, def time.Time) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return def, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, false
		}
		return t, true
	}
	start, ok1 := parse("startTimeInclusive", time.Time{})
	end, ok2 := parse("endTimeExclusive", e.now().Add(time.Nanosecond))
	if q.Get("startTimeInclusive") == "" || !ok1 || !ok2 {
		snowpipeError(w, http.StatusBadRequest, 1003, "Invalid loadHistoryScan request: startTimeInclusive (ISO 8601) is required, endTimeExclusive is optional.")
		return
	}
	var files []map[string]any
	var first, last string
	e.locked(func() {
		for _, f := range p.history {
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(f["lastInsertTime"]))
			if err != nil || at.Before(start) || !at.Before(end) {
				continue
			}
			files = append(files, f)
			if first == "" {
				first = fmt.Sprint(f["lastInsertTime"])
			}
			last = fmt.Sprint(f["lastInsertTime"])
		}
	})
	if files == nil {
		files = []map[string]any{}
	}
	writeJSON(w, map[string]any{"pipe": key, "completeResult": true, "startTimeInclusive": q.Get("startTimeInclusive"),
		"endTimeExclusive": q.Get("endTimeExclusive"), "rangeStartTime": first, "rangeEndTime": last, "files": files})
}
