package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestEventShapes delivers one object per event shape the function takes
// (S3 notification direct, in SQS, SNS in SQS, EventBridge direct and in
// SQS, SNS direct) and compares the table with every input record, cell
// for cell.
func TestEventShapes(t *testing.T) {
	f := newFixture(t, modeSnowflake, nil)
	var all [][]byte
	put := func(key string, first int) string {
		ds := docs(first, 3)
		all = append(all, ds...)
		return f.s3.put(t, srcBucket, key, ndjson(ds))
	}
	shapes := []struct {
		name    string
		payload func(key, etag string) []byte
		sqs     bool
	}{
		{"s3", func(k, e string) []byte { return s3Notification(srcBucket, k, e) }, false},
		{"sqs-s3", func(k, e string) []byte {
			return sqsEvent(queueARN, message{"m-sqs", string(s3Notification(srcBucket, k, e))})
		}, true},
		{"sqs-sns-s3", func(k, e string) []byte {
			return sqsEvent(queueARN, message{"m-sns", string(snsEnvelope("sns-1", s3Notification(srcBucket, k, e)))})
		}, true},
		{"eventbridge", func(k, e string) []byte { return eventBridge("eb-1", srcBucket, k, e) }, false},
		{"sqs-eventbridge", func(k, e string) []byte {
			return sqsEvent(queueARN, message{"m-eb", string(eventBridge("eb-2", srcBucket, k, e))})
		}, true},
		{"sns", func(k, e string) []byte { return snsEvent("sns-2", s3Notification(srcBucket, k, e)) }, false},
	}
	for i, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			key := fmt.Sprintf("in/%s/part %d.ndjson", sh.name, i) // a space: URL-encoded in notifications
			etag := put(key, i*10+1)
			payload := sh.payload(key, etag)
			if sh.sqs {
				if got := f.sqsFailures(t, payload); len(got) != 0 {
					t.Fatalf("BatchItemFailures = %v, want none", got)
				}
				return
			}
			out, err := f.invoke(t, payload)
			if err != nil {
				t.Fatalf("Invoke error %v", err)
			}
			var s summary
			if err := json.Unmarshal(out, &s); err != nil || s.Loaded != 1 || s.Objects != 1 {
				t.Fatalf("Invoke = %s (%v), want one object loaded", out, err)
			}
		})
	}
	db := f.sf.OpenDB()
	defer db.Close()
	_, got := tableRows(t, db, testTable)
	sameRows(t, got, expected(t, all))
}

// TestUnknownEvent checks that a payload of no known shape is an error,
// and the S3 test event an acknowledgement.
func TestUnknownEvent(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	for _, p := range []string{`{"hello":1}`, `[1,2]`, `not json`} {
		if _, err := f.invoke(t, []byte(p)); !errors.Is(err, ErrEvent) {
			t.Errorf("Invoke(%s) error = %v, want ErrEvent", p, err)
		}
	}
	out, err := f.invoke(t, []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-03T08:00:00.000Z","Bucket":"source"}`))
	if err != nil || !strings.Contains(string(out), `"objects":0`) {
		t.Errorf("Invoke(s3:TestEvent) = %s, %v, want an empty summary", out, err)
	}
	if got := f.sqsFailures(t, sqsEvent(queueARN, message{"t", `{"Service":"Amazon S3","Event":"s3:TestEvent"}`})); len(got) != 0 {
		t.Errorf("SQS s3:TestEvent failures = %v, want none", got)
	}
}
