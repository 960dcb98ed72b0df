package s3source

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/source"
)

// HeadBucketAPI is the part of *s3.Client a BucketCheck uses.
type HeadBucketAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, opts ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// DefaultHealthTimeout bounds a BucketCheck when its timeout is zero.
const DefaultHealthTimeout = 5 * time.Second

// BucketCheck is a health check that an S3 bucket is reachable with the
// client's credentials (HeadBucket). It has the Name/Check shape health
// aggregators take and is safe for concurrent use.
type BucketCheck struct {
	client  HeadBucketAPI
	bucket  string
	timeout time.Duration
}

// NewBucketCheck returns a check of bucket; timeout zero means
// DefaultHealthTimeout.
func NewBucketCheck(client HeadBucketAPI, bucket string, timeout time.Duration) (*BucketCheck, error) {
	if client == nil || bucket == "" {
		return nil, fmt.Errorf("%w: NewBucketCheck needs a client and a bucket", source.ErrOptions)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("%w: negative health timeout %v", source.ErrOptions, timeout)
	}
	if timeout == 0 {
		timeout = DefaultHealthTimeout
	}
	return &BucketCheck{client: client, bucket: bucket, timeout: timeout}, nil
}

// Name returns "s3:" followed by the bucket name.
func (c *BucketCheck) Name() string { return "s3:" + c.bucket }

// Check calls HeadBucket with the check's timeout and returns nil if the
// bucket answered. A missing bucket, a permission error or a timeout is
// returned wrapped, with the bucket name and no credentials.
func (c *BucketCheck) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if _, err := c.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)}); err != nil {
		return fmt.Errorf("s3source: bucket %s unreachable: %w", c.bucket, err)
	}
	return nil
}
