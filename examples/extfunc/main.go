// Command extfunc is the in-Snowflake topology of flatpipe: an AWS Lambda
// function behind Amazon API Gateway (REST API, Lambda proxy integration)
// that serves Snowflake external functions. Snowpipe loads raw JSON into a
// staging table, a stream tracks the new rows, a task calls the external
// functions on them:
//
//   - flatten(v VARIANT) RETURNS VARIANT flattens a document into an
//     OBJECT of path → value, for INSERT … SELECT in SQL;
//   - load_file(bucket VARCHAR, key VARCHAR) RETURNS VARIANT reads the S3
//     object, flattens it and stores it through package load into the
//     target table (or as staged files for Snowpipe), answering counts.
//
// setup.sql creates the whole chain, teardown.sql removes it. Build the
// bootstrap binary for the provided.al2023 runtime:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc,minicore_disabled \
//	    -trimpath -ldflags='-s -w' -o bootstrap ./examples/extfunc
//
// Configuration is environment variables only (see vars()).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source"
)

func main() {
	ctx := context.Background()
	log := lambdaenv.NewLogger(os.Stdout, slog.LevelInfo)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("init failed", slog.String("error", "loading AWS configuration: "+err.Error()))
		os.Exit(1)
	}
	svc, closeFn, err := newService(ctx, os.LookupEnv, os.Stdout, log, awsCfg)
	if err != nil {
		log.Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	defer closeFn()
	lambda.StartWithOptions(svc.Handle, lambda.WithEnableSIGTERM(func() { _ = closeFn() }))
}

// newService builds the function from its environment (read through
// lookup; load.ConfigFromEnv reads the SNOWFLAKE_* variables from the
// process environment) once per container. The returned func closes what
// it opened.
func newService(ctx context.Context, lookup lambdaenv.LookupFunc, stdout io.Writer, log *slog.Logger, awsCfg aws.Config) (*Service, func() error, error) {
	cfg, err := loadConfig(lookup)
	if err != nil {
		return nil, nil, err
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	endpoint, _ := lookup("AWS_ENDPOINT_URL_S3")
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.S3PathStyle
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	name, _ := lookup("AWS_LAMBDA_FUNCTION_NAME")
	metrics, err := lambdaenv.NewMetrics(stdout, cfg.Namespace, name, nil)
	if err != nil {
		return nil, nil, err
	}
	flat, err := newFlattenFn(cfg.Flatten, cfg.MaxDepth, cfg.MaxRecord, log, metrics)
	if err != nil {
		return nil, nil, fmt.Errorf("extfunc: %w", err)
	}
	opener, err := s3source.NewOpener(s3c, s3source.OpenerOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("extfunc: %w", err)
	}
	reader, err := source.NewReader(source.ReaderOptions{Format: cfg.Framing, Opener: opener})
	if err != nil {
		return nil, nil, fmt.Errorf("extfunc: %w", err)
	}
	lf := &loadFileFn{cfg: cfg, log: log, metrics: metrics, reader: reader}
	wo := stagefile.WriterOptions{Table: cfg.Table, Names: schema.NameOptions{Separator: cfg.Flatten.Separator}}
	if err := wo.Format.UnmarshalText([]byte(cfg.Format)); err != nil {
		return nil, nil, err
	}
	if err := wo.Compression.UnmarshalText([]byte(cfg.Compression)); err != nil {
		return nil, nil, err
	}
	switch cfg.Mode {
	case modeS3:
		if wo.Table, err = load.TableName(cfg.Table); err != nil {
			return nil, nil, fmt.Errorf("extfunc: FLATPIPE_TABLE: %w", err)
		}
		lf.sink = &load.S3Sink{Client: s3c, Bucket: cfg.DestBucket, Prefix: cfg.DestPrefix}
	default:
		key, err := lambdaenv.PrivateKey(ctx, lookup,
			func() lambdaenv.SecretsManagerAPI { return secretsmanager.NewFromConfig(awsCfg) },
			func() lambdaenv.SSMAPI { return ssm.NewFromConfig(awsCfg) })
		if err != nil {
			return nil, nil, err
		}
		sc, err := load.ConfigFromEnv()
		if err != nil {
			return nil, nil, err
		}
		if key.From != "" && key.From != "env" {
			sc.PrivateKey, sc.PrivateKeyPassphrase = key.PEM, key.Passphrase
		}
		if err := sc.Validate(); err != nil {
			return nil, nil, err
		}
		db, err := sc.OpenDB()
		if err != nil {
			return nil, nil, err
		}
		l, err := load.NewLoader(db, load.LoaderOptions{Table: cfg.Table})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		lf.db, lf.loader = db, l
		wo.Table = l.Table()
	}
	lf.wo = wo
	svc := NewService(map[string]rowFunc{"flatten": flat.row, "load_file": lf.row}, ServiceOptions{
		MaxBatchRows: cfg.MaxBatchRows, MaxInFlight: cfg.MaxInFlight, RetryAfter: cfg.RetryAfter,
		Remember: cfg.Remember, Log: log, Metrics: metrics})
	return svc, func() error {
		err := lf.close()
		if ferr := metrics.Flush(); err == nil {
			err = ferr
		}
		return err
	}, nil
}
