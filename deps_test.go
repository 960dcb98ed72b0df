package flatpipe_test

import (
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/flatpipe/flatpipe"

// allowed is STYLE.md's import table: which packages of this module each
// library package may import. internal/enumtext (the text form of enums,
// standard library only) may be imported by every package; internal/jsonstr
// (the JSON string writer) and internal/transport (the transport-error rule
// of retries) by those that need them. Internal packages import no other
// package of this module.
var allowed = map[string][]string{
	"flatten":         {"internal/enumtext"},
	"schema":          {"flatten", "internal/enumtext", "internal/jsonstr"},
	"source":          {"internal/enumtext"},
	"source/s3source": {"source", "internal/transport"},
	"source/s3event":  {"source"},
	// s3test: an in-process S3 server for tests (links gofakes3); no library
	// package imports it.
	"source/s3source/s3test": {},
	"load":                   {"flatten", "schema", "load/stagefile", "internal/enumtext"},
	// stagefile: the staged-file writers, without the Snowflake driver.
	"load/stagefile":     {"flatten", "schema", "internal/enumtext", "internal/jsonstr"},
	"resilience":         {"internal/enumtext", "internal/transport"},
	"internal/enumtext":  {},
	"internal/jsonstr":   {},
	"internal/transport": {},
}

// pure packages do no I/O: they may not import these.
var impure = []string{"os", "os/exec", "net", "net/http", "io/fs", "syscall", "database/sql"}

func TestImportDirections(t *testing.T) {
	seen := 0
	for pkg, ok := range allowed {
		dir := filepath.Join(".", pkg)
		if _, err := os.Stat(dir); err != nil {
			continue // not written yet
		}
		p, err := build.ImportDir(dir, 0)
		if _, noGo := err.(*build.NoGoError); noGo {
			continue // a folder that holds only nested modules so far
		}
		if err != nil {
			t.Errorf("%s: %v", pkg, err)
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				if (pkg == "flatten" || pkg == "schema") && slices.Contains(impure, imp) {
					t.Errorf("%s is pure but imports %s", pkg, imp)
				}
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if !slices.Contains(ok, dep) {
				t.Errorf("%s imports %s; STYLE.md allows only %v", pkg, dep, ok)
			}
		}
		// Test files may use more, but never turn the table around.
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			dep := strings.TrimPrefix(imp, module+"/")
			if dep != imp && dep != pkg && allowed[dep] != nil && slices.Contains(allowed[dep], pkg) {
				t.Errorf("%s tests import %s, which imports %s: a cycle in waiting", pkg, dep, pkg)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("only %d library packages found; run from the module root", seen)
	}
	// No catch-all packages.
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		switch e.Name() {
		case "util", "utils", "common", "types", "helpers":
			t.Errorf("package %q is a catch-all; STYLE.md forbids it", e.Name())
		}
	}
}

// TestNoInit keeps library packages free of init functions.
func TestNoInit(t *testing.T) {
	for pkg := range allowed {
		files, _ := filepath.Glob(filepath.Join(pkg, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "\nfunc init()") {
				t.Errorf("%s has an init function", f)
			}
		}
	}
}

// TestDependencyWeight keeps each library package's third-party
// dependencies to its job, so that importers pay only for what they use:
// framing links no AWS SDK, schema links no JSON Schema library, the
// staged-file writers link neither database/sql nor the Snowflake driver
// (with its Arrow and Azure SDK) nor the AWS SDK, resilience links nothing
// outside the standard library (but this module's internal packages, whose
// own dependencies are listed too). It asks the go command for
// every package each one needs.
func TestDependencyWeight(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	// Each entry is a package path prefix; one ending in "$" is a whole
	// package path.
	forbidden := map[string][]string{
		"flatten":    {"github.com/aws/", "github.com/santhosh-tekuri/", "go.yaml.in/"},
		"schema":     {"github.com/aws/", "github.com/santhosh-tekuri/"},
		"source":     {"github.com/aws/", "github.com/rclone/", module + "/source/"},
		"resilience": {"."}, // any module path: a dot in the first element
		// A program that only writes staged files (the flatten command with
		// -o, a Lambda writing for Snowpipe) must not link the driver, Arrow,
		// Azure or the AWS SDK. database/sql/driver (a few interfaces) is
		// fine: parquet-go's UUID and geometry types implement driver.Valuer.
		"load/stagefile": {"github.com/snowflakedb/", "github.com/aws/",
			"github.com/apache/arrow", "github.com/Azure/", "database/sql$", module + "/load$"},
	}
	// go mod tidy in an importer also loads the tests of the packages it
	// imports: their test-only dependencies are downloaded too.
	testForbidden := map[string][]string{
		"flatten":         {"github.com/rclone/"},
		"schema":          {"github.com/rclone/"},
		"source":          {"github.com/rclone/"},
		"source/s3source": {"github.com/rclone/"},
		"source/s3event":  {"github.com/rclone/"},
		// load's S3Sink tests live in load/s3sinktest for this reason.
		"load":           {"github.com/rclone/"},
		"load/stagefile": {"github.com/rclone/"},
	}
	for pkg, prefixes := range testForbidden {
		out, err := exec.Command(goCmd, "list", "-deps", "-test", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps -test ./%s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, p := range prefixes {
				if strings.HasPrefix(dep, p) {
					t.Errorf("%s's tests depend on %s: go mod tidy downloads it for every importer of %s", pkg, dep, pkg)
				}
			}
		}
	}
	for pkg, prefixes := range forbidden {
		out, err := exec.Command(goCmd, "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			first, _, _ := strings.Cut(dep, "/")
			for _, p := range prefixes {
				exact, isExact := strings.CutSuffix(p, "$")
				if p == "." && strings.Contains(first, ".") && !strings.HasPrefix(dep, module+"/"+pkg) &&
					!strings.HasPrefix(dep, module+"/internal/") ||
					isExact && dep == exact ||
					p != "." && !isExact && strings.HasPrefix(dep, p) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
