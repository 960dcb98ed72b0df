package stagefile

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDriverDependency keeps the writers light: a program that only
// writes staged files (the flatten command with -o, a Lambda writing for
// Snowpipe) must not link database/sql, gosnowflake (and with it Arrow and
// the Azure SDK) or the AWS SDK; those belong to package load. It asks the
// go command for every package this one needs, tests included.
func TestNoDriverDependency(t *testing.T) {
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
	// database/sql/driver (a few interfaces) is fine: parquet-go's UUID and
	// geometry types implement driver.Valuer.
	prefixes := []string{"github.com/snowflakedb/", "github.com/aws/", "github.com/apache/arrow", "github.com/Azure/"}
	for _, p := range deps {
		bad := p == "database/sql" || p == "github.com/flatpipe/flatpipe/load"
		for _, f := range prefixes {
			bad = bad || strings.HasPrefix(p, f)
		}
		if bad {
			t.Errorf("stagefile depends on %s", p)
		}
	}
}
