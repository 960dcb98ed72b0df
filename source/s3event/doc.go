// Package s3event decodes what a Lambda function receives when S3 objects
// are created: S3 notifications directly, inside SQS messages or inside
// SNS-in-SQS envelopes, and EventBridge "Object Created" events, into
// ObjectEvents naming source.Objects with URL-decoded keys.
//
// DecodeSQSEvent, DecodeMessage, DecodeS3Event, DecodeSNSEvent and
// DecodeEventBridge do the decoding. The s3:TestEvent is acknowledged and
// skipped; other event names are ignored. A message that cannot be decoded
// gives a *MessageError (errors.Is ErrBadMessage) naming its message id;
// SQSBatchItemFailures turns failed ids into a partial batch response.
//
// # Options
//
// As in every flatpipe package, options come in an …Options struct whose
// zero value means the documented defaults: EventOptions, taken by the
// functions that may meet EventBridge events. It holds only a switch, so no
// value of it is invalid and no function here returns an options error.
//
// # Concurrency
//
// The functions hold no state and are safe for concurrent use.
//
// # Stability
//
// New in this release; names may still change before v1.
package s3event
