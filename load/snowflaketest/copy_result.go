package snowflaketest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// copyResult records a COPY's load metadata and history and answers its
// result: one row per file.
func (e *Emulator) copyResult(ctx context.Context, s *session, c *copyStmt, loads []*fileLoad) (*result, error) {
	var loaded []string
	for _, fl := range loads {
		if fl.status != "LOAD_FAILED" && fl.key != "" {
			loaded = append(loaded, fl.key)
		}
	}
	if err := e.noteLoads(ctx, s, c.tableKey(), loaded); err != nil {
		return nil, err
	}
	e.noteHistory(s, c.db, c.sch, c.table, c.sr, loads)
	res := &result{typeID: stmtCopy, rowtype: []rowType{
		textCol("file"), textCol("status"), fixedCol("rows_parsed"), fixedCol("rows_loaded"), fixedCol("error_limit"),
		fixedCol("errors_seen"), textCol("first_error"), fixedCol("first_error_line"), fixedCol("first_error_character"), textCol("first_error_column_name"),
	}}
	res.job = &copyJob{table: c.tableKey(), errs: errorRows(loads)}
	for _, fl := range loads {
		row := []*string{strp(fl.name), strp(fl.status), strp(strconv.Itoa(fl.parsed)), strp(strconv.Itoa(fl.loaded)),
			strp(strconv.Itoa(fl.limit)), strp(strconv.Itoa(len(fl.errs))), nil, nil, nil, nil}
		if len(fl.errs) > 0 {
			le := fl.errs[0]
			row[6] = strp(le.err.Message)
			if !fl.missing {
				row[7], row[8], row[9] = strp(strconv.Itoa(le.line)), strp(strconv.Itoa(le.char)), strp(le.column)
			}
		}
		res.rowset = append(res.rowset, row)
	}
	return res, nil
}

// validate answers COPY with VALIDATION_MODE: nothing is loaded.
// RETURN_ERRORS and RETURN_ALL_ERRORS list every rejected row;
// RETURN_n_ROWS returns the first n rows as they would load (the stager
// kept them in its preview table), or fails with the first error.
func (e *Emulator) validate(ctx context.Context, s *session, st *stager, loads []*fileLoad) (*result, error) {
	res := &result{typeID: stmtCopy}
	m := reReturnRows.FindStringSubmatch(st.c.validation)
	if m == nil {
		for i, c := range validateCols {
			if validateTypes[i] == "BIGINT" {
				res.rowtype = append(res.rowtype, fixedCol(c))
			} else {
				res.rowtype = append(res.rowtype, textCol(c))
			}
		}
		res.rowset = errorRows(loads)
		return res, nil
	}
	for _, fl := range loads {
		if len(fl.errs) > 0 {
			le := fl.errs[0]
			return nil, &SQLError{Number: le.err.Number, SQLState: le.err.SQLState, Err: le.err.Err,
				Message: fmt.Sprintf("%s\n  File '%s', line %d, character %d\n  Row %d, column %s", le.err.Message, fl.name, le.line, le.char, le.row+1, le.column)}
		}
	}
	target := st.c.target
	for _, c := range target {
		res.rowtype = append(res.rowtype, snowType(c.name, c.duckType))
	}
	var casts []string
	for k, c := range target {
		casts = append(casts, castExpr(fmt.Sprintf("c%d", k+1), c.duckType, false)+" AS "+quoteIdent(c.name))
	}
	q := "SELECT " + strings.Join(casts, ", ") + " FROM temp.main." + st.preview + " ORDER BY __f, __row LIMIT " + m[1]
	return queryRows(ctx, s.conn, q)
}
