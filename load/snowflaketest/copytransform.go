package snowflaketest

import (
	"context"
	"strconv"
	"strings"
)

// copyTransform answers the COPY transformation a staging table with file
// metadata needs (and a pipe over it):
//
//	COPY INTO t (v, file_name, file_row) FROM (
//	    SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @stage[/path] [alias]
//	) [options]
//
// Only $1 (the whole record of a JSON or Parquet file), METADATA$FILENAME
// and METADATA$FILE_ROW_NUMBER are supported, in any order. The COPY runs
// into the $1 column, with its per-file results and load metadata, then the
// new rows get their file's name and row number, in the same transaction.
// It returns handled=false when the statement is not such a COPY.
func (e *Emulator) copyTransform(ctx context.Context, s *session, text string, ws []token) (*result, bool, error) {
	if len(ws) < 6 || !ws[0].is("COPY") || !ws[1].is("INTO") {
		return nil, false, nil
	}
	names, i := parseName(ws, 2)
	if len(names) == 0 {
		return nil, false, nil
	}
	nameText := text[ws[2].pos : ws[i-1].pos+len(ws[i-1].text)]
	var cols []string
	if i < len(ws) && ws[i].text == "(" {
		c := closeParen(ws, i)
		if c < 0 {
			return nil, false, nil
		}
		for _, a := range splitArgs(ws[i+1 : c]) {
			if len(a) != 1 {
				return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error in the column list of COPY INTO")
			}
			cols = append(cols, identName(a[0]))
		}
		i = c + 1
	}
	if i+2 >= len(ws) || !ws[i].is("FROM") || ws[i+1].text != "(" || !ws[i+2].is("SELECT") {
		return nil, false, nil
	}
	close := closeParen(ws, i+1)
	if close < 0 {
		return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed transformation in COPY INTO")
	}
	from := -1
	for j := i + 3; j < close; j++ {
		if ws[j].is("FROM") {
			from = j
			break
		}
	}
	if from < 0 || from+1 >= close || ws[from+1].kind != tkStage {
		return nil, true, unsupported("COPY transformation other than SELECT … FROM @stage")
	}
	stage := ws[from+1].text
	alias := ""
	if k := from + 2; k < close {
		if ws[k].is("AS") {
			k++
		}
		if k != close-1 || (ws[k].kind != tkWord && ws[k].kind != tkQuoted) {
			return nil, true, unsupported("COPY transformation with WHERE, JOIN or other clauses")
		}
		alias = strings.ToUpper(ws[k].text)
	}
	var items []string
	for _, a := range splitArgs(ws[i+3 : from]) {
		var b strings.Builder
		for _, t := range a {
			b.WriteString(strings.ToUpper(t.text))
		}
		item := b.String()
		if alias != "" {
			item = strings.TrimPrefix(item, alias+".")
		}
		switch item {
		case "$1", "METADATA$FILENAME", "METADATA$FILE_ROW_NUMBER":
			items = append(items, item)
		default:
			return nil, true, unsupported("COPY transformation item " + item + " (only $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER)")
		}
	}
	db, sch, table, err := s.qualify(names)
	if err != nil {
		return nil, true, err
	}
	all, err := extColumns(ctx, s.conn, db, sch, table)
	if err != nil {
		return nil, true, err
	}
	if cols == nil {
		cols = all
		if len(cols) > len(items) {
			cols = cols[:len(items)]
		}
	}
	if len(cols) != len(items) {
		return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nInsert value list does not match column list expecting %d but got %d", len(cols), len(items))
	}
	dataCol, nameCol, rowCol := "", "", ""
	for k, it := range items {
		switch it {
		case "$1":
			dataCol = cols[k]
		case "METADATA$FILENAME":
			nameCol = cols[k]
		case "METADATA$FILE_ROW_NUMBER":
			rowCol = cols[k]
		}
	}
	if dataCol == "" {
		return nil, true, unsupported("COPY transformation without $1")
	}
	rest := ""
	if close+1 < len(ws) {
		rest = text[ws[close+1].pos:]
	}
	inner := "COPY INTO " + nameText + " (" + quoteIdent(dataCol) + ") FROM " + stage + " " + rest
	innerWS := stageStrings(words(lex(inner)))
	for len(innerWS) > 0 && innerWS[len(innerWS)-1].text == ";" {
		innerWS = innerWS[:len(innerWS)-1]
	}
	tbl := quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table)

	res, err := e.inOwnTxn(ctx, s, func() (*result, error) {
		var before int64
		if err := s.conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(rowid), -1) FROM "+tbl).Scan(&before); err != nil {
			return nil, err
		}
		res, err := e.copyInto(ctx, s, innerWS)
		if err != nil || (nameCol == "" && rowCol == "") || len(res.rowtype) < 4 {
			return res, err
		}
		// The COPY appended each file's rows in the order of its result
		// rows: give them their file's name and row numbers.
		rows, err := s.conn.QueryContext(ctx, "SELECT rowid FROM "+tbl+" WHERE rowid > ? ORDER BY rowid", before)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		var cases, rowCases []string
		k := 0
		for _, r := range res.rowset {
			if r[3] == nil {
				continue
			}
			n, _ := strconv.Atoi(*r[3])
			if n == 0 {
				continue
			}
			if k+n > len(ids) {
				return nil, sqlErr(errGeneric, "XX000", "snowflaketest: COPY transformation lost track of the rows of %s", *r[0])
			}
			lo, hi := ids[k], ids[k+n-1]
			name := fileNameOf(*r[0], stage)
			cases = append(cases, "WHEN rowid BETWEEN "+itoa(lo)+" AND "+itoa(hi)+" THEN "+quoteString(name))
			rowCases = append(rowCases, "WHEN rowid BETWEEN "+itoa(lo)+" AND "+itoa(hi)+" THEN rowid - "+itoa(lo-1))
			k += n
		}
		if len(cases) == 0 {
			return res, nil
		}
		var set []string
		if nameCol != "" {
			set = append(set, quoteIdent(nameCol)+" = CASE "+strings.Join(cases, " ")+" END")
		}
		if rowCol != "" {
			set = append(set, quoteIdent(rowCol)+" = CASE "+strings.Join(rowCases, " ")+" END")
		}
		if _, err := s.conn.ExecContext(ctx, "UPDATE "+tbl+" SET "+strings.Join(set, ", ")+" WHERE rowid > "+itoa(before)); err != nil {
			return nil, err
		}
		return res, nil
	})
	return res, true, err
}

// fileNameOf is METADATA$FILENAME for a file of a COPY result: for an
// external S3 stage the object's key; for an internal stage its path inside
// the stage (a named stage's result rows start with the stage's name).
func fileNameOf(resultFile, stage string) string {
	if rest, ok := strings.CutPrefix(resultFile, "s3://"); ok {
		// An external stage: the object's key, the stage URL's path included.
		_, key, _ := strings.Cut(rest, "/")
		return key
	}
	st := strings.TrimPrefix(stage, "@")
	if strings.HasPrefix(st, "%") || strings.HasPrefix(st, "~") {
		return resultFile
	}
	name, _, _ := strings.Cut(st, "/")
	parts := lexNameParts(name)
	if len(parts) > 0 {
		last := strings.ToLower(parts[len(parts)-1])
		if rest, ok := strings.CutPrefix(resultFile, last+"/"); ok {
			return rest
		}
	}
	return resultFile
}
