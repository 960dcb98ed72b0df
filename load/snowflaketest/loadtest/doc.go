// Package loadtest holds the end-to-end tests of package
// github.com/flatpipe/flatpipe/load: staged files written by load's
// writers and loaded by its Loader into the emulator, through the real,
// unmodified gosnowflake driver, with table contents compared cell for
// cell with the input. It lives in the emulator's module so that the
// root module never depends on DuckDB, and it is one test binary so that
// DuckDB is linked once for all of them.
package loadtest
