package snowflaketest_test

import (
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// TestExtStatementPrefixes runs every prefix (by words) of the statements
// of streams, tasks, file formats, integrations, external functions and
// COPY transformations: each either works or fails with a Snowflake error,
// never with the emulator's internal error (a panic).
func TestExtStatementPrefixes(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE DATABASE pdb")
	mustExec(t, db, "CREATE TABLE src (id INT, v VARIANT)")
	stmts := []string{
		"CREATE OR REPLACE FILE FORMAT ff TYPE = JSON STRIP_OUTER_ARRAY = TRUE NULL_IF = ('', 'x') COMMENT = 'c'",
		"COPY INTO src (v, id) FROM (SELECT $1, METADATA$FILE_ROW_NUMBER FROM @%src t) FILE_FORMAT = (FORMAT_NAME = 'ff') ON_ERROR = CONTINUE",
		"CREATE OR REPLACE STREAM st ON TABLE src APPEND_ONLY = TRUE SHOW_INITIAL_ROWS = FALSE COMMENT = 'c'",
		"SELECT id, METADATA$ACTION, SYSTEM$STREAM_HAS_DATA('st') FROM st WHERE METADATA$ISUPDATE = FALSE",
		"CREATE OR REPLACE TASK tk WAREHOUSE = w SCHEDULE = 'USING CRON */5 1-3 * JAN-MAR MON UTC' WHEN SYSTEM$STREAM_HAS_DATA('st') AS INSERT INTO src SELECT id, v FROM st",
		"SELECT * FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => 'TK', RESULT_LIMIT => 5, ERROR_ONLY => TRUE))",
		"CREATE OR REPLACE API INTEGRATION ai API_PROVIDER = aws_api_gateway API_AWS_ROLE_ARN = 'arn:aws:iam::1:role/r' API_ALLOWED_PREFIXES = ('https://x.example.com/') API_BLOCKED_PREFIXES = ('https://x.example.com/no') ENABLED = TRUE",
		"CREATE OR REPLACE SECURE EXTERNAL FUNCTION ef(a VARCHAR, b NUMBER(10, 2)) RETURNS NUMBER(10, 2) NOT NULL RETURNS NULL ON NULL INPUT IMMUTABLE COMMENT = 'c' API_INTEGRATION = ai HEADERS = ('k' = 'v') CONTEXT_HEADERS = (CURRENT_DATE) MAX_BATCH_ROWS = 5 COMPRESSION = GZIP AS 'https://x.example.com/f'",
		"ALTER TASK IF EXISTS tk RESUME",
		"EXECUTE TASK tk",
		"SHOW TERSE STREAMS LIKE 'S%' IN SCHEMA pdb.public",
		"DESC EXTERNAL FUNCTION ef",
		"DROP FUNCTION IF EXISTS ef(VARCHAR, NUMBER)",
	}
	for _, full := range stmts {
		words := strings.Fields(full)
		for n := 1; n <= len(words); n++ {
			q := strings.Join(words[:n], " ")
			_, err := db.Exec(q)
			if err != nil && strings.Contains(err.Error(), "Internal error") {
				t.Errorf("%q: %v", q, err)
			}
		}
	}
}
