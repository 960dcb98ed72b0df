package flatten

// validate checks, strictly, the JSON value starting at doc[i] (a non-space
// byte) without emitting anything. It returns the index just past the value
// and whether the value contains whitespace outside strings.
func (f *Flattener) validate(i int) (end int, ws bool, err error) {
	return f.scanValue(i, false)
}

// scanValue is validate that, if compact is set, also appends the value's
// compact text to f.arena when the value has whitespace outside strings: the
// runs between whitespace are appended as the validation passes them, so
// the value is read once.
//
// It is one state machine (value, key, after a value) over one loop, kept
// whole although it is longer than a screen: the fast walker calls it for
// every array in ArraysJSON mode, and its states share i, seg, ws and the
// container stack in registers. Moving the key state alone into a method
// costs 3.0-3.9% more instructions in Append on citm_catalog and twitter
// in ArraysJSON mode (callgrind, BenchmarkAppend/*/json).
func (f *Flattener) scanValue(i int, compact bool) (end int, ws bool, err error) {
	doc := f.doc
	n := len(doc)
	vs := f.vstack[:0]
	seg := i // start of the run not yet appended to f.arena
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
				err = f.syntaxErr(i, "unexpected end of input")
				goto fail
			}
			c := doc[i]
			switch {
			case c == '{' || c == '[':
				if len(f.stack)+f.fdepth+len(vs) >= f.maxNesting {
					err = f.nestingErr(i)
					goto fail
				}
				vs = append(vs, c)
				j := skipWS(doc, i+1)
				if j != i+1 {
					ws = true
					if compact {
						f.arena, seg = append(f.arena, doc[seg:i+1]...), j
					}
				}
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
					i, err = ^e, f.syntaxErr(^e, msg)
					goto fail
				}
				i = e
			case c == '-' || c-'0' < 10:
				e := scanNumber(doc, i)
				if e < 0 {
					i, err = ^e, f.syntaxErr(^e, "invalid number")
					goto fail
				}
				i = e
			case c == 't' || c == 'f' || c == 'n':
				e, _ := scanLiteral(doc, i)
				if e < 0 {
					i, err = ^e, f.syntaxErr(^e, "invalid literal")
					goto fail
				}
				i = e
			default:
				err = f.syntaxErr(i, "invalid character "+quoteByte(c)+" looking for beginning of value")
				goto fail
			}
			st = stAfter
		case stKey:
			if i >= n {
				err = f.syntaxErr(i, "unexpected end of input")
				goto fail
			}
			if doc[i] != '"' {
				err = f.syntaxErr(i, "expected string for object key, found "+quoteByte(doc[i]))
				goto fail
			}
			e, _, msg := scanString(doc, i) // validates UTF-8 too
			if e < 0 {
				i, err = ^e, f.syntaxErr(^e, msg)
				goto fail
			}
			j := skipWS(doc, e)
			if j != e {
				ws = true
				if compact {
					f.arena, seg = append(f.arena, doc[seg:e]...), j
				}
			}
			if j >= n {
				i, err = j, f.syntaxErr(j, "unexpected end of input")
				goto fail
			}
			if doc[j] != ':' {
				i, err = j, f.syntaxErr(j, "expected ':' after object key, found "+quoteByte(doc[j]))
				goto fail
			}
			i = skipWS(doc, j+1)
			if i != j+1 {
				ws = true
				if compact {
					f.arena, seg = append(f.arena, doc[seg:j+1]...), i
				}
			}
			st = stValue
		case stAfter:
			if len(vs) == 0 {
				if compact && ws {
					f.arena = append(f.arena, doc[seg:i]...)
				}
				f.vstack = vs[:0]
				return i, ws, nil
			}
			j := skipWS(doc, i)
			if j != i {
				ws = true
				if compact {
					f.arena, seg = append(f.arena, doc[seg:i]...), j
				}
			}
			i = j
			if i >= n {
				err = f.syntaxErr(i, "unexpected end of input")
				goto fail
			}
			top := vs[len(vs)-1]
			switch c := doc[i]; {
			case c == ',':
				j := skipWS(doc, i+1)
				if j != i+1 {
					ws = true
					if compact {
						f.arena, seg = append(f.arena, doc[seg:i+1]...), j
					}
				}
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
				err = f.syntaxErr(i, "expected ',' or ']' after array element, found "+quoteByte(c))
				goto fail
			default:
				err = f.syntaxErr(i, "expected ',' or '}' after object member, found "+quoteByte(c))
				goto fail
			}
		}
	}
fail:
	f.vstack = vs[:0]
	return i, ws, err
}
