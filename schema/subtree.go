package schema

import (
	"bytes"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/internal/jsonstr"
)

// AppendSubtree appends to dst the JSON object a subtree column
// (Column.Subtree) holds: the fields below prefix, in their order, nested by
// splitting the rest of each path on sep. Fields not below prefix are
// skipped; a field whose path is prefix itself (a kept container or a scalar
// at the object's place) is written as it is when no field lies below it.
// Fields of one sub-object must be contiguous, as a flattener emits them.
// Keys containing sep are split like nested keys.
//
// It allocates nothing beyond growing dst.
func AppendSubtree(dst []byte, fields []flatten.Field, prefix, sep string) []byte {
	var self *flatten.Field
	n := 0
	for i := range fields {
		p := fields[i].Path
		if len(p) >= len(prefix)+len(sep) && string(p[:len(prefix)]) == prefix && string(p[len(prefix):len(prefix)+len(sep)]) == sep {
			n++
		} else if string(p) == prefix && self == nil {
			self = &fields[i]
		}
	}
	if n == 0 {
		if self != nil {
			return appendValue(dst, *self)
		}
		return append(dst, "null"...)
	}
	skip := len(prefix) + len(sep)
	dst = append(dst, '{')
	first := true
	var openBuf [16][]byte
	open := openBuf[:0] // keys of the objects open below the root
	sepb := []byte(sep)
	for i := range fields {
		f := fields[i]
		p := f.Path
		if len(p) < skip || string(p[:len(prefix)]) != prefix || string(p[len(prefix):skip]) != sep {
			continue
		}
		segs := p[skip:]
		// Find how many open objects this path shares.
		common := 0
		rest := segs
		for common < len(open) {
			j := bytes.Index(rest, sepb)
			if j < 0 || !bytes.Equal(rest[:j], open[common]) {
				break
			}
			rest = rest[j+len(sep):]
			common++
		}
		for len(open) > common {
			dst = append(dst, '}')
			open = open[:len(open)-1]
			first = false
		}
		for {
			j := bytes.Index(rest, sepb)
			if j < 0 {
				break
			}
			if !first {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, rest[:j])
			dst = append(dst, ":{"...)
			open = append(open, rest[:j])
			rest = rest[j+len(sep):]
			first = true
		}
		if !first {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, rest)
		dst = append(dst, ':')
		dst = appendValue(dst, f)
		first = false
	}
	for range open {
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendValue(dst []byte, f flatten.Field) []byte {
	if f.Kind == flatten.String {
		return jsonstr.Append(dst, f.Value)
	}
	return append(dst, f.Value...)
}
