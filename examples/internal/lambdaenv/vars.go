package lambdaenv

// SnowflakeVars are the connection variables of package load's
// ConfigFromEnv, named as Snowflake's own tools name them. The functions
// pass them through to load; they are listed here so that each README
// documents them in the same table.
func SnowflakeVars() []Var {
	return []Var{
		{Name: "SNOWFLAKE_ACCOUNT", Doc: "Account identifier (`orgname-acctname`)."},
		{Name: "SNOWFLAKE_USER", Doc: "User the function logs in as."},
		{Name: "SNOWFLAKE_PRIVATE_KEY", Secret: true, Doc: "PKCS#8 PEM private key for key-pair auth (or use `FLATPIPE_PRIVATE_KEY_SECRET` / `FLATPIPE_PRIVATE_KEY_PARAMETER`)."},
		{Name: "SNOWFLAKE_PRIVATE_KEY_PATH", Doc: "Path of the PEM key file instead of the value."},
		{Name: "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", Secret: true, Doc: "Passphrase of an encrypted key."},
		{Name: "SNOWFLAKE_PASSWORD", Secret: true, Doc: "Password, when not using a key."},
		{Name: "SNOWFLAKE_ROLE", Doc: "Role."},
		{Name: "SNOWFLAKE_WAREHOUSE", Doc: "Warehouse that runs COPY."},
		{Name: "SNOWFLAKE_DATABASE", Doc: "Database of the target table."},
		{Name: "SNOWFLAKE_SCHEMA", Doc: "Schema of the target table."},
		{Name: "SNOWFLAKE_HOST", Doc: "Host, when not `<account>.snowflakecomputing.com` (tests: the emulator)."},
		{Name: "SNOWFLAKE_PORT", Doc: "Port (default 443)."},
		{Name: "SNOWFLAKE_PROTOCOL", Doc: "`https` (default) or `http` (tests)."},
	}
}

// CommonVars are the FLATPIPE_* variables both functions read.
func CommonVars() []Var {
	return []Var{
		{Name: "FLATPIPE_MODE", Default: "snowflake", Doc: "`snowflake`: stage and COPY into `FLATPIPE_TABLE`; `s3`: write the staged files under `FLATPIPE_DESTINATION` for Snowpipe."},
		{Name: "FLATPIPE_TABLE", Required: true, Doc: "Target table; normalised like a column name unless quoted."},
		{Name: "FLATPIPE_DESTINATION", Doc: "`s3://bucket/prefix/` for the staged files (mode `s3`, required there)."},
		{Name: "FLATPIPE_PIPE", Doc: "Pipe to call `insertFiles` on after writing (mode `s3`); empty: leave the files to auto-ingest."},
		{Name: "FLATPIPE_DEAD_LETTER", Doc: "`s3://bucket/prefix/` for rejected records (NDJSON with object, offset, line and reason); empty: log them only."},
		{Name: "FLATPIPE_FORMAT", Default: "ndjson", Doc: "Staged file format: `ndjson`, `csv` or `parquet`."},
		{Name: "FLATPIPE_COMPRESSION", Default: "gzip", Doc: "Staged file compression: `gzip`, `zstd` or `none`."},
		{Name: "FLATPIPE_FRAMING", Default: "ndjson", Doc: "Input framing: `ndjson`, `json` (one document), `array` (elements of a top-level array) or `concat`."},
		{Name: "FLATPIPE_ARRAYS", Default: "json", Doc: "Array mode: `json` (keep whole, a VARIANT) or `index` (`a.0.b`)."},
		{Name: "FLATPIPE_MAX_DEPTH", Default: "64", Doc: "Records nested deeper are rejected (dead-lettered)."},
		{Name: "FLATPIPE_MAX_RECORD_BYTES", Default: "16777216", Doc: "Records larger are rejected (16 MiB, Snowflake's VARIANT limit)."},
		{Name: "FLATPIPE_S3_PATH_STYLE", Default: "false", Doc: "Path-style S3 addressing, for S3-compatible servers."},
		{Name: "AWS_ENDPOINT_URL_S3", Doc: "The SDK's S3 endpoint override (S3-compatible servers, tests). Credentials and region come from the SDK's usual variables."},
		{Name: "FLATPIPE_PRIVATE_KEY_SECRET", Doc: "Secrets Manager secret (name or ARN) holding the PEM key, or JSON `{\"private_key\":…,\"passphrase\":…}`; fetched once per container."},
		{Name: "FLATPIPE_PRIVATE_KEY_PARAMETER", Doc: "SSM parameter (SecureString) holding the PEM key; fetched once per container."},
		{Name: "FLATPIPE_METRICS_NAMESPACE", Default: "flatpipe", Doc: "CloudWatch namespace of the EMF metrics."},
		{Name: "FLATPIPE_NOTIFY_EVENT_BUS", Doc: "EventBridge bus that receives a `flatpipe.loaded` event per loaded object (table, files, counts)."},
		{Name: "FLATPIPE_NOTIFY_QUEUE_URL", Doc: "SQS queue that receives the same notification as a message."},
	}
}
