package loadtest_test

import (
	"os"
	"testing"

	"github.com/snowflakedb/gosnowflake"
)

func TestMain(m *testing.M) {
	// The driver logs every statement error at level error; the tests
	// check errors themselves.
	_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	if crashChild() {
		return
	}
	os.Exit(m.Run())
}
