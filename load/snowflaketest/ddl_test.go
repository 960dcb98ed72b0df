package snowflaketest_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/schema"
)

// schemaTable is a table with a column of every type package schema
// writes, system columns included.
func schemaTable(name string) schema.Table {
	col := func(n, path string, t schema.Type) schema.Column {
		return schema.Column{Name: n, Path: path, Type: t, Nullable: true}
	}
	return schema.Table{Name: name, Columns: []schema.Column{
		{Name: "_ID", Type: schema.Type{Kind: schema.Varchar, Length: 36}, System: true},
		{Name: "_INDEX", Type: schema.Type{Kind: schema.Number, Precision: 38, Scale: 0}, System: true},
		col("N", "n", schema.Type{Kind: schema.Number, Precision: 10, Scale: 0}),
		col("AMOUNT", "amount", schema.Type{Kind: schema.Number, Precision: 12, Scale: 2}),
		col("F", "f", schema.Type{Kind: schema.Float}),
		col("NAME", "user.name", schema.Type{Kind: schema.Varchar, Length: 5}),
		col("OK", "ok", schema.Type{Kind: schema.Boolean}),
		col("D", "d", schema.Type{Kind: schema.Date}),
		col("TS", "ts", schema.Type{Kind: schema.TimestampNTZ}),
		col("TZ", "tz", schema.Type{Kind: schema.TimestampTZ}),
		col("O", "o", schema.Type{Kind: schema.Object}),
		col("A", "a", schema.Type{Kind: schema.Array}),
		col("V", "v", schema.Type{Kind: schema.Variant}),
		col("U", "u", schema.Type{Kind: schema.Unknown}),
		col("it's \"odd\"", "odd 'path'", schema.Type{Kind: schema.Varchar, Length: 16777216}),
	}}
}

// descColumns reads a table back as package schema does: DESC TABLE rows
// through DescRow.Column.
func descColumns(t *testing.T, db *sql.DB, table string) []schema.ExistingColumn {
	t.Helper()
	rows, err := db.Query("DESC TABLE " + table)
	if err != nil {
		t.Fatalf("DESC TABLE %s: %v", table, err)
	}
	defer rows.Close()
	var out []schema.ExistingColumn
	for rows.Next() {
		var name, typ, kind, null string
		var def, pk, uk, check, expr, comment, policy, privacy sql.NullString
		if err := rows.Scan(&name, &typ, &kind, &null, &def, &pk, &uk, &check, &expr, &comment, &policy, &privacy); err != nil {
			t.Fatal(err)
		}
		c, ok, err := schema.DescRow{Name: name, Type: typ, Kind: kind, Null: null, Comment: comment.String}.Column()
		if err != nil || !ok {
			t.Fatalf("DescRow(%s %s): %v %v", name, typ, ok, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// execScript runs statements separated by ";\n".
func execScript(t *testing.T, db *sql.DB, script string) {
	t.Helper()
	for _, q := range strings.Split(script, ";\n") {
		if strings.TrimSpace(q) != "" {
			mustExec(t, db, q)
		}
	}
}

// TestSchemaDDL runs every DDL form package schema writes (CREATE TABLE
// with each DDLOptions, the ALTER TABLE statements of a plan, with and
// without IF NOT EXISTS) and reads the tables back through DESC TABLE and
// INFORMATION_SCHEMA.COLUMNS: types and comments come back as declared,
// so a second plan against the evolved table has nothing to do.
func TestSchemaDDL(t *testing.T) {
	_, db := newDB(t, snowflaketest.Options{})
	for _, tc := range []struct {
		table string
		o     schema.DDLOptions
	}{
		{"PLAIN", schema.DDLOptions{}},
		{"IFNE", schema.DDLOptions{IfNotExists: true}},
		{"NOTNULL", schema.DDLOptions{NotNull: true}},
		{"NOCOMMENTS", schema.DDLOptions{NoComments: true}},
		{"QUALIFIED", schema.DDLOptions{Qualifier: []string{"TEST_DB", "PUBLIC"}, IfNotExists: true}},
	} {
		t.Run(tc.table, func(t *testing.T) {
			tbl := schemaTable(tc.table)
			execScript(t, db, schema.CreateTable(tbl, tc.o))
			if tc.o.IfNotExists {
				execScript(t, db, schema.CreateTable(tbl, tc.o)) // twice: a no-op
			}
			got := descColumns(t, db, `"`+tc.table+`"`)
			if len(got) != len(tbl.Columns) {
				t.Fatalf("DESC TABLE has %d columns, want %d", len(got), len(tbl.Columns))
			}
			for i, c := range tbl.Columns {
				want := c.Type
				if want.Kind == schema.Unknown {
					want = schema.Type{Kind: schema.Variant}
				}
				wantComment := c.Comment()
				if tc.o.NoComments || c.System {
					wantComment = ""
				}
				if got[i].Name != c.Name || got[i].Type != want || got[i].Comment != wantComment {
					t.Errorf("column %d = %q %v %q, want %q %v %q", i, got[i].Name, got[i].Type, got[i].Comment, c.Name, want, wantComment)
				}
			}
			// INFORMATION_SCHEMA.COLUMNS gives the same types.
			rows, err := db.Query(`SELECT column_name, data_type, coalesce(character_maximum_length, 0), coalesce(numeric_precision, 0),
				coalesce(numeric_scale, 0), is_nullable, coalesce(comment, '') FROM information_schema.columns
				WHERE table_name = ? ORDER BY ordinal_position`, tc.table)
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for rows.Next() {
				var r schema.InfoSchemaRow
				if err := rows.Scan(&r.ColumnName, &r.DataType, &r.CharacterMaximumLength, &r.NumericPrecision, &r.NumericScale, &r.IsNullable, &r.Comment); err != nil {
					t.Fatal(err)
				}
				c, err := r.Column()
				if err != nil {
					t.Fatal(err)
				}
				if i < len(got) && (c.Type != got[i].Type || c.Name != got[i].Name) {
					t.Errorf("INFORMATION_SCHEMA column %d = %q %v, DESC says %q %v", i, c.Name, c.Type, got[i].Name, got[i].Type)
				}
				i++
			}
			rows.Close()
			if i != len(got) {
				t.Errorf("INFORMATION_SCHEMA.COLUMNS has %d rows, want %d", i, len(got))
			}
			if tc.o.NoComments {
				return
			}
			// Evolve: a new column of each type, a longer VARCHAR and a
			// wider NUMBER.
			next := schemaTable(tc.table)
			next.Columns[2].Type.Precision = 20                             // N: NUMBER(10,0) → NUMBER(20,0)
			next.Columns[5].Type.Length, next.Columns[5].MaxLength = 40, 40 // NAME: VARCHAR(5) → VARCHAR(40)
			next.Columns = append(next.Columns,
				schema.Column{Name: "NEW_N", Path: "new.n", Type: schema.Type{Kind: schema.Number, Precision: 38, Scale: 0}, Nullable: true},
				schema.Column{Name: "NEW_TS", Path: "new.ts", Type: schema.Type{Kind: schema.TimestampTZ}, Nullable: true},
				schema.Column{Name: "NEW_O", Path: "new.o", Type: schema.Type{Kind: schema.Object}, Nullable: true},
				schema.Column{Name: "NEW_A", Path: "new.a", Type: schema.Type{Kind: schema.Array}, Nullable: true},
				schema.Column{Name: "NEW_S", Path: "new.s", Type: schema.Type{Kind: schema.Varchar, Length: 7}, Nullable: true, MaxLength: 7},
			)
			plan, err := schema.PlanChanges(got, next, schema.Evolution{}, schema.PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Changes) != 7 {
				t.Fatalf("plan = %v, want 5 additions and 2 widenings", plan.Changes)
			}
			script := string(plan.AppendSQL(nil, tc.o))
			execScript(t, db, script)
			if tc.o.IfNotExists {
				execScript(t, db, script) // ADD COLUMN IF NOT EXISTS again: a no-op; widening again: same type
			}
			after := descColumns(t, db, `"`+tc.table+`"`)
			again, err := schema.PlanChanges(after, next, schema.Evolution{}, schema.PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Changes) != 0 {
				t.Errorf("plan against the evolved table = %v, want none (DESC reads back what was declared)", again.Changes)
			}
		})
	}
}
