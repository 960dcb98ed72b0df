package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source/s3event"
)

// Handler is the function: it implements lambda.Handler, taking every event
// shape that announces S3 objects. It is safe for concurrent use (Lambda
// runs one invocation at a time per container unless
// AWS_LAMBDA_MAX_CONCURRENCY is set).
type Handler struct {
	cfg     *Config
	log     *slog.Logger
	metrics *lambdaenv.Metrics
	proc    *processor
	// now is the clock of the deadline checks.
	now func() time.Time
}

// outcome of one object.
type outcome struct {
	state string // lambdaenv.Outcome*
	err   error
}

// summary is the answer to a direct (non-SQS) invocation.
type summary struct {
	Objects  int `json:"objects"`
	Loaded   int `json:"loaded"`
	Skipped  int `json:"skipped"`
	Failed   int `json:"failed"`
	Deferred int `json:"deferred"`
}

// probe tells the event shapes apart. encoding/json matches keys without
// regard to case, so EventSource matches SNS's "EventSource" and S3's and
// SQS's "eventSource".
type probe struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Event      string `json:"Event"`
}

// ErrEvent reports a payload that is none of the event shapes the function
// takes.
var ErrEvent = errors.New("lambda: not an S3, SQS, SNS or EventBridge event")

// Invoke handles one invocation. For SQS it answers a partial batch
// response naming the messages to retry; for the other shapes it answers a
// summary, and an error when any object must be tried again (Lambda's
// asynchronous retry then redelivers the event; objects already loaded are
// not loaded twice).
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	defer func() {
		if err := h.metrics.Flush(); err != nil {
			h.log.ErrorContext(ctx, "metrics", slog.String("error", err.Error()))
		}
	}()
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEvent, err)
	}
	opts := s3event.EventOptions{EventBridgeKeysEncoded: h.cfg.EBEncoded}
	var objs []s3event.ObjectEvent
	var err error
	switch {
	case len(p.Records) > 0 && p.Records[0].EventSource == "aws:sqs":
		var e events.SQSEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("%w: SQS: %w", ErrEvent, err)
		}
		return json.Marshal(h.sqs(ctx, e, opts))
	case len(p.Records) > 0 && p.Records[0].EventSource == "aws:s3":
		var e events.S3Event
		if err = json.Unmarshal(payload, &e); err == nil {
			objs, err = s3event.DecodeS3Event("", e)
		}
	case len(p.Records) > 0 && p.Records[0].EventSource == "aws:sns":
		var e events.SNSEvent
		if err = json.Unmarshal(payload, &e); err == nil {
			objs, err = s3event.DecodeSNSEvent(e, opts)
		}
	case p.Source != "" && p.DetailType != "":
		var e events.EventBridgeEvent
		if err = json.Unmarshal(payload, &e); err == nil {
			objs, err = s3event.DecodeEventBridge(e, opts)
		}
	case p.Event == s3event.S3TestEventName:
		h.log.InfoContext(ctx, "s3 test event acknowledged")
		return json.Marshal(summary{})
	default:
		return nil, ErrEvent
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEvent, err)
	}
	var sum summary
	var failed []error
	done := map[string]outcome{}
	for _, oe := range objs {
		o := h.object(ctx, oe, done)
		sum.Objects++
		switch o.state {
		case lambdaenv.OutcomeLoaded:
			sum.Loaded++
		case lambdaenv.OutcomeSkipped:
			sum.Skipped++
		case lambdaenv.OutcomeDeferred:
			sum.Deferred++
			failed = append(failed, fmt.Errorf("%s: %w", oe.Object, o.err))
		default:
			sum.Failed++
			failed = append(failed, fmt.Errorf("%s: %w", oe.Object, o.err))
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("lambda: %d of %d objects to retry: %w", len(failed), sum.Objects, errors.Join(failed...))
	}
	return json.Marshal(sum)
}

// sqs handles an SQS batch and names the messages to retry. A message
// fails when it cannot be decoded (it will reach the queue's dead-letter
// queue after maxReceiveCount), when one of its objects failed, or when the
// deadline left no time to start one. On a FIFO queue every message after
// the first failure fails too, so that order is kept.
func (h *Handler) sqs(ctx context.Context, e events.SQSEvent, opts s3event.EventOptions) events.SQSEventResponse {
	var fail []string
	done := map[string]outcome{}
	stop := false
	for _, m := range e.Records {
		if stop {
			fail = append(fail, m.MessageId)
			continue
		}
		objs, err := s3event.DecodeMessage(m.MessageId, []byte(m.Body), opts)
		ok := err == nil
		if err != nil {
			h.log.ErrorContext(ctx, "message rejected", slog.String("messageId", m.MessageId),
				slog.String("reason", "decode"), slog.String("error", err.Error()))
		}
		for _, oe := range objs {
			if o := h.object(ctx, oe, done); o.state == lambdaenv.OutcomeFailed || o.state == lambdaenv.OutcomeDeferred {
				ok = false
			}
		}
		if !ok {
			fail = append(fail, m.MessageId)
			stop = strings.HasSuffix(m.EventSourceARN, ".fifo")
		}
	}
	if len(fail) > 0 {
		h.metrics.Add(lambdaenv.MetricMessage, int64(len(fail)))
	}
	return s3event.SQSBatchItemFailures(fail...)
}

// object handles one announced object once per invocation (the same object
// announced twice in a batch is processed once), unless the deadline is too
// close to start it.
func (h *Handler) object(ctx context.Context, oe s3event.ObjectEvent, done map[string]outcome) outcome {
	id := oe.Object.String() + "#" + oe.Object.ETag
	if o, ok := done[id]; ok {
		return o
	}
	if dl, ok := ctx.Deadline(); ok && h.now().Add(h.cfg.Reserve).After(dl) {
		h.log.WarnContext(ctx, "object deferred", slog.String("object", oe.Object.String()),
			slog.String("reason", "deadline"), slog.Duration("left", dl.Sub(h.now())), slog.Duration("reserve", h.cfg.Reserve))
		h.metrics.Object(lambdaenv.OutcomeDeferred)
		return outcome{state: lambdaenv.OutcomeDeferred, err: errDeadline}
	}
	o := h.proc.process(ctx, oe)
	h.metrics.Object(o.state)
	done[id] = o
	return o
}

// errDeadline is the cause of a deferred object.
var errDeadline = errors.New("lambda: too close to the deadline to start")

// alertFunc is the alert hook: an ERROR log line with "alert": true and
// the Alerts metric, which the template's CloudWatch alarm watches (see
// README: a log-based alarm, not an SNS call per failure).
func alertFunc(log *slog.Logger, m *lambdaenv.Metrics) resilience.AlertFunc {
	return func(a resilience.Alert) {
		m.Add(lambdaenv.MetricAlerts, 1)
		log.Error("alert", slog.Bool("alert", true), slog.String("kind", string(a.Kind)),
			slog.String("source", a.Source), slog.String("message", a.Message), slog.Int64("count", a.Count))
	}
}
