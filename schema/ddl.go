package schema

// DDLOptions configures CREATE TABLE and ALTER TABLE statements. The zero
// value is the default.
type DDLOptions struct {
	// IfNotExists writes CREATE TABLE IF NOT EXISTS and ADD COLUMN IF NOT
	// EXISTS.
	IfNotExists bool
	// NotNull writes NOT NULL for data columns never seen null or missing.
	// Default off: data columns are nullable, so a later record lacking the
	// path still loads. System columns are always NOT NULL.
	NotNull bool
	// NoComments leaves out the column comments that hold each column's path
	// (and let a later Namer map columns back to paths).
	NoComments bool
	// Qualifier is the database and schema (or just the schema) the table is
	// in; each part is quoted as an identifier.
	Qualifier []string
}

// AppendTableName appends the quoted, qualified name of table name to dst.
func (o DDLOptions) AppendTableName(dst []byte, name string) []byte {
	for _, q := range o.Qualifier {
		dst = QuoteIdent(dst, q)
		dst = append(dst, '.')
	}
	return QuoteIdent(dst, name)
}

func (o DDLOptions) appendColumn(dst []byte, c Column, forceNullable bool) []byte {
	dst = QuoteIdent(dst, c.Name)
	dst = append(dst, ' ')
	dst = c.Type.AppendSQL(dst)
	if !forceNullable && (c.System || o.NotNull && !c.Nullable) {
		dst = append(dst, " NOT NULL"...)
	}
	if !o.NoComments && !c.System {
		dst = append(dst, " COMMENT "...)
		dst = QuoteString(dst, c.Comment())
	}
	return dst
}

// AppendCreateTable appends a CREATE TABLE statement for t, ending with
// ";\n", to dst. Every identifier is quoted and every comment is a quoted
// string literal, whatever the data held.
func AppendCreateTable(dst []byte, t Table, o DDLOptions) []byte {
	dst = append(dst, "CREATE TABLE "...)
	if o.IfNotExists {
		dst = append(dst, "IF NOT EXISTS "...)
	}
	dst = o.AppendTableName(dst, t.Name)
	dst = append(dst, " (\n"...)
	for i, c := range t.Columns {
		dst = append(dst, "  "...)
		dst = o.appendColumn(dst, c, false)
		if i < len(t.Columns)-1 {
			dst = append(dst, ',')
		}
		dst = append(dst, '\n')
	}
	return append(dst, ");\n"...)
}

// CreateTable returns AppendCreateTable(nil, t, o) as a string.
func CreateTable(t Table, o DDLOptions) string {
	return string(AppendCreateTable(nil, t, o))
}
