package flatten

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"

	"github.com/cespare/xxhash/v2"
)

// run walks doc, appending fields to f.out (and rows to f.rows in tables
// mode).
func (f *Flattener) run(doc []byte) error {
	f.reset(doc)
	i := skipWS(doc, 0)
	if i >= len(doc) {
		return f.syntaxErr(i, "unexpected end of input")
	}
	root := frame{root: true, check: f.filtering, serial: f.nextSerial()}
	rootEmit := true
	if f.filtering {
		rootEmit, _ = f.classify(nil)
	}
	var err error
	fast := false
	switch doc[i] {
	case '{':
		i++
		j := skipWS(doc, i)
		if j < len(doc) && doc[j] == '}' {
			i = j + 1 // root {}: no field
			break
		}
		if f.fastOK() {
			i, err = f.walkFast(i, false)
			fast = true
			break
		}
		f.stack = append(f.stack, root)
		i, err = f.walk(i, 0)
	case '[':
		i, fast, err = f.runArray(i, root, rootEmit)
	default:
		if f.tables {
			f.path = append(f.path, "value"...)
			if f.filtering {
				rootEmit, _ = f.classify(f.path)
			}
		}
		i, err = f.leaf(i, rootEmit)
	}
	if err == errFallback {
		return f.runGeneral(doc)
	}
	if err != nil {
		return err
	}
	i = skipWS(doc, i)
	if i < len(doc) {
		if fast { // the general walker reports the path reached
			return f.runGeneral(doc)
		}
		return f.syntaxErr(i, "unexpected "+quoteByte(doc[i])+" after top-level value")
	}
	return nil
}

// reset readies f to walk doc: empty path, arena and stack, and fresh
// generations of the collision and key tables.
func (f *Flattener) reset(doc []byte) {
	f.doc = doc
	f.path = f.path[:0]
	f.arena = f.arena[:0]
	f.stack = f.stack[:0]
	f.khs = f.khs[:0]
	f.rootArray = false
	f.htGen++
	if f.htGen == 0 { // wrapped: stale entries could match
		clear(f.ht)
		f.htGen = 1
	}
	f.htCount = 0
	f.ksGen++
	if f.ksGen == 0 {
		clear(f.ks)
		f.ksGen = 1
	}
	f.ksCount = 0
	f.serial = 0
}

// runArray walks the top-level array at doc[i] in the array mode: whole
// (ArraysJSON), indexed or as the root table's rows. It reports whether the
// fast walker ran; its errFallback asks for the general walker.
func (f *Flattener) runArray(i int, root frame, rootEmit bool) (end int, fast bool, err error) {
	doc := f.doc
	switch f.opts.Arrays {
	case ArraysIndex:
		j := skipWS(doc, i+1)
		if j < len(doc) && doc[j] == ']' {
			return j + 1, false, f.emitIf(rootEmit, Array, f.emptyOf('['), i)
		}
		if f.fastOK() {
			i, err = f.walkFast(i+1, true)
			return i, true, err
		}
		root.isArr = true
		f.stack = append(f.stack, root)
		i, err = f.walk(i+1, 0)
		return i, false, err
	case ArraysTables:
		f.rootArray = true
		j := skipWS(doc, i+1)
		if j < len(doc) && doc[j] == ']' {
			return j + 1, false, nil
		}
		root.isArr, root.tabArr = true, true
		root.table, root.tabLen = int32(len(f.arena)), 0
		f.stack = append(f.stack, root)
		i, err = f.walk(i+1, 0)
		return i, false, err
	}
	i, err = f.leafContainer(i, Array, rootEmit)
	return i, false, err
}

// runGeneral runs doc again with the general walker, after the fast walker
// gave up on it.
func (f *Flattener) runGeneral(doc []byte) error {
	f.out = f.out[:f.base]
	saved := f.noFast
	f.noFast = true
	err := f.run(doc)
	f.noFast = saved
	return err
}

// walk processes members of the containers on f.stack, starting at doc[i]
// just inside the top container, until the stack is back to bottom frames.
//
// It is longer than a screen and kept whole: each member goes through its
// three parts (the key and its path, the value, what follows) in one loop
// body. Moving them into functions (memberKey, memberValue, memberEnd) cost
// 5.6-7.5% more instructions in AppendRows on twitter, citm_catalog and
// github_events (callgrind with GOGC=off, BenchmarkAppend/*/tables), and
// any two of them 3.1-6.2%.
func (f *Flattener) walk(i, bottom int) (int, error) {
	doc := f.doc
	n := len(doc)
	sep := f.sep
	for {
		fr := &f.stack[len(f.stack)-1]
		i = skipWS(doc, i)
		if i >= n {
			return i, f.syntaxErr(i, "unexpected end of input")
		}
		// Build the member's path.
		if fr.isArr {
			if fr.tabArr {
				var err error
				if i, err = f.tableElement(fr, i); err != nil {
					return i, err
				}
				goto next
			}
			f.nextIndex(fr)
		} else {
			if doc[i] != '"' {
				return i, f.syntaxErr(i, "expected string for object key, found "+quoteByte(doc[i]))
			}
			end, fl, kh, msg := scanKey(doc, i, f.sepByte)
			if end < 0 {
				return ^end, f.syntaxErr(^end, msg)
			}
			key := doc[i+1 : end-1]
			if fl&strNonASCII != 0 && !validUTF8(key) {
				return i, f.syntaxErr(i, "invalid UTF-8 in object key")
			}
			f.path = f.path[:fr.pathLen]
			if !fr.root {
				if len(sep) == 1 {
					f.path = append(f.path, sep[0])
				} else {
					f.path = append(f.path, sep...)
				}
			}
			keyStart := len(f.path)
			if fl&strEscaped != 0 {
				f.path = appendUnescaped(f.path, key)
			} else {
				f.path = append(f.path, key...)
			}
			if !f.slow {
				if fl&strEscaped != 0 {
					k := f.path[keyStart:]
					kh = keyHash(k)
					if bytes.IndexByte(k, f.sepByte) >= 0 {
						fl |= strHasSep
					}
				}
				// The first test is dupKey's fast path, inlined.
				w, bit := bloomBit(uint32(kh))
				if fr.bloom[w]&bit == 0 && fr.nkeys < smallObject && fl&strHasSep == 0 {
					fr.bloom[w] |= bit
					f.khs = append(f.khs, uint32(kh))
					fr.nkeys++
				} else if fl&strHasSep != 0 || f.dupKey(fr, uint32(kh)) {
					return i, errSuspect
				}
			}
			i = skipWS(doc, end)
			if i >= n || doc[i] != ':' {
				if i >= n {
					return i, f.syntaxErr(i, "unexpected end of input")
				}
				return i, f.syntaxErr(i, "expected ':' after object key, found "+quoteByte(doc[i]))
			}
			i = skipWS(doc, i+1)
			if i >= n {
				return i, f.syntaxErr(i, "unexpected end of input")
			}
		}
		// The member's value at path f.path.
		{
			check := fr.check
			emit := true
			if check {
				emit, check = f.classify(f.path[fr.relBase:])
				if !emit && !check {
					end, _, err := f.validate(i)
					if err != nil {
						return end, err
					}
					i = end
					goto next
				}
			}
			segs := fr.segs + 1
			c := doc[i]
			switch {
			case c == '{' || (c == '[' && f.opts.Arrays == ArraysIndex):
				if f.opts.MaxDepth > 0 && int(segs) >= f.opts.MaxDepth {
					var err error
					if i, err = f.leafContainer(i, kindOf(c), emit); err != nil {
						return i, err
					}
					break
				}
				if len(f.stack) >= f.maxNesting {
					return i, f.nestingErr(i)
				}
				j := skipWS(doc, i+1)
				if j < n && doc[j] == c+2 { // '{'+2 == '}', '['+2 == ']'
					if emit {
						if err := f.emit(kindOf(c), f.emptyOf(c), i); err != nil {
							return i, err
						}
					}
					i = j + 1
					break
				}
				f.stack = append(f.stack, frame{
					pathLen:  int32(len(f.path)),
					relBase:  fr.relBase,
					segs:     segs,
					row:      fr.row,
					isArr:    c == '[',
					check:    check,
					serial:   f.nextSerial(),
					keyStart: int32(len(f.khs)),
				})
				i++
				continue
			case c == '[':
				if f.tables && !(f.opts.MaxDepth > 0 && int(segs) >= f.opts.MaxDepth) {
					var err error
					if i, err = f.openTable(fr, i, emit, check); err != nil {
						return i, err
					}
					if i < 0 { // pushed a table frame
						i = ^i
						continue
					}
					break
				}
				var err error
				if i, err = f.leafContainer(i, Array, emit); err != nil {
					return i, err
				}
			default:
				var err error
				if i, err = f.leaf(i, emit); err != nil {
					return i, err
				}
			}
		}
	next:
		// After a member: ',' or the close of the top container (and of
		// any containers that close right after it).
		for {
			i = skipWS(doc, i)
			if i >= n {
				return i, f.syntaxErr(i, "unexpected end of input")
			}
			fr := &f.stack[len(f.stack)-1]
			c := doc[i]
			if c == ',' {
				i++
				break
			}
			if (c == ']' && fr.isArr) || (c == '}' && !fr.isArr) {
				if !fr.isArr {
					f.khs = f.khs[:fr.keyStart]
				}
				f.stack = f.stack[:len(f.stack)-1]
				i++
				if len(f.stack) == bottom {
					return i, nil
				}
				continue
			}
			if fr.isArr {
				return i, f.syntaxErr(i, "expected ',' or ']' after array element, found "+quoteByte(c))
			}
			return i, f.syntaxErr(i, "expected ',' or '}' after object member, found "+quoteByte(c))
		}
	}
}

func kindOf(open byte) Kind {
	if open == '{' {
		return Object
	}
	return Array
}

// leaf reads the scalar at doc[i] and emits it at f.path if emit is set.
func (f *Flattener) leaf(i int, emit bool) (int, error) {
	doc := f.doc
	c := doc[i]
	switch {
	case c == '"':
		end, fl, msg := scanString(doc, i)
		if end < 0 {
			return ^end, f.syntaxErr(^end, msg)
		}
		body := doc[i+1 : end-1 : end-1]
		if emit {
			if fl&strEscaped != 0 {
				start := len(f.arena)
				f.arena = appendUnescaped(f.arena, body)
				body = f.arena[start:len(f.arena):len(f.arena)]
			}
			if err := f.emit(String, body, i); err != nil {
				return i, err
			}
		}
		return end, nil
	case c == '-' || c-'0' < 10:
		end := scanNumber(doc, i)
		if end < 0 {
			return ^end, f.syntaxErr(^end, "invalid number")
		}
		if emit {
			if err := f.emit(Number, doc[i:end:end], i); err != nil {
				return i, err
			}
		}
		return end, nil
	case c == 't' || c == 'f' || c == 'n':
		end, k := scanLiteral(doc, i)
		if end < 0 {
			return ^end, f.syntaxErr(^end, "invalid literal")
		}
		if emit {
			if err := f.emit(k, doc[i:end:end], i); err != nil {
				return i, err
			}
		}
		return end, nil
	case c == '{' || c == '[':
		return f.leafContainer(i, kindOf(c), emit)
	}
	return i, f.syntaxErr(i, "invalid character "+quoteByte(c)+" looking for beginning of value")
}

// leafContainer validates the container at doc[i] and emits it whole, as
// compact JSON, at f.path.
func (f *Flattener) leafContainer(i int, k Kind, emit bool) (int, error) {
	start := len(f.arena)
	end, ws, err := f.scanValue(i, emit)
	if err != nil {
		return end, err
	}
	if emit {
		v := f.doc[i:end:end]
		if ws {
			v = f.arena[start:len(f.arena):len(f.arena)]
		}
		if err := f.emit(k, v, i); err != nil {
			return i, err
		}
	}
	return end, nil
}

func (f *Flattener) emitIf(emit bool, k Kind, v []byte, off int) error {
	if !emit {
		return nil
	}
	return f.emit(k, v, off)
}

// emit appends a field at the row-relative path and checks it for a
// collision with an earlier field of the same row.
func (f *Flattener) emit(k Kind, v []byte, off int) error {
	rel := f.path
	row := int32(0)
	if len(f.stack) > 0 {
		top := &f.stack[len(f.stack)-1]
		rel = f.path[top.relBase:]
		row = top.row
	}
	start := len(f.arena)
	f.arena = append(f.arena, rel...)
	p := f.arena[start:len(f.arena):len(f.arena)]

	if !f.slow {
		f.out = append(f.out, Field{Path: p, Value: v, Kind: k})
		if f.tables {
			f.rowOf = append(f.rowOf, row)
		}
		return nil
	}
	// Collision check: open addressing over a generation-stamped table.
	h := maphash.Bytes(f.seed, p) ^ uint64(row)*0x9E3779B97F4A7C15
	if 2*(f.htCount+1) > len(f.ht) {
		f.growTable()
	}
	mask := uint64(len(f.ht) - 1)
	idx := len(f.out) - f.base
	for s := h & mask; ; s = (s + 1) & mask {
		e := &f.ht[s]
		if e.gen != f.htGen {
			*e = htEntry{gen: f.htGen, idx: uint32(idx), h: h}
			f.htCount++
			break
		}
		if e.h == h {
			prev := f.base + int(e.idx)
			if bytes.Equal(f.out[prev].Path, p) && (!f.tables || f.rowOf[prev] == row) {
				switch f.opts.OnCollision {
				case CollisionFirst:
					f.arena = f.arena[:start]
					return nil
				case CollisionLast:
					f.arena = f.arena[:start]
					f.out[prev].Value, f.out[prev].Kind = v, k
					return nil
				}
				return &PathError{Offset: int64(off), Path: string(p), Err: ErrCollision}
			}
		}
	}
	f.out = append(f.out, Field{Path: p, Value: v, Kind: k})
	if f.tables {
		f.rowOf = append(f.rowOf, row)
	}
	return nil
}

// growTable doubles the collision table and re-inserts this document's
// fields.
func (f *Flattener) growTable() {
	size := 2 * len(f.ht)
	if size < 64 {
		size = 64
	}
	f.ht = make([]htEntry, size)
	f.htGen = 1
	mask := uint64(size - 1)
	for idx, fld := range f.out[f.base:] {
		row := int32(0)
		if f.tables {
			row = f.rowOf[f.base+idx]
		}
		h := maphash.Bytes(f.seed, fld.Path) ^ uint64(row)*0x9E3779B97F4A7C15
		s := h & mask
		for f.ht[s].gen == f.htGen {
			s = (s + 1) & mask
		}
		f.ht[s] = htEntry{gen: f.htGen, idx: uint32(idx), h: h}
	}
}

// classify decides, for the row-relative path p, whether a field at p is
// kept (emit) and whether its descendants must still be checked.
func (f *Flattener) classify(p []byte) (emit, check bool) {
	sep := f.sep
	for _, e := range f.exclude {
		if under(p, e, sep) {
			return false, false
		}
	}
	below := false // p is a strict prefix of a filter path
	for _, e := range f.exclude {
		if under(e, p, sep) {
			below = true
			break
		}
	}
	if len(f.include) == 0 {
		return true, below
	}
	for _, in := range f.include {
		if under(p, in, sep) {
			return true, below
		}
	}
	for _, in := range f.include {
		if under(in, p, sep) && len(in) > len(p) {
			return false, true
		}
	}
	return false, false
}

// under reports whether p equals q or lies below it on a separator
// boundary.
func under(p, q, sep []byte) bool {
	if !bytes.HasPrefix(p, q) {
		return false
	}
	return len(p) == len(q) || bytes.HasPrefix(p[len(q):], sep)
}

// openTable handles an array at f.path in tables mode: an empty array is kept
// as a field "[]"; otherwise a table frame is pushed and ^i is returned with i
// just inside the array.
func (f *Flattener) openTable(fr *frame, i int, emit, check bool) (int, error) {
	doc := f.doc
	if len(f.stack) >= f.maxNesting {
		return i, f.nestingErr(i)
	}
	j := skipWS(doc, i+1)
	if j < len(doc) && doc[j] == ']' {
		if emit {
			if err := f.emit(Array, f.emptyOf('['), i); err != nil {
				return i, err
			}
		}
		return j + 1, nil
	}
	if !emit && !check {
		end, _, err := f.validate(i)
		return end, err
	}
	if len(f.stack) >= f.maxNesting {
		return i, f.nestingErr(i)
	}
	// Table name: the parent row's table, the separator, the relative path.
	parentTable := f.rows[f.rowBase+int(fr.row)].Table
	start := len(f.arena)
	if len(parentTable) > 0 {
		f.arena = append(f.arena, parentTable...)
		f.arena = append(f.arena, f.sep...)
	}
	f.arena = append(f.arena, f.path[fr.relBase:]...)
	f.stack = append(f.stack, frame{
		pathLen: int32(len(f.path)),
		relBase: fr.relBase,
		segs:    fr.segs + 1,
		row:     fr.row,
		table:   int32(start),
		tabLen:  int32(len(f.arena) - start),
		isArr:   true,
		tabArr:  true,
		check:   check,
	})
	return ^(i + 1), nil
}

// tableElement starts a new row for the element at doc[i] of the table array
// fr and processes it: an object is pushed as the row's root container, a
// scalar becomes the row's "value" field, an array becomes the row's "value"
// child table.
func (f *Flattener) tableElement(fr *frame, i int) (int, error) {
	doc := f.doc
	table := f.arena[fr.table : fr.table+fr.tabLen : fr.table+fr.tabLen]
	parent := f.rows[f.rowBase+int(fr.row)]
	parentID := parent.ID
	if f.rootArray && len(f.stack) == 1 {
		parentID = 0
	}
	f.idbuf = binary.LittleEndian.AppendUint64(f.idbuf[:0], parent.ID)
	f.idbuf = append(f.idbuf, table...)
	f.idbuf = binary.LittleEndian.AppendUint64(f.idbuf, uint64(fr.idx))
	f.rows = append(f.rows, Row{
		Table:    table,
		ID:       xxhash.Sum64(f.idbuf),
		ParentID: parentID,
		Index:    int(fr.idx),
	})
	row := int32(len(f.rows) - 1 - f.rowBase)
	fr.idx++
	f.path = f.path[:fr.pathLen]
	relBase := int32(len(f.path))
	check := fr.check
	c := doc[i]
	switch c {
	case '{':
		j := skipWS(doc, i+1)
		if j < len(doc) && doc[j] == '}' {
			return j + 1, nil // a row without fields
		}
		if len(f.stack) >= f.maxNesting {
			return i, f.nestingErr(i)
		}
		f.stack = append(f.stack, frame{
			pathLen:  relBase,
			relBase:  relBase,
			row:      row,
			root:     true,
			check:    check,
			serial:   f.nextSerial(),
			keyStart: int32(len(f.khs)),
		})
		return f.walk(i+1, len(f.stack)-1)
	default:
		// The element is the row's "value": push a pseudo-object frame
		// for the row so emit sees the row, then read the value.
		f.stack = append(f.stack, frame{pathLen: relBase, relBase: relBase, row: row, root: true, check: check})
		f.path = append(f.path, "value"...)
		emit := true
		if check {
			emit, check = f.classify(f.path[relBase:])
		}
		var err error
		if c == '[' && !(f.opts.MaxDepth > 0 && f.opts.MaxDepth <= 1) {
			top := &f.stack[len(f.stack)-1]
			i, err = f.openTable(top, i, emit, check)
			if err == nil && i < 0 {
				i, err = f.walk(^i, len(f.stack)-1)
			}
		} else {
			i, err = f.leaf(i, emit)
		}
		f.stack = f.stack[:len(f.stack)-1]
		return i, err
	}
}

// errSuspect stops a fast run that found a repeated key or a key containing
// the separator: the document is run again with every path checked.
var errSuspect = errors.New("flatten: internal: collision possible")

func (f *Flattener) nextSerial() uint32 {
	f.serial++
	return f.serial
}

// smallObject is the number of keys up to which an object's keys are checked
// for repeats by a linear scan of their hashes; larger objects use the
// generation-stamped hash set, so the check stays linear in the key count.
const smallObject = 64

// dupKey records key k of the object fr and reports whether the object may
// already have it (by a 32-bit hash). A false positive only costs a slow run.
func (f *Flattener) dupKey(fr *frame, h uint32) bool {
	if fr.nkeys < smallObject {
		// A 256-bit Bloom filter per object spares most scans.
		w, bit := bloomBit(h)
		if fr.bloom[w]&bit != 0 {
			for _, x := range f.khs[fr.keyStart:] {
				if x == h {
					return true
				}
			}
		}
		fr.bloom[w] |= bit
		f.khs = append(f.khs, h)
		fr.nkeys++
		return false
	}
	if fr.nkeys == smallObject {
		for _, x := range f.khs[fr.keyStart:] {
			f.keySeen(fr.serial, x)
		}
	}
	fr.nkeys++
	return f.keySeen(fr.serial, h)
}

// keySeen records the key hash h of the object with the given serial in the
// document's hash set and reports whether it was there.
func (f *Flattener) keySeen(serial uint32, h uint32) bool {
	if 2*(f.ksCount+1) > len(f.ks) {
		f.growKeys()
	}
	x := (uint64(h) ^ uint64(serial)<<32) * 0x9E3779B97F4A7C15
	fp := x >> 32
	want := uint64(f.ksGen)<<32 | fp
	mask := uint64(len(f.ks) - 1)
	for s := fp & mask; ; s = (s + 1) & mask {
		e := f.ks[s]
		if e>>32 != uint64(f.ksGen) {
			f.ks[s] = want
			f.ksCount++
			return false
		}
		if e == want {
			return true
		}
	}
}

func (f *Flattener) growKeys() {
	old := f.ks
	size := 2 * len(old)
	if size < 64 {
		size = 64
	}
	f.ks = make([]uint64, size)
	mask := uint64(size - 1)
	for _, e := range old {
		if uint32(e>>32) != f.ksGen {
			continue
		}
		s := e & 0xffffffff & mask
		for f.ks[s]>>32 == uint64(f.ksGen) {
			s = (s + 1) & mask
		}
		f.ks[s] = e
	}
}

// emptyOf returns the compact text of an empty object or array ('{' or '[').
func (f *Flattener) emptyOf(open byte) []byte {
	if open == '{' {
		return f.empties[0:2:2]
	}
	return f.empties[2:4:4]
}

// nextIndex sets f.path to the path of the next element of the index-mode
// array fr. The decimal index stays in f.path between elements (children
// only append after it), so moving on is an in-place increment.
func (f *Flattener) nextIndex(fr *frame) {
	start := int(fr.pathLen)
	if !fr.root {
		start += len(f.sep)
	}
	if fr.idx == 0 {
		f.path = f.path[:fr.pathLen]
		if !fr.root {
			f.path = append(f.path, f.sep...)
		}
		f.path = append(f.path, '0')
		fr.ndigits = 1
		fr.idx = 1
		return
	}
	end := start + int(fr.ndigits)
	f.path = f.path[:end]
	fr.idx++
	if c := f.path[end-1]; c != '9' {
		f.path[end-1] = c + 1
		return
	}
	d := f.path[start:end]
	for k := len(d) - 1; k >= 0; k-- {
		if d[k] != '9' {
			d[k]++
			return
		}
		d[k] = '0'
	}
	// All nines: one more digit, a leading 1.
	f.path = append(f.path, '0')
	f.path[start] = '1'
	fr.ndigits++
}

// bloomBit picks the word and bit of a key hash in an object's Bloom filter.
func bloomBit(h uint32) (int, uint64) {
	return int(h >> 30), 1 << (h >> 24 & 63)
}
