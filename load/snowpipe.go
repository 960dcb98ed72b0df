package load

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SnowpipeOptions configures a Snowpipe REST client.
type SnowpipeOptions struct {
	// Account and User identify the key's owner; the JWT names them upper
	// case, the account without a region suffix ("xy12345.eu-west-1" →
	// "XY12345").
	Account, User string
	// Key signs the JWTs (key-pair authentication; Snowpipe REST takes no
	// password).
	Key *rsa.PrivateKey
	// Pipe is the pipe's fully qualified name, DATABASE.SCHEMA.PIPE.
	Pipe string
	// BaseURL overrides https://<account>.snowflakecomputing.com, for
	// example to reach the emulator.
	BaseURL string
	// HTTPClient sends the requests. Default http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of a request answered 429 or 5xx (or
	// not answered), with exponential backoff from one second, capped at
	// 30 s, or the server's Retry-After. Default 5; negative means none.
	MaxRetries int
	// TokenLifetime is how long a JWT is valid (at most an hour).
	// Default 59 minutes; a token is reused until 1 minute before expiry.
	TokenLifetime time.Duration
	// Now and Sleep are the clock, for tests. Defaults: time.Now and a
	// timer that stops when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// SnowpipeOptions returns the Snowpipe configuration for pipe with c's
// account, user, key and address. c must use key-pair authentication.
func (c Config) SnowpipeOptions(pipe string) (SnowpipeOptions, error) {
	key, err := c.PrivateKeyRSA()
	if err != nil {
		return SnowpipeOptions{}, err
	}
	if key == nil {
		return SnowpipeOptions{}, &ConfigError{Problems: []string{"Snowpipe REST needs key-pair authentication"}}
	}
	sc := SnowpipeOptions{Account: c.Account, User: c.User, Key: key, Pipe: pipe}
	if c.Host != "" {
		proto := c.Protocol
		if proto == "" {
			proto = "https"
		}
		sc.BaseURL = proto + "://" + c.Host
		if c.Port != 0 {
			sc.BaseURL += ":" + strconv.Itoa(c.Port)
		}
	}
	return sc, nil
}

// Snowpipe is a client of the Snowpipe REST API: insertFiles, insertReport
// and loadHistoryScan, authenticated with key-pair JWTs. It is safe for
// concurrent use.
type Snowpipe struct {
	c        SnowpipeOptions
	base     string
	iss, sub string
	tok      chan cachedToken // a one-slot lock holding the current token
}

type cachedToken struct {
	jwt string
	exp time.Time
}

// NewSnowpipe returns a client for c, or an error wrapping ErrOptions.
func NewSnowpipe(c SnowpipeOptions) (*Snowpipe, error) {
	var p []string
	if c.Account == "" {
		p = append(p, "account is empty")
	}
	if c.User == "" {
		p = append(p, "user is empty")
	}
	if c.Key == nil {
		p = append(p, "no private key")
	}
	parts := strings.Split(c.Pipe, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		p = append(p, fmt.Sprintf("pipe %q is not DATABASE.SCHEMA.PIPE", c.Pipe))
	}
	if c.TokenLifetime > time.Hour {
		p = append(p, "token lifetime exceeds an hour")
	}
	if len(p) > 0 {
		return nil, fmt.Errorf("%w: snowpipe: %s", ErrOptions, strings.Join(p, "; "))
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.TokenLifetime <= 0 {
		c.TokenLifetime = 59 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
	fp, err := keyFingerprint(&c.Key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: snowpipe: public key: %v", ErrOptions, err)
	}
	acct := JWTAccount(c.Account)
	s := &Snowpipe{c: c, base: strings.TrimSuffix(c.BaseURL, "/"), tok: make(chan cachedToken, 1)}
	if s.base == "" {
		s.base = "https://" + strings.ToLower(c.Account) + ".snowflakecomputing.com"
	}
	s.sub = acct + "." + strings.ToUpper(c.User)
	s.iss = s.sub + "." + fp
	s.tok <- cachedToken{}
	return s, nil
}

// JWTAccount returns the account as a key-pair JWT names it: upper case,
// without the region and cloud of an account locator
// ("xy12345.eu-west-1.aws" → "XY12345").
func JWTAccount(account string) string {
	a, _, _ := strings.Cut(account, ".")
	return strings.ToUpper(a)
}

// keyFingerprint is Snowflake's RSA_PUBLIC_KEY_FP: "SHA256:" and the base64
// SHA-256 of the PKIX DER public key.
func keyFingerprint(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:]), nil
}

// Issuer returns the JWT issuer, ACCOUNT.USER.SHA256:<fingerprint>.
func (s *Snowpipe) Issuer() string { return s.iss }

// token returns a valid JWT, signing a new one when the cached one is
// within a minute of expiry.
func (s *Snowpipe) token() (string, error) {
	t := <-s.tok
	defer func() { s.tok <- t }()
	now := s.c.Now()
	if t.jwt != "" && now.Before(t.exp.Add(-time.Minute)) {
		return t.jwt, nil
	}
	exp := now.Add(s.c.TokenLifetime)
	jwt, err := signJWT(s.c.Key, s.iss, s.sub, now, exp)
	if err != nil {
		return "", err
	}
	t = cachedToken{jwt: jwt, exp: exp}
	return jwt, nil
}

// signJWT makes an RS256 JWT with Snowflake's key-pair claims.
func signJWT(key *rsa.PrivateKey, iss, sub string, iat, exp time.Time) (string, error) {
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{"iss": iss, "sub": sub, "iat": iat.Unix(), "exp": exp.Unix()})
	msg := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("load: snowpipe: signing the JWT: %w", err)
	}
	return msg + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// SnowpipeError is a Snowpipe REST request that failed: the HTTP status
// and Snowflake's code and message.
type SnowpipeError struct {
	Op      string // "insertFiles", "insertReport", "loadHistoryScan"
	Status  int
	Code    string
	Message string
}

func (e *SnowpipeError) Error() string {
	return fmt.Sprintf("load: snowpipe %s: HTTP %d, code %s: %s", e.Op, e.Status, e.Code, e.Message)
}

// Unwrap returns ErrSnowpipe.
func (e *SnowpipeError) Unwrap() error { return ErrSnowpipe }

// ErrSnowpipe is wrapped by every *SnowpipeError.
var ErrSnowpipe = errors.New("load: snowpipe request failed")

// Retryable reports whether the request may succeed if sent again (429 and
// 5xx).
func (e *SnowpipeError) Retryable() bool { return e.Status == 429 || e.Status >= 500 }

// PipeFile is one file in a Snowpipe report.
type PipeFile struct {
	Path                   string `json:"path"`
	Status                 string `json:"status"` // LOADED, LOAD_FAILED, PARTIALLY_LOADED, LOAD_IN_PROGRESS
	RowsParsed             int64  `json:"rowsParsed"`
	RowsInserted           int64  `json:"rowsInserted"`
	ErrorsSeen             int64  `json:"errorsSeen"`
	ErrorLimit             int64  `json:"errorLimit"`
	FirstError             string `json:"firstError"`
	FirstErrorLineNum      int64  `json:"firstErrorLineNum"`
	FirstErrorCharacterPos int64  `json:"firstErrorCharacterPos"`
	FirstErrorColumnName   string `json:"firstErrorColumnName"`
	Complete               bool   `json:"complete"`
	LastInsertTime         string `json:"lastInsertTime"`
}

// PipeReport is an insertReport or loadHistoryScan answer.
type PipeReport struct {
	Pipe           string     `json:"pipe"`
	CompleteResult bool       `json:"completeResult"`
	NextBeginMark  string     `json:"nextBeginMark"`
	Files          []PipeFile `json:"files"`
}

// StagedPath is a file to ingest: its path relative to the pipe's stage
// location, and optionally its size.
type StagedPath struct {
	Path string `json:"path"`
	Size int64  `json:"size,omitempty"`
}

// InsertFiles asks the pipe to load files (at most 5000 per call) and
// returns the request id. Snowpipe only queues them: WaitLoaded reports
// what it did.
func (s *Snowpipe) InsertFiles(ctx context.Context, files []StagedPath) (string, error) {
	if len(files) == 0 || len(files) > 5000 {
		return "", fmt.Errorf("%w: snowpipe insertFiles takes 1 to 5000 files, not %d", ErrOptions, len(files))
	}
	body, _ := json.Marshal(map[string]any{"files": files})
	var out struct {
		RequestID    string `json:"requestId"`
		ResponseCode string `json:"responseCode"`
	}
	id, err := s.call(ctx, "insertFiles", http.MethodPost, nil, body, &out)
	if err != nil {
		return id, err
	}
	if out.ResponseCode != "SUCCESS" {
		return id, &SnowpipeError{Op: "insertFiles", Status: 200, Code: out.ResponseCode, Message: "response code is not SUCCESS"}
	}
	return id, nil
}

// InsertReport returns the pipe's load events since beginMark ("" for all
// it keeps: Snowflake keeps the last 10 000 events for 10 minutes).
func (s *Snowpipe) InsertReport(ctx context.Context, beginMark string) (PipeReport, error) {
	q := url.Values{}
	if beginMark != "" {
		q.Set("beginMark", beginMark)
	}
	var r PipeReport
	_, err := s.call(ctx, "insertReport", http.MethodGet, q, nil, &r)
	return r, err
}

// LoadHistoryScan returns the pipe's loads in [start, end) (end zero: until
// now). Snowflake rate-limits it; prefer InsertReport for recent loads.
func (s *Snowpipe) LoadHistoryScan(ctx context.Context, start, end time.Time) (PipeReport, error) {
	q := url.Values{}
	q.Set("startTimeInclusive", start.UTC().Format(time.RFC3339))
	if !end.IsZero() {
		q.Set("endTimeExclusive", end.UTC().Format(time.RFC3339))
	}
	var r PipeReport
	_, err := s.call(ctx, "loadHistoryScan", http.MethodGet, q, nil, &r)
	return r, err
}

// PipeLoadError reports files Snowpipe did not load whole. It wraps
// ErrIncomplete.
type PipeLoadError struct {
	Files []PipeFile
}

func (e *PipeLoadError) Error() string {
	var b strings.Builder
	b.WriteString("load: snowpipe did not load ")
	for i, f := range e.Files {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s, %d of %d rows, first error at line %d: %s)", f.Path, f.Status, f.RowsInserted, f.RowsParsed, f.FirstErrorLineNum, f.FirstError)
	}
	return b.String()
}

// Unwrap returns ErrIncomplete.
func (e *PipeLoadError) Unwrap() error { return ErrIncomplete }

// WaitLoaded polls InsertReport every poll interval (default 10 s) until
// every path has a complete entry, and returns them in the order of paths.
// It fails with a *PipeLoadError naming the files that were not loaded
// whole (any status but LOADED), and with ctx's error if time runs out:
// bound it with a deadline, since Snowpipe forgets reports after 10
// minutes.
func (s *Snowpipe) WaitLoaded(ctx context.Context, paths []string, poll time.Duration) ([]PipeFile, error) {
	if poll <= 0 {
		poll = 10 * time.Second
	}
	want := make(map[string]bool, len(paths))
	for _, p := range paths {
		want[strings.TrimLeft(p, "/")] = true
	}
	got := make(map[string]PipeFile, len(paths))
	mark := ""
	for {
		r, err := s.InsertReport(ctx, mark)
		if err != nil {
			return nil, err
		}
		if r.NextBeginMark != "" {
			mark = r.NextBeginMark
		}
		for _, f := range r.Files {
			p := strings.TrimLeft(f.Path, "/")
			if want[p] && f.Complete {
				got[p] = f
			}
		}
		if len(got) == len(want) {
			break
		}
		if err := s.c.Sleep(ctx, poll); err != nil {
			return nil, fmt.Errorf("load: snowpipe: waiting for %d of %d files: %w", len(want)-len(got), len(want), err)
		}
	}
	out := make([]PipeFile, 0, len(paths))
	var bad []PipeFile
	for _, p := range paths {
		f := got[strings.TrimLeft(p, "/")]
		out = append(out, f)
		if f.Status != "LOADED" {
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		return out, &PipeLoadError{Files: bad}
	}
	return out, nil
}

// call sends one request (with retries on 429 and 5xx) and decodes the
// answer into out. It returns the request id.
func (s *Snowpipe) call(ctx context.Context, op, method string, q url.Values, body []byte, out any) (string, error) {
	if q == nil {
		q = url.Values{}
	}
	id := newRequestID()
	q.Set("requestId", id)
	u := s.base + "/v1/data/pipes/" + url.PathEscape(s.c.Pipe) + "/" + op + "?" + q.Encode()
	delay := time.Second
	for attempt := 0; ; attempt++ {
		tok, err := s.token()
		if err != nil {
			return id, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return id, fmt.Errorf("load: snowpipe %s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := s.c.HTTPClient.Do(req)
		var serr error
		wait := delay
		if err != nil {
			if ctx.Err() != nil {
				return id, fmt.Errorf("load: snowpipe %s: %w", op, ctx.Err())
			}
			serr = fmt.Errorf("load: snowpipe %s: %w", op, err)
		} else {
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			switch {
			case rerr != nil:
				serr = fmt.Errorf("load: snowpipe %s: reading the answer: %w", op, rerr)
			case resp.StatusCode == http.StatusOK:
				if err := json.Unmarshal(data, out); err != nil {
					return id, fmt.Errorf("load: snowpipe %s: decoding the answer: %w", op, err)
				}
				return id, nil
			default:
				var e struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				_ = json.Unmarshal(data, &e)
				pe := &SnowpipeError{Op: op, Status: resp.StatusCode, Code: e.Code, Message: e.Message}
				if !pe.Retryable() {
					return id, pe
				}
				serr = pe
				if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && ra > 0 {
					wait = time.Duration(ra) * time.Second
				}
			}
		}
		if attempt >= s.c.MaxRetries {
			return id, serr
		}
		if err := s.c.Sleep(ctx, wait); err != nil {
			return id, errors.Join(serr, err)
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// newRequestID returns a random UUID (version 4).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
