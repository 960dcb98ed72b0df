package s3source

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/source"
)

// ListObjectsAPI is the part of *s3.Client Walk and List use.
type ListObjectsAPI interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// ListOptions selects S3 objects. Bucket is required.
type ListOptions struct {
	Bucket string
	Prefix string
	// StartAfter resumes a listing after this key.
	StartAfter string
	// Suffixes keeps only keys ending in one of them (all keys if empty).
	Suffixes []string
	// ModifiedAfter and ModifiedBefore, when not zero, keep objects with
	// LastModified > ModifiedAfter and < ModifiedBefore.
	ModifiedAfter, ModifiedBefore time.Time
	// Limit stops after this many objects (no limit if zero).
	Limit int
}

func (o *ListOptions) keep(key string, mod time.Time) bool {
	if strings.HasSuffix(key, "/") {
		return false // a "folder" marker
	}
	if len(o.Suffixes) > 0 && !slices.ContainsFunc(o.Suffixes, func(s string) bool { return strings.HasSuffix(key, s) }) {
		return false
	}
	if !o.ModifiedAfter.IsZero() && !mod.After(o.ModifiedAfter) {
		return false
	}
	if !o.ModifiedBefore.IsZero() && !mod.Before(o.ModifiedBefore) {
		return false
	}
	return true
}

// Walk calls fn for every object selected by opts, in key order, following
// ListObjectsV2 pagination. An error from fn stops the walk and is returned.
func Walk(ctx context.Context, client ListObjectsAPI, opts ListOptions, fn func(source.Object) error) error {
	if client == nil || opts.Bucket == "" {
		return fmt.Errorf("%w: s3source.Walk needs a client and a bucket", source.ErrOptions)
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(opts.Bucket)}
	if opts.Prefix != "" {
		in.Prefix = aws.String(opts.Prefix)
	}
	if opts.StartAfter != "" {
		in.StartAfter = aws.String(opts.StartAfter)
	}
	n := 0
	p := s3.NewListObjectsV2Paginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3source: list s3://%s/%s: %w", opts.Bucket, opts.Prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			mod := aws.ToTime(o.LastModified)
			if !opts.keep(key, mod) {
				continue
			}
			obj := source.Object{Bucket: opts.Bucket, Key: key, ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size), LastModified: mod}
			if err := fn(obj); err != nil {
				return err
			}
			if n++; opts.Limit > 0 && n >= opts.Limit {
				return nil
			}
		}
	}
	return nil
}

// List returns the objects Walk visits.
func List(ctx context.Context, client ListObjectsAPI, opts ListOptions) ([]source.Object, error) {
	var out []source.Object
	err := Walk(ctx, client, opts, func(o source.Object) error { out = append(out, o); return nil })
	return out, err
}
