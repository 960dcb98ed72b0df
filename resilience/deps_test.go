package resilience

import (
	"context"
	"go/build"
	"strings"
	"testing"
)

// TestLeafPackage keeps resilience a leaf: no other flatpipe package (but
// the module's internal helpers, themselves standard library only) and no
// AWS or Snowflake SDK, in code or tests.
func TestLeafPackage(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append(append([]string{}, pkg.Imports...), pkg.TestImports...), pkg.XTestImports...)
	for _, imp := range all {
		switch {
		case imp == "github.com/flatpipe/flatpipe/resilience",
			strings.HasPrefix(imp, "github.com/flatpipe/flatpipe/internal/"):
		case strings.HasPrefix(imp, "github.com/flatpipe/"),
			strings.HasPrefix(imp, "github.com/aws/"),
			strings.HasPrefix(imp, "github.com/snowflakedb/"):
			t.Errorf("resilience imports %s", imp)
		}
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") &&
			!strings.HasPrefix(imp, "github.com/flatpipe/flatpipe/internal/") {
			t.Errorf("resilience imports the non-standard package %s", imp)
		}
	}
}

// The seam the library packages use: every policy has the same Do.
type doer interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

var (
	_ doer = (*Retry)(nil)
	_ doer = (*Breaker)(nil)
	_ doer = (*Bulkhead)(nil)
	_ doer = (*Policy)(nil)

	_ Metrics         = (*EMF)(nil)
	_ Metrics         = (*SlogMetrics)(nil)
	_ Metrics         = NopMetrics{}
	_ DeadLetterSink  = (*FileDeadLetterSink)(nil)
	_ DeadLetterSink  = (*S3DeadLetterSink)(nil)
	_ DeadLetterSink  = (*MonitoredSink)(nil)
	_ CheckpointStore = (*FileCheckpointStore)(nil)
	_ CheckpointStore = (*S3CheckpointStore)(nil)
	_ ObjectStore     = (*memObjectStore)(nil)
)
