package main

import (
	"os"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/examples/internal/lambdaenv"
)

// TestREADMEVariables keeps README.md's variable table the one the function
// reads.
func TestREADMEVariables(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := lambdaenv.Markdown(vars()); !strings.Contains(string(b), want) {
		t.Errorf("README.md lacks the current variable table; put this in it:\n%s", want)
	}
}
