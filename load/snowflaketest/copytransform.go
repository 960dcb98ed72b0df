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
	ct, ok, err := parseCopyTransform(text, ws)
	if !ok || err != nil {
		return nil, ok, err
	}
	if err := e.transformColumns(ctx, s, ct); err != nil {
		return nil, true, err
	}
	rest := ""
	if ct.close+1 < len(ws) {
		rest = text[ws[ct.close+1].pos:]
	}
	inner := "COPY INTO " + ct.nameText + " (" + quoteIdent(ct.dataCol) + ") FROM " + ct.stage + " " + rest
	innerWS := stageStrings(words(lex(inner)))
	for len(innerWS) > 0 && innerWS[len(innerWS)-1].text == ";" {
		innerWS = innerWS[:len(innerWS)-1]
	}
	res, err := e.inOwnTxn(ctx, s, func() (*result, error) {
		var before int64
		if err := s.conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(rowid), -1) FROM "+ct.tbl).Scan(&before); err != nil {
			return nil, err
		}
		res, err := e.copyInto(ctx, s, innerWS)
		if err != nil || (ct.nameCol == "" && ct.rowCol == "") || len(res.rowtype) < 4 {
			return res, err
		}
		return res, e.tagFileRows(ctx, s, ct, res, before)
	})
	return res, true, err
}

// copyTransformStmt is a parsed COPY transformation.
type copyTransformStmt struct {
	names    []string // the table's name parts
	nameText string   // the table's name as written
	cols     []string // the column list; nil when none was given
	items    []string // $1, METADATA$FILENAME or METADATA$FILE_ROW_NUMBER, in SELECT order
	stage    string
	close    int // index of the transformation's closing parenthesis in ws

	tbl                      string // the table, quoted and qualified
	dataCol, nameCol, rowCol string // the columns of $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER
}

// parseCopyTransform parses COPY INTO t [(cols)] FROM (SELECT items FROM
// @stage [alias]); ok is false when the statement is not of that form.
func parseCopyTransform(text string, ws []token) (ct *copyTransformStmt, ok bool, err error) {
	if len(ws) < 6 || !ws[0].is("COPY") || !ws[1].is("INTO") {
		return nil, false, nil
	}
	ct = &copyTransformStmt{}
	var i int
	ct.names, i = parseName(ws, 2)
	if len(ct.names) == 0 {
		return nil, false, nil
	}
	ct.nameText = text[ws[2].pos : ws[i-1].pos+len(ws[i-1].text)]
	if i < len(ws) && ws[i].text == "(" {
		c := matchingParen(ws, i)
		if c < 0 {
			return nil, false, nil
		}
		for _, a := range splitArgs(ws[i+1 : c]) {
			if len(a) != 1 {
				return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error in the column list of COPY INTO")
			}
			ct.cols = append(ct.cols, identName(a[0]))
		}
		i = c + 1
	}
	if i+2 >= len(ws) || !ws[i].is("FROM") || ws[i+1].text != "(" || !ws[i+2].is("SELECT") {
		return nil, false, nil
	}
	if ct.close = matchingParen(ws, i+1); ct.close < 0 {
		return nil, true, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: unclosed transformation in COPY INTO")
	}
	return ct, true, ct.parseSelect(ws, i+3)
}

// parseSelect parses the transformation's SELECT list and FROM @stage
// [alias], from ws[i] to the closing parenthesis.
func (ct *copyTransformStmt) parseSelect(ws []token, i int) error {
	from := -1
	for j := i; j < ct.close; j++ {
		if ws[j].is("FROM") {
			from = j
			break
		}
	}
	if from < 0 || from+1 >= ct.close || ws[from+1].kind != tkStage {
		return unsupported("COPY transformation other than SELECT … FROM @stage")
	}
	ct.stage = ws[from+1].text
	alias := ""
	if k := from + 2; k < ct.close {
		if ws[k].is("AS") {
			k++
		}
		if k != ct.close-1 || (ws[k].kind != tkWord && ws[k].kind != tkQuoted) {
			return unsupported("COPY transformation with WHERE, JOIN or other clauses")
		}
		alias = strings.ToUpper(ws[k].text)
	}
	for _, a := range splitArgs(ws[i:from]) {
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
			ct.items = append(ct.items, item)
		default:
			return unsupported("COPY transformation item " + item + " (only $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER)")
		}
	}
	return nil
}

// transformColumns resolves the table and the column each item goes to.
func (e *Emulator) transformColumns(ctx context.Context, s *session, ct *copyTransformStmt) error {
	db, sch, table, err := s.qualify(ct.names)
	if err != nil {
		return err
	}
	all, err := extColumns(ctx, s.conn, db, sch, table)
	if err != nil {
		return err
	}
	cols := ct.cols
	if cols == nil {
		cols = all
		if len(cols) > len(ct.items) {
			cols = cols[:len(ct.items)]
		}
	}
	if len(cols) != len(ct.items) {
		return sqlErr(errSyntax, "42000", "SQL compilation error:\nInsert value list does not match column list expecting %d but got %d", len(cols), len(ct.items))
	}
	for k, it := range ct.items {
		switch it {
		case "$1":
			ct.dataCol = cols[k]
		case "METADATA$FILENAME":
			ct.nameCol = cols[k]
		case "METADATA$FILE_ROW_NUMBER":
			ct.rowCol = cols[k]
		}
	}
	if ct.dataCol == "" {
		return unsupported("COPY transformation without $1")
	}
	ct.tbl = quoteIdent(db) + "." + quoteIdent(sch) + "." + quoteIdent(table)
	return nil
}

// tagFileRows gives the rows the COPY appended (after rowid before) their
// file's name and row numbers: the COPY appended each file's rows in the
// order of its result rows.
func (e *Emulator) tagFileRows(ctx context.Context, s *session, ct *copyTransformStmt, res *result, before int64) error {
	rows, err := s.conn.QueryContext(ctx, "SELECT rowid FROM "+ct.tbl+" WHERE rowid > ? ORDER BY rowid", before)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
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
			return sqlErr(errGeneric, "XX000", "snowflaketest: COPY transformation lost track of the rows of %s", *r[0])
		}
		lo, hi := ids[k], ids[k+n-1]
		name := fileNameOf(*r[0], ct.stage)
		cases = append(cases, "WHEN rowid BETWEEN "+itoa(lo)+" AND "+itoa(hi)+" THEN "+quoteString(name))
		rowCases = append(rowCases, "WHEN rowid BETWEEN "+itoa(lo)+" AND "+itoa(hi)+" THEN rowid - "+itoa(lo-1))
		k += n
	}
	if len(cases) == 0 {
		return nil
	}
	var set []string
	if ct.nameCol != "" {
		set = append(set, quoteIdent(ct.nameCol)+" = CASE "+strings.Join(cases, " ")+" END")
	}
	if ct.rowCol != "" {
		set = append(set, quoteIdent(ct.rowCol)+" = CASE "+strings.Join(rowCases, " ")+" END")
	}
	_, err = s.conn.ExecContext(ctx, "UPDATE "+ct.tbl+" SET "+strings.Join(set, ", ")+" WHERE rowid > "+itoa(before))
	return err
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
