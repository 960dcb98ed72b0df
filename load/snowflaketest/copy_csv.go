package snowflaketest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// record is one parsed CSV record or JSON document.
type record struct {
	line   int
	fields []field
	off    int64 // decompressed byte offset of the record in its file
	n      int   // its length in bytes
}

type field struct {
	val  *string
	char int
}

// csvValue is a field's value per the file format: nil for SQL NULL.
func csvValue(raw []byte, quoted bool, ff fileFormat) *string {
	s := string(raw)
	if ff.trimSpace {
		s = strings.TrimSpace(s)
	}
	if quoted {
		for _, n := range ff.nullIf {
			if s == n && n != "" {
				return nil
			}
		}
		return &s
	}
	for _, n := range ff.nullIf {
		if s == n {
			return nil
		}
	}
	if s == "" && ff.emptyAsNull {
		return nil
	}
	if ff.escape != 0 && strings.IndexByte(s, ff.escape) >= 0 {
		s = unescapeCSV(s, ff.escape)
	}
	return &s
}

// unescapeCSV resolves ESCAPE_UNENCLOSED_FIELD sequences.
func unescapeCSV(s string, esc byte) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == esc && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// csvFile reads the records of a CSV file for a stager.
type csvFile struct {
	st    *stager
	cr    *csvReader
	rs    *readState
	pos   []int // MATCH_BY_COLUMN_NAME: the field of each target column, -1 for none
	want  int   // the fields a record must have
	chars []byte
}

// csvRecords reads the header lines of a CSV file (PARSE_HEADER,
// SKIP_HEADER) and returns the step that stages one record.
func (st *stager) csvRecords(r *bufio.Reader, rs *readState) func() (bool, error) {
	ff := st.c.ff
	f := &csvFile{st: st, cr: newCSVReader(r, ff), rs: rs, want: len(st.c.target)}
	if ff.parseHeader {
		f.readHeader()
	}
	for skip := ff.skipHeader; skip > 0 && rs.err == nil; skip-- {
		if _, err := f.cr.next(); err != nil {
			if err != io.EOF {
				rs.err = err
			}
			break
		}
	}
	return f.step
}

// readHeader reads the first record as field names: MATCH_BY_COLUMN_NAME
// maps them to columns, and every record must then have as many fields.
func (f *csvFile) readHeader() {
	st := f.st
	hdr, err := f.cr.next()
	if err != nil && err != io.EOF {
		f.rs.err = err
	}
	if st.c.ff.countMismatch && len(hdr.fields) > 0 {
		f.want = len(hdr.fields)
	}
	if st.c.match == "" {
		return
	}
	f.pos = make([]int, len(st.c.target))
	for k := range f.pos {
		f.pos[k] = -1
	}
	for hi, fld := range hdr.fields {
		if fld.val == nil {
			continue
		}
		name := *fld.val
		if k, ok := st.byName[name]; ok {
			f.pos[k] = hi
		} else if k, ok := st.byUpper[strings.ToUpper(name)]; ok && st.c.match != "CASE_SENSITIVE" {
			f.pos[k] = hi
		}
	}
}

// step stages the next record, or records its error; it reports false at
// the end of the file.
func (f *csvFile) step() (bool, error) {
	if f.rs.err != nil {
		return false, nil
	}
	r, err := f.cr.next()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		f.rs.err, f.rs.line = err, f.cr.line
		return false, nil
	}
	st, ri := f.st, f.rs.n
	f.rs.n++
	if len(r.fields) != f.want && st.c.ff.countMismatch {
		rec := strings.TrimRight(string(f.cr.buf), "\r\n")
		st.fl.errs = append(st.fl.errs, loadErr{row: ri, line: r.line, char: 1, column: fmt.Sprintf("%s[%d]", quoteIdent(st.c.table), len(r.fields)), record: &rec,
			err: sqlErr(errColumnCount, "22000", "Number of columns in file (%d) does not match that of the corresponding table (%d), use file format option error_on_column_count_mismatch=false to ignore this error", len(r.fields), f.want)})
		return true, nil
	}
	f.chars = f.chars[:0]
	for k := range st.vals {
		st.vals[k] = nil
		fi := k
		if f.pos != nil {
			fi = f.pos[k]
		}
		if k > 0 {
			f.chars = append(f.chars, ',')
		}
		if fi >= 0 && fi < len(r.fields) {
			st.vals[k] = r.fields[fi].val
			f.chars = strconv.AppendInt(f.chars, int64(r.fields[fi].char), 10)
		} else {
			f.chars = append(f.chars, '1')
		}
	}
	return true, st.emit(ri, r.line, f.chars, r.off, r.n, st.vals)
}

// bindStageRows reads the CSV files the driver uploaded to its temporary
// bind stage (bindStage "@SYSTEM$BIND/<request id>") as rows of text binds.
func (e *Emulator) bindStageRows(ctx context.Context, s *session, stage string, nParams int) ([][]bindValue, error) {
	sr, err := e.resolveStage(ctx, s, stage, true)
	if err != nil {
		return nil, err
	}
	files, err := listStage(sr)
	if err != nil {
		return nil, err
	}
	ff := fileFormat{typ: "CSV", delimiter: ",", enclosure: '"', emptyAsNull: true, countMismatch: true}
	var out [][]bindValue
	for _, f := range files {
		st, err := openStageStream(f.abs, "AUTO")
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: bind stage: %w", err)
		}
		data, err := io.ReadAll(st.r)
		st.close()
		if err != nil {
			return nil, fmt.Errorf("snowflaketest: bind stage: %w", err)
		}
		for _, r := range parseCSV(data, ff) {
			if len(r.fields) != nParams {
				return nil, sqlErr(errColumnCount, "22000", "Number of columns in file (%d) does not match the number of bind variables (%d)", len(r.fields), nParams)
			}
			row := make([]bindValue, nParams)
			for k, fld := range r.fields {
				if fld.val == nil {
					row[k] = bindValue{null: true, typ: "TEXT"}
				} else {
					row[k] = bindValue{typ: "TEXT", s: *fld.val}
				}
			}
			out = append(out, row)
		}
	}
	return out, nil
}
