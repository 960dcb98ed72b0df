package main

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// TestRuntimeEmulator builds the bootstrap binary as the README says and
// runs it under the AWS Lambda Runtime Interface Emulator (what AWS's base
// images run functions with), configured by environment variables only,
// then invokes it over the emulator's HTTP invoke API with an S3 event and
// an SQS event for objects held by the in-process S3 server, in both
// modes, and compares the Snowflake emulator's table and the destination
// files with the input, cell for cell.
func TestRuntimeEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	for _, mode := range []string{modeSnowflake, modeS3} {
		t.Run(mode, func(t *testing.T) {
			s3e := newS3Env(t)
			env := map[string]string{
				"FLATPIPE_MODE": mode, "FLATPIPE_TABLE": "events",
				"FLATPIPE_DEAD_LETTER": "s3://" + deadBucket + "/dl/", "FLATPIPE_S3_PATH_STYLE": "true",
				"AWS_ENDPOINT_URL_S3": s3e.srv.URL, "AWS_REGION": "us-east-1",
				"AWS_ACCESS_KEY_ID": "AKIDLAMBDATEST", "AWS_SECRET_ACCESS_KEY": "lambda-test-secret",
				"AWS_EC2_METADATA_DISABLED": "true", "AWS_LAMBDA_FUNCTION_NAME": "flatpipe",
				"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
			}
			var sf *snowflaketest.Server
			if mode == modeSnowflake {
				var err error
				if sf, err = snowflaketest.NewServer(snowflaketest.Options{}); err != nil {
					t.Fatal(err)
				}
				defer sf.Close()
				u, _ := url.Parse(sf.URL)
				for k, v := range map[string]string{"SNOWFLAKE_ACCOUNT": "emulator", "SNOWFLAKE_USER": "TEST", "SNOWFLAKE_PASSWORD": "test",
					"SNOWFLAKE_HOST": u.Hostname(), "SNOWFLAKE_PORT": u.Port(), "SNOWFLAKE_PROTOCOL": "http",
					"SNOWFLAKE_DATABASE": "TEST_DB", "SNOWFLAKE_SCHEMA": "PUBLIC", "SNOWFLAKE_WAREHOUSE": "WH"} {
					env[k] = v
				}
			} else {
				env["FLATPIPE_DESTINATION"] = "s3://" + dstBucket + "/staged/events/"
			}
			r := startRIE(t, env)

			direct, queued := docs(1, 5), docs(100, 7)
			e1 := s3e.put(t, srcBucket, "in/direct.ndjson", ndjson(direct))
			e2 := s3e.put(t, srcBucket, "in/queued one.ndjson", ndjson(append(queued, []byte(`{"broken":`))))
			out := r.invoke(t, s3Notification(srcBucket, "in/direct.ndjson", e1))
			var s summary
			if err := json.Unmarshal(out, &s); err != nil || s.Loaded != 1 {
				t.Fatalf("S3 event answer %s, want one object loaded", out)
			}
			ev := sqsEvent(queueARN, message{"m1", string(s3Notification(srcBucket, "in/queued one.ndjson", e2))},
				message{"m2", "garbage"})
			out = r.invoke(t, ev)
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
				t.Fatalf("SQS event answer %s, want the batch item failure m2", out)
			}
			// Redelivery through the runtime loads nothing twice.
			r.invoke(t, ev)

			want := expected(t, slices.Concat(direct, queued))
			if mode == modeSnowflake {
				db := sf.OpenDB()
				defer db.Close()
				_, got := tableRows(t, db, testTable)
				sameRows(t, got, want)
			} else {
				f := &fixture{s3: s3e}
				_, got := f.stagedRows(t, "staged/events/")
				sameRows(t, got, want)
			}
			if keys := s3e.list(t, deadBucket, "dl/"); len(keys) == 0 {
				t.Errorf("no dead letter written for the broken record")
			}
			emu, fn := r.initTimes()
			t.Logf("mode %s: init %.1f ms (emulator's INIT REPORT), %.1f ms (function's own measure)", mode, emu, fn)
		})
	}
}
