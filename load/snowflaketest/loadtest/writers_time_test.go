package loadtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/schema"
)

// timeDocs hold dates and timestamps in the forms Snowflake's AUTO
// detection reads: a space or T, fractions of 1 to 6 digits (the emulator
// keeps microseconds), Z, ±hh:mm, ±hhmm and a space before the offset,
// dates before the epoch and a leap day. LTZ and TZ values carry a zone
// (a zone-less one is read in the session's TIMEZONE from text, as UTC
// from Parquet: see the package documentation); NTZ values may lack one.
var timeDocs = []string{
	`{"id":1,"d":"2024-01-02","ntz":"2024-01-02 03:04:05","ltz":"2024-01-02 03:04:05 +05:00","tz":"2024-01-02 03:04:05 +05:00"}`,
	`{"id":2,"d":"1969-12-31","ntz":"2024-01-02T03:04:05Z","ltz":"2024-01-02T03:04:05Z","tz":"2024-01-02T03:04:05.123456Z"}`,
	`{"id":3,"d":"2024-02-29","ntz":"2024-02-29T23:59:59.5","ltz":"2024-02-29T23:59:59.5-08:00","tz":"2024-02-29T23:59:59.5-08:00"}`,
	`{"id":4,"d":"1900-03-01","ntz":"1969-12-31 23:59:59.000001","ltz":"1969-12-31T23:59:59.000001+0130","tz":"1969-12-31T23:59:59.000001+01:30"}`,
	`{"id":5,"d":null,"ntz":null,"tz":"2262-01-01T00:00:00.999999+14:00"}`,
	`{"id":6,"ntz":"2024-07-01T12:00:00.12-03:00","ltz":"2024-07-01 12:00:00.12 -03:00","tz":"2024-07-01 12:00:00.12 -0300"}`,
}

// parseTimeRef parses a value of timeDocs with package time (not with the
// writer's parser), returning the instant (zone-less: UTC) and whether a
// zone was written.
func parseTimeRef(t *testing.T, s string) (time.Time, bool) {
	t.Helper()
	for _, l := range []struct {
		layout string
		zone   bool
	}{
		{"2006-01-02", false},
		{"2006-01-02T15:04:05.999999999", false},
		{"2006-01-02 15:04:05.999999999", false},
		{"2006-01-02T15:04:05.999999999Z07:00", true},
		{"2006-01-02T15:04:05.999999999Z0700", true},
		{"2006-01-02 15:04:05.999999999 Z07:00", true},
		{"2006-01-02 15:04:05.999999999 Z0700", true},
	} {
		if v, err := time.Parse(l.layout, s); err == nil {
			return v, l.zone
		}
	}
	t.Fatalf("test value %q parses with no layout", s)
	return time.Time{}, false
}

// TestWritersTimeRoundTrip writes DATE, TIMESTAMP_NTZ, TIMESTAMP_LTZ and
// TIMESTAMP_TZ columns in every format (Parquet as DATE and TIMESTAMP
// logical types, read with the file's USE_LOGICAL_TYPE = TRUE), loads them
// into the emulator and compares every cell: DATE by date, NTZ by wall
// clock (an offset is ignored, as Snowflake ignores it), LTZ and TZ by
// instant, and TZ by offset too where the file keeps it (NDJSON and CSV
// keep the text; Parquet keeps the instant only).
func TestWritersTimeRoundTrip(t *testing.T) {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()
	ctx := context.Background()
	// Offsets of TIMESTAMP_TZ are compared only if the emulator keeps
	// them (it kept only the instant before TIMESTAMP_TZ offsets landed).
	var probe time.Time
	if err := db.QueryRowContext(ctx, "SELECT TO_TIMESTAMP_TZ('2024-01-02T03:04:05+05:00')").Scan(&probe); err != nil {
		t.Fatal(err)
	}
	_, probeOff := probe.Zone()
	keepsOffsets := probeOff == 5*3600
	if !keepsOffsets {
		t.Log("the emulator does not keep TIMESTAMP_TZ offsets: TZ cells are compared as instants only")
	}
	cols := []schema.Column{
		{Name: "ID", Path: "id", Type: schema.Type{Kind: schema.Number, Precision: 38}},
		{Name: "D", Path: "d", Type: schema.Type{Kind: schema.Date}, Nullable: true},
		{Name: "NTZ", Path: "ntz", Type: schema.Type{Kind: schema.TimestampNTZ}, Nullable: true},
		{Name: "LTZ", Path: "ltz", Type: schema.Type{Kind: schema.Other, Raw: "TIMESTAMP_LTZ(9)"}, Nullable: true},
		{Name: "TZ", Path: "tz", Type: schema.Type{Kind: schema.TimestampTZ}, Nullable: true},
	}
	for _, format := range []load.Format{load.NDJSON, load.CSV, load.Parquet} {
		for _, comp := range []load.Compression{load.Gzip, load.Zstd, load.Uncompressed} {
			t.Run(fmt.Sprintf("%v/%v", format, comp), func(t *testing.T) {
				tname := strings.ToUpper(fmt.Sprintf("TS_%v_%v", format, comp))
				ddl := fmt.Sprintf("CREATE TABLE %s (ID NUMBER(38,0), D DATE, NTZ TIMESTAMP_NTZ(9), LTZ TIMESTAMP_LTZ(9), TZ TIMESTAMP_TZ(9))", tname)
				if _, err := db.ExecContext(ctx, ddl); err != nil {
					t.Fatal(err)
				}
				files := writeAll(t, load.WriterOptions{Dir: t.TempDir(), Table: tname, Format: format, Compression: comp, Columns: cols}, timeDocs)
				for _, f := range files {
					for _, c := range f.Schema {
						if c.Type != cols[colIndex(cols, c.Name)].Type {
							t.Errorf("file %s: column %s has type %s, want %s (no value may make it text)", f.Name, c.Name, c.Type, cols[colIndex(cols, c.Name)].Type)
						}
					}
					if format == load.Parquet && !strings.Contains(f.FileFormat(), "USE_LOGICAL_TYPE = TRUE") {
						t.Errorf("file format %q lacks USE_LOGICAL_TYPE = TRUE", f.FileFormat())
					}
					copyFile(t, db, tname, f)
				}
				compareTimes(t, db, tname, keepsOffsets && format != load.Parquet)
			})
		}
	}
}

func colIndex(cols []schema.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return 0
}

// compareTimes checks every cell of the table written from timeDocs.
func compareTimes(t *testing.T, db *sql.DB, table string, offsets bool) {
	t.Helper()
	rows, err := db.Query("SELECT ID, D, NTZ, LTZ, TZ FROM " + table + " ORDER BY ID")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int
		var got [4]sql.NullTime
		if err := rows.Scan(&id, &got[0], &got[1], &got[2], &got[3]); err != nil {
			t.Fatal(err)
		}
		if id < 1 || id > len(timeDocs) {
			t.Fatalf("unexpected id %d", id)
		}
		n++
		doc := timeDocs[id-1]
		for i, key := range []string{"d", "ntz", "ltz", "tz"} {
			want, present := jsonString(doc, key)
			g := got[i]
			if !present {
				if g.Valid {
					t.Errorf("row %d %s: got %v, want NULL", id, key, g.Time)
				}
				continue
			}
			if !g.Valid {
				t.Errorf("row %d %s: got NULL, want %s", id, key, want)
				continue
			}
			ref, zoned := parseTimeRef(t, want)
			switch key {
			case "d":
				if y, m, d := g.Time.Date(); y != ref.Year() || m != ref.Month() || d != ref.Day() {
					t.Errorf("row %d %s: got %v, want date %s", id, key, g.Time, want)
				}
			case "ntz":
				wall := time.Date(ref.Year(), ref.Month(), ref.Day(), ref.Hour(), ref.Minute(), ref.Second(), ref.Nanosecond(), time.UTC)
				gw := time.Date(g.Time.Year(), g.Time.Month(), g.Time.Day(), g.Time.Hour(), g.Time.Minute(), g.Time.Second(), g.Time.Nanosecond(), time.UTC)
				if !gw.Equal(wall) {
					t.Errorf("row %d %s: got wall clock %v, want %v (from %s)", id, key, gw, wall, want)
				}
			default:
				if !g.Time.Equal(ref) {
					t.Errorf("row %d %s: got instant %v, want %v (from %s)", id, key, g.Time.UTC(), ref.UTC(), want)
				}
				if key == "tz" && offsets && zoned {
					_, gotOff := g.Time.Zone()
					_, wantOff := ref.Zone()
					if gotOff != wantOff {
						t.Errorf("row %d %s: got offset %ds, want %ds (from %s)", id, key, gotOff, wantOff, want)
					}
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(timeDocs) {
		t.Errorf("table %s has %d rows, want %d", table, n, len(timeDocs))
	}
}

// jsonString returns the string value of key in the flat JSON object doc;
// present is false for a missing key or null.
func jsonString(doc, key string) (string, bool) {
	i := strings.Index(doc, `"`+key+`":`)
	if i < 0 {
		return "", false
	}
	rest := doc[i+len(key)+3:]
	if !strings.HasPrefix(rest, `"`) {
		return "", false
	}
	return rest[1 : 1+strings.IndexByte(rest[1:], '"')], true
}
