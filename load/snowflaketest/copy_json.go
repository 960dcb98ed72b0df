package snowflaketest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// jsonRecords returns the step that stages the next document of a JSON
// file (NDJSON, concatenated, or one outer array with STRIP_OUTER_ARRAY).
func (st *stager) jsonRecords(r *bufio.Reader, rs *readState) func() (bool, error) {
	jr := newJSONReader(r, st.c.ff.stripOuterArray)
	return func() (bool, error) {
		d, err := jr.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			rs.err, rs.line = err, jr.line
			return false, nil
		}
		rs.n++
		return true, st.jsonRow(rs.n-1, d)
	}
}

// stageParquet reads a Parquet file with DuckDB, one JSON object per row
// (column name → value), so Parquet loads share the JSON path: a single
// VARIANT column, or MATCH_BY_COLUMN_NAME. The rows stream from another
// connection while the COPY's connection stages them.
func (st *stager) stageParquet(ctx context.Context, fl *fileLoad) error {
	sum, err := hashFile(fl.file.abs)
	if err != nil {
		return fmt.Errorf("snowflaketest: copy: %w", err)
	}
	fl.key = fl.keyPrefix + sum
	n := 0
	var perr *jsonParseErr
	rows, err := st.e.db.QueryContext(ctx, "SELECT CAST(to_json(p) AS VARCHAR) FROM read_parquet("+quoteString(fl.file.abs)+") AS p")
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		perr = &jsonParseErr{line: 1, char: 1, msg: "Error parsing the parquet file: " + first}
	} else {
		defer rows.Close()
	}
	step := func() (bool, error) {
		if perr == nil && rows != nil {
			if rows.Next() {
				var j string
				err := rows.Scan(&j)
				if err == nil {
					n++
					return true, st.jsonRow(n-1, jsonDoc{raw: []byte(j), line: n})
				}
				perr = &jsonParseErr{line: n + 1, char: 1, msg: err.Error()}
			} else if err := rows.Err(); err != nil {
				perr = &jsonParseErr{line: n + 1, char: 1, msg: err.Error()}
			}
		}
		if perr == nil {
			return false, nil
		}
		// A file that fails to read ends with one error row.
		d := jsonDoc{line: perr.line, err: perr}
		perr, rows = nil, nil
		n++
		return false, st.jsonRow(n-1, d)
	}
	if err := st.fill(ctx, step); err != nil {
		return err
	}
	fl.parsed = n
	return nil
}

// jsonRow stages one document: whole into the one VARIANT column, or its
// members into the columns of their names (MATCH_BY_COLUMN_NAME); a
// document that does not parse becomes an error of the file.
func (st *stager) jsonRow(ri int, d jsonDoc) error {
	fl, c := st.fl, st.c
	if d.err != nil {
		pe := sqlErr(errJSON, "22P02", "Error parsing JSON: %s", d.err.msg)
		if c.ff.typ == "PARQUET" {
			pe = sqlErr(errGeneric, "22000", "%s", d.err.msg)
		}
		rec := strings.TrimRight(string(d.raw), "\r\n")
		fl.errs = append(fl.errs, loadErr{row: ri, line: d.err.line, char: d.err.char, column: quoteIdent(c.table), err: pe, record: &rec})
		return nil
	}
	clear(st.vals)
	if c.match == "" {
		v := string(d.raw)
		if c.ff.stripNulls {
			v = string(stripJSONNulls(nil, d.raw))
		}
		st.vals[0] = &v
		return st.emit(ri, d.line, nil, d.off, len(d.raw), st.vals)
	}
	isObj := objectMembers(d.raw, func(key, val []byte) {
		k, ok := st.byName[jsonString(key)]
		if !ok && c.match == "CASE_INSENSITIVE" {
			k, ok = st.byUpper[strings.ToUpper(jsonString(key))]
		}
		if ok {
			st.vals[k] = st.jsonCell(val, c.target[k])
		}
	})
	if !isObj {
		fl.errs = append(fl.errs, loadErr{row: ri, line: d.line, char: 1, column: quoteIdent(c.table),
			err: sqlErr(errJSON, "22P02", "JSON file format with MATCH_BY_COLUMN_NAME requires each document to be an object")})
		return nil
	}
	return st.emit(ri, d.line, nil, d.off, len(d.raw), st.vals)
}

// jsonCell renders a member's value for its column: VARIANT, OBJECT and
// ARRAY columns get the JSON text, other columns get strings unquoted and
// scalars as written. A JSON null is SQL NULL, except in a VARIANT column
// loaded from a JSON file, where Snowflake keeps it as a VARIANT null
// (JSON null, not SQL NULL) unless STRIP_NULL_VALUES = TRUE drops the
// member. Parquet has no such null: its nulls are SQL NULL.
func (st *stager) jsonCell(v []byte, col column) *string {
	v = bytes.TrimSpace(v)
	isJSON := strings.EqualFold(col.duckType, "JSON")
	if string(v) == "null" {
		if col.isVariant() && st.c.ff.typ == "JSON" && !st.c.ff.stripNulls {
			s := "null"
			return &s
		}
		return nil
	}
	if len(v) > 0 && v[0] == '"' && !isJSON {
		s := jsonString(v)
		return &s
	}
	if isJSON && st.c.ff.stripNulls {
		v = stripJSONNulls(nil, v)
	}
	t := string(v)
	return &t
}

// stripJSONNulls appends v (valid JSON) to dst without the object members
// and array elements that are null, at every depth (STRIP_NULL_VALUES).
func stripJSONNulls(dst, v []byte) []byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || (v[0] != '{' && v[0] != '[') {
		return append(dst, v...)
	}
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	if v[0] == '{' {
		dst = append(dst, '{')
		objectMembers(v, func(key, val []byte) {
			if string(val) != "null" {
				sep()
				dst = append(append(dst, key...), ':')
				dst = stripJSONNulls(dst, val)
			}
		})
		return append(dst, '}')
	}
	dst = append(dst, '[')
	arrayElements(v, func(val []byte) {
		if string(val) != "null" {
			sep()
			dst = stripJSONNulls(dst, val)
		}
	})
	return append(dst, ']')
}

// arrayElements calls fn with each element of a JSON array (already known
// to be valid JSON).
func arrayElements(doc []byte, fn func(val []byte)) {
	i := skipJSONSpace(doc, 0)
	if i >= len(doc) || doc[i] != '[' {
		return
	}
	i++
	for {
		i = skipJSONSpace(doc, i)
		if i >= len(doc) || doc[i] == ']' {
			return
		}
		if doc[i] == ',' {
			i++
			continue
		}
		vs := i
		i = skipJSONValue(doc, i)
		fn(doc[vs:i])
	}
}
