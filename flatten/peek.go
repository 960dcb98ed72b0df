package flatten

import (
	"errors"
	"fmt"

	"github.com/buger/jsonparser"
)

// ErrNotFound reports that Peek found no value at the given keys.
var ErrNotFound = errors.New("flatten: key not found")

// Peek returns the value at the key path keys (object keys, or "[i]" for
// the i-th array element) without flattening the document: for routing a record
// by one field (its type, its tenant) before deciding how to flatten it.
// Strings are returned unescaped (in a new slice when they had escapes);
// other values are their raw text. The result aliases doc when it can.
//
// Peek is built on github.com/buger/jsonparser: it reads only as far as it
// must and does not validate the rest of the document, so a document Peek
// reads can still be rejected by Append. It is safe for concurrent use.
func Peek(doc []byte, keys ...string) ([]byte, Kind, error) {
	v, t, off, err := jsonparser.Get(doc, keys...)
	switch {
	case errors.Is(err, jsonparser.KeyPathNotFoundError):
		return nil, 0, ErrNotFound
	case err != nil:
		return nil, 0, &SyntaxError{Offset: int64(off), Err: &syntaxMsg{fmt.Sprintf("peek: %v", err)}}
	}
	switch t {
	case jsonparser.String:
		s, err := jsonparser.Unescape(v, nil)
		if err != nil {
			return nil, 0, &SyntaxError{Offset: int64(off), Err: &syntaxMsg{"peek: invalid string escape"}}
		}
		return s, String, nil
	case jsonparser.Number:
		return v, Number, nil
	case jsonparser.Boolean:
		return v, Bool, nil
	case jsonparser.Null:
		return v, Null, nil
	case jsonparser.Object:
		return v, Object, nil
	case jsonparser.Array:
		return v, Array, nil
	}
	return nil, 0, &SyntaxError{Offset: int64(off), Err: &syntaxMsg{"peek: unknown value type"}}
}
