package snowflaketest

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
)

// loadFiles loads the files of one COPY inside the transaction its caller
// opened, one after the other, each as a stream in bounded batches (see
// stager). It returns the result and the files that count (those found
// already loaded after reading them do not). A COPY that fails undoes its
// rows, so that a transaction of the session's stays as it was.
func (e *Emulator) loadFiles(ctx context.Context, s *session, c *copyStmt, loads []*fileLoad) (*result, []*fileLoad, error) {
	st, err := e.newStager(ctx, s, c)
	if err != nil {
		return nil, nil, err
	}
	defer st.drop(ctx)
	kept := loads[:0:0]
	for _, fl := range loads {
		if err := e.loadFile(ctx, st, fl); err != nil {
			st.undoAll(ctx)
			return nil, nil, err
		}
		if !fl.skipped {
			kept = append(kept, fl)
		}
	}
	if len(kept) == 0 {
		return noFilesResult(), nil, nil
	}
	if c.validation != "" {
		res, err := e.validate(ctx, s, st, kept)
		return res, nil, err
	}
	if err := abortError(c.oe, kept); err != nil {
		st.undoAll(ctx)
		// VALIDATE of this failed job lists every error of every file.
		s.failedJob = &copyJob{table: c.tableKey(), errs: errorRows(kept)}
		return nil, nil, err
	}
	res, err := e.copyResult(ctx, s, c, kept)
	if err != nil {
		st.undoAll(ctx)
		return nil, nil, err
	}
	return res, kept, nil
}

// loadFile reads one file into the table (a missing one only gets its
// error), decides its status, and takes its rows out again when it fails
// or turns out to be loaded already.
func (e *Emulator) loadFile(ctx context.Context, st *stager, fl *fileLoad) error {
	c := st.c
	switch {
	case fl.missing:
		fl.errs = []loadErr{{line: 0, err: sqlErr(100109, "22000", "Remote file '%s' was not found. There are several potential causes. The file might not exist. The required credentials may be missing or invalid.", fl.name)}}
		decideStatus(fl, c.oe)
		return nil
	case fl.file.remote:
		p, err := e.fetchExternal(ctx, c.sr, fl.file)
		if err != nil {
			return err
		}
		defer os.Remove(p)
		fl.file.abs = p
		key := fl.key // the ETag's, not the content hash's
		if err := st.stageFile(ctx, fl); err != nil {
			return err
		}
		fl.key = key
	default:
		known := fl.key != ""
		if err := st.stageFile(ctx, fl); err != nil {
			return err
		}
		if !known && fl.key != "" {
			e.hashes.put(fl.file.abs, strings.TrimPrefix(fl.key, fl.keyPrefix))
			if e.isLoaded(c.tableKey(), fl.key) && !c.force {
				fl.skipped = true
				return st.undoFile(ctx, fl)
			}
		}
	}
	if e.failFile(fl.name) {
		injectFailure(fl, c.table)
	}
	decideStatus(fl, c.oe)
	if len(fl.errs) > 0 && c.oe.mode == "ABORT_STATEMENT" {
		st.aborted = true // the COPY fails: nothing more goes in
	}
	if fl.status == "LOAD_FAILED" || st.aborted {
		return st.undoFile(ctx, fl)
	}
	return nil
}

// injectFailure turns every row of a file into an error (Fault.FailFile).
func injectFailure(fl *fileLoad, table string) {
	fl.errs = fl.errs[:0]
	for r := 0; r < max(fl.parsed, 1); r++ {
		fl.errs = append(fl.errs, loadErr{row: r, line: r + 1, char: 1, column: quoteIdent(table),
			err: sqlErr(errGeneric, "XX000", "Injected load failure for file '%s'", fl.name)})
	}
	fl.parsed = max(fl.parsed, 1)
}

// decideStatus sets a file's status, error limit and loaded rows per
// ON_ERROR. Under ABORT_STATEMENT a file with errors fails the whole COPY
// (abortError).
func decideStatus(fl *fileLoad, oe onError) {
	nerr := len(fl.errs)
	switch oe.mode {
	case "ABORT_STATEMENT":
		fl.limit = 1
		fl.status, fl.loaded = "LOADED", fl.parsed
	case "CONTINUE":
		fl.limit = fl.parsed
		fl.loaded = fl.parsed - nerr
		switch {
		case nerr == 0:
			fl.status = "LOADED"
		case fl.loaded > 0:
			fl.status = "PARTIALLY_LOADED"
		default:
			fl.status, fl.loaded = "LOAD_FAILED", 0
		}
	case "SKIP_FILE":
		fl.limit = oe.limit
		if oe.percent > 0 {
			fl.limit = int(math.Floor(float64(fl.parsed)*oe.percent/100)) + 1
		}
		switch {
		case nerr == 0:
			fl.status, fl.loaded = "LOADED", fl.parsed
		case nerr >= fl.limit:
			fl.status, fl.loaded = "LOAD_FAILED", 0
		default:
			fl.status, fl.loaded = "PARTIALLY_LOADED", fl.parsed-nerr
		}
	}
}

// abortError is the error of a COPY with ON_ERROR = ABORT_STATEMENT: the
// first error of the first file that has one.
func abortError(oe onError, loads []*fileLoad) error {
	if oe.mode != "ABORT_STATEMENT" {
		return nil
	}
	for _, fl := range loads {
		if len(fl.errs) == 0 {
			continue
		}
		le := fl.errs[0]
		msg := le.err.Message
		if !fl.missing {
			msg = fmt.Sprintf("%s\n  File '%s', line %d, character %d\n  Row %d, column %s\n  If you would like to continue loading when an error is encountered, use other values such as 'SKIP_FILE' or 'CONTINUE' for the ON_ERROR option. For more information on loading options, please run 'info loading_data' in a SQL client.",
				le.err.Message, fl.name, le.line, le.char, le.row+1, le.column)
		}
		return &SQLError{Number: le.err.Number, SQLState: le.err.SQLState, Message: msg, Err: le.err.Err}
	}
	return nil
}
