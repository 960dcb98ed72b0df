package main

import (
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table from the code")

const (
	tableStart = "<!-- env table: generated from the code (go test -run TestREADMETable -update) -->\n"
	tableEnd   = "<!-- end env table -->"
)

// TestREADMETable checks that README.md documents exactly the variables
// the function reads, with their defaults (-update rewrites it).
func TestREADMETable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, tableStart), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", tableStart, tableEnd)
	}
	want := lambdaenv.Markdown(vars())
	got := s[i+len(tableStart) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(s[:i+len(tableStart)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's table differs from the code's; run go test -run TestREADMETable -update\ngot:\n%s\nwant:\n%s", got, want)
}

// TestBootstrapDeps checks that the bootstrap binary, built with the
// README's tags, links neither the Snowflake emulator nor DuckDB nor cgo:
// only the tests use them.
func TestBootstrapDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-tags", buildTags, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, bad := range []string{"load/snowflaketest", "duckdb", "runtime/cgo", "net/rpc\n"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("the bootstrap binary depends on %s", bad)
		}
	}
	if !strings.Contains(string(out), "github.com/flatpipe/flatpipe/load\n") {
		t.Errorf("the bootstrap binary does not use package load")
	}
}
