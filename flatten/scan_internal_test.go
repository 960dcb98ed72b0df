package flatten

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand"
	"testing"
	"unicode/utf8"
)

// The scanning primitives are checked against reference copies of their
// earlier, simpler versions (the ref* functions below) on random documents
// rich in quotes, escapes, control bytes, UTF-8 and number syntax, at every
// start offset and with the input cut at every length, so that fast paths
// keep the exact results, error offsets and messages. scanKey's hash is
// checked against keyHash of the key.

var scanAlphabet = []string{
	`"`, `"`, `"`, `\`, `\`, `\u`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\uDC00x`, `\n`, `\"`, `\/`, `\x`,
	"a", "b", "k", "z", "A", "0", "1", "9", "-", "+", ".", "e", "E", "f", "F", "u", " ", "\t", "\n", "\r",
	"\x00", "\x1f", "\x7f", ":", "::", ",", "{", "}", "[", "]", "é", "€", "😀", "\xed\xa0\x80", "\xe0\x80\x80",
	"\xc0\xaf", "\x80", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xf4\x90\x80\x80", "true", "null", "fals",
	"abcdefgh", "12345678", "        ", "0.5e-3", "1E+9", "00", "-0", "\xc2\x80", "\xef\xbf\xbf",
}

func randScanDoc(r *rand.Rand) []byte {
	var b []byte
	n := r.Intn(12)
	for k := 0; k < n; k++ {
		if r.Intn(4) == 0 {
			// a run of plain bytes, to exercise the word-at-a-time loops
			m := r.Intn(20)
			for j := 0; j < m; j++ {
				b = append(b, "abcxyz019._-"[r.Intn(12)])
			}
			continue
		}
		b = append(b, scanAlphabet[r.Intn(len(scanAlphabet))]...)
	}
	return b
}

func checkScanAt(t *testing.T, doc []byte, i int) {
	t.Helper()
	if doc[i] == '"' {
		e1, f1, m1 := scanString(doc, i)
		e2, f2, m2 := refScanString(doc, i)
		if e1 != e2 || f1 != f2 || m1 != m2 {
			t.Fatalf("scanString(%q, %d) = %d, %v, %q; want %d, %v, %q", doc, i, e1, f1, m1, e2, f2, m2)
		}
		if e1 >= 0 && f1&strEscaped != 0 {
			body := doc[i+1 : e1-1]
			u1 := appendUnescaped([]byte("pre"), body)
			u2 := refAppendUnescaped([]byte("pre"), body)
			if !bytes.Equal(u1, u2) {
				t.Fatalf("appendUnescaped(%q) = %q; want %q", body, u1, u2)
			}
		}
		for _, sep := range []byte{'.', ':', '_', 'a', 0x80, '"'} {
			ke1, kf1, kh1, km1 := scanKey(doc, i, sep)
			ke2, kf2, _, km2 := refScanKey(doc, i, sep)
			if ke1 != ke2 || kf1 != kf2 || km1 != km2 {
				t.Fatalf("scanKey(%q, %d, %q) = %d, %v, %q; want %d, %v, %q", doc, i, sep, ke1, kf1, km1, ke2, kf2, km2)
			}
			if ke1 >= 0 {
				if kf1&strEscaped == 0 {
					if want := keyHash(doc[i+1 : ke1-1]); kh1 != want {
						t.Fatalf("scanKey(%q, %d) hash %x; keyHash %x", doc, i, kh1, want)
					}
				} else if kh1 != 0 {
					t.Fatalf("scanKey(%q, %d): escaped key with hash %x", doc, i, kh1)
				}
			}
		}
	}
	if c := doc[i]; c == '-' || c-'0' < 10 {
		if e1, e2 := scanNumber(doc, i), refScanNumber(doc, i); e1 != e2 {
			t.Fatalf("scanNumber(%q, %d) = %d; want %d", doc, i, e1, e2)
		}
	}
	if c := doc[i]; c == 't' || c == 'f' || c == 'n' {
		e1, k1 := scanLiteral(doc, i)
		e2, k2 := refScanLiteral(doc, i)
		if e1 != e2 || k1 != k2 {
			t.Fatalf("scanLiteral(%q, %d) = %d, %v; want %d, %v", doc, i, e1, k1, e2, k2)
		}
	}
	if e1, e2 := skipWS(doc, i), refSkipWSRun(doc, i); e1 != e2 {
		t.Fatalf("skipWS(%q, %d) = %d; want %d", doc, i, e1, e2)
	}
	if e1, e2 := skipWSRun(doc, i), refSkipWSRun(doc, i); e1 != e2 {
		t.Fatalf("skipWSRun(%q, %d) = %d; want %d", doc, i, e1, e2)
	}
}

func TestScanPrimitivesAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	iters := 60000
	if testing.Short() {
		iters = 5000
	}
	vf, _ := New(Options{})
	for it := 0; it < iters; it++ {
		doc := randScanDoc(r)
		for cut := len(doc); cut >= 0 && cut >= len(doc)-12; cut-- {
			d := doc[:cut:cut]
			for i := range d {
				checkScanAt(t, d, i)
			}
			if e1, e2 := skipWS(d, len(d)), refSkipWSRun(d, len(d)); e1 != e2 {
				t.Fatalf("skipWS(%q, end) = %d; want %d", d, e1, e2)
			}
		}
		if json.Valid(doc) && utf8.Valid(doc) {
			// The validator's one-pass compaction of kept containers.
			vf.doc, vf.arena = doc, vf.arena[:0]
			start := skipWS(doc, 0)
			end, ws, err := vf.scanValue(start, true)
			if err != nil || skipWS(doc, end) != len(doc) {
				t.Fatalf("scanValue(%q) = %d, %v", doc, end, err)
			}
			c1 := doc[start:end]
			if ws {
				c1 = vf.arena
			}
			if c2 := refAppendCompact(nil, doc[start:end]); !bytes.Equal(c1, c2) {
				t.Fatalf("compact %q = %q; want %q", doc, c1, c2)
			}
		}
	}
}

// TestKeyHashMatchesScanKey checks, for keys of every length up to 40 at
// every alignment and with the document ending right after the key or
// later, that scanKey's hash of an unescaped key is keyHash of its bytes,
// and that keys differing in length or in one byte hash apart.
func TestKeyHashMatchesScanKey(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	seen := map[uint64]string{}
	for l := 0; l <= 40; l++ {
		for rep := 0; rep < 50; rep++ {
			key := make([]byte, l)
			for j := range key {
				key[j] = "ab.yz\x7fé0"[r.Intn(9)]
			}
			if !utf8.Valid(key) {
				continue
			}
			for pre := 0; pre < 9; pre++ {
				for post := 0; post < 10; post++ {
					doc := append(bytes.Repeat([]byte{' '}, pre), '"')
					doc = append(doc, key...)
					doc = append(doc, '"')
					doc = append(doc, bytes.Repeat([]byte{'}'}, post)...)
					end, fl, h, msg := scanKey(doc, pre, '.')
					if end != pre+l+2 || msg != "" || fl&strEscaped != 0 {
						t.Fatalf("scanKey(%q) = %d, %v, %q", doc, end, fl, msg)
					}
					if want := keyHash(key); h != want {
						t.Fatalf("scanKey(%q) hash %x; keyHash %x", doc, h, want)
					}
					if (fl&strHasSep != 0) != (bytes.IndexByte(key, '.') >= 0) {
						t.Fatalf("scanKey(%q) sep flag %v", doc, fl)
					}
				}
			}
			if prev, ok := seen[keyHash(key)]; ok && prev != string(key) {
				t.Fatalf("keyHash collision: %q and %q", prev, key)
			}
			seen[keyHash(key)] = string(key)
		}
	}
	// Trailing NUL bytes (from \u0000) must not collide with shorter keys.
	for l := 0; l < 20; l++ {
		a := bytes.Repeat([]byte{0}, l)
		b := bytes.Repeat([]byte{0}, l+1)
		if keyHash(a) == keyHash(b) {
			t.Fatalf("keyHash(%q) == keyHash(%q)", a, b)
		}
	}
}

// Reference versions: the scanners as they were before the fast paths.

func refSkipWSRun(doc []byte, i int) int {
	n := len(doc)
	for {
		if i+8 <= n {
			w := binary.LittleEndian.Uint64(doc[i:]) ^ (lo8 * ' ')
			if w == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(w) >> 3
		}
		if i >= n || !isWS[doc[i]] {
			return i
		}
		i++
	}
}

func refScanString(doc []byte, i int) (end int, fl strFlags, msg string) {
	n := len(doc)
	i++ // opening quote
	for {
		for i+8 <= n {
			w := binary.LittleEndian.Uint64(doc[i:])
			q := w ^ (lo8 * '"')
			b := w ^ (lo8 * '\\')
			m := (((q - lo8) &^ q) | ((b - lo8) &^ b) | ((w - lo8*0x20) &^ w) | w) & hi8
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= n {
			return ^n, fl, "unterminated string"
		}
		c := doc[i]
		switch {
		case c == '"':
			return i + 1, fl, ""
		case c == '\\':
			fl |= strEscaped
			if i+1 >= n {
				return ^n, fl, "unterminated string"
			}
			switch doc[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= n {
						return ^n, fl, "unterminated string"
					}
					if hexVal[doc[k]] < 0 {
						return ^k, fl, "invalid \\u escape"
					}
				}
				i += 6
			default:
				return ^(i + 1), fl, "invalid escape character"
			}
		case c < 0x20:
			return ^i, fl, "control character in string"
		case c < 0x80:
			i++
		default:
			fl |= strNonASCII
			for i < n && doc[i] >= 0x80 {
				c := doc[i]
				switch {
				case c >= 0xE1 && c <= 0xEF && c != 0xED:
					if i+2 >= n || (uint16(doc[i+1])|uint16(doc[i+2])<<8)&0xC0C0 != 0x8080 {
						return ^i, fl, "invalid UTF-8 in string"
					}
					i += 3
				case c >= 0xC2 && c <= 0xDF:
					if i+1 >= n || doc[i+1]&0xC0 != 0x80 {
						return ^i, fl, "invalid UTF-8 in string"
					}
					i += 2
				default:
					r, size := utf8.DecodeRune(doc[i:])
					if r == utf8.RuneError && size <= 1 {
						return ^i, fl, "invalid UTF-8 in string"
					}
					i += size
				}
			}
		}
	}
}

func refScanKey(doc []byte, i int, sep byte) (end int, fl strFlags, h uint64, msg string) {
	n := len(doc)
	start := i + 1
	i = start
	h = hm1
	var high, seen uint64
	sepw := lo8 * uint64(sep)
	for i+8 <= n {
		w := binary.LittleEndian.Uint64(doc[i:])
		q := w ^ (lo8 * '"')
		b := w ^ (lo8 * '\\')
		sw := w ^ sepw
		m := (((q - lo8) &^ q) | ((b - lo8) &^ b) | ((w - lo8*0x20) &^ w)) & hi8
		sm := ((sw - lo8) &^ sw) & hi8
		if m != 0 {
			t := bits.TrailingZeros64(m) // 8*idx+7
			keep := uint64(1)<<(t-7) - 1
			i += t >> 3
			if doc[i] != '"' {
				break
			}
			if keep != 0 {
				h = hmix(h ^ w&keep)
			}
			high |= w & keep
			seen |= sm & keep
			return refKeyDone(i, start, h, high, seen)
		}
		h = hmix(h ^ w)
		high |= w
		seen |= sm
		i += 8
	}
	if i+8 > n {
		var w uint64
		for j := 0; i < n; i, j = i+1, j+1 {
			c := doc[i]
			if c == '"' {
				if j > 0 {
					h = hmix(h ^ w)
				}
				high |= w
				return refKeyDone(i, start, h, high, seen)
			}
			if c == '\\' || c < 0x20 {
				break
			}
			if c == sep {
				seen = hi8
			}
			w |= uint64(c) << (8 * j)
		}
	}
	// An escape, a control character or the end of input: the slow scan
	// reports errors and flags; the caller hashes the unescaped key.
	end, fl, msg = refScanString(doc, start-1)
	return end, fl, 0, msg
}

func refKeyDone(i, start int, h, high, seen uint64) (int, strFlags, uint64, string) {
	var fl strFlags
	if high&hi8 != 0 {
		fl |= strNonASCII
	}
	if seen != 0 {
		fl |= strHasSep
	}
	return i + 1, fl, hmix(h ^ uint64(i-start)), ""
}

func refAppendUnescaped(dst, s []byte) []byte {
	for len(s) > 0 {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			dst = append(dst, s...)
			break
		}
		dst = append(dst, s[:k]...)
		s = s[k:]
		switch s[1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[2:6]))
			s = s[6:]
			if r >= 0xD800 && r < 0xDC00 {
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					r2 := rune(hex4(s[2:6]))
					if r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						s = s[6:]
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[1])
		}
		s = s[2:]
	}
	return dst
}

func refScanNumber(doc []byte, i int) int {
	n := len(doc)
	if doc[i] == '-' {
		i++
		if i >= n {
			return ^i
		}
	}
	switch c := doc[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = refDigits(doc, i+1)
	default:
		return ^i
	}
	if i < n && doc[i] == '.' {
		i++
		if i >= n || doc[i]-'0' >= 10 {
			return ^i
		}
		i = refDigits(doc, i+1)
	}
	if i < n && doc[i]|0x20 == 'e' {
		i++
		if i < n && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		if i >= n || doc[i]-'0' >= 10 {
			return ^i
		}
		i = refDigits(doc, i+1)
	}
	return i
}

func refDigits(doc []byte, i int) int {
	for i+8 <= len(doc) {
		w := binary.LittleEndian.Uint64(doc[i:])
		// A byte is a digit iff its high nibble is 3 and its low nibble
		// plus 6 does not carry into the high nibble. No carry crosses
		// bytes.
		bad := (w&0xF0F0F0F0F0F0F0F0 ^ 0x3030303030303030) | ((w&0x0F0F0F0F0F0F0F0F + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0)
		if bad != 0 {
			return i + bits.TrailingZeros64(bad)>>3
		}
		i += 8
	}
	for i < len(doc) && doc[i]-'0' < 10 {
		i++
	}
	return i
}

func refScanLiteral(doc []byte, i int) (int, Kind) {
	rest := doc[i:]
	switch doc[i] {
	case 't':
		if len(rest) >= 4 && string(rest[:4]) == "true" {
			return i + 4, Bool
		}
	case 'f':
		if len(rest) >= 5 && string(rest[:5]) == "false" {
			return i + 5, Bool
		}
	case 'n':
		if len(rest) >= 4 && string(rest[:4]) == "null" {
			return i + 4, Null
		}
	}
	// Point at the first byte that differs.
	want := "null"
	switch doc[i] {
	case 't':
		want = "true"
	case 'f':
		want = "false"
	}
	k := 0
	for k < len(want) && k < len(rest) && rest[k] == want[k] {
		k++
	}
	return ^(i + k), 0
}

func refAppendCompact(dst, v []byte) []byte {
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c == '"' {
			end, _, _ := refScanString(v, i) // v is valid: end > i
			i = end
			continue
		}
		if isWS[c] {
			dst = append(dst, v[start:i]...)
			i = refSkipWSRun(v, i)
			start = i
			continue
		}
		i++
	}
	return append(dst, v[start:]...)
}

// TestScanEveryByteEveryPosition puts each byte value at each position of
// word-sized runs of plain key bytes and of digits, after one or two other
// bytes, so that every lane of the word-at-a-time masks sees every byte
// next to every kind of neighbour.
func TestScanEveryByteEveryPosition(t *testing.T) {
	for _, fill := range []byte{'a', '5', ' ', '"', 0xC3, 0xA9} {
		for _, before := range []byte{'a', '1', '"', '\\', 0x00, 0x1F, 0x20, 0x2F, 0x3A, 0x7F, 0x80, 0xFF} {
			for c := 0; c < 256; c++ {
				for pos := 0; pos < 18; pos++ {
					for _, size := range []int{pos + 1, pos + 2, 20} {
						doc := make([]byte, size)
						for k := range doc {
							doc[k] = fill
						}
						doc[0] = '"'
						if pos > 1 {
							doc[pos-1] = before
						}
						doc[pos] = byte(c)
						checkScanAt(t, doc, 0)
						if pos > 0 {
							doc[0] = '-'
							checkScanAt(t, doc, 0)
							doc[0] = '1'
							checkScanAt(t, doc, 0)
						}
						if e1, e2 := digits(doc, 0), refDigits(doc, 0); e1 != e2 {
							t.Fatalf("digits(%q) = %d; want %d", doc, e1, e2)
						}
					}
				}
			}
		}
	}
}
