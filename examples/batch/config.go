package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

// Config is the job's effective configuration. It is built by loadConfig
// from, in increasing precedence: the defaults, a YAML or JSON file
// (-config), the environment (FLATPIPE_* for the job's settings, the
// SNOWFLAKE_* names of package load for Snowflake's) and the command line.
// The koanf tags are the keys of the file and of -print-config.
type Config struct {
	Inputs []string `koanf:"inputs"`
	Table  string   `koanf:"table"`

	// Reading and flattening, as in the flatten CLI.
	In             string `koanf:"in"`
	Arrays         string `koanf:"arrays"`
	Sep            string `koanf:"sep"`
	MaxDepth       int    `koanf:"max_depth"`
	MaxNesting     int    `koanf:"max_nesting"`
	MaxRecordBytes int    `koanf:"max_record_bytes"`
	Contract       string `koanf:"contract"`
	JSONSchema     string `koanf:"json_schema"`
	// DetectTime types new columns whose strings are ISO-8601 dates or
	// timestamps as DATE, TIMESTAMP_NTZ or TIMESTAMP_TZ (see timecols.go).
	DetectTime bool `koanf:"detect_time"`

	// Loading.
	Disposition  string   `koanf:"disposition"`
	Key          []string `koanf:"key"`
	Format       string   `koanf:"format"`
	Compression  string   `koanf:"compression"`
	ChunkRecords int      `koanf:"chunk_records"`
	Uploads      int      `koanf:"uploads"`
	// Stage is where files are staged: "" (the table's stage), "@NAME" (a
	// named internal stage, created if needed) or "@NAME=s3://bucket/prefix/"
	// (an external stage NAME over that URL; the job uploads with the AWS
	// SDK instead of PUT).
	Stage  string `koanf:"stage"`
	DryRun bool   `koanf:"dry_run"`
	Out    string `koanf:"out"`

	// Recovery and scale-out.
	Checkpoint    string  `koanf:"checkpoint"`
	DeadLetter    string  `koanf:"dead_letter"`
	MaxRejectRate float64 `koanf:"max_reject_rate"`
	Shard         string  `koanf:"shard"`
	// Finalize N swaps in the table that the N shards of a replace loaded
	// into its staging table, once every shard finished.
	Finalize int `koanf:"finalize"`

	// What the user sees.
	LogFormat   string `koanf:"log_format"`
	LogLevel    string `koanf:"log_level"`
	Progress    string `koanf:"progress"`
	Metrics     string `koanf:"metrics"`
	MetricsAddr string `koanf:"metrics_addr"`
	MinFreeDisk int64  `koanf:"min_free_disk"`
	Rows        int    `koanf:"show_rows"`
	// ColumnComments writes each column's flattened path as its comment
	// (schema maps paths back to columns by them).
	ColumnComments bool `koanf:"column_comments"`

	// The embedded emulator (no Snowflake settings): where to keep its
	// DuckDB database (default: with a local -checkpoint, else in memory,
	// gone at exit) and DuckDB's memory limit, past which it spills to a
	// temporary directory ("" leaves the emulator's default).
	EmulatorDir    string `koanf:"emulator_dir"`
	EmulatorMemory string `koanf:"emulator_memory"`

	S3        S3Config        `koanf:"s3"`
	Snowflake SnowflakeConfig `koanf:"snowflake"`
}

// S3Config holds the S3 settings that the AWS SDK's own configuration chain
// (AWS_REGION, AWS_ENDPOINT_URL_S3, credentials, profiles) does not.
type S3Config struct {
	PathStyle bool `koanf:"path_style"`
}

// SnowflakeConfig holds the connection settings, named after the
// SNOWFLAKE_* environment variables that package load reads. Secret
// values (Password, PrivateKey, PrivateKeyPassphrase) may be references
// resolved at start-up: "env:NAME", "file:PATH", "secretsmanager:ID[#field]"
// or "ssm:NAME" (see secrets.go).
type SnowflakeConfig struct {
	Account              string `koanf:"account"`
	User                 string `koanf:"user"`
	Password             string `koanf:"password"`
	PrivateKeyPath       string `koanf:"private_key_path"`
	PrivateKey           string `koanf:"private_key"`
	PrivateKeyPassphrase string `koanf:"private_key_passphrase"`
	Role                 string `koanf:"role"`
	Warehouse            string `koanf:"warehouse"`
	Database             string `koanf:"database"`
	Schema               string `koanf:"schema"`
	Host                 string `koanf:"host"`
	Port                 int    `koanf:"port"`
	Protocol             string `koanf:"protocol"`
}

// configured reports whether any Snowflake endpoint is set; without one the
// job starts the embedded emulator.
func (s SnowflakeConfig) configured() bool {
	return s.Account != "" || s.Host != ""
}

// secretKeys are the configuration keys whose values are masked.
var secretKeys = []string{"snowflake.password", "snowflake.private_key", "snowflake.private_key_passphrase"}

func defaults() map[string]any {
	return map[string]any{
		"table":            "EVENTS",
		"in":               "ndjson",
		"arrays":           "json",
		"sep":              ".",
		"max_depth":        0,
		"max_nesting":      64,
		"max_record_bytes": 16 << 20,
		"detect_time":      true,
		"disposition":      "append",
		"format":           "ndjson",
		"compression":      "gzip",
		"chunk_records":    100_000,
		"uploads":          4,
		"max_reject_rate":  0.05,
		"shard":            "0/1",
		"finalize":         0,
		"log_format":       "text",
		"log_level":        "info",
		"progress":         "auto",
		"metrics":          "none",
		"min_free_disk":    int64(256 << 20),
		"show_rows":        5,
		"column_comments":  true,
		"emulator_memory":  "32MB",
	}
}

// envNames maps environment variables to configuration keys. The
// SNOWFLAKE_* names are those of package load (and of Snowflake's own
// tools); the job's own settings take FLATPIPE_ and the key in upper case.
var snowflakeEnv = map[string]string{
	"SNOWFLAKE_ACCOUNT":                "snowflake.account",
	"SNOWFLAKE_USER":                   "snowflake.user",
	"SNOWFLAKE_PASSWORD":               "snowflake.password",
	"SNOWFLAKE_PRIVATE_KEY_PATH":       "snowflake.private_key_path",
	"SNOWFLAKE_PRIVATE_KEY":            "snowflake.private_key",
	"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "snowflake.private_key_passphrase",
	"SNOWFLAKE_ROLE":                   "snowflake.role",
	"SNOWFLAKE_WAREHOUSE":              "snowflake.warehouse",
	"SNOWFLAKE_DATABASE":               "snowflake.database",
	"SNOWFLAKE_SCHEMA":                 "snowflake.schema",
	"SNOWFLAKE_HOST":                   "snowflake.host",
	"SNOWFLAKE_PORT":                   "snowflake.port",
	"SNOWFLAKE_PROTOCOL":               "snowflake.protocol",
}

// listKeys are the keys whose environment and flag values are
// comma-separated lists.
var listKeys = map[string]bool{"inputs": true, "key": true}

// flagDef is one command-line flag: its configuration key and help.
type flagDef struct {
	name, key, usage string
	kind             byte // 's' string, 'i' int, 'b' bool, 'f' float, 'l' list
}

var flagDefs = []flagDef{
	{"table", "table", "target table `NAME` (normalised like a column name unless quoted)", 's'},
	{"in", "in", "input framing: ndjson, json (one document per object), array (elements of a top-level array), concat", 's'},
	{"arrays", "arrays", "array mode: json (keep whole, VARIANT), index (a.0.b) or tables (child tables with _ID, _PARENT_ID, _INDEX)", 's'},
	{"sep", "sep", "path separator", 's'},
	{"max-depth", "max_depth", "maximum path segments; deeper containers are kept whole (0 = no limit)", 'i'},
	{"max-nesting", "max_nesting", "records nested deeper than this are dead-lettered", 'i'},
	{"max-record-bytes", "max_record_bytes", "records larger than this are dead-lettered", 'i'},
	{"contract", "contract", "validate records against this contract `FILE` (YAML or JSON, package schema)", 's'},
	{"json-schema", "json_schema", "validate records against this JSON Schema `FILE`", 's'},
	{"detect-time", "detect_time", "type new columns of ISO-8601 strings as DATE, TIMESTAMP_NTZ or TIMESTAMP_TZ (from the first records of the chunk that adds them); a later value that is not a time is dead-lettered (reason value)", 'b'},
	{"disposition", "disposition", "write disposition: append, replace or merge", 's'},
	{"key", "key", "merge key `COLS` (comma-separated paths)", 'l'},
	{"format", "format", "staged file format: ndjson, csv or parquet", 's'},
	{"compression", "compression", "staged file compression: gzip, zstd or none", 's'},
	{"chunk-records", "chunk_records", "records per staged file and checkpoint (keep it unchanged across reruns)", 'i'},
	{"uploads", "uploads", "parallel uploads (bulkhead)", 'i'},
	{"stage", "stage", "stage files in the table stage (default), `@NAME` (a named internal stage, created) or @NAME=s3://bucket/prefix/ (an external stage over that URL, uploaded with the AWS SDK)", 's'},
	{"dry-run", "dry_run", "stage files under -o only; load nothing", 'b'},
	{"o", "out", "staging `DIR` (kept with -dry-run; a temporary directory otherwise)", 's'},
	{"checkpoint", "checkpoint", "checkpoint `DIR` or s3://bucket/prefix/ (resume from it)", 's'},
	{"dead-letter", "dead_letter", "dead-letter `DIR` or s3://bucket/prefix/ for rejected records", 's'},
	{"max-reject-rate", "max_reject_rate", "fraction of records that may be dead-lettered before the job fails", 'f'},
	{"shard", "shard", "take shard `i/n` of the objects (by hash of the key)", 's'},
	{"finalize", "finalize", "with -disposition replace: swap in the table that `N` shards (-shard i/N) loaded, once all finished", 'i'},
	{"log-format", "log_format", "log format: text or json", 's'},
	{"log-level", "log_level", "log level: debug, info, warn or error", 's'},
	{"progress", "progress", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log or none", 's'},
	{"metrics", "metrics", "metrics: none, emf (CloudWatch Embedded Metric Format on stdout) or prometheus", 's'},
	{"metrics-addr", "metrics_addr", "with -metrics prometheus, serve /metrics on this `ADDR`", 's'},
	{"show-rows", "show_rows", "rows queried back from the table for the report", 'i'},
	{"emulator-dir", "emulator_dir", "without SNOWFLAKE_* settings, keep the embedded emulator's database in `DIR` (default: with a local -checkpoint, else in memory)", 's'},
	{"emulator-memory", "emulator_memory", "the embedded emulator's DuckDB memory limit (e.g. 32MB, 1GB); it spills to disk past it", 's'},
	{"s3-path-style", "s3.path_style", "address S3 buckets path-style, as S3-compatible servers need", 'b'},
}

// cmdline is the parsed command line.
type cmdline struct {
	configFile  string
	printConfig bool
	set         map[string]any // keys given on the command line
	inputs      []string
	warnings    []string // unknown --key value arguments dropped
}

// parseArgs parses the command line. Unknown arguments of the form
// --key value or --key=value, which Glue-like launchers inject (--JOB_NAME,
// --TempDir, --job-bookmark-option), are dropped with a warning; an unknown
// single-dash flag is an error, as it is more likely a typo.
func parseArgs(args []string, stderr io.Writer) (*cmdline, error) {
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &cmdline{set: map[string]any{}}
	fs.StringVar(&c.configFile, "config", "", "configuration `FILE` (YAML or JSON)")
	fs.BoolVar(&c.printConfig, "print-config", false, "print the effective configuration (secrets masked) and exit")
	vals := map[string]any{}
	for _, d := range flagDefs {
		switch d.kind {
		case 's', 'l':
			vals[d.name] = fs.String(d.name, "", d.usage)
		case 'i':
			vals[d.name] = fs.Int(d.name, 0, d.usage)
		case 'b':
			vals[d.name] = fs.Bool(d.name, false, d.usage)
		case 'f':
			vals[d.name] = fs.Float64(d.name, 0, d.usage)
		}
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: batch [flags] [input ...]

Loads JSON records into a Snowflake table: list → read → validate → flatten →
infer and evolve the table → stage → PUT/COPY, with checkpoints, dead letters
and a final report. Inputs are files, globs, directories, s3://bucket/key or
s3://bucket/prefix/, gzip or zstd compressed or not. Without SNOWFLAKE_*
settings the job starts an embedded emulator (and without inputs it loads the
samples kept in the repository).

Configuration precedence: defaults < -config FILE < environment (FLATPIPE_<KEY>,
SNOWFLAKE_*) < flags. Exit status: 0 everything loaded, 2 some records
dead-lettered (within -max-reject-rate), 1 failure.

`)
		fs.PrintDefaults()
	}
	known := func(name string) bool { return fs.Lookup(name) != nil }
	args = dropUnknown(args, known, &c.warnings)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.inputs = fs.Args()
	byName := map[string]flagDef{}
	for _, d := range flagDefs {
		byName[d.name] = d
	}
	fs.Visit(func(f *flag.Flag) {
		d, ok := byName[f.Name]
		if !ok {
			return
		}
		switch p := vals[d.name].(type) {
		case *string:
			if d.kind == 'l' {
				c.set[d.key] = splitList(*p)
			} else {
				c.set[d.key] = *p
			}
		case *int:
			c.set[d.key] = *p
		case *bool:
			c.set[d.key] = *p
		case *float64:
			c.set[d.key] = *p
		}
	})
	if len(c.inputs) > 0 {
		c.set["inputs"] = c.inputs
	}
	return c, nil
}

// dropUnknown removes unknown double-dash arguments (and their value, when
// the next argument is not a flag) and notes a warning for each.
func dropUnknown(args []string, known func(string) bool, warnings *[]string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(a[2:], "=")
		if known(name) {
			out = append(out, a)
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
		}
		*warnings = append(*warnings, fmt.Sprintf("ignoring unknown job argument --%s", name))
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadConfig merges the layers in precedence order and validates the
// result, listing every problem at once. environ is os.Environ in
// production.
func loadConfig(cl *cmdline, environ func() []string) (*Config, *koanf.Koanf, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaults(), "."), nil); err != nil {
		return nil, nil, err
	}
	if cl.configFile != "" {
		b, err := os.ReadFile(cl.configFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-config: %w", err)
		}
		var p koanf.Parser = yaml.Parser()
		if strings.EqualFold(filepath.Ext(cl.configFile), ".json") {
			p = json.Parser()
		}
		if err := k.Load(rawbytes.Provider(b), p); err != nil {
			return nil, nil, fmt.Errorf("-config %s: %w", cl.configFile, err)
		}
	}
	envOpt := env.Opt{EnvironFunc: environ}
	envOpt.TransformFunc = func(name, v string) (string, any) {
		if key, ok := snowflakeEnv[name]; ok {
			return key, v
		}
		if rest, ok := strings.CutPrefix(name, "FLATPIPE_"); ok {
			key := strings.ToLower(rest)
			if key == "s3_path_style" {
				key = "s3.path_style"
			}
			if listKeys[key] {
				return key, splitList(v)
			}
			return key, v
		}
		return "", nil
	}
	if err := k.Load(env.Provider(".", envOpt), nil); err != nil {
		return nil, nil, err
	}
	if err := k.Load(confmap.Provider(cl.set, "."), nil); err != nil {
		return nil, nil, err
	}
	var c Config
	var problems []error
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf", FlatPaths: false}); err != nil {
		problems = append(problems, err)
	}
	problems = append(problems, unknownKeys(k)...)
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return &c, k, &ConfigError{Problems: problems}
	}
	return &c, k, nil
}

// unknownKeys reports keys of the file or environment that no field takes,
// so a misspelt setting is not silently ignored.
func unknownKeys(k *koanf.Koanf) []error {
	valid := map[string]bool{}
	for key := range defaults() {
		valid[key] = true
	}
	for _, d := range flagDefs {
		valid[d.key] = true
	}
	for _, key := range snowflakeEnv {
		valid[key] = true
	}
	valid["inputs"] = true
	var errs []error
	for _, key := range k.Keys() {
		if !valid[key] {
			errs = append(errs, fmt.Errorf("unknown setting %q", key))
		}
	}
	return errs
}

// ConfigError lists every problem of a configuration.
type ConfigError struct{ Problems []error }

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d configuration problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems.
func (e *ConfigError) Unwrap() []error { return e.Problems }

// validate returns every problem of c.
func (c *Config) validate() []error {
	var p []error
	bad := func(format string, a ...any) { p = append(p, fmt.Errorf(format, a...)) }
	oneOf := func(key, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			bad("%s: %q is not one of %s", key, v, strings.Join(allowed, ", "))
		}
	}
	if strings.TrimSpace(c.Table) == "" {
		bad("table: must not be empty")
	}
	oneOf("in", c.In, "ndjson", "json", "array", "concat")
	oneOf("arrays", c.Arrays, "json", "index", "tables")
	if c.Arrays == "tables" && c.Disposition == "merge" {
		bad("arrays: merge with -arrays tables is not supported (child rows have no key to merge by); use append or replace")
	}
	if c.Sep == "" {
		bad("sep: must not be empty")
	}
	if c.MaxDepth < 0 {
		bad("max_depth: must not be negative")
	}
	if c.MaxNesting < 1 {
		bad("max_nesting: must be at least 1")
	}
	if c.MaxRecordBytes < 1 {
		bad("max_record_bytes: must be at least 1")
	}
	oneOf("disposition", c.Disposition, "append", "replace", "merge")
	if c.Disposition == "merge" && len(c.Key) == 0 {
		bad("key: merge needs key columns (-key)")
	}
	if c.Disposition != "merge" && len(c.Key) > 0 {
		bad("key: only used with -disposition merge")
	}
	oneOf("format", c.Format, "ndjson", "csv", "parquet")
	oneOf("compression", c.Compression, "gzip", "zstd", "none")
	if c.ChunkRecords < 1 {
		bad("chunk_records: must be at least 1")
	}
	if c.Uploads < 1 || c.Uploads > 64 {
		bad("uploads: must be between 1 and 64")
	}
	if c.Disposition == "replace" && c.Shard != "0/1" && c.Checkpoint == "" {
		bad("shard: a replace split into shards needs -checkpoint (each shard records there that it finished; -finalize N then swaps the table in)")
	}
	if c.Finalize < 0 {
		bad("finalize: must not be negative")
	}
	if c.Finalize > 0 && (c.Disposition != "replace" || c.Checkpoint == "" || c.Shard != "0/1" || c.DryRun) {
		bad("finalize: -finalize N swaps in the table that N shards of a replace loaded: it needs -disposition replace and their -checkpoint, and no -shard or -dry-run")
	}
	if c.Stage != "" {
		name, url, ext := strings.Cut(c.Stage, "=")
		if !strings.HasPrefix(name, "@") || len(name) < 2 {
			bad("stage: %q is not @NAME or @NAME=s3://bucket/prefix/", c.Stage)
		} else if ext && bucketOf(url) == "" {
			bad("stage: %q: an external stage needs an s3://bucket/prefix/ URL", c.Stage)
		}
	}
	if c.DryRun && c.Checkpoint != "" {
		bad("checkpoint: -dry-run loads nothing, so a checkpoint would mark objects done that are not loaded")
	}
	if c.DryRun && c.Out == "" {
		bad("out: -dry-run needs -o DIR")
	}
	if c.MaxRejectRate < 0 || c.MaxRejectRate > 1 {
		bad("max_reject_rate: must be between 0 and 1")
	}
	if _, _, err := parseShard(c.Shard); err != nil {
		bad("shard: %v", err)
	}
	oneOf("log_format", c.LogFormat, "text", "json")
	oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("progress", c.Progress, "auto", "bar", "log", "none")
	oneOf("metrics", c.Metrics, "none", "emf", "prometheus")
	if c.Metrics == "prometheus" && c.MetricsAddr == "" {
		bad("metrics_addr: -metrics prometheus needs an address to serve on")
	}
	if c.EmulatorMemory != "" && !reSize.MatchString(c.EmulatorMemory) {
		bad("emulator_memory: %q is not a size such as 32MB or 1GB", c.EmulatorMemory)
	}
	if c.MinFreeDisk < 0 {
		bad("min_free_disk: must not be negative")
	}
	for _, s := range []struct{ key, v string }{{"checkpoint", c.Checkpoint}, {"dead_letter", c.DeadLetter}} {
		if strings.HasPrefix(s.v, "s3://") {
			if b, _, _ := strings.Cut(strings.TrimPrefix(s.v, "s3://"), "/"); b == "" {
				bad("%s: %q names no bucket", s.key, s.v)
			}
		}
	}
	sf := c.Snowflake
	if sf.configured() {
		if sf.Account == "" {
			bad("snowflake.account: SNOWFLAKE_ACCOUNT is required with SNOWFLAKE_HOST")
		}
		if sf.User == "" {
			bad("snowflake.user: SNOWFLAKE_USER is required")
		}
		if sf.Password == "" && sf.PrivateKey == "" && sf.PrivateKeyPath == "" {
			bad("snowflake: set SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PRIVATE_KEY_PATH")
		}
		if sf.Protocol != "" && sf.Protocol != "http" && sf.Protocol != "https" {
			bad("snowflake.protocol: %q is not http or https", sf.Protocol)
		}
		if sf.Port < 0 || sf.Port > 65535 {
			bad("snowflake.port: %d is out of range", sf.Port)
		}
	} else if sf != (SnowflakeConfig{}) {
		// Loading into a throwaway emulator when the account was forgotten
		// would look like success.
		bad("snowflake.account: SNOWFLAKE_ACCOUNT is required with the other Snowflake settings given (without any, the job starts its embedded emulator)")
	}
	return p
}

// reSize matches the memory sizes DuckDB's memory_limit takes.
var reSize = regexp.MustCompile(`(?i)^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$`)

// parseShard parses "i/n" with 0 <= i < n.
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not i/n", s)
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("%q is not i/n with 0 <= i < n", s)
	}
	return i, n, nil
}

// printConfig writes the effective configuration, as typed, one sorted
// "key: value" line per setting, secrets masked.
func printConfig(w io.Writer, c *Config) error {
	lines := map[string]string{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			key := prefix + t.Field(i).Tag.Get("koanf")
			f := v.Field(i)
			if f.Kind() == reflect.Struct {
				walk(key+".", f)
				continue
			}
			val := f.Interface()
			if s, ok := val.(string); ok && s != "" && slices.Contains(secretKeys, key) {
				val = maskSecret(s)
			}
			lines[key] = formatValue(val)
		}
	}
	walk("", reflect.ValueOf(*c))
	for _, key := range slices.Sorted(maps.Keys(lines)) {
		if _, err := fmt.Fprintf(w, "%s: %s\n", key, lines[key]); err != nil {
			return err
		}
	}
	return nil
}

// maskSecret hides a secret; a reference to a secret store stays visible
// because it is not the secret.
func maskSecret(s string) string {
	for _, p := range []string{"env:", "file:", "secretsmanager:", "ssm:"} {
		if strings.HasPrefix(s, p) {
			return s
		}
	}
	return "****"
}

func formatValue(v any) string {
	switch x := v.(type) {
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		if x == "" {
			return `""`
		}
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}
