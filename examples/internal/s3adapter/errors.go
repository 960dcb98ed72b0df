package s3adapter

import (
	"errors"
	"strings"
)

// Operation names used in Error.Op.
const (
	OpGet = "GetObject"
	OpPut = "PutObject"
)

// ErrNoETag is the cause of an *Error when S3 answered without an ETag.
var ErrNoETag = errors.New("s3adapter: response has no ETag")

// Error is the error of a Store operation. Kind is
// resilience.ErrNotFound, resilience.ErrPreconditionFailed or nil (see the
// package documentation); Err is the SDK's error. errors.Is and errors.As
// see both. An *Error is a plain value, safe to read from any goroutine.
type Error struct {
	Op     string // OpGet or OpPut
	Bucket string
	Key    string
	Kind   error // a resilience sentinel, or nil
	Err    error // the cause, usually the SDK's *smithy.OperationError
}

// Error gives the operation, the object, the kind and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("s3adapter: ")
	b.WriteString(e.Op)
	b.WriteString(" s3://")
	b.WriteString(e.Bucket)
	b.WriteByte('/')
	b.WriteString(e.Key)
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind (when set) and Err.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}
