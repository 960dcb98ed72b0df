package snowflaketest_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

const (
	s3Key    = "AKIDEMULATORTEST"
	s3Secret = "emulator-s3-secret-do-not-leak"
)

// fakeS3 starts an in-process S3 server with one bucket and returns its
// URL and a client for it.
func fakeS3(t *testing.T, bucket string) (string, *s3.Client) {
	t.Helper()
	fake := gofakes3.New(s3mem.New(), gofakes3.WithV4Auth(map[string]string{s3Key: s3Secret}))
	ts := httptest.NewServer(fake.Server())
	t.Cleanup(ts.Close)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s3Key, s3Secret, "")})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return ts.URL, client
}

func putObject(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// TestExternalStage: CREATE STAGE ... URL = 's3://...' with CREDENTIALS or
// a STORAGE_INTEGRATION reads the objects from the S3 endpoint in
// Options.S3: LIST, COPY (with load metadata by ETag), REMOVE, and a pipe
// over the stage fed through Snowpipe's insertFiles, with loadHistoryScan
// and SYSTEM$PIPE_STATUS.
func TestExternalStage(t *testing.T) {
	url, s3c := fakeS3(t, "data")
	putObject(t, s3c, "data", "in/a.csv", "1,x\n2,y\n")
	putObject(t, s3c, "data", "in/b.csv", "3,z\n")
	putObject(t, s3c, "data", "other/c.csv", "9,no\n")
	key := sharedKey(t)
	srv, err := snowflaketest.NewServer(snowflaketest.Options{
		S3:       snowflaketest.S3Options{Endpoint: url, AccessKeyID: s3Key, SecretAccessKey: s3Secret},
		UserKeys: map[string]*rsa.PublicKey{"LOADER": &key.PublicKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := keyPairDB(t, srv, "LOADER", key)
	mustExec(t, db, "CREATE TABLE t (id NUMBER, v STRING)")
	mustExec(t, db, fmt.Sprintf("CREATE STAGE ext URL = 's3://data/in/' CREDENTIALS = (AWS_KEY_ID = '%s' AWS_SECRET_KEY = '%s') FILE_FORMAT = (TYPE = CSV)", s3Key, s3Secret))
	_, list := queryAll(t, db, "LIST @ext")
	if len(list) != 2 || list[0][0] != "s3://data/in/a.csv" || list[0][1] != "8" || list[1][0] != "s3://data/in/b.csv" || len(list[0][2]) != 32 {
		t.Errorf("LIST @ext = %v, want a.csv (8 bytes, md5) and b.csv under s3://data/in/", list)
	}
	res, _ := copyInto(t, db, "COPY INTO t FROM @ext FILES = ('a.csv')")
	if len(res) != 1 || res[0].file != "s3://data/in/a.csv" || res[0].status != "LOADED" || res[0].loaded != 2 {
		t.Fatalf("COPY from the external stage = %+v", res)
	}
	if got := rowsText(t, db, "SELECT id, v FROM t ORDER BY id"); got != "1 x,2 y" {
		t.Errorf("table = %s, want 1 x,2 y", got)
	}
	res, _ = copyInto(t, db, "COPY INTO t FROM @ext")
	if len(res) != 1 || res[0].file != "s3://data/in/b.csv" {
		t.Errorf("second COPY = %+v, want only b.csv (a.csv is in the load metadata)", res)
	}
	putObject(t, s3c, "data", "in/a.csv", "4,w\n") // new content, new ETag: loads again
	res, _ = copyInto(t, db, "COPY INTO t FROM @ext")
	if len(res) != 1 || res[0].file != "s3://data/in/a.csv" || res[0].loaded != 1 {
		t.Errorf("COPY of a rewritten object = %+v, want a.csv loaded again", res)
	}

	// Wrong credentials fail, and the error does not carry the secret.
	mustExec(t, db, "CREATE STAGE bad URL = 's3://data/in/' CREDENTIALS = (AWS_KEY_ID = 'AKIDWRONG' AWS_SECRET_KEY = 'wrong-secret-xyz')")
	if _, err := db.Query("LIST @bad"); err == nil || strings.Contains(err.Error(), "wrong-secret-xyz") {
		t.Errorf("LIST with wrong credentials = %v, want an error without the secret", err)
	}

	// A storage integration: the emulator signs with Options.S3's keys.
	mustExec(t, db, "CREATE TABLE u (id NUMBER, v STRING)")
	mustExec(t, db, "CREATE STAGE integ URL = 's3://data/other/' STORAGE_INTEGRATION = my_int FILE_FORMAT = (TYPE = CSV)")
	res, _ = copyInto(t, db, "COPY INTO u FROM @integ PURGE = TRUE")
	if len(res) != 1 || res[0].loaded != 1 {
		t.Errorf("COPY through a storage integration = %+v", res)
	}
	if _, list := queryAll(t, db, "LIST @integ"); len(list) != 0 {
		t.Errorf("LIST after PURGE = %v, want nothing", list)
	}
	if _, err := db.Exec("PUT file:///etc/hostname @ext"); snowErr(t, err).Number != 2 {
		t.Errorf("PUT to an external stage = %v, want 000002", err)
	}

	// Snowpipe over the external stage.
	mustExec(t, db, "CREATE TABLE p_t (id NUMBER, v STRING)")
	mustExec(t, db, "CREATE STAGE pst URL = 's3://data/pipe/' STORAGE_INTEGRATION = my_int FILE_FORMAT = (TYPE = CSV)")
	mustExec(t, db, "CREATE PIPE pp AS COPY INTO p_t FROM @pst")
	putObject(t, s3c, "data", "pipe/2024/f1.csv", "7,a\n8,b\n")
	before := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	tok := signJWT(t, key, "EMULATOR", "LOADER")
	code, out := snowpipeCall(t, srv, "POST", "/v1/data/pipes/TEST_DB.PUBLIC.PP/insertFiles?requestId=r1", `{"files":[{"path":"2024/f1.csv"}]}`, tok)
	if code != 200 || out["responseCode"] != "SUCCESS" {
		t.Fatalf("insertFiles = %d %v", code, out)
	}
	code, out = snowpipeCall(t, srv, "GET", "/v1/data/pipes/TEST_DB.PUBLIC.PP/loadHistoryScan?startTimeInclusive="+before, "", tok)
	files, _ := out["files"].([]any)
	if code != 200 || len(files) != 1 {
		t.Fatalf("loadHistoryScan = %d %v, want one file", code, out)
	}
	if f := files[0].(map[string]any); f["path"] != "2024/f1.csv" || f["status"] != "LOADED" || f["rowsInserted"] != float64(2) {
		t.Errorf("loadHistoryScan file = %v", f)
	}
	if got := rowsText(t, db, "SELECT id, v FROM p_t ORDER BY id"); got != "7 a,8 b" {
		t.Errorf("pipe table = %s", got)
	}
	st := queryOne(t, db, "SELECT SYSTEM$PIPE_STATUS('pp')")
	if !strings.Contains(st, `"executionState":"RUNNING"`) || !strings.Contains(st, `"pendingFileCount":0`) || !strings.Contains(st, `"lastIngestedFilePath":"2024/f1.csv"`) {
		t.Errorf("SYSTEM$PIPE_STATUS = %s", st)
	}
	var pipeName string
	if err := db.QueryRow("SELECT pipe_name FROM TABLE(INFORMATION_SCHEMA.COPY_HISTORY(TABLE_NAME => 'P_T', START_TIME => DATEADD(hours, -1, CURRENT_TIMESTAMP())))").Scan(&pipeName); err != nil || pipeName != "PP" {
		t.Errorf("COPY_HISTORY of the pipe's load: pipe %q, %v", pipeName, err)
	}
	// ALTER PIPE ... REFRESH loads what the stage holds and the table has
	// not loaded yet.
	putObject(t, s3c, "data", "pipe/2024/f2.csv", "9,c\n")
	putObject(t, s3c, "data", "pipe/2023/old.csv", "1,old\n")
	_, sent := queryAll(t, db, "ALTER PIPE pp REFRESH PREFIX = '2024/'")
	if len(sent) != 2 || sent[1][0] != "2024/f2.csv" || sent[1][1] != "SENT" {
		t.Errorf("ALTER PIPE REFRESH = %v, want both 2024 files SENT", sent)
	}
	if got := rowsText(t, db, "SELECT id, v FROM p_t ORDER BY id"); got != "7 a,8 b,9 c" {
		t.Errorf("pipe table after REFRESH = %s, want f2 added once and 2023 untouched", got)
	}
	mustExec(t, db, "ALTER PIPE pp SET PIPE_EXECUTION_PAUSED = TRUE")
	if st := queryOne(t, db, "SELECT SYSTEM$PIPE_STATUS('pp')"); !strings.Contains(st, `"executionState":"PAUSED"`) {
		t.Errorf("paused pipe status = %s", st)
	}
	if code, _ := snowpipeCall(t, srv, "POST", "/v1/data/pipes/TEST_DB.PUBLIC.PP/insertFiles?requestId=r2", `{"files":[{"path":"2023/old.csv"}]}`, tok); code == 200 {
		t.Errorf("insertFiles to a paused pipe = 200")
	}
	_, rm := queryAll(t, db, "REMOVE @ext PATTERN = '.*b[.]csv'")
	if len(rm) != 1 || rm[0][0] != "s3://data/in/b.csv" {
		t.Errorf("REMOVE @ext = %v", rm)
	}
}
