package s3adapter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flatpipe/flatpipe/examples/internal/s3adapter"
	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source/s3source"
)

// These tests run resilience's own S3CheckpointStore and S3DeadLetterSink,
// unmodified, through Store over HTTP to gofakes3.

func checkpointStore(t *testing.T, st *s3adapter.Store) *resilience.S3CheckpointStore {
	t.Helper()
	cs, err := resilience.NewS3CheckpointStore(st, testBucket, "checkpoints/orders/")
	if err != nil {
		t.Fatalf("NewS3CheckpointStore: %v", err)
	}
	return cs
}

func cp(next int64) resilience.Checkpoint {
	return resilience.Checkpoint{Bucket: "src", Key: "orders.ndjson", ETag: `"abc"`, Size: 1000, RecordsDone: next / 10, NextOffset: next}
}

func TestCheckpointCreateAndCAS(t *testing.T) {
	st, e := newStore(t)
	cs := checkpointStore(t, st)
	ctx := context.Background()

	if _, _, err := cs.Load(ctx, "job"); !errors.Is(err, resilience.ErrNotFound) {
		t.Fatalf("Load(absent) error = %v, want ErrNotFound", err)
	}
	v1, err := cs.Save(ctx, "job", cp(100), "")
	if err != nil {
		t.Fatalf("Save(create): %v", err)
	}
	if got := e.keys(t, "checkpoints/"); len(got) != 1 || got[0] != "checkpoints/orders/job.json" {
		t.Errorf("keys = %q, want [checkpoints/orders/job.json]", got)
	}
	// Creating again must fail: the key exists.
	if _, err := cs.Save(ctx, "job", cp(200), ""); !errors.Is(err, resilience.ErrConflict) {
		t.Errorf("Save(create again) error = %v, want ErrConflict", err)
	}
	got, lv, err := cs.Load(ctx, "job")
	if err != nil || lv != v1 || got != cp(100) {
		t.Fatalf("Load = %+v, %s, %v; want %+v, %s", got, lv, err, cp(100), v1)
	}
	v2, err := cs.Save(ctx, "job", cp(200), v1)
	if err != nil {
		t.Fatalf("Save(advance from v1): %v", err)
	}
	if v2 == v1 {
		t.Errorf("Save returned the same version %s twice", v2)
	}
	// Advancing from the stale version must fail.
	if _, err := cs.Save(ctx, "job", cp(300), v1); !errors.Is(err, resilience.ErrConflict) {
		t.Errorf("Save(from stale v1) error = %v, want ErrConflict", err)
	}
	got, lv, err = cs.Load(ctx, "job")
	if err != nil || lv != v2 || got != cp(200) {
		t.Errorf("Load = %+v, %s, %v; want %+v, %s", got, lv, err, cp(200), v2)
	}
}

// TestCheckpointIfMatchReachesServer makes the store's pre-read agree with
// prev while the object changes just before the PUT, so only the
// server's If-Match check can catch the conflict.
func TestCheckpointIfMatchReachesServer(t *testing.T) {
	st, e := newStore(t)
	cs := checkpointStore(t, st)
	ctx := context.Background()
	v1, err := cs.Save(ctx, "job", cp(100), "")
	if err != nil {
		t.Fatal(err)
	}
	sneak, err := s3adapter.New(e.client)
	if err != nil {
		t.Fatal(err)
	}
	hook := &sneakyStore{Store: st, before: func() {
		if _, err := sneak.PutObject(ctx, testBucket, "checkpoints/orders/job.json", []byte(`{"generation":9}`), resilience.PutCondition{}); err != nil {
			t.Errorf("sneak PutObject: %v", err)
		}
	}}
	cs2, err := resilience.NewS3CheckpointStore(hook, testBucket, "checkpoints/orders/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs2.Save(ctx, "job", cp(200), v1); !errors.Is(err, resilience.ErrConflict) || !errors.Is(err, resilience.ErrPreconditionFailed) {
		t.Errorf("Save after a concurrent write = %v, want ErrConflict wrapping ErrPreconditionFailed", err)
	}
}

// sneakyStore runs before just before each PutObject.
type sneakyStore struct {
	*s3adapter.Store
	before func()
}

func (s *sneakyStore) PutObject(ctx context.Context, bucket, key string, body []byte, cond resilience.PutCondition) (string, error) {
	s.before()
	return s.Store.PutObject(ctx, bucket, key, body, cond)
}

// TestCheckpointRace has workers, each with its own store, race to create a
// checkpoint and then to advance it from the same version: exactly one wins
// each round, the others get ErrConflict, and the stored checkpoint is the
// winner's.
func TestCheckpointRace(t *testing.T) {
	const workers = 8
	st, _ := newStore(t)
	ctx := context.Background()
	stores := make([]*resilience.S3CheckpointStore, workers)
	for i := range stores {
		stores[i] = checkpointStore(t, st)
	}
	prev := resilience.Version("")
	for round := range 5 {
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			winners []int
			won     resilience.Version
		)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				v, err := stores[i].Save(ctx, "race", cp(int64(round*100+i)), prev)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, i)
					won = v
				case !errors.Is(err, resilience.ErrConflict):
					t.Errorf("round %d worker %d: Save error = %v, want nil or ErrConflict", round, i, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: winners = %v, want exactly one", round, winners)
		}
		got, v, err := stores[0].Load(ctx, "race")
		if err != nil || v != won || got != cp(int64(round*100+winners[0])) {
			t.Fatalf("round %d: Load = %+v, %s, %v; want worker %d's checkpoint at %s", round, got, v, err, winners[0], won)
		}
		prev = won
	}
}

func TestDeadLettersRoundTrip(t *testing.T) {
	st, e := newStore(t)
	ctx := context.Background()
	clock := fixedClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	sink, err := resilience.NewS3DeadLetterSink(resilience.S3DeadLetterOptions{Client: st, Bucket: testBucket, Prefix: "dead/orders/", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	want := []resilience.DeadLetter{
		{Object: "s3://src/a.ndjson", Offset: 0, Line: 1, Reason: "parse", ErrorType: "*flatten.SyntaxError", Error: "flatten: unexpected end", Record: []byte(`{"id":`)},
		{Object: "s3://src/a.ndjson", Offset: 7, Line: 2, Reason: "schema", Record: []byte("caf\xe9 \xff\xfe\x00 not utf-8")},
		{Object: "s3://src/b.ndjson", Offset: 1 << 40, Line: 0, Reason: "load-rejected", Error: "numeric value 'x' is not recognized", Record: []byte("{\"emoji\":\"\U0001F600\"}\n")},
	}
	for i, d := range want {
		if err := sink.Write(ctx, d); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		if i == 1 { // two objects: one per flush
			if err := sink.Flush(ctx); err != nil {
				t.Fatalf("Flush: %v", err)
			}
		}
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := sink.Written(); got != int64(len(want)) {
		t.Errorf("Written = %d, want %d", got, len(want))
	}
	keys := e.keys(t, "dead/orders/")
	if len(keys) != 2 {
		t.Fatalf("objects = %q, want 2", keys)
	}
	var got []resilience.DeadLetter
	for _, k := range keys {
		body, _, err := st.GetObject(ctx, testBucket, k)
		if err != nil {
			t.Fatal(err)
		}
		r := resilience.NewDeadLetterReader(bytes.NewReader(body), resilience.DeadLetterReaderOptions{})
		for r.Next() {
			got = append(got, r.DeadLetter())
		}
		if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("reading %s: %v", k, err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("read %d dead letters, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.Time = clock.Now()
		g := got[i]
		if !g.Time.Equal(w.Time) || g.Object != w.Object || g.Offset != w.Offset || g.Line != w.Line ||
			g.Reason != w.Reason || g.ErrorType != w.ErrorType || g.Error != w.Error || !bytes.Equal(g.Record, w.Record) {
			t.Errorf("dead letter %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestDeadLettersNeverOverwrite makes the key a flush writes exist already:
// the sink's If-None-Match: * must stop the PUT, the entries stay buffered,
// and the existing object is untouched.
func TestDeadLettersNeverOverwrite(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	clock := fixedClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	var key string
	spy := &keySpy{Store: st, key: &key}
	sink, err := resilience.NewS3DeadLetterSink(resilience.S3DeadLetterOptions{Client: spy, Bucket: testBucket, Prefix: "dead/", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Write(ctx, resilience.DeadLetter{Reason: "first", Record: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	first, _, err := st.GetObject(ctx, testBucket, key)
	if err != nil {
		t.Fatal(err)
	}
	// The next flush is sent to the key already written.
	spy.force = key
	if err := sink.Write(ctx, resilience.DeadLetter{Reason: "second", Record: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	err = sink.Flush(ctx)
	if !errors.Is(err, resilience.ErrPreconditionFailed) {
		t.Errorf("Flush onto an existing key = %v, want ErrPreconditionFailed", err)
	}
	if got := sink.Buffered(); got != 1 {
		t.Errorf("Buffered after failed flush = %d, want 1", got)
	}
	after, _, err := st.GetObject(ctx, testBucket, key)
	if err != nil || !bytes.Equal(after, first) {
		t.Errorf("existing object changed: %q, %v; want %q", after, err, first)
	}
}

// keySpy records the key of each PutObject and, when force is set, writes
// to force instead.
type keySpy struct {
	*s3adapter.Store
	key   *string
	force string
}

func (s *keySpy) PutObject(ctx context.Context, bucket, key string, body []byte, cond resilience.PutCondition) (string, error) {
	if s.force != "" {
		key = s.force
	}
	*s.key = key
	return s.Store.PutObject(ctx, bucket, key, body, cond)
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func (c fixedClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// TestDeadLetterFlushDoesNotBlockOthers holds the server's answer to a
// flush's PUT until the test has called Buffered and Write: the sink must
// not hold its lock across the upload. (Were it held, this test would hang,
// not pass.) The entry written during the upload goes into the next object.
func TestDeadLetterFlushDoesNotBlockOthers(t *testing.T) {
	st, e := newStore(t)
	ctx := context.Background()
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.rec.setOverride(func(*http.Request) (int, string) {
		once.Do(func() { close(arrived); <-release })
		return 0, "" // then let gofakes3 answer
	})
	clock := fixedClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	sink, err := resilience.NewS3DeadLetterSink(resilience.S3DeadLetterOptions{Client: st, Bucket: testBucket, Prefix: "dead/", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	letter := func(n int) resilience.DeadLetter {
		return resilience.DeadLetter{Object: "s3://src/a", Line: int64(n), Reason: "parse", Record: []byte(fmt.Sprint(n))}
	}
	for n := 1; n <= 2; n++ {
		if err := sink.Write(ctx, letter(n)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- sink.Flush(ctx) }()
	<-arrived // the PUT is at the server and will stay there
	if n := sink.Buffered(); n != 2 {
		t.Errorf("Buffered during the upload = %d, want 2", n)
	}
	if err := sink.Write(ctx, letter(3)); err != nil {
		t.Errorf("Write during the upload: %v", err)
	}
	if n, w := sink.Buffered(), sink.Written(); n != 3 || w != 0 {
		t.Errorf("during the upload: Buffered %d, Written %d, want 3, 0", n, w)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n, w := sink.Buffered(), sink.Written(); n != 1 || w != 2 {
		t.Errorf("after the upload: Buffered %d, Written %d, want 1, 2", n, w)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var lines []int64
	for _, k := range e.keys(t, "dead/") {
		body, _, err := st.GetObject(ctx, testBucket, k)
		if err != nil {
			t.Fatal(err)
		}
		r := resilience.NewDeadLetterReader(bytes.NewReader(body), resilience.DeadLetterReaderOptions{})
		var in []int64
		for r.Next() {
			in = append(in, r.DeadLetter().Line)
		}
		lines = append(lines, int64(len(in)))
		lines = append(lines, in...)
	}
	// two objects: [1 2] then [3] (keys sort by their sequence number)
	if fmt.Sprint(lines) != "[2 1 2 1 3]" {
		t.Errorf("objects hold %v, want [2 1 2 1 3] (count, lines...)", lines)
	}
}

// TestDeadLetterFailedFlushKeepsOrder makes the first upload fail: its
// entries go back in front of one written meanwhile, and the next flush
// writes all three in order.
func TestDeadLetterFailedFlushKeepsOrder(t *testing.T) {
	st, e := newStore(t)
	ctx := context.Background()
	var calls int
	var mu sync.Mutex
	e.rec.setOverride(func(*http.Request) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			return http.StatusForbidden, "AccessDenied"
		}
		return 0, ""
	})
	clock := fixedClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	sink, _ := resilience.NewS3DeadLetterSink(resilience.S3DeadLetterOptions{Client: st, Bucket: testBucket, Prefix: "dead/", Clock: clock})
	for n := 1; n <= 2; n++ {
		sink.Write(ctx, resilience.DeadLetter{Line: int64(n), Record: []byte("x")})
	}
	if err := sink.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded against AccessDenied")
	}
	sink.Write(ctx, resilience.DeadLetter{Line: 3, Record: []byte("x")})
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	keys := e.keys(t, "dead/")
	if len(keys) != 1 {
		t.Fatalf("objects %q, want 1", keys)
	}
	body, _, _ := st.GetObject(ctx, testBucket, keys[0])
	r := resilience.NewDeadLetterReader(bytes.NewReader(body), resilience.DeadLetterReaderOptions{})
	var lines []int64
	for r.Next() {
		lines = append(lines, r.DeadLetter().Line)
	}
	if fmt.Sprint(lines) != "[1 2 3]" || sink.Written() != 3 || sink.Buffered() != 0 {
		t.Errorf("object holds lines %v, Written %d, Buffered %d; want [1 2 3], 3, 0", lines, sink.Written(), sink.Buffered())
	}
}

// The S3 classifier has the shape resilience.Retry takes: no adapter.
var _ resilience.Classifier = s3source.ErrorClassifier{}

// TestRetryTakesS3Classifier retries a GetObject that S3 answers with 503
// SlowDown (after the SDK's own attempts) through resilience.Retry with
// s3source.ErrorClassifier: the retry sees a throttled error, and a missing
// key is not retried at all.
func TestRetryTakesS3Classifier(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("k"), Body: strings.NewReader("{}\n")}); err != nil {
		t.Fatal(err)
	}
	var events []resilience.RetryEvent
	r, err := resilience.NewRetry(resilience.RetryOptions{MaxAttempts: 2, Classifier: s3source.ErrorClassifier{},
		Clock: fixedClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)), OnRetry: func(ev resilience.RetryEvent) { events = append(events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
			return err
		}
	}
	e.rec.setGetOverride(func(*http.Request) (int, string) { return http.StatusServiceUnavailable, "SlowDown" })
	err = r.Do(ctx, get("k"))
	if !errors.Is(err, resilience.ErrAttemptsExhausted) || len(events) != 1 || !events[0].Throttled {
		t.Errorf("SlowDown: Do = %v, retry events %+v; want attempts exhausted after one throttled retry", err, events)
	}
	e.rec.setGetOverride(nil)
	events = nil
	err = r.Do(ctx, get("missing"))
	if err == nil || len(events) != 0 || !s3source.IsPermanent(err) {
		t.Errorf("missing key: Do = %v after %d retries, want a permanent error and none", err, len(events))
	}
}
