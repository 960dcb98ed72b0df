package snowflaketest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// session is one Snowflake session: a dedicated DuckDB connection, so the
// current database/schema and open transactions are per session.
type session struct {
	e      *Emulator
	mu     sync.Mutex // serializes the session's statements
	conn   *sql.Conn
	id     int64
	token  string
	master string

	user, db, schema, warehouse, role string
	inTxn                             bool
	pendingLoads                      []pendingLoad     // load metadata of COPYs in the open transaction
	params                            map[string]string // ALTER SESSION SET parameters the emulator acts on
	queryIDs                          []string          // the session's last statements, oldest first (LAST_QUERY_ID)
	lastCopy                          map[string]string // table key → query id of the session's last COPY into it
	pipe                              string            // DB.SCHEMA.PIPE when the session loads for a pipe
	failedJob                         *copyJob          // the rejected rows of a COPY that just aborted
}

// normName folds an unquoted name to upper case and unquotes a quoted one.
func normName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToUpper(s)
}

func (e *Emulator) newSession(ctx context.Context, user, db, schema, wh, role string) (*session, error) {
	conn, err := e.db.Conn(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("snowflaketest: duckdb connection: %w", err)
	}
	e.mu.Lock()
	e.seq++
	id := int64(e.seq)
	e.mu.Unlock()
	s := &session{e: e, conn: conn, id: id, token: randomHex(16), master: randomHex(16),
		user: user, warehouse: normName(wh), role: normName(role)}
	if s.role == "" {
		s.role = "SYSADMIN"
	}
	for _, m := range append(append([]string{"SET TimeZone = 'UTC'"}, sessionMacros...), tzMacros...) {
		if _, err := conn.ExecContext(ctx, m); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("snowflaketest: session setup: %w", err)
		}
	}
	if db != "" {
		if schema == "" {
			schema = "PUBLIC"
		}
		if err := s.use(ctx, normName(db), normName(schema)); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = conn.Close()
		return nil, ErrClosed
	}
	e.sessions[s.token] = s
	e.masters[s.master] = s
	return s, nil
}

// close returns the session's connection to the pool in a clean state.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := context.Background()
	if s.inTxn {
		_, _ = s.conn.ExecContext(ctx, "ROLLBACK")
	}
	_, _ = s.conn.ExecContext(ctx, "USE "+quoteIdent(s.e.homeCatalog)+".main")
	_ = s.conn.Close()
}

func (s *session) info() map[string]any {
	return map[string]any{"databaseName": s.db, "schemaName": s.schema, "warehouseName": s.warehouse, "roleName": s.role}
}

// use makes db.schema current, creating them if needed (a documented
// difference from Snowflake).
func (s *session) use(ctx context.Context, db, schema string) error {
	if err := s.e.ensureSchema(ctx, db, schema); err != nil {
		return err
	}
	if _, err := s.conn.ExecContext(ctx, "USE "+quoteIdent(db)+"."+quoteIdent(schema)); err != nil {
		return err
	}
	s.db, s.schema = db, schema
	return nil
}

// ensureDatabase attaches the DuckDB catalog of a Snowflake database.
func (e *Emulator) ensureDatabase(ctx context.Context, db string) error {
	if db == "" {
		return sqlErr(errNoCurrentDB, "22000", "This session does not have a current database. Call 'USE DATABASE', or use a qualified name.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.databases[db] {
		return nil
	}
	if isReservedCatalog(db) {
		return sqlErr(errUnsupported, "0A000", "Database name '%s' is reserved by the emulator's engine.", db)
	}
	target := ":memory:"
	if e.opts.DBPath != "" {
		target = e.opts.DBPath + "." + fileSafe(db)
	}
	if _, err := e.db.ExecContext(ctx, "ATTACH IF NOT EXISTS "+quoteString(target)+" AS "+quoteIdent(db)); err != nil {
		return fmt.Errorf("snowflaketest: create database %s: %w", db, err)
	}
	if _, err := e.db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(db)+".PUBLIC"); err != nil {
		return fmt.Errorf("snowflaketest: create database %s: %w", db, err)
	}
	if e.opts.DBPath != "" {
		if _, err := e.db.ExecContext(ctx, "INSERT OR IGNORE INTO "+e.meta("databases")+" VALUES (?)", db); err != nil {
			return fmt.Errorf("snowflaketest: create database %s: %w", db, err)
		}
	}
	e.databases[db] = true
	return nil
}

func isReservedCatalog(db string) bool {
	switch strings.ToLower(db) {
	case "memory", "main", "temp", "system", "information_schema", "pg_catalog":
		return true
	}
	return false
}

// ensureSchema creates db and db.schema when missing.
func (e *Emulator) ensureSchema(ctx context.Context, db, schema string) error {
	if err := e.ensureDatabase(ctx, db); err != nil {
		return err
	}
	if strings.EqualFold(schema, "INFORMATION_SCHEMA") {
		return nil
	}
	if _, err := e.db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(db)+"."+quoteIdent(schema)); err != nil {
		return fmt.Errorf("snowflaketest: create schema %s.%s: %w", db, schema, err)
	}
	return nil
}

// dropDatabase detaches a database.
func (e *Emulator) dropDatabase(ctx context.Context, s *session, db string, ifExists bool) error {
	e.mu.Lock()
	known := e.databases[db]
	e.mu.Unlock()
	if !known {
		if ifExists {
			return nil
		}
		return sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nDatabase '%s' does not exist or not authorized.", db)
	}
	if s.db == db {
		if _, err := s.conn.ExecContext(ctx, "USE "+quoteIdent(e.homeCatalog)+".main"); err != nil {
			return err
		}
		s.db, s.schema = "", ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.db.ExecContext(ctx, "DETACH "+quoteIdent(db)); err != nil {
		return err
	}
	if e.opts.DBPath != "" {
		if _, err := e.db.ExecContext(ctx, "DELETE FROM "+e.meta("databases")+" WHERE name = ?", db); err != nil {
			return err
		}
	}
	delete(e.databases, db)
	return nil
}
