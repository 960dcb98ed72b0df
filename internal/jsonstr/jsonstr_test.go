package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// cases are the exact outputs callers depend on: the staged NDJSON, the
// flatten command's lines and the subtree VARIANT text keep these bytes.
var cases = []struct {
	name, in, want string
}{
	{"empty", "", `""`},
	{"plain", "hello world", `"hello world"`},
	{"quote and backslash", `say "hi" \ bye`, `"say \"hi\" \\ bye"`},
	{"short escapes", "a\nb\rc\td", `"a\nb\rc\td"`},
	{"other controls", "\x00\x01\b\f\x1f", `"\u0000\u0001\u0008\u000c\u001f"`},
	{"DEL kept", "\x7f", "\"\x7f\""},
	{"html kept", "<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`},
	{"slash kept", "a/b", `"a/b"`},
	{"line separators kept", "a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
	{"multibyte", "Zürich Straße 東京 🎉", `"Zürich Straße 東京 🎉"`},
	{"U+FFFD kept", "a\ufffdb", "\"a\ufffdb\""},
	{"invalid byte", "a\xffb", "\"a\ufffdb\""},
	{"truncated sequence", "ab\xe6\x9d", "\"ab\ufffd\ufffd\""},
	{"surrogate half", "\xed\xa0\x80", "\"\ufffd\ufffd\ufffd\""},
	{"overlong", "\xc0\xaf", "\"\ufffd\ufffd\""},
	{"escape in second word", "0123456789\"abc", `"0123456789\"abc"`},
	{"escape at word end", "0123456\n89abcdef", `"0123456\n89abcdef"`},
	{"rune across words", "0123456é89abcdef\x01", `"0123456é89abcdef\u0001"`},
	{"long plain", strings.Repeat("abcdefgh", 9) + "x", `"` + strings.Repeat("abcdefgh", 9) + `x"`},
}

func TestAppend(t *testing.T) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := Append([]byte("prefix:"), []byte(tt.in))
			if string(got) != "prefix:"+tt.want {
				t.Errorf("Append(%q) = %q, want %q", tt.in, got, "prefix:"+tt.want)
			}
			checkDecodes(t, []byte(tt.in), got[len("prefix:"):])
		})
	}
}

// TestAppendPositions puts each kind of byte that needs a look at every
// place of the first three words and the tail, where the word-at-a-time
// scan and the byte loop hand over to each other.
func TestAppendPositions(t *testing.T) {
	kinds := []string{`"`, `\`, "\n", "\x01", "\x1f", "\x7f", "\x80", "\xff", "é", "東", "🎉", "\xed\xa0\x80", "\xe6\x9d"}
	filler := strings.Repeat("abcdefgh", 3) + "xyz"
	for _, k := range kinds {
		for at := 0; at <= len(filler); at++ {
			in := []byte(filler[:at] + k + filler[at:])
			checkDecodes(t, in, Append(nil, in))
		}
	}
}

// checkDecodes is the oracle: encoding/json decodes out to s, with each
// byte of s that is not valid UTF-8 read as U+FFFD (as a range loop reads
// it).
func checkDecodes(t *testing.T, s, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("Append(%q) = %q: not valid UTF-8", s, out)
	}
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("Append(%q) = %q: json.Unmarshal: %v", s, out, err)
	}
	want := []rune(string(s)) // an invalid byte becomes U+FFFD
	if got != string(want) {
		t.Fatalf("json.Unmarshal(Append(%q)) = %q, want %q", s, got, string(want))
	}
	if utf8.Valid(s) && got != string(s) {
		t.Fatalf("json.Unmarshal(Append(%q)) = %q, want the input", s, got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, tt := range cases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		out := Append(nil, s)
		checkDecodes(t, s, out)
		// The escaping is a function of each byte alone: appending to a
		// non-empty buffer, or in two halves, gives the same bytes.
		if again := Append([]byte("x"), s); string(again[1:]) != string(out) {
			t.Fatalf("Append(%q) after a prefix = %q, want %q", s, again[1:], out)
		}
	})
}

func TestAppendAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage and -race")
	}
	dst := make([]byte, 0, 1024)
	for _, tt := range cases {
		in := []byte(tt.in)
		if a := testing.AllocsPerRun(100, func() { dst = Append(dst[:0], in) }); a != 0 {
			t.Errorf("Append(%q) allocates %v times, want 0", tt.in, a)
		}
	}
}

// benchCorpora are strings as flattened records hold them.
var benchCorpora = []struct{ name, s string }{
	{"key", "customer_id"},
	{"ascii", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
	{"escapes", "line one\nshe said \"no\"\tC:\\temp\\x\r\nline two \"quoted\" \\ end\n"},
	{"latin", "Bahnhofstraße 12, 8001 Zürich; Rua São João 5, São Paulo; café crème"},
	{"cjk", "東京都渋谷区神南一丁目十九番十一号、パークウェイスクエア二階の会議室"},
	{"controls", "\x00\x01\x02 bell\x07 form\x0c feed \x1b[0m done \x1f"},
}

func BenchmarkAppend(b *testing.B) {
	for _, c := range benchCorpora {
		b.Run(c.name, func(b *testing.B) {
			s := []byte(c.s)
			dst := make([]byte, 0, 4*len(s)+2)
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				dst = Append(dst[:0], s)
			}
		})
	}
}
