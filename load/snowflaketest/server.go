package snowflaketest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
	"github.com/snowflakedb/gosnowflake"
)

// PutMode selects how the emulator answers PUT.
type PutMode int

const (
	// PutPresigned answers PUT the way Snowflake on GCS does: with a
	// presigned upload URL on the host the query came to. The driver then
	// uploads the bytes over HTTP through its real remote-storage code path
	// (streaming, retries, overwrite). This is the default.
	PutPresigned PutMode = iota
	// PutLocalFS answers PUT with locationType LOCAL_FS and the stage's
	// directory, so the driver writes the file itself. It only works when
	// the client shares the emulator's file system, and it inherits three
	// driver bugs (see FIDELITY.md): streaming PUT writes 0 bytes, OVERWRITE
	// does not truncate, GET never downloads.
	PutLocalFS
)

// DefaultArrayBindingThreshold is Snowflake's default
// CLIENT_STAGE_ARRAY_BINDING_THRESHOLD: array bindings with at least this
// many values go through the driver's temporary bind stage.
const DefaultArrayBindingThreshold = 65280

// DefaultMemoryLimit is DuckDB's memory limit when Options.MemoryLimit is
// empty: the emulator's tables, COPY's staging batches and query results
// together; more spills to disk.
const DefaultMemoryLimit = "512MB"

// Options configure an Emulator. The zero value is a working in-memory
// emulator that accepts any user and password.
type Options struct {
	// DBPath is a DuckDB file to persist to. Empty means in memory. Each
	// Snowflake database is a separate DuckDB file next to it, named
	// DBPath + "." + DATABASE.
	DBPath string
	// StageDir holds internal stages' files. Empty means DBPath+".stages"
	// when DBPath is set, else a temporary directory removed by Close.
	StageDir string
	// Users maps user names to passwords; names are case-insensitive, as
	// in Snowflake. Nil or empty accepts any user and password.
	Users map[string]string
	// ArrayBindingThreshold is the CLIENT_STAGE_ARRAY_BINDING_THRESHOLD
	// sent at login. Zero means DefaultArrayBindingThreshold; a negative
	// value sends 0, which makes the driver always bind inline.
	ArrayBindingThreshold int
	// UserKeys registers RSA public keys for key-pair (SNOWFLAKE_JWT)
	// logins, by user name (case-insensitive). A token must be signed by
	// the user's key, name its fingerprint and not be expired.
	UserKeys map[string]*rsa.PublicKey
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// PutMode selects how PUT is answered; the zero value is PutPresigned.
	PutMode PutMode
	// MemoryLimit caps DuckDB's memory (DuckDB syntax, e.g. "2GB"); beyond
	// it DuckDB spills tables and intermediate results to a temporary
	// directory under the stage directory (StageDir()/_duckdb_tmp, removed
	// by Close), so a COPY of any size runs in bounded memory. Empty means
	// DefaultMemoryLimit. Loads larger than the limit run slower (they
	// spill); raise it for speed.
	MemoryLimit string
	// S3 configures the endpoint and credentials external stages read
	// from (CREATE STAGE ... URL = 's3://...').
	S3 S3Options
	// Logger receives one debug line per request; nil discards. Statement
	// text is logged, credentials never are.
	Logger *slog.Logger

	// ExternalServices serves external functions in process: a function
	// whose URL (CREATE EXTERNAL FUNCTION … AS '<url>') starts with a key is
	// answered by that handler, which stands for the API Gateway and the
	// service behind it; to send a prefix to a local address instead, map it
	// to httputil.NewSingleHostReverseProxy(addr). Other URLs are called
	// over HTTP with ExternalClient.
	ExternalServices map[string]http.Handler
	// ExternalClient calls external functions whose URL matches no
	// ExternalServices key; nil means http.DefaultClient.
	ExternalClient *http.Client
	// ExternalRetryBackoff is the wait before retry n (1, 2, …) of a batch
	// answered 429, 5xx or 202 (polling), or lost in transport; nil means
	// 100 ms doubling up to 5 s.
	ExternalRetryBackoff func(retry int) time.Duration
	// ExternalRetryTimeout bounds the sum of those waits for one batch,
	// after which the query fails; zero means 5 minutes.
	ExternalRetryTimeout time.Duration
	// TaskTick, when positive, starts a background scheduler that runs due
	// tasks every TaskTick by the clock Now. Zero means tasks run on a
	// schedule only when the test calls Emulator.RunScheduledTasks after
	// advancing its Now.
	TaskTick time.Duration
}

// Emulator is a Snowflake emulator backed by DuckDB, served as an
// http.Handler. It is safe for concurrent use by multiple goroutines and
// sessions; statements of one session run one at a time.
type Emulator struct {
	opts        Options
	db          *sql.DB
	stageRoot   string
	ownStage    bool
	log         *slog.Logger
	threshold   int
	users       map[string]string // upper-cased user name → password
	homeCatalog string            // DuckDB's own catalog, used by sessions without a database
	keys        map[string]*rsa.PublicKey
	now         func() time.Time

	mu        sync.Mutex
	closed    bool
	sessions  map[string]*session // by session token
	masters   map[string]*session // by master token
	uploads   map[string]upload   // presigned upload id → target
	loadMeta  map[string]map[string]bool
	databases map[string]bool // attached DuckDB catalogs, by Snowflake name
	seq       uint64
	results   map[string]*stored            // query id → result, for /queries/<id>/result
	order     []string                      // result ids, oldest first, for eviction
	running   map[string]context.CancelFunc // request id → cancel, for abort-request
	faults    []*faultState
	pipes     map[string]*pipe // by DB.SCHEMA.PIPE
	ext       extState         // streams, tasks, external functions, file formats (ext.go)

	batches     sync.Map            // COPY batch id → *copyBatch, read by sf_copy_batch
	hashes      hashCache           // content hashes of stage files
	jobs        map[string]*copyJob // COPY query id → rejected rows, for VALIDATE
	jobOrder    []string
	copyHistory []copyHist // every file a COPY or a pipe loaded or failed, for COPY_HISTORY and LOAD_HISTORY
	tableLocks  tableLocks // DDL on one table runs one statement at a time
}

// New opens an emulator. Close releases its DuckDB database and, when it
// created one, its temporary stage directory.
func New(opts Options) (*Emulator, error) {
	if opts.PutMode != PutPresigned && opts.PutMode != PutLocalFS {
		return nil, fmt.Errorf("snowflaketest: unknown PutMode %d", opts.PutMode)
	}
	e := &Emulator{
		opts:      opts,
		log:       opts.Logger,
		sessions:  map[string]*session{},
		masters:   map[string]*session{},
		uploads:   map[string]upload{},
		loadMeta:  map[string]map[string]bool{},
		databases: map[string]bool{},
		results:   map[string]*stored{},
		running:   map[string]context.CancelFunc{},
		pipes:     map[string]*pipe{},
		jobs:      map[string]*copyJob{},
	}
	e.users = make(map[string]string, len(opts.Users))
	for u, pw := range opts.Users {
		e.users[strings.ToUpper(u)] = pw
	}
	e.keys = make(map[string]*rsa.PublicKey, len(opts.UserKeys))
	for u, k := range opts.UserKeys {
		if k == nil {
			return nil, fmt.Errorf("snowflaketest: nil public key for user %s", u)
		}
		e.keys[strings.ToUpper(u)] = k
	}
	e.now = opts.Now
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case opts.ArrayBindingThreshold == 0:
		e.threshold = DefaultArrayBindingThreshold
	case opts.ArrayBindingThreshold < 0:
		e.threshold = 0
	default:
		e.threshold = opts.ArrayBindingThreshold
	}
	e.stageRoot = opts.StageDir
	if e.stageRoot == "" && opts.DBPath != "" {
		e.stageRoot = opts.DBPath + ".stages"
	}
	if e.stageRoot == "" {
		dir, err := os.MkdirTemp("", "snowflaketest-stages-")
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: stage directory: %w", err)
		}
		e.stageRoot, e.ownStage = dir, true
	} else if err := os.MkdirAll(e.stageRoot, 0o755); err != nil {
		return nil, fmt.Errorf("snowflaketest: stage directory: %w", err)
	}
	db, err := sql.Open("duckdb", opts.DBPath)
	if err != nil {
		e.cleanupStage()
		return nil, fmt.Errorf("snowflaketest: open duckdb: %w", err)
	}
	e.db = db
	limit := opts.MemoryLimit
	if limit == "" {
		limit = DefaultMemoryLimit
	}
	for _, q := range []string{"SET memory_limit = " + quoteString(limit), "SET temp_directory = " + quoteString(e.spillDir())} {
		if _, err := db.Exec(q); err != nil {
			_ = db.Close()
			e.cleanupStage()
			return nil, fmt.Errorf("snowflaketest: MemoryLimit: %w", err)
		}
	}
	if err := e.registerCopyBatch(db); err != nil {
		_ = db.Close()
		e.cleanupStage()
		return nil, fmt.Errorf("snowflaketest: open duckdb: %w", err)
	}
	if err := db.QueryRow("SELECT current_database()").Scan(&e.homeCatalog); err != nil {
		_ = db.Close()
		e.cleanupStage()
		return nil, fmt.Errorf("snowflaketest: open duckdb: %w", err)
	}
	if err := e.restore(context.Background()); err != nil {
		_ = db.Close()
		e.cleanupStage()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) cleanupStage() {
	if e.ownStage {
		_ = os.RemoveAll(e.stageRoot)
	} else {
		_ = os.RemoveAll(e.spillDir())
	}
}

// spillDir is where DuckDB spills beyond the memory limit.
func (e *Emulator) spillDir() string { return filepath.Join(e.stageRoot, "_duckdb_tmp") }

// restore re-attaches the databases of a persistent emulator.
func (e *Emulator) restore(ctx context.Context) error {
	if e.opts.DBPath == "" {
		return nil
	}
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS " + e.meta("databases") + " (name VARCHAR PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS " + e.meta("load_history") + " (table_key VARCHAR, file_key VARCHAR, PRIMARY KEY (table_key, file_key))",
	} {
		if _, err := e.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("snowflaketest: restore: %w", err)
		}
	}
	hist, err := e.db.QueryContext(ctx, "SELECT table_key, file_key FROM "+e.meta("load_history"))
	if err != nil {
		return fmt.Errorf("snowflaketest: restore: %w", err)
	}
	for hist.Next() {
		var tk, fk string
		if err := hist.Scan(&tk, &fk); err != nil {
			hist.Close()
			return fmt.Errorf("snowflaketest: restore: %w", err)
		}
		if e.loadMeta[tk] == nil {
			e.loadMeta[tk] = map[string]bool{}
		}
		e.loadMeta[tk][fk] = true
	}
	hist.Close()
	rows, err := e.db.QueryContext(ctx, "SELECT name FROM "+e.meta("databases"))
	if err != nil {
		return fmt.Errorf("snowflaketest: restore: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("snowflaketest: restore: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := e.db.ExecContext(ctx, "ATTACH "+quoteString(e.opts.DBPath+"."+fileSafe(n))+" AS "+quoteIdent(n)); err != nil {
			return fmt.Errorf("snowflaketest: restore database %s: %w", n, err)
		}
		e.databases[n] = true
	}
	return nil
}

// meta names one of the emulator's own tables in DuckDB's home catalog
// (persistent emulators only).
func (e *Emulator) meta(name string) string {
	return quoteIdent(e.homeCatalog) + ".main._sfemu_" + name
}

// recordLoads adds files to a table's load metadata, persisting them when
// the emulator has a DuckDB file.
func (e *Emulator) recordLoads(ctx context.Context, tableKey string, fileKeys []string) error {
	e.locked(func() {
		if e.loadMeta[tableKey] == nil {
			e.loadMeta[tableKey] = map[string]bool{}
		}
		for _, k := range fileKeys {
			e.loadMeta[tableKey][k] = true
		}
	})
	if e.opts.DBPath == "" {
		return nil
	}
	for _, k := range fileKeys {
		if _, err := e.db.ExecContext(ctx, "INSERT OR IGNORE INTO "+e.meta("load_history")+" VALUES (?, ?)", tableKey, k); err != nil {
			return fmt.Errorf("snowflaketest: load metadata: %w", err)
		}
	}
	return nil
}

// locked runs f holding the emulator's lock, released even if f panics.
func (e *Emulator) locked(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
}

// Close ends all sessions and closes the DuckDB database. It is safe to
// call more than once.
func (e *Emulator) Close() error {
	var sessions []*session
	wasClosed := false
	e.locked(func() {
		if e.closed {
			wasClosed = true
			return
		}
		e.closed = true
		for _, s := range e.sessions {
			sessions = append(sessions, s)
		}
		e.sessions, e.masters = map[string]*session{}, map[string]*session{}
	})
	if wasClosed {
		return nil
	}
	for _, s := range sessions {
		s.close()
	}
	err := e.db.Close()
	e.cleanupStage()
	if err != nil {
		return fmt.Errorf("snowflaketest: close duckdb: %w", err)
	}
	return nil
}

// StageDir returns the directory holding the internal stages' files.
func (e *Emulator) StageDir() string { return e.stageRoot }

// ServeHTTP implements http.Handler for the gosnowflake wire protocol.
//
// A handler that panics (a bug in the emulator) answers HTTP 500 and the
// emulator carries on: no lock is held across a panic.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			e.log.Error("request handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			http.Error(w, "snowflaketest: internal error (a bug in the emulator; see its log)", http.StatusInternalServerError)
		}
	}()
	e.log.Debug("request", "method", r.Method, "path", r.URL.Path)
	if r.URL.Path != "/queries/v1/query-request" {
		if f := e.takeFault(r.URL.Path, ""); f != nil {
			switch {
			case f.Panic:
				panic("snowflaketest: injected panic (Fault.Panic) on " + r.URL.Path)
			case f.Status != 0:
				http.Error(w, http.StatusText(f.Status), f.Status)
				return
			}
		}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/session/v1/login-request":
		e.handleLogin(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/queries/v1/query-request":
		e.handleQuery(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/queries/v1/abort-request":
		e.handleAbort(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/queries/") && strings.HasSuffix(r.URL.Path, "/result"):
		e.handleResult(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/session" && r.URL.Query().Get("delete") == "true":
		e.handleLogout(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/session/token-request":
		e.handleRenew(w, r)
	case r.Method == http.MethodPost && (r.URL.Path == "/session/heartbeat" || r.URL.Path == "/telemetry/send"):
		writeJSON(w, map[string]any{"success": true, "data": nil})
	case strings.HasPrefix(r.URL.Path, "/v1/data/pipes/"):
		e.handleSnowpipe(w, r)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, uploadPrefix):
		e.handleUpload(w, r)
	default:
		http.NotFound(w, r)
	}
}

type loginRequest struct {
	Data struct {
		LoginName   string `json:"LOGIN_NAME"`
		Password    string `json:"PASSWORD"`
		AccountName string `json:"ACCOUNT_NAME"`
		Auth        string `json:"AUTHENTICATOR"`
		Token       string `json:"TOKEN"`
	} `json:"data"`
}

func (e *Emulator) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeFailure(w, sqlErr(390101, "08004", "Invalid login request."), "")
		return
	}
	user := req.Data.LoginName
	switch a := strings.ToUpper(req.Data.Auth); a {
	case "", "SNOWFLAKE":
		if len(e.users) > 0 || len(e.keys) > 0 {
			pw, ok := e.users[strings.ToUpper(user)]
			if !ok || pw != req.Data.Password {
				writeFailure(w, sqlErr(errLoginFailed, "08004", "Incorrect username or password was specified."), "")
				return
			}
		}
	case "SNOWFLAKE_JWT":
		u, err := e.verifyJWT(req.Data.Token)
		if err != nil {
			e.log.Debug("key-pair login rejected", "reason", err.Error())
			writeFailure(w, sqlErr(errJWTInvalid, "08004", "JWT token is invalid."), "")
			return
		}
		user = u
	default:
		writeFailure(w, sqlErr(390195, "08004", "Authenticator %s is not supported by snowflaketest.", a), "")
		return
	}
	q := r.URL.Query()
	s, err := e.newSession(r.Context(), strings.ToUpper(user), q.Get("databaseName"), q.Get("schemaName"), q.Get("warehouse"), q.Get("roleName"))
	if err != nil {
		writeFailure(w, mapDuckError(err), "")
		return
	}
	writeJSON(w, map[string]any{
		"success": true, "code": nil, "message": nil,
		"data": map[string]any{
			"token": s.token, "masterToken": s.master, "sessionId": s.id,
			"validityInSeconds": 3600, "masterValidityInSeconds": 14400,
			"parameters":  e.sessionParameters(),
			"sessionInfo": s.info(),
		},
	})
}

func (e *Emulator) sessionParameters() []map[string]any {
	return []map[string]any{
		{"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": e.threshold},
		{"name": "TIMEZONE", "value": "UTC"},
		{"name": "CLIENT_SESSION_KEEP_ALIVE", "value": false},
		{"name": "CLIENT_PREFETCH_THREADS", "value": 4},
	}
}

func (e *Emulator) handleLogout(w http.ResponseWriter, r *http.Request) {
	tok := sessionToken(r.Header.Get("Authorization"))
	var s *session
	e.locked(func() {
		s = e.sessions[tok]
		if s != nil {
			delete(e.sessions, tok)
			delete(e.masters, s.master)
		}
	})
	if s != nil {
		s.close()
	}
	writeJSON(w, map[string]any{"success": true, "data": nil})
}

func (e *Emulator) handleRenew(w http.ResponseWriter, r *http.Request) {
	master := sessionToken(r.Header.Get("Authorization"))
	var s *session
	e.locked(func() {
		s = e.masters[master]
		if s != nil {
			delete(e.sessions, s.token)
			s.token = randomHex(16)
			e.sessions[s.token] = s
		}
	})
	if s == nil {
		writeFailure(w, sqlErr(errSessionGone, "08001", "Session no longer exists.  New login required to access the service."), "")
		return
	}
	writeJSON(w, map[string]any{"success": true, "data": map[string]any{
		"sessionToken": s.token, "validityInSecondsST": 3600, "masterToken": s.master, "validityInSecondsMT": 14400}})
}

// sessionToken extracts the token of `Snowflake Token="..."`.
func sessionToken(h string) string {
	_, v, ok := strings.Cut(h, `Token="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}

func (e *Emulator) lookupSession(r *http.Request) (*session, error) {
	tok := sessionToken(r.Header.Get("Authorization"))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	s := e.sessions[tok]
	if s == nil {
		return nil, sqlErr(errSessionGone, "08001", "Session no longer exists.  New login required to access the service.")
	}
	return s, nil
}

// queryRequest is the body of /queries/v1/query-request.
type queryRequest struct {
	SQLText    string                  `json:"sqlText"`
	AsyncExec  bool                    `json:"asyncExec"`
	Bindings   map[string]bindingParam `json:"bindings"`
	BindStage  string                  `json:"bindStage"`
	Parameters map[string]any          `json:"parameters"`
}

type bindingParam struct {
	Type   string          `json:"type"`
	Value  json.RawMessage `json:"value"`
	Format string          `json:"fmt"`
}

// hostOf returns the host:port the request was addressed to.
func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return "127.0.0.1"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeFailure(w http.ResponseWriter, e *SQLError, qid string) {
	writeJSON(w, map[string]any{
		"success": false,
		"code":    fmt.Sprintf("%06d", e.Number),
		"message": e.Message,
		"data":    map[string]any{"sqlState": e.SQLState, "queryId": qid, "errorCode": strconv.Itoa(e.Number)},
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newQueryID returns a Snowflake-looking query id (a random UUID).
func newQueryID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func strp(s string) *string { return &s }

// fileSafe turns a name into a file-name-safe string.
func fileSafe(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

// Server is an Emulator listening on a loopback port, for tests, in the
// manner of httptest.Server. It is safe for concurrent use.
type Server struct {
	*Emulator
	// URL is the base URL, http://127.0.0.1:PORT.
	URL  string
	host string
	port int
	hs   *httptest.Server
}

// NewServer starts an emulator on 127.0.0.1 at a free port. The caller must
// Close it.
func NewServer(opts Options) (*Server, error) {
	e, err := New(opts)
	if err != nil {
		return nil, err
	}
	hs := httptest.NewServer(e)
	host, portStr, err := net.SplitHostPort(hs.Listener.Addr().String())
	if err != nil {
		hs.Close()
		_ = e.Close()
		return nil, fmt.Errorf("snowflaketest: listener address: %w", err)
	}
	port, _ := strconv.Atoi(portStr)
	return &Server{Emulator: e, URL: hs.URL, host: host, port: port, hs: hs}, nil
}

// Close stops the HTTP server and closes the emulator.
func (s *Server) Close() error {
	s.hs.Close()
	return s.Emulator.Close()
}

// Config returns a ready gosnowflake.Config for this server: plain HTTP,
// account "emulator", user "TEST" with password "test" (replace them when
// Options.Users is set), database TEST_DB, schema PUBLIC and at most two
// retries. The driver's telemetry posts are accepted and dropped. Each call returns a fresh copy.
func (s *Server) Config() gosnowflake.Config {
	return gosnowflake.Config{
		Account:       "emulator",
		User:          "TEST",
		Password:      "test",
		Database:      "TEST_DB",
		Schema:        "PUBLIC",
		Warehouse:     "TEST_WH",
		Protocol:      "http",
		Host:          s.host,
		Port:          s.port,
		MaxRetryCount: 2,
	}
}

// OpenDB returns a *sql.DB that connects through the real gosnowflake
// driver with Config. The caller must Close it.
func (s *Server) OpenDB() *sql.DB {
	cfg := s.Config()
	return sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
}

// relStage returns p relative to the stage root, for readable paths.
func (e *Emulator) relStage(p string) string {
	r, err := filepath.Rel(e.stageRoot, p)
	if err != nil {
		return p
	}
	return r
}
