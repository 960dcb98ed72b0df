package stagefile

import "github.com/flatpipe/flatpipe/schema"

// File describes one staged file: a compressed file of flattened rows on the
// local disk, written for one target table, with everything the loader needs
// to PUT it (or upload it to an external stage) and to COPY it without
// guessing. Writers produce Files; package load's Loader and S3Sink
// consume them. A File is a plain value, safe for concurrent use while
// nobody modifies it.
//
// The contract between the writers and package load:
//   - Name is deterministic: the same source, record range and content give
//     the same name, so a replayed batch stages files under the names it used
//     before and COPY's load metadata (keyed by stage path and content)
//     refuses a second load.
//   - Columns are the table's column names, unquoted, exactly as schema names
//     them, in the order the file holds them; COPY maps file columns to table
//     columns by these names.
//   - Rows is the number of rows written: COPY's rows_loaded for this file
//     must equal it, or the load is incomplete.
//   - SHA256 is the hex digest of the file's bytes as stored: a file that
//     COPY reports as already loaded counts as loaded only if its name and
//     digest are the ones recorded for it.
type File struct {
	// Path is the file's location on the local disk.
	Path string
	// Name is the file's base name, the name it has on the stage.
	Name string
	// Table is the target table's name, unquoted, as schema names it.
	Table string
	// Format and Compression are the file's encoding.
	Format      Format
	Compression Compression
	// Columns are the table column names the file holds, in file order.
	Columns []string
	// Schema describes each of Columns (same order): its name, the path
	// it holds ("" for system columns) and the type the writer gave it,
	// with VARCHAR unsized. A loader creates or evolves the table from it
	// (schema.PlanChanges) before COPY; a column's Type is what its values
	// in this file need, so the table column must cover it.
	Schema []schema.Column
	// Rows is the number of rows in the file.
	Rows int64
	// Source identifies where the rows came from (an object key or a
	// path), and FirstRecord and LastRecord the 1-based numbers of the
	// first and last source records whose rows are in the file.
	Source                  string
	FirstRecord, LastRecord int64
	// Size is the file's size in bytes as stored; RawSize its size before
	// compression.
	Size, RawSize int64
	// SHA256 is the lower-case hex SHA-256 digest of the file's bytes.
	SHA256 string
}
