package s3source

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type blockingHead struct {
	deadline time.Time
	hasDL    bool
}

func (b *blockingHead) HeadBucket(ctx context.Context, _ *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	b.deadline, b.hasDL = ctx.Deadline()
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestBucketCheckTimeout checks that Check puts its timeout on the call's
// context (a deadline exists and has passed when Check returns) and that a
// zero timeout means DefaultHealthTimeout; it measures no durations.
func TestBucketCheckTimeout(t *testing.T) {
	h := &blockingHead{}
	c, _ := NewBucketCheck(h, "b", time.Millisecond)
	err := c.Check(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Check = %v, want DeadlineExceeded", err)
	}
	if !h.hasDL || h.deadline.After(time.Now()) {
		t.Errorf("HeadBucket's context deadline %v (set %v), want one that has passed", h.deadline, h.hasDL)
	}
	if d, _ := NewBucketCheck(h, "b", 0); d.timeout != DefaultHealthTimeout {
		t.Errorf("timeout 0 gave %v, want DefaultHealthTimeout", d.timeout)
	}
}
