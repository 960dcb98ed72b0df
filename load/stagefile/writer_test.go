package stagefile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

// writeDocs flattens docs and writes them with o, returning the files.
func writeDocs(t testing.TB, o WriterOptions, docs ...string) []File {
	t.Helper()
	fl, err := flatten.New(flatten.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Table == "" {
		o.Table = "T"
	}
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	var fields []flatten.Field
	for i, d := range docs {
		fields, err = fl.Append(fields[:0], []byte(d))
		if err != nil {
			t.Fatalf("flatten %q: %v", d, err)
		}
		if err := w.Write(int64(i+1), fields); err != nil {
			t.Fatalf("Write(%q): %v", d, err)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// content returns a staged file's decompressed bytes.
func content(t testing.TB, f File) []byte {
	t.Helper()
	raw, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format == Parquet {
		return raw
	}
	var r io.Reader
	switch f.Compression {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case Zstd:
		r, err = zstd.NewReader(bytes.NewReader(raw))
	default:
		return raw
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNDJSONValues(t *testing.T) {
	for _, comp := range []Compression{Gzip, Zstd, Uncompressed} {
		files := writeDocs(t, WriterOptions{Compression: comp},
			`{"id":505874924095815681,"a":{"b":"x\"y\\z\n"},"n":null,"e":"","arr":[1,{"k":null}],"o":{}}`,
			`{"id":-0,"f":1.10,"big":12345678901234567890123456789012345678}`,
		)
		if len(files) != 1 {
			t.Fatalf("%v: %d files, want 1", comp, len(files))
		}
		got := string(content(t, files[0]))
		want := `{"ID":505874924095815681,"A_B":"x\"y\\z\n","N":null,"E":"","ARR":[1,{"k":null}],"O":{}}` + "\n" +
			`{"ID":-0,"F":1.10,"BIG":12345678901234567890123456789012345678}` + "\n"
		if got != want {
			t.Errorf("%v: content\n%s\nwant\n%s", comp, got, want)
		}
		f := files[0]
		if f.Rows != 2 || f.FirstRecord != 1 || f.LastRecord != 2 || f.RawSize != int64(len(want)) {
			t.Errorf("%v: file %+v", comp, f)
		}
		if got, want := strings.Join(f.Columns, ","), "ID,A_B,N,E,ARR,O,F,BIG"; got != want {
			t.Errorf("%v: Columns = %s, want %s", comp, got, want)
		}
	}
}

// TestNDJSONNumberIntoText: a column that mixes strings and numbers is
// VARCHAR; its numbers are written as JSON strings from then on (a new
// file), keeping their literal text.
func TestNDJSONNumberIntoText(t *testing.T) {
	files := writeDocs(t, WriterOptions{}, `{"v":"a"}`, `{"v":1.10}`, `{"v":2}`)
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	if got, want := string(content(t, files[0])), `{"V":"a"}`+"\n"+`{"V":"1.10"}`+"\n"+`{"V":"2"}`+"\n"; got != want {
		t.Errorf("content %q, want %q", got, want)
	}
	files = writeDocs(t, WriterOptions{}, `{"v":1.10}`, `{"v":"a"}`)
	if len(files) != 2 {
		t.Fatalf("%d files, want 2 (number then text)", len(files))
	}
	if got, want := string(content(t, files[1])), `{"V":"a"}`+"\n"; got != want {
		t.Errorf("second file %q, want %q", got, want)
	}
}

func TestCSVGainingAndLosingKeys(t *testing.T) {
	docs := []string{
		`{"a":1,"b":"x,y"}`,
		`{"a":2}`,
		`{"b":"","c":null,"a":3}`, // c is new: a new file with the wider header
		`{"c":"q\"uote\nline"}`,
		`{"v":[{"k":1}]}`,
	}
	// Held for discovery (the default): one file with every column.
	files := writeDocs(t, WriterOptions{Format: CSV}, docs...)
	if len(files) != 1 || strings.Join(files[0].Columns, ",") != "A,B,C,V" {
		t.Fatalf("files %+v, want one with columns A,B,C,V", files)
	}
	got := string(content(t, files[0]))
	wantCSV := "\"A\",\"B\",\"C\",\"V\"\n1,\"x,y\",,\n2,,,\n3,\"\",,\n,,\"q\"\"uote\nline\",\n,,,\"[{\"\"k\"\":1}]\"\n"
	if got != wantCSV {
		t.Errorf("CSV %q, want %q", got, wantCSV)
	}
	// Without discovery a new column starts a new file with a wider header.
	files = writeDocs(t, WriterOptions{Format: CSV, DiscoverRows: -1}, docs...)
	if len(files) != 3 {
		t.Fatalf("%d files, want 3", len(files))
	}
	var all [][]string
	for _, f := range files {
		r := csv.NewReader(bytes.NewReader(content(t, f)))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(recs[0], ",") != strings.Join(f.Columns, ",") {
			t.Errorf("header %v, Columns %v", recs[0], f.Columns)
		}
		all = append(all, recs...)
	}
	want := [][]string{
		{"A", "B"}, {"1", "x,y"}, {"2", ""},
		{"A", "B", "C"}, {"3", "", ""}, {"", "", "q\"uote\nline"},
		{"A", "B", "C", "V"}, {"", "", "", `[{"k":1}]`},
	}
	if len(all) != len(want) {
		t.Fatalf("records %q, want %q", all, want)
	}
	for i := range want {
		if strings.Join(all[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("record %d = %q, want %q", i, all[i], want[i])
		}
	}
	// NULL is an empty field, '' an enclosed empty string.
	raw := string(content(t, files[1]))
	if want := "\"A\",\"B\",\"C\"\n3,\"\",\n,,\"q\"\"uote\nline\"\n"; raw != want {
		t.Errorf("raw CSV %q, want %q", raw, want)
	}
}

func TestParquetValues(t *testing.T) {
	files := writeDocs(t, WriterOptions{Format: Parquet, Compression: Zstd, DiscoverRows: -1},
		`{"id":505874924095815681,"f":1.10,"s":"é\"","b":true,"o":{"k":[1,null]},"big":-12345678901234567890123456789012345678}`,
		`{"id":-0,"f":-2.5,"s":"","b":false,"big":0.5}`,
		`{"s":null}`,
	)
	var rows []map[string]parquet.Value
	for _, f := range files {
		rows = append(rows, readParquet(t, f)...)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	if v := rows[0]["ID"]; v.Int64() != 505874924095815681 {
		t.Errorf("ID = %v", v)
	}
	if v := rows[1]["ID"]; v.IsNull() || v.Int64() != 0 {
		t.Errorf("ID = %v", v)
	}
	if a, b, c := rows[0]["S"], rows[1]["S"], rows[2]["S"]; string(a.ByteArray()) != "é\"" || b.IsNull() || len(b.ByteArray()) != 0 || !c.IsNull() {
		t.Errorf("S = %v, %v, %v", a, b, c)
	}
	if v := rows[0]["O_K"]; string(v.ByteArray()) != `[1,null]` {
		t.Errorf("O_K = %v", v)
	}
	if v := rows[0]["F"]; v.Int64() != 110 {
		t.Errorf("F = %v (DECIMAL(18,2) 1.10)", v)
	}
	if v := rows[1]["BIG"]; v.Double() != 0.5 {
		t.Errorf("BIG = %v", v)
	}
	if !rows[2]["ID"].IsNull() {
		t.Errorf("missing ID = %v", rows[2]["ID"])
	}
	if len(files) != 2 {
		t.Errorf("%d files, want 2 (BIG went from NUMBER(38,0) to FLOAT)", len(files))
	}
	// A declared VARIANT column keeps JSON null apart from a missing key.
	files = writeDocs(t, WriterOptions{Format: Parquet, Columns: []schema.Column{{Name: "V", Path: "v", Type: schema.Type{Kind: schema.Variant}}}},
		`{"v":null}`, `{}`, `{"v":"s"}`)
	rows = readParquet(t, files[0])
	if a, b, c := rows[0]["V"], rows[1]["V"], rows[2]["V"]; string(a.ByteArray()) != "null" || !b.IsNull() || string(c.ByteArray()) != `"s"` {
		t.Errorf("V = %v, %v, %v; want null, SQL NULL, \"s\"", a, b, c)
	}
}

// readParquet reads every row of a Parquet file, by column name.
func readParquet(t testing.TB, f File) []map[string]parquet.Value {
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
	var names []string
	for _, c := range pf.Schema().Columns() {
		names = append(names, c[0])
	}
	if strings.Join(names, ",") != strings.Join(f.Columns, ",") {
		t.Errorf("Parquet columns %v, File.Columns %v", names, f.Columns)
	}
	var out []map[string]parquet.Value
	for _, rg := range pf.RowGroups() {
		rs := rg.Rows()
		buf := make([]parquet.Row, 16)
		for {
			n, err := rs.ReadRows(buf)
			for _, r := range buf[:n] {
				m := map[string]parquet.Value{}
				for _, v := range r {
					m[names[v.Column()]] = v.Clone()
				}
				out = append(out, m)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rs.Close()
	}
	return out
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(WriterOptions{Table: "T"}); !errors.Is(err, ErrOptions) {
		t.Errorf("no Dir: %v", err)
	}
	if _, err := NewWriter(WriterOptions{Dir: t.TempDir()}); !errors.Is(err, ErrOptions) {
		t.Errorf("no Table: %v", err)
	}
	if _, err := NewWriter(WriterOptions{Dir: t.TempDir(), Table: "T", Format: 9}); !errors.Is(err, ErrOptions) {
		t.Errorf("bad format: %v", err)
	}
	w, err := NewWriter(WriterOptions{Dir: t.TempDir(), Table: "T"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []flatten.Field{
		{Path: []byte("a"), Value: []byte("1x"), Kind: flatten.Number},
		{Path: []byte("a"), Value: []byte("1"), Kind: 0},
		{Path: []byte("a"), Value: []byte("1"), Kind: 99},
	} {
		if err := w.Write(1, []flatten.Field{f}); !errors.Is(err, ErrValue) {
			t.Errorf("Write(%+v) = %v, want ErrValue", f, err)
		}
	}
	files, err := w.Close()
	if err != nil || len(files) != 0 {
		t.Errorf("Close = %v, %v; want no files", files, err)
	}
}

// TestDeterministicNames: the same records written again (another run,
// another directory) give the same file names and digests; other content
// gives other names.
func TestDeterministicNames(t *testing.T) {
	docs := []string{`{"a":1,"b":"x"}`, `{"a":2}`, `{"a":3,"c":[1]}`, `{"a":4}`}
	for _, format := range []Format{NDJSON, CSV, Parquet} {
		for _, comp := range []Compression{Gzip, Zstd, Uncompressed} {
			o := WriterOptions{Format: format, Compression: comp, Source: "s3://b/k.ndjson", MaxRows: 2}
			a := writeDocs(t, o, docs...)
			b := writeDocs(t, o, docs...)
			if len(a) != 2 || len(b) != 2 {
				t.Fatalf("%v/%v: %d and %d files, want 2", format, comp, len(a), len(b))
			}
			for i := range a {
				if a[i].Name != b[i].Name || a[i].SHA256 != b[i].SHA256 || a[i].Name == "" {
					t.Errorf("%v/%v: file %d named %s (%s) then %s (%s)", format, comp, i, a[i].Name, a[i].SHA256, b[i].Name, b[i].SHA256)
				}
				if !strings.Contains(a[i].Name, "_"+strconv.FormatInt(a[i].FirstRecord, 10)+"-"+strconv.FormatInt(a[i].LastRecord, 10)+"_") || !strings.HasPrefix(a[i].SHA256, a[i].Name[strings.LastIndexByte(a[i].Name, '_')+1:][:16]) {
					t.Errorf("%v/%v: name %s lacks record range or digest %s", format, comp, a[i].Name, a[i].SHA256)
				}
			}
			c := writeDocs(t, o, append([]string{`{"a":0}`}, docs[1:]...)...)
			if c[0].Name == a[0].Name {
				t.Errorf("%v/%v: other content, same name %s", format, comp, c[0].Name)
			}
			o.Source = "s3://b/other.ndjson"
			if d := writeDocs(t, o, docs...); d[0].Name == a[0].Name {
				t.Errorf("%v/%v: other source, same name %s", format, comp, d[0].Name)
			}
		}
	}
}
