package snowflaketest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Staged files are read as streams: decompressed on the fly, parsed one
// record at a time with line numbers counted as the bytes go by, and
// hashed (for load metadata) in the same pass. Memory in Go is bounded by
// the longest record, whatever the file's size.

// stageStream is an open stage file: the decompressed records come from
// r; the raw bytes pass through a SHA-256 on the way.
type stageStream struct {
	f    *os.File
	raw  io.Reader // the file through the hash
	h    hash.Hash
	r    *bufio.Reader
	zstd *zstd.Decoder
}

// openStageStream opens path, detecting the compression when comp is AUTO.
func openStageStream(path, comp string) (*stageStream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st := &stageStream{f: f, h: sha256.New()}
	st.raw = io.TeeReader(f, st.h)
	br := bufio.NewReaderSize(st.raw, 256<<10)
	if comp == "AUTO" {
		head, _ := br.Peek(4)
		switch {
		case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
			comp = "GZIP"
		case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			comp = "ZSTD"
		case bytes.HasPrefix(head, []byte("BZh")):
			comp = "BZ2"
		default:
			comp = "NONE"
		}
	}
	var dec io.Reader
	switch comp {
	case "NONE":
		st.r = br
		return st, nil
	case "GZIP":
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		dec = zr
	case "ZSTD":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, err
		}
		st.zstd = zr
		dec = zr
	case "BZ2":
		dec = bzip2.NewReader(br)
	default:
		f.Close()
		return nil, fmt.Errorf("unknown compression %s", comp)
	}
	st.r = bufio.NewReaderSize(dec, 256<<10)
	return st, nil
}

// finish reads the rest of the raw file (so the hash covers all of it),
// closes the file and returns the hex SHA-256 of its bytes.
func (st *stageStream) finish() (string, error) {
	_, err := io.Copy(io.Discard, st.raw)
	st.close()
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(st.h.Sum(nil)), nil
}

func (st *stageStream) close() {
	if st.zstd != nil {
		st.zstd.Close()
		st.zstd = nil
	}
	_ = st.f.Close()
}

// hashCache remembers the content hash of stage files by path, size and
// modification time, so a COPY that finds a file already loaded need not
// read it, and one that loads it reads it once (hashing as it parses).
type hashCache struct {
	mu sync.Mutex
	m  map[string]cachedHash
}

type cachedHash struct {
	size int64
	mod  time.Time
	sum  string
}

func (c *hashCache) get(path string, size int64, mod time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[path]
	if !ok || h.size != size || !h.mod.Equal(mod) {
		return "", false
	}
	return h.sum, true
}

func (c *hashCache) put(path, sum string) {
	info, err := os.Stat(path)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedHash{}
	}
	c.m[path] = cachedHash{size: info.Size(), mod: info.ModTime(), sum: sum}
}

// hashFile returns the hex SHA-256 of a file, reading it as a stream.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// csvReader reads CSV records one at a time per a file format. A record
// may span lines inside enclosed fields.
type csvReader struct {
	br   *bufio.Reader
	ff   fileFormat
	line int   // line number of the next record
	off  int64 // decompressed offset of the next record
	buf  []byte
	eof  bool
}

func newCSVReader(r *bufio.Reader, ff fileFormat) *csvReader {
	return &csvReader{br: r, ff: ff, line: 1}
}

// readLine appends the next physical line (with its '\n') to c.buf and
// reports whether anything was read.
func (c *csvReader) readLine() (bool, error) {
	if c.eof {
		return false, nil
	}
	n := len(c.buf)
	for {
		chunk, err := c.br.ReadSlice('\n')
		c.buf = append(c.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			c.eof = true
			return len(c.buf) > n, nil
		}
		if err != nil {
			return false, err
		}
		return true, nil
	}
}

// next returns the next record, or io.EOF.
func (c *csvReader) next() (record, error) {
	c.buf = c.buf[:0]
	ok, err := c.readLine()
	if err != nil {
		return record{}, err
	}
	if !ok {
		return record{}, io.EOF
	}
	for {
		rec, complete := parseCSVRecord(c.buf, c.ff, c.eof)
		if complete {
			rec.line, rec.off, rec.n = c.line, c.off, len(c.buf)
			c.line += bytes.Count(c.buf, []byte{'\n'})
			c.off += int64(len(c.buf))
			return rec, nil
		}
		more, err := c.readLine()
		if err != nil {
			return record{}, err
		}
		if !more {
			rec, _ = parseCSVRecord(c.buf, c.ff, true)
			rec.line, rec.off, rec.n = c.line, c.off, len(c.buf)
			c.line += bytes.Count(c.buf, []byte{'\n'})
			c.off += int64(len(c.buf))
			return rec, nil
		}
	}
}

// parseCSVRecord parses one record from data, which holds whole lines. It
// reports false when an enclosed field is still open at the end of data
// and more input may follow (atEOF false).
func parseCSVRecord(data []byte, ff fileFormat, atEOF bool) (record, bool) {
	var rec record
	delim := []byte(ff.delimiter)
	pos, lineStart := 0, 0
	for {
		f := field{char: pos - lineStart + 1}
		var val []byte
		quoted := false
		if ff.enclosure != 0 && pos < len(data) && data[pos] == ff.enclosure {
			quoted = true
			pos++
			closed := false
			for pos < len(data) {
				c := data[pos]
				if c == ff.enclosure {
					if pos+1 < len(data) && data[pos+1] == ff.enclosure {
						val = append(val, c)
						pos += 2
						continue
					}
					pos++
					closed = true
					break
				}
				if c == '\n' {
					lineStart = pos + 1
				}
				val = append(val, c)
				pos++
			}
			if !closed && !atEOF {
				return rec, false
			}
			for pos < len(data) && data[pos] != '\n' && !bytes.HasPrefix(data[pos:], delim) {
				val = append(val, data[pos])
				pos++
			}
		} else {
			for pos < len(data) && data[pos] != '\n' && !bytes.HasPrefix(data[pos:], delim) {
				if ff.escape != 0 && data[pos] == ff.escape && pos+1 < len(data) && data[pos+1] != '\n' {
					val = append(val, data[pos], data[pos+1])
					pos += 2
					continue
				}
				val = append(val, data[pos])
				pos++
			}
		}
		atEOL := pos >= len(data) || data[pos] == '\n'
		if atEOL && !quoted {
			val = bytes.TrimSuffix(val, []byte("\r"))
		}
		f.val = csvValue(val, quoted, ff)
		rec.fields = append(rec.fields, f)
		if atEOL {
			return rec, true
		}
		pos += len(delim)
	}
}

// parseCSV parses a whole in-memory CSV text (the driver's bind files).
func parseCSV(data []byte, ff fileFormat) []record {
	cr := newCSVReader(bufio.NewReader(bytes.NewReader(data)), ff)
	var recs []record
	for {
		r, err := cr.next()
		if err != nil {
			break
		}
		recs = append(recs, r)
	}
	if ff.skipHeader > 0 {
		if ff.skipHeader >= len(recs) {
			return nil
		}
		recs = recs[ff.skipHeader:]
	}
	return recs
}

// jsonReader reads JSON documents one at a time: NDJSON, concatenated or
// pretty-printed documents, or the elements of one outer array when strip
// is set. A malformed document is reported with its line and the reader
// goes on with the next one: a document that spans lines and does not
// parse is taken to be its first line only, so one bad NDJSON line costs
// one record.
type jsonReader struct {
	br      *bufio.Reader
	pending []byte // bytes given back after a bad multi-line document
	strip   bool
	inArray bool
	started bool
	done    bool
	line    int
	char    int   // 1-based character of the next byte on its line
	off     int64 // decompressed offset of the next byte
	buf     []byte
}

func newJSONReader(r *bufio.Reader, strip bool) *jsonReader {
	return &jsonReader{br: r, strip: strip, line: 1, char: 1}
}

func (j *jsonReader) readByte() (byte, error) {
	var c byte
	if len(j.pending) > 0 {
		c = j.pending[0]
		j.pending = j.pending[1:]
	} else {
		var err error
		if c, err = j.br.ReadByte(); err != nil {
			return 0, err
		}
	}
	j.off++
	if c == '\n' {
		j.line++
		j.char = 1
	} else {
		j.char++
	}
	return c, nil
}

func (j *jsonReader) unreadByte(c byte) {
	j.off--
	j.pending = append([]byte{c}, j.pending...)
	if c == '\n' {
		j.line--
	} else {
		j.char--
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonDoc is one document read from a file; err is set when it does not
// parse.
type jsonDoc struct {
	raw  []byte
	line int
	off  int64 // decompressed offset of the document
	err  *jsonParseErr
}

type jsonParseErr struct {
	line, char int
	msg        string
}

// next returns the next document or io.EOF. doc.raw is valid until the
// next call.
func (j *jsonReader) next() (jsonDoc, error) {
	if j.done {
		return jsonDoc{}, io.EOF
	}
	c, err := j.skipToDoc()
	if err != nil {
		if err == io.EOF {
			j.done = true
			if j.inArray {
				return jsonDoc{line: j.line, err: &jsonParseErr{line: j.line, char: j.char, msg: "unexpected end of JSON input (outer array not closed)"}}, nil
			}
		}
		return jsonDoc{}, err
	}
	if !j.started {
		j.started = true
		if j.strip && c == '[' {
			j.inArray = true
			return j.next()
		}
	}
	line, char, start := j.line, j.char-1, j.off-1
	if c == '{' && !j.inArray && len(j.pending) == 0 && char == 1 {
		d, ok, err := j.wholeLine(c, line, start)
		if ok || err != nil {
			return d, err
		}
	}
	multiLine, err := j.scanDoc(c)
	if err != nil {
		return jsonDoc{}, err
	}
	if json.Valid(j.buf) {
		return jsonDoc{raw: j.buf, line: line, off: start}, nil
	}
	return j.docError(line, char, start, multiLine), nil
}

// skipToDoc skips white space (and, inside an outer array, the
// separators) and returns the first byte of the next document.
func (j *jsonReader) skipToDoc() (byte, error) {
	for {
		c, err := j.readByte()
		if err != nil {
			return 0, err
		}
		if isJSONSpace(c) || (j.inArray && c == ',') {
			continue
		}
		if j.inArray && c == ']' {
			j.inArray = false
			continue
		}
		return c, nil
	}
}

// wholeLine is the NDJSON fast path: a whole line, starting with c, that
// is one valid document. When it is not (ok false), the line's bytes are
// given back for scanDoc.
func (j *jsonReader) wholeLine(c byte, line int, start int64) (d jsonDoc, ok bool, err error) {
	rest, err := j.br.ReadSlice('\n')
	if err != nil && err != io.EOF {
		if err == bufio.ErrBufferFull {
			j.pending = append(j.pending[:0], rest...)
			return jsonDoc{}, false, nil
		}
		return jsonDoc{}, false, err
	}
	j.buf = append(append(j.buf[:0], c), rest...)
	if !json.Valid(j.buf) {
		j.pending = append(j.pending[:0], rest...)
		return jsonDoc{}, false, nil
	}
	if len(rest) > 0 && rest[len(rest)-1] == '\n' {
		j.line++
		j.char = 1
	} else {
		j.char += len(rest)
	}
	j.off += int64(len(rest))
	return jsonDoc{raw: j.buf, line: line, off: start}, true, nil
}

// scanDoc reads into j.buf the document that starts with c: up to its
// closing bracket or quote, or for a scalar up to a delimiter. It reports
// whether the document spans lines.
func (j *jsonReader) scanDoc(c byte) (multiLine bool, err error) {
	j.buf = append(j.buf[:0], c)
	depth, inStr, esc := 0, false, false
	switch c {
	case '{', '[':
		depth = 1
	case '"':
		inStr = true
	}
	scalar := depth == 0 && !inStr
	for depth > 0 || inStr || scalar {
		c, err = j.readByte()
		if err != nil {
			if err != io.EOF {
				return false, err
			}
			break
		}
		if scalar && (isJSONSpace(c) || c == ',' || c == ']' || c == '}' || c == '{' || c == '[' || c == '"') {
			j.unreadByte(c)
			break
		}
		if c == '\n' {
			multiLine = true
		}
		j.buf = append(j.buf, c)
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return multiLine, nil
}

// docError is the document in j.buf that does not parse, with the line
// and character of the error. A bad document spanning lines outside an
// outer array keeps only its first line: the rest is read again, so that
// the documents after it still load.
func (j *jsonReader) docError(line, char int, start int64, multiLine bool) jsonDoc {
	var v json.RawMessage
	perr := json.Unmarshal(j.buf, &v)
	off := len(j.buf)
	var se *json.SyntaxError
	if errors.As(perr, &se) {
		off = min(int(se.Offset), len(j.buf))
	}
	msg := "invalid JSON document"
	if perr != nil {
		msg = perr.Error()
	}
	if multiLine && !j.inArray {
		// Give back everything after the document's first line.
		nl := bytes.IndexByte(j.buf, '\n')
		j.pending = append(append([]byte(nil), j.buf[nl+1:]...), j.pending...)
		j.off -= int64(len(j.buf) - nl - 1)
		j.line, j.char = line+1, 1
		j.buf = j.buf[:nl+1]
		if off > nl {
			off = nl
		}
	}
	eline := line + bytes.Count(j.buf[:off], []byte{'\n'})
	echar := char + off
	if k := bytes.LastIndexByte(j.buf[:off], '\n'); k >= 0 {
		echar = off - k
	}
	return jsonDoc{raw: j.buf, line: line, off: start, err: &jsonParseErr{line: eline, char: echar, msg: strings.TrimPrefix(msg, "json: ")}}
}

// objectMembers calls fn with each top-level member of a JSON object
// (already known to be valid JSON): the raw key string (quoted) and the
// raw value. It reports false when doc is not an object.
func objectMembers(doc []byte, fn func(key, val []byte)) bool {
	i := skipJSONSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return false
	}
	i++
	for {
		i = skipJSONSpace(doc, i)
		if i >= len(doc) || doc[i] == '}' {
			return true
		}
		if doc[i] == ',' {
			i++
			continue
		}
		ks := i
		i = skipJSONValue(doc, i)
		key := doc[ks:i]
		i = skipJSONSpace(doc, i)
		if i < len(doc) && doc[i] == ':' {
			i++
		}
		i = skipJSONSpace(doc, i)
		vs := i
		i = skipJSONValue(doc, i)
		fn(key, doc[vs:i])
	}
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// skipJSONValue returns the index after the valid JSON value at b[i].
func skipJSONValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		i++
		for i < len(b) {
			switch b[i] {
			case '\\':
				i += 2
				continue
			case '"':
				return i + 1
			}
			i++
		}
		return i
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipJSONValue(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && !isJSONSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i
}

// jsonString returns the text of a raw JSON string (quotes included).
func jsonString(raw []byte) string {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	return s
}
