package snowflaketest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

func TestNamedFileFormats(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE DATABASE ffdb")
	mustExec(t, db, "CREATE FILE FORMAT jf TYPE = JSON STRIP_OUTER_ARRAY = TRUE COMMENT = 'arrays of documents'")
	mustExec(t, db, "CREATE OR REPLACE FILE FORMAT ffdb.public.pipes TYPE = CSV FIELD_DELIMITER = '|' SKIP_HEADER = 1 NULL_IF = ('', 'NULL')")
	_, err := db.Exec("CREATE FILE FORMAT jf TYPE = JSON")
	if se := snowErr(t, err); se.Number != 2002 {
		t.Errorf("CREATE FILE FORMAT twice: %v, want 002002", err)
	}
	_, err = db.Exec("CREATE FILE FORMAT bad TYPE = JSON FIELD_DELIMITER = '|'")
	if se := snowErr(t, err); se.Number != 2001 {
		t.Errorf("FIELD_DELIMITER for JSON: %v, want 002001", err)
	}

	mustExec(t, db, "CREATE TABLE raw (v VARIANT)")
	arr := writeFile(t, dir, "arr.json", `[{"a": 1}, {"a": 2}, {"a": 3}]`)
	mustExec(t, db, "PUT file://"+arr+" @%raw")
	res, _ := copyInto(t, db, "COPY INTO raw FROM @%raw FILE_FORMAT = (FORMAT_NAME = 'jf')")
	if len(res) != 1 || res[0].loaded != 3 {
		t.Fatalf("COPY with FORMAT_NAME = %+v, want 3 rows (STRIP_OUTER_ARRAY from the named format)", res)
	}
	res, _ = copyInto(t, db, "COPY INTO raw FROM @%raw FILE_FORMAT = ffdb.public.jf FORCE = TRUE")
	if len(res) != 1 || res[0].loaded != 3 {
		t.Fatalf("COPY with FILE_FORMAT = name = %+v, want 3 rows", res)
	}

	mustExec(t, db, "CREATE TABLE t (a INT, b STRING)")
	mustExec(t, db, "CREATE STAGE st FILE_FORMAT = (FORMAT_NAME = pipes)")
	p := writeFile(t, dir, "p.csv", "a|b\n1|x\n2|NULL\n")
	mustExec(t, db, "PUT file://"+p+" @st")
	res, _ = copyInto(t, db, "COPY INTO t FROM @st")
	if len(res) != 1 || res[0].loaded != 2 {
		t.Fatalf("COPY from a stage with a named format = %+v", res)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM t WHERE b IS NULL"); got != "1" {
		t.Errorf("NULL_IF of the named format: %s NULL rows, want 1", got)
	}

	for q, num := range map[string]int{
		"COPY INTO raw FROM @%raw FILE_FORMAT = (FORMAT_NAME = 'nope')":           2003,
		"COPY INTO raw FROM @%raw FILE_FORMAT = (FORMAT_NAME = jf TYPE = CSV)":    2001,
		"COPY INTO raw FROM @%raw FILE_FORMAT = (TYPE = JSON FORMAT_NAME = 'jf')": 2001,
	} {
		_, err := db.Exec(q)
		if se := snowErr(t, err); se.Number != num {
			t.Errorf("%s: %v, want %06d", q, err, num)
		}
	}
	_, rows := queryAll(t, db, "SHOW FILE FORMATS IN DATABASE ffdb")
	if len(rows) != 2 || rows[0][1] != "JF" || rows[0][4] != "JSON" || rows[0][6] != "arrays of documents" || !strings.Contains(rows[0][7], "STRIP_OUTER_ARRAY") {
		t.Errorf("SHOW FILE FORMATS = %v", rows)
	}
	_, rows = queryAll(t, db, "DESC FILE FORMAT pipes")
	if len(rows) != 4 || rows[0][0] != "FIELD_DELIMITER" || rows[0][2] != "|" {
		t.Errorf("DESC FILE FORMAT = %v", rows)
	}
	mustExec(t, db, "DROP FILE FORMAT jf")
	_, err = db.Exec("COPY INTO raw FROM @%raw FILE_FORMAT = (FORMAT_NAME = jf)")
	if se := snowErr(t, err); se.Number != 2003 {
		t.Errorf("dropped format: %v, want 002003", err)
	}
}

func TestCopyTransformation(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE DATABASE ctdb")
	mustExec(t, db, "CREATE FILE FORMAT nd TYPE = JSON")
	mustExec(t, db, "CREATE TABLE raw (v VARIANT, file_name STRING, file_row INT, loaded_at TIMESTAMP_NTZ)")
	mustExec(t, db, "CREATE STAGE st FILE_FORMAT = (FORMAT_NAME = nd)")
	a := writeFile(t, dir, "a.json", "{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n")
	b := writeFile(t, dir, "b.json", "{\"n\": 4}\n")
	mustExec(t, db, "PUT file://"+a+" @st/in/")
	mustExec(t, db, "PUT file://"+b+" @st/in/")
	q := `COPY INTO raw (file_row, v, file_name) FROM (SELECT METADATA$FILE_ROW_NUMBER, $1, METADATA$FILENAME FROM @st/in/ s) FILE_FORMAT = (FORMAT_NAME = 'nd')`
	res, _ := copyInto(t, db, q)
	if len(res) != 2 || res[0].loaded+res[1].loaded != 4 {
		t.Fatalf("COPY transformation = %+v, want 2 files, 4 rows", res)
	}
	_, rows := queryAll(t, db, "SELECT v, file_name, file_row, loaded_at FROM raw ORDER BY file_name, file_row")
	want := `[[{"n":1} in/a.json.gz 1 <nil>] [{"n":2} in/a.json.gz 2 <nil>] [{"n":3} in/a.json.gz 3 <nil>] [{"n":4} in/b.json.gz 1 <nil>]]`
	if got := fmt.Sprint(rows); got != want {
		t.Errorf("rows = %s, want %s", got, want)
	}
	if _, status := copyInto(t, db, q); status != "Copy executed with 0 files processed." {
		t.Errorf("second COPY: %q, want 0 files (load metadata)", status)
	}
	for q, num := range map[string]int{
		"COPY INTO raw (v) FROM (SELECT $2 FROM @st)":             2,
		"COPY INTO raw (v, file_name) FROM (SELECT $1 FROM @st)":  1003,
		"COPY INTO raw (v) FROM (SELECT $1 FROM @st WHERE 1 = 1)": 2,
	} {
		_, err := db.Exec(q)
		if se := snowErr(t, err); se.Number != num {
			t.Errorf("%s: %v, want %06d", q, err, num)
		}
	}
}
