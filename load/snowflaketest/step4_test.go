package snowflaketest_test

import (
	"fmt"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

func TestValidationMode(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE t (id INT, d DATE)")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "bad.csv", "1,2024-01-01\nx,2024-01-02\n3,2024-01-03\n4,notadate\n")+" @%t AUTO_COMPRESS=FALSE")
	mustExec(t, db, "PUT file://"+writeFile(t, dir, "good.csv", "7,2024-07-07\n8,2024-08-08\n9,2024-09-09\n")+" @%t AUTO_COMPRESS=FALSE")

	cols, rows := queryAll(t, db, "COPY INTO t FROM @%t VALIDATION_MODE = RETURN_ERRORS")
	if got, want := fmt.Sprint(cols), "[ERROR FILE LINE CHARACTER BYTE_OFFSET CATEGORY CODE SQL_STATE COLUMN_NAME ROW_NUMBER ROW_START_LINE REJECTED_RECORD]"; got != want {
		t.Errorf("RETURN_ERRORS columns = %s, want %s", got, want)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", r[0], r[1], r[2], r[3], r[6], r[8], r[9]))
	}
	want := []string{
		`Numeric value 'x' is not recognized|bad.csv|2|1|100038|"T"["ID":1]|2`,
		`Date 'notadate' is not recognized|bad.csv|4|3|100040|"T"["D":2]|4`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RETURN_ERRORS =\n%v\nwant\n%v", got, want)
	}
	_, rows = queryAll(t, db, "COPY INTO t FROM @%t FILES = ('good.csv') VALIDATION_MODE = RETURN_2_ROWS")
	if got, want := fmt.Sprint(rows), "[[7 2024-07-07T00:00:00Z] [8 2024-08-08T00:00:00Z]]"; got != want {
		t.Errorf("RETURN_2_ROWS = %s, want %s", got, want)
	}
	if _, err := db.Query("COPY INTO t FROM @%t FILES = ('bad.csv') VALIDATION_MODE = RETURN_10_ROWS"); err == nil || snowErr(t, err).Number != 100038 {
		t.Errorf("RETURN_10_ROWS on a bad file = %v, want 100038", err)
	}
	if n := queryOne(t, db, "SELECT COUNT(*) FROM t"); n != "0" {
		t.Errorf("COUNT(*) after validation = %s, want 0 (nothing loaded)", n)
	}
	res, _ := copyInto(t, db, "COPY INTO t FROM @%t ON_ERROR = CONTINUE")
	if len(res) != 2 {
		t.Errorf("COPY after validation = %+v, want both files (validation records no load metadata)", res)
	}
}
