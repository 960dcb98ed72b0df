// Package jsonstr writes JSON strings: Append quotes and escapes a string of
// bytes into JSON text. It is the one JSON string writer of flatpipe's
// packages and programs (schema's subtree VARIANT text, the staged NDJSON,
// CSV and Parquet JSON cells, the flatten command's output).
//
// # Concurrency
//
// Append has no state; it is safe for concurrent use.
package jsonstr

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Word-at-a-time constants: a byte of each.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	spaces = 0x2020202020202020 // ' ', the first byte that needs no escape
	quotes = 0x2222222222222222 // '"'
	slashs = 0x5c5c5c5c5c5c5c5c // '\\'
)

// Append appends s to dst as a JSON string (RFC 8259) and returns the
// extended buffer. Written escaped are '"' and '\\' (as \" and \\), newline,
// carriage return and tab (as \n, \r and \t), and the other control
// characters below U+0020 (as \u00XX, lowercase hex). A byte that does not
// start a valid UTF-8 sequence (invalid or truncated) is written as U+FFFD,
// one for each such byte, as encoding/json and a range loop over a string
// do; so the output is valid UTF-8 JSON whatever s holds, and decoding it
// gives s back when s is valid UTF-8. Everything else is copied as it is,
// including DEL, U+2028, U+2029 and '<', '>', '&': the output is JSON, not
// text safe to embed in HTML or JavaScript.
//
// It allocates nothing beyond growing dst.
func Append(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: a byte to
		// escape or one that is not ASCII. Else i moves to the first
		// such byte.
		if len(s)-i >= 8 {
			x := binary.LittleEndian.Uint64(s[i:])
			m := escapes(x) | x&highs
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else if c := s[i]; c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
			i++
			start = i
			continue
		}
		// A run of UTF-8 sequences, copied as they are if valid: the two-
		// and three-byte ones that need no range check of their second
		// byte are checked here, the rest (E0, ED and four-byte leads,
		// invalid bytes) as utf8.DecodeRune checks them.
		for i < len(s) && s[i] >= utf8.RuneSelf {
			c := s[i]
			switch {
			case c >= 0xC2 && c <= 0xDF && len(s)-i >= 2 && s[i+1]&0xC0 == 0x80:
				i += 2
			case c >= 0xE1 && c <= 0xEF && c != 0xED && len(s)-i >= 3 && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80:
				i += 3
			default:
				r, n := utf8.DecodeRune(s[i:])
				if r == utf8.RuneError && n == 1 {
					dst = append(dst, s[start:i]...)
					dst = append(dst, "\ufffd"...)
					start = i + 1
				}
				i += n
			}
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// escapes flags (in the high bit of each byte) the bytes of the eight in x
// that need an escape: below 0x20, '"' and '\\'. A subtraction's borrow runs
// only upwards, so the lowest flagged byte is exact; bytes not ASCII are
// never flagged.
func escapes(x uint64) uint64 {
	q, b := x^quotes, x^slashs
	return ((x-spaces)&^x | (q-ones)&^q | (b-ones)&^b) & highs
}

// appendEscape appends the escape of c, an ASCII byte below 0x20, '"' or
// '\\'.
func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
