package resilience

import (
	"go/build"
	"strings"
	"testing"
)

// TestLeafPackage keeps resilience a leaf: no other flatpipe package and no
// AWS or Snowflake SDK, in code or tests.
func TestLeafPackage(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append(append([]string{}, pkg.Imports...), pkg.TestImports...), pkg.XTestImports...)
	for _, imp := range all {
		switch {
		case imp == "github.com/flatpipe/flatpipe/resilience":
		case strings.HasPrefix(imp, "github.com/flatpipe/"),
			strings.HasPrefix(imp, "github.com/aws/"),
			strings.HasPrefix(imp, "github.com/snowflakedb/"):
			t.Errorf("resilience imports %s", imp)
		}
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("resilience imports the non-standard package %s", imp)
		}
	}
}
