package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// notification announces a loaded object to whatever comes next ("trigger
// additional functions"): an EventBridge rule or an SQS consumer.
type notification struct {
	Table    string   `json:"table"`
	Mode     string   `json:"mode"`
	Object   string   `json:"object"`
	Files    []string `json:"files"`
	Records  int64    `json:"records"`
	Rejected int64    `json:"rejected"`
	Rows     int64    `json:"rows"`
}

// The EventBridge event's source and detail type; rules match on them.
const (
	notifySource     = "flatpipe"
	notifyDetailType = "flatpipe.loaded"
)

// notifier sends a notification. A failed notification fails the object,
// so a retry sends it again (delivery is at least once: consumers must be
// idempotent, keyed by object and files).
type notifier interface {
	notify(ctx context.Context, n notification) error
}

// eventBridgeAPI is the part of *eventbridge.Client the notifier uses.
type eventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// sqsAPI is the part of *sqs.Client the notifier uses.
type sqsAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

type notifiers struct {
	eb    eventBridgeAPI
	bus   string
	sqs   sqsAPI
	queue string
}

func (ns *notifiers) notify(ctx context.Context, n notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("lambda: notification: %w", err)
	}
	if ns.eb != nil {
		out, err := ns.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(ns.bus), Source: aws.String(notifySource),
			DetailType: aws.String(notifyDetailType), Detail: aws.String(string(body)),
		}}})
		if err != nil {
			return fmt.Errorf("lambda: notify EventBridge bus %q: %w", ns.bus, err)
		}
		if out.FailedEntryCount > 0 {
			code, msg := "", ""
			if len(out.Entries) > 0 {
				code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
			}
			return fmt.Errorf("lambda: notify EventBridge bus %q: entry failed: %s %s", ns.bus, code, msg)
		}
	}
	if ns.sqs != nil {
		if _, err := ns.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(ns.queue),
			MessageBody: aws.String(string(body))}); err != nil {
			return fmt.Errorf("lambda: notify SQS queue %q: %w", ns.queue, err)
		}
	}
	return nil
}
