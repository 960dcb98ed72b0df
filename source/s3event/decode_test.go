package s3event

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func loadEvent(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func keys(objs []ObjectEvent) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.MessageID+":"+o.Object.Bucket+"/"+o.Object.Key)
	}
	return fmt.Sprint(s)
}

func TestDecodeS3Event(t *testing.T) {
	var e events.S3Event
	loadEvent(t, "s3_put.json", &e)
	got, err := DecodeS3Event("", e)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[:in-bucket/folder/red flower (1).ndjson :in-bucket/c++/a=b.json.gz]"; keys(got) != want {
		t.Errorf("DecodeS3Event = %s, want %s", keys(got), want)
	}
	o := got[0].Object
	if o.VersionID != "v1" || o.ETag != `"0123456789abcdef0123456789abcdef"` || o.Size != 1024 || got[0].Sequencer != "0A1B2C3D4E5F678901" ||
		!got[0].EventTime.Equal(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("identity = %+v", got[0])
	}
	// built in Go (URLDecodedKey empty): still decoded
	e.Records[0].S3.Object.URLDecodedKey = ""
	got, _ = DecodeS3Event("m", events.S3Event{Records: e.Records[:1]})
	if got[0].Object.Key != "folder/red flower (1).ndjson" || got[0].MessageID != "m" {
		t.Errorf("Go-built event: %+v", got[0])
	}
}

func TestDecodeSQSEvent(t *testing.T) {
	var e events.SQSEvent
	loadEvent(t, "sqs_batch.json", &e)
	got, bad := DecodeSQSEvent(e, EventOptions{})
	want := "[m-s3:in-bucket/folder/red flower (1).ndjson m-sns:in-bucket/sns/key 1.json m-eb:in-bucket/eb/a b.json]"
	if keys(got) != want {
		t.Errorf("objects = %s, want %s", keys(got), want)
	}
	var ids []string
	for _, b := range bad {
		ids = append(ids, b.MessageID)
	}
	if fmt.Sprint(ids) != "[m-garbage m-badkey m-other]" {
		t.Errorf("failed messages = %v, want [m-garbage m-badkey m-other]", ids)
	}
	if !errors.Is(bad[2], ErrUnknownMessage) {
		t.Errorf("unknown body error = %v, want ErrUnknownMessage", bad[2])
	}
	resp := SQSBatchItemFailures(ids[0], ids[1], ids[0])
	if b, _ := json.Marshal(resp); string(b) != `{"batchItemFailures":[{"itemIdentifier":"m-garbage"},{"itemIdentifier":"m-badkey"}]}` {
		t.Errorf("response = %s", b)
	}
	if got[2].Object.ETag != `"abc"` || got[2].Object.VersionID != "v9" || got[2].EventName != "Object Created" {
		t.Errorf("EventBridge object = %+v", got[2])
	}
}

func TestDecodeSNSEvent(t *testing.T) {
	var e events.SNSEvent
	loadEvent(t, "sns.json", &e)
	got, err := DecodeSNSEvent(e, EventOptions{})
	if err != nil || keys(got) != "[sns-1:in-bucket/sns/key 1.json]" {
		t.Errorf("DecodeSNSEvent = %s, %v", keys(got), err)
	}
}

func TestDecodeEventBridge(t *testing.T) {
	var e events.EventBridgeEvent
	loadEvent(t, "eventbridge.json", &e)
	for _, tt := range []struct {
		opts EventOptions
		key  string
	}{{EventOptions{}, "eb/a b.json"}, {EventOptions{EventBridgeKeysEncoded: true}, "eb/a b.json"}} {
		got, err := DecodeEventBridge(e, tt.opts)
		if err != nil || len(got) != 1 || got[0].Object.Key != tt.key || got[0].MessageID != "eb-1" {
			t.Errorf("DecodeEventBridge(%+v) = %+v, %v", tt.opts, got, err)
		}
	}
	e.Detail = json.RawMessage(`{"bucket":{"name":"b"},"object":{"key":"x+y%3D"}}`)
	got, _ := DecodeEventBridge(e, EventOptions{EventBridgeKeysEncoded: true})
	if got[0].Object.Key != "x y=" {
		t.Errorf("encoded key = %q, want %q", got[0].Object.Key, "x y=")
	}
	got, _ = DecodeEventBridge(e, EventOptions{})
	if got[0].Object.Key != "x+y%3D" {
		t.Errorf("raw key = %q", got[0].Object.Key)
	}
	e.DetailType = "Object Deleted"
	if got, err := DecodeEventBridge(e, EventOptions{}); got != nil || err != nil {
		t.Errorf("Object Deleted = %v, %v, want nothing", got, err)
	}
	e.DetailType = "Object Created"
	e.Detail = json.RawMessage(`{"bucket":{"name":""},"object":{"key":"k"}}`)
	var me *MessageError
	if _, err := DecodeEventBridge(e, EventOptions{}); !errors.As(err, &me) || me.MessageID != "eb-1" {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestDecodeMessageNeverPanics(t *testing.T) {
	for _, body := range []string{"", "null", "[]", `{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`,
		`{"Records":null}`, `{"Records":[{}]}`, `{"Records":[{"eventName":"ObjectCreated:Put"}]}`, `{"source":"aws.s3","detail-type":"Object Created","detail":5}`} {
		_, err := DecodeMessage("id", []byte(body), EventOptions{})
		var me *MessageError
		if err != nil && (!errors.As(err, &me) || me.MessageID != "id") {
			t.Errorf("DecodeMessage(%q) = %v, want a *MessageError naming id", body, err)
		}
	}
}
