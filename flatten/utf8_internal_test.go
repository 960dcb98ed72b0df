package flatten

import (
	"testing"
	"unicode/utf8"
)

// FuzzValidUTF8 checks the fast validator against utf8.Valid.
func FuzzValidUTF8(f *testing.F) {
	for _, s := range []string{"", "abc", "日本語テキスト", "é", "\xed\xa0\x80", "\xe0\x80\x80", "\xe0\xa0\x80", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe6\x97", "abcdefgh\xe6\x97\xa5", "\xff", "\xc2\x80", "\xc2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := validUTF8(s), utf8.Valid(s); got != want {
			t.Fatalf("validUTF8(%q) = %v, utf8.Valid = %v", s, got, want)
		}
	})
}

func TestValidUTF8AllShortSequences(t *testing.T) {
	// Every 1-, 2- and 3-byte sequence, and 4-byte sequences with a sample
	// of tails, against utf8.Valid.
	var b [4]byte
	for x := 0; x < 1<<24; x += 1 {
		b[0], b[1], b[2] = byte(x>>16), byte(x>>8), byte(x)
		for _, n := range []int{1, 2, 3} {
			if n == 1 && x&0xFFFF != 0 || n == 2 && x&0xFF != 0 {
				continue
			}
			if got, want := validUTF8(b[:n]), utf8.Valid(b[:n]); got != want {
				t.Fatalf("validUTF8(%q) = %v, want %v", b[:n], got, want)
			}
		}
		if x&0xFF == 0x80 || x&0xFF == 0xBF || x&0xFF == 0x7F {
			b[3] = 0x80
			if got, want := validUTF8(b[:4]), utf8.Valid(b[:4]); got != want {
				t.Fatalf("validUTF8(%q) = %v, want %v", b[:4], got, want)
			}
		}
	}
}

// TestScanStringAllShortSequences checks the string scanner's UTF-8
// validation against utf8.Valid for every string body of one to three bytes
// (and four-byte bodies with sample tails) that has no quote, backslash or
// control character.
func TestScanStringAllShortSequences(t *testing.T) {
	buf := make([]byte, 0, 16)
	plain := func(b []byte) bool {
		for _, c := range b {
			if c == '"' || c == '\\' || c < 0x20 {
				return false
			}
		}
		return true
	}
	check := func(body []byte) {
		if !plain(body) {
			return
		}
		buf = append(append(append(buf[:0], '"'), body...), '"')
		end, _, _ := scanString(buf, 0)
		if got, want := end == len(buf), utf8.Valid(body); got != want {
			t.Fatalf("scanString(%q) accepted=%v, utf8.Valid=%v", buf, got, want)
		}
	}
	var b [4]byte
	for x := 0; x < 1<<24; x++ {
		b[0], b[1], b[2] = byte(x>>16), byte(x>>8), byte(x)
		if x&0xFFFF == 0 {
			check(b[:1])
		}
		if x&0xFF == 0 {
			check(b[:2])
		}
		check(b[:3])
		if x&0xFF == 0x80 || x&0xFF == 0xBF {
			b[3] = 0x80
			check(b[:4])
		}
	}
}
