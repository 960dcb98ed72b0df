package main

import (
	"slices"
	"time"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/source"
)

// lambdaVars are this function's own variables, after the shared ones.
var lambdaVars = []lambdaenv.Var{
	{Name: "FLATPIPE_DEADLINE_RESERVE", Default: "30s", Doc: "No new object is started when less than this remains before the invocation deadline; the rest is left to the retry (SQS visibility timeout). Make it longer than the slowest object takes."},
	{Name: "FLATPIPE_EVENTBRIDGE_KEYS_ENCODED", Default: "false", Doc: "URL-decode object keys of EventBridge events (S3 notification keys always are)."},
	{Name: "FLATPIPE_WORK_DIR", Default: "/tmp", Doc: "Directory of the staged files while an object is processed (Lambda's ephemeral storage); removed after each object."},
}

// vars is the whole table this function reads, in README order.
func vars() []lambdaenv.Var {
	return slices.Concat(lambdaenv.CommonVars(), lambdaVars, lambdaenv.SnowflakeVars())
}

// Mode says where flattened data goes.
const (
	modeSnowflake = "snowflake"
	modeS3        = "s3"
)

// Config is the function's configuration, read once per container.
type Config struct {
	Mode  string
	Table string
	// Dest is the staged files' destination for mode s3.
	DestBucket, DestPrefix string
	Pipe                   string
	// DeadBucket and DeadPrefix are empty when dead letters are only logged.
	DeadBucket, DeadPrefix string

	Format      string // ndjson, csv, parquet
	Compression string // gzip, zstd, none
	Framing     source.Format
	Flatten     flatten.Options
	MaxDepth    int
	MaxRecord   int

	S3PathStyle bool
	Namespace   string
	NotifyBus   string
	NotifyQueue string

	Reserve   time.Duration
	EBEncoded bool
	WorkDir   string
}

// loadConfig reads the configuration through lookup (os.LookupEnv), with
// every problem in one error.
func loadConfig(lookup lambdaenv.LookupFunc) (*Config, error) {
	env := lambdaenv.NewEnv(lookup, vars())
	c := &Config{
		Mode:        env.OneOf("FLATPIPE_MODE", modeSnowflake, modeS3),
		Table:       env.String("FLATPIPE_TABLE"),
		Pipe:        env.String("FLATPIPE_PIPE"),
		Format:      env.OneOf("FLATPIPE_FORMAT", "ndjson", "csv", "parquet"),
		Compression: env.OneOf("FLATPIPE_COMPRESSION", "gzip", "zstd", "none"),
		MaxDepth:    env.Int("FLATPIPE_MAX_DEPTH"),
		MaxRecord:   env.Int("FLATPIPE_MAX_RECORD_BYTES"),
		S3PathStyle: env.Bool("FLATPIPE_S3_PATH_STYLE"),
		Namespace:   env.String("FLATPIPE_METRICS_NAMESPACE"),
		NotifyBus:   env.String("FLATPIPE_NOTIFY_EVENT_BUS"),
		NotifyQueue: env.String("FLATPIPE_NOTIFY_QUEUE_URL"),
		Reserve:     env.Duration("FLATPIPE_DEADLINE_RESERVE"),
		EBEncoded:   env.Bool("FLATPIPE_EVENTBRIDGE_KEYS_ENCODED"),
		WorkDir:     env.String("FLATPIPE_WORK_DIR"),
	}
	c.DestBucket, c.DestPrefix = env.S3URL("FLATPIPE_DESTINATION")
	c.DeadBucket, c.DeadPrefix = env.S3URL("FLATPIPE_DEAD_LETTER")
	c.Framing = env.Framing("FLATPIPE_FRAMING")
	c.Flatten.Arrays = env.Arrays("FLATPIPE_ARRAYS")
	c.Flatten.Separator = "."
	env.Require(c.Mode != modeS3 || c.DestBucket != "", "FLATPIPE_DESTINATION", "must be set when FLATPIPE_MODE=s3")
	env.Require(c.Pipe == "" || c.Mode == modeS3, "FLATPIPE_PIPE", "is only used with FLATPIPE_MODE=s3")
	// The variables load's ConfigFromEnv reads are checked there; reading
	// them here only checks that each is documented.
	for _, v := range lambdaenv.SnowflakeVars() {
		env.String(v.Name)
	}
	env.String("AWS_ENDPOINT_URL_S3")
	env.String("FLATPIPE_PRIVATE_KEY_SECRET")
	env.String("FLATPIPE_PRIVATE_KEY_PARAMETER")
	if err := env.Err(); err != nil {
		return nil, err
	}
	return c, nil
}
