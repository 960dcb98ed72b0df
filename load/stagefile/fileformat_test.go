package stagefile

import "testing"

func TestFileFormat(t *testing.T) {
	tests := []struct {
		format Format
		comp   Compression
		want   string
	}{
		{NDJSON, Gzip, "TYPE = JSON COMPRESSION = GZIP NULL_IF = ()"},
		{NDJSON, Zstd, "TYPE = JSON COMPRESSION = ZSTD NULL_IF = ()"},
		{NDJSON, Uncompressed, "TYPE = JSON COMPRESSION = NONE NULL_IF = ()"},
		{CSV, Gzip, `TYPE = CSV COMPRESSION = GZIP PARSE_HEADER = TRUE FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE NULL_IF = () ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE`},
		{CSV, Uncompressed, `TYPE = CSV COMPRESSION = NONE PARSE_HEADER = TRUE FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE NULL_IF = () ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE`},
		{Parquet, Zstd, "TYPE = PARQUET"},
	}
	for _, tt := range tests {
		f := File{Format: tt.format, Compression: tt.comp}
		if got := f.FileFormat(); got != tt.want {
			t.Errorf("File{%v, %v}.FileFormat() = %q, want %q", tt.format, tt.comp, got, tt.want)
		}
		if got, want := f.CopyOptions(), "MATCH_BY_COLUMN_NAME = CASE_SENSITIVE"; got != want {
			t.Errorf("File{%v, %v}.CopyOptions() = %q, want %q", tt.format, tt.comp, got, want)
		}
	}
}
