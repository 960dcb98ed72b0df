package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzScanner checks, for every format, that the scanner never panics, that
// each record is the input's bytes at the reported offset and line, that
// reading one byte at a time gives the same result, and two oracles: NDJSON
// against strings.Split, Concatenated against encoding/json's Decoder.
func FuzzScanner(f *testing.F) {
	seeds := []string{
		"{\"a\":1}\n{\"b\":2}\n", "1\r\n\r\n2", `[1, "a]b", {"x":"\"]"}, [2,[3]], null]`,
		`{"a":1}{"b":2} 3 "x"[4]`, `"a\\" "b"`, "[1,2", `["abc`, "[1,]", "\xef\xbb\xbf[]", "{} }",
	}
	for _, s := range seeds {
		for f2 := range 4 {
			f.Add([]byte(s), uint8(f2))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		opts := Options{Format: Format(format % 4), MaxRecordSize: 64}
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b || len(data) >= 4 && data[0] == 0x28 && data[1] == 0xb5 {
			// compressed garbage: only check that nothing panics
			s, _ := NewScanner(bytes.NewReader(data), opts)
			for s.Scan() {
			}
			s.Close()
			return
		}
		got, err := scanAll(t, bytes.NewReader(data), opts)
		one, err1 := scanAll(t, iotest.OneByteReader(bytes.NewReader(data)), opts)
		if len(got) != len(one) || (err == nil) != (err1 == nil) {
			t.Fatalf("one-byte reads differ: %v %v vs %v %v", got, err, one, err1)
		}
		if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		for i, r := range got {
			if r != one[i] {
				t.Fatalf("one-byte record %d = %v, want %v", i, one[i], r)
			}
			if r.Data == "" || r.Offset < 0 || r.Offset+int64(len(r.Data)) > int64(len(data)) ||
				string(data[r.Offset:r.Offset+int64(len(r.Data))]) != r.Data {
				t.Fatalf("record %d %v does not match the input", i, r)
			}
			if wl := int64(bytes.Count(data[:r.Offset], []byte{'\n'})) + 1; r.Line != wl || r.Number != int64(i+1) {
				t.Fatalf("record %d %v: want line %d", i, r, wl)
			}
		}
		switch opts.Format {
		case NDJSON:
			var want []string
			for l := range strings.SplitSeq(strings.TrimPrefix(string(data), "\xef\xbb\xbf"), "\n") {
				if l = strings.Trim(l, " \t\r\n"); l != "" {
					want = append(want, l)
				}
			}
			if err == nil {
				if len(want) != len(got) {
					t.Fatalf("NDJSON: %d records, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i].Data != want[i] {
						t.Fatalf("NDJSON record %d = %q, want %q", i, got[i].Data, want[i])
					}
				}
			}
		case Concatenated:
			if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
				return
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			var want []string
			for {
				var v json.RawMessage
				if e := dec.Decode(&v); e == io.EOF {
					break
				} else if e != nil || len(v) > 64 {
					return // the oracle only covers valid, small input
				}
				end := dec.InputOffset()
				if end < int64(len(data)) && v[0] != '{' && v[0] != '[' && v[0] != '"' &&
					!strings.ContainsRune(" \t\r\n{[\"", rune(data[end])) {
					return // json splits "truefalse"; the scanner does not
				}
				want = append(want, string(v))
			}
			if err != nil || len(got) != len(want) {
				t.Fatalf("Concatenated: %v, %v; want %q", got, err, want)
			}
			for i := range want {
				if got[i].Data != want[i] {
					t.Fatalf("Concatenated record %d = %q, want %q", i, got[i].Data, want[i])
				}
			}
		}
	})
}
