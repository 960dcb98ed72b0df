package snowflaketest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file keeps the statements the emulator ran, for the Information
// Schema table functions QUERY_HISTORY, QUERY_HISTORY_BY_USER and
// QUERY_HISTORY_BY_SESSION. A loader that tags a statement (QUERY_TAG) can
// find its query id after a crash, then VALIDATE or RESULT_SCAN it.

func init() {
	tableFuncs["QUERY_HISTORY"] = (*Emulator).queryHistoryFunc
	tableFuncs["QUERY_HISTORY_BY_USER"] = (*Emulator).queryHistoryFunc
	tableFuncs["QUERY_HISTORY_BY_SESSION"] = func(e *Emulator, ctx context.Context, s *session, a funcArgs) (*vtable, error) {
		if _, ok := a.named["SESSION_ID"]; !ok {
			a.named["SESSION_ID"] = "CURRENT_SESSION" // the default
		}
		return e.queryHistoryFunc(ctx, s, a)
	}
}

// maxQueryHistory bounds the statements kept, like Snowflake's 7 days.
const maxQueryHistory = 10000

// queryLog is the emulator's query history, oldest first. Its zero value
// is ready to use.
type queryLog struct {
	mu      sync.Mutex
	entries []queryEntry
}

// queryEntry is one statement request, as QUERY_HISTORY shows it.
type queryEntry struct {
	id, text, tag, user, role, warehouse, db, schema string
	session                                          int64
	typ                                              string // QUERY_TYPE: the statement's first word(s)
	status                                           string // SUCCESS or FAILED_WITH_ERROR
	errCode, errMsg                                  string
	start, end                                       time.Time
}

// logQuery records one statement request and its answer body.
func (e *Emulator) logQuery(s *session, req *queryRequest, qid string, start time.Time, body map[string]any) {
	q := queryEntry{id: qid, text: req.SQLText, user: s.user, role: s.role, warehouse: s.warehouse, db: s.db, schema: s.schema,
		session: s.id, typ: queryType(req.SQLText), status: "SUCCESS", start: start, end: e.now()}
	if t, ok := req.Parameters["QUERY_TAG"]; ok { // the driver's WithQueryTag
		q.tag = fmt.Sprint(t)
	}
	if ok, _ := body["success"].(bool); !ok {
		q.status = "FAILED_WITH_ERROR"
		q.errCode = fmt.Sprint(body["code"])
		q.errMsg = fmt.Sprint(body["message"])
	}
	l := &e.queries
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, q)
	if n := len(l.entries) - maxQueryHistory; n > 0 {
		l.entries = append(l.entries[:0], l.entries[n:]...)
	}
}

// queryType names a statement's kind as QUERY_HISTORY's QUERY_TYPE does
// for the common ones (COPY, SELECT, INSERT, CREATE_TABLE, ...); other
// statements show their first word.
func queryType(text string) string {
	ws := strings.Fields(strings.ToUpper(stripLeadingComments(text)))
	if len(ws) == 0 {
		return "UNKNOWN"
	}
	switch ws[0] {
	case "CREATE", "DROP", "ALTER":
		for _, w := range ws[1:] {
			switch w {
			case "OR", "REPLACE", "TEMPORARY", "TEMP", "TRANSIENT", "VOLATILE", "LOCAL", "GLOBAL", "SECURE":
				continue
			}
			return ws[0] + "_" + strings.TrimSuffix(w, "(")
		}
	}
	return ws[0]
}

// stripLeadingComments drops /* */ and -- comments before a statement.
func stripLeadingComments(s string) string {
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		default:
			return s
		}
	}
}

// queryHistoryFunc answers QUERY_HISTORY([RESULT_LIMIT => n]),
// QUERY_HISTORY_BY_USER([USER_NAME => 'u'], ...) and
// QUERY_HISTORY_BY_SESSION([SESSION_ID => n], ...): the latest statements,
// newest first, at most RESULT_LIMIT (default 100, at most 10,000).
// QUERY_HISTORY and _BY_USER show the current user's statements (the
// emulator has no MONITOR privilege), _BY_SESSION the current session's.
// END_TIME_RANGE_START and END_TIME_RANGE_END are not evaluated (see
// FIDELITY.md).
func (e *Emulator) queryHistoryFunc(ctx context.Context, s *session, a funcArgs) (*vtable, error) {
	limit := 100
	if v, ok := a.named["RESULT_LIMIT"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxQueryHistory {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid value [%s] for parameter 'RESULT_LIMIT'", v)
		}
		limit = n
	}
	user, sess := s.user, int64(0)
	if v, ok := a.named["USER_NAME"]; ok && !strings.EqualFold(v, "CURRENT_USER") {
		user = normName(v)
	}
	if v, ok := a.named["SESSION_ID"]; ok && !strings.EqualFold(v, "CURRENT_SESSION") {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid value [%s] for parameter 'SESSION_ID'", v)
		}
		sess = n
	} else if ok {
		sess = s.id
	}
	vt := &vtable{
		cols: []string{"QUERY_ID", "QUERY_TEXT", "DATABASE_NAME", "SCHEMA_NAME", "QUERY_TYPE", "SESSION_ID", "USER_NAME", "ROLE_NAME",
			"WAREHOUSE_NAME", "QUERY_TAG", "EXECUTION_STATUS", "ERROR_CODE", "ERROR_MESSAGE", "START_TIME", "END_TIME"},
		types: []string{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "VARCHAR", "VARCHAR",
			"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "TIMESTAMPTZ"},
	}
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return strp(v)
	}
	l := &e.queries
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.entries) - 1; i >= 0 && len(vt.rows) < limit; i-- {
		q := l.entries[i]
		if q.user != user || (sess != 0 && q.session != sess) {
			continue
		}
		vt.rows = append(vt.rows, []*string{strp(q.id), strp(q.text), opt(q.db), opt(q.schema), strp(q.typ), strp(strconv.FormatInt(q.session, 10)),
			strp(q.user), opt(q.role), opt(q.warehouse), strp(q.tag), strp(q.status), opt(q.errCode), opt(q.errMsg),
			strp(q.start.UTC().Format(time.RFC3339Nano)), strp(q.end.UTC().Format(time.RFC3339Nano))})
	}
	return vt, nil
}
