// Command lambda is the real-time topology of flatpipe as an AWS Lambda
// function: S3 announces new JSON objects (directly, through SQS, SNS in
// SQS, or EventBridge), the function streams each object, validates and
// flattens its records, and either loads them into a Snowflake table
// (stage + COPY through package load) or writes them as staged files to an
// S3 prefix that Snowpipe ingests. Rejected records go to an S3 dead-letter
// prefix; logs are slog JSON, metrics CloudWatch EMF lines on stdout.
//
// Build the bootstrap binary for the provided.al2023 runtime:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc,minicore_disabled \
//	    -trimpath -ldflags='-s -w' -o bootstrap ./examples/lambda
//
// Configuration is environment variables only; README.md lists them.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/snowflakedb/gosnowflake"
)

func main() {
	start := time.Now()
	ctx := context.Background()
	log := lambdaenvLogger(os.Stdout)
	// gosnowflake logs every failed statement as a text line on stderr,
	// expected ones too (load's DESC TABLE of a table not yet created); the
	// function logs its failures itself, as JSON, with their object.
	_ = gosnowflake.GetLogger().SetLogLevel("OFF")
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("init failed", slog.String("error", "loading AWS configuration: "+err.Error()))
		os.Exit(1)
	}
	h, closeFn, err := newHandler(ctx, os.LookupEnv, os.Stdout, log, awsCfg)
	if err != nil {
		log.Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	defer closeFn()
	log.Info("init done", slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("mode", h.cfg.Mode), slog.String("table", h.cfg.Table))
	lambda.StartWithOptions(h, lambda.WithEnableSIGTERM(func() { closeFn() }))
}

// region fills in a default region for local runs.
func region(c aws.Config) aws.Config {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	return c
}
