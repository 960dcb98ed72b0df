package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flatpipe/flatpipe/flatten"
)

// batchRequest is the proxy event API Gateway hands the function for one
// Snowflake batch.
func batchRequest(fn, batchID string, rows ...[]any) events.APIGatewayProxyRequest {
	data := make([][]any, len(rows))
	for i, r := range rows {
		data[i] = append([]any{i}, r...)
	}
	body, _ := json.Marshal(map[string]any{"data": data})
	return events.APIGatewayProxyRequest{HTTPMethod: http.MethodPost, Path: "/prod/" + fn, Resource: "/" + fn,
		Headers: map[string]string{"Sf-External-Function-Query-Batch-Id": batchID, "sf-external-function-format": "json",
			"sf-external-function-format-version": "1.0", "Content-Type": "application/json"},
		Body: string(body)}
}

// answers decodes a 200 answer, checking the row numbers.
func answers(t *testing.T, resp events.APIGatewayProxyResponse, n int) []json.RawMessage {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", resp.StatusCode, resp.Body)
	}
	var out struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("answer %s: %v", resp.Body, err)
	}
	if len(out.Data) != n {
		t.Fatalf("answer has %d rows, want %d: %s", len(out.Data), n, resp.Body)
	}
	vals := make([]json.RawMessage, n)
	for i, r := range out.Data {
		if len(r) != 2 || string(r[0]) != fmt.Sprint(i) {
			t.Fatalf("answer row %d = %s, want [%d, value]", i, r, i)
		}
		vals[i] = r[1]
	}
	return vals
}

func TestProtocolRowsInOrder(t *testing.T) {
	calls := 0
	svc := NewService(map[string]rowFunc{"echo": func(_ context.Context, args []json.RawMessage) (any, error) {
		calls++
		var s string
		_ = json.Unmarshal(args[0], &s)
		return map[string]any{"up": strings.ToUpper(s), "args": len(args)}, nil
	}}, ServiceOptions{})
	req := batchRequest("echo", "b1", []any{"c", 1}, []any{"a", 2}, []any{"b", 3})
	vals := answers(t, mustHandle(t, svc, req), 3)
	if got := fmt.Sprintf("%s %s %s", vals[0], vals[1], vals[2]); got != `{"args":2,"up":"C"} {"args":2,"up":"A"} {"args":2,"up":"B"}` {
		t.Errorf("answers = %s", got)
	}
	// The same batch through base64 and gzip, as API Gateway may pass it.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(req.Body))
	zw.Close()
	req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(zb.Bytes()), true
	req.Headers["sf-external-function-query-batch-id"] = "b2"
	delete(req.Headers, "Sf-External-Function-Query-Batch-Id")
	answers(t, mustHandle(t, svc, req), 3)
	if calls != 6 {
		t.Errorf("%d row calls, want 6", calls)
	}
}

func mustHandle(t *testing.T, svc *Service, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	resp, err := svc.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return resp
}

func TestProtocolErrors(t *testing.T) {
	svc := NewService(map[string]rowFunc{
		"ok": func(context.Context, []json.RawMessage) (any, error) { return 1, nil },
		"bad": func(context.Context, []json.RawMessage) (any, error) {
			return nil, fmt.Errorf("%w: two arguments", errBadCall)
		},
		"big": func(context.Context, []json.RawMessage) (any, error) { return strings.Repeat("x", 100), nil },
	}, ServiceOptions{MaxBatchRows: 2, MaxAnswerBytes: 150})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayProxyRequest
		status int
		want   string
	}{
		{"unknown function", batchRequest("nope", "x", []any{1}), 404, "no external function"},
		{"not JSON", func() events.APIGatewayProxyRequest { r := batchRequest("ok", "x"); r.Body = "{"; return r }(), 400, "not an external function batch"},
		{"no data", func() events.APIGatewayProxyRequest { r := batchRequest("ok", "x"); r.Body = `{"rows":[]}`; return r }(), 400, `data\" array`},
		{"row numbers out of order", func() events.APIGatewayProxyRequest {
			r := batchRequest("ok", "x")
			r.Body = `{"data":[[1,"a"],[0,"b"]]}`
			return r
		}(), 400, "row number 1, want 0"},
		{"batch over the limit", batchRequest("ok", "x", []any{1}, []any{2}, []any{3}), 400, "MAX_BATCH_ROWS = 2"},
		{"bad call", batchRequest("bad", "x", []any{1}), 400, "two arguments"},
		{"answer over the response limit", batchRequest("big", "x", []any{1}, []any{2}), 400, "lower MAX_BATCH_ROWS"},
		{"GET without a 202", func() events.APIGatewayProxyRequest { r := batchRequest("ok", "x"); r.HTTPMethod = "GET"; return r }(), 400, "synchronously"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := mustHandle(t, svc, tc.req)
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.want) {
				t.Errorf("answer %d %s, want %d with %q", resp.StatusCode, resp.Body, tc.status, tc.want)
			}
		})
	}
}

func TestProtocolOverloadAnswers429(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	svc := NewService(map[string]rowFunc{"slow": func(context.Context, []json.RawMessage) (any, error) {
		entered <- struct{}{}
		<-release
		return true, nil
	}}, ServiceOptions{MaxInFlight: 1, RetryAfter: 2 * time.Second})
	var wg sync.WaitGroup
	var first events.APIGatewayProxyResponse
	wg.Add(1)
	go func() {
		defer wg.Done()
		first, _ = svc.Handle(context.Background(), batchRequest("slow", "b1", []any{1}))
	}()
	<-entered
	// Another batch while the only slot is taken: 429 with a retry hint.
	resp := mustHandle(t, svc, batchRequest("slow", "b2", []any{1}))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Headers["Retry-After"] != "2" {
		t.Errorf("overloaded answer %d %v, want 429 with Retry-After 2", resp.StatusCode, resp.Headers)
	}
	// The same batch again while it is worked on: 429 too, not a second run.
	resp = mustHandle(t, svc, batchRequest("slow", "b1", []any{1}))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("same batch in progress: %d, want 429", resp.StatusCode)
	}
	close(release)
	wg.Wait()
	answers(t, first, 1)
	// Now the slot is free: b2 goes through.
	go func() { <-entered }()
	answers(t, mustHandle(t, svc, batchRequest("slow", "b2", []any{1})), 1)
}

func TestProtocolRetriedBatchRunsOnce(t *testing.T) {
	calls := 0
	fail := true
	svc := NewService(map[string]rowFunc{"count": func(context.Context, []json.RawMessage) (any, error) {
		calls++
		if fail {
			return nil, errors.New("snowflake unavailable")
		}
		return calls, nil
	}}, ServiceOptions{})
	// A transient failure answers 503 (Snowflake retries) and is not remembered.
	resp := mustHandle(t, svc, batchRequest("count", "b1", []any{"x"}))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("transient failure: %d, want 503", resp.StatusCode)
	}
	fail = false
	a := answers(t, mustHandle(t, svc, batchRequest("count", "b1", []any{"x"})), 1)
	b := answers(t, mustHandle(t, svc, batchRequest("count", "b1", []any{"x"})), 1)
	if string(a[0]) != "2" || string(b[0]) != "2" || calls != 2 || svc.Replayed() != 1 {
		t.Errorf("answers %s and %s, %d calls, %d replayed; want the same answer, the row run once after the failure", a[0], b[0], calls, svc.Replayed())
	}
	// Another batch id runs again.
	if c := answers(t, mustHandle(t, svc, batchRequest("count", "b2", []any{"x"})), 1); string(c[0]) != "3" {
		t.Errorf("new batch answered %s, want 3", c[0])
	}
}

func TestFlattenFunction(t *testing.T) {
	fn, err := newFlattenFn(flatten.Options{Separator: "."}, 4, 1<<20, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fn.log = discardLogger()
	svc := NewService(map[string]rowFunc{"flatten": fn.row}, ServiceOptions{})
	req := batchRequest("flatten", "f1",
		[]any{map[string]any{"a": map[string]any{"b": 1, "c": []int{1, 2}}, "s": "x<y"}},
		[]any{`{"k": {"z": true}}`},
		[]any{nil},
		[]any{"{not json"},
		[]any{map[string]any{"d": map[string]any{"e": map[string]any{"f": map[string]any{"g": map[string]any{"h": 1}}}}}},
		[]any{map[string]any{}})
	vals := answers(t, mustHandle(t, svc, req), 6)
	want := []string{`{"a.b":1,"a.c":[1,2],"s":"x<y"}`, `{"k.z":true}`, `null`, `null`, `null`, `{}`}
	for i, w := range want {
		if string(vals[i]) != w {
			t.Errorf("row %d = %s, want %s", i, vals[i], w)
		}
	}
	resp := mustHandle(t, svc, batchRequest("flatten", "f2", []any{1, 2}))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("flatten with two arguments: %d, want 400", resp.StatusCode)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
