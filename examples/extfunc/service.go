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
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
)

// rowFunc computes one row's answer from the row's arguments (the JSON
// values Snowflake sent, after the row number). A problem of the row
// itself is part of the answer (a JSON null or an object with "error"); a
// returned error is transient (S3 or Snowflake unavailable, the context
// ending) and fails the whole batch with 503, so that Snowflake retries it.
type rowFunc func(ctx context.Context, args []json.RawMessage) (any, error)

// Service answers Snowflake's external function calls behind API Gateway
// (REST API, Lambda proxy integration): one batch of rows per request,
// {"data": [[row, arg…], …]} in, {"data": [[row, result], …]} out, the
// same row numbers in the same order. The function is chosen by the last
// segment of the request path (…/flatten, …/load_file).
//
// It is safe for concurrent use. At most MaxInFlight batches are worked on
// at once; more are answered 429 with a Retry-After hint, which makes
// Snowflake slow down and retry. A batch answered once is answered again
// from memory when Snowflake retries it (same sf-external-function-query-
// batch-id): a retried batch never runs twice in one container, and
// load_file's loads are idempotent across containers (deterministic staged
// names, COPY's load metadata).
type Service struct {
	funcs       map[string]rowFunc
	maxRows     int
	sem         chan struct{}
	retryAfter  time.Duration
	log         *slog.Logger
	metrics     *lambdaenv.Metrics
	memo        *batchMemo
	maxBodySize int
	maxAnswer   int

	mu       sync.Mutex
	replayed int64 // batches answered from memory
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// MaxBatchRows is the largest batch answered (400 above it: set the
	// external function's MAX_BATCH_ROWS to at most this).
	MaxBatchRows int
	// MaxInFlight is how many batches are worked on at once.
	MaxInFlight int
	// RetryAfter is the hint sent with 429.
	RetryAfter time.Duration
	// Remember is how many answered batches are kept for retries.
	Remember int
	// MaxAnswerBytes bounds an answer: Lambda's synchronous response limit
	// is 6 MB. A larger answer is a 400 that asks for a smaller
	// MAX_BATCH_ROWS. Default DefaultMaxAnswerBytes.
	MaxAnswerBytes int
	Log            *slog.Logger
	Metrics        *lambdaenv.Metrics
}

// DefaultMaxAnswerBytes keeps an answer under Lambda's 6 MB response limit
// with room for the proxy response around it.
const DefaultMaxAnswerBytes = 5 << 20

// NewService returns a Service for the named functions.
func NewService(funcs map[string]rowFunc, o ServiceOptions) *Service {
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 1000
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1
	}
	if o.Remember <= 0 {
		o.Remember = 1024
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxAnswerBytes <= 0 {
		o.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	return &Service{funcs: funcs, maxRows: o.MaxBatchRows, sem: make(chan struct{}, o.MaxInFlight),
		retryAfter: o.RetryAfter, log: o.Log, metrics: o.Metrics, memo: newBatchMemo(o.Remember),
		maxBodySize: 10 << 20, maxAnswer: o.MaxAnswerBytes}
}

// Replayed is the number of batches answered from memory (retries).
func (s *Service) Replayed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replayed
}

// header looks a request header up without regard to case (API Gateway
// passes them as the client sent them).
func header(req events.APIGatewayProxyRequest, name string) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// reply is a JSON proxy response.
func reply(status int, body any, extra map[string]string) events.APIGatewayProxyResponse {
	b, err := marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"cannot encode the answer"}`)
	}
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range extra {
		h[k] = v
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: h, Body: string(b)}
}

func failure(status int, format string, args ...any) events.APIGatewayProxyResponse {
	return reply(status, map[string]string{"message": fmt.Sprintf(format, args...)}, nil)
}

// Handle answers one API Gateway proxy request. Its error is always nil:
// every outcome is an HTTP answer Snowflake understands.
func (s *Service) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if s.metrics != nil {
		defer func() { _ = s.metrics.Flush() }()
	}
	name := strings.ToLower(path.Base(req.Path))
	fn, ok := s.funcs[name]
	if !ok {
		return failure(http.StatusNotFound, "no external function at %q (have flatten, load_file)", req.Path), nil
	}
	batch := header(req, "sf-external-function-query-batch-id")
	lg := s.log.With(slog.String("function", name), slog.String("batchId", batch),
		slog.String("queryId", header(req, "sf-external-function-current-query-id")))
	if req.HTTPMethod != "" && req.HTTPMethod != http.MethodPost {
		// Polling (GET) only follows a 202, which this service never sends.
		if body, ok := s.memo.get(name + "\x00" + batch); ok {
			return reply(http.StatusOK, json.RawMessage(body), nil), nil
		}
		return failure(http.StatusBadRequest, "%s is not answered: this service replies synchronously to POST", req.HTTPMethod), nil
	}
	key := name + "\x00" + batch
	if batch != "" {
		if body, ok := s.memo.get(key); ok {
			s.mu.Lock()
			s.replayed++
			s.mu.Unlock()
			lg.InfoContext(ctx, "batch answered again from memory")
			return reply(http.StatusOK, json.RawMessage(body), nil), nil
		}
		if !s.memo.start(key) {
			// The same batch is being worked on by another invocation.
			return s.tooMany(lg, "batch already in progress"), nil
		}
		defer s.memo.abandon(key)
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		return s.tooMany(lg, "overloaded"), nil
	}

	body, err := decodeBody(req, s.maxBodySize)
	if err != nil {
		return failure(http.StatusBadRequest, "%v", err), nil
	}
	rows, err := parseBatch(body)
	if err != nil {
		return failure(http.StatusBadRequest, "%v", err), nil
	}
	if len(rows) > s.maxRows {
		return failure(http.StatusBadRequest, "batch of %d rows is over this service's limit of %d: set MAX_BATCH_ROWS = %d on the external function",
			len(rows), s.maxRows, s.maxRows), nil
	}
	out := make([][2]any, len(rows))
	for i, r := range rows {
		v, err := fn(ctx, r)
		if errors.Is(err, errBadCall) {
			return failure(http.StatusBadRequest, "row %d: %v", i, err), nil
		}
		if err != nil {
			lg.WarnContext(ctx, "batch failed, Snowflake will retry it", slog.Int("row", i), slog.String("error", err.Error()))
			return failure(http.StatusServiceUnavailable, "row %d: %v", i, err), nil
		}
		out[i] = [2]any{i, v}
	}
	answer, err := marshal(map[string]any{"data": out})
	if err != nil {
		return failure(http.StatusInternalServerError, "cannot encode the answer: %v", err), nil
	}
	if len(answer) > s.maxAnswer {
		return failure(http.StatusBadRequest, "answer of %d bytes for %d rows is over Lambda's response limit (%d bytes here): lower MAX_BATCH_ROWS on the external function",
			len(answer), len(rows), s.maxAnswer), nil
	}
	if batch != "" {
		s.memo.put(key, answer)
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(answer)}, nil
}

// tooMany is the 429 that makes Snowflake back off and retry.
func (s *Service) tooMany(lg *slog.Logger, why string) events.APIGatewayProxyResponse {
	lg.Info("batch refused for now", slog.String("reason", why))
	secs := max(1, int(s.retryAfter.Round(time.Second)/time.Second))
	return reply(http.StatusTooManyRequests, map[string]string{"message": why + ", retry later"},
		map[string]string{"Retry-After": strconv.Itoa(secs)})
}

// errBadCall wraps a rowFunc error that no retry fixes (the function was
// declared with other arguments than the service takes): 400, and
// Snowflake fails the query.
var errBadCall = errors.New("extfunc: bad call")

// errBody reports a request body that is not a batch.
var errBody = errors.New("extfunc: request body is not an external function batch")

// decodeBody returns the request's JSON text: base64 when API Gateway says
// so, gunzipped when still compressed (API Gateway normally inflates it).
func decodeBody(req events.APIGatewayProxyRequest, limit int) ([]byte, error) {
	b := []byte(req.Body)
	if req.IsBase64Encoded {
		d, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: bad base64: %v", errBody, err)
		}
		b = d
	}
	if strings.EqualFold(header(req, "Content-Encoding"), "gzip") || bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip: %v", errBody, err)
		}
		d, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip: %v", errBody, err)
		}
		b = d
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%w: body over %d bytes", errBody, limit)
	}
	return b, nil
}

// parseBatch reads {"data": [[0, arg…], [1, arg…], …]} and returns each
// row's arguments. Row numbers must be 0, 1, 2, … in order.
func parseBatch(body []byte) ([][]json.RawMessage, error) {
	var in struct {
		Data *[][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("%w: %v", errBody, err)
	}
	if in.Data == nil {
		return nil, fmt.Errorf("%w: no \"data\" array", errBody)
	}
	rows := make([][]json.RawMessage, len(*in.Data))
	for i, r := range *in.Data {
		if len(r) == 0 {
			return nil, fmt.Errorf("%w: row %d is empty", errBody, i)
		}
		n, err := strconv.Atoi(string(r[0]))
		if err != nil || n != i {
			return nil, fmt.Errorf("%w: row %d has row number %s, want %d", errBody, i, r[0], i)
		}
		rows[i] = r[1:]
	}
	return rows, nil
}

// batchMemo remembers the answers of recent batches by key, and which
// batches are being worked on. The oldest answers are forgotten first.
type batchMemo struct {
	mu      sync.Mutex
	max     int
	answers map[string][]byte
	order   []string
	running map[string]bool
}

func newBatchMemo(max int) *batchMemo {
	return &batchMemo{max: max, answers: map[string][]byte{}, running: map[string]bool{}}
}

func (m *batchMemo) get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.answers[key]
	return b, ok
}

// start marks key in progress; false if it already is.
func (m *batchMemo) start(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running[key] {
		return false
	}
	m.running[key] = true
	return true
}

// abandon clears the in-progress mark (after put, or on failure).
func (m *batchMemo) abandon(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.running, key)
}

func (m *batchMemo) put(key string, answer []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.answers[key]; ok {
		return
	}
	m.answers[key] = answer
	m.order = append(m.order, key)
	for len(m.order) > m.max {
		delete(m.answers, m.order[0])
		m.order = m.order[1:]
	}
}

// marshal is json.Marshal without HTML escaping (values are data, not
// markup, and come back to Snowflake as written).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
