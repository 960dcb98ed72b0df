package flatten

import "errors"

// ErrNotFound reports that Peek found no value at the given keys.
var ErrNotFound = errors.New("flatten: key not found")

// Peek returns the value at the key path keys (object keys, or "[i]" for the
// i-th array element, from 0) without flattening the document: for routing a
// record by one field (its type, its tenant) before deciding how to flatten
// it. Strings are returned unescaped; other values are their text as written
// (containers are not compacted). No keys means the whole document.
//
// Peek is as strict as Append: the whole document must be valid JSON (a
// *SyntaxError otherwise) within Options.MaxNesting, and a key that appears
// twice in an object on the path is a *PathError wrapping ErrCollision
// whatever the collision policy, since which value was meant is unknown. A
// missing key, an index past the end or a key into a scalar gives
// ErrNotFound.
//
// The result aliases doc or f's buffers and is valid until the next call on
// f. Peek does not allocate in steady state, except for errors.
func (f *Flattener) Peek(doc []byte, keys ...string) ([]byte, Kind, error) {
	if f.sep == nil {
		f.initZero()
	}
	f.doc, f.path, f.arena, f.stack, f.fdepth = doc, f.path[:0], f.arena[:0], f.stack[:0], 0
	v, k, err := f.peek(keys)
	f.doc = nil
	return v, k, err
}

func (f *Flattener) peek(keys []string) ([]byte, Kind, error) {
	doc := f.doc
	i := skipWS(doc, 0)
	if i >= len(doc) {
		return nil, 0, f.syntaxErr(i, "unexpected end of input")
	}
	end, _, err := f.validate(i)
	if err != nil {
		return nil, 0, err
	}
	if j := skipWS(doc, end); j < len(doc) {
		return nil, 0, f.syntaxErr(j, "unexpected "+quoteByte(doc[j])+" after top-level value")
	}
	// The document is valid from here on: the walk below only skips values.
	for _, key := range keys {
		switch doc[i] {
		case '{':
			i, err = f.member(i, key)
		case '[':
			i, err = f.element(i, key)
		default:
			return nil, 0, ErrNotFound
		}
		if err != nil {
			return nil, 0, err
		}
		if len(f.path) > 0 {
			f.path = append(f.path, f.sep...)
		}
		f.path = append(f.path, key...)
	}
	end, _, _ = f.validate(i)
	v := doc[i:end]
	switch c := doc[i]; {
	case c == '"':
		_, fl, _ := scanString(doc, i)
		if fl&strEscaped == 0 {
			return v[1 : len(v)-1], String, nil
		}
		f.arena = appendUnescaped(f.arena[:0], v[1:len(v)-1])
		return f.arena, String, nil
	case c == '{':
		return v, Object, nil
	case c == '[':
		return v, Array, nil
	case c == 't' || c == 'f':
		return v, Bool, nil
	case c == 'n':
		return v, Null, nil
	}
	return v, Number, nil
}

// member returns the index of the value of key in the valid object at
// doc[i], ErrNotFound, or a collision if key appears twice.
func (f *Flattener) member(i int, key string) (int, error) {
	doc := f.doc
	found := -1
	i = skipWS(doc, i+1)
	for doc[i] != '}' {
		e, fl, _ := scanString(doc, i)
		k := doc[i+1 : e-1]
		if fl&strEscaped != 0 {
			f.arena = appendUnescaped(f.arena[:0], k)
			k = f.arena
		}
		v := skipWS(doc, skipWS(doc, e)+1) // past ':'
		if string(k) == key {
			if found >= 0 {
				if len(f.path) > 0 {
					f.path = append(f.path, f.sep...)
				}
				f.path = append(f.path, key...)
				return 0, &PathError{Offset: int64(i), Path: string(f.path), Err: ErrCollision}
			}
			found = v
		}
		end, _, _ := f.validate(v)
		i = skipWS(doc, end)
		if doc[i] == ',' {
			i = skipWS(doc, i+1)
		}
	}
	if found < 0 {
		return 0, ErrNotFound
	}
	return found, nil
}

// element returns the index of element "[n]" of the valid array at doc[i],
// or ErrNotFound.
func (f *Flattener) element(i int, key string) (int, error) {
	doc := f.doc
	n := index(key)
	if n < 0 {
		return 0, ErrNotFound
	}
	i = skipWS(doc, i+1)
	for k := 0; doc[i] != ']'; k++ {
		if k == n {
			return i, nil
		}
		end, _, _ := f.validate(i)
		i = skipWS(doc, end)
		if doc[i] == ',' {
			i = skipWS(doc, i+1)
		}
	}
	return 0, ErrNotFound
}

// index returns n for a key "[n]" (n decimal without sign or leading
// zeros, below a billion), else -1.
func index(key string) int {
	if len(key) < 3 || len(key) > 11 || key[0] != '[' || key[len(key)-1] != ']' || key[1] == '0' && len(key) > 3 {
		return -1
	}
	n := 0
	for _, c := range []byte(key[1 : len(key)-1]) {
		if c-'0' > 9 {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
