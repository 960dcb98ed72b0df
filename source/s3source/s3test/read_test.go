package s3test_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/flatpipe/flatpipe/source/s3source"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/source"
)

func TestReadObjectSurvivesFaults(t *testing.T) {
	plain, objs := testObjects(t)
	want := scanAll(t, plain)
	plans := []struct {
		name    string
		plan    func(n int) fault
		resumes int // GETs carrying a Range
	}{
		{"none", nil, 0},
		{"503 SlowDown", func(n int) fault { return map[int]fault{1: slowDown, 2: slowDown}[n] }, 0},
		{"500", func(n int) fault { return map[int]fault{1: internal}[n] }, 0},
		{"reset mid-body", func(n int) fault { return map[int]fault{1: reset, 2: reset, 3: slowDown}[n] }, 3},
		{"slow body", func(int) fault { return slow }, 0},
	}
	for _, tls := range []bool{false, true} {
		env := newS3(t, tls)
		for k, v := range objs {
			env.put(t, k, v)
		}
		r := newReader(t, env, s3source.OpenerOptions{})
		for _, p := range plans {
			for _, key := range []string{"plain.ndjson", "data.ndjson.gz", "data.zst"} {
				t.Run(fmt.Sprintf("tls=%v/%s/%s", tls, p.name, key), func(t *testing.T) {
					env.faults.mu.Lock()
					env.faults.plan, env.faults.gets = p.plan, nil
					env.faults.mu.Unlock()
					got, pos, err := readAll(t, r, source.Object{Bucket: "bucket", Key: key}, source.Position{})
					if err != nil {
						t.Fatalf("ReadObject: %v", err)
					}
					if len(got) != len(want) {
						t.Fatalf("got %d records, want %d", len(got), len(want))
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("record %d = %v, want %v", i+1, got[i], want[i])
						}
					}
					if pos.Records != int64(len(want)) || pos.Offset != int64(len(plain)) {
						t.Errorf("final position %+v, want record %d offset %d", pos, len(want), len(plain))
					}
					ranged := 0
					for i, h := range env.faults.headers() {
						if h.Get("Range") != "" {
							ranged++
							if h.Get("If-Match") == "" {
								t.Errorf("GET %d resumed with Range %q but no If-Match", i+1, h.Get("Range"))
							}
						}
					}
					if ranged != p.resumes {
						t.Errorf("%d Range GETs, want %d", ranged, p.resumes)
					}
				})
			}
		}
	}
}

func TestReadObjectDetectsChangedObject(t *testing.T) {
	plain, objs := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k.gz", objs["data.ndjson.gz"])
	env.faults.plan = func(n int) fault { return map[int]fault{1: reset}[n] }
	env.faults.hook = func(n int) {
		if n == 2 { // the resume: the object was replaced meanwhile
			other := append([]byte("{\"other\":1}\n"), plain...)
			env.put(t, "k.gz", gz(t, other))
		}
	}
	r := newReader(t, env, s3source.OpenerOptions{})
	got, _, err := readAll(t, r, source.Object{Bucket: "bucket", Key: "k.gz"}, source.Position{})
	var ce *s3source.ObjectChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *s3source.ObjectChangedError", err)
	}
	for _, g := range got {
		if strings.Contains(g.Data, "other") {
			t.Fatalf("record from the new object leaked: %v", g)
		}
	}
}

func TestReadObjectGivesUpWithoutProgress(t *testing.T) {
	_, objs := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k", objs["plain.ndjson"])
	env.faults.plan = func(n int) fault { return reset }
	r := newReader(t, env, s3source.OpenerOptions{MaxResumes: 2})
	_, _, err := readAll(t, r, source.Object{Bucket: "bucket", Key: "k"}, source.Position{})
	var oe *source.ObjectError
	if !errors.As(err, &oe) || oe.Object != "s3://bucket/k" {
		t.Fatalf("err = %v, want *ObjectError for s3://bucket/k", err)
	}
	// each reset still delivers a third of what was asked, so progress resets
	// the budget; the read gives up only when resumes stop making progress
	if n := len(env.faults.headers()); n < 3 {
		t.Errorf("%d GETs, want at least 3", n)
	}
}

func TestReadObjectStalledBodyCancelled(t *testing.T) {
	_, objs := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k", objs["plain.ndjson"])
	env.faults.plan = func(int) fault { return stall }
	r := newReader(t, env, s3source.OpenerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	_, err := r.ReadObject(ctx, source.Object{Bucket: "bucket", Key: "k"}, source.Position{}, func(source.Record) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestReadObjectResume(t *testing.T) {
	plain, objs := testObjects(t)
	want := scanAll(t, plain)
	env := newS3(t, false)
	dir := t.TempDir()
	for k, v := range objs {
		env.put(t, k, v)
		writeFile(t, dir+"/"+k, v)
	}
	r := newReader(t, env, s3source.OpenerOptions{})
	for _, key := range []string{"plain.ndjson", "data.ndjson.gz", "data.zst"} {
		for _, obj := range []source.Object{{Bucket: "bucket", Key: key}, {Key: dir + "/" + key}} {
			t.Run(obj.String(), func(t *testing.T) {
				stop := errors.New("stop")
				var first []rec
				pos, err := r.ReadObject(context.Background(), obj, source.Position{}, func(x source.Record) error {
					if len(first) == 500 {
						return stop
					}
					first = append(first, rec{string(x.Data), x.Offset, x.Line, x.Number})
					return nil
				})
				if !errors.Is(err, stop) || pos.Records != 500 {
					t.Fatalf("first pass: %v at %+v", err, pos)
				}
				env.faults.mu.Lock()
				env.faults.gets = nil
				env.faults.mu.Unlock()
				rest, _, err := readAll(t, r, obj, pos)
				if err != nil {
					t.Fatal(err)
				}
				got := append(first, rest...)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("resumed read differs: %d+%d records, want %d", len(first), len(rest), len(want))
				}
				if obj.IsS3() && key == "plain.ndjson" {
					h := env.faults.headers()
					if len(h) != 2 || h[1].Get("Range") != fmt.Sprintf("bytes=%d-", pos.Offset) {
						t.Errorf("resume GETs %v, want a sniff then Range bytes=%d-", h, pos.Offset)
					}
				}
			})
		}
	}
}

func TestList(t *testing.T) {
	env := newS3(t, true)
	keys := []string{"a/3.json", "a/1.json", "a/2.json.gz", "a/sub/4.json", "b/5.json", "a/dir/"}
	for _, k := range keys {
		env.put(t, k, []byte("{}"))
	}
	for _, tt := range []struct {
		opts s3source.ListOptions
		want string
	}{
		{s3source.ListOptions{Bucket: "bucket", Prefix: "a/"}, "[a/1.json a/2.json.gz a/3.json a/sub/4.json]"},
		{s3source.ListOptions{Bucket: "bucket", Prefix: "a/", StartAfter: "a/2.json.gz"}, "[a/3.json a/sub/4.json]"},
		{s3source.ListOptions{Bucket: "bucket", Suffixes: []string{".gz"}}, "[a/2.json.gz]"},
		{s3source.ListOptions{Bucket: "bucket", Limit: 2}, "[a/1.json a/2.json.gz]"},
		{s3source.ListOptions{Bucket: "bucket", ModifiedAfter: time.Now().Add(time.Hour)}, "[]"},
	} {
		objs, err := s3source.List(context.Background(), env.client, tt.opts)
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
			if o.ETag == "" || o.Size != 2 {
				t.Errorf("object %+v lacks identity", o)
			}
		}
		if err != nil || fmt.Sprint(got) != tt.want && !(tt.want == "[]" && got == nil) {
			t.Errorf("s3source.List(%+v) = %v, %v, want %s", tt.opts, got, err, tt.want)
		}
	}
}

func TestReadObjectResumeReopenFails(t *testing.T) {
	plain, _ := testObjects(t)
	env := newS3(t, false)
	env.put(t, "k", plain)
	env.faults.plan = func(n int) fault {
		if n >= 2 {
			return internal
		}
		return pass
	}
	r := newReader(t, env, s3source.OpenerOptions{})
	_, err := r.ReadObject(context.Background(), source.Object{Bucket: "bucket", Key: "k"}, source.Position{Offset: 100, Records: 2}, func(source.Record) error { return nil })
	if err == nil || !s3source.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestReadObjectResumePastEnd(t *testing.T) {
	env := newS3(t, false)
	env.put(t, "k", []byte("{}\n{}\n"))
	r := newReader(t, env, s3source.OpenerOptions{})
	for _, from := range []source.Position{{Offset: 100, Records: 2}, {Records: 5}} {
		_, err := r.ReadObject(context.Background(), source.Object{Bucket: "bucket", Key: "k"}, from, func(source.Record) error { return nil })
		var oe *source.ObjectError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), "past the end") {
			t.Errorf("resume at %+v: err = %v, want past-the-end *ObjectError", from, err)
		}
	}
}
