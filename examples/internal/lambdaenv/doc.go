// Package lambdaenv is what the flatpipe Lambda functions (examples/lambda
// and examples/extfunc) share without a framework between them: one table of
// environment variables (names, defaults, documentation) that both read and
// that their READMEs print, the private-key lookup in Secrets Manager or SSM
// Parameter Store, a JSON slog logger that adds the Lambda request id, and a
// fixed set of CloudWatch Embedded Metric Format metrics.
//
// # Configuration
//
// A function declares the variables it reads as a []Var; an Env reads them
// through that table only, so a name that is not documented cannot be read,
// and collects every problem instead of stopping at the first:
//
//	env := lambdaenv.NewEnv(os.LookupEnv, vars)
//	mode := env.String("FLATPIPE_MODE")
//	bucket, prefix := env.S3URL("FLATPIPE_DEAD_LETTER")
//	if err := env.Err(); err != nil { ... }
//
// Markdown(vars) renders the table for a README.
//
// # Concurrency
//
// An Env belongs to one goroutine (it is used once, at start-up). Metrics and
// the logger are safe for concurrent use. The functions hold no state.
//
// # Errors
//
// Configuration errors wrap ErrConfig and name the variable, never its value
// when the variable is a secret. Secret lookups wrap ErrSecret and name the
// secret or parameter, never its content.
package lambdaenv
