package s3event

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/flatpipe/flatpipe/source"
)

// ObjectEvent announces an object that was created. MessageID names the SQS
// message (or SNS / EventBridge id) it came in, so that a Lambda can report
// that message as failed when the object cannot be processed.
type ObjectEvent struct {
	MessageID string
	Object    source.Object
	EventName string // "ObjectCreated:Put", ..., or "Object Created" from EventBridge
	EventTime time.Time
	Sequencer string // orders events for one key: compare after left-padding with zeros
}

// EventOptions configures event decoding. The zero value is ready to use.
type EventOptions struct {
	// EventBridgeKeysEncoded URL-decodes (query form, '+' is a space) the
	// object keys of EventBridge events, as is always done for S3
	// notifications. AWS documents S3 notification keys as URL-encoded;
	// EventBridge keys are taken as they are unless this is set.
	EventBridgeKeysEncoded bool
}

// S3TestEventName is the Event of the test message S3 sends when a
// notification is configured; DecodeMessage acknowledges and skips it.
const S3TestEventName = "s3:TestEvent"

// EventBridgeObjectCreated is the detail of an EventBridge "Object Created"
// event from source "aws.s3" (lambda-go has no type for it).
type EventBridgeObjectCreated struct {
	Version string `json:"version"`
	Bucket  struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		ETag      string `json:"etag"`
		VersionID string `json:"version-id"`
		Sequencer string `json:"sequencer"`
	} `json:"object"`
	RequestID       string `json:"request-id"`
	Requester       string `json:"requester"`
	SourceIPAddress string `json:"source-ip-address"`
	Reason          string `json:"reason"`
}

func quoteETag(e string) string {
	if e == "" || strings.HasPrefix(e, `"`) || strings.HasPrefix(e, `W/"`) {
		return e
	}
	return `"` + e + `"`
}

// DecodeS3Event returns the ObjectCreated records of an S3 notification, with
// keys URL-decoded. Other event names (removals, restores, ...) are skipped.
// messageID is copied into the results and any error.
func DecodeS3Event(messageID string, e events.S3Event) ([]ObjectEvent, error) {
	var out []ObjectEvent
	for i, r := range e.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, &MessageError{MessageID: messageID, Err: fmt.Errorf("record %d: bad object key: %w", i, err)}
		}
		if r.S3.Bucket.Name == "" || key == "" {
			return nil, &MessageError{MessageID: messageID, Err: fmt.Errorf("record %d: missing bucket or key", i)}
		}
		size := r.S3.Object.Size
		out = append(out, ObjectEvent{
			MessageID: messageID,
			Object: source.Object{Bucket: r.S3.Bucket.Name, Key: key, VersionID: r.S3.Object.VersionID,
				ETag: quoteETag(r.S3.Object.ETag), Size: size, LastModified: r.EventTime},
			EventName: r.EventName,
			EventTime: r.EventTime,
			Sequencer: r.S3.Object.Sequencer,
		})
	}
	return out, nil
}

// DecodeEventBridge returns the object of an "Object Created" event from
// source "aws.s3"; other events give no objects and no error.
func DecodeEventBridge(e events.EventBridgeEvent, opts EventOptions) ([]ObjectEvent, error) {
	if e.Source != "aws.s3" || e.DetailType != "Object Created" {
		return nil, nil
	}
	var d EventBridgeObjectCreated
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return nil, &MessageError{MessageID: e.ID, Err: fmt.Errorf("bad Object Created detail: %w", err)}
	}
	key := d.Object.Key
	if opts.EventBridgeKeysEncoded {
		k, err := url.QueryUnescape(key)
		if err != nil {
			return nil, &MessageError{MessageID: e.ID, Err: fmt.Errorf("bad object key: %w", err)}
		}
		key = k
	}
	if d.Bucket.Name == "" || key == "" {
		return nil, &MessageError{MessageID: e.ID, Err: errors.New("missing bucket or key")}
	}
	return []ObjectEvent{{
		MessageID: e.ID,
		Object: source.Object{Bucket: d.Bucket.Name, Key: key, VersionID: d.Object.VersionID,
			ETag: quoteETag(d.Object.ETag), Size: d.Object.Size, LastModified: e.Time},
		EventName: e.DetailType,
		EventTime: e.Time,
		Sequencer: d.Object.Sequencer,
	}}, nil
}

// DecodeSNSEvent decodes the S3 notifications carried by SNS records.
func DecodeSNSEvent(e events.SNSEvent, opts EventOptions) ([]ObjectEvent, error) {
	var out []ObjectEvent
	for _, r := range e.Records {
		objs, err := decode(r.SNS.MessageID, []byte(r.SNS.Message), opts, 1)
		if err != nil {
			return out, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// DecodeSQSEvent decodes every message of an SQS batch. It returns the
// objects of the messages that decoded, and one *MessageError per message that
// did not, in batch order; report those with SQSBatchItemFailures.
func DecodeSQSEvent(e events.SQSEvent, opts EventOptions) ([]ObjectEvent, []*MessageError) {
	var out []ObjectEvent
	var bad []*MessageError
	for _, m := range e.Records {
		objs, err := DecodeMessage(m.MessageId, []byte(m.Body), opts)
		if err != nil {
			var me *MessageError
			if !errors.As(err, &me) {
				me = &MessageError{MessageID: m.MessageId, Err: err}
			}
			bad = append(bad, me)
			continue
		}
		out = append(out, objs...)
	}
	return out, bad
}

// DecodeMessage decodes one message body as it arrives in SQS: an S3
// notification, an SNS envelope holding one, an EventBridge event, or the S3
// test event (no objects, no error). Anything else is a *MessageError naming
// messageID.
func DecodeMessage(messageID string, body []byte, opts EventOptions) ([]ObjectEvent, error) {
	return decode(messageID, body, opts, 0)
}

type envelope struct {
	Records    json.RawMessage `json:"Records"`
	Event      string          `json:"Event"`
	Type       string          `json:"Type"`
	Message    *string         `json:"Message"`
	MessageID  string          `json:"MessageId"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

func decode(messageID string, body []byte, opts EventOptions, depth int) ([]ObjectEvent, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &MessageError{MessageID: messageID, Err: fmt.Errorf("bad JSON: %w", err)}
	}
	switch {
	case env.Event == S3TestEventName:
		return nil, nil
	case env.Type == "Notification" && env.Message != nil:
		if depth > 0 {
			return nil, &MessageError{MessageID: messageID, Err: errors.New("nested SNS envelope")}
		}
		return decode(messageID, []byte(*env.Message), opts, depth+1)
	case env.Records != nil:
		var e events.S3Event
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, &MessageError{MessageID: messageID, Err: fmt.Errorf("bad S3 notification: %w", err)}
		}
		return DecodeS3Event(messageID, e)
	case env.Source != "" && env.DetailType != "":
		var e events.EventBridgeEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, &MessageError{MessageID: messageID, Err: fmt.Errorf("bad EventBridge event: %w", err)}
		}
		objs, err := DecodeEventBridge(e, opts)
		for i := range objs {
			objs[i].MessageID = messageID
		}
		var me *MessageError
		if errors.As(err, &me) {
			me.MessageID = messageID
		}
		return objs, err
	}
	return nil, &MessageError{MessageID: messageID, Err: ErrUnknownMessage}
}
