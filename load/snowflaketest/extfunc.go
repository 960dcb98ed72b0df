package snowflaketest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// apiIntegration is a CREATE API INTEGRATION definition.
type apiIntegration struct {
	name, provider, roleARN string
	allowed, blocked        []string
	enabled                 bool
	apiKey                  string // sent as x-api-key; never shown
	comment                 string
	created                 time.Time
}

// extParam is one declared argument of an external function.
type extParam struct{ name, typ string }

// extFunction is a CREATE EXTERNAL FUNCTION definition. Each one is a
// DuckDB scalar function (udf) that sends its rows to the remote service.
type extFunction struct {
	key, db, sch, name string
	params             []extParam
	returns            string // Snowflake type as written, upper case
	strict             bool   // RETURNS NULL ON NULL INPUT
	integration        string
	url                string
	headers            [][2]string // HEADERS, sent as sf-custom-<name>
	contextHeaders     []string    // CONTEXT_HEADERS, sent as sf-context-<name>
	maxBatchRows       int
	compression        string
	comment            string
	udf                string
	created            time.Time
}

// Snowflake's external function errors. The numbers are those Snowflake
// gives for a failed remote call (100351); the emulator uses the same
// number for malformed answers, whose numbers are not documented.
const errExternal = 100351

func extErr(format string, args ...any) *SQLError {
	return sqlErr(errExternal, "P0000", format, args...)
}

// integrationDDL answers CREATE [OR REPLACE] API INTEGRATION [IF NOT
// EXISTS] name API_PROVIDER = … API_AWS_ROLE_ARN = … API_ALLOWED_PREFIXES
// = (…) [API_BLOCKED_PREFIXES = (…)] [API_KEY = …] ENABLED = TRUE|FALSE
// [COMMENT = …], ALTER API INTEGRATION name SET ENABLED = …, and DROP
// [API] INTEGRATION.
func (e *Emulator) integrationDDL(_ context.Context, s *session, d ddlArgs) (*result, error) {
	if len(d.names) != 1 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid integration name")
	}
	name := d.names[0]
	e.ext.mu.Lock()
	old := e.ext.integrations[name]
	e.ext.mu.Unlock()
	switch d.verb {
	case "DROP":
		if old == nil {
			return missingObject(d, "Integration", name, name)
		}
		e.ext.mu.Lock()
		delete(e.ext.integrations, name)
		e.ext.mu.Unlock()
		return status(name + " successfully dropped."), nil
	case "ALTER":
		if old == nil {
			return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nIntegration '%s' does not exist or not authorized.", name)
		}
		if d.end >= len(d.ws) || !d.ws[d.end].is("SET") {
			return nil, unsupported("ALTER API INTEGRATION other than SET")
		}
		opts, _, err := parseOptions(d.ws, d.end+1)
		if err != nil {
			return nil, err
		}
		e.ext.mu.Lock()
		defer e.ext.mu.Unlock()
		cp := *old
		if err := cp.apply(opts); err != nil {
			return nil, err
		}
		e.ext.integrations[name] = &cp
		return status("Statement executed successfully."), nil
	}
	if old != nil && !d.replace {
		return objectExists(d, name)
	}
	opts, end, err := parseOptions(d.ws, d.end)
	if err != nil {
		return nil, err
	}
	if end < len(d.ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error line 1 at position %d unexpected '%s'.", d.ws[end].pos, d.ws[end].text)
	}
	in := &apiIntegration{name: name, created: e.now()}
	var missing []string
	for _, k := range []string{"API_PROVIDER", "API_ALLOWED_PREFIXES", "ENABLED"} {
		if _, ok := opts[k]; !ok {
			missing = append(missing, k)
		}
	}
	provider := strings.ToUpper(opts["API_PROVIDER"].s)
	switch provider {
	case "AWS_API_GATEWAY", "AWS_PRIVATE_API_GATEWAY", "AWS_GOV_API_GATEWAY", "AWS_GOV_PRIVATE_API_GATEWAY":
		if _, ok := opts["API_AWS_ROLE_ARN"]; !ok {
			missing = append(missing, "API_AWS_ROLE_ARN")
		}
	case "AZURE_API_MANAGEMENT":
		for _, k := range []string{"AZURE_TENANT_ID", "AZURE_AD_APPLICATION_ID"} {
			if _, ok := opts[k]; !ok {
				missing = append(missing, k)
			}
		}
	case "GOOGLE_API_GATEWAY":
		if _, ok := opts["GOOGLE_AUDIENCE"]; !ok {
			missing = append(missing, "GOOGLE_AUDIENCE")
		}
	case "":
	default:
		return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'API_PROVIDER'", provider)
	}
	if len(missing) > 0 {
		return nil, sqlErr(errSyntax, "42601", "SQL compilation error:\nMissing option(s): [%s]", strings.Join(missing, ", "))
	}
	if err := in.apply(opts); err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	e.ext.integrations[name] = in
	e.ext.mu.Unlock()
	return status("Integration " + name + " successfully created."), nil
}

// apply sets the integration's properties from options.
func (in *apiIntegration) apply(opts map[string]optVal) error {
	for k, v := range opts {
		switch k {
		case "API_PROVIDER":
			in.provider = strings.ToUpper(v.s)
		case "API_AWS_ROLE_ARN":
			if !strings.HasPrefix(v.s, "arn:") {
				return sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value ['%s'] for parameter 'API_AWS_ROLE_ARN'", v.s)
			}
			in.roleARN = v.s
		case "API_ALLOWED_PREFIXES", "API_BLOCKED_PREFIXES":
			list := v.list
			if list == nil && v.s != "" {
				list = []string{v.s}
			}
			for _, p := range list {
				if !strings.HasPrefix(p, "https://") {
					return sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value ['%s'] for parameter '%s': prefixes must start with https://", p, k)
				}
			}
			if k == "API_ALLOWED_PREFIXES" {
				in.allowed = list
			} else {
				in.blocked = list
			}
		case "ENABLED":
			on, err := boolOpt(opts, k, true)
			if err != nil {
				return err
			}
			in.enabled = on
		case "API_KEY":
			in.apiKey = v.s
		case "COMMENT":
			in.comment = v.s
		case "AZURE_TENANT_ID", "AZURE_AD_APPLICATION_ID", "GOOGLE_AUDIENCE", "API_USER_AUTHENTICATION":
		default:
			return sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid property '%s' for 'API INTEGRATION'", k)
		}
	}
	return nil
}

// allows reports whether the integration lets a function call url.
func (in *apiIntegration) allows(url string) bool {
	for _, b := range in.blocked {
		if strings.HasPrefix(url, b) {
			return false
		}
	}
	for _, a := range in.allowed {
		if strings.HasPrefix(url, a) {
			return true
		}
	}
	return false
}

func (e *Emulator) lookupIntegration(name string) (*apiIntegration, error) {
	e.ext.mu.Lock()
	in := e.ext.integrations[strings.ToUpper(name)]
	e.ext.mu.Unlock()
	if in == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nIntegration '%s' does not exist or not authorized.", name)
	}
	return in, nil
}

// descIntegration answers DESC [API] INTEGRATION. The API key is masked.
func (e *Emulator) descIntegration(_ context.Context, _ *session, names []string) (*result, error) {
	if len(names) != 1 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid integration name")
	}
	in, err := e.lookupIntegration(names[0])
	if err != nil {
		return nil, err
	}
	res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("property"), textCol("property_type"), textCol("property_value"), textCol("property_default")}}
	key := ""
	if in.apiKey != "" {
		key = "********"
	}
	for _, p := range [][3]string{
		{"ENABLED", "Boolean", strconv.FormatBool(in.enabled)},
		{"API_KEY", "String", key},
		{"API_ALLOWED_PREFIXES", "List", strings.Join(in.allowed, ",")},
		{"API_BLOCKED_PREFIXES", "List", strings.Join(in.blocked, ",")},
		{"API_PROVIDER", "String", in.provider},
		{"API_AWS_IAM_USER_ARN", "String", "arn:aws:iam::000000000000:user/snowflaketest"},
		{"API_AWS_ROLE_ARN", "String", in.roleARN},
		{"API_AWS_EXTERNAL_ID", "String", "SNOWFLAKETEST_SFCRole=0_" + hex.EncodeToString([]byte(in.name))},
		{"COMMENT", "String", in.comment},
	} {
		res.rowset = append(res.rowset, []*string{strp(p[0]), strp(p[1]), strp(p[2]), strp("")})
	}
	return res, nil
}

// showIntegrations answers SHOW [API] INTEGRATIONS.
func (e *Emulator) showIntegrations(match func(name string) bool) *result {
	e.ext.mu.Lock()
	var list []*apiIntegration
	for _, in := range e.ext.integrations {
		if match(in.name) {
			list = append(list, in)
		}
	}
	e.ext.mu.Unlock()
	sortBy(list, func(in *apiIntegration) string { return in.name })
	res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("name"), textCol("type"), textCol("category"), textCol("enabled"), textCol("comment"), timeCol("created_on")}}
	for _, in := range list {
		res.rowset = append(res.rowset, []*string{strp(in.name), strp("EXTERNAL_API"), strp("API"), strp(strconv.FormatBool(in.enabled)), strp(in.comment), ltz(in.created)})
	}
	return res
}

// extFunctionDDL answers CREATE [OR REPLACE] [SECURE] EXTERNAL FUNCTION,
// and DROP FUNCTION / ALTER FUNCTION of an external function.
func (e *Emulator) extFunctionDDL(ctx context.Context, s *session, d ddlArgs) (*result, error) {
	key, db, sch, name, err := objectKey(s, d.names)
	if err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	old := e.ext.functions[key]
	e.ext.mu.Unlock()
	switch d.verb {
	case "DROP":
		if old == nil {
			return missingObject(d, "Function", key, name)
		}
		e.ext.mu.Lock()
		delete(e.ext.functions, key)
		e.ext.mu.Unlock()
		return status(name + " successfully dropped."), nil
	case "ALTER":
		return nil, unsupported("ALTER FUNCTION")
	}
	if old != nil && !d.replace {
		return objectExists(d, name)
	}
	f := &extFunction{key: key, db: db, sch: sch, name: name, created: e.now(), compression: "AUTO"}
	ws := d.ws
	i := d.end
	if i >= len(ws) || ws[i].text != "(" {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: EXTERNAL FUNCTION needs an argument list")
	}
	c := matchingParen(ws, i)
	if c < 0 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed argument list")
	}
	for _, a := range splitArgs(ws[i+1 : c]) {
		if len(a) < 2 {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: an argument needs a name and a type")
		}
		f.params = append(f.params, extParam{name: identName(a[0]), typ: typeText(d.text, a[1:])})
	}
	i = c + 1
	if i+1 >= len(ws) || !ws[i].is("RETURNS") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: EXTERNAL FUNCTION needs RETURNS <type>")
	}
	j := i + 2
	if j < len(ws) && ws[j].text == "(" {
		if j = matchingParen(ws, j) + 1; j == 0 {
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed return type")
		}
	}
	if ws[i+1].is("TABLE") {
		return nil, unsupported("external table functions")
	}
	f.returns = typeText(d.text, ws[i+1:j])
	i = j
	urlSet := false
	for i < len(ws) && !urlSet {
		w := ws[i]
		val := func() (token, error) {
			if i+2 >= len(ws) || ws[i+1].text != "=" {
				return token{}, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: missing '=' after %s.", w.upper())
			}
			i += 3
			return ws[i-1], nil
		}
		switch {
		case w.is("NOT") && i+1 < len(ws) && ws[i+1].is("NULL"):
			i += 2
		case w.is("NULL"), w.is("VOLATILE"), w.is("IMMUTABLE"):
			i++
		case w.is("CALLED"): // CALLED ON NULL INPUT
			i += 4
		case w.is("RETURNS"): // RETURNS NULL ON NULL INPUT
			f.strict = true
			i += 5
		case w.is("STRICT"):
			f.strict = true
			i++
		case w.is("COMMENT"):
			t, err := val()
			if err != nil {
				return nil, err
			}
			f.comment = unquoteString(t.text)
		case w.is("API_INTEGRATION"):
			t, err := val()
			if err != nil {
				return nil, err
			}
			f.integration = identName(t)
		case w.is("MAX_BATCH_ROWS"):
			t, err := val()
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(t.text)
			if err != nil || n < 1 {
				return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'MAX_BATCH_ROWS'", t.text)
			}
			f.maxBatchRows = n
		case w.is("COMPRESSION"):
			t, err := val()
			if err != nil {
				return nil, err
			}
			f.compression = strings.ToUpper(scalarText(t))
			switch f.compression {
			case "AUTO", "GZIP", "NONE":
			case "DEFLATE":
				return nil, unsupported("COMPRESSION = DEFLATE for external functions")
			default:
				return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'COMPRESSION'", f.compression)
			}
		case w.is("HEADERS"), w.is("CONTEXT_HEADERS"):
			if i+2 >= len(ws) || ws[i+1].text != "=" || ws[i+2].text != "(" {
				return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: %s = ( … ) expected", w.upper())
			}
			end := matchingParen(ws, i+2)
			if end < 0 {
				return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed %s", w.upper())
			}
			for _, a := range splitArgs(ws[i+3 : end]) {
				if w.is("HEADERS") {
					if len(a) != 3 || a[0].kind != tkString || a[1].text != "=" || a[2].kind != tkString {
						return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: HEADERS entries are 'name' = 'value'")
					}
					f.headers = append(f.headers, [2]string{strings.ToLower(unquoteString(a[0].text)), unquoteString(a[2].text)})
				} else {
					if len(a) != 1 || a[0].kind != tkWord {
						return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: CONTEXT_HEADERS lists context functions")
					}
					f.contextHeaders = append(f.contextHeaders, a[0].upper())
				}
			}
			i = end + 1
		case w.is("REQUEST_TRANSLATOR"), w.is("RESPONSE_TRANSLATOR"):
			return nil, unsupported("external function " + w.upper())
		case w.is("AS"):
			if i+1 >= len(ws) || ws[i+1].kind != tkString {
				return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: AS needs the URL as a string")
			}
			f.url = unquoteString(ws[i+1].text)
			i += 2
			urlSet = true
		default:
			return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error line 1 at position %d unexpected '%s'.", w.pos, w.text)
		}
	}
	if !urlSet || i < len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: EXTERNAL FUNCTION ends with AS '<url>'")
	}
	if f.integration == "" {
		return nil, sqlErr(errSyntax, "42601", "SQL compilation error:\nMissing option(s): [API_INTEGRATION]")
	}
	in, err := e.lookupIntegration(f.integration)
	if err != nil {
		return nil, err
	}
	if !in.allows(f.url) {
		return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\nURL '%s' is not allowed by integration '%s'.", f.url, in.name)
	}
	e.ext.mu.Lock()
	e.ext.udfSeq++
	f.udf = fmt.Sprintf("__SNOWFLAKETEST_EXTFN_%d", e.ext.udfSeq)
	e.ext.mu.Unlock()
	if err := duckdb.RegisterScalarUDF(s.conn, f.udf, &extUDF{e: e, f: f}); err != nil {
		return nil, fmt.Errorf("snowflaketest: register external function %s: %w", key, err)
	}
	e.ext.mu.Lock()
	e.ext.functions[key] = f
	e.ext.mu.Unlock()
	return status("Function " + name + " successfully created."), nil
}

// typeText is the upper-cased source text of a type's tokens.
func typeText(text string, ws []token) string {
	if len(ws) == 0 {
		return ""
	}
	last := ws[len(ws)-1]
	return strings.ToUpper(strings.TrimSpace(text[ws[0].pos : last.pos+len(last.text)]))
}

func (f *extFunction) signature() string {
	var parts []string
	for _, p := range f.params {
		parts = append(parts, p.name+" "+p.typ)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// lookupExtFunction resolves a name to an external function, or nil.
func (e *Emulator) lookupExtFunction(s *session, names []string) *extFunction {
	key, _, _, _, err := objectKey(s, names)
	if err != nil {
		return nil
	}
	e.ext.mu.Lock()
	defer e.ext.mu.Unlock()
	return e.ext.functions[key]
}

// descExtFunction answers DESC FUNCTION of an external function.
func (e *Emulator) descExtFunction(_ context.Context, s *session, names []string) (*result, error) {
	f := e.lookupExtFunction(s, names)
	if f == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nFunction '%s' does not exist or not authorized.", strings.Join(names, "."))
	}
	res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("property"), textCol("value")}}
	null := "CALLED ON NULL INPUT"
	if f.strict {
		null = "RETURNS NULL ON NULL INPUT"
	}
	batch := "not set"
	if f.maxBatchRows > 0 {
		batch = strconv.Itoa(f.maxBatchRows)
	}
	for _, p := range [][2]string{{"signature", f.signature()}, {"returns", f.returns}, {"null handling", null}, {"volatility", "VOLATILE"},
		{"body", f.url}, {"headers", fmt.Sprint(f.headers)}, {"context_headers", strings.Join(f.contextHeaders, ",")},
		{"max_batch_rows", batch}, {"compression", f.compression}, {"api_integration", f.integration}} {
		res.rowset = append(res.rowset, []*string{strp(p[0]), strp(p[1])})
	}
	return res, nil
}

// showExtFunctions answers SHOW EXTERNAL FUNCTIONS.
func (e *Emulator) showExtFunctions(match func(db, sch, name string) bool) *result {
	e.ext.mu.Lock()
	var list []*extFunction
	for _, f := range e.ext.functions {
		if match(f.db, f.sch, f.name) {
			list = append(list, f)
		}
	}
	e.ext.mu.Unlock()
	sortBy(list, func(f *extFunction) string { return f.key })
	res := &result{typeID: stmtSelect, rowtype: []rowType{timeCol("created_on"), textCol("name"), textCol("schema_name"), textCol("is_builtin"),
		textCol("is_aggregate"), textCol("is_ansi"), fixedCol("min_num_arguments"), fixedCol("max_num_arguments"), textCol("arguments"),
		textCol("description"), textCol("catalog_name"), textCol("is_table_function"), textCol("valid_for_clustering"), textCol("is_secure"),
		textCol("is_external_function"), textCol("language")}}
	for _, f := range list {
		var types []string
		for _, p := range f.params {
			types = append(types, p.typ)
		}
		n := strconv.Itoa(len(f.params))
		res.rowset = append(res.rowset, []*string{ltz(f.created), strp(f.name), strp(f.sch), strp("N"), strp("N"), strp("N"), strp(n), strp(n),
			strp(f.name + "(" + strings.Join(types, ", ") + ") RETURN " + f.returns), strp(f.comment), strp(f.db), strp("N"), strp("N"),
			strp("N"), strp("Y"), strp("EXTERNAL")})
	}
	return res
}

// extCallKey keys the statement's *extCall in the context DuckDB hands to
// the scalar functions.
type extCallKey struct{}

// extCall is the state of one statement's external function calls: its
// query id, the answers of batches already sent (DuckDB may evaluate an
// expression twice, as when a result is re-read with casts; a batch is
// sent once per statement) and the first failure.
type extCall struct {
	queryID string
	mu      sync.Mutex
	answers map[[32]byte][]json.RawMessage
	seq     int
	err     *SQLError
}

func (c *extCall) fail(err *SQLError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *extCall) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return nil
	}
	return c.err
}

// callExtFunction rewrites one call f(args) into the DuckDB scalar
// function, semi-structured arguments passed as JSON text, the result
// cast to the declared return type.
func (rw *extRewrite) callExtFunction(ctx context.Context, f *extFunction, argToks []token, pos int) ([]token, error) {
	args := splitArgs(argToks)
	if len(args) != len(f.params) {
		return nil, sqlErr(1044, "42P13", "SQL compilation error:\nInvalid argument types for function '%s': %d arguments given, %s expected.", f.name, len(args), f.signature())
	}
	if rw.call == nil {
		rw.call = &extCall{queryID: newQueryID()}
	}
	out := sqlToks("CAST("+f.udf+"(", pos)
	for i, a := range args {
		inner, err := rw.rewrite(ctx, a)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, sqlToks(", ", pos)...)
		}
		if semiStructured(f.params[i].typ) {
			out = append(out, sqlToks("CAST((", pos)...)
			out = append(out, inner...)
			out = append(out, sqlToks(") AS VARCHAR)", pos)...)
		} else {
			out = append(out, inner...)
		}
	}
	return append(out, sqlToks(") AS "+f.returns+")", pos)...), nil
}

func semiStructured(typ string) bool {
	switch strings.Fields(typ + " ")[0] {
	case "VARIANT", "OBJECT", "ARRAY":
		return true
	}
	return false
}

// extUDF is the DuckDB scalar function behind an external function.
type extUDF struct {
	e *Emulator
	f *extFunction
}

func (u *extUDF) Config() duckdb.ScalarFuncConfig {
	var in []duckdb.TypeInfo
	for range u.f.params {
		anyType, _ := duckdb.NewTypeInfo(duckdb.TYPE_ANY)
		in = append(in, anyType)
	}
	out, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	return duckdb.ScalarFuncConfig{InputTypeInfos: in, ResultTypeInfo: out, Volatile: true, SpecialNullHandling: true}
}

func (u *extUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.exec}
}

// exec sends one DuckDB chunk of rows to the remote service, in batches of
// at most MAX_BATCH_ROWS, and sets each row's result.
func (u *extUDF) exec(ctx context.Context, st *duckdb.ChunkIteratorState) error {
	call, _ := ctx.Value(extCallKey{}).(*extCall)
	if call == nil {
		call = &extCall{queryID: newQueryID()}
	}
	var rows [][]json.RawMessage
	var send []int // indexes into rows of the rows sent
	for r, err := range st.Rows() {
		if err != nil {
			return err
		}
		args := make([]json.RawMessage, r.ColumnCount())
		hasNull := false
		for c := range args {
			v := *r.GetValuePtr(c)
			if v == nil {
				hasNull = true
			}
			args[c] = toJSONArg(v, u.f.params[c].typ)
		}
		if !(hasNull && u.f.strict) {
			send = append(send, len(rows))
		}
		rows = append(rows, args)
	}
	batch := make([][]json.RawMessage, len(send))
	for i, k := range send {
		batch[i] = rows[k]
	}
	answers, err := u.e.callRemote(ctx, u.f, call, batch)
	if err != nil {
		call.fail(err)
		return err
	}
	results := make([]any, len(rows))
	for i, k := range send {
		results[k] = fromJSONResult(answers[i], u.f.returns)
	}
	k := 0
	for r, err := range st.Rows() {
		if err != nil {
			return err
		}
		if err := r.SetResult(results[k]); err != nil {
			return err
		}
		k++
	}
	return nil
}

// toJSONArg serializes an argument as Snowflake does: numbers and booleans
// as JSON numbers and booleans, VARIANT/OBJECT/ARRAY as JSON values,
// everything else (text, dates, timestamps, binary) as JSON strings, NULL
// as null.
func toJSONArg(v driver.Value, typ string) json.RawMessage {
	str := func(s string) json.RawMessage {
		b, _ := json.Marshal(s)
		return b
	}
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null")
	case string:
		if semiStructured(typ) {
			if json.Valid([]byte(x)) {
				var buf bytes.Buffer
				if json.Compact(&buf, []byte(x)) == nil {
					return buf.Bytes()
				}
			}
		}
		return str(x)
	case bool:
		return json.RawMessage(strconv.FormatBool(x))
	case float32:
		return floatJSON(float64(x))
	case float64:
		return floatJSON(x)
	case duckdb.Decimal:
		return json.RawMessage(formatDecimal(x))
	case *big.Int:
		return json.RawMessage(x.String())
	case time.Time:
		switch strings.Fields(typ + " ")[0] {
		case "DATE":
			return str(x.UTC().Format("2006-01-02"))
		case "TIME":
			return str(x.UTC().Format("15:04:05"))
		case "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
			return str(x.Format("2006-01-02 15:04:05.000 -0700"))
		}
		return str(x.UTC().Format("2006-01-02 15:04:05.000"))
	case []byte:
		return str(strings.ToUpper(hex.EncodeToString(x)))
	case map[string]any:
		if at, ok := x["sf_instant"].(time.Time); ok { // a TIMESTAMP_TZ (tzStruct)
			off, _ := x["sf_offset"].(int16)
			return str(at.In(time.FixedZone("", int(off)*60)).Format("2006-01-02 15:04:05.000 -0700"))
		}
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return json.RawMessage(fmt.Sprint(x))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return str(fmt.Sprint(v))
	}
	return b
}

func floatJSON(f float64) json.RawMessage {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b, _ := json.Marshal(strconv.FormatFloat(f, 'g', -1, 64))
		return b
	}
	return json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64))
}

// fromJSONResult turns one answered value into the text the DuckDB
// function returns (cast afterwards to the declared type). JSON null is
// SQL NULL.
func fromJSONResult(raw json.RawMessage, returns string) any {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	if semiStructured(returns) {
		var buf bytes.Buffer
		if json.Compact(&buf, t) == nil {
			return buf.String()
		}
		return string(t)
	}
	if t[0] == '"' {
		var s string
		if json.Unmarshal(t, &s) == nil {
			return s
		}
	}
	return string(t)
}

// callRemote sends rows to the function's service in batches and returns
// one answer per row, in order.
func (e *Emulator) callRemote(ctx context.Context, f *extFunction, call *extCall, rows [][]json.RawMessage) ([]json.RawMessage, *SQLError) {
	if len(rows) == 0 {
		return nil, nil
	}
	in, err := e.lookupIntegration(f.integration)
	if err != nil {
		var se *SQLError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, extErr("Request failed for external function %s: %v", f.name, err)
	}
	if !in.enabled {
		return nil, extErr("Request failed for external function %s: API integration %s is disabled.", f.name, in.name)
	}
	if !in.allows(f.url) {
		return nil, extErr("Request failed for external function %s: URL is not allowed by API integration %s.", f.name, in.name)
	}
	size := len(rows)
	if f.maxBatchRows > 0 {
		size = f.maxBatchRows
	}
	out := make([]json.RawMessage, 0, len(rows))
	for start := 0; start < len(rows); start += size {
		part := rows[start:min(start+size, len(rows))]
		data := make([][]json.RawMessage, len(part))
		for i, r := range part {
			data[i] = append([]json.RawMessage{json.RawMessage(strconv.Itoa(i))}, r...)
		}
		body, merr := json.Marshal(map[string]any{"data": data})
		if merr != nil {
			return nil, extErr("Request failed for external function %s: %v", f.name, merr)
		}
		sum := sha256.Sum256(append([]byte(f.key+"\x00"), body...))
		call.mu.Lock()
		ans, seen := call.answers[sum]
		call.seq++
		batchID := call.queryID + "-" + strconv.Itoa(call.seq)
		call.mu.Unlock()
		if !seen {
			var serr *SQLError
			ans, serr = e.sendBatch(ctx, f, in, call.queryID, batchID, body, len(part))
			if serr != nil {
				return nil, serr
			}
			call.mu.Lock()
			if call.answers == nil {
				call.answers = map[[32]byte][]json.RawMessage{}
			}
			call.answers[sum] = ans
			call.mu.Unlock()
		}
		out = append(out, ans...)
	}
	return out, nil
}

// maxAttempts bounds the requests for one batch whatever the waits.
const maxAttempts = 1000

// retryWait is the wait before retry n (1-based) of a batch.
func (e *Emulator) retryWait(n int) time.Duration {
	if e.opts.ExternalRetryBackoff != nil {
		return e.opts.ExternalRetryBackoff(n)
	}
	d := 100 * time.Millisecond << min(n-1, 6)
	return min(d, 5*time.Second)
}

// sendBatch posts one batch, retrying 429, 5xx and transport failures with
// the same batch id until the retry budget is spent, and polls a 202 with
// GET. It returns the answered values in row order.
func (e *Emulator) sendBatch(ctx context.Context, f *extFunction, in *apiIntegration, queryID, batchID string, body []byte, n int) ([]json.RawMessage, *SQLError) {
	budget := e.opts.ExternalRetryTimeout
	if budget <= 0 {
		budget = 5 * time.Minute
	}
	var waited time.Duration
	method := http.MethodPost
	for attempt := 1; ; attempt++ {
		status, hdr, resp, terr := e.roundTrip(ctx, f, in, method, queryID, batchID, body)
		retry := false
		switch {
		case terr != nil:
			if ctx.Err() != nil {
				return nil, sqlErr(604, "57014", "SQL execution canceled")
			}
			retry = true
		case status == http.StatusAccepted:
			method = http.MethodGet // poll for the asynchronous result
			retry = true
		case status == http.StatusTooManyRequests || status >= 500:
			retry = true
		case status != http.StatusOK:
			return nil, extErr("Request failed for external function %s with remote service error: %d '%s'", f.name, status, clip(resp))
		}
		if retry {
			wait := e.retryWait(attempt)
			if waited+wait > budget || attempt >= maxAttempts {
				if terr != nil {
					return nil, extErr("Request failed for external function %s. Error: %v", f.name, terr)
				}
				return nil, extErr("Request failed for external function %s with remote service error: %d '%s'", f.name, status, clip(resp))
			}
			waited += wait
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, sqlErr(604, "57014", "SQL execution canceled")
				case <-t.C:
				}
			}
			continue
		}
		return parseAnswer(f, hdr, resp, n)
	}
}

func clip(b []byte) string {
	const max = 500
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// roundTrip sends one request with Snowflake's headers to the in-process
// handler Options.ExternalServices names for the URL, or over HTTP.
func (e *Emulator) roundTrip(ctx context.Context, f *extFunction, in *apiIntegration, method, queryID, batchID string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	payload := body
	if method == http.MethodPost {
		if f.compression == "GZIP" {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			_ = zw.Close()
			payload = buf.Bytes()
		}
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "snowflake/1.0")
	if method == http.MethodPost && f.compression == "GZIP" {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Accept-Encoding", "gzip")
	h.Set("sf-external-function-format", "json")
	h.Set("sf-external-function-format-version", "1.0")
	h.Set("sf-external-function-current-query-id", queryID)
	h.Set("sf-external-function-query-batch-id", batchID)
	b64 := base64.StdEncoding.EncodeToString
	fq := f.db + "." + f.sch + "." + f.name
	h.Set("sf-external-function-name", fq)
	h.Set("sf-external-function-name-base64", b64([]byte(fq)))
	h.Set("sf-external-function-signature", f.signature())
	h.Set("sf-external-function-signature-base64", b64([]byte(f.signature())))
	h.Set("sf-external-function-return-type", f.returns)
	h.Set("sf-external-function-return-type-base64", b64([]byte(f.returns)))
	if in.apiKey != "" {
		h.Set("x-api-key", in.apiKey)
	}
	for _, kv := range f.headers {
		h.Set("sf-custom-"+kv[0], kv[1])
	}
	for _, c := range f.contextHeaders {
		h.Set("sf-context-"+strings.ReplaceAll(strings.ToLower(c), "_", "-"), e.contextValue(c))
	}
	var resp *http.Response
	if handler := e.serviceFor(f.url); handler != nil {
		if req.Body == nil {
			req.Body = http.NoBody
		}
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != nil {
					rec = httptest.NewRecorder()
					rec.WriteHeader(http.StatusBadGateway)
					_, _ = rec.WriteString(`{"message": "Internal server error"}`)
				}
			}()
			handler.ServeHTTP(rec, req)
		}()
		resp = rec.Result()
	} else {
		client := e.opts.ExternalClient
		if client == nil {
			client = http.DefaultClient
		}
		resp, err = client.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
	}
	defer resp.Body.Close()
	var rb io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return 0, nil, nil, err
		}
		rb = zr
	}
	data, err := io.ReadAll(io.LimitReader(rb, 256<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, data, nil
}

// serviceFor returns the in-process handler whose key is the longest
// prefix of url, or nil.
func (e *Emulator) serviceFor(url string) http.Handler {
	best := ""
	var h http.Handler
	for k, v := range e.opts.ExternalServices {
		if strings.HasPrefix(url, k) && len(k) > len(best) {
			best, h = k, v
		}
	}
	return h
}

// contextValue is the value of a CONTEXT_HEADERS function.
func (e *Emulator) contextValue(fn string) string {
	switch fn {
	case "CURRENT_TIMESTAMP":
		return e.now().UTC().Format("2006-01-02 15:04:05.000 -0700")
	case "CURRENT_DATE":
		return e.now().UTC().Format("2006-01-02")
	case "CURRENT_ACCOUNT":
		return "SNOWFLAKETEST"
	}
	return ""
}

// parseAnswer checks a 200 answer and returns its values in row order.
func parseAnswer(f *extFunction, hdr http.Header, body []byte, n int) ([]json.RawMessage, *SQLError) {
	if want := hdr.Get("Content-MD5"); want != "" {
		sum := md5.Sum(body)
		if base64.StdEncoding.EncodeToString(sum[:]) != want {
			return nil, extErr("Error in response for external function %s: Content-MD5 of the response does not match its body.", f.name)
		}
	}
	var top struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &top); err != nil || top.Data == nil {
		return nil, extErr("Error parsing JSON response for external function %s. Error: top-level JSON object must contain \"data\" JSON array element", f.name)
	}
	rows := *top.Data
	if len(rows) != n {
		return nil, extErr("Error in response for external function %s: Function received the wrong number of rows (sent %d, received %d).", f.name, n, len(rows))
	}
	out := make([]json.RawMessage, n)
	for i, r := range rows {
		var cells []json.RawMessage
		if err := json.Unmarshal(r, &cells); err != nil || len(cells) != 2 {
			return nil, extErr("Error parsing JSON response for external function %s. Error: each row must be a JSON array of a row number and one value", f.name)
		}
		var num json.Number
		dec := json.NewDecoder(bytes.NewReader(cells[0]))
		dec.UseNumber()
		if err := dec.Decode(&num); err != nil || num.String() != strconv.Itoa(i) {
			return nil, extErr("Error in response for external function %s: Row numbers out of order.", f.name)
		}
		out[i] = cells[1]
	}
	return out, nil
}
