package snowflaketest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// A COPY reads each file as a stream and moves its records on in batches
// of at most stageBatchRows records or stageBatchBytes bytes of input: a
// batch is kept in Go as text (one row per record, with its record index,
// line and field positions) and read by DuckDB through sf_copy_batch (see
// copyBatch); the rows whose values do not convert are found and become
// the file's errors, and the good rows are inserted into the table,
// converted, in the COPY's transaction. Memory for staging is one batch,
// whatever the file's size.
const (
	stageBatchRows  = 1 << 16
	stageBatchBytes = 32 << 20
)

// noRows is fileLoad.before and stager.before until a row went in.
const noRows = -2

// stager moves the records of one COPY's files into its table.
type stager struct {
	e       *Emulator
	s       *session
	c       *copyStmt
	id      string     // the batch's name for sf_copy_batch
	batch   *copyBatch // the records being staged
	preview string     // VALIDATION_MODE = RETURN_n_ROWS: the rows as they would load
	left    int        // rows the preview still takes

	byName, byUpper map[string]int // target column index by name, and by upper-cased name
	vals            []*string      // the current record's values, by target column
	checkSQL        string         // finds the staged rows that do not convert
	insertSQL       string         // moves the staged rows into the table

	bytes   int          // input bytes in the current batch
	fl      *fileLoad    // the file being read
	spans   []recordSpan // its rejected records, read back at the end
	before  int64        // the table's largest rowid before the COPY's first row went in
	aborted bool         // ON_ERROR = ABORT_STATEMENT met an error: nothing more goes in
}

// newStager registers the COPY's batch (and creates its preview table in
// VALIDATION_MODE = RETURN_n_ROWS).
func (e *Emulator) newStager(ctx context.Context, s *session, c *copyStmt) (*stager, error) {
	st := &stager{e: e, s: s, c: c, before: noRows, id: randomHex(8), batch: &copyBatch{ncols: len(c.target)},
		byName: make(map[string]int, len(c.target)), byUpper: make(map[string]int, len(c.target)),
		vals: make([]*string, len(c.target))}
	for k, col := range c.target {
		st.byName[col.name] = k
		if _, dup := st.byUpper[strings.ToUpper(col.name)]; !dup {
			st.byUpper[strings.ToUpper(col.name)] = k
		}
	}
	if m := reReturnRows.FindStringSubmatch(c.validation); m != nil {
		st.left, _ = strconv.Atoi(m[1])
		st.preview = "_sfcopy_" + st.id
		cols := make([]string, len(c.target))
		for k := range c.target {
			cols[k] = fmt.Sprintf("c%d VARCHAR", k+1)
		}
		q := "CREATE TEMP TABLE " + st.preview + " (__f INTEGER, __row INTEGER, " + strings.Join(cols, ", ") + ")"
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("snowflaketest: copy staging: %w", err)
		}
	}
	from := copyBatchFunc + "(" + quoteString(st.id) + ")"
	st.checkSQL = checkQuery(from, c.target)
	st.insertSQL = insertQuery(from, c)
	e.batches.Store(st.id, st.batch)
	return st, nil
}

// drop forgets the batch and removes the preview table.
func (st *stager) drop(ctx context.Context) {
	st.e.batches.Delete(st.id)
	if st.preview != "" {
		_, _ = st.s.conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.main."+st.preview)
	}
}

// stageFile reads one file into the table: its records, errors, parsed
// count and load metadata key (its content hash, computed in the same
// pass) end up in fl.
func (st *stager) stageFile(ctx context.Context, fl *fileLoad) error {
	st.fl, st.spans = fl, st.spans[:0]
	var err error
	if st.c.ff.typ == "PARQUET" {
		err = st.stageParquet(ctx, fl)
	} else {
		err = st.stageStream(ctx, fl)
	}
	if err != nil {
		return err
	}
	if len(st.spans) > 0 && st.c.ff.typ != "PARQUET" {
		if err := fillRecords(fl, st.c.ff, st.spans); err != nil {
			return fmt.Errorf("snowflaketest: copy: rejected records: %w", err)
		}
	}
	sort.SliceStable(fl.errs, func(i, j int) bool { return fl.errs[i].row < fl.errs[j].row })
	return nil
}

// readState is where a file's reader is: records read so far, and the
// error that ended the file early (a decompression or I/O error).
type readState struct {
	n    int
	err  error
	line int
}

// stageStream reads a CSV or JSON file: decompressed, parsed and hashed
// in one pass.
func (st *stager) stageStream(ctx context.Context, fl *fileLoad) error {
	ff := st.c.ff
	in, err := openStageStream(fl.file.abs, ff.compression)
	if err != nil {
		if os.IsNotExist(err) || os.IsPermission(err) {
			return fmt.Errorf("snowflaketest: copy staging: %w", err)
		}
		fl.errs = append(fl.errs, loadErr{line: 1, char: 1, err: decompressionError(fl.name, ff.compression, err)})
		sum, err := hashFile(fl.file.abs)
		if err != nil {
			return fmt.Errorf("snowflaketest: copy staging: %w", err)
		}
		fl.key = fl.keyPrefix + sum
		return nil
	}
	defer in.close()
	var rs readState
	var step func() (bool, error)
	if ff.typ == "CSV" {
		step = st.csvRecords(in.r, &rs)
	} else {
		step = st.jsonRecords(in.r, &rs)
	}
	if err := st.fill(ctx, step); err != nil {
		return err
	}
	fl.parsed = rs.n
	if rs.err != nil {
		fl.errs = append(fl.errs, loadErr{row: rs.n, line: max(rs.line, 1), char: 1, err: decompressionError(fl.name, ff.compression, rs.err)})
		fl.parsed++
	}
	sum, err := in.finish()
	if err != nil {
		return fmt.Errorf("snowflaketest: copy staging: %w", err)
	}
	fl.key = fl.keyPrefix + sum
	return nil
}

// fill calls step, which reads one record and adds it to the batch (emit)
// or records its error, until it reports the end of the file; every full
// batch, and the last, is checked and moved on (flush).
func (st *stager) fill(ctx context.Context, step func() (bool, error)) error {
	for more := true; more; {
		for more && len(st.batch.meta) < stageBatchRows && st.bytes < stageBatchBytes {
			var err error
			if more, err = step(); err != nil {
				return fmt.Errorf("snowflaketest: copy staging: %w", err)
			}
		}
		if err := st.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// emit adds one record to the batch: its index in the file, line,
// comma-separated field positions (nil for JSON), decompressed offset and
// length, and vals (the pointers are kept: each must be a new string).
func (st *stager) emit(ri, line int, chars []byte, off int64, n int, vals []*string) error {
	st.batch.add(ri, line, chars, off, n, vals)
	st.bytes += n
	return nil
}

// flush checks the batch, moves its good rows on and empties it.
func (st *stager) flush(ctx context.Context) error {
	if len(st.batch.meta) == 0 {
		return nil
	}
	defer func() {
		st.batch.reset()
		st.bytes = 0
	}()
	if err := st.check(ctx); err != nil {
		return fmt.Errorf("snowflaketest: copy validation: %w", err)
	}
	return st.move(ctx)
}

// colName is how a COPY error names target column k.
func (st *stager) colName(k int) string {
	return fmt.Sprintf("%s[%s:%d]", quoteIdent(st.c.table), quoteIdent(st.c.target[k].name), k+1)
}

// checkQuery finds the staged rows whose values do not convert, are NULL
// in a NOT NULL column, or are longer than their VARCHAR(n): row, line,
// field positions, offset, length, the code of the first bad column (see
// badCode) and its value.
func checkQuery(from string, target []column) string {
	var cases, picks []string
	for k, c := range target {
		cases = append(cases, fmt.Sprintf("WHEN c%d IS NOT NULL AND %s IS NULL THEN %d", k+1, castExpr(fmt.Sprintf("c%d", k+1), c.duckType, true), k+1))
		if c.maxLen > 0 {
			cases = append(cases, fmt.Sprintf("WHEN c%d IS NOT NULL AND length(c%d) > %d THEN %d", k+1, k+1, c.maxLen, badTooLong+k+1))
		}
		if c.notNull {
			cases = append(cases, fmt.Sprintf("WHEN c%d IS NULL THEN %d", k+1, -(k+1)))
		}
		picks = append(picks, fmt.Sprintf("WHEN %d THEN c%d", k+1, k+1))
	}
	return "SELECT __row, __line, __chars, __off, __len, bad, CASE abs(bad) % " + strconv.Itoa(badTooLong) + " " + strings.Join(picks, " ") + " END FROM (SELECT *, CASE " +
		strings.Join(cases, " ") + " END AS bad FROM " + from + ") WHERE bad IS NOT NULL ORDER BY __row"
}

// badTooLong offsets the check code of a value longer than its column's
// VARCHAR(n); a negative code is a NULL in a NOT NULL column; otherwise
// the code is the 1-based column of a value that does not convert.
const badTooLong = 1 << 20

// check runs checkQuery on the batch: each bad row becomes an error of
// the file and is marked bad, so that the insert skips it.
func (st *stager) check(ctx context.Context) error {
	rows, err := st.s.conn.QueryContext(ctx, st.checkSQL)
	if err != nil {
		return err
	}
	meta := st.batch.meta
	for rows.Next() {
		var r, line, code, n int
		var off int64
		var chars, val sql.NullString
		if err := rows.Scan(&r, &line, &chars, &off, &n, &code, &val); err != nil {
			rows.Close()
			return err
		}
		if i := sort.Search(len(meta), func(i int) bool { return int(meta[i].row) >= r }); i < len(meta) {
			st.batch.bad[i] = true
		}
		st.reject(r, line, chars, off, n, code, val.String)
	}
	rows.Close()
	return rows.Err()
}

// reject records the error of a row checkQuery found.
func (st *stager) reject(r, line int, chars sql.NullString, off int64, n, code int, val string) {
	k := code
	if k < 0 {
		k = -k
	}
	k = k%badTooLong - 1
	char := 1
	if chars.Valid {
		if parts := strings.Split(chars.String, ","); k < len(parts) {
			char, _ = strconv.Atoi(parts[k])
		}
	}
	var se *SQLError
	switch {
	case code < 0:
		se = sqlErr(errNotNull, "22000", "NULL result in a non-nullable column")
	case code > badTooLong:
		se = tooLongError(st.c.target[k].maxLen, val)
	default:
		se = conversionError(st.c.target[k].duckType, val, nil)
	}
	fl := st.fl
	fl.errs = append(fl.errs, loadErr{row: r, line: line, char: char, column: st.colName(k), err: se})
	st.spans = append(st.spans, recordSpan{err: len(fl.errs) - 1, off: off, n: n})
}

// inserting reports whether the current file's rows still go in: not
// after ON_ERROR = ABORT_STATEMENT met an error, nor once a file has as
// many errors as SKIP_FILE_n allows.
func (st *stager) inserting() bool {
	oe, nerr := st.c.oe, len(st.fl.errs)
	switch {
	case oe.mode == "ABORT_STATEMENT":
		return !st.aborted && nerr == 0
	case oe.mode == "SKIP_FILE" && oe.limit > 0:
		return nerr < oe.limit
	}
	return true
}

// move inserts the checked batch into the table, converted, or in
// VALIDATION_MODE into the preview (RETURN_n_ROWS) or nowhere.
func (st *stager) move(ctx context.Context) error {
	fl := st.fl
	switch {
	case st.preview != "":
		if st.left <= 0 {
			return nil
		}
		res, err := st.s.conn.ExecContext(ctx, "INSERT INTO temp.main."+st.preview+" SELECT "+strconv.Itoa(fl.idx)+", * EXCLUDE (__line, __chars, __off, __len) FROM "+
			copyBatchFunc+"("+quoteString(st.id)+") ORDER BY __row LIMIT "+strconv.Itoa(st.left))
		if err != nil {
			return fmt.Errorf("snowflaketest: copy validation: %w", err)
		}
		n, _ := res.RowsAffected()
		st.left -= int(n)
		fl.previewed += int(n)
		return nil
	case st.c.validation != "" || !st.inserting():
		return nil
	}
	if fl.before == noRows {
		if err := st.s.conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(rowid), -1) FROM "+st.c.quotedTable()).Scan(&fl.before); err != nil {
			return fmt.Errorf("snowflaketest: copy: %w", err)
		}
		if st.before == noRows {
			st.before = fl.before
		}
	}
	if _, err := st.s.conn.ExecContext(ctx, st.insertSQL); err != nil {
		return err
	}
	return nil
}

func (c *copyStmt) quotedTable() string {
	return quoteIdent(c.db) + "." + quoteIdent(c.sch) + "." + quoteIdent(c.table)
}

// insertQuery moves the staged rows into the table: VARIANT, OBJECT and
// ARRAY values minified (as Snowflake stores parsed VARIANT), the others
// cast.
func insertQuery(from string, c *copyStmt) string {
	var cols, casts []string
	for k, col := range c.target {
		cols = append(cols, quoteIdent(col.name))
		if strings.EqualFold(col.duckType, "JSON") {
			casts = append(casts, fmt.Sprintf("json(c%d)", k+1))
		} else {
			casts = append(casts, castExpr(fmt.Sprintf("c%d", k+1), col.duckType, false))
		}
	}
	return "INSERT INTO " + c.quotedTable() + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(casts, ", ") + " FROM " + from
}

// undoFile takes a file's rows out of the table (and the preview) again.
func (st *stager) undoFile(ctx context.Context, fl *fileLoad) error {
	if fl.previewed > 0 {
		if _, err := st.s.conn.ExecContext(ctx, "DELETE FROM temp.main."+st.preview+" WHERE __f = "+strconv.Itoa(fl.idx)); err != nil {
			return fmt.Errorf("snowflaketest: copy: %w", err)
		}
		st.left += fl.previewed
		fl.previewed = 0
	}
	if fl.before == noRows {
		return nil
	}
	if _, err := st.s.conn.ExecContext(ctx, "DELETE FROM "+st.c.quotedTable()+" WHERE rowid > "+strconv.FormatInt(fl.before, 10)); err != nil {
		return fmt.Errorf("snowflaketest: copy: %w", err)
	}
	fl.before = noRows
	return nil
}

// undoAll takes every row of the COPY out of the table again, for a COPY
// that fails inside the session's transaction (its own transaction is
// rolled back anyway).
func (st *stager) undoAll(ctx context.Context) {
	if st.before != noRows {
		_, _ = st.s.conn.ExecContext(context.WithoutCancel(ctx), "DELETE FROM "+st.c.quotedTable()+" WHERE rowid > "+strconv.FormatInt(st.before, 10))
	}
}

// recordSpan locates the text of a rejected record in the decompressed
// file: fl.errs[err] gets it.
type recordSpan struct {
	err int
	off int64
	n   int
}

// maxRejectedRecords bounds the rejected records kept per file (VALIDATE's
// REJECTED_RECORD); later errors have none.
const maxRejectedRecords = 10000

// fillRecords reads the rejected records' text: the file is read a second
// time, only when some of its rows were rejected, up to the last one.
func fillRecords(fl *fileLoad, ff fileFormat, spans []recordSpan) error {
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	if len(spans) > maxRejectedRecords {
		spans = spans[:maxRejectedRecords]
	}
	st, err := openStageStream(fl.file.abs, ff.compression)
	if err != nil {
		return err
	}
	defer st.close()
	var pos int64
	for _, sp := range spans {
		if sp.off < pos {
			continue
		}
		if _, err := io.CopyN(io.Discard, st.r, sp.off-pos); err != nil {
			return err
		}
		buf := make([]byte, sp.n)
		if _, err := io.ReadFull(st.r, buf); err != nil {
			return err
		}
		pos = sp.off + int64(sp.n)
		rec := strings.TrimRight(string(buf), "\r\n")
		fl.errs[sp.err].record = &rec
	}
	return nil
}

// castExpr converts the VARCHAR expression col to duckType (TRY_CAST when
// try is set). DuckDB converts text to a DECIMAL wider than 18 digits
// about 100 times slower than to one of at most 18, so such casts try the
// narrow type first and fall back to the wide one only for the values
// that need it.
func castExpr(col, duckType string, try bool) string {
	c := "CAST"
	if try {
		c = "TRY_CAST"
	}
	if strings.EqualFold(duckType, "JSON") && try {
		return "CASE WHEN json_valid(" + col + ") THEN " + col + " END"
	}
	if isTZStruct(duckType) {
		return "sf_tzv(" + col + ")" // TIMESTAMP_TZ keeps the offset in the text
	}
	switch strings.ToUpper(duckType) {
	case "TIMESTAMP":
		return "sf_ts_ntz(" + col + ")"
	case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return "sf_ts_tz(" + col + ")"
	}
	if m := reDecimal.FindStringSubmatch(strings.ToUpper(strings.ReplaceAll(duckType, " ", ""))); m != nil {
		p, _ := strconv.Atoi(m[1])
		sc, _ := strconv.Atoi(m[2])
		if p > 18 && sc <= 18 {
			return fmt.Sprintf("COALESCE(CAST(TRY_CAST(%s AS DECIMAL(18,%d)) AS %s), %s(%s AS %s))", col, sc, duckType, c, col, duckType)
		}
	}
	return c + "(" + col + " AS " + duckType + ")"
}

// tooLongError is Snowflake's error for a string longer than its column.
func tooLongError(n int, value string) *SQLError {
	return sqlErr(errTooLong, "22000", "User character length limit (%d) exceeded by string '%s'", n, value)
}

func decompressionError(name, comp string, err error) *SQLError {
	return sqlErr(errDecompress, "22000", "Invalid data encountered during decompression for file: '%s', compression type used: '%s', cause: '%v'", name, comp, err)
}
