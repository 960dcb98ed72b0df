package flatten

// validate checks, strictly, the JSON value starting at doc[i] (a non-space
// byte) without emitting anything. It returns the index just past the value
// and whether the value contains whitespace outside strings.
func (f *Flattener) validate(i int) (end int, ws bool, err error) {
	doc := f.doc
	n := len(doc)
	vs := f.vstack[:0]
	defer func() { f.vstack = vs[:0] }()
	const (
		stValue = iota
		stKey
		stAfter
	)
	st := stValue
	for {
		switch st {
		case stValue:
			if i >= n {
				return i, ws, f.syntaxErr(i, "unexpected end of input")
			}
			c := doc[i]
			switch {
			case c == '{' || c == '[':
				if len(f.stack)+f.fdepth+len(vs) >= f.maxNesting {
					return i, ws, f.nestingErr(i)
				}
				vs = append(vs, c)
				j := skipWS(doc, i+1)
				ws = ws || j != i+1
				i = j
				if i < n && doc[i] == c+2 {
					vs = vs[:len(vs)-1]
					i++
					st = stAfter
				} else if c == '{' {
					st = stKey
				}
				continue
			case c == '"':
				e, _, msg := scanString(doc, i)
				if e < 0 {
					return ^e, ws, f.syntaxErr(^e, msg)
				}
				i = e
			case c == '-' || c-'0' < 10:
				e := scanNumber(doc, i)
				if e < 0 {
					return ^e, ws, f.syntaxErr(^e, "invalid number")
				}
				i = e
			case c == 't' || c == 'f' || c == 'n':
				e, _ := scanLiteral(doc, i)
				if e < 0 {
					return ^e, ws, f.syntaxErr(^e, "invalid literal")
				}
				i = e
			default:
				return i, ws, f.syntaxErr(i, "invalid character "+quoteByte(c)+" looking for beginning of value")
			}
			st = stAfter
		case stKey:
			if i >= n {
				return i, ws, f.syntaxErr(i, "unexpected end of input")
			}
			if doc[i] != '"' {
				return i, ws, f.syntaxErr(i, "expected string for object key, found "+quoteByte(doc[i]))
			}
			e, _, msg := scanString(doc, i) // validates UTF-8 too
			if e < 0 {
				return ^e, ws, f.syntaxErr(^e, msg)
			}
			j := skipWS(doc, e)
			ws = ws || j != e
			if j >= n {
				return j, ws, f.syntaxErr(j, "unexpected end of input")
			}
			if doc[j] != ':' {
				return j, ws, f.syntaxErr(j, "expected ':' after object key, found "+quoteByte(doc[j]))
			}
			i = skipWS(doc, j+1)
			ws = ws || i != j+1
			st = stValue
		case stAfter:
			if len(vs) == 0 {
				return i, ws, nil
			}
			j := skipWS(doc, i)
			ws = ws || j != i
			i = j
			if i >= n {
				return i, ws, f.syntaxErr(i, "unexpected end of input")
			}
			top := vs[len(vs)-1]
			switch c := doc[i]; {
			case c == ',':
				j := skipWS(doc, i+1)
				ws = ws || j != i+1
				i = j
				if top == '{' {
					st = stKey
				} else {
					st = stValue
				}
			case c == top+2:
				vs = vs[:len(vs)-1]
				i++
			case top == '[':
				return i, ws, f.syntaxErr(i, "expected ',' or ']' after array element, found "+quoteByte(c))
			default:
				return i, ws, f.syntaxErr(i, "expected ',' or '}' after object member, found "+quoteByte(c))
			}
		}
	}
}
