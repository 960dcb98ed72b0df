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
		// Eight bytes at a time while none is special: a control
		// character, '"', '\\', or not ASCII.
		if len(s)-i >= 8 {
			x := binary.LittleEndian.Uint64(s[i:])
			if (x|(x-spaces)|((x^quotes)-ones)|((x^slashs)-ones))&highs == 0 {
				i += 8
				continue
			}
		}
		// Byte by byte through that word (or the rest of s).
		for end := min(i+8, len(s)); i < end; {
			c := s[i]
			if c >= utf8.RuneSelf {
				r, n := utf8.DecodeRune(s[i:])
				if r == utf8.RuneError && n == 1 {
					dst = append(dst, s[start:i]...)
					dst = append(dst, "\ufffd"...)
					start = i + 1
				}
				i += n
				continue
			}
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
