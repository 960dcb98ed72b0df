// Command snowflaketest serves the flatpipe Snowflake emulator (DuckDB
// behind the gosnowflake wire protocol) on a loopback address, for other
// programs and other languages' drivers.
//
//	snowflaketest -addr 127.0.0.1:8765 -db /tmp/sf.duckdb
//
// Connect with protocol=http, any account, and any user and password
// unless -user or -user-key is given, e.g. the gosnowflake DSN
// user:pass@127.0.0.1:8765/MY_DB/PUBLIC?account=emulator&protocol=http.
package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "snowflaketest:", err)
		os.Exit(1)
	}
}

// userFlags collects repeated -user NAME=PASSWORD flags.
type userFlags map[string]string

func (u userFlags) String() string { return fmt.Sprintf("%d users", len(u)) }

func (u userFlags) Set(v string) error {
	name, pw, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return errors.New("want NAME=PASSWORD")
	}
	u[strings.ToUpper(name)] = pw
	return nil
}

// keyFlags collects repeated -user-key NAME=PUBLIC_KEY.pem flags.
type keyFlags map[string]*rsa.PublicKey

func (k keyFlags) String() string { return fmt.Sprintf("%d keys", len(k)) }

func (k keyFlags) Set(v string) error {
	name, file, ok := strings.Cut(v, "=")
	if !ok || name == "" || file == "" {
		return errors.New("want NAME=PUBLIC_KEY.pem")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return fmt.Errorf("%s: no PEM \"PUBLIC KEY\" block", file)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%s: not an RSA public key", file)
	}
	k[strings.ToUpper(name)] = rk
	return nil
}

// run parses args, serves until ctx is done, and shuts down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("snowflaketest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8765", "host:port to listen on")
	dbPath := fs.String("db", "", "DuckDB file to persist to (in memory if empty)")
	stageDir := fs.String("stage-dir", "", "directory for internal stages (default: DB file + .stages, or a temporary directory)")
	putMode := fs.String("put", "presigned", "PUT mode: presigned (HTTP upload URL) or localfs (client writes the stage directory)")
	threshold := fs.Int("array-binding-threshold", 0, "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD sent at login (0: Snowflake's default 65280; negative: always inline)")
	verbose := fs.Bool("v", false, "log every request")
	memLimit := fs.String("memory-limit", "", "cap DuckDB's memory, e.g. 2GB (default 512MB; spills to disk beyond it)")
	s3Endpoint := fs.String("s3-endpoint", "", "S3 endpoint external stages read from (default: AWS); credentials for STORAGE_INTEGRATION stages come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	s3Region := fs.String("s3-region", "", "S3 region (default us-east-1)")
	users := userFlags{}
	fs.Var(users, "user", "NAME=PASSWORD of an accepted user (repeatable; any user is accepted if none is given)")
	keys := keyFlags{}
	fs.Var(keys, "user-key", "NAME=PUBLIC_KEY.pem registering a user's RSA public key for key-pair (JWT) logins (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := snowflaketest.Options{DBPath: *dbPath, StageDir: *stageDir, Users: users, UserKeys: keys, ArrayBindingThreshold: *threshold,
		MemoryLimit: *memLimit, S3: snowflaketest.S3Options{Endpoint: *s3Endpoint, Region: *s3Region,
			AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}}
	switch *putMode {
	case "presigned":
	case "localfs":
		opts.PutMode = snowflaketest.PutLocalFS
	default:
		return fmt.Errorf("-put %q: want presigned or localfs", *putMode)
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	emu, err := snowflaketest.New(opts)
	if err != nil {
		return err
	}
	defer emu.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "snowflaketest listening on http://%s (stages in %s)\n", ln.Addr(), emu.StageDir())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	return emu.Close()
}
