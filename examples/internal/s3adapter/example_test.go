package s3adapter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/flatpipe/flatpipe/examples/internal/s3adapter"
	"github.com/flatpipe/flatpipe/resilience"
)

// A checkpoint kept in S3 with compare-and-swap. In production the client
// comes from s3.NewFromConfig; here it talks to an in-process S3 server.
func Example() {
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer ts.Close()
	client := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		fmt.Println(err)
		return
	}

	store, err := s3adapter.New(client)
	if err != nil {
		fmt.Println(err)
		return
	}
	cps, err := resilience.NewS3CheckpointStore(store, "state", "checkpoints/")
	if err != nil {
		fmt.Println(err)
		return
	}
	cp := resilience.Checkpoint{Key: "orders.ndjson", Size: 100, RecordsDone: 3, NextOffset: 42}
	v1, err := cps.Save(ctx, "orders", cp, "") // If-None-Match: *
	fmt.Println("created:", err == nil)

	cp.RecordsDone, cp.NextOffset = 5, 80
	_, err = cps.Save(ctx, "orders", cp, v1) // If-Match: v1
	fmt.Println("advanced:", err == nil)

	_, err = cps.Save(ctx, "orders", cp, v1) // v1 is stale now
	fmt.Println("stale save conflicts:", errors.Is(err, resilience.ErrConflict))

	got, _, err := cps.Load(ctx, "orders")
	fmt.Println("resume at offset", got.NextOffset, err)
	// Output:
	// created: true
	// advanced: true
	// stale save conflicts: true
	// resume at offset 80 <nil>
}
