package main

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// TestPartialBatch: of four messages, a good object, a body that is no
// event, a missing object and a throttled object, only the undecodable and
// the throttled are reported, so SQS retries just those; the missing object
// is acknowledged (it is gone; retrying cannot help).
func TestPartialBatch(t *testing.T) {
	f := newFixture(t, modeSnowflake, nil)
	good := docs(1, 4)
	etag := f.s3.put(t, srcBucket, "good.ndjson", ndjson(good))
	slowTag := f.s3.put(t, srcBucket, "slow.ndjson", ndjson(docs(100, 2)))
	f.s3.throttle(srcBucket, "slow.ndjson", true)
	ev := sqsEvent(queueARN,
		message{"m1", string(s3Notification(srcBucket, "good.ndjson", etag))},
		message{"m2", `{"not":"an event"}`},
		message{"m3", string(s3Notification(srcBucket, "gone.ndjson", `"0123"`))},
		message{"m4", string(s3Notification(srcBucket, "slow.ndjson", slowTag))},
	)
	if got, want := f.sqsFailures(t, ev), []string{"m2", "m4"}; !slices.Equal(got, want) {
		t.Fatalf("BatchItemFailures = %v, want %v", got, want)
	}
	sameRows(t, f.table(t), expected(t, good))
	if n := f.s3.getCount(srcBucket, "slow.ndjson"); n < 2 {
		t.Errorf("throttled object was asked for %d times, want the SDK's retries", n)
	}
	if len(f.logs("object skipped")) != 1 || len(f.logs("message rejected")) != 1 {
		t.Errorf("logs lack one 'object skipped' and one 'message rejected':\n%s", f.out.String())
	}
	// The retry of m4, once S3 answers again, loads the throttled object.
	f.s3.throttle(srcBucket, "slow.ndjson", false)
	if got := f.sqsFailures(t, sqsEvent(queueARN, message{"m4", string(s3Notification(srcBucket, "slow.ndjson", slowTag))})); len(got) != 0 {
		t.Fatalf("retry BatchItemFailures = %v, want none", got)
	}
	sameRows(t, f.table(t), expected(t, append(good, docs(100, 2)...)))
}

// TestRedelivery: the same event delivered again, and the same object in
// two messages of one batch, load the object's rows once.
func TestRedelivery(t *testing.T) {
	f := newFixture(t, modeSnowflake, nil)
	ds := docs(1, 5)
	etag := f.s3.put(t, srcBucket, "a.ndjson", ndjson(ds))
	body := string(s3Notification(srcBucket, "a.ndjson", etag))
	for i := 0; i < 2; i++ {
		if got := f.sqsFailures(t, sqsEvent(queueARN, message{"m1", body}, message{"m2", body})); len(got) != 0 {
			t.Fatalf("delivery %d: BatchItemFailures = %v, want none", i+1, got)
		}
	}
	sameRows(t, f.table(t), expected(t, ds))
	if n := f.s3.getCount(srcBucket, "a.ndjson"); n != 2 {
		t.Errorf("object read %d times, want once per delivery (2)", n)
	}
	loaded := f.logs("object loaded")
	if len(loaded) != 2 || loaded[0]["alreadyLoaded"] != float64(0) || loaded[1]["alreadyLoaded"] != float64(1) {
		t.Errorf("logs = %v, want the second delivery to find its file already loaded", loaded)
	}
}

// TestBadRecords: a good object with an invalid record, one nested too
// deep and one that is not an object loads its good records; the three
// others are dead-lettered to S3 byte for byte with their object, line and
// offset, and the message succeeds.
func TestBadRecords(t *testing.T) {
	f := newFixture(t, modeSnowflake, map[string]string{"FLATPIPE_MAX_DEPTH": "3"})
	good := docs(1, 2)
	bad := [][]byte{[]byte(`{"id":50,"user":{"name":"x"`), []byte(`{"id":51,"a":{"b":{"c":{"d":1}}}}`), []byte(`[1,2]`)}
	lines := [][]byte{good[0], bad[0], bad[1], bad[2], good[1]}
	body := ndjson(lines)
	etag := f.s3.put(t, srcBucket, "mixed.ndjson", body)
	if got := f.sqsFailures(t, sqsEvent(queueARN, message{"m1", string(s3Notification(srcBucket, "mixed.ndjson", etag))})); len(got) != 0 {
		t.Fatalf("BatchItemFailures = %v, want none", got)
	}
	sameRows(t, f.table(t), expected(t, good))
	dl := f.deadLetters(t)
	if len(dl) != 3 {
		t.Fatalf("%d dead letters, want 3", len(dl))
	}
	reasons := []string{"parse", "limit", "not-object"}
	for i, d := range dl {
		off := int64(bytes.Index(body, bad[i]))
		if d.Object != "s3://source/mixed.ndjson" || d.Line != int64(i+2) || d.Offset != off || !bytes.Equal(d.Record, bad[i]) || d.Reason != reasons[i] || d.Error == "" {
			t.Errorf("dead letter %d = %+v, want object s3://source/mixed.ndjson, line %d, offset %d, reason %s, record %s", i, d, i+2, off, reasons[i], bad[i])
		}
	}
	if got := f.logs("record rejected"); len(got) != 3 || got[0]["line"] != float64(2) || got[0]["reason"] != "parse" || got[0]["object"] != "s3://source/mixed.ndjson" {
		t.Errorf("rejected-record logs = %v, want three with object, line and reason", got)
	}
	if !strings.Contains(f.out.String(), `"Rejects":3`) || !strings.Contains(f.out.String(), `"Records":5`) {
		t.Errorf("EMF lines lack Records 5 and Rejects 3:\n%s", f.out.String())
	}
}

// TestMissingObject: an object deleted before the function reads it is
// skipped, not retried: the summary says so and no error is returned.
func TestMissingObject(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	ev, err := os.ReadFile("testdata/s3event.json") // the README's event; its object does not exist here
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.invoke(t, ev)
	if err != nil {
		t.Fatalf("Invoke error %v, want none", err)
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil || s.Skipped != 1 || s.Failed != 0 {
		t.Errorf("Invoke = %s, want one object skipped", out)
	}
	if got := f.s3.list(t, dstBucket, ""); len(got) != 0 {
		t.Errorf("destination holds %v, want nothing", got)
	}
}

// TestThrottledS3: S3 answering SlowDown after the SDK's retries fails the
// invocation (so Lambda's retry redelivers it); nothing is written; the
// next delivery, once S3 answers, writes the object.
func TestThrottledS3(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	ds := docs(1, 3)
	etag := f.s3.put(t, srcBucket, "t.ndjson", ndjson(ds))
	f.s3.throttle(srcBucket, "t.ndjson", true)
	if _, err := f.invoke(t, s3Notification(srcBucket, "t.ndjson", etag)); err == nil || !strings.Contains(err.Error(), "SlowDown") {
		t.Fatalf("Invoke error = %v, want the throttling", err)
	}
	if got := f.logs("object failed"); len(got) != 1 || got[0]["retryable"] != true || got[0]["stage"] != "read" {
		t.Errorf("failure logs = %v, want one retryable read failure", got)
	}
	if got := f.s3.list(t, dstBucket, ""); len(got) != 0 {
		t.Fatalf("destination holds %v after a throttled read, want nothing", got)
	}
	f.s3.throttle(srcBucket, "t.ndjson", false)
	if _, err := f.invoke(t, s3Notification(srcBucket, "t.ndjson", etag)); err != nil {
		t.Fatalf("second Invoke error %v", err)
	}
	_, rows := f.stagedRows(t, "staged/events/")
	sameRows(t, rows, expected(t, ds))
}

// TestSnowflakeFault: COPY failing in Snowflake fails the message and
// raises an alert (a retry of a compilation error will not help by
// itself); the table is left without any of the object's rows; the
// redelivery, the fault gone, loads them once.
func TestSnowflakeFault(t *testing.T) {
	f := newFixture(t, modeSnowflake, nil)
	ds := docs(1, 3)
	etag := f.s3.put(t, srcBucket, "f.ndjson", ndjson(ds))
	ev := sqsEvent(queueARN, message{"m1", string(s3Notification(srcBucket, "f.ndjson", etag))})
	f.sf.InjectFault(snowflaketest.Fault{SQL: "COPY INTO", Error: &snowflaketest.SQLError{Number: 2003, SQLState: "42S02",
		Message: "SQL compilation error: Stage does not exist or not authorized."}})
	if got := f.sqsFailures(t, ev); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("BatchItemFailures = %v, want [m1]", got)
	}
	if rows := f.table(t); len(rows) != 0 {
		t.Fatalf("table has %d rows after a failed COPY, want 0", len(rows))
	}
	if got := f.logs("alert"); len(got) != 1 || got[0]["alert"] != true {
		t.Errorf("alert logs = %v, want one", got)
	}
	if !strings.Contains(f.out.String(), `"Alerts":1`) || !strings.Contains(f.out.String(), `"MessagesFail":1`) {
		t.Errorf("EMF lines lack Alerts and MessagesFail:\n%s", f.out.String())
	}
	if got := f.sqsFailures(t, ev); len(got) != 0 {
		t.Fatalf("redelivery BatchItemFailures = %v, want none", got)
	}
	sameRows(t, f.table(t), expected(t, ds))
}

// fakeClock is the deadline checks' clock.
type fakeClock struct{ at atomic.Int64 }

func (c *fakeClock) set(t time.Time) { c.at.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time  { return time.Unix(0, c.at.Load()) }

// TestDeadline: when less than FLATPIPE_DEADLINE_RESERVE is left, no new
// object is started; the messages not started are reported for a retry
// and their objects never read; the object in progress finishes whole.
func TestDeadline(t *testing.T) {
	f := newFixture(t, modeSnowflake, map[string]string{"FLATPIPE_DEADLINE_RESERVE": "30s"})
	deadline := time.Now().Add(10 * time.Minute)
	clock := &fakeClock{}
	clock.set(deadline.Add(-time.Minute))
	f.h.now = clock.now
	var once sync.Once
	f.s3.onGet = func(k string) {
		if k == srcBucket+"/a.ndjson" {
			once.Do(func() { clock.set(deadline.Add(-10 * time.Second)) }) // while a is read, time runs short
		}
	}
	a, b, c := docs(1, 2), docs(10, 2), docs(20, 2)
	ea, eb, ec := f.s3.put(t, srcBucket, "a.ndjson", ndjson(a)), f.s3.put(t, srcBucket, "b.ndjson", ndjson(b)), f.s3.put(t, srcBucket, "c.ndjson", ndjson(c))
	ev := sqsEvent(queueARN,
		message{"ma", string(s3Notification(srcBucket, "a.ndjson", ea))},
		message{"mb", string(s3Notification(srcBucket, "b.ndjson", eb))},
		message{"mc", string(s3Notification(srcBucket, "c.ndjson", ec))})
	if got := f.sqsFailuresBy(t, ev, deadline); !slices.Equal(got, []string{"mb", "mc"}) {
		t.Fatalf("BatchItemFailures = %v, want [mb mc]", got)
	}
	sameRows(t, f.table(t), expected(t, a))
	if f.s3.getCount(srcBucket, "b.ndjson")+f.s3.getCount(srcBucket, "c.ndjson") != 0 {
		t.Errorf("deferred objects were read")
	}
	if got := f.logs("object deferred"); len(got) != 2 || got[0]["reason"] != "deadline" {
		t.Errorf("deferral logs = %v, want two", got)
	}
	// The retry, with time enough, loads the rest.
	clock.set(deadline.Add(-5 * time.Minute))
	if got := f.sqsFailuresBy(t, sqsEvent(queueARN, message{"mb", string(s3Notification(srcBucket, "b.ndjson", eb))},
		message{"mc", string(s3Notification(srcBucket, "c.ndjson", ec))}), deadline); len(got) != 0 {
		t.Fatalf("retry BatchItemFailures = %v, want none", got)
	}
	sameRows(t, f.table(t), expected(t, slices.Concat(a, b, c)))
}

// TestFIFOOrder: on a FIFO queue, the messages after a failed one fail too
// (unprocessed), so that their order is kept.
func TestFIFOOrder(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	ea := f.s3.put(t, srcBucket, "a.ndjson", ndjson(docs(1, 1)))
	eb := f.s3.put(t, srcBucket, "b.ndjson", ndjson(docs(2, 1)))
	f.s3.throttle(srcBucket, "a.ndjson", true)
	ev := sqsEvent(queueARN+".fifo", message{"ma", string(s3Notification(srcBucket, "a.ndjson", ea))},
		message{"mb", string(s3Notification(srcBucket, "b.ndjson", eb))})
	if got := f.sqsFailures(t, ev); !slices.Equal(got, []string{"ma", "mb"}) {
		t.Fatalf("BatchItemFailures = %v, want [ma mb]", got)
	}
	if f.s3.getCount(srcBucket, "b.ndjson") != 0 {
		t.Errorf("the message after the failure was processed")
	}
}

// TestModeS3: mode s3 writes the flattened rows as staged files under
// FLATPIPE_DESTINATION, cell for cell; a redelivery writes no new file.
func TestModeS3(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	ds := docs(1, 6)
	etag := f.s3.put(t, srcBucket, "in/x.ndjson", ndjson(ds))
	ev := sqsEvent(queueARN, message{"m1", string(s3Notification(srcBucket, "in/x.ndjson", etag))})
	if got := f.sqsFailures(t, ev); len(got) != 0 {
		t.Fatalf("BatchItemFailures = %v, want none", got)
	}
	keys, rows := f.stagedRows(t, "staged/events/")
	if len(keys) == 0 {
		t.Fatal("no staged file written")
	}
	sameRows(t, rows, expected(t, ds))
	if got := f.sqsFailures(t, ev); len(got) != 0 {
		t.Fatalf("redelivery BatchItemFailures = %v, want none", got)
	}
	keys2, _ := f.stagedRows(t, "staged/events/")
	if !slices.Equal(keys, keys2) {
		t.Errorf("redelivery changed the staged files: %v, then %v", keys, keys2)
	}
	if got := f.logs("object loaded"); len(got) != 2 || got[1]["alreadyLoaded"] != float64(len(keys)) {
		t.Errorf("logs = %v, want the redelivery to find its %d files written", got, len(keys))
	}
}

// notifyServer answers EventBridge PutEvents and SQS SendMessage (AWS JSON
// protocol) and records the bodies sent.
type notifyServer struct {
	mu     sync.Mutex
	events []string
	msgs   []string
}

func (s *notifyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(b, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Header.Get("X-Amz-Target") {
	case "AWSEvents.PutEvents":
		for _, e := range in["Entries"].([]any) {
			m := e.(map[string]any)
			if m["Source"] != notifySource || m["DetailType"] != notifyDetailType || m["EventBusName"] != "bus" {
				w.WriteHeader(400)
				return
			}
			s.events = append(s.events, m["Detail"].(string))
		}
		io.WriteString(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`)
	case "AmazonSQS.SendMessage":
		body := in["MessageBody"].(string)
		s.msgs = append(s.msgs, body)
		sum := md5.Sum([]byte(body))
		json.NewEncoder(w).Encode(map[string]string{"MessageId": "q-1", "MD5OfMessageBody": hex.EncodeToString(sum[:])})
	default:
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"UnknownOperationException"}`)
	}
}

// TestNotification: a loaded object is announced on EventBridge and SQS
// with the table, the files and the counts.
func TestNotification(t *testing.T) {
	ns := &notifyServer{}
	srv := httptest.NewServer(ns)
	defer srv.Close()
	f := newFixture(t, modeS3, map[string]string{"FLATPIPE_NOTIFY_EVENT_BUS": "bus", "FLATPIPE_NOTIFY_QUEUE_URL": srv.URL + "/123456789012/next"},
		func(s *setup) { s.aws.BaseEndpoint = aws.String(srv.URL) })
	ds := docs(1, 4)
	etag := f.s3.put(t, srcBucket, "n.ndjson", ndjson(append(ds, []byte("oops"))))
	if _, err := f.invoke(t, s3Notification(srcBucket, "n.ndjson", etag)); err != nil {
		t.Fatalf("Invoke error %v", err)
	}
	keys, _ := f.stagedRows(t, "staged/events/")
	for _, got := range [][]string{ns.events, ns.msgs} {
		if len(got) != 1 {
			t.Fatalf("notifications = %v, want one", got)
		}
		var n notification
		if err := json.Unmarshal([]byte(got[0]), &n); err != nil {
			t.Fatal(err)
		}
		if n.Table != "events" || n.Mode != modeS3 || n.Object != "s3://source/n.ndjson" || n.Records != 5 || n.Rejected != 1 || n.Rows != 4 ||
			len(n.Files) != len(keys) || n.Files[0] != "s3://"+dstBucket+"/"+keys[0] {
			t.Errorf("notification = %+v, want table, object, counts 5/1/4 and files %v", n, keys)
		}
	}
}

// TestModeS3Snowpipe: mode s3 with FLATPIPE_PIPE writes the staged files
// and calls insertFiles on the pipe, whose external stage is the
// destination prefix; the private key for Snowpipe's JWT comes from Secrets
// Manager, fetched once at start-up. The pipe loads the table, compared
// cell for cell; a redelivery loads nothing twice.
func TestModeS3Snowpipe(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	secrets := &secretServer{value: keyPEM}
	sm := httptest.NewServer(secrets)
	defer sm.Close()
	var s3url string
	f := newFixture(t, modeS3, map[string]string{"FLATPIPE_PIPE": "EVENTS_PIPE", "FLATPIPE_PRIVATE_KEY_SECRET": "flatpipe/snowflake-key"},
		func(s *setup) {
			s3url = aws.ToString(s.aws.BaseEndpoint)
			s.aws.BaseEndpoint = aws.String(sm.URL) // Secrets Manager; S3 has AWS_ENDPOINT_URL_S3
			s.emulator = &snowflaketest.Options{UserKeys: map[string]*rsa.PublicKey{"LOADER": &key.PublicKey}, Users: map[string]string{"TEST": "test"},
				S3: snowflaketest.S3Options{Endpoint: s3url, AccessKeyID: "AKIDLAMBDATEST", SecretAccessKey: "lambda-test-secret"}}
			s.snowEnv = map[string]string{"SNOWFLAKE_USER": "LOADER", "SNOWFLAKE_PASSWORD": ""}
		})
	if secrets.calls != 1 {
		t.Errorf("Secrets Manager asked %d times at start-up, want once", secrets.calls)
	}
	db := f.sf.OpenDB()
	defer db.Close()
	ff := loadFile{Format: 0, Compression: 0} // NDJSON gzip, the defaults
	for _, q := range []string{
		`CREATE TABLE EVENTS (ID NUMBER, USER_NAME VARCHAR, USER_SCORE NUMBER(38,2), TAGS VARIANT, OK BOOLEAN, BIG NUMBER, NOTE VARCHAR)`,
		`CREATE STAGE EVENTS_STAGE URL = 's3://` + dstBucket + `/staged/events/' STORAGE_INTEGRATION = flatpipe`,
		`CREATE PIPE EVENTS_PIPE AS COPY INTO EVENTS FROM @EVENTS_STAGE FILE_FORMAT = (` + ff.FileFormat() + `) ` + ff.CopyOptions(),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ds := docs(1, 5)
	etag := f.s3.put(t, srcBucket, "p.ndjson", ndjson(ds))
	ev := sqsEvent(queueARN, message{"m1", string(s3Notification(srcBucket, "p.ndjson", etag))})
	for i := 0; i < 2; i++ {
		if got := f.sqsFailures(t, ev); len(got) != 0 {
			t.Fatalf("delivery %d: BatchItemFailures = %v, want none", i+1, got)
		}
	}
	_, got := tableRows(t, db, testTable)
	sameRows(t, got, expected(t, ds))
	if strings.Contains(f.out.String(), "BEGIN PRIVATE KEY") {
		t.Errorf("the private key appears in the output")
	}
}

// secretServer answers Secrets Manager's GetSecretValue with value.
type secretServer struct {
	mu    sync.Mutex
	value string
	calls int
}

func (s *secretServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		return
	}
	s.calls++
	json.NewEncoder(w).Encode(map[string]string{"SecretString": s.value, "Name": "flatpipe/snowflake-key"})
}

// TestConcurrentInvocations: invocations running at once in one process
// (AWS_LAMBDA_MAX_CONCURRENCY) share the handler safely (run with -race).
func TestConcurrentInvocations(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	var all [][]byte
	var payloads [][]byte
	for i := 0; i < 4; i++ {
		ds := docs(i*10+1, 5)
		all = append(all, ds...)
		key := "c" + string(rune('a'+i)) + ".ndjson"
		payloads = append(payloads, s3Notification(srcBucket, key, f.s3.put(t, srcBucket, key, ndjson(ds))))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(payloads))
	for i, p := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.invoke(t, p)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("invocation %d: %v", i, err)
		}
	}
	_, rows := f.stagedRows(t, "staged/events/")
	sameRows(t, rows, expected(t, all))
}

// TestUnreadableObject: an object whose bytes cannot be framed as records
// (a corrupt gzip stream) is dead-lettered whole, raises an alert and is
// not retried (a retry reads the same bytes); nothing of it is written.
func TestUnreadableObject(t *testing.T) {
	f := newFixture(t, modeS3, nil)
	body := append([]byte{0x1f, 0x8b, 0x08, 0x00}, bytes.Repeat([]byte("not gzip "), 100)...)
	etag := f.s3.put(t, srcBucket, "corrupt.ndjson.gz", body)
	if got := f.sqsFailures(t, sqsEvent(queueARN, message{"m1", string(s3Notification(srcBucket, "corrupt.ndjson.gz", etag))})); len(got) != 0 {
		t.Fatalf("BatchItemFailures = %v, want none (retrying cannot help)", got)
	}
	dl := f.deadLetters(t)
	if len(dl) != 1 || dl[0].Reason != "unreadable-object" || dl[0].Object != "s3://source/corrupt.ndjson.gz" || dl[0].Error == "" {
		t.Errorf("dead letters = %+v, want one unreadable-object letter for the object", dl)
	}
	if len(f.logs("alert")) != 1 || len(f.logs("object rejected")) != 1 {
		t.Errorf("logs lack the alert and the rejection:\n%s", f.out.String())
	}
	if got := f.s3.list(t, dstBucket, ""); len(got) != 0 {
		t.Errorf("destination holds %v, want nothing", got)
	}
}
