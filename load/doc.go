// Package load turns flattened records into rows of a Snowflake table: it
// writes them to compressed staged files (NDJSON, CSV or Parquet) whose
// column names are the table's, and loads those files with PUT and
// COPY INTO through github.com/snowflakedb/gosnowflake.
//
// This package is under construction; its API is not yet stable.
package load

import "errors"

// ErrOptions is wrapped by every error about invalid options.
var ErrOptions = errors.New("load: invalid options")
