package flatten

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Byte classes and scanning primitives shared by the walker and the
// validator. Everything here works on indices into the document and never
// allocates.

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// isWS reports JSON insignificant whitespace (RFC 8259: space, tab, LF, CR).
var isWS = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// skipWS returns the index of the first non-whitespace byte at or after i.
// The common case, no whitespace, is inlined at the call site.
func skipWS(doc []byte, i int) int {
	if uint(i) < uint(len(doc)) && doc[i] > ' ' { // one compare: no bounds check
		return i
	}
	return skipWSRun(doc, i)
}

// skipWSRun skips whitespace. Indentation (runs of spaces after a newline)
// goes sixteen bytes per step, with one bounds check per step. It is kept
// out of line so that skipWS inlines to a compare and a call.
//
//go:noinline
func skipWSRun(doc []byte, i int) int {
	const spaces = lo8 * ' '
	if i < len(doc) && doc[i] == '\n' {
		i++ // a line break, then usually indentation
	}
	for {
		if i+16 <= len(doc) {
			b := doc[i : i+16]
			w0 := binary.LittleEndian.Uint64(b[:8])
			w1 := binary.LittleEndian.Uint64(b[8:])
			if w0 != spaces {
				i += bits.TrailingZeros64(w0^spaces) >> 3
			} else if w1 != spaces {
				i += 8 + bits.TrailingZeros64(w1^spaces)>>3
			} else {
				i += 16
				continue
			}
		}
		if i >= len(doc) || !isWS[doc[i]] {
			return i
		}
		i++
	}
}

// strFlags describe a scanned string's content.
type strFlags uint8

const (
	strEscaped  strFlags = 1 << iota // contains a backslash escape
	strNonASCII                      // contains a byte >= 0x80
)

// scanString scans the string whose opening quote is at doc[i], validating
// its escapes and its UTF-8 in the same pass: ASCII runs go eight bytes at a
// time, runs of multi-byte characters are checked sequence by sequence (a
// byte >= 0x80 can be neither a quote, a backslash nor a control character).
// It returns the index just past the closing quote, or, on failure, a
// negative value whose complement is the offset of the offending byte, and a
// message.
//
// It is longer than a screen and kept whole: moving the escape and the
// multi-byte branches into functions of their own costs 2.0-3.1% more
// instructions in Append on twitter.json and github_events.ndjson
// (callgrind, BenchmarkAppend/*/{index,json}), every string being scanned
// here.
func scanString(doc []byte, i int) (end int, fl strFlags, msg string) {
	n := len(doc)
	i++ // opening quote
outer:
	for {
		for i >= 0 && i < n-7 { // i+8 <= n, in a form that spares the bounds check
			w := binary.LittleEndian.Uint64(doc[i:])
			q := w ^ (lo8 * '"')
			b := w ^ (lo8 * '\\')
			// A byte of w is special (a quote, a backslash, a
			// control character or >= 0x80) iff its high bit is set
			// in m: a byte of q or b is >= 0x80 only if w's is, and
			// a subtraction borrows out of a byte only if it is
			// special, so the lowest set bit of m is exact.
			m := ((q - lo8) | (b - lo8) | (w - lo8*0x20) | w) & hi8
			if m != 0 {
				low := m & -m
				if (q-lo8)&^q&low != 0 {
					return i + bits.Len64(low)>>3, fl, ""
				}
				i += bits.TrailingZeros64(low) >> 3
				break
			}
			i += 8
		}
		if uint(i) >= uint(n) {
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
				if i >= 0 && i < n-5 { // i+6 <= n
					v := binary.LittleEndian.Uint32(doc[i+2:])
					if hexVal[byte(v)]|hexVal[byte(v>>8)]|hexVal[byte(v>>16)]|hexVal[byte(v>>24)] >= 0 {
						i += 6
						break
					}
				}
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
			// A run of multi-byte sequences, each checked in one
			// four-byte word.
			for i >= 0 && i < n-3 { // i+4 <= n
				v := binary.LittleEndian.Uint32(doc[i:])
				switch c := byte(v); {
				case c < 0x80:
					continue outer
				case c-0xE1 <= 0xEF-0xE1 && c != 0xED:
					// U+1000–U+FFFF except the surrogate block.
					if v&0xC0C000 != 0x808000 {
						return ^i, fl, "invalid UTF-8 in string"
					}
					i += 3
				case c-0xC2 <= 0xDF-0xC2:
					if v&0xC000 != 0x8000 {
						return ^i, fl, "invalid UTF-8 in string"
					}
					i += 2
				default:
					size := seqLen(v)
					if size == 0 {
						return ^i, fl, "invalid UTF-8 in string"
					}
					i += size
				}
			}
			// The last three bytes, zero-padded (so that a truncated
			// sequence fails its continuation-byte test).
			for i < n && doc[i] >= 0x80 {
				var v uint32
				for k := n - 1; k >= i; k-- {
					v = v<<8 | uint32(doc[k])
				}
				size := seqLen(v)
				if size == 0 {
					return ^i, fl, "invalid UTF-8 in string"
				}
				i += size
			}
		}
	}
}

// utf8Lead describes the UTF-8 sequences a byte >= 0x80 can start: their
// length, the range of their second byte, and the mask selecting their
// further (continuation) bytes in a little-endian word. Bytes that start
// no sequence have a mask that no word matches.
type utf8Lead struct {
	size, lo, hi uint8
	mask, want   uint32
}

var utf8Leads = func() (t [256]utf8Lead) {
	for c := range t {
		switch {
		case c >= 0xC2 && c <= 0xDF:
			t[c] = utf8Lead{2, 0x80, 0xBF, 0, 0}
		case c >= 0xE0 && c <= 0xEF:
			t[c] = utf8Lead{3, 0x80, 0xBF, 0xC00000, 0x800000}
		case c >= 0xF0 && c <= 0xF4:
			t[c] = utf8Lead{4, 0x80, 0xBF, 0xC0C00000, 0x80800000}
		default:
			t[c] = utf8Lead{0, 0, 0xFF, 0, 1}
		}
	}
	// As in utf8.DecodeRune: no overlong forms, no surrogates, nothing
	// above U+10FFFF.
	t[0xE0].lo = 0xA0
	t[0xED].hi = 0x9F
	t[0xF0].lo = 0x90
	t[0xF4].hi = 0x8F
	return t
}()

// seqLen returns the length of the UTF-8 sequence at the start of v (the
// next four bytes, little-endian, zero-padded past the end of the input)
// whose first byte is >= 0x80, or 0 if it is not a valid one.
func seqLen(v uint32) int {
	l := &utf8Leads[byte(v)]
	if byte(v>>8)-l.lo > l.hi-l.lo || v&l.mask != l.want {
		return 0
	}
	return int(l.size)
}

const (
	hm1 = 0x9E3779B97F4A7C15
	hm2 = 0xC2B2AE3D27D4EB4F
)

func hmix(h uint64) uint64 {
	h *= hm2
	return h ^ h>>29
}

// keyHash hashes unescaped key bytes followed by a '"' terminator (which
// makes the zero padding unambiguous, so the length need not be mixed in):
// 8-byte little-endian chunks from the start, the last one zero-padded.
// scanKey computes the same function while it scans, the closing quote of
// the key serving as the terminator. Collisions only cost a slow run.
func keyHash(k []byte) uint64 {
	h := uint64(hm1)
	p := k
	for ; len(p) >= 8; p = p[8:] {
		h = hmix(h ^ binary.LittleEndian.Uint64(p))
	}
	w := uint64('"') << (8 * len(p))
	for j, c := range p {
		w |= uint64(c) << (8 * j)
	}
	return hmix(h ^ w)
}

// strHasSep marks a key containing the separator byte.
const strHasSep strFlags = 1 << 7

// scanKey is scanString for object keys: in the same pass it hashes the key
// (keyHash) and notes whether it contains the byte sep. For a key with
// escapes it returns strEscaped and no hash; the caller hashes the unescaped
// key.
func scanKey(doc []byte, i int, sep byte) (end int, fl strFlags, h uint64, msg string) {
	// Fast path: a plain ASCII key without the separator, read a word at a
	// time up to its closing quote. Anything else (and a key within eight
	// bytes of the end) is left to scanKeyAny from the start.
	h = hm1
	sepw := lo8 * uint64(sep)
	for j := i + 1; j >= 0 && j < len(doc)-7; j += 8 { // j+8 <= len(doc)
		w := binary.LittleEndian.Uint64(doc[j:])
		q := w ^ (lo8 * '"')
		b := w ^ (lo8 * '\\')
		s := w ^ sepw
		// As in scanString (s can be >= 0x80 where w is not).
		m := ((q - lo8) | (b - lo8) | ((s - lo8) &^ s) | (w - lo8*0x20) | w) & hi8
		if m != 0 {
			low := m & -m
			if (q-lo8)&^q&low == 0 {
				break
			}
			// Hash the key's bytes in w and the quote.
			return j + bits.Len64(low)>>3, 0, hmix(h ^ w&(low<<1-1)), ""
		}
		h = hmix(h ^ w)
	}
	return scanKeyAny(doc, i, sep)
}

// scanKeyAny is scanKey for any key: non-ASCII, with the separator, with
// escapes or invalid.
func scanKeyAny(doc []byte, i int, sep byte) (end int, fl strFlags, h uint64, msg string) {
	start := i + 1
	if start > len(doc) {
		return ^len(doc), 0, 0, "unterminated string"
	}
	rest := doc[start:]
	h = hm1
	var high, seen uint64
	sepw := lo8 * uint64(sep)
	for len(rest) >= 8 {
		w := binary.LittleEndian.Uint64(rest)
		q := w ^ (lo8 * '"')
		b := w ^ (lo8 * '\\')
		sw := w ^ sepw
		qm := (q - lo8) &^ q
		m := (qm | ((b - lo8) &^ b) | ((w - lo8*0x20) &^ w)) & hi8
		sm := (sw - lo8) &^ sw
		if m != 0 {
			// low is the high bit of the first quote, backslash or
			// control byte: exact, as no byte below it borrows.
			low := m & -m
			if qm&low == 0 {
				break // an escape or a control character
			}
			keep := low>>7 - 1         // the key's bytes in w
			h = hmix(h ^ w&(low<<1-1)) // and the quote
			high |= w & keep
			seen |= sm & keep
			i = len(doc) - len(rest) + bits.TrailingZeros64(low)>>3
			return keyDone(i, h, high, seen&hi8)
		}
		h = hmix(h ^ w)
		high |= w
		seen |= sm
		rest = rest[8:]
	}
	if len(rest) < 8 {
		var w uint64
		for j, c := range rest {
			if c == '"' {
				h = hmix(h ^ w ^ '"'<<(8*j))
				high |= w
				return keyDone(len(doc)-len(rest)+j, h, high, seen&hi8)
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
	end, fl, msg = scanString(doc, start-1)
	return end, fl, 0, msg
}

// keyDone returns scanKey's results for a key whose closing quote is at
// doc[i].
func keyDone(i int, h, high, seen uint64) (int, strFlags, uint64, string) {
	var fl strFlags
	if high&hi8 != 0 {
		fl |= strNonASCII
	}
	if seen != 0 {
		fl |= strHasSep
	}
	return i + 1, fl, h, ""
}

var hexVal = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c - 'a' + 10)
		t[c-'a'+'A'] = int8(c - 'a' + 10)
	}
	return t
}()

// validUTF8 reports whether s is valid UTF-8, like utf8.Valid (which the
// tests check it against), with fast paths for ASCII runs and for the
// three-byte sequences of most non-Latin scripts.
func validUTF8(s []byte) bool {
	n := len(s)
	i := 0
	for i < n {
		c := s[i]
		switch {
		case c < 0x80:
			i++
			for i >= 0 && i < n-7 && binary.LittleEndian.Uint64(s[i:])&hi8 == 0 {
				i += 8
			}
		case c >= 0xE1 && c <= 0xEF && c != 0xED:
			// U+1000–U+FFFF except the surrogate block: two
			// continuation bytes 80–BF.
			if i+2 >= n || (uint16(s[i+1])|uint16(s[i+2])<<8)&0xC0C0 != 0x8080 {
				return false
			}
			i += 3
		case c >= 0xC2 && c <= 0xDF:
			if i+1 >= n || s[i+1]&0xC0 != 0x80 {
				return false
			}
			i += 2
		default:
			// E0, ED and four-byte sequences have narrower second-byte
			// ranges; let the standard decoder judge.
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return false
			}
			i += size
		}
	}
	return true
}

// appendUnescaped appends the unescaped content of a string body (without
// quotes) that scanString accepted. Unpaired surrogates become U+FFFD.
func appendUnescaped(dst, s []byte) []byte {
	for len(s) > 0 {
		if s[0] != '\\' { // escapes often come in runs
			k := bytes.IndexByte(s, '\\')
			if k < 0 {
				dst = append(dst, s...)
				break
			}
			dst = append(dst, s[:k]...)
			s = s[k:]
		}
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
			// r is not a surrogate: encode it as utf8.AppendRune
			// would, without the call.
			switch {
			case r < 0x80:
				dst = append(dst, byte(r))
			case r < 0x800:
				dst = append(dst, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
			case r < 0x10000:
				dst = append(dst, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
			default:
				dst = append(dst, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
			}
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[1])
		}
		s = s[2:]
	}
	return dst
}

func hex4(b []byte) int {
	return int(hexVal[b[0]])<<12 | int(hexVal[b[1]])<<8 | int(hexVal[b[2]])<<4 | int(hexVal[b[3]])
}

// scanNumber scans a number starting at doc[i] by RFC 8259's grammar. It
// returns the index just past it, or the complement of the offending offset.
func scanNumber(doc []byte, i int) int {
	n := len(doc)
	c := doc[i]
	if c == '-' {
		i++
		if uint(i) >= uint(n) {
			return ^i
		}
		c = doc[i]
	}
	switch {
	case c == '0':
		i++
	case c-'1' < 9:
		i = digits(doc, i+1)
	default:
		return ^i
	}
	if uint(i) >= uint(n) {
		return i
	}
	c = doc[i]
	if c == '.' {
		i++
		if i >= n || doc[i]-'0' >= 10 {
			return ^i
		}
		i = digits(doc, i+1)
		if uint(i) >= uint(n) {
			return i
		}
		c = doc[i]
	}
	if c|0x20 == 'e' {
		i++
		if i < n && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		if i >= n || doc[i]-'0' >= 10 {
			return ^i
		}
		i = digits(doc, i+1)
	}
	return i
}

// digits returns the index of the first non-digit at or after i, testing
// eight bytes at a time.
func digits(doc []byte, i int) int {
	for i >= 0 && i < len(doc)-7 { // i+8 <= len(doc), in a form that spares the bounds check
		w := binary.LittleEndian.Uint64(doc[i:])
		// A byte below '0' borrows (its high bit is set in w-'0'), one
		// above '9' carries into its high bit in w+0x46, and one >= 0x80
		// has it set in w. A borrow or carry leaves a byte only if it is
		// not a digit, so the lowest set bit of bad is exact.
		bad := ((w - lo8*'0') | (w + lo8*0x46) | w) & hi8
		if bad != 0 {
			return i + bits.TrailingZeros64(bad)>>3
		}
		i += 8
	}
	for uint(i) < uint(len(doc)) && doc[i]-'0' < 10 {
		i++
	}
	return i
}

// scanLiteral checks for true, false or null at doc[i]. It returns the index
// past it and the kind, or the complement of the offending offset.
func scanLiteral(doc []byte, i int) (int, Kind) {
	if i >= 0 && i < len(doc)-3 { // i+4 <= len(doc)
		switch binary.LittleEndian.Uint32(doc[i:]) {
		case 't' | 'r'<<8 | 'u'<<16 | 'e'<<24:
			return i + 4, Bool
		case 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24:
			return i + 4, Null
		case 'f' | 'a'<<8 | 'l'<<16 | 's'<<24:
			if i+4 < len(doc) && doc[i+4] == 'e' {
				return i + 5, Bool
			}
		}
	}
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
