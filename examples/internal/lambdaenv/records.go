package lambdaenv

import (
	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/source"
)

// Framing reads how an object's records are framed: ndjson (the default),
// json (one document), array (the elements of one top-level array) or
// concat (concatenated documents).
func (e *Env) Framing(name string) source.Format {
	switch e.OneOf(name, "ndjson", "json", "array", "concat") {
	case "json":
		return source.Document
	case "array":
		return source.Array
	case "concat":
		return source.Concatenated
	}
	return source.NDJSON
}

// Arrays reads how arrays flatten: json (the default: each array whole, as
// JSON text) or index (one field per element).
func (e *Env) Arrays(name string) flatten.ArrayMode {
	if e.OneOf(name, "json", "index") == "index" {
		return flatten.ArraysIndex
	}
	return flatten.ArraysJSON
}
