package snowflaketest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrClosed is returned by operations on an Emulator after Close.
var ErrClosed = errors.New("snowflaketest: emulator closed")

// SQLError is a Snowflake-shaped statement error: the emulator answers it
// as HTTP 200 with success=false, the numeric code, the SQL state and the
// message, which gosnowflake turns into a *gosnowflake.SnowflakeError with
// the same Number, SQLState and Message.
type SQLError struct {
	Number   int    // Snowflake error number, e.g. 2003
	SQLState string // five-character SQL state, e.g. "42S02"
	Message  string // message text as Snowflake words it where known
	Err      error  // underlying cause (a DuckDB error), if any; never sent to clients verbatim beyond Message
}

// Error implements error.
func (e *SQLError) Error() string {
	return fmt.Sprintf("snowflaketest: %06d (%s): %s", e.Number, e.SQLState, e.Message)
}

// Unwrap returns the underlying cause.
func (e *SQLError) Unwrap() error { return e.Err }

// Snowflake error numbers the emulator uses.
const (
	errSyntax                = 1003   // SQL compilation error: syntax error
	errAlreadyExists         = 2002   // object already exists
	errDoesNotExist          = 2003   // object does not exist or not authorized
	errInvalidIdent          = 904    // invalid identifier
	errUnsupported           = 2      // emulator: feature not supported (Snowflake's "unsupported feature" is 2)
	errNoCurrentDB           = 90105  // no current database
	errNumeric               = 100038 // numeric value not recognized
	errDate                  = 100040 // date not recognized
	errTimestamp             = 100035 // timestamp not recognized
	errBoolean               = 100037 // boolean not recognized
	errJSON                  = 100069 // error parsing JSON
	errNotNull               = 100072 // NULL result in a non-nullable column
	errColumnCount           = 100080 // column count mismatch
	errOneVariant            = 2019   // JSON file format can produce one and only one column
	errLoginFailed           = 390100 // incorrect username or password
	errSessionGone           = 390111 // session no longer exists
	errGeneric               = 100000 // emulator: any other execution error
	errFileFormat            = 2001   // invalid file format option
	errHex                   = 100115 // not a legal hex-encoded value
	errDuplicateColumn       = 2025   // duplicate column name
	errDivByZero             = 100051 // division by zero
	errTooLong               = 100074 // user character length limit exceeded
	errInvalidJob            = 100000 // emulator: VALIDATE of an unknown job (Snowflake's number unverified)
	errNondeterministicMerge = 100090 // duplicate row detected during DML action
	errDecompress            = 100000 // emulator: a file that does not decompress (Snowflake's number unverified)
	errUnknownFunction       = 2140   // unknown function
	errArgTypes              = 1044   // invalid argument types for function
	errOutOfRange            = 100039 // numeric value out of range
	errNotGrouped            = 1104   // neither an aggregate nor in the group by clause
	errAmbiguous             = 2028   // ambiguous column name
)

func sqlErr(num int, state, format string, args ...any) *SQLError {
	return &SQLError{Number: num, SQLState: state, Message: fmt.Sprintf(format, args...)}
}

func unsupported(feature string) *SQLError {
	return &SQLError{Number: errUnsupported, SQLState: "0A000",
		Message: "Unsupported feature '" + feature + "' (snowflaketest does not implement it; see FIDELITY.md)."}
}

var (
	reTableMissing  = regexp.MustCompile(`Table with name ([^ ]+) does not exist`)
	reCatalogMiss   = regexp.MustCompile(`(?:Catalog|Schema) with name ([^ ]+) does not exist`)
	reExists        = regexp.MustCompile(`(?:Table|View|Schema|Catalog) with name "?([^" ]+)"? already exists`)
	reColumnMissing = regexp.MustCompile(`Referenced column "?([^" ]+)"? not found`)
	reNoColumn      = regexp.MustCompile(`does not have a column with name "?([^" ]+)"?|Referenced update column "?([^" ]+)"? not found`)
	reConversion    = regexp.MustCompile(`Could not convert string ['"](.*)['"] to ([A-Z0-9(), ]+)`)
	reTimestampBad  = regexp.MustCompile(`Timestamp '(.*)' is not recognized`)
	reNoFunction    = regexp.MustCompile(`Scalar Function with name "?([^" ]+)"? does not exist`)
	reArgTypes      = regexp.MustCompile(`No function matches the given name and argument types '([^(']+)\(([^']*)\)'`)
	reOutOfRange    = regexp.MustCompile(`Could not cast value "?([^" ]+)"? to DECIMAL|Casting value "([^"]+)" to type DECIMAL\([0-9, ]+\) failed: value is out of range`)
	reNotGrouped    = regexp.MustCompile(`column "?([^"]+)"? must appear in the GROUP BY clause`)
	reAmbiguous     = regexp.MustCompile(`Ambiguous reference to column name "?([^" ]+)"?`)
	reBadJSON       = regexp.MustCompile(`Malformed JSON.*?: (.*?)\.?\s+Input:`)
)

// mapDuckError turns a DuckDB error into a Snowflake-shaped one.
func mapDuckError(err error) *SQLError {
	var se *SQLError
	if errors.As(err, &se) {
		return se
	}
	msg := err.Error()
	first, _, _ := strings.Cut(msg, "\n")
	switch {
	case reTableMissing.MatchString(first):
		m := reTableMissing.FindStringSubmatch(first)
		return &SQLError{Number: errDoesNotExist, SQLState: "42S02", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\nObject '%s' does not exist or not authorized.", m[1])}
	case reCatalogMiss.MatchString(first):
		m := reCatalogMiss.FindStringSubmatch(first)
		return &SQLError{Number: errDoesNotExist, SQLState: "02000", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\nSchema '%s' does not exist or not authorized.", m[1])}
	case reExists.MatchString(first):
		m := reExists.FindStringSubmatch(first)
		return &SQLError{Number: errAlreadyExists, SQLState: "42710", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\nObject '%s' already exists.", m[1])}
	case reColumnMissing.MatchString(first):
		m := reColumnMissing.FindStringSubmatch(first)
		return &SQLError{Number: errInvalidIdent, SQLState: "42000", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\ninvalid identifier '%s'", m[1])}
	case reNoColumn.MatchString(first):
		m := reNoColumn.FindStringSubmatch(first)
		name := m[1]
		if name == "" {
			name = m[2]
		}
		return &SQLError{Number: errInvalidIdent, SQLState: "42000", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\ninvalid identifier '%s'", name)}
	case strings.HasPrefix(first, "Conversion Error") && strings.Contains(first, "STRUCT(sf_instant"):
		// A TIMESTAMP_TZ (tzStruct) meets text or another timestamp type.
		return &SQLError{Number: errUnsupported, SQLState: "0A000", Err: err,
			Message: "Unsupported feature 'TIMESTAMP_TZ mixed with text or another timestamp type without a cast' (snowflaketest stores TIMESTAMP_TZ apart: write ts::TIMESTAMP_LTZ, or '...'::TIMESTAMP_TZ; see FIDELITY.md)."}
	case reNoFunction.MatchString(first):
		m := reNoFunction.FindStringSubmatch(first)
		return &SQLError{Number: errUnknownFunction, SQLState: "42601", Err: err, Message: "SQL compilation error:\nUnknown function " + strings.ToUpper(m[1])}
	case reArgTypes.MatchString(first):
		m := reArgTypes.FindStringSubmatch(first)
		return &SQLError{Number: errArgTypes, SQLState: "42P13", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\nInvalid argument types for function '%s': (%s)", strings.ToUpper(m[1]), strings.ReplaceAll(m[2], "_LITERAL", ""))}
	case reOutOfRange.MatchString(first):
		m := reOutOfRange.FindStringSubmatch(first)
		return &SQLError{Number: errOutOfRange, SQLState: "22003", Err: err, Message: fmt.Sprintf("Numeric value '%s' is out of range", m[1]+m[2])}
	case reNotGrouped.MatchString(first):
		m := reNotGrouped.FindStringSubmatch(first)
		return &SQLError{Number: errNotGrouped, SQLState: "42601", Err: err,
			Message: fmt.Sprintf("SQL compilation error:\n'%s' in select clause is neither an aggregate nor in the group by clause.", strings.ToUpper(m[1]))}
	case reAmbiguous.MatchString(first):
		m := reAmbiguous.FindStringSubmatch(first)
		return &SQLError{Number: errAmbiguous, SQLState: "42601", Err: err, Message: fmt.Sprintf("SQL compilation error:\nambiguous column name '%s'", strings.ToUpper(m[1]))}
	case reBadJSON.MatchString(first):
		m := reBadJSON.FindStringSubmatch(first)
		return &SQLError{Number: errJSON, SQLState: "22P02", Err: err, Message: "Error parsing JSON: " + m[1]}
	case reTimestampBad.MatchString(first):
		m := reTimestampBad.FindStringSubmatch(first)
		return &SQLError{Number: errTimestamp, SQLState: "22007", Err: err, Message: fmt.Sprintf("Timestamp '%s' is not recognized", m[1])}
	case strings.Contains(first, "Division by zero"):
		return &SQLError{Number: errDivByZero, SQLState: "22012", Err: err, Message: "Division by zero"}
	case reConversion.MatchString(first):
		m := reConversion.FindStringSubmatch(first)
		return conversionError(m[2], m[1], err)
	case strings.Contains(first, "NOT NULL constraint failed"):
		return &SQLError{Number: errNotNull, SQLState: "22000", Err: err, Message: "NULL result in a non-nullable column"}
	case strings.HasPrefix(first, "Parser Error"):
		return &SQLError{Number: errSyntax, SQLState: "42000", Err: err,
			Message: "SQL compilation error:\n" + strings.TrimSpace(strings.TrimPrefix(first, "Parser Error:"))}
	case strings.HasPrefix(first, "Binder Error"), strings.HasPrefix(first, "Catalog Error"):
		return &SQLError{Number: errSyntax, SQLState: "42000", Err: err,
			Message: "SQL compilation error:\n" + first}
	}
	return &SQLError{Number: errGeneric, SQLState: "XX000", Err: err, Message: first}
}

// conversionError is the load/DML error for a value that does not convert
// to a column of DuckDB type duckType.
func conversionError(duckType, value string, cause error) *SQLError {
	t := strings.ToUpper(duckType)
	switch {
	case isTZStruct(t), strings.HasPrefix(t, "TIMESTAMP"), strings.HasPrefix(t, "TIME"):
		return &SQLError{Number: errTimestamp, SQLState: "22007", Err: cause, Message: fmt.Sprintf("Timestamp '%s' is not recognized", value)}
	case strings.HasPrefix(t, "DATE"):
		return &SQLError{Number: errDate, SQLState: "22007", Err: cause, Message: fmt.Sprintf("Date '%s' is not recognized", value)}
	case strings.HasPrefix(t, "BOOL"):
		return &SQLError{Number: errBoolean, SQLState: "22018", Err: cause, Message: fmt.Sprintf("Boolean value '%s' is not recognized", value)}
	case strings.HasPrefix(t, "JSON"):
		return &SQLError{Number: errJSON, SQLState: "22P02", Err: cause, Message: fmt.Sprintf("Error parsing JSON: %s", value)}
	case strings.HasPrefix(t, "BLOB"):
		return &SQLError{Number: errHex, SQLState: "22000", Err: cause, Message: fmt.Sprintf("The following string is not a legal hex-encoded value: '%s'", value)}
	}
	return &SQLError{Number: errNumeric, SQLState: "22018", Err: cause, Message: fmt.Sprintf("Numeric value '%s' is not recognized", value)}
}
