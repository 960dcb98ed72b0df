package loadtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

const (
	extKey    = "AKIDLOADERTEST"
	extSecret = "loader-s3-secret-do-not-leak"
)

// externalS3 starts the in-process S3 server with bucket "lake" and an
// emulator whose external stages read from it.
func externalS3(t *testing.T, o snowflaketest.Options) (*snowflaketest.Server, *s3.Client) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION"} {
		t.Setenv(k, "")
	}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithV4Auth(map[string]string{extKey: extSecret}))
	ts := httptest.NewServer(fake.Server())
	t.Cleanup(ts.Close)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), UsePathStyle: true, HTTPClient: ts.Client(),
		Credentials:                credentials.NewStaticCredentialsProvider(extKey, extSecret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	o.S3 = snowflaketest.S3Options{Endpoint: ts.URL, AccessKeyID: extKey, SecretAccessKey: extSecret}
	srv, _ := emulator(t, o)
	return srv, c
}

// TestLoaderExternalStage uploads the files with the AWS SDK (S3Sink) to
// the prefix an external stage points at, COPYs them (no PUT), and loads
// the same batch again: skipped, each row once. Merge works the same way.
func TestLoaderExternalStage(t *testing.T) {
	srv, c := externalS3(t, snowflaketest.Options{})
	db := srv.OpenDB()
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE STAGE LAKE URL = 's3://lake/staged/' STORAGE_INTEGRATION = LAKE_INT"); err != nil {
		t.Fatal(err)
	}
	sink := &load.S3Sink{Client: c, Bucket: "lake", Prefix: "staged"}
	b := makeBatch(t, t.TempDir(), "ext", 3, records(1, 20, ""))
	ev := &events{}
	l := newLoader(t, db, load.LoaderOptions{Table: "from_lake", Stage: load.Stage{Kind: load.ExternalStage, Name: "lake", Path: "events/2026", S3: sink}, Progress: ev})
	res, err := l.Load(ctx, b.table, b.files)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 20 || ev.count(load.StepUpload) != 3 {
		t.Errorf("loaded %d rows with %d uploads, want 20 and 3", res.RowsLoaded, ev.count(load.StepUpload))
	}
	cols := colNames(b.table)
	sameRows(t, "external stage", tableRows(t, db, "from_lake", cols), rowsOf(b.recs, cols))
	res, err = l.Load(ctx, b.table, b.files)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Files {
		if r.Status != "LOAD_SKIPPED" {
			t.Errorf("rerun: file %s %s, want LOAD_SKIPPED", r.File.Name, r.Status)
		}
	}
	sameRows(t, "external stage after rerun", tableRows(t, db, "from_lake", cols), rowsOf(b.recs, cols))

	m := newLoader(t, db, load.LoaderOptions{Table: "merged_lake", Disposition: load.Merge, MergeKeys: []string{"ID"},
		Stage: load.Stage{Kind: load.ExternalStage, Name: "lake", Path: "events/2026", S3: sink}})
	if _, err := m.Load(ctx, b.table, b.files); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "merged from the external stage", tableRows(t, db, "merged_lake", cols), rowsOf(b.recs, cols))
}

// TestSnowpipeExternalStage is the real-time path: an S3Sink writes the
// staged files to the prefix a pipe's external stage reads, the Snowpipe
// client announces them (insertFiles; the emulator has no auto-ingest
// events), WaitLoaded reports per file, and loadHistoryScan lists them.
func TestSnowpipeExternalStage(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv, c := externalS3(t, snowflaketest.Options{})
	db := srv.OpenDB()
	defer db.Close()
	ctx := context.Background()
	b := makeBatch(t, t.TempDir(), "rt", 2, records(1, 10, ""))
	// The table, from the batch's plan; the stage and the pipe, by their owner.
	l := newLoader(t, db, load.LoaderOptions{Table: "realtime"})
	if _, err := l.Prepare(ctx, b.table); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE STAGE RT_STAGE URL = 's3://lake/pipe/' STORAGE_INTEGRATION = LAKE_INT",
		"CREATE PIPE RT_PIPE AS COPY INTO REALTIME FROM @RT_STAGE FILE_FORMAT = (" + b.files[0].FileFormat() + ") " + b.files[0].CopyOptions(),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sink := &load.S3Sink{Client: c, Bucket: "lake", Prefix: "pipe"}
	var paths []load.StagedPath
	var names []string
	for _, f := range b.files {
		obj, err := sink.Put(ctx, "", f)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, load.StagedPath{Path: f.Name, Size: f.Size})
		names = append(names, f.Name)
		if obj.Key != "pipe/"+f.Name {
			t.Errorf("key %s, want pipe/%s", obj.Key, f.Name)
		}
	}
	u, _ := url.Parse(srv.URL)
	start := time.Now().Add(-time.Minute)
	sp, err := load.NewSnowpipe(load.SnowpipeOptions{Account: "emulator", User: "loader", Key: key, Pipe: "TEST_DB.PUBLIC.RT_PIPE",
		BaseURL: u.String(), Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.InsertFiles(ctx, paths); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := sp.WaitLoaded(wctx, names, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range got {
		if f.RowsInserted != b.files[i].Rows {
			t.Errorf("file %s: %d rows inserted, want %d", names[i], f.RowsInserted, b.files[i].Rows)
		}
	}
	hist, err := sp.LoadHistoryScan(ctx, start, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Files) != len(names) {
		t.Errorf("loadHistoryScan lists %d files, want %d: %+v", len(hist.Files), len(names), hist.Files)
	}
	cols := colNames(b.table)
	sameRows(t, "piped from S3", tableRows(t, db, "realtime", cols), rowsOf(b.recs, cols))
}
