package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/examples/internal/s3adapter"
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source"
	"github.com/flatpipe/flatpipe/source/s3source"
)

// s3Client is the S3 client every part shares.
type s3Client = *s3.Client

func lambdaenvLogger(w io.Writer) *slog.Logger { return lambdaenv.NewLogger(w, slog.LevelInfo) }

// newHandler builds the function from its environment (read through
// lookup) and the SDK's configuration: once per container, so the private
// key is fetched and the Snowflake connection set up once, not per
// invocation. The returned func closes what it opened.
func newHandler(ctx context.Context, lookup lambdaenv.LookupFunc, stdout io.Writer, log *slog.Logger, awsCfg aws.Config) (*Handler, func() error, error) {
	cfg, err := loadConfig(lookup)
	if err != nil {
		return nil, nil, err
	}
	awsCfg = region(awsCfg)
	endpoint, _ := lookup("AWS_ENDPOINT_URL_S3")
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.S3PathStyle
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// S3-compatible servers: no checksums they may not know.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})

	key, err := lambdaenv.PrivateKey(ctx, lookup,
		func() lambdaenv.SecretsManagerAPI { return secretsmanager.NewFromConfig(awsCfg) },
		func() lambdaenv.SSMAPI { return ssm.NewFromConfig(awsCfg) })
	if err != nil {
		return nil, nil, err
	}

	name, _ := lookup("AWS_LAMBDA_FUNCTION_NAME")
	metrics, err := lambdaenv.NewMetrics(stdout, cfg.Namespace, name, nil)
	if err != nil {
		return nil, nil, err
	}
	opener, err := s3source.NewOpener(s3c, s3source.OpenerOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("lambda: %w", err)
	}
	reader, err := source.NewReader(source.ReaderOptions{Format: cfg.Framing, Opener: opener})
	if err != nil {
		return nil, nil, fmt.Errorf("lambda: %w", err)
	}
	if _, err := flatten.New(cfg.Flatten); err != nil {
		return nil, nil, fmt.Errorf("lambda: %w", err)
	}
	p := &processor{cfg: cfg, log: log, metrics: metrics, reader: reader,
		alert: alertFunc(log, metrics), now: time.Now}
	p.newFlats(cfg.Flatten)
	if cfg.DeadBucket != "" {
		store, err := s3adapter.New(s3c)
		if err != nil {
			return nil, nil, fmt.Errorf("lambda: %w", err)
		}
		sink, err := resilience.NewS3DeadLetterSink(resilience.S3DeadLetterOptions{Client: store,
			Bucket: cfg.DeadBucket, Prefix: cfg.DeadPrefix})
		if err != nil {
			return nil, nil, fmt.Errorf("lambda: %w", err)
		}
		p.dead = sink
	}
	if cfg.NotifyBus != "" || cfg.NotifyQueue != "" {
		ns := &notifiers{bus: cfg.NotifyBus, queue: cfg.NotifyQueue}
		if cfg.NotifyBus != "" {
			ns.eb = eventbridge.NewFromConfig(awsCfg)
		}
		if cfg.NotifyQueue != "" {
			ns.sqs = sqs.NewFromConfig(awsCfg)
		}
		p.notify = ns
	}
	p.dest, err = newDestination(cfg, key, s3c)
	if err != nil {
		return nil, nil, err
	}
	h := &Handler{cfg: cfg, log: log, metrics: metrics, proc: p, now: time.Now}
	return h, p.dest.close, nil
}
