package load

import "strings"

// FileFormat returns the body of the FILE_FORMAT = ( … ) clause that loads
// f with COPY INTO, without the parentheses, for example
//
//	TYPE = JSON COMPRESSION = GZIP NULL_IF = ()
//
// The options follow from how the writers encode values:
//
// NDJSON files hold one flat JSON object per line, keyed by column name:
// TYPE = JSON, COMPRESSION = GZIP, ZSTD or NONE, and NULL_IF = () so that
// no string (not even the default \N) is read as SQL NULL. A JSON null loads
// as SQL NULL into a typed column and as a VARIANT null into a VARIANT
// column; a missing key loads as SQL NULL.
//
// CSV files start with a header row of column names and quote every string:
//
//	TYPE = CSV COMPRESSION = GZIP PARSE_HEADER = TRUE FIELD_DELIMITER = ','
//	FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE
//	EMPTY_FIELD_AS_NULL = TRUE NULL_IF = () ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE
//
// PARSE_HEADER = TRUE gives MATCH_BY_COLUMN_NAME the file's column names
// (and replaces SKIP_HEADER, which Snowflake refuses alongside it). SQL NULL
// (JSON null in a typed column, or a missing key) is written as an empty,
// unenclosed field, which EMPTY_FIELD_AS_NULL = TRUE loads as NULL, while the
// empty string is written as "" (enclosed), which loads as the empty string; NULL_IF = ()
// keeps a string \N from becoming NULL, and ESCAPE_UNENCLOSED_FIELD = NONE
// keeps backslashes literal (every string is enclosed anyway, with embedded
// quotes doubled as RFC 4180 says). ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE
// lets a file hold fewer columns than the table: the others load as NULL.
// Values of VARIANT, OBJECT and ARRAY columns are JSON text.
//
// Parquet files hold typed columns and compress their pages inside the
// file (File.Compression names the codec): TYPE = PARQUET, whose
// COMPRESSION = AUTO reads any codec. A file with DATE or TIMESTAMP columns
// adds USE_LOGICAL_TYPE = TRUE, so that Snowflake reads the Parquet DATE and
// TIMESTAMP logical types as dates and timestamps (TIMESTAMP with
// isAdjustedToUTC as TIMESTAMP_LTZ, without as TIMESTAMP_NTZ, then converted
// to the column's type) rather than as the INT32 and INT64 that store them.
// BINARY_AS_TEXT (default TRUE) does not matter: every text column carries
// the STRING or JSON logical type.
func (f File) FileFormat() string {
	var b strings.Builder
	switch f.Format {
	case CSV:
		b.WriteString("TYPE = CSV COMPRESSION = ")
		b.WriteString(f.Compression.sql())
		b.WriteString(` PARSE_HEADER = TRUE FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE NULL_IF = () ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE`)
	case Parquet:
		b.WriteString("TYPE = PARQUET")
		for _, c := range f.Schema {
			if timeKindOf(c.Type) != notTime {
				b.WriteString(" USE_LOGICAL_TYPE = TRUE")
				break
			}
		}
	default:
		b.WriteString("TYPE = JSON COMPRESSION = ")
		b.WriteString(f.Compression.sql())
		b.WriteString(" NULL_IF = ()")
	}
	return b.String()
}

// CopyOptions returns the copy options that load f by column name, to be
// written after FILE_FORMAT = ( … ) in COPY INTO:
//
//	MATCH_BY_COLUMN_NAME = CASE_SENSITIVE
//
// for every format: File.Columns are the table's column names exactly as
// schema names them, so a case-sensitive match maps each file column to its
// table column (and cannot confuse two names that differ only in case);
// table columns the file lacks load as NULL. The loader adds its own
// options (FILES, ON_ERROR, PURGE, FORCE).
func (f File) CopyOptions() string {
	return "MATCH_BY_COLUMN_NAME = CASE_SENSITIVE"
}

// sql returns the COMPRESSION value of a text file format.
func (c Compression) sql() string {
	switch c {
	case Zstd:
		return "ZSTD"
	case Uncompressed:
		return "NONE"
	default:
		return "GZIP"
	}
}
