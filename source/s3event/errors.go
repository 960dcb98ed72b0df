package s3event

import (
	"errors"
	"fmt"
)

// ErrBadMessage is wrapped by every *MessageError.
var ErrBadMessage = errors.New("s3event: message cannot be decoded")

// ErrUnknownMessage is wrapped by a *MessageError whose body is none of the
// envelopes DecodeMessage knows.
var ErrUnknownMessage = errors.New("s3event: not an S3 notification, SNS envelope or EventBridge event")

// MessageError reports a message that cannot be decoded. MessageID is the
// id to return in the SQS partial batch response.
type MessageError struct {
	MessageID string
	Err       error
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("s3event: message %q: %v", e.MessageID, e.Err)
}

// Unwrap returns ErrBadMessage and the cause.
func (e *MessageError) Unwrap() []error { return []error{ErrBadMessage, e.Err} }
