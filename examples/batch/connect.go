package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/snowflakedb/gosnowflake"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/resilience"
)

// connection is the destination and what the health checks need of it.
type connection struct {
	dest     destination
	db       *sql.DB // nil with -dry-run
	embedded bool
	table    string
}

// connect opens the destination: none with -dry-run, the embedded emulator
// without SNOWFLAKE_* settings, Snowflake otherwise. Snowflake calls go
// through a retry (classifying errors as package load does), the breaker,
// and a bulkhead of -uploads slots.
func (j *job) connect(ctx context.Context, stageDir string, breaker *resilience.Breaker) (*connection, error) {
	cfg := j.cfg
	c := &connection{table: tableName(cfg.Table)}
	retry, err := resilience.NewRetry(resilience.RetryConfig{MaxAttempts: 3, Classify: classifyLoad, OnRetry: func(e resilience.RetryEvent) {
		j.log.Warn("retrying a load", "attempt", e.Attempt, "delay", e.Delay, "error", e.Err)
	}})
	if err != nil {
		return nil, err
	}
	bulk, err := resilience.NewBulkhead(cfg.Uploads)
	if err != nil {
		return nil, err
	}
	policy := &resilience.Policy{Retry: retry, Breaker: breaker, Bulkhead: bulk, Recover: true}
	d := &sqlDest{cfg: cfg, table: c.table, stageDir: stageDir, policy: policy, hook: j.hook}
	c.dest = d
	switch {
	case cfg.DryRun:
		d.name = "dry run: files staged in " + stageDir
		return c, nil
	case !cfg.Snowflake.configured():
		opts := snowflaketest.Options{}
		if cfg.Checkpoint != "" && bucketOf(cfg.Checkpoint) == "" {
			// Keep the emulator's tables and load history with the
			// checkpoint, so that a rerun resumes consistently.
			if err := os.MkdirAll(cfg.Checkpoint, 0o755); err != nil {
				return nil, fmt.Errorf("batch: -checkpoint: %w", err)
			}
			opts.DBPath = filepath.Join(cfg.Checkpoint, "emulator.duckdb")
		}
		srv, err := snowflaketest.NewServer(opts)
		if err != nil {
			return nil, fmt.Errorf("batch: starting the embedded emulator: %w", err)
		}
		j.closers = append(j.closers, srv.Close)
		c.db = srv.OpenDB()
		j.closers = append(j.closers, c.db.Close)
		c.embedded = true
		d.name = "embedded Snowflake emulator at " + srv.URL
		if opts.DBPath != "" {
			d.name += " (database " + opts.DBPath + ")"
		}
	default:
		sc, err := driverConfig(cfg.Snowflake)
		if err != nil {
			return nil, err
		}
		c.db = sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, sc))
		j.closers = append(j.closers, c.db.Close)
		d.name = fmt.Sprintf("Snowflake account %s, database %s, schema %s", cfg.Snowflake.Account, cfg.Snowflake.Database, cfg.Snowflake.Schema)
	}
	d.db = c.db
	return c, nil
}

// driverConfig builds the driver's configuration. INTERIM: package load's
// Config (issue 13) replaces this, with encrypted keys and keep-alive.
func driverConfig(s SnowflakeConfig) (gosnowflake.Config, error) {
	c := gosnowflake.Config{Account: s.Account, User: s.User, Password: s.Password, Role: s.Role, Warehouse: s.Warehouse,
		Database: s.Database, Schema: s.Schema, Host: s.Host, Port: s.Port, Protocol: s.Protocol, Application: "flatpipe-batch"}
	pemText := []byte(s.PrivateKey)
	if s.PrivateKeyPath != "" {
		b, err := os.ReadFile(s.PrivateKeyPath)
		if err != nil {
			return c, fmt.Errorf("batch: snowflake.private_key_path: %w", err)
		}
		pemText = b
	}
	if len(pemText) > 0 {
		blk, _ := pem.Decode(pemText)
		if blk == nil {
			return c, errors.New("batch: the Snowflake private key is not PEM")
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return c, errors.New("batch: the Snowflake private key is not an unencrypted PKCS#8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return c, errors.New("batch: the Snowflake private key is not RSA")
		}
		c.PrivateKey, c.Authenticator, c.Password = rk, gosnowflake.AuthTypeJwt, ""
	}
	return c, nil
}

// classifyLoad decides which load errors are retried. INTERIM: package
// load's classifier replaces it.
func classifyLoad(err error) resilience.Decision {
	if d := resilience.ClassifyNetwork(err); d != resilience.NoOpinion {
		return d
	}
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) {
		switch se.Number {
		case 260007, 260008, 261000, 261001, 262000, 264003, 390111:
			return resilience.Retryable
		}
		return resilience.NotRetryable
	}
	return resilience.NoOpinion
}

//go:embed testdata/samples/*.ndjson.gz
var samples embed.FS

// extractSamples writes the embedded sample files to a directory of their
// own (the same one every run, so checkpoints match) and returns their
// paths.
func extractSamples() ([]string, error) {
	dir := filepath.Join(os.TempDir(), "flatpipe-batch-samples")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	err := fs.WalkDir(samples, "testdata/samples", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := samples.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, e.Name())
		if old, err := os.ReadFile(dst); err != nil || string(old) != string(b) {
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				return err
			}
		}
		paths = append(paths, dst)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("batch: extracting the samples: %w", err)
	}
	return paths, nil
}
