package flatten

import (
	"bytes"
	"errors"
)

// The fast walker: the common configuration (no tables, no filters, no
// MaxDepth, a one-byte separator, no repeated keys) walked with its state in
// local variables, paths built straight into the arena, and no error
// reporting of its own. When it meets anything it does not handle — a syntax
// error, too deep a nesting, a possible collision — it gives up and the
// general walker (walk.go) runs the document again, producing the exact error
// or the exact slow-path result. Every test comparing results therefore
// covers both walkers: the general walker is run with fast disabled too (see
// Options.noFast in the tests).

// errFallback stops the fast walker: the general walker runs the document
// again and reports what it finds.
var errFallback = errors.New("flatten: internal: fall back to the general walker")

// fframe is a container open in the fast walker. Its children's paths start
// with the arena bytes [pOff, pOff+pLen): the container's path and the
// separator, or nothing at the root.
type fframe struct {
	pOff     int32
	pLen     int32
	idx      int32 // next array index
	nkeys    int32 // keys seen in this object
	keyStart int32 // start of this object's key hashes in khs
	serial   uint32
	isArr    bool
	bloom    [4]uint64
}

// fastOK reports whether the fast walker can run this configuration.
func (f *Flattener) fastOK() bool {
	return !f.noFast && !f.slow && !f.tables && !f.filtering && f.opts.MaxDepth == 0 && f.fastColl
}

// walkFast walks the non-empty container whose first member starts at or
// after doc[i] (the opening bracket is before i). It appends the fields to
// f.out and returns the index just past the container. Its errors are
// errFallback and errSuspect, never a user-facing error.
func (f *Flattener) walkFast(i int, isArr bool) (int, error) {
	doc := f.doc
	n := len(doc)
	sep := f.sepByte
	// Every container's path is written once more than the general walker
	// writes it (as its children's prefix): bounded, so that deep nesting
	// under long keys stays linear in the input.
	f.budget = 4*n + 4096
	arena, out, khs := f.arena, f.out, f.khs
	stk := append(f.fstack[:0], fframe{isArr: isArr, serial: f.nextSerial()})
	for {
		top := &stk[len(stk)-1]
		i = skipWS(doc, i)
		if i >= n {
			goto fail
		}
		{
			// The member's path p; inArena: p ends the arena.
			var p []byte
			inArena := true
			if top.isArr {
				start := int(top.pOff)
				if pe := start + int(top.pLen); pe != len(arena) { // else the prefix ends the arena already
					start = len(arena)
					arena = append(arena, arena[top.pOff:pe]...)
				}
				arena = appendIndex(arena, top.idx)
				top.idx++
				p = arena[start:len(arena):len(arena)]
			} else {
				if doc[i] != '"' {
					goto fail
				}
				end, fl, kh, _ := scanKey(doc, i, sep)
				if end < 0 {
					goto fail
				}
				key := doc[i+1 : end-1]
				if fl == 0 && top.pLen == 0 {
					p, inArena = key[:len(key):len(key)], false // a root key is its own path
				} else {
					if fl&strNonASCII != 0 && !validUTF8(key) {
						goto fail
					}
					start := int(top.pOff)
					if pe := start + int(top.pLen); pe != len(arena) { // else the prefix ends the arena already
						start = len(arena)
						arena = append(arena, arena[top.pOff:pe]...)
					}
					if fl&strEscaped != 0 {
						ks := len(arena)
						arena = appendUnescaped(arena, key)
						k := arena[ks:]
						kh = keyHash(k)
						if bytes.IndexByte(k, sep) >= 0 {
							fl |= strHasSep
						}
					}
					if fl&strEscaped == 0 {
						arena = append(arena, key...)
					}
					if fl&strHasSep != 0 {
						goto suspect
					}
					p = arena[start:len(arena):len(arena)]
				}
				// Repeated keys: a Bloom filter per object, the exact
				// 32-bit hashes behind it, a hash set past smallObject keys.
				h := uint32(kh)
				w, bit := bloomBit(h)
				if top.bloom[w]&bit == 0 && top.nkeys < smallObject {
					top.bloom[w] |= bit
					khs = append(khs, h)
					top.nkeys++
				} else if top.nkeys < smallObject {
					for _, x := range khs[top.keyStart:] {
						if x == h {
							goto suspect
						}
					}
					top.bloom[w] |= bit
					khs = append(khs, h)
					top.nkeys++
				} else {
					if top.nkeys == smallObject {
						for _, x := range khs[top.keyStart:] {
							f.keySeen(top.serial, x)
						}
					}
					top.nkeys++
					if f.keySeen(top.serial, h) {
						goto suspect
					}
				}
				i = skipWS(doc, end)
				if i >= n || doc[i] != ':' {
					goto fail
				}
				i = skipWS(doc, i+1)
				if i >= n {
					goto fail
				}
			}
			// The member's value.
			c := doc[i]
			switch {
			case c == '"':
				end, fl, _ := scanString(doc, i)
				if end < 0 {
					goto fail
				}
				v := doc[i+1 : end-1 : end-1]
				if fl&strEscaped != 0 {
					vs := len(arena)
					arena = appendUnescaped(arena, v)
					v = arena[vs:len(arena):len(arena)]
				}
				out = append(out, Field{Path: p, Value: v, Kind: String})
				i = end
			case c-'0' < 10 || c == '-':
				end := scanNumber(doc, i)
				if end < 0 {
					goto fail
				}
				out = append(out, Field{Path: p, Value: doc[i:end:end], Kind: Number})
				i = end
			case c == '{' || (c == '[' && f.opts.Arrays == ArraysIndex):
				if len(stk) >= f.maxNesting {
					goto fail
				}
				j := skipWS(doc, i+1)
				if j < n && doc[j] == c+2 { // '{'+2 == '}', '['+2 == ']'
					out = append(out, Field{Path: p, Value: f.emptyOf(c), Kind: kindOf(c)})
					i = j + 1
					break
				}
				if f.budget -= len(p); f.budget < 0 || len(arena) > 1<<30 {
					goto fail
				}
				if !inArena {
					arena = append(arena, p...)
				}
				pEnd := len(arena)
				arena = append(arena, sep)
				stk = append(stk, fframe{
					pOff:     int32(pEnd - len(p)),
					pLen:     int32(len(p) + 1),
					keyStart: int32(len(khs)),
					serial:   f.nextSerial(),
					isArr:    c == '[',
				})
				i = j
				continue
			case c == 't' || c == 'f' || c == 'n':
				end, k := scanLiteral(doc, i)
				if end < 0 {
					goto fail
				}
				out = append(out, Field{Path: p, Value: doc[i:end:end], Kind: k})
				i = end
			case c == '[': // ArraysJSON: kept whole, compacted
				f.fdepth = len(stk)
				end, ws, verr := f.validate(i)
				f.fdepth = 0
				if verr != nil {
					goto fail
				}
				v := doc[i:end:end]
				if ws {
					vs := len(arena)
					arena = appendCompact(arena, v)
					v = arena[vs:len(arena):len(arena)]
				}
				out = append(out, Field{Path: p, Value: v, Kind: Array})
				i = end
			default:
				goto fail
			}
		}
		// After a member: ',' or the close of the top container (and of any
		// containers that close right after it).
		for {
			i = skipWS(doc, i)
			if i >= n {
				goto fail
			}
			c := doc[i]
			if c == ',' {
				i++
				break
			}
			top := &stk[len(stk)-1]
			want := byte('}')
			if top.isArr {
				want = ']'
			}
			if c != want {
				goto fail
			}
			if !top.isArr {
				khs = khs[:top.keyStart]
			}
			stk = stk[:len(stk)-1]
			i++
			if len(stk) == 0 {
				f.arena, f.out, f.khs, f.fstack = arena, out, khs, stk
				return i, nil
			}
		}
	}
fail:
	f.arena, f.out, f.khs, f.fstack = arena, out, khs, stk[:0]
	return i, errFallback
suspect:
	f.arena, f.out, f.khs, f.fstack = arena, out, khs, stk[:0]
	return i, errSuspect
}

// appendIndex appends the decimal form of a non-negative array index.
func appendIndex(dst []byte, x int32) []byte {
	if x < 10 {
		return append(dst, byte('0'+x))
	}
	if x < 100 {
		return append(dst, byte('0'+x/10), byte('0'+x%10))
	}
	var b [10]byte
	k := len(b)
	for x > 0 {
		k--
		b[k] = byte('0' + x%10)
		x /= 10
	}
	return append(dst, b[k:]...)
}
