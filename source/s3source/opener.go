package s3source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/flatpipe/flatpipe/source"
)

// GetObjectAPI is the part of *s3.Client an Opener uses.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// OpenerOptions configures an Opener. The zero value is ready to use.
type OpenerOptions struct {
	// MaxResumes bounds how many times in a row a broken body is resumed
	// with a Range request without the stream making progress. Zero means
	// DefaultMaxResumes; negative disables resuming.
	MaxResumes int
}

// DefaultMaxResumes is OpenerOptions.MaxResumes when zero.
const DefaultMaxResumes = 5

// Opener opens S3 objects for a source.Reader (it implements source.Opener):
// one streaming GetObject pinned to the object's ETag (If-Match) and
// version, resumed with a Range request from the next raw byte when the body
// breaks. It is safe for concurrent use.
type Opener struct {
	client     GetObjectAPI
	maxResumes int
}

// NewOpener returns an Opener over client, or an error wrapping
// source.ErrOptions.
func NewOpener(client GetObjectAPI, opts OpenerOptions) (*Opener, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: s3source.NewOpener needs a client", source.ErrOptions)
	}
	if opts.MaxResumes == 0 {
		opts.MaxResumes = DefaultMaxResumes
	}
	return &Opener{client: client, maxResumes: opts.MaxResumes}, nil
}

// Open returns obj's raw bytes from offset on. The first GetObject fills in
// obj's ETag, VersionID, Size and LastModified when they are empty; every
// request is pinned to them, so an object replaced during a read gives an
// *ObjectChangedError instead of mixed records. The returned body lives only
// as long as ctx.
func (o *Opener) Open(ctx context.Context, obj *source.Object, offset int64) (io.ReadCloser, error) {
	b := &body{ctx: ctx, c: o.client, obj: obj, off: offset, max: o.maxResumes}
	if err := b.get(); err != nil {
		return nil, err
	}
	return b, nil
}

// ErrObjectChanged is wrapped by every *ObjectChangedError.
var ErrObjectChanged = errors.New("s3source: object changed while being read")

// ObjectChangedError reports that an S3 object no longer matches the ETag
// (or version) it was first read with, so a resumed read cannot continue.
type ObjectChangedError struct {
	Object string
	ETag   string
	Err    error
}

func (e *ObjectChangedError) Error() string {
	return fmt.Sprintf("s3source: %s changed while being read (expected ETag %s): %v", e.Object, e.ETag, e.Err)
}

// Unwrap returns ErrObjectChanged and the S3 error.
func (e *ObjectChangedError) Unwrap() []error { return []error{ErrObjectChanged, e.Err} }

// body is a GetObject body that resumes with a Range request from the last
// raw byte received when the connection breaks. It lives only for one
// ReadObject call, which is why it may hold that call's ctx.
type body struct {
	ctx     context.Context
	c       GetObjectAPI
	obj     *source.Object
	off     int64
	body    io.ReadCloser
	fails   int
	max     int
	resumes int
}

func (b *body) get() error {
	in := &s3.GetObjectInput{Bucket: aws.String(b.obj.Bucket), Key: aws.String(b.obj.Key)}
	if b.obj.VersionID != "" {
		in.VersionId = aws.String(b.obj.VersionID)
	}
	if b.obj.ETag != "" {
		in.IfMatch = aws.String(b.obj.ETag)
	}
	if b.off > 0 {
		in.Range = aws.String("bytes=" + strconv.FormatInt(b.off, 10) + "-")
	}
	out, err := b.c.GetObject(b.ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
			return &ObjectChangedError{Object: b.obj.String(), ETag: b.obj.ETag, Err: err}
		}
		if b.off > 0 && b.obj.Size >= 0 && b.off >= b.obj.Size && errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
			b.body = io.NopCloser(strings.NewReader(""))
			return nil
		}
		return fmt.Errorf("s3source: get %s at offset %d: %w", b.obj, b.off, err)
	}
	if b.obj.ETag == "" && out.ETag != nil {
		b.obj.ETag = *out.ETag
	}
	if b.obj.VersionID == "" && out.VersionId != nil && *out.VersionId != "" && *out.VersionId != "null" {
		b.obj.VersionID = *out.VersionId
	}
	if out.ContentLength != nil && b.off == 0 {
		b.obj.Size = *out.ContentLength
	} else if out.ContentRange != nil && b.obj.Size <= 0 {
		// "bytes first-last/total"
		if i := strings.LastIndexByte(*out.ContentRange, '/'); i >= 0 {
			if t, perr := strconv.ParseInt((*out.ContentRange)[i+1:], 10, 64); perr == nil {
				b.obj.Size = t
			}
		}
	}
	if out.LastModified != nil && b.obj.LastModified.IsZero() {
		b.obj.LastModified = *out.LastModified
	}
	b.body = out.Body
	return nil
}

func (b *body) Read(p []byte) (int, error) {
	for {
		if b.body == nil {
			if err := b.get(); err != nil {
				return 0, err
			}
		}
		n, err := b.body.Read(p)
		b.off += int64(n)
		if n > 0 {
			b.fails = 0
		}
		if err == nil {
			return n, nil
		}
		if err == io.EOF && (b.obj.Size < 0 || b.off >= b.obj.Size) {
			return n, io.EOF
		}
		if cerr := b.ctx.Err(); cerr != nil {
			return n, cerr
		}
		// the body broke (or ended short): resume from the next raw byte
		b.body.Close()
		b.body = nil
		if b.max < 0 || b.fails >= b.max {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("s3source: %s body broken at raw offset %d after %d resumes: %w", b.obj, b.off, b.resumes, err)
		}
		b.fails++
		b.resumes++
		if n > 0 {
			return n, nil
		}
	}
}

func (b *body) Close() error {
	if b.body != nil {
		err := b.body.Close()
		b.body = nil
		return err
	}
	return nil
}
