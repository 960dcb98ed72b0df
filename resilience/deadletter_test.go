package resilience

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type positionedErr struct{ Line int }

func (e *positionedErr) Error() string { return fmt.Sprintf("bad value on line %d", e.Line) }

func TestErrorType(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errBoom, "*errors.errorString"},
		{fmt.Errorf("load: %w", &positionedErr{3}), "*resilience.positionedErr"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", os.ErrNotExist)), "*errors.errorString"},
		{errors.Join(&positionedErr{1}, errBoom), "*resilience.positionedErr"},
		{fmt.Errorf("x %w %w", &TimeoutError{}, errBoom), "*resilience.TimeoutError"},
		{fmt.Errorf("no wrap: %v", errBoom), "*errors.errorString"},
	}
	for _, tt := range tests {
		if got := ErrorType(tt.err); got != tt.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// deadLetterCases are records whose bytes must survive: invalid UTF-8,
// control characters, newlines, HTML-ish characters, empty, and huge.
func deadLetterCases() []DeadLetter {
	rng := rand.New(rand.NewPCG(1, 2))
	huge := make([]byte, 3<<19) // random bytes: invalid UTF-8, base64 path
	for i := range huge {
		huge[i] = byte(rng.UintN(256))
	}
	hugeText := bytes.Repeat([]byte(`{"k":"värde \u2028 <&>"}`+"\t"), 50_000) // ~1.2 MB of valid UTF-8
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	return []DeadLetter{
		{Time: t0, Object: "s3://in/a.ndjson", Offset: 0, Line: 1, Reason: "parse", ErrorType: "*flatten.SyntaxError", Error: "flatten: bad", Record: []byte(`{"a":`)},
		{Time: t0, Object: "s3://in/a.ndjson", Offset: 17, Line: 2, Reason: "schema", Record: []byte("\xff\xfe{\"a\":1}\x00")},
		{Time: t0, Object: "b", Offset: 99, Reason: "load", Record: []byte("line1\nline2\r\n\u2028<script>&amp;")},
		{Time: t0, Object: "c", Reason: "empty", Record: []byte{}},
		{Time: t0, Object: "d", Reason: "huge-binary", Offset: 1 << 40, Line: 1 << 33, Record: huge},
		{Time: t0, Object: "e", Reason: "huge-text", Record: hugeText},
		{Time: t0, Object: "f", Reason: "surrogate", Record: []byte("\xed\xa0\x80")}, // CESU surrogate: invalid UTF-8
		{Time: t0, Object: "g", Reason: "bad error text", Error: "bad \xff byte", Record: []byte("x")},
	}
}

func checkRoundTrip(t *testing.T, got, want []DeadLetter) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		if w.Record == nil {
			w.Record = []byte{}
		}
		if w.Error == "bad \xff byte" {
			w.Error = "bad \ufffd byte" // messages are text; invalid bytes are replaced
		}
		g := got[i]
		if !bytes.Equal(g.Record, w.Record) {
			t.Errorf("entry %d (%s): record of %d bytes differs from the %d written", i, w.Reason, len(g.Record), len(w.Record))
		}
		g.Record, w.Record = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestFileDeadLetterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dlq.ndjson")
	s, err := NewFileDeadLetterSink(FileDeadLetterOptions{Path: path, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	want := deadLetterCases()
	for _, d := range want {
		if err := s.Write(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), want[0]); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewDeadLetterReader(f, DeadLetterReaderOptions{})
	var got []DeadLetter
	for r.Next() {
		got = append(got, r.DeadLetter())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, got, want)
	// The encodings are the documented ones.
	b, _ := os.ReadFile(path)
	lines := bytes.Split(b, []byte("\n"))
	if !bytes.Contains(lines[0], []byte(`"record_encoding":"utf-8","record":"{\"a\":"`)) ||
		!bytes.Contains(lines[1], []byte(`"record_encoding":"base64","record":"//57ImEiOjF9AA=="`)) ||
		!bytes.Contains(lines[2], []byte(`<script>&amp;`)) {
		t.Errorf("unexpected encoding:\n%s\n%s\n%s", lines[0], lines[1], lines[2])
	}
}

func TestS3DeadLetterSink(t *testing.T) {
	m := newMemObjectStore()
	clk := newFakeClock()
	s, err := NewS3DeadLetterSink(S3DeadLetterOptions{Client: m, Bucket: "dlq", Prefix: "orders/", MaxBytes: 1 << 20, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := deadLetterCases()
	small := want[:4]
	for _, d := range small {
		d.Time = time.Time{} // stamped by the sink
		if err := s.Write(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if s.Buffered() != 4 || len(m.keys()) != 0 {
		t.Fatalf("Buffered() = %d, objects %v: small entries must wait for Flush", s.Buffered(), m.keys())
	}
	// A failed put keeps the entries.
	m.failPut = errors.New("SlowDown")
	if err := s.Flush(ctx); err == nil || s.Buffered() != 4 {
		t.Fatalf("Flush() under failure = %v, buffered %d, want an error and 4 kept", err, s.Buffered())
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The huge entries pass MaxBytes and flush from Write.
	for _, d := range want[4:] {
		if err := s.Write(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil { // nothing buffered: no object
		t.Fatal(err)
	}
	keys := m.keys()
	if len(keys) != 4 || s.Written() != int64(len(want)) {
		t.Fatalf("objects %v, written %d, want 4 objects and %d entries", keys, s.Written(), len(want))
	}
	var got []DeadLetter
	for _, k := range sortedKeys(keys) {
		if !strings.HasPrefix(k, "dlq/orders/2026/11/26/") || !strings.HasSuffix(k, ".ndjson") {
			t.Errorf("key %q", k)
		}
		body, _, err := m.GetObject(ctx, "dlq", strings.TrimPrefix(k, "dlq/"))
		if err != nil {
			t.Fatal(err)
		}
		r := NewDeadLetterReader(bytes.NewReader(body), DeadLetterReaderOptions{})
		for r.Next() {
			got = append(got, r.DeadLetter())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range small {
		want[i].Time = clk.Now()
	}
	checkRoundTrip(t, got, want)
}

func sortedKeys(ks []string) []string {
	// Keys embed the nanosecond time and a sequence number; the fake clock
	// does not move, so order by the sequence suffix.
	out := append([]string(nil), ks...)
	seq := func(k string) string {
		i := strings.LastIndexByte(k, '-')
		return fmt.Sprintf("%08s", strings.TrimSuffix(k[i+1:], ".ndjson"))
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if seq(out[j]) < seq(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestDeadLetterReaderErrors(t *testing.T) {
	good, _ := DeadLetter{Reason: "r", Record: []byte("x")}.AppendNDJSON(nil)
	tests := []struct {
		name     string
		in       string
		max      int
		wantN    int
		wantLine int64
		wantIs   error
	}{
		{"empty", "", 0, 0, 0, nil},
		{"blank lines", "\n" + string(good) + "\n\n" + string(good), 0, 2, 0, nil},
		{"last line without newline", strings.TrimSuffix(string(good), "\n"), 0, 1, 0, nil},
		{"torn last line", string(good) + `{"time":"2026-`, 0, 1, 2, io.ErrUnexpectedEOF},
		{"garbage", string(good) + "nope\n", 0, 1, 2, nil},
		{"unknown field", `{"reason":"r","record_encoding":"utf-8","record":"","extra":1}` + "\n", 0, 0, 1, nil},
		{"bad encoding", `{"reason":"r","record_encoding":"rot13","record":""}` + "\n", 0, 0, 1, nil},
		{"bad base64", `{"reason":"r","record_encoding":"base64","record":"!!"}` + "\n", 0, 0, 1, nil},
		{"two values", `{"reason":"r","record_encoding":"utf-8","record":""} {}` + "\n", 0, 0, 1, nil},
		{"too long", string(good) + strings.Repeat("x", 200) + "\n", 120, 1, 2, ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewDeadLetterReader(strings.NewReader(tt.in), DeadLetterReaderOptions{MaxLine: tt.max})
			n := 0
			for r.Next() {
				n++
			}
			if r.Next() {
				t.Error("Next() after the end = true")
			}
			err := r.Err()
			if n != tt.wantN {
				t.Errorf("read %d entries, want %d (err %v)", n, tt.wantN, err)
			}
			var fe *DeadLetterFormatError
			switch {
			case tt.wantLine == 0 && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tt.wantLine != 0 && (!errors.As(err, &fe) || fe.Line != tt.wantLine):
				t.Errorf("Err() = %v, want a format error on line %d", err, tt.wantLine)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Errorf("Err() = %v, want %v", err, tt.wantIs)
			}
		})
	}
}

func TestFileDeadLetterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dlq.ndjson")
	s, err := NewFileDeadLetterSink(FileDeadLetterOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				rec := bytes.Repeat([]byte{byte('a' + g)}, 1000+i)
				if err := s.Write(context.Background(), DeadLetter{Reason: "r", Line: int64(i), Record: rec}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if s.Written() != 200 {
		t.Errorf("Written() = %d", s.Written())
	}
	_ = s.Close()
	f, _ := os.Open(path)
	defer f.Close()
	r := NewDeadLetterReader(f, DeadLetterReaderOptions{})
	n := 0
	for r.Next() {
		d := r.DeadLetter()
		if len(d.Record) != 1000+int(d.Line) || bytes.Count(d.Record, d.Record[:1]) != len(d.Record) {
			t.Fatalf("entry %d garbled", n)
		}
		n++
	}
	if r.Err() != nil || n != 200 {
		t.Errorf("read %d entries, err %v, want 200", n, r.Err())
	}
}

// A crash tears the last line; reopening the sink ends it, new entries stay
// readable, and a SkipInvalid reader recovers everything else.
func TestFileDeadLetterTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dlq.ndjson")
	good, _ := DeadLetter{Reason: "first", Record: []byte("a")}.AppendNDJSON(nil)
	torn := good[:len(good)/2]
	if err := os.WriteFile(path, append(append([]byte{}, good...), torn...), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewFileDeadLetterSink(FileDeadLetterOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"second", "third"} {
		if err := s.Write(context.Background(), DeadLetter{Reason: reason, Record: []byte("b")}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	b, _ := os.ReadFile(path)
	strict := NewDeadLetterReader(bytes.NewReader(b), DeadLetterReaderOptions{})
	n := 0
	for strict.Next() {
		n++
	}
	var fe *DeadLetterFormatError
	if n != 1 || !errors.As(strict.Err(), &fe) || fe.Line != 2 {
		t.Errorf("strict reader: %d entries, %v; want 1 and an error on line 2", n, strict.Err())
	}
	lenient := NewDeadLetterReader(bytes.NewReader(b), DeadLetterReaderOptions{SkipInvalid: true})
	var reasons []string
	for lenient.Next() {
		reasons = append(reasons, lenient.DeadLetter().Reason)
	}
	if got := strings.Join(reasons, ","); got != "first,second,third" || lenient.Skipped() != 1 || lenient.Err() != nil {
		t.Errorf("lenient reader: %s, skipped %d, err %v", got, lenient.Skipped(), lenient.Err())
	}
}

func TestS3DeadLetterSinkFull(t *testing.T) {
	m := newMemObjectStore()
	s, err := NewS3DeadLetterSink(S3DeadLetterOptions{Client: m, Bucket: "dlq", MaxBytes: 1000, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	rec := bytes.Repeat([]byte("x"), 1000) // every entry passes MaxBytes: Write flushes
	full := false
	for i := range 10 {
		m.failPut = errors.New("service unavailable")
		err := s.Write(context.Background(), DeadLetter{Reason: "r", Record: rec})
		if errors.Is(err, ErrSinkFull) {
			full = true
			if s.Buffered() != i {
				t.Errorf("buffered %d after ErrSinkFull at write %d", s.Buffered(), i)
			}
			break
		}
		if err == nil {
			t.Fatalf("write %d: nil error although the flush failed", i)
		}
	}
	if !full {
		t.Fatal("the buffer grew without bound while flushes failed")
	}
	m.failPut = nil
	if err := s.Flush(context.Background()); err != nil || s.Buffered() != 0 || len(m.keys()) != 1 {
		t.Errorf("Flush() = %v, buffered %d, objects %v", err, s.Buffered(), m.keys())
	}
}

// blockingStore is an ObjectStore whose PutObject waits until release is
// closed, after announcing itself on entered.
type blockingStore struct {
	*memObjectStore
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStore) PutObject(ctx context.Context, bucket, key string, body []byte, cond PutCondition) (string, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.memObjectStore.PutObject(ctx, bucket, key, body, cond)
}

// TestS3DeadLetterSinkUploadOutsideLock: while a flush's PutObject waits on
// S3, writers and Buffered go on (the batch is swapped out under the lock
// and uploaded outside it).
func TestS3DeadLetterSinkUploadOutsideLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &blockingStore{memObjectStore: newMemObjectStore(), entered: make(chan struct{}), release: make(chan struct{})}
		s, err := NewS3DeadLetterSink(S3DeadLetterOptions{Client: store, Bucket: "dlq", MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		cases := deadLetterCases()
		if err := s.Write(ctx, cases[0]); err != nil {
			t.Fatal(err)
		}
		flushed := make(chan error)
		go func() { flushed <- s.Flush(ctx) }()
		<-store.entered // the upload is in flight
		if !s.mu.TryLock() {
			close(store.release)
			<-flushed
			t.Fatal("the sink's lock is held while PutObject waits on S3")
		}
		s.mu.Unlock()
		if err := s.Write(ctx, cases[1]); err != nil {
			t.Fatalf("Write during an upload: %v", err)
		}
		if got := s.Buffered(); got != 2 {
			t.Errorf("Buffered() during an upload = %d, want 2 (1 in flight, 1 new)", got)
		}
		close(store.release)
		if err := <-flushed; err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if got, w := s.Buffered(), s.Written(); got != 1 || w != 1 {
			t.Errorf("after the upload: Buffered() = %d, Written() = %d, want 1 and 1", got, w)
		}
		go func() { flushed <- s.Flush(ctx) }()
		<-store.entered
		if err := <-flushed; err != nil {
			t.Fatalf("second Flush: %v", err)
		}
		if keys := store.keys(); len(keys) != 2 {
			t.Errorf("objects %v, want 2", keys)
		}
	})
}
