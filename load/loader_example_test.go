package load_test

import (
	"errors"
	"fmt"

	"github.com/flatpipe/flatpipe/load"
	"github.com/snowflakedb/gosnowflake"
)

// An unquoted table name is normalised the way Snowflake resolves it; a
// quoted one is kept.
func ExampleTableName() {
	for _, n := range []string{"events", "click-stream.v2", `"events"`} {
		name, _ := load.TableName(n)
		fmt.Println(name)
	}
	// Output:
	// EVENTS
	// CLICK_STREAM_V2
	// events
}

// A Config never prints its secrets, and Validate lists every problem.
func ExampleConfig() {
	c := load.Config{Account: "myorg-acct", User: "loader", Password: "hunter2", Role: "LOADER", Database: "RAW"}
	fmt.Println(c)
	fmt.Println(load.Config{Protocol: "ftp"}.Validate())
	// Output:
	// https://loader@myorg-acct.snowflakecomputing.com/RAW?account=myorg-acct&password=redacted&role=LOADER
	// load: invalid Snowflake configuration: account is empty; user is empty; no authentication: set a password, a private key or a private key path; protocol "ftp" is neither http nor https
}

// ErrorClassifier sorts driver errors for a retry policy.
func ExampleErrorClassifier() {
	var c load.ErrorClassifier
	expired := &gosnowflake.SnowflakeError{Number: 390112, SQLState: "08001"}
	badData := &gosnowflake.SnowflakeError{Number: 100038, SQLState: "22018"}
	fmt.Println(c.Retryable(expired), c.SessionExpired(expired))
	fmt.Println(c.Retryable(badData))
	fmt.Println(c.Retryable(errors.New("timeout after 60s and 7 attempts. HTTP Status: 429. Hanging?")), c.Throttled(errors.New("timeout after 60s and 7 attempts. HTTP Status: 429. Hanging?")))
	// Output:
	// true true
	// false
	// true true
}
