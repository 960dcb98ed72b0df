package schema

import (
	"unicode/utf8"
	"unsafe"
)

// bytesToString views b as a string without copying; the string must not be
// kept beyond the call that made it, and b must not change meanwhile.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// runeCount is utf8.RuneCount without its string(p) conversion, which
// allocates for non-ASCII input longer than 32 bytes (Go 1.26).
func runeCount(b []byte) int {
	return utf8.RuneCountInString(bytesToString(b))
}
