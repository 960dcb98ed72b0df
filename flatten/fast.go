package flatten

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
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
//
// Members of one container are read in an inner loop, so the common step,
// from one scalar member to the next, stays inside it. The array loop and
// the object loop each read scalar values inline: moving that switch into
// a shared function costs 3-7% more instructions on every corpus input
// (callgrind), the extra call spilling what the walker keeps in registers.
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
	var (
		p       []byte // the member's path
		inArena bool   // p ends the arena
		c       byte
	)
open:
	// At the first member of the top container, or after a ',' in it.
	for {
		top := &stk[len(stk)-1]
		pOff, pLen := int(top.pOff), int(top.pLen)
		if top.isArr {
			for {
				i = skipWS(doc, i)
				if i >= n {
					goto fail
				}
				start := pOff
				if pOff+pLen != len(arena) { // else the prefix ends the arena already
					start = len(arena)
					arena = append(arena, arena[pOff:pOff+pLen]...)
				}
				arena = appendIndex(arena, top.idx)
				top.idx++
				p, inArena = arena[start:len(arena):len(arena)], true
				c = doc[i]
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
					out = pushField(out, p, v, String)
					i = end
				case c-'0' < 10 || c == '-':
					end := scanNumber(doc, i)
					if end < 0 {
						goto fail
					}
					out = pushField(out, p, doc[i:end:end], Number)
					i = end
				case c == 't' || c == 'f' || c == 'n':
					end, k := scanLiteral(doc, i)
					if end < 0 {
						goto fail
					}
					out = pushField(out, p, doc[i:end:end], k)
					i = end
				default:
					goto container
				}
				i = skipWS(doc, i)
				if i >= n {
					goto fail
				}
				if doc[i] == ',' {
					i++
					continue
				}
				if doc[i] != ']' {
					goto fail
				}
				goto close
			}
		}
		for {
			i = skipWS(doc, i)
			if i >= n || doc[i] != '"' {
				goto fail
			}
			end, fl, kh, _ := scanKey(doc, i, sep)
			if end < 0 {
				goto fail
			}
			klen := end - 2 - i // the key is doc[i+1 : end-1]
			if fl == 0 && pLen == 0 {
				p, inArena = doc[i+1:end-1:end-1], false // a root key is its own path
			} else {
				if fl&strNonASCII != 0 && !validUTF8(doc[i+1:end-1]) {
					goto fail
				}
				start := pOff
				if pOff+pLen != len(arena) { // else the prefix ends the arena already
					start = len(arena)
					arena = append(arena, arena[pOff:pOff+pLen]...)
				}
				if fl&strEscaped != 0 {
					ks := len(arena)
					arena = appendUnescaped(arena, doc[i+1:end-1])
					k := arena[ks:]
					kh = keyHash(k)
					if bytes.IndexByte(k, sep) >= 0 {
						goto suspect
					}
				} else {
					if fl&strHasSep != 0 {
						goto suspect
					}
					// Most keys are short: two 8-byte words copied without
					// a call to memmove (after which every value the walker
					// keeps in registers is reloaded). The bytes written
					// past the key lie beyond len(arena), where the next
					// append overwrites them.
					if l := len(arena); klen <= 16 && i+17 <= n && l+16 <= cap(arena) {
						d, s := arena[l:l+16], doc[i+1:i+17]
						binary.LittleEndian.PutUint64(d[:8], binary.LittleEndian.Uint64(s[:8]))
						binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:]))
						arena = arena[:l+klen]
					} else {
						arena = append(arena, doc[i+1:end-1]...)
					}
				}
				p, inArena = arena[start:len(arena):len(arena)], true
			}
			// Repeated keys: a Bloom filter per object, the exact 32-bit
			// hashes behind it, a hash set past smallObject keys.
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
			if i++; i < n && doc[i] == ' ' { // "key": value
				i++
			}
			i = skipWS(doc, i)
			if i >= n {
				goto fail
			}
			c = doc[i]
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
				out = pushField(out, p, v, String)
				i = end
			case c-'0' < 10 || c == '-':
				end := scanNumber(doc, i)
				if end < 0 {
					goto fail
				}
				out = pushField(out, p, doc[i:end:end], Number)
				i = end
			case c == 't' || c == 'f' || c == 'n':
				end, k := scanLiteral(doc, i)
				if end < 0 {
					goto fail
				}
				out = pushField(out, p, doc[i:end:end], k)
				i = end
			default:
				goto container
			}
			i = skipWS(doc, i)
			if i >= n {
				goto fail
			}
			if doc[i] == ',' {
				i++
				continue
			}
			if doc[i] != '}' {
				goto fail
			}
			khs = khs[:top.keyStart]
			goto close
		}
	}
container:
	// The member at doc[i] with path p is a container (or invalid).
	switch {
	case c == '{' || (c == '[' && f.opts.Arrays == ArraysIndex):
		if len(stk) >= f.maxNesting {
			goto fail
		}
		j := skipWS(doc, i+1)
		if j < n && doc[j] == c+2 { // '{'+2 == '}', '['+2 == ']'
			out = pushField(out, p, f.emptyOf(c), kindOf(c))
			i = j + 1
			goto next
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
		goto open
	case c == '[': // ArraysJSON: kept whole, compacted
		f.fdepth = len(stk)
		vs := len(arena)
		f.arena = arena
		end, ws, verr := f.scanValue(i, true)
		f.fdepth = 0
		arena = f.arena
		if verr != nil {
			goto fail
		}
		v := doc[i:end:end]
		if ws {
			v = arena[vs:len(arena):len(arena)]
		}
		out = pushField(out, p, v, Array)
		i = end
		goto next
	}
	goto fail
next:
	// After a member: ',' or the close of the top container.
	i = skipWS(doc, i)
	if i >= n {
		goto fail
	}
	if c = doc[i]; c == ',' {
		i++
		goto open
	}
	{
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
	}
close:
	// doc[i] closes the top container; its khs entries are dropped.
	stk = stk[:len(stk)-1]
	i++
	if len(stk) == 0 {
		f.arena, f.out, f.khs, f.fstack = arena, out, khs, stk
		return i, nil
	}
	goto next
fail:
	f.arena, f.out, f.khs, f.fstack = arena, out, khs, stk[:0]
	return i, errFallback
suspect:
	f.arena, f.out, f.khs, f.fstack = arena, out, khs, stk[:0]
	return i, errSuspect
}

// pushField appends a field to out, written in place (append with a
// composite literal builds the Field on the stack and copies it).
func pushField(out []Field, p, v []byte, k Kind) []Field {
	n := len(out)
	if n == cap(out) {
		out = slices.Grow(out, 1)
	}
	out = out[:n+1]
	fd := &out[n]
	fd.Path, fd.Value, fd.Kind = p, v, k
	return out
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
