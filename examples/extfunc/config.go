package main

import (
	"slices"
	"time"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/source"
)

// extfuncVars are this function's own variables, after the shared ones.
var extfuncVars = []lambdaenv.Var{
	{Name: "FLATPIPE_EXTFUNC_MAX_BATCH_ROWS", Default: "500", Doc: "Largest batch answered (400 above it). Set the external function's `MAX_BATCH_ROWS` to at most this; with `load_file` a row is a whole file, so keep batches small."},
	{Name: "FLATPIPE_EXTFUNC_MAX_IN_FLIGHT", Default: "1", Doc: "Batches worked on at once per container; more are answered 429 so Snowflake slows down and retries."},
	{Name: "FLATPIPE_EXTFUNC_RETRY_AFTER", Default: "1s", Doc: "`Retry-After` hint of a 429."},
	{Name: "FLATPIPE_EXTFUNC_REMEMBER", Default: "1024", Doc: "Answered batches kept per container by batch id, so that a batch Snowflake retries is answered again without loading twice."},
	{Name: "FLATPIPE_WORK_DIR", Default: "/tmp", Doc: "Directory of the staged files while `load_file` processes an object; removed after each object."},
}

// unused are the shared variables this function does not read: it has no
// dead-letter prefix (a rejected record is counted in load_file's answer),
// sends no notifications (the task's INSERT records the answers) and calls
// no pipe (Snowpipe's auto-ingest picks up mode s3's files).
var unused = []string{"FLATPIPE_PIPE", "FLATPIPE_DEAD_LETTER", "FLATPIPE_NOTIFY_EVENT_BUS", "FLATPIPE_NOTIFY_QUEUE_URL"}

// vars is the whole table this function reads, in README order.
func vars() []lambdaenv.Var {
	common := slices.DeleteFunc(lambdaenv.CommonVars(), func(v lambdaenv.Var) bool { return slices.Contains(unused, v.Name) })
	return slices.Concat(common, extfuncVars, lambdaenv.SnowflakeVars())
}

const (
	modeSnowflake = "snowflake"
	modeS3        = "s3"
)

// Config is the function's configuration, read once per container.
type Config struct {
	Mode                   string
	Table                  string
	DestBucket, DestPrefix string

	Format      string
	Compression string
	Framing     source.Format
	Flatten     flatten.Options
	MaxDepth    int
	MaxRecord   int

	S3PathStyle bool
	Namespace   string

	MaxBatchRows int
	MaxInFlight  int
	RetryAfter   time.Duration
	Remember     int
	WorkDir      string
}

// loadConfig reads the configuration through lookup (os.LookupEnv), with
// every problem in one error.
func loadConfig(lookup lambdaenv.LookupFunc) (*Config, error) {
	env := lambdaenv.NewEnv(lookup, vars())
	c := &Config{
		Mode:         env.OneOf("FLATPIPE_MODE", modeSnowflake, modeS3),
		Table:        env.String("FLATPIPE_TABLE"),
		Format:       env.OneOf("FLATPIPE_FORMAT", "ndjson", "csv", "parquet"),
		Compression:  env.OneOf("FLATPIPE_COMPRESSION", "gzip", "zstd", "none"),
		MaxDepth:     env.Int("FLATPIPE_MAX_DEPTH"),
		MaxRecord:    env.Int("FLATPIPE_MAX_RECORD_BYTES"),
		S3PathStyle:  env.Bool("FLATPIPE_S3_PATH_STYLE"),
		Namespace:    env.String("FLATPIPE_METRICS_NAMESPACE"),
		MaxBatchRows: env.Int("FLATPIPE_EXTFUNC_MAX_BATCH_ROWS"),
		MaxInFlight:  env.Int("FLATPIPE_EXTFUNC_MAX_IN_FLIGHT"),
		RetryAfter:   env.Duration("FLATPIPE_EXTFUNC_RETRY_AFTER"),
		Remember:     env.Int("FLATPIPE_EXTFUNC_REMEMBER"),
		WorkDir:      env.String("FLATPIPE_WORK_DIR"),
	}
	c.DestBucket, c.DestPrefix = env.S3URL("FLATPIPE_DESTINATION")
	c.Framing = env.Framing("FLATPIPE_FRAMING")
	c.Flatten.Arrays = env.Arrays("FLATPIPE_ARRAYS")
	c.Flatten.Separator = "."
	env.Require(c.Mode != modeS3 || c.DestBucket != "", "FLATPIPE_DESTINATION", "must be set when FLATPIPE_MODE=s3")
	env.Require(c.MaxBatchRows > 0, "FLATPIPE_EXTFUNC_MAX_BATCH_ROWS", "must be positive")
	env.Require(c.MaxInFlight > 0, "FLATPIPE_EXTFUNC_MAX_IN_FLIGHT", "must be positive")
	// The variables load's ConfigFromEnv reads are checked there; reading
	// them here only checks that each is documented.
	for _, v := range lambdaenv.SnowflakeVars() {
		env.String(v.Name)
	}
	for _, n := range []string{"AWS_ENDPOINT_URL_S3", "FLATPIPE_PRIVATE_KEY_SECRET", "FLATPIPE_PRIVATE_KEY_PARAMETER"} {
		env.String(n)
	}
	if err := env.Err(); err != nil {
		return nil, err
	}
	return c, nil
}
