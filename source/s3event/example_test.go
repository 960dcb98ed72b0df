package s3event_test

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/flatpipe/flatpipe/source/s3event"
)

func ExampleDecodeSQSEvent() {
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"in"},"object":{"key":"a+b%3D1.json","eTag":"e1"}}}]}`},
		{MessageId: "m2", Body: `{"Service":"Amazon S3","Event":"s3:TestEvent"}`},
		{MessageId: "m3", Body: `not json`},
	}}
	objs, bad := s3event.DecodeSQSEvent(batch, s3event.EventOptions{})
	for _, o := range objs {
		fmt.Println(o.MessageID, o.Object)
	}
	var failed []string
	for _, e := range bad {
		failed = append(failed, e.MessageID)
	}
	fmt.Println(s3event.SQSBatchItemFailures(failed...).BatchItemFailures)
	// Output:
	// m1 s3://in/a b=1.json
	// [{m3}]
}
