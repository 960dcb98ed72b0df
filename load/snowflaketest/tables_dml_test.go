package snowflaketest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/snowflakedb/gosnowflake"
)

func TestArrayBinding(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		rows      int
		wantStage bool
	}{
		{"inline", 0, 3, false},
		{"inline forced", -1, 2000, false},
		{"bind stage", 10, 5000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, db := newDB(t, snowflaketest.Options{ArrayBindingThreshold: tt.threshold})
			mustExec(t, db, "CREATE TABLE t (id INT, name STRING, score FLOAT)")
			ids := make([]int64, tt.rows)
			names := make([]string, tt.rows)
			scores := make([]float64, tt.rows)
			for i := range ids {
				ids[i], names[i], scores[i] = int64(i), fmt.Sprintf("n,\"%d\"", i), float64(i)/2
			}
			r := mustExec(t, db, "INSERT INTO t (id, name, score) VALUES (?, ?, ?)",
				gosnowflake.Array(&ids), gosnowflake.Array(&names), gosnowflake.Array(&scores))
			if n, err := r.RowsAffected(); err != nil || n != int64(tt.rows) {
				t.Fatalf("RowsAffected = %d, %v; want %d", n, err, tt.rows)
			}
			if got := queryOne(t, db, "SELECT COUNT(*) FROM t"); got != fmt.Sprint(tt.rows) {
				t.Errorf("COUNT(*) = %s, want %d", got, tt.rows)
			}
			_, last := queryAll(t, db, "SELECT id, name, score FROM t WHERE id = ?", tt.rows-1)
			want := fmt.Sprintf("[[%d n,\"%d\" %g]]", tt.rows-1, tt.rows-1, float64(tt.rows-1)/2)
			if fmt.Sprint(last) != want {
				t.Errorf("last row = %v, want %s", last, want)
			}
			var staged [][]string
			if _, err := db.Exec("LIST @SYSTEM$BIND"); err == nil {
				_, staged = queryAll(t, db, "LIST @SYSTEM$BIND")
			}
			if got := len(staged) > 0; got != tt.wantStage {
				t.Errorf("bind stage used = %v (%d files), want %v", got, len(staged), tt.wantStage)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE target (id INT, v STRING)")
	mustExec(t, db, "CREATE TABLE src (id INT, v STRING, del BOOLEAN)")
	mustExec(t, db, "INSERT INTO target VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	mustExec(t, db, "INSERT INTO src VALUES (2, 'B', FALSE), (3, NULL, TRUE), (4, 'd', FALSE), (5, 'e', FALSE)")
	cols, rows := queryAll(t, db, `MERGE INTO target t USING src s ON t.id = s.id
		WHEN MATCHED AND s.del THEN DELETE
		WHEN MATCHED THEN UPDATE SET v = s.v
		WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)`)
	if got, want := strings.Join(cols, ","), "number of rows inserted,number of rows updated,number of rows deleted"; got != want {
		t.Errorf("MERGE columns = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(rows), "[[2 1 1]]"; got != want {
		t.Errorf("MERGE counts = %s, want %s", got, want)
	}
	_, got := queryAll(t, db, "SELECT id, v FROM target ORDER BY id")
	if want := "[[1 a] [2 B] [4 d] [5 e]]"; fmt.Sprint(got) != want {
		t.Errorf("target = %v, want %s", got, want)
	}
	// Through Exec, RowsAffected is the sum of the counts, as the driver computes it.
	r := mustExec(t, db, "MERGE INTO target t USING (SELECT ? AS id, ? AS v) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v", 4, "D")
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		t.Errorf("MERGE RowsAffected = %d, %v; want 1", n, err)
	}
	cols, _ = queryAll(t, db, "MERGE INTO target t USING src s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)")
	if len(cols) != 1 || cols[0] != "number of rows inserted" {
		t.Errorf("insert-only MERGE columns = %v, want only number of rows inserted", cols)
	}
}

func TestSwapWith(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	dir := t.TempDir()
	mustExec(t, db, "CREATE TABLE live (id INT)")
	mustExec(t, db, "CREATE TABLE staging (id INT, extra STRING)")
	mustExec(t, db, "INSERT INTO live VALUES (1)")
	mustExec(t, db, "INSERT INTO staging VALUES (2, 'x'), (3, 'y')")
	p := writeFile(t, dir, "s.csv", "4,z\n")
	mustExec(t, db, "PUT file://"+p+" @%staging")
	copyInto(t, db, "COPY INTO staging FROM @%staging")
	mustExec(t, db, "ALTER TABLE live SWAP WITH staging")
	if got := queryOne(t, db, "SELECT COUNT(*) FROM live"); got != "3" {
		t.Errorf("live after swap has %s rows, want 3", got)
	}
	if got := queryOne(t, db, "SELECT id FROM staging"); got != "1" {
		t.Errorf("staging after swap = %s, want 1", got)
	}
	cols, _ := queryAll(t, db, "SELECT * FROM live")
	if strings.Join(cols, ",") != "ID,EXTRA" {
		t.Errorf("live columns after swap = %v, want ID,EXTRA", cols)
	}
	if _, err := db.Exec("ALTER TABLE live SWAP WITH nothing_here"); snowErr(t, err).Number != 2003 {
		t.Errorf("swap with a missing table: %v, want 2003", err)
	}
}

func TestDescTableAndInformationSchema(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, `CREATE TABLE t (id INT NOT NULL, name VARCHAR(20), amount NUMBER(10,2), f FLOAT, ok BOOLEAN,
		d DATE, ts TIMESTAMP_NTZ, tl TIMESTAMP_LTZ, v VARIANT, o OBJECT, b BINARY, tz TIMESTAMP_TZ, a ARRAY, s STRING)`)
	mustExec(t, db, "CREATE DATABASE other")
	mustExec(t, db, "CREATE TABLE other.public.t (unrelated INT)")
	mustExec(t, db, "USE DATABASE test_db")
	_, rows := queryAll(t, db, "DESC TABLE t")
	var got []string
	for _, r := range rows {
		got = append(got, r[0]+" "+r[1]+" "+r[3])
	}
	want := []string{
		"ID NUMBER(38,0) N", "NAME VARCHAR(20) Y", "AMOUNT NUMBER(10,2) Y", "F FLOAT Y", "OK BOOLEAN Y",
		"D DATE Y", "TS TIMESTAMP_NTZ(9) Y", "TL TIMESTAMP_LTZ(9) Y", "V VARIANT Y", "O OBJECT Y", "B BINARY(8388608) Y",
		"TZ TIMESTAMP_TZ(9) Y", "A ARRAY Y", "S VARCHAR(16777216) Y",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("DESC TABLE =\n%s\nwant\n%s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
	cols, rows := queryAll(t, db, `SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale, character_maximum_length
		FROM information_schema.columns WHERE table_schema = 'PUBLIC' AND table_name = 'T' ORDER BY ordinal_position`)
	if strings.Join(cols, ",") != "COLUMN_NAME,DATA_TYPE,IS_NULLABLE,NUMERIC_PRECISION,NUMERIC_SCALE,CHARACTER_MAXIMUM_LENGTH" {
		t.Errorf("columns = %v", cols)
	}
	if len(rows) != 14 {
		t.Fatalf("INFORMATION_SCHEMA.COLUMNS rows = %v, want 14 (other databases excluded)", rows)
	}
	if got, want := fmt.Sprint(rows[:3]), "[[ID NUMBER NO 38 0 <nil>] [NAME TEXT YES <nil> <nil> 20] [AMOUNT NUMBER YES 10 2 <nil>]]"; got != want {
		t.Errorf("first rows = %s, want %s", got, want)
	}
	var types []string
	for _, r := range rows[8:] {
		types = append(types, r[1])
	}
	if got := strings.Join(types, " "); got != "VARIANT OBJECT BINARY TIMESTAMP_TZ ARRAY TEXT" {
		t.Errorf("DATA_TYPE of v..s = %s, want VARIANT OBJECT BINARY TIMESTAMP_TZ ARRAY TEXT", got)
	}
	if got := rows[13][5]; got != "16777216" {
		t.Errorf("STRING's CHARACTER_MAXIMUM_LENGTH = %s, want 16777216", got)
	}
	if got := queryOne(t, db, "SELECT COUNT(*) FROM OTHER.INFORMATION_SCHEMA.COLUMNS c WHERE c.TABLE_NAME = 'T'"); got != "1" {
		t.Errorf("other database's columns = %s, want 1", got)
	}
	if got := queryOne(t, db, "SELECT table_type FROM information_schema.tables WHERE table_name = 'T'"); got != "BASE TABLE" {
		t.Errorf("INFORMATION_SCHEMA.TABLES type = %s, want BASE TABLE", got)
	}
	if _, err := db.Exec("SELECT * FROM information_schema.functions"); snowErr(t, err).Number != 2 {
		t.Errorf("unsupported INFORMATION_SCHEMA view: %v, want 2", err)
	}
}

func TestAlterColumnType(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	mustExec(t, db, "CREATE TABLE t (n NUMBER(10,0), amt NUMBER(10,2), s VARCHAR(10), f FLOAT)")
	mustExec(t, db, "INSERT INTO t VALUES (1, 2.5, 'x', 1.5)")
	tests := []struct {
		stmt    string
		wantErr int
	}{
		{"ALTER TABLE t ALTER COLUMN n SET DATA TYPE NUMBER(20,0)", 0},
		{"ALTER TABLE t MODIFY COLUMN s TYPE VARCHAR(100)", 0},
		{"ALTER TABLE t ALTER s TYPE STRING", 0},
		{"ALTER TABLE t ALTER COLUMN n SET DATA TYPE VARCHAR", 2108},
		{"ALTER TABLE t ALTER COLUMN n SET DATA TYPE NUMBER(5,0)", 2108},
		{"ALTER TABLE t ALTER COLUMN amt SET DATA TYPE NUMBER(12,3)", 2108},
		{"ALTER TABLE t ALTER COLUMN f SET DATA TYPE NUMBER", 2108},
		{"ALTER TABLE t ALTER COLUMN nope SET DATA TYPE NUMBER", 904},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			_, err := db.Exec(tt.stmt)
			if tt.wantErr == 0 {
				if err != nil {
					t.Fatalf("Exec = %v, want success", err)
				}
				return
			}
			if se := snowErr(t, err); se.Number != tt.wantErr {
				t.Errorf("Exec = %d %q, want %d", se.Number, se.Message, tt.wantErr)
			}
		})
	}
	mustExec(t, db, "ALTER TABLE t ADD COLUMN extra VARIANT")
	mustExec(t, db, "ALTER TABLE t ADD more NUMBER(5,1)")
	_, rows := queryAll(t, db, "DESC TABLE t")
	if got := fmt.Sprint(rows[4][:2], rows[5][:2]); got != "[EXTRA VARIANT] [MORE NUMBER(5,1)]" {
		t.Errorf("added columns = %s, want EXTRA VARIANT and MORE NUMBER(5,1)", got)
	}
	if got := rows[0][1]; got != "NUMBER(20,0)" {
		t.Errorf("N after widening = %s, want NUMBER(20,0)", got)
	}
	if got := queryOne(t, db, "SELECT n FROM t"); got != "1" {
		t.Errorf("n after widening = %s, want 1", got)
	}
}
