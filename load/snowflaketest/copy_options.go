package snowflaketest

import (
	"regexp"
	"strconv"
	"strings"
)

// onError is the parsed ON_ERROR copy option.
type onError struct {
	mode    string // ABORT_STATEMENT, CONTINUE, SKIP_FILE
	limit   int    // SKIP_FILE_n
	percent float64
}

func parseOnError(v string) (onError, error) {
	u := strings.ToUpper(strings.TrimSpace(v))
	switch {
	case u == "ABORT_STATEMENT", u == "CONTINUE":
		return onError{mode: u}, nil
	case u == "SKIP_FILE":
		return onError{mode: "SKIP_FILE", limit: 1}, nil
	case strings.HasPrefix(u, "SKIP_FILE_"):
		n := strings.TrimPrefix(u, "SKIP_FILE_")
		if p, ok := strings.CutSuffix(n, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err == nil && f > 0 && f <= 100 {
				return onError{mode: "SKIP_FILE", percent: f}, nil
			}
		} else if k, err := strconv.Atoi(n); err == nil && k > 0 {
			return onError{mode: "SKIP_FILE", limit: k}, nil
		}
	}
	return onError{}, badOption("ON_ERROR", v)
}

func badOption(k, v string) error {
	return sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter '%s'", v, k)
}

var reReturnRows = regexp.MustCompile(`^RETURN_([0-9]+)_ROWS$`)

// setOptions reads the copy options and the effective file format (the
// stage's, overridden by FILE_FORMAT = (...)).
func (c *copyStmt) setOptions() error {
	ffOpts := c.sr.stageFormat()
	if v, ok := c.opts["FILE_FORMAT"]; ok {
		for k, sv := range v.sub {
			ffOpts[k] = sv
		}
	}
	var err error
	if c.ff, err = buildFormat(ffOpts); err != nil {
		return err
	}
	c.oe = onError{mode: "ABORT_STATEMENT"}
	for k, v := range c.opts {
		switch k {
		case "FILE_FORMAT", "FILES", "PATTERN":
		case "ON_ERROR":
			c.oe, err = parseOnError(v.s)
		case "FORCE":
			c.force, err = boolOpt(c.opts, k, false)
		case "PURGE":
			c.purge, err = boolOpt(c.opts, k, false)
		case "VALIDATION_MODE":
			c.validation = strings.ToUpper(v.s)
			if c.validation != "RETURN_ERRORS" && c.validation != "RETURN_ALL_ERRORS" && !reReturnRows.MatchString(c.validation) {
				err = badOption(k, v.s)
			}
		case "MATCH_BY_COLUMN_NAME":
			switch c.match = strings.ToUpper(v.s); c.match {
			case "NONE":
				c.match = ""
			case "CASE_SENSITIVE", "CASE_INSENSITIVE":
			default:
				err = badOption(k, v.s)
			}
		default:
			err = unsupported("copy option " + k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkFormat refuses the combinations of file format and options that
// Snowflake refuses.
func (c *copyStmt) checkFormat() error {
	ff := c.ff
	if ff.typ == "CSV" && ff.parseHeader && ff.skipHeader > 0 {
		return sqlErr(errFileFormat, "22023", "SQL compilation error:\nPARSE_HEADER = TRUE and SKIP_HEADER cannot be used together")
	}
	if c.match != "" && ff.typ == "CSV" && !ff.parseHeader {
		return sqlErr(errFileFormat, "22023", "SQL compilation error:\nMATCH_BY_COLUMN_NAME with CSV requires PARSE_HEADER = TRUE in the file format")
	}
	if ff.typ != "CSV" && c.match == "" && (len(c.target) != 1 || !strings.EqualFold(c.target[0].duckType, "JSON")) {
		return sqlErr(errOneVariant, "0A000", "SQL compilation error:\n%s file format can produce one and only one column of type variant, object, or array. Use CSV file format if you want to load more than one column.", ff.typ)
	}
	return nil
}

// fileFormat is the effective FILE_FORMAT of a COPY.
type fileFormat struct {
	typ             string
	compression     string
	delimiter       string
	skipHeader      int
	enclosure       byte
	nullIf          []string
	emptyAsNull     bool
	countMismatch   bool
	trimSpace       bool
	escape          byte
	stripOuterArray bool
	stripNulls      bool
	parseHeader     bool
}

func buildFormat(o map[string]optVal) (fileFormat, error) {
	f := fileFormat{typ: "CSV", compression: "AUTO", delimiter: ",", nullIf: []string{`\N`}, emptyAsNull: true, countMismatch: true, escape: '\\'}
	if v, ok := o["TYPE"]; ok {
		f.typ = strings.ToUpper(v.s)
	}
	switch f.typ {
	case "CSV", "JSON", "PARQUET":
	case "AVRO", "ORC", "XML":
		return f, unsupported("FILE_FORMAT TYPE = " + f.typ)
	default:
		return f, badOption("TYPE", f.typ)
	}
	for k, v := range o {
		if err := f.set(o, k, v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// set applies one file format option.
func (f *fileFormat) set(o map[string]optVal, k string, v optVal) error {
	var err error
	switch k {
	case "TYPE":
	case "COMPRESSION":
		f.compression = strings.ToUpper(v.s)
		switch f.compression {
		case "AUTO", "GZIP", "ZSTD", "BZ2", "NONE":
		default:
			return unsupported("COMPRESSION = " + f.compression)
		}
	case "SKIP_HEADER":
		f.skipHeader, err = strconv.Atoi(v.s)
		if err != nil || f.skipHeader < 0 {
			return badOption(k, v.s)
		}
	case "NULL_IF":
		f.nullIf = v.list
		if v.list == nil && v.s != "" {
			f.nullIf = []string{v.s}
		}
	case "TRIM_SPACE":
		f.trimSpace, err = boolOpt(o, k, false)
	case "STRIP_OUTER_ARRAY":
		f.stripOuterArray, err = boolOpt(o, k, false)
	case "STRIP_NULL_VALUES":
		f.stripNulls, err = boolOpt(o, k, false)
	case "RECORD_DELIMITER":
		if v.s != "\n" && v.s != `\n` && !strings.EqualFold(v.s, "NONE") {
			return unsupported("RECORD_DELIMITER other than newline")
		}
	case "BINARY_AS_TEXT":
		if f.typ != "PARQUET" {
			return unsupported("file format option BINARY_AS_TEXT for " + f.typ)
		}
		if on, err := boolOpt(o, k, true); err != nil || !on {
			return unsupported("BINARY_AS_TEXT = FALSE")
		}
	case "USE_LOGICAL_TYPE":
		// DuckDB's read_parquet always reads DATE and TIMESTAMP logical
		// types as such.
		if f.typ != "PARQUET" {
			return unsupported("file format option USE_LOGICAL_TYPE for " + f.typ)
		}
		if on, err := boolOpt(o, k, false); err != nil || !on {
			return unsupported("USE_LOGICAL_TYPE = FALSE")
		}
	case "FORMAT_NAME":
		return unsupported("named file formats (FORMAT_NAME)")
	default:
		return f.setCSV(o, k, v)
	}
	return err
}

// setCSV applies one of the options of CSV files.
func (f *fileFormat) setCSV(o map[string]optVal, k string, v optVal) error {
	var err error
	switch k {
	case "FIELD_DELIMITER":
		if f.typ != "CSV" || v.s == "" {
			return badOption(k, v.s)
		}
		f.delimiter = v.s
	case "FIELD_OPTIONALLY_ENCLOSED_BY":
		f.enclosure, err = charOpt(k, v.s)
	case "ESCAPE_UNENCLOSED_FIELD":
		f.escape, err = charOpt(k, v.s)
	case "EMPTY_FIELD_AS_NULL":
		f.emptyAsNull, err = boolOpt(o, k, true)
	case "ERROR_ON_COLUMN_COUNT_MISMATCH":
		f.countMismatch, err = boolOpt(o, k, true)
	case "PARSE_HEADER":
		if f.typ != "CSV" {
			return badOption(k, v.s)
		}
		f.parseHeader, err = boolOpt(o, k, false)
	default:
		return unsupported("file format option " + k)
	}
	return err
}

// charOpt parses an option that is one character or NONE (0).
func charOpt(k, v string) (byte, error) {
	switch {
	case strings.EqualFold(v, "NONE"):
		return 0, nil
	case len(v) == 1:
		return v[0], nil
	}
	return 0, badOption(k, v)
}
