package source

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoAWSDependency keeps the framing package light: a program that only
// wants a Scanner must not link the AWS SDK (S3 lives in s3source, Lambda
// events in s3event). It asks the go command for every package this one
// needs, tests included.
func TestNoAWSDependency(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-test", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps -test: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/aws/") || strings.HasPrefix(p, "github.com/flatpipe/flatpipe/source/") {
			t.Errorf("source depends on %s", p)
		}
	}
}
