package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// benchObject builds an NDJSON object of about mb megabytes in the manner
// of docs (nested objects, arrays, strings that need escaping).
func benchObject(mb int) (body []byte, records int) {
	var b bytes.Buffer
	for i := 1; b.Len() < mb<<20; i++ {
		fmt.Fprintf(&b, `{"id":%d,"type":"PushEvent","actor":{"id":%d,"login":"user-%d","url":"https://api.example.com/users/user-%d"},"repo":{"id":%d,"name":"org/repo-%d"},"payload":{"size":%d,"ref":"refs/heads/main","commits":[{"sha":"%040x","message":"fix \"quoted\" thing\nsecond line","distinct":true}]},"public":%v,"score":%d.25,"created_at":"2026-12-03T08:00:%02dZ"}`+"\n",
			i, i%100000, i%100000, i%100000, i%5000, i%5000, i%7, i, i%2 == 0, i%1000, i%60)
		records = i
	}
	return b.Bytes(), records
}

// childRSS returns the peak resident set (VmHWM, bytes) of the processes
// the emulator started: the bootstrap binary.
func childRSS(pid int) int64 {
	var peak int64
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, tf := range tasks {
		b, _ := os.ReadFile(tf)
		for _, c := range strings.Fields(string(b)) {
			st, _ := os.ReadFile("/proc/" + c + "/status")
			for _, line := range strings.Split(string(st), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
					peak = max(peak, kb<<10)
				}
			}
		}
	}
	return peak
}

// BenchmarkInvoke runs one invocation of the bootstrap binary under the
// Runtime Interface Emulator on an object of FLATPIPE_BENCH_MB megabytes
// (default 100), in each mode, and reports records/s and the function's
// peak RSS. Run it alone: go test -run '^$' -bench Invoke -benchtime 1x ./examples/lambda
func BenchmarkInvoke(b *testing.B) {
	mb := 100
	if s := os.Getenv("FLATPIPE_BENCH_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	body, records := benchObject(mb)
	for _, mode := range []string{modeSnowflake, modeS3} {
		b.Run(mode, func(b *testing.B) {
			s3e := newS3Env(b)
			env := map[string]string{
				"FLATPIPE_MODE": mode, "FLATPIPE_TABLE": "events", "FLATPIPE_S3_PATH_STYLE": "true", "FLATPIPE_DESTINATION": "s3://" + dstBucket + "/staged/",
				"AWS_ENDPOINT_URL_S3": s3e.srv.URL, "AWS_REGION": "us-east-1",
				"AWS_ACCESS_KEY_ID": "AKIDLAMBDATEST", "AWS_SECRET_ACCESS_KEY": "lambda-test-secret",
				"AWS_EC2_METADATA_DISABLED": "true", "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
				"AWS_LAMBDA_FUNCTION_TIMEOUT": "1800",
			}
			if mode == modeSnowflake {
				delete(env, "FLATPIPE_DESTINATION")
				sf, err := snowflaketest.NewServer(snowflaketest.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer sf.Close()
				u, _ := url.Parse(sf.URL)
				for k, v := range map[string]string{"SNOWFLAKE_ACCOUNT": "emulator", "SNOWFLAKE_USER": "TEST", "SNOWFLAKE_PASSWORD": "test",
					"SNOWFLAKE_HOST": u.Hostname(), "SNOWFLAKE_PORT": u.Port(), "SNOWFLAKE_PROTOCOL": "http",
					"SNOWFLAKE_DATABASE": "TEST_DB", "SNOWFLAKE_SCHEMA": "PUBLIC", "SNOWFLAKE_WAREHOUSE": "WH"} {
					env[k] = v
				}
			}
			r := startRIE(b, env)
			r.invoke(b, []byte(`{"Event":"s3:TestEvent"}`)) // init outside the timing
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				key := fmt.Sprintf("bench/%d.ndjson", n)
				b.StopTimer()
				etag := s3e.put(b, srcBucket, key, body)
				b.StartTimer()
				out := r.invoke(b, s3Notification(srcBucket, key, etag))
				var s summary
				if err := json.Unmarshal(out, &s); err != nil || s.Loaded != 1 {
					b.Fatalf("answer %s, want one object loaded", out)
				}
			}
			b.ReportMetric(float64(records)*float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(childRSS(r.pid))/(1<<20), "peak-RSS-MB")
			// The function's own split, from its EMF lines: reading,
			// validating, flattening and writing the staged files ("stage")
			// against delivering them ("load" through the emulator, or
			// "upload" to S3).
			for _, st := range []string{"stage", "load", "upload"} {
				if ms := stageLatency(r.out.String(), st); ms > 0 {
					b.ReportMetric(ms, st+"-ms")
				}
			}
		})
	}
}

// stageLatency sums the EMF Latency values of one stage in out.
func stageLatency(out, stage string) float64 {
	var sum float64
	for _, line := range strings.Split(out, "\n") {
		var m struct {
			Stage   string
			Latency []float64
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Stage == stage {
			for _, v := range m.Latency {
				sum += v
			}
		}
	}
	return sum
}

// BenchmarkColdStart starts the bootstrap binary under the Runtime
// Interface Emulator and invokes it once (an s3:TestEvent), reporting the
// init time the emulator measures (INIT START to INIT REPORT): the cold
// start the function adds. go test -run '^$' -bench ColdStart -benchtime 5x
func BenchmarkColdStart(b *testing.B) {
	env := map[string]string{"FLATPIPE_TABLE": "events", "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_EC2_METADATA_DISABLED": "true",
		"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "u", "SNOWFLAKE_PASSWORD": "p"}
	var sum float64
	n := 0
	for b.Loop() {
		r := startRIE(b, env)
		r.invoke(b, []byte(`{"Event":"s3:TestEvent"}`))
		ms, _ := r.initTimes()
		sum += ms
		n++
	}
	b.ReportMetric(sum/float64(n), "init-ms")
}
