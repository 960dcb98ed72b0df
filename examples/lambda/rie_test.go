package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// rieVersion is the AWS Lambda Runtime Interface Emulator the tests run the
// function under: the version the package list holds.
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// buildTags are the tags of the bootstrap binary (README: build command).
const buildTags = "lambda.norpc,minicore_disabled"

var binaries struct {
	once      sync.Once
	dir       string
	bootstrap string
	rie       string
	err       error
	rieErr    error
}

// buildBinaries builds the function's bootstrap binary as the README says
// (CGO_ENABLED=0, -tags lambda.norpc,minicore_disabled) and the emulator's
// aws-lambda-rie command, once per test binary, into a temporary directory.
// A bootstrap that does not build fails the test; an emulator that cannot
// be built (no module cache and no proxy) skips it, saying why.
func buildBinaries(t testing.TB) (bootstrap, rie string) {
	t.Helper()
	b := &binaries
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "flatpipe-lambda-")
		if b.err != nil {
			return
		}
		b.bootstrap = filepath.Join(b.dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", buildTags, "-trimpath", "-ldflags=-s -w", "-o", b.bootstrap, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building bootstrap: %v\n%s", err, out)
			return
		}
		// The emulator is built in a module of its own, so that its
		// dependencies stay out of examples/go.mod.
		mod := filepath.Join(b.dir, "rie")
		if err := os.Mkdir(mod, 0o755); err != nil {
			b.rieErr = err
			return
		}
		goMod := "module rie\n\ngo 1.26.6\n\nrequire github.com/aws/aws-lambda-runtime-interface-emulator " + rieVersion + "\n"
		if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(goMod), 0o644); err != nil {
			b.rieErr = err
			return
		}
		b.rie = filepath.Join(b.dir, "aws-lambda-rie")
		env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		for _, args := range [][]string{
			{"mod", "download", "github.com/aws/aws-lambda-runtime-interface-emulator"},
			{"get", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@" + rieVersion},
			{"build", "-o", b.rie, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"},
		} {
			cmd := exec.Command("go", args...)
			cmd.Dir, cmd.Env = mod, env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.rieErr = fmt.Errorf("go %v: %v\n%s", args, err, out)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	if b.rieErr != nil {
		t.Skipf("the AWS Lambda Runtime Interface Emulator %s cannot be built here (no module cache and no module proxy?): %v", rieVersion, b.rieErr)
	}
	return b.bootstrap, b.rie
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rieProc is the emulator running the bootstrap binary.
type rieProc struct {
	url string
	out *syncBuffer
	pid int
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startRIE runs aws-lambda-rie with the bootstrap binary and exactly the
// environment env (plus PATH and HOME): the function reads nothing else.
func startRIE(t testing.TB, env map[string]string) *rieProc {
	t.Helper()
	bootstrap, rie := buildBinaries(t)
	addr, api := freePort(t), freePort(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bootstrap)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting aws-lambda-rie: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", out.String())
		}
	})
	// Wait until the emulator listens (a readiness poll, not a timing
	// assertion).
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 500 {
			t.Fatalf("aws-lambda-rie does not listen on %s:\n%s", addr, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &rieProc{url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: out, pid: cmd.Process.Pid}
}

// invoke posts payload to the emulator's invoke API and returns the
// function's answer (an error answer is a 200 with errorType/errorMessage).
func (r *rieProc) invoke(t testing.TB, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, r.out.String())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: HTTP %d %v: %s\n%s", resp.StatusCode, err, body, r.out.String())
	}
	return body
}

var initReport = regexp.MustCompile(`INIT REPORT.*?[Dd]uration(?:Ms)?:? ?([0-9.]+)`)
var initDone = regexp.MustCompile(`"msg":"init done","ms":([0-9.]+)`)

// initTimes returns the init time the emulator reports and the one the
// function logs, in milliseconds (0 when absent).
func (r *rieProc) initTimes() (emulator, function float64) {
	out := r.out.String()
	if m := initReport.FindStringSubmatch(out); m != nil {
		emulator, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := initDone.FindStringSubmatch(out); m != nil {
		function, _ = strconv.ParseFloat(m[1], 64)
	}
	return emulator, function
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}
