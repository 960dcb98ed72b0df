package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type rec struct {
	Data   string
	Offset int64
	Line   int64
	Number int64
}

func scanAll(t testing.TB, r io.Reader, opts Options) ([]rec, error) {
	t.Helper()
	s, err := NewScanner(r, opts)
	if err != nil {
		t.Fatalf("NewScanner: %v", err)
	}
	defer s.Close()
	var out []rec
	for s.Scan() {
		out = append(out, rec{string(s.Bytes()), s.Offset(), s.Line(), s.Number()})
		if len(out) > 1<<22 {
			t.Fatal("too many records")
		}
	}
	if s.Scan() {
		t.Fatal("Scan returned true after false")
	}
	return out, s.Err()
}

func mustScanner(t testing.TB, r io.Reader, opts Options) *Scanner {
	t.Helper()
	s, err := NewScanner(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

func TestScanner(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		in     string
		want   []rec
		err    string // substring of the error, "" for none
	}{
		{"ndjson basic", NDJSON, "{\"a\":1}\n{\"b\":2}\n", []rec{{`{"a":1}`, 0, 1, 1}, {`{"b":2}`, 8, 2, 2}}, ""},
		{"ndjson crlf", NDJSON, "{\"a\":1}\r\n{\"b\":2}\r\n", []rec{{`{"a":1}`, 0, 1, 1}, {`{"b":2}`, 9, 2, 2}}, ""},
		{"ndjson no final newline", NDJSON, "1\n2", []rec{{"1", 0, 1, 1}, {"2", 2, 2, 2}}, ""},
		{"ndjson blank lines", NDJSON, "\n  \n{}\n\t\r\n[1]\n\n", []rec{{"{}", 4, 3, 1}, {"[1]", 10, 5, 2}}, ""},
		{"ndjson trims", NDJSON, "  {} \t\n", []rec{{"{}", 2, 1, 1}}, ""},
		{"ndjson bom", NDJSON, "\xef\xbb\xbf{}\n", []rec{{"{}", 3, 1, 1}}, ""},
		{"ndjson empty", NDJSON, "", nil, ""},
		{"ndjson whitespace only", NDJSON, " \n\r\n\t", nil, ""},
		{"ndjson bare cr is not a line break", NDJSON, "1\r2\n", []rec{{"1\r2", 0, 1, 1}}, ""},
		{"document", Document, " {\"a\":\n1}\n ", []rec{{"{\"a\":\n1}", 1, 1, 1}}, ""},
		{"document after newlines", Document, "\n\n[1,\n2]", []rec{{"[1,\n2]", 2, 3, 1}}, ""},
		{"document empty", Document, " \n", nil, "empty document"},
		{"document nothing", Document, "", nil, "empty document"},
		{"document lone BOM", Document, "\xef\xbb\xbf", nil, "empty document"},
		{"array", Array, `[1, "a]b", {"x":"\"]"}, [2,[3]], null]`,
			[]rec{{"1", 1, 1, 1}, {`"a]b"`, 4, 1, 2}, {`{"x":"\"]"}`, 11, 1, 3}, {"[2,[3]]", 24, 1, 4}, {"null", 33, 1, 5}}, ""},
		{"array multiline", Array, "[\n {\"a\":1},\n {\"b\":\n 2}\n]\n",
			[]rec{{`{"a":1}`, 3, 2, 1}, {"{\"b\":\n 2}", 13, 3, 2}}, ""},
		{"array escaped backslash", Array, `["a\\", "b\\\"]"]`, []rec{{`"a\\"`, 1, 1, 1}, {`"b\\\"]"`, 8, 1, 2}}, ""},
		{"array empty", Array, " [ ] ", nil, ""},
		{"array empty stream", Array, "", nil, ""},
		{"array nested empty", Array, "[[],{}]", []rec{{"[]", 1, 1, 1}, {"{}", 4, 1, 2}}, ""},
		{"array unterminated", Array, "[1,2", []rec{{"1", 1, 1, 1}}, "offset 4 (line 1): unterminated array"},
		{"array unterminated after comma", Array, "[1,\n", []rec{{"1", 1, 1, 1}}, "unterminated array"},
		{"array not an array", Array, `{"a":1}`, nil, "offset 0 (line 1): expected '['"},
		{"array missing comma", Array, "[1 2]", []rec{{"1", 1, 1, 1}}, "offset 3 (line 1): expected ',' or ']'"},
		{"array trailing comma", Array, "[1,]", []rec{{"1", 1, 1, 1}}, "offset 3 (line 1): unexpected ']'"},
		{"array trailing data", Array, "[1]\n x", []rec{{"1", 1, 1, 1}}, "offset 5 (line 2): unexpected 'x' after the top-level array"},
		{"array unterminated string", Array, "[\"abc", nil, "offset 1 (line 1): unterminated string"},
		{"array unterminated object", Array, "[{\"a\":[1]", nil, "offset 1 (line 1): unterminated value"},
		{"concatenated", Concatenated, "{\"a\":1}{\"b\":2} 3 \"x\"[4]\n{\"c\":\"}\\\"\"}true",
			[]rec{{`{"a":1}`, 0, 1, 1}, {`{"b":2}`, 7, 1, 2}, {"3", 15, 1, 3}, {`"x"`, 17, 1, 4}, {"[4]", 20, 1, 5}, {`{"c":"}\""}`, 24, 2, 6}, {"true", 35, 2, 7}}, ""},
		{"concatenated ndjson", Concatenated, "{}\r\n\r\n[]\n", []rec{{"{}", 0, 1, 1}, {"[]", 6, 3, 2}}, ""},
		{"concatenated escaped backslash", Concatenated, `"a\\" "b"`, []rec{{`"a\\"`, 0, 1, 1}, {`"b"`, 6, 1, 2}}, ""},
		{"concatenated unterminated", Concatenated, "{}\n{\"a\":1", []rec{{"{}", 0, 1, 1}}, "offset 3 (line 2): unterminated value"},
		{"concatenated stray closer", Concatenated, "{} }", []rec{{"{}", 0, 1, 1}}, "offset 3 (line 1): unexpected '}'"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"plain", "onebyte", "gzip", "zstd"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var r io.Reader
				switch mode {
				case "plain":
					r = strings.NewReader(tt.in)
				case "onebyte":
					r = iotest.OneByteReader(strings.NewReader(tt.in))
				case "gzip":
					r = bytes.NewReader(gz(t, []byte(tt.in)))
				case "zstd":
					r = bytes.NewReader(zst(t, []byte(tt.in)))
				}
				got, err := scanAll(t, r, Options{Format: tt.format})
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("records = %v, want %v", got, tt.want)
				}
				switch {
				case tt.err == "" && err != nil:
					t.Errorf("Err() = %v, want nil", err)
				case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
					t.Errorf("Err() = %v, want one containing %q", err, tt.err)
				case tt.err != "" && !errors.Is(err, ErrSyntax):
					t.Errorf("Err() = %v, want errors.Is ErrSyntax", err)
				}
			})
		}
	}
}

func TestScannerCompressionDetected(t *testing.T) {
	data := []byte("{\"a\":1}\n")
	for _, tt := range []struct {
		name string
		in   []byte
		want Compression
	}{
		{"plain", data, Uncompressed},
		{"gzip", gz(t, data), Gzip},
		{"zstd", zst(t, data), Zstd},
		{"short", []byte("1"), Uncompressed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustScanner(t, bytes.NewReader(tt.in), Options{Format: NDJSON})
			defer s.Close()
			if !s.Scan() {
				t.Fatalf("Scan() = false, err %v", s.Err())
			}
			if got := s.Compression(); got != tt.want {
				t.Errorf("Compression() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScannerMultiMemberGzip(t *testing.T) {
	in := append(gz(t, []byte("1\n2\n")), gz(t, []byte("3\n"))...)
	in = append(in, gz(t, []byte("4"))...)
	got, err := scanAll(t, bytes.NewReader(in), Options{})
	want := []rec{{"1", 0, 1, 1}, {"2", 2, 2, 2}, {"3", 4, 3, 3}, {"4", 6, 4, 4}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scan = %v, %v, want %v, nil", got, err, want)
	}
}

func TestScannerTruncatedGzip(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "{\"n\":%d,\"s\":\"%x\"}\n", i, rand.Uint64())
	}
	full := gz(t, []byte(b.String()))
	for _, cut := range []int{5, 15, len(full) / 2, len(full) - 4} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			got, err := scanAll(t, bytes.NewReader(full[:cut]), Options{})
			var de *DecompressError
			if !errors.As(err, &de) {
				t.Fatalf("Err() = %v, want *DecompressError", err)
			}
			if de.Compression != Gzip || de.RawOffset != int64(cut) {
				t.Errorf("DecompressError = %+v, want gzip at raw offset %d", de, cut)
			}
			lines := strings.Split(b.String(), "\n")
			for i, r := range got {
				if r.Data != lines[i] {
					t.Fatalf("record %d = %q, want %q", i+1, r.Data, lines[i])
				}
			}
			if cut < len(full)-8 && len(got) >= 20000 { // a cut in the trailer leaves every record intact
				t.Errorf("got all %d records from a truncated stream", len(got))
			}
		})
	}
}

func TestScannerCorruptZstd(t *testing.T) {
	in := zst(t, bytes.Repeat([]byte("{\"a\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}\n"), 1000))
	bad := bytes.Clone(in)
	for i := 8; i < len(bad); i += 3 {
		bad[i] ^= 0x55
	}
	_, err := scanAll(t, bytes.NewReader(bad), Options{})
	var de *DecompressError
	if !errors.As(err, &de) || de.Compression != Zstd {
		t.Errorf("Err() = %v, want zstd *DecompressError", err)
	}
	_, err = scanAll(t, bytes.NewReader(in[:len(in)-3]), Options{})
	if !errors.As(err, &de) {
		t.Errorf("truncated zstd: Err() = %v, want *DecompressError", err)
	}
}

type failReader struct {
	r   io.Reader
	err error
}

func (f *failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, tt := range []struct {
		name   string
		format Format
		in     []byte
		want   int
	}{
		{"ndjson tail dropped", NDJSON, []byte("1\n2\n3"), 2},
		{"concatenated", Concatenated, []byte("{} {} {"), 2},
		{"document", Document, []byte("{}"), 0},
		{"gzip", NDJSON, gz(t, []byte("1\n2\n3")), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cut := tt.in
			if tt.name == "gzip" {
				cut = tt.in[:len(tt.in)-8] // the data is there, the trailer is not
			}
			got, err := scanAll(t, &failReader{bytes.NewReader(cut), boom}, Options{Format: tt.format})
			var re *ReadError
			if !errors.As(err, &re) || !errors.Is(err, boom) {
				t.Fatalf("Err() = %v, want *ReadError wrapping boom", err)
			}
			if re.RawOffset != int64(len(cut)) {
				t.Errorf("RawOffset = %d, want %d", re.RawOffset, len(cut))
			}
			if len(got) != tt.want {
				t.Errorf("got %d records %v, want %d", len(got), got, tt.want)
			}
		})
	}
}

func TestScannerRecordTooLarge(t *testing.T) {
	big := strings.Repeat("x", 100)
	for _, tt := range []struct {
		name   string
		format Format
		in     string
		limit  int
		want   int // records before the error
		off    int64
		line   int64
	}{
		{"ndjson", NDJSON, "short\n" + big + "\n", 10, 1, 6, 2},
		{"ndjson unterminated", NDJSON, "short\n\n " + big, 10, 1, 8, 3},
		{"ndjson at eof", NDJSON, "1\n" + big, 50, 1, 2, 2},
		{"document", Document, big, 50, 0, 0, 1},
		{"array", Array, "[1,\n" + big + "]", 50, 1, 4, 2},
		{"concatenated", Concatenated, `{} "` + big + `"`, 50, 1, 3, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanAll(t, strings.NewReader(tt.in), Options{Format: tt.format, MaxRecordSize: tt.limit})
			var te *RecordTooLargeError
			if !errors.As(err, &te) || !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("Err() = %v, want *RecordTooLargeError", err)
			}
			if te.Offset != tt.off || te.Line != tt.line || te.Number != int64(tt.want+1) || te.Limit != tt.limit {
				t.Errorf("error = %+v, want offset %d line %d record %d", te, tt.off, tt.line, tt.want+1)
			}
			if len(got) != tt.want {
				t.Errorf("got %d records, want %d", len(got), tt.want)
			}
		})
	}
	// exactly at the limit is fine
	got, err := scanAll(t, strings.NewReader(big+"\r\n"), Options{MaxRecordSize: 100})
	if err != nil || len(got) != 1 {
		t.Errorf("record of exactly the limit: %d records, %v", len(got), err)
	}
}

func TestScannerHugeLine(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 50 MB")
	}
	line := make([]byte, 50<<20)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	line[0], line[len(line)-1] = '"', '"'
	in := io.MultiReader(strings.NewReader("{}\n"), bytes.NewReader(line), strings.NewReader("\n[]\n"))
	s := mustScanner(t, in, Options{Format: NDJSON})
	defer s.Close()
	var lens []int
	for s.Scan() {
		lens = append(lens, len(s.Bytes()))
	}
	if s.Err() != nil || fmt.Sprint(lens) != fmt.Sprint([]int{2, 50 << 20, 2}) {
		t.Errorf("lens %v, err %v", lens, s.Err())
	}
	if c := cap(s.buf); c > 2*(50<<20)+initialBufSize {
		t.Errorf("buffer grew to %d bytes for a 50 MiB line", c)
	}
}

// bigInput returns about n bytes of mixed records in the given format.
func bigInput(n int, format Format) ([]byte, []string) {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	var recs []string
	if format == Array {
		b.WriteString("[\n")
	}
	for b.Len() < n {
		var v string
		switch r.IntN(5) {
		case 0:
			v = fmt.Sprintf(`{"id":%d,"s":"br]}ack{[ \"q\" \\","n":[1,{"x":null}]}`, len(recs))
		case 1:
			v = fmt.Sprintf(`"str %d \\\\"`, len(recs))
		case 2:
			v = fmt.Sprint(r.Int64())
		case 3:
			v = fmt.Sprintf(`[%q,%s]`, strings.Repeat("z", r.IntN(5000)), "true")
		default:
			v = `{"deep":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + "}"
		}
		if format == Array && len(recs) > 0 {
			b.WriteString(",")
		}
		if len(recs) > 0 && format != Array {
			b.WriteString([]string{"\n", "\r\n", "\n\n  "}[r.IntN(3)])
		}
		b.WriteString(v)
		recs = append(recs, v)
	}
	if format == Array {
		b.WriteString("\n]\n")
	}
	return b.Bytes(), recs
}

func TestScannerLargeStreams(t *testing.T) {
	for _, f := range []Format{NDJSON, Array, Concatenated} {
		in, want := bigInput(3<<20, f)
		for _, mode := range []string{"plain", "halfbyte", "gzip"} {
			t.Run(f.String()+"/"+mode, func(t *testing.T) {
				var r io.Reader = bytes.NewReader(in)
				switch mode {
				case "halfbyte":
					r = iotest.HalfReader(r)
				case "gzip":
					r = bytes.NewReader(gz(t, in))
				}
				got, err := scanAll(t, r, Options{Format: f, MaxRecordSize: 8 << 10})
				if err != nil {
					t.Fatalf("Err() = %v", err)
				}
				if len(got) != len(want) {
					t.Fatalf("got %d records, want %d", len(got), len(want))
				}
				for i, g := range got {
					if g.Data != want[i] || string(in[g.Offset:g.Offset+int64(len(g.Data))]) != g.Data {
						t.Fatalf("record %d = %q at %d, want %q", i+1, g.Data, g.Offset, want[i])
					}
					if wl := int64(bytes.Count(in[:g.Offset], []byte{'\n'})) + 1; g.Line != wl {
						t.Fatalf("record %d line %d, want %d", i+1, g.Line, wl)
					}
				}
			})
		}
	}
}

func TestScannerResume(t *testing.T) {
	for _, f := range []Format{NDJSON, Concatenated} {
		in, _ := bigInput(1<<20, f)
		all, err := scanAll(t, bytes.NewReader(in), Options{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f.String(), func(t *testing.T) {
			s := mustScanner(t, bytes.NewReader(in), Options{Format: f})
			for k := 0; s.Scan(); k++ {
				if k%97 != 0 {
					continue
				}
				pos := s.ResumeAt()
				got, err := scanAll(t, bytes.NewReader(in[pos.Offset:]), Options{Format: f, Start: pos})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(all[k+1:]) {
					t.Fatalf("resume after record %d at %+v differs", k+1, pos)
				}
			}
		})
	}
}

func TestScannerReset(t *testing.T) {
	s := mustScanner(t, bytes.NewReader(gz(t, []byte("1\n2\n"))), Options{})
	defer s.Close()
	for s.Scan() {
	}
	for i, in := range [][]byte{[]byte("x\ny\n"), zst(t, []byte("a\nb")), gz(t, []byte("c"))} {
		s.Reset(bytes.NewReader(in))
		var got []string
		for s.Scan() {
			got = append(got, string(s.Bytes()))
		}
		want := [][]string{{"x", "y"}, {"a", "b"}, {"c"}}[i]
		if s.Err() != nil || fmt.Sprint(got) != fmt.Sprint(want) || s.Number() != int64(len(want)) {
			t.Errorf("after Reset %d: %q, %v, want %q", i, got, s.Err(), want)
		}
	}
}

func TestNewScannerRejectsInvalidOptions(t *testing.T) {
	for _, o := range []Options{
		{Format: Format(9)},
		{Format: -1},
		{MaxRecordSize: -1},
		{Start: Position{Offset: -1}},
	} {
		if _, err := NewScanner(strings.NewReader(""), o); !errors.Is(err, ErrOptions) {
			t.Errorf("NewScanner(%+v) = %v, want an error wrapping ErrOptions", o, err)
		}
	}
}

func TestScannerNoAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts are not meaningful under -race or coverage")
	}
	for _, f := range []Format{NDJSON, Array, Concatenated} {
		in, _ := bigInput(4<<20, f)
		for _, mode := range []string{"plain", "gzip"} {
			t.Run(f.String()+"/"+mode, func(t *testing.T) {
				data := in
				if mode == "gzip" {
					data = gz(t, in)
				}
				r := bytes.NewReader(data)
				s := mustScanner(t, r, Options{Format: f})
				defer s.Close()
				n := 0
				allocs := testing.AllocsPerRun(3, func() {
					r.Reset(data)
					s.Reset(r)
					n = 0
					for s.Scan() {
						n++
					}
				})
				if s.Err() != nil || n < 1000 {
					t.Fatalf("%d records, Err() = %v", n, s.Err())
				}
				// a pass over a gzip stream may allocate a little in the
				// decompressor's Reset, once per stream; never per record
				limit := 0.0
				if mode == "gzip" {
					limit = 8
				}
				if allocs > limit {
					t.Errorf("%v allocations per pass of %d records, want <= %v", allocs, n, limit)
				}
			})
		}
	}
}

func TestScannerClosed(t *testing.T) {
	s := mustScanner(t, strings.NewReader("1\n2\n"), Options{})
	if !s.Scan() {
		t.Fatal(s.Err())
	}
	s.Close()
	if s.Scan() || !errors.Is(s.Err(), ErrClosed) {
		t.Errorf("Scan after Close: Err() = %v, want ErrClosed", s.Err())
	}
	s.Reset(strings.NewReader("3\n"))
	if !s.Scan() || string(s.Bytes()) != "3" {
		t.Errorf("Scan after Reset = %q, %v", s.Bytes(), s.Err())
	}
}

// TestZeroScanner: a zero Scanner reads NDJSON with the default limits after
// Reset, and says it has no reader without one.
func TestZeroScanner(t *testing.T) {
	var s Scanner
	if s.Scan() || !errors.Is(s.Err(), ErrNoReader) {
		t.Errorf("zero Scanner without Reset: Err() = %v, want ErrNoReader", s.Err())
	}
	var z Scanner
	z.Reset(strings.NewReader("{\"a\":{\"b\":1}}\n" + strings.Repeat("x", 300<<10) + "\n"))
	var got []int
	for z.Scan() {
		got = append(got, len(z.Bytes()))
	}
	if z.Err() != nil || fmt.Sprint(got) != fmt.Sprint([]int{13, 300 << 10}) {
		t.Errorf("zero Scanner after Reset: records of %v bytes, Err() = %v; want [13 %d], nil", got, z.Err(), 300<<10)
	}
}
