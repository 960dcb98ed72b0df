package snowflaketest

import (
	"context"
	"regexp"
)

// Extension points. Features are added in new files that register
// handlers from an init function, for example:
//
//	func init() { ddlHandlers["STREAM"] = (*Emulator).streamDDL }
//
// Handlers run with the session's statement lock held; they return a
// result or an error (a *SQLError reaches the client as is; other errors
// are mapped like DuckDB's).

// stmt is one statement: the request (text, bindings), its tokens and
// its words (tokens without spaces and comments, trailing ";" removed).
type stmt struct {
	req  *queryRequest
	toks []token
	ws   []token
}

// ddlStmt is a CREATE, DROP or ALTER statement: verb, object kind (the
// word after the modifiers, e.g. "STREAM", "TASK", "FUNCTION"), the index
// in ws where the object's name starts, the name's parts, and the
// OR REPLACE, IF EXISTS and IF NOT EXISTS flags.
type ddlStmt struct {
	stmt
	verb, kind                     string
	nameAt                         int
	names                          []string
	replace, ifExists, ifNotExists bool
}

// showStmt is SHOW <kind> with its LIKE pattern (nil: all) and scope
// (empty db or schema: any).
type showStmt struct {
	like       *regexp.Regexp
	db, schema string
}

var (
	// stmtHandlers answer statements by their first word ("EXECUTE",
	// "CALL", ...), before the built-in dispatch.
	stmtHandlers = map[string]func(e *Emulator, ctx context.Context, s *session, st stmt) (*result, error){}
	// ddlHandlers answer CREATE/DROP/ALTER of an object kind, before the
	// built-in ones.
	ddlHandlers = map[string]func(e *Emulator, ctx context.Context, s *session, st ddlStmt) (*result, error){}
	// showHandlers answer SHOW <kind> for kinds the emulator does not
	// list itself.
	showHandlers = map[string]func(e *Emulator, ctx context.Context, s *session, st showStmt) (*result, error){}
)
