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
// scalars as written.
func (st *stager) jsonCell(v []byte, col column) *string {
	v = bytes.TrimSpace(v)
	isJSON := strings.EqualFold(col.duckType, "JSON")
	if string(v) == "null" {
		return nil
	}
	if len(v) > 0 && v[0] == '"' && !isJSON {
		s := jsonString(v)
		return &s
	}
	t := string(v)
	return &t
}
