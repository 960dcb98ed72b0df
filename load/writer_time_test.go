package load

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flatpipe/flatpipe/schema"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

func TestParseWallTime(t *testing.T) {
	for _, tc := range []struct {
		in     string
		layout string // time.Parse layout giving the same instant; "" = invalid
		date   bool
	}{
		{"2024-01-02", "2006-01-02", true},
		{"1969-12-31", "2006-01-02", true},
		{"0001-01-01", "2006-01-02", true},
		{"2024-02-29 03:04:05", "2006-01-02 15:04:05", false},
		{"2024-01-02T03:04:05.123456789", "2006-01-02T15:04:05.999999999", false},
		{"2024-01-02T03:04:05Z", time.RFC3339, false},
		{"2024-01-02T03:04:05.5-08:00", time.RFC3339Nano, false},
		{"2024-01-02 03:04:05 +05:00", "2006-01-02 15:04:05 -07:00", false},
		{"2024-01-02 03:04:05.1 -0330", "2006-01-02 15:04:05.9 -0700", false},
		{"2024-01-02T03:04:05+01", "2006-01-02T15:04:05-07", false},
		{"1900-03-01T00:00:00.000001+14:00", time.RFC3339Nano, false},
		{"2023-02-29", "", false},
		{"2024-13-01", "", false},
		{"2024-01-02T24:00:00", "", false},
		{"2024-01-02T03:04", "", false},
		{"2024-01-02T03:04:05.", "", false},
		{"2024-01-02T03:04:05.1234567890", "", false},
		{"2024-01-02T03:04:05+5:00", "", false},
		{"2024-01-02T03:04:05  +05:00", "", false},
		{"2024-01-02t03:04:05", "", false},
		{"02/01/2024", "", false},
		{"", "", false},
		{"not a time", "", false},
	} {
		got, ok := parseWallTime([]byte(tc.in))
		if tc.layout == "" {
			if ok {
				t.Errorf("parseWallTime(%q) = %+v, want invalid", tc.in, got)
			}
			continue
		}
		want, err := time.Parse(tc.layout, tc.in)
		if err != nil {
			t.Fatalf("test case %q: %v", tc.in, err)
		}
		if !ok || got.date != tc.date {
			t.Errorf("parseWallTime(%q) = %+v, %v; want valid, date %v", tc.in, got, ok, tc.date)
			continue
		}
		_, off := want.Zone()
		if got.days*86400+got.nanos/1e9-got.offset != want.Unix() || got.nanos%1e9 != int64(want.Nanosecond()) || got.offset != int64(off) {
			t.Errorf("parseWallTime(%q) = %+v; want instant %v offset %d", tc.in, got, want.UTC(), off)
		}
		if n, fits := got.instantNanos(); fits != (want.Year() > 1677 && want.Year() < 2262) || fits && n != want.UnixNano() {
			t.Errorf("parseWallTime(%q).instantNanos() = %d, %v; want %d", tc.in, n, fits, want.UnixNano())
		}
	}
}

func TestTimeKindOf(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want timeKind
	}{
		{"DATE", timeDate}, {"TIMESTAMP_NTZ(9)", timeNTZ}, {"TIMESTAMP_TZ(3)", timeTZ},
		{"TIMESTAMP_LTZ(9)", timeLTZ}, {"timestamp_ltz", timeLTZ}, {"TIMESTAMP WITH LOCAL TIME ZONE", timeLTZ},
		{"TIMESTAMP", timeNTZ}, {"VARCHAR", notTime}, {"TIME", notTime}, {"NUMBER(38,0)", notTime},
	} {
		typ, err := schema.ParseType(tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		if got := timeKindOf(typ); got != tc.want {
			t.Errorf("timeKindOf(%s) = %d, want %d", tc.typ, got, tc.want)
		}
	}
}

// TestParquetTimes: DATE and TIMESTAMP columns are Parquet DATE and
// TIMESTAMP(NANOS) (NTZ not adjusted to UTC, LTZ and TZ adjusted), and a
// value that is not a time of its column's kind is never dropped: its
// file's column becomes VARCHAR (text in every format), which File.Schema
// states so the loader sees the mismatch with the table before COPY.
func TestParquetTimes(t *testing.T) {
	cols := []schema.Column{
		{Name: "D", Path: "d", Type: schema.Type{Kind: schema.Date}},
		{Name: "NTZ", Path: "ntz", Type: schema.Type{Kind: schema.TimestampNTZ}},
		{Name: "LTZ", Path: "ltz", Type: schema.Type{Kind: schema.Other, Raw: "TIMESTAMP_LTZ(9)"}},
		{Name: "TZ", Path: "tz", Type: schema.Type{Kind: schema.TimestampTZ}},
	}
	files := writeDocs(t, WriterOptions{Format: Parquet, Columns: cols, DiscoverRows: -1},
		`{"d":"2024-01-02","ntz":"2024-01-02 03:04:05.5 +05:00","ltz":"2024-01-02T03:04:05Z","tz":"2024-01-02 03:04:05 -01:00"}`,
		`{"d":"1969-12-31","ntz":"1969-12-31T23:59:59","ltz":null}`,
		`{"tz":"not a time"}`,
		`{"d":"2024-01-02T00:00:00","ntz":"2300-01-01T00:00:00","ltz":1700000000}`,
	)
	if len(files) != 3 {
		t.Fatalf("%d files, want 3 (records 3 and 4 each close a file)", len(files))
	}
	f := files[0]
	if f.Rows != 2 || !strings.Contains(f.FileFormat(), "USE_LOGICAL_TYPE = TRUE") {
		t.Errorf("first file: %d rows, format %q", f.Rows, f.FileFormat())
	}
	rows := readParquet(t, f)
	if got := rows[0]["D"].Int32(); got != 19724 {
		t.Errorf("D = %d days, want 19724 (2024-01-02)", got)
	}
	if got := rows[1]["D"].Int32(); got != -1 {
		t.Errorf("D = %d days, want -1 (1969-12-31)", got)
	}
	if got, want := rows[0]["NTZ"].Int64(), time.Date(2024, 1, 2, 3, 4, 5, 5e8, time.UTC).UnixNano(); got != want {
		t.Errorf("NTZ = %d, want %d (wall clock, offset ignored)", got, want)
	}
	if got, want := rows[0]["TZ"].Int64(), time.Date(2024, 1, 2, 4, 4, 5, 0, time.UTC).UnixNano(); got != want {
		t.Errorf("TZ = %d, want %d (the instant)", got, want)
	}
	if !rows[1]["LTZ"].IsNull() || !rows[1]["TZ"].IsNull() {
		t.Errorf("null and missing LTZ, TZ = %v, %v; want NULL", rows[1]["LTZ"], rows[1]["TZ"])
	}
	for _, c := range readSchema(t, f) {
		if c.name != "D" && c.logical != "TIMESTAMP" || c.name == "D" && c.logical != "DATE" || c.name == "NTZ" && c.utc || (c.name == "LTZ" || c.name == "TZ") && !c.utc {
			t.Errorf("column %s: logical type %s, adjusted to UTC %v", c.name, c.logical, c.utc)
		}
	}
	// The next files: a column that met a value it cannot hold as its
	// time kind is VARCHAR, with the text, and no row is lost.
	for i, want := range []map[string]string{
		{"D": "DATE", "NTZ": "TIMESTAMP_NTZ", "LTZ": "OTHER", "TZ": "VARCHAR"},
		{"D": "VARCHAR", "NTZ": "VARCHAR", "LTZ": "VARCHAR", "TZ": "VARCHAR"},
	} {
		for _, c := range files[i+1].Schema {
			if c.Type.Kind.String() != want[c.Name] {
				t.Errorf("file %d: column %s is %s, want %s", i+2, c.Name, c.Type, want[c.Name])
			}
		}
	}
	r2, r3 := readParquet(t, files[1]), readParquet(t, files[2])
	if len(r2) != 1 || len(r3) != 1 || string(r2[0]["TZ"].ByteArray()) != "not a time" || string(r3[0]["NTZ"].ByteArray()) != "2300-01-01T00:00:00" ||
		string(r3[0]["LTZ"].ByteArray()) != "1700000000" || string(r3[0]["D"].ByteArray()) != "2024-01-02T00:00:00" {
		t.Errorf("rows of files 2 and 3 = %v, %v", r2, r3)
	}
	if strings.Contains(files[2].FileFormat(), "USE_LOGICAL_TYPE") {
		t.Errorf("file without time columns: format %q", files[2].FileFormat())
	}
	// Text formats keep the text; 2300-01-01 fits a TIMESTAMP_NTZ there.
	files = writeDocs(t, WriterOptions{Format: CSV, Columns: cols}, `{"ntz":"2300-01-01T00:00:00","tz":"2024-01-02 03:04:05 +05:00"}`)
	if s := files[0].Schema; s[1].Type.Kind != schema.TimestampNTZ || s[3].Type.Kind != schema.TimestampTZ {
		t.Errorf("CSV schema %v, want the declared time types", s)
	}
}

type pqColumn struct {
	name, logical string
	utc           bool
}

// readSchema returns the logical types of a Parquet file's columns.
func readSchema(t *testing.T, f File) []pqColumn {
	t.Helper()
	fh, err := os.Open(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	pf, err := parquet.OpenFile(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var out []pqColumn
	for _, fd := range pf.Schema().Fields() {
		c := pqColumn{name: fd.Name()}
		lt := fd.Type().LogicalType()
		if lt == nil {
			out = append(out, c)
			continue
		}
		switch v := lt.Value.(type) {
		case *format.DateType:
			c.logical = "DATE"
		case *format.TimestampType:
			c.logical, c.utc = "TIMESTAMP", v.IsAdjustedToUTC
			if _, ns := v.Unit.Value.(*format.NanoSeconds); !ns {
				c.logical += " (not NANOS)"
			}
		default:
			c.logical = lt.String()
		}
		out = append(out, c)
	}
	return out
}
