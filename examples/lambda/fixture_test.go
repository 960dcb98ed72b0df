package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/schema"
)

// fixture is the function wired as main wires it, against the in-process
// S3 server and, in mode snowflake, the Snowflake emulator through the
// real gosnowflake driver.
type fixture struct {
	s3   *s3env
	sf   *snowflaketest.Server
	h    *Handler
	out  *syncBuffer // stdout: logs and EMF lines
	env  map[string]string
	stop func() error
}

const testTable = "EVENTS"

// newFixture builds the function for mode with the variables extra on top
// of the defaults. The SNOWFLAKE_* variables are set in the process
// environment (load.ConfigFromEnv reads them there), so these tests do not
// run in parallel.
// setup is what a fixture option may change before the function is built.
type setup struct {
	aws      aws.Config
	emulator *snowflaketest.Options // non-nil: start the emulator (always in mode snowflake)
	snowEnv  map[string]string      // SNOWFLAKE_* overrides
}

func newFixture(t *testing.T, mode string, extra map[string]string, opts ...func(*setup)) *fixture {
	t.Helper()
	f := &fixture{s3: newS3Env(t), out: &syncBuffer{}}
	f.env = map[string]string{
		"FLATPIPE_MODE":          mode,
		"FLATPIPE_TABLE":         "events",
		"FLATPIPE_DEAD_LETTER":   "s3://" + deadBucket + "/dl/",
		"FLATPIPE_S3_PATH_STYLE": "true",
		"FLATPIPE_WORK_DIR":      t.TempDir(),
		"AWS_ENDPOINT_URL_S3":    f.s3.srv.URL,
	}
	if mode == modeS3 {
		f.env["FLATPIPE_DESTINATION"] = "s3://" + dstBucket + "/staged/events/"
	}
	for k, v := range extra {
		f.env[k] = v
	}
	t.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	st := setup{aws: f.s3.awsConfig()}
	if mode == modeSnowflake {
		st.emulator = &snowflaketest.Options{}
	}
	for _, o := range opts {
		o(&st)
	}
	if st.emulator != nil {
		sf, err := snowflaketest.NewServer(*st.emulator)
		if err != nil {
			t.Fatalf("snowflaketest.NewServer: %v", err)
		}
		t.Cleanup(func() { sf.Close() })
		f.sf = sf
		for k, v := range f.snowflakeEnv() {
			t.Setenv(k, v)
		}
		for k, v := range st.snowEnv {
			t.Setenv(k, v)
		}
	}
	h, stop, err := newHandler(context.Background(), func(k string) (string, bool) { v, ok := f.env[k]; return v, ok },
		f.out, lambdaenvLogger(f.out), st.aws)
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	t.Cleanup(func() { stop() })
	f.h, f.stop = h, stop
	return f
}

// table returns the emulator's table, row by row.
func (f *fixture) table(t *testing.T) []row {
	t.Helper()
	db := f.sf.OpenDB()
	defer db.Close()
	_, rows := tableRows(t, db, testTable)
	return rows
}

// logs returns the JSON log lines with the given msg.
func (f *fixture) logs(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(f.out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// snowflakeEnv is the SNOWFLAKE_* configuration that reaches the emulator.
func (f *fixture) snowflakeEnv() map[string]string {
	u, _ := url.Parse(f.sf.URL)
	return map[string]string{
		"SNOWFLAKE_ACCOUNT": "emulator", "SNOWFLAKE_USER": "TEST", "SNOWFLAKE_PASSWORD": "test",
		"SNOWFLAKE_HOST": u.Hostname(), "SNOWFLAKE_PORT": u.Port(), "SNOWFLAKE_PROTOCOL": "http",
		"SNOWFLAKE_DATABASE": "TEST_DB", "SNOWFLAKE_SCHEMA": "PUBLIC", "SNOWFLAKE_WAREHOUSE": "WH",
	}
}

// invoke calls the handler as the runtime does, with a request id and a
// deadline far enough away.
func (f *fixture) invoke(t *testing.T, payload []byte) ([]byte, error) {
	t.Helper()
	return f.invokeBy(t, payload, time.Now().Add(10*time.Minute))
}

// invokeBy invokes with the given invocation deadline.
func (f *fixture) invokeBy(t *testing.T, payload []byte, deadline time.Time) ([]byte, error) {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-" + t.Name()})
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return f.h.Invoke(ctx, payload)
}

// sqsFailures invokes with an SQS event and returns the failed message ids.
func (f *fixture) sqsFailures(t *testing.T, payload []byte) []string {
	t.Helper()
	return f.sqsFailuresBy(t, payload, time.Now().Add(10*time.Minute))
}

func (f *fixture) sqsFailuresBy(t *testing.T, payload []byte, deadline time.Time) []string {
	t.Helper()
	out, err := f.invokeBy(t, payload, deadline)
	if err != nil {
		t.Fatalf("Invoke(SQS) error %v, want a partial batch response", err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("Invoke(SQS) = %s: %v", out, err)
	}
	ids := []string{}
	for _, it := range resp.BatchItemFailures {
		ids = append(ids, it.ItemIdentifier)
	}
	return ids
}

// --- event payloads, as AWS sends them ---

func s3Notification(bucket, key, etag string) []byte {
	rec := map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
		"eventTime": "2026-12-03T08:00:00.000Z", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "flatpipe",
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": url.QueryEscape(key), "eTag": strings.Trim(etag, `"`), "sequencer": "0055AED6DCD90281E5"},
		},
	}
	b, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	return b
}

func snsEnvelope(id string, msg []byte) []byte {
	b, _ := json.Marshal(map[string]any{"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:123456789012:objects",
		"Message": string(msg), "Timestamp": "2026-12-03T08:00:00.000Z"})
	return b
}

func eventBridge(id, bucket, key, etag string) []byte {
	b, _ := json.Marshal(map[string]any{"version": "0", "id": id, "detail-type": "Object Created", "source": "aws.s3",
		"account": "123456789012", "time": "2026-12-03T08:00:00Z", "region": "us-east-1", "resources": []string{"arn:aws:s3:::" + bucket},
		"detail": map[string]any{"version": "0", "bucket": map[string]any{"name": bucket},
			"object":     map[string]any{"key": key, "size": 1, "etag": strings.Trim(etag, `"`), "sequencer": "0055AED6DCD90281E5"},
			"request-id": "r", "requester": "123456789012", "reason": "PutObject"}})
	return b
}

type message struct{ id, body string }

func sqsEvent(queueARN string, msgs ...message) []byte {
	var recs []map[string]any
	for _, m := range msgs {
		recs = append(recs, map[string]any{"messageId": m.id, "receiptHandle": "rh-" + m.id, "body": m.body,
			"attributes": map[string]string{"ApproximateReceiveCount": "1"}, "messageAttributes": map[string]any{},
			"eventSource": "aws:sqs", "eventSourceARN": queueARN, "awsRegion": "us-east-1"})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}

const queueARN = "arn:aws:sqs:us-east-1:123456789012:objects"

func snsEvent(id string, msg []byte) []byte {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:objects:1",
		"Sns": map[string]any{"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:123456789012:objects",
			"Message": string(msg), "Timestamp": "2026-12-03T08:00:00.000Z"}}}})
	return b
}

// --- input documents and their expected rows ---

// docs returns n NDJSON records with ids from first on: nested objects,
// arrays kept as VARIANT, strings that need quoting, a null and a missing
// key, numbers that must survive byte for byte.
func docs(first, n int) [][]byte {
	var out [][]byte
	for i := first; i < first+n; i++ {
		d := fmt.Sprintf(`{"id":%d,"user":{"name":"user \"%d\", ü\n\ttab","score":%d.50},"tags":["a","b%d"],"ok":%v,"big":505874924095815681`, i, i, i, i, i%2 == 0)
		if i%3 == 0 {
			d += `,"note":null`
		} else {
			d += `,"note":"n` + fmt.Sprint(i) + `"`
		}
		out = append(out, []byte(d+"}"))
	}
	return out
}

func ndjson(ds [][]byte) []byte { return append(bytes.Join(ds, []byte("\n")), '\n') }

// row is one row as column name → cell text ("\x00NULL" for SQL NULL).
type row map[string]string

const null = "\x00NULL"

// expected flattens the documents as the function does and names the
// columns as schema does: the rows the table must hold.
func expected(t *testing.T, ds [][]byte) []row {
	t.Helper()
	fl, err := flatten.New(flatten.Options{Separator: "."})
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, d := range ds {
		fields, err := fl.Append(nil, d)
		if err != nil {
			t.Fatalf("flatten %s: %v", d, err)
		}
		r := row{}
		for _, fd := range fields {
			name := string(schema.Normalize(nil, string(fd.Path), schema.NameOptions{}))
			switch fd.Kind {
			case flatten.Null:
				r[name] = null
			case flatten.Object, flatten.Array:
				r[name] = canonJSON(t, fd.Value)
			default:
				r[name] = string(fd.Value)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func canonJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("JSON %q: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// tableRows reads every row of the table through the driver.
func tableRows(t *testing.T, db *sql.DB, table string) (cols []string, rows []row) {
	t.Helper()
	rs, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatalf("SELECT * FROM %s: %v", table, err)
	}
	defer rs.Close()
	cols, _ = rs.Columns()
	types, _ := rs.ColumnTypes()
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := row{}
		for i, c := range cols {
			switch {
			case !vals[i].Valid:
				r[c] = null
			case slices.Contains([]string{"VARIANT", "ARRAY", "OBJECT"}, types[i].DatabaseTypeName()):
				r[c] = canonJSON(t, []byte(vals[i].String))
			case types[i].DatabaseTypeName() == "BOOLEAN":
				// The driver's JSON result format sends booleans as 1 and 0.
				r[c] = map[string]string{"1": "true", "0": "false"}[vals[i].String]
			default:
				r[c] = vals[i].String
			}
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, rows
}

// sameRows compares rows cell for cell, in ID order; a column missing from
// an expected row must be NULL in the table.
func sameRows(t *testing.T, got, want []row) {
	t.Helper()
	byID := func(rs []row) { sort.Slice(rs, func(i, j int) bool { return idOf(rs[i]) < idOf(rs[j]) }) }
	byID(got)
	byID(want)
	if len(got) != len(want) {
		t.Fatalf("table has %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		for c, w := range want[i] {
			if g, ok := got[i][c]; !ok || g != w {
				t.Errorf("row %d column %s = %q, want %q", i, c, g, w)
			}
		}
		for c, g := range got[i] {
			if _, ok := want[i][c]; !ok && g != null {
				t.Errorf("row %d column %s = %q, want NULL (not in the record)", i, c, g)
			}
		}
	}
}

func idOf(r row) int {
	var n int
	fmt.Sscan(r["ID"], &n)
	return n
}

// deadLetters reads back every dead letter under the fixture's prefix.
func (f *fixture) deadLetters(t *testing.T) []resilience.DeadLetter {
	t.Helper()
	var out []resilience.DeadLetter
	for _, k := range f.s3.list(t, deadBucket, "dl/") {
		r := resilience.NewDeadLetterReader(bytes.NewReader(f.s3.get(t, deadBucket, k)), resilience.DeadLetterReaderOptions{})
		for r.Next() {
			out = append(out, r.DeadLetter())
		}
		if err := r.Err(); err != nil {
			t.Fatalf("dead letters %s: %v", k, err)
		}
	}
	return out
}

// stagedRows reads the NDJSON (gzip) staged files under the destination
// prefix back into rows.
func (f *fixture) stagedRows(t *testing.T, prefix string) (keys []string, rows []row) {
	t.Helper()
	keys = f.s3.list(t, dstBucket, prefix)
	for _, k := range keys {
		zr, err := gzip.NewReader(bytes.NewReader(f.s3.get(t, dstBucket, k)))
		if err != nil {
			t.Fatalf("staged file %s: %v", k, err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("staged file %s: %v", k, err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		for dec.More() {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("staged file %s: %v", k, err)
			}
			r := row{}
			for c, v := range m {
				switch x := v.(type) {
				case nil:
					r[c] = null
				case string:
					r[c] = x
				case json.Number:
					r[c] = x.String()
				case bool:
					r[c] = fmt.Sprint(x)
				default:
					b, _ := json.Marshal(x)
					r[c] = string(b)
				}
			}
			rows = append(rows, r)
		}
	}
	return keys, rows
}
