package schema

import "unsafe"

// bytesToString views b as a string without copying; the string must not be
// kept beyond the call that made it, and b must not change meanwhile.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
