package load

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/flatpipe/flatpipe/load/stagefile"
)

// S3API is the part of *s3.Client an S3Sink uses.
type S3API interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// DefaultPartSize is S3Sink's default multipart part size and threshold.
const DefaultPartSize = 64 << 20

// minPartSize is S3's smallest part (but the last).
const minPartSize = 5 << 20

// metaSHA256 is the object metadata key holding the file's SHA-256 (hex).
const metaSHA256 = "flatpipe-sha256"

// S3Sink writes staged files to an S3 prefix, for an external stage or for
// Snowpipe auto-ingest. Keys are deterministic: Prefix + dir + "/" +
// stagefile.File.Name, so a replayed batch writes the same keys. Every object carries
// its SHA-256 (x-amz-checksum-sha256, which S3 verifies, and the metadata
// key flatpipe-sha256); a file already there with the same SHA-256 is not
// uploaded again (so a replay raises no second event notification). Files
// larger than PartSize are uploaded in parts.
//
// An S3Sink is safe for concurrent use if its Client is.
type S3Sink struct {
	Client S3API
	Bucket string
	// Prefix starts every key ("snowpipe/events/"); a "/" is added when it
	// lacks one.
	Prefix string
	// PartSize is the multipart threshold and part size. Zero means
	// DefaultPartSize; at least 5 MiB.
	PartSize int64
}

// S3Object is one uploaded file.
type S3Object struct {
	Key string
	// Skipped is true when an object with the file's SHA-256 was already
	// there.
	Skipped bool
	// Parts is the number of parts of a multipart upload (0 for one PUT).
	Parts int
}

// Key returns the object key of f under dir ("" for none).
func (s *S3Sink) Key(dir string, f stagefile.File) string {
	p := s.Prefix
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if dir = strings.Trim(dir, "/"); dir != "" {
		p += dir + "/"
	}
	return p + f.Name
}

// Put uploads the local file f under dir.
func (s *S3Sink) Put(ctx context.Context, dir string, f stagefile.File) (S3Object, error) {
	key := s.Key(dir, f)
	obj := S3Object{Key: key}
	if s.Client == nil || s.Bucket == "" {
		return obj, fmt.Errorf("%w: S3Sink needs a Client and a Bucket", ErrOptions)
	}
	part := s.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	if part < minPartSize {
		return obj, fmt.Errorf("%w: S3Sink PartSize %d is below S3's 5 MiB minimum", ErrOptions, part)
	}
	sum, err := hex.DecodeString(f.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return obj, fmt.Errorf("%w: file %s has no valid SHA-256", ErrOptions, f.Name)
	}
	head, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &key})
	if err == nil && head.Metadata[metaSHA256] == f.SHA256 {
		obj.Skipped = true
		return obj, nil
	}
	if err != nil && !isNotFound(err) {
		return obj, fmt.Errorf("load: S3 head %s: %w", key, err)
	}
	file, err := os.Open(f.Path)
	if err != nil {
		return obj, fmt.Errorf("load: S3 upload %s: %w", f.Name, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return obj, fmt.Errorf("load: S3 upload %s: %w", f.Name, err)
	}
	meta := map[string]string{metaSHA256: f.SHA256, "flatpipe-rows": strconv.FormatInt(f.Rows, 10)}
	if st.Size() <= part {
		_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.Bucket, Key: &key, Body: file, ContentLength: aws.Int64(st.Size()),
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum)),
			Metadata:       meta,
		})
		if err != nil {
			return obj, fmt.Errorf("load: S3 put %s: %w", key, err)
		}
		return obj, nil
	}
	up, err := s.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.Bucket, Key: &key, Metadata: meta, ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		return obj, fmt.Errorf("load: S3 multipart %s: %w", key, err)
	}
	abort := func(cause error) (S3Object, error) {
		_, aerr := s.Client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &s.Bucket, Key: &key, UploadId: up.UploadId})
		return obj, errors.Join(cause, aerr)
	}
	whole := sha256.New()
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < st.Size(); off, n = off+part, n+1 {
		size := min(part, st.Size()-off)
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(h, whole), io.NewSectionReader(file, off, size)); err != nil {
			return abort(fmt.Errorf("load: S3 multipart %s: %w", key, err))
		}
		cs := base64.StdEncoding.EncodeToString(h.Sum(nil))
		out, err := s.Client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.Bucket, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(n),
			Body: io.NewSectionReader(file, off, size), ContentLength: aws.Int64(size), ChecksumSHA256: &cs,
		})
		if err != nil {
			return abort(fmt.Errorf("load: S3 part %d of %s: %w", n, key, err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n), ChecksumSHA256: &cs})
	}
	if got := hex.EncodeToString(whole.Sum(nil)); got != f.SHA256 {
		return abort(fmt.Errorf("load: S3 multipart %s: file content has SHA-256 %s, not the File's %s", key, got, f.SHA256))
	}
	_, err = s.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.Bucket, Key: &key, UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abort(fmt.Errorf("load: S3 complete %s: %w", key, err))
	}
	obj.Parts = len(parts)
	return obj, nil
}

func isNotFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}
