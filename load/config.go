package load

import (
	"crypto/rsa"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"
)

// ErrConfig is wrapped by every *ConfigError.
var ErrConfig = errors.New("load: invalid Snowflake configuration")

// ErrPassphrase reports an encrypted private key that the passphrase does not
// open (a wrong passphrase, or a corrupt key).
var ErrPassphrase = errors.New("load: private key: wrong passphrase or corrupt key")

// Config says how to reach Snowflake. Its fields are the ones Snowflake's own
// tools take; ConfigFromEnv fills it from their environment variables.
// Exactly one of Password, PrivateKey, PrivateKeyPath and Key authenticates.
//
// A Config never shows its secrets: String, GoString and every error leave out
// the password, the key and the passphrase. A Config is a plain value, safe
// for concurrent use while nobody modifies it.
type Config struct {
	// Account is the account identifier ("myorg-myaccount" or the locator
	// "xy12345.eu-west-1"). Required.
	Account string
	// User is the login name. Required.
	User string
	// Password authenticates with a password.
	Password string
	// PrivateKeyPath is a PKCS#8 PEM file holding the key-pair
	// authentication key, PrivateKey the PEM text itself. An encrypted
	// key ("ENCRYPTED PRIVATE KEY": PBES2 with PBKDF2 and AES-CBC or
	// DES-EDE3-CBC, as openssl pkcs8 -topk8 -v2 writes) needs
	// PrivateKeyPassphrase.
	PrivateKeyPath       string
	PrivateKey           string
	PrivateKeyPassphrase string
	// Key is an already parsed key-pair key, for callers that hold one.
	Key *rsa.PrivateKey
	// Role, Warehouse, Database and Schema are the session's defaults.
	Role, Warehouse, Database, Schema string
	// QueryTag tags every statement of the session (QUERY_TAG).
	QueryTag string
	// LoginTimeout bounds the login. Zero means the driver's default (300 s).
	LoginTimeout time.Duration
	// Host, Port and Protocol override the address derived from Account:
	// set them to reach the emulator (Protocol "http", Host "127.0.0.1").
	// Protocol is "https" (default) or "http".
	Host     string
	Port     int
	Protocol string
	// MaxRetryCount bounds the driver's own retries of a request (HTTP 5xx,
	// 429, 408). Zero means the driver's default (7).
	MaxRetryCount int
	// NoKeepAlive turns off the session heartbeat. By default sessions are
	// kept alive (CLIENT_SESSION_KEEP_ALIVE), so a long job's idle
	// connections do not expire after 4 hours (390114).
	NoKeepAlive bool
	// DisableTelemetry stops the driver's telemetry posts.
	DisableTelemetry bool
}

// ConfigError lists every problem of a Config. It wraps ErrConfig.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "load: invalid Snowflake configuration: " + strings.Join(e.Problems, "; ")
}

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// ConfigFromEnv returns a Config filled from the environment variables
// Snowflake's tools use: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER,
// SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_PRIVATE_KEY (PEM
// text), SNOWFLAKE_PRIVATE_KEY_PASSPHRASE, SNOWFLAKE_ROLE,
// SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, SNOWFLAKE_HOST,
// SNOWFLAKE_PORT and SNOWFLAKE_PROTOCOL. It fails only on a malformed
// SNOWFLAKE_PORT; call Validate to check the rest.
func ConfigFromEnv() (Config, error) {
	c := Config{
		Account:              os.Getenv("SNOWFLAKE_ACCOUNT"),
		User:                 os.Getenv("SNOWFLAKE_USER"),
		Password:             os.Getenv("SNOWFLAKE_PASSWORD"),
		PrivateKeyPath:       os.Getenv("SNOWFLAKE_PRIVATE_KEY_PATH"),
		PrivateKey:           os.Getenv("SNOWFLAKE_PRIVATE_KEY"),
		PrivateKeyPassphrase: os.Getenv("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"),
		Role:                 os.Getenv("SNOWFLAKE_ROLE"),
		Warehouse:            os.Getenv("SNOWFLAKE_WAREHOUSE"),
		Database:             os.Getenv("SNOWFLAKE_DATABASE"),
		Schema:               os.Getenv("SNOWFLAKE_SCHEMA"),
		Host:                 os.Getenv("SNOWFLAKE_HOST"),
		Protocol:             os.Getenv("SNOWFLAKE_PROTOCOL"),
	}
	if p := os.Getenv("SNOWFLAKE_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return c, &ConfigError{Problems: []string{fmt.Sprintf("SNOWFLAKE_PORT %q is not a port number", p)}}
		}
		c.Port = n
	}
	return c, nil
}

// Validate checks c without reading the key file and returns a *ConfigError
// listing every problem, or nil.
func (c Config) Validate() error {
	var p []string
	if c.Account == "" {
		p = append(p, "account is empty")
	}
	if c.User == "" {
		p = append(p, "user is empty")
	}
	auth := 0
	for _, set := range []bool{c.Password != "", c.PrivateKey != "", c.PrivateKeyPath != "", c.Key != nil} {
		if set {
			auth++
		}
	}
	switch {
	case auth == 0:
		p = append(p, "no authentication: set a password, a private key or a private key path")
	case auth > 1:
		p = append(p, "more than one authentication: set only one of password, private key, private key path")
	}
	if c.PrivateKeyPassphrase != "" && c.PrivateKey == "" && c.PrivateKeyPath == "" {
		p = append(p, "private key passphrase given without a private key")
	}
	if c.Protocol != "" && c.Protocol != "http" && c.Protocol != "https" {
		p = append(p, fmt.Sprintf("protocol %q is neither http nor https", c.Protocol))
	}
	if c.Port < 0 || c.Port > 65535 {
		p = append(p, fmt.Sprintf("port %d is out of range", c.Port))
	}
	if c.LoginTimeout < 0 {
		p = append(p, "login timeout is negative")
	}
	if c.MaxRetryCount < 0 {
		p = append(p, "max retry count is negative")
	}
	if len(p) > 0 {
		return &ConfigError{Problems: p}
	}
	return nil
}

// String describes c in the form of a connection URL without any secret:
// the password, the key and the passphrase show as "redacted".
func (c Config) String() string {
	var b strings.Builder
	proto := c.Protocol
	if proto == "" {
		proto = "https"
	}
	host := c.Host
	if host == "" {
		host = c.Account + ".snowflakecomputing.com"
	}
	if c.Port != 0 {
		host += ":" + strconv.Itoa(c.Port)
	}
	b.WriteString(proto + "://" + url.PathEscape(c.User) + "@" + host)
	if c.Database != "" {
		b.WriteString("/" + url.PathEscape(c.Database))
		if c.Schema != "" {
			b.WriteString("/" + url.PathEscape(c.Schema))
		}
	}
	q := url.Values{}
	q.Set("account", c.Account)
	for k, v := range map[string]string{"role": c.Role, "warehouse": c.Warehouse, "query_tag": c.QueryTag, "private_key_path": c.PrivateKeyPath} {
		if v != "" {
			q.Set(k, v)
		}
	}
	switch {
	case c.Password != "":
		q.Set("password", "redacted")
	case c.PrivateKey != "", c.Key != nil:
		q.Set("private_key", "redacted")
	}
	if c.PrivateKeyPassphrase != "" {
		q.Set("private_key_passphrase", "redacted")
	}
	b.WriteString("?" + q.Encode())
	return b.String()
}

// GoString is String, so %#v shows no secret either.
func (c Config) GoString() string { return "load.Config(" + c.String() + ")" }

// PrivateKeyRSA returns the key-pair key: Key, or PrivateKey or the file at
// PrivateKeyPath parsed and, if encrypted, decrypted with the passphrase.
// It returns nil and no error when c authenticates by password.
func (c Config) PrivateKeyRSA() (*rsa.PrivateKey, error) {
	switch {
	case c.Key != nil:
		return c.Key, nil
	case c.PrivateKey != "":
		return parsePrivateKey([]byte(c.PrivateKey), c.PrivateKeyPassphrase)
	case c.PrivateKeyPath != "":
		pem, err := os.ReadFile(c.PrivateKeyPath)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%w: file %s: %w", ErrPrivateKey, c.PrivateKeyPath, err)
		}
		k, err := parsePrivateKey(pem, c.PrivateKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, c.PrivateKeyPath)
		}
		return k, nil
	}
	return nil, nil
}

// DriverConfig returns the gosnowflake.Config for c, after Validate and
// reading the key. The result holds the secrets: do not print it.
func (c Config) DriverConfig() (gosnowflake.Config, error) {
	if err := c.Validate(); err != nil {
		return gosnowflake.Config{}, err
	}
	key, err := c.PrivateKeyRSA()
	if err != nil {
		return gosnowflake.Config{}, err
	}
	dc := gosnowflake.Config{
		Account:   c.Account,
		User:      c.User,
		Password:  c.Password,
		Role:      c.Role,
		Warehouse: c.Warehouse,
		Database:  c.Database,
		Schema:    c.Schema,
		//lint:ignore SA1019 the driver's only login timeout; users set it
		LoginTimeout:  c.LoginTimeout,
		Host:          c.Host,
		Port:          c.Port,
		Protocol:      c.Protocol,
		MaxRetryCount: c.MaxRetryCount,
		//lint:ignore SA1019 no session parameter replaces it in v1.19.1
		DisableTelemetry: c.DisableTelemetry,
		Params:           map[string]*string{},
	}
	if key != nil {
		dc.Authenticator = gosnowflake.AuthTypeJwt
		dc.PrivateKey = key
	}
	if !c.NoKeepAlive {
		v := "true"
		dc.Params["client_session_keep_alive"] = &v
	}
	if c.QueryTag != "" {
		v := c.QueryTag
		dc.Params["query_tag"] = &v
	}
	return dc, nil
}

// Connector returns a database/sql connector through gosnowflake for c.
func (c Config) Connector() (driver.Connector, error) {
	dc, err := c.DriverConfig()
	if err != nil {
		return nil, err
	}
	return gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, dc), nil
}

// OpenDB returns a *sql.DB for c. It does not connect; the first statement
// (or PingContext) logs in.
func (c Config) OpenDB() (*sql.DB, error) {
	conn, err := c.Connector()
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}
