package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/flatpipe/flatpipe/flatten"
)

func infer(t testing.TB, name string, recs ...[]flatten.Field) Table {
	t.Helper()
	in, err := NewInferrer(InferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		in.Observe(r)
	}
	ts, err := in.Tables(name)
	if err != nil {
		t.Fatal(err)
	}
	return ts[0]
}

func desc(t testing.TB, rows ...DescRow) []ExistingColumn {
	t.Helper()
	var cs []ExistingColumn
	for _, r := range rows {
		if r.Kind == "" {
			r.Kind = "COLUMN"
		}
		if r.Null == "" {
			r.Null = "Y"
		}
		c, ok, err := r.Column()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			cs = append(cs, c)
		}
	}
	return cs
}

func TestPlanChanges(t *testing.T) {
	existing := []DescRow{
		{Name: "ID", Type: "NUMBER(3,0)", Comment: "id"},
		{Name: "NAME", Type: "VARCHAR(5)", Comment: "name"},
		{Name: "PRICE", Type: "NUMBER(5,2)"}, // no comment: mapped by name
		{Name: "A_B", Type: "NUMBER(1,0)", Comment: "a_b"},
		{Name: "OLD", Type: "BOOLEAN", Comment: "old"},
		{Name: "ROW ACCESS", Type: "VARCHAR(1)", Kind: "VIRTUAL"},
	}
	tests := []struct {
		name   string
		policy Evolution
		recs   [][]flatten.Field
		want   string // SQL, or "error: ..." for a FrozenError
		reject string
	}{
		{"nothing new", Evolution{}, [][]flatten.Field{
			fl("id", kNum, "12", "name", kStr, "bob", "price", kNum, "1.5", "a_b", kNum, "1"),
		}, "", ""},
		{"add and widen", Evolution{}, [][]flatten.Field{
			fl("id", kNum, "123456", "name", kStr, "robert", "price", kNum, "1234.5", "new.k", kStr, "x", "a.b", kNum, "3"),
		}, `ALTER TABLE "T" ALTER COLUMN "ID" SET DATA TYPE NUMBER(6,0);
ALTER TABLE "T" ALTER COLUMN "NAME" SET DATA TYPE VARCHAR(6);
ALTER TABLE "T" ALTER COLUMN "PRICE" SET DATA TYPE NUMBER(6,2);
ALTER TABLE "T" ADD COLUMN "NEW_K" VARCHAR(1) COMMENT 'new.k';
ALTER TABLE "T" ADD COLUMN "A_B_` + strings.TrimPrefix(string(appendHashSuffix(nil, "a.b")), "_") + `" NUMBER(1,0) COMMENT 'a.b';
`, ""},
		{"fallback columns", Evolution{}, [][]flatten.Field{
			fl("id", kStr, "x-1", "price", kNum, "1.125", "old", kObj, `{"a":1}`),
		}, `ALTER TABLE "T" ADD COLUMN "ID__V_VARCHAR" VARCHAR(3) COMMENT 'id';
ALTER TABLE "T" ADD COLUMN "PRICE__V_NUMBER" NUMBER(4,3) COMMENT 'price';
ALTER TABLE "T" ADD COLUMN "OLD__V_OBJECT" OBJECT COMMENT 'old';
`, ""},
		{"freeze", Evolution{Mode: Freeze}, [][]flatten.Field{
			fl("id", kNum, "1", "extra", kNum, "1"),
		}, `error: schema: schema change on a frozen table: table T: add EXTRA NUMBER(1,0) (path "extra"): new path`, ""},
		{"freeze widen", Evolution{Mode: Freeze}, [][]flatten.Field{
			fl("name", kStr, "a long name"),
		}, `error: schema: schema change on a frozen table: table T: widen NAME (path "name") from VARCHAR(5) to VARCHAR(11)`, ""},
		{"column override", Evolution{Mode: Freeze, Columns: map[string]Mode{"extra": Evolve}}, [][]flatten.Field{
			fl("extra", kNum, "1"),
		}, `ALTER TABLE "T" ADD COLUMN "EXTRA" NUMBER(1,0) COMMENT 'extra';
`, ""},
		{"discard value", Evolution{Mode: DiscardValue}, [][]flatten.Field{
			fl("id", kNum, "1", "extra", kNum, "1", "name", kStr, "too long"),
		}, "", "extra:discard_value name:discard_value "},
		{"discard row", Evolution{Columns: map[string]Mode{"extra": DiscardRow}}, [][]flatten.Field{
			fl("id", kNum, "1", "extra", kNum, "1"),
		}, "", "extra:discard_row "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanChanges(desc(t, existing...), infer(t, "T", tt.recs...), tt.policy, PlanOptions{})
			if strings.HasPrefix(tt.want, "error: ") {
				var fe *FrozenError
				if !errors.As(err, &fe) || !errors.Is(err, ErrFrozen) {
					t.Fatalf("PlanChanges() error = %v, want a *FrozenError", err)
				}
				if got := "error: " + err.Error(); got != tt.want {
					t.Errorf("PlanChanges() error = %q, want %q", got, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(p.AppendSQL(nil, DDLOptions{})); got != tt.want {
				t.Errorf("AppendSQL() =\n%s\nwant\n%s", got, tt.want)
			}
			rej := ""
			for _, r := range p.Rejected {
				rej += r.Path + ":" + r.Mode.String() + " "
			}
			if rej != tt.reject {
				t.Errorf("Rejected = %q, want %q", rej, tt.reject)
			}
			checkRouted(t, p, tt.recs)
		})
	}
}

// checkRouted: every value of the batch is routed to a column of its path
// whose type accepts it, or discarded, never lost.
func checkRouted(t *testing.T, p *Plan, recs [][]flatten.Field) {
	t.Helper()
	for _, r := range recs {
		kept, discards, dropRow := p.Filter(nil, r)
		if dropRow {
			if len(kept) != 0 || len(discards) == 0 {
				t.Errorf("Filter() dropped the row with kept %d, discards %d", len(kept), len(discards))
			}
			continue
		}
		if len(kept)+len(discards) != len(r) {
			t.Errorf("Filter() kept %d + discarded %d of %d fields", len(kept), len(discards), len(r))
		}
		for _, v := range kept {
			c := p.Columns[v.Column]
			if c.Path != string(v.Field.Path) {
				t.Errorf("field %q routed to column %s of path %q", v.Field.Path, c.Name, c.Path)
			}
			if !c.Type.Accepts(v.Field.Kind, v.Field.Value, false) {
				t.Errorf("field %q = %q routed to %s %v which does not accept it", v.Field.Path, v.Field.Value, c.Name, c.Type)
			}
		}
	}
}

func TestPlanStableAcrossBatches(t *testing.T) {
	// Batch 1 creates the table; batch 2 reads it back (DESC TABLE) and sees
	// a colliding path first: names of existing paths do not move.
	b1 := infer(t, "T", fl("a_b", kNum, "1"))
	p1, err := PlanChanges(nil, b1, Evolution{}, PlanOptions{})
	if err != nil || !p1.Create {
		t.Fatalf("PlanChanges(new table) = %v, %v", p1, err)
	}
	var rows []DescRow
	for _, c := range p1.Columns {
		rows = append(rows, DescRow{Name: c.Name, Type: c.Type.String(), Comment: c.Comment()})
	}
	b2 := infer(t, "T", fl("a.b", kNum, "2", "a_b", kNum, "3"))
	p2, err := PlanChanges(desc(t, rows...), b2, Evolution{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	col, ok := p2.Route([]byte("a_b"), kNum, []byte("3"))
	if !ok || p2.Columns[col].Name != "A_B" {
		t.Errorf("a_b routed to %v, %v; want A_B", col, ok)
	}
	col, ok = p2.Route([]byte("a.b"), kNum, []byte("2"))
	if !ok || p2.Columns[col].Name == "A_B" {
		t.Errorf("a.b routed to column %d (%s), want a new column", col, p2.Columns[col].Name)
	}
	if len(p2.Collisions) != 1 {
		t.Errorf("Collisions = %v, want one", p2.Collisions)
	}
}

func TestPlanNewTableModes(t *testing.T) {
	tb := infer(t, "T", fl("x", kNum, "1"))
	if _, err := PlanChanges(nil, tb, Evolution{Mode: Freeze}, PlanOptions{}); !errors.Is(err, ErrFrozen) {
		t.Errorf("PlanChanges(new table, freeze) = %v, want ErrFrozen", err)
	}
	p, err := PlanChanges(nil, tb, Evolution{Mode: DiscardRow}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, d, drop := p.Filter(nil, fl("x", kNum, "1"))
	if !drop || len(d) != 1 || !d[0].Row {
		t.Errorf("Filter(new table, discard_row) = %v, %v, want the row discarded", d, drop)
	}
}

func TestInfoSchemaRow(t *testing.T) {
	tests := []struct {
		r    InfoSchemaRow
		want string
	}{
		{InfoSchemaRow{ColumnName: "A", DataType: "NUMBER", NumericPrecision: 10, NumericScale: 2, IsNullable: "YES"}, "A NUMBER(10,2) true"},
		{InfoSchemaRow{ColumnName: "B", DataType: "TEXT", CharacterMaximumLength: 20, IsNullable: "NO"}, "B VARCHAR(20) false"},
		{InfoSchemaRow{ColumnName: "C", DataType: "TIMESTAMP_TZ", IsNullable: "YES", Comment: "c"}, "C TIMESTAMP_TZ true"},
	}
	for _, tt := range tests {
		c, err := tt.r.Column()
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%s %v %v", c.Name, c.Type, c.Nullable); got != tt.want {
			t.Errorf("Column() = %q, want %q", got, tt.want)
		}
	}
}

func TestModeText(t *testing.T) {
	for m := Evolve; m <= DiscardValue; m++ {
		b, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got Mode
		if err := got.UnmarshalText(b); err != nil || got != m {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", b, got, err, m)
		}
	}
	var m Mode
	if err := m.UnmarshalText([]byte("drop")); !errors.Is(err, ErrOptions) {
		t.Errorf("UnmarshalText(drop) = %v, want ErrOptions", err)
	}
}

func TestRouteAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts differ under -race and coverage")
	}
	p, err := PlanChanges(nil, infer(t, "T", fl("a", kNum, "1", "b.c", kStr, "x")), Evolution{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := fl("a", kNum, "7", "b.c", kStr, "y")
	dst := make([]Value, 0, 8)
	if a := testing.AllocsPerRun(100, func() { dst, _, _ = p.Filter(dst[:0], rec) }); a != 0 {
		t.Errorf("Filter allocates %v times per record, want 0", a)
	}
}

func TestPlanSavedMappings(t *testing.T) {
	// Batch 1 (without comments) names a_b; its mapping is saved.
	p1, err := PlanChanges(nil, infer(t, "T", fl("a_b", kNum, "1")), Evolution{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	saved := p1.Mappings()
	if len(saved) != 1 || saved[0] != (Mapping{Path: "a_b", Name: "A_B"}) {
		t.Fatalf("Mappings() = %v", saved)
	}
	// Another process creates the table from a batch where a.b sorts first:
	// the saved mapping keeps A_B for a_b.
	p2, err := PlanChanges(nil, infer(t, "T", fl("a.b", kNum, "2", "a_b", kNum, "3")), Evolution{}, PlanOptions{Mappings: saved})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range p2.Columns {
		got[c.Path] = c.Name
	}
	if got["a_b"] != "A_B" || got["a.b"] == "A_B" {
		t.Errorf("columns = %v, want a_b named A_B", got)
	}
	// Without comments, existing columns plus the saved mapping still map.
	rows := desc(t, DescRow{Name: "A_B", Type: "NUMBER(1,0)"})
	p3, err := PlanChanges(rows, infer(t, "T", fl("a.b", kNum, "2", "a_b", kNum, "3")), Evolution{}, PlanOptions{Mappings: saved})
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := p3.Route([]byte("a_b"), kNum, []byte("3")); !ok || p3.Columns[i].Name != "A_B" {
		t.Errorf("a_b routed to %v %v, want A_B", i, ok)
	}
	if len(p3.Changes) != 1 || p3.Changes[0].Column.Path != "a.b" {
		t.Errorf("Changes = %v, want only a.b added", p3.Changes)
	}
	// A saved mapping contradicting the comments is reported, not guessed.
	rows = desc(t, DescRow{Name: "X", Type: "NUMBER(1,0)", Comment: "x"}, DescRow{Name: "Y", Type: "NUMBER(1,0)", Comment: "y"})
	if _, err := PlanChanges(rows, infer(t, "T", fl("x", kNum, "1")), Evolution{}, PlanOptions{Mappings: []Mapping{{Path: "x", Name: "Y"}}}); !errors.Is(err, ErrMapping) {
		t.Errorf("PlanChanges(mapping against comments) = %v, want ErrMapping", err)
	}
}

func TestEvolutionYAMLAndJSON(t *testing.T) {
	var y Evolution
	if err := yamlUnmarshal([]byte("mode: freeze\ncolumns: {price: discard_value, note: evolve}\n"), &y); err != nil {
		t.Fatal(err)
	}
	var j Evolution
	if err := json.Unmarshal([]byte(`{"mode":"freeze","columns":{"price":"discard_value","note":"evolve"}}`), &j); err != nil {
		t.Fatal(err)
	}
	want := Evolution{Mode: Freeze, Columns: map[string]Mode{"price": DiscardValue, "note": Evolve}}
	if !reflect.DeepEqual(y, want) || !reflect.DeepEqual(j, want) {
		t.Errorf("YAML policy = %+v, JSON policy = %+v, want %+v", y, j, want)
	}
	if err := yamlUnmarshal([]byte("mode: drop\n"), &y); err == nil {
		t.Error("YAML mode drop accepted")
	}
}

func TestKeepsJSONNull(t *testing.T) {
	tb := infer(t, "T", fl("v", kNull, "null", "m", kNum, "1", "o", kObj, "{}"), fl("v", kNull, "null", "m", kStr, "x", "o", kObj, "{}"),
		fl("m", kObj, "{}"))
	want := map[string]bool{"v": true, "m": true, "o": false}
	for _, c := range tb.Columns {
		if got := c.KeepsJSONNull(); got != want[c.Path] {
			t.Errorf("column %s (%v).KeepsJSONNull() = %v, want %v", c.Name, c.Type, got, want[c.Path])
		}
	}
}

func yamlUnmarshal(b []byte, v any) error { return yaml.Unmarshal(b, v) }

func TestPlanKeepsSubtree(t *testing.T) {
	// Batch 1 kept the wide object m whole; batch 2 has few keys of it.
	in, _ := NewInferrer(InferOptions{MaxObjectKeys: 2})
	in.Observe(fl("id", kNum, "1", "m.1", kNum, "1", "m.2", kNum, "1", "m.3", kNum, "1"))
	ts, _ := in.Tables("T")
	p1, err := PlanChanges(nil, ts[0], Evolution{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []DescRow
	for _, c := range p1.Columns {
		rows = append(rows, DescRow{Name: c.Name, Type: c.Type.String(), Comment: c.Comment()})
	}
	b2 := infer(t, "T", fl("id", kNum, "2", "m.9", kStr, "x"))
	p2, err := PlanChanges(desc(t, rows...), b2, Evolution{Mode: Freeze}, PlanOptions{})
	if err != nil {
		t.Fatalf("PlanChanges(batch 2) = %v, want no change", err)
	}
	i, ok := p2.Route([]byte("m.9"), kStr, []byte("x"))
	if !ok || p2.Columns[i].Name != "M" {
		t.Errorf("m.9 routed to %v %v, want the subtree column M", i, ok)
	}
	var fields []flatten.Field
	for _, v := range must(p2.Filter(nil, fl("id", kNum, "2", "m.9", kStr, "x"))) {
		if v.Column == i {
			fields = append(fields, v.Field)
		}
	}
	if got := string(AppendSubtree(nil, fields, "m", ".")); got != `{"9":"x"}` {
		t.Errorf("AppendSubtree = %s", got)
	}
}

func must(kept []Value, d []Discard, drop bool) []Value {
	if len(d) > 0 || drop {
		panic(fmt.Sprint("discards: ", d))
	}
	return kept
}

func TestPlanExistingFallbacks(t *testing.T) {
	rows := desc(t,
		DescRow{Name: "ID", Type: "NUMBER(3,0)", Comment: "id"},
		DescRow{Name: "ID__V_VARCHAR", Type: "VARCHAR(3)", Comment: "id"},
		DescRow{Name: "LEGACY", Type: "VARCHAR(10)", Comment: "something else"},
		DescRow{Name: "OTHER", Type: "VARCHAR(10)"},
	)
	b := infer(t, "T", fl("id", kStr, "abcdef", "id__v_varchar", kNum, "1", "legacy", kNum, "2"), fl("id", kNum, "5"))
	p, err := PlanChanges(rows, b, Evolution{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(p.AppendSQL(nil, DDLOptions{}))
	for _, want := range []string{
		`ALTER TABLE "T" ALTER COLUMN "ID__V_VARCHAR" SET DATA TYPE VARCHAR(6);`,
		`ALTER TABLE "T" ADD COLUMN "ID__V_VARCHAR_`,
		`ALTER TABLE "T" ADD COLUMN "LEGACY_`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("AppendSQL() =\n%s\nwant it to contain %s", got, want)
		}
	}
	if strings.Contains(got, `ADD COLUMN "ID__V_VARCHAR" `) || strings.Contains(got, `ADD COLUMN "LEGACY" `) || strings.Contains(got, `"OTHER"`) {
		t.Errorf("AppendSQL() reuses an existing name:\n%s", got)
	}
	if i, ok := p.Route([]byte("id"), kStr, []byte("abcdef")); !ok || p.Columns[i].Name != "ID__V_VARCHAR" {
		t.Errorf("id string routed to %v %v, want ID__V_VARCHAR", i, ok)
	}
	if i, ok := p.Route([]byte("id"), kNum, []byte("5")); !ok || p.Columns[i].Name != "ID" {
		t.Errorf("id number routed to %v %v, want ID", i, ok)
	}
}

func TestPlanAddsSystemColumnsNullable(t *testing.T) {
	// A table made in JSON mode, now loaded in tables mode: _ID is added,
	// and ADD COLUMN never says NOT NULL (it fails on a non-empty table).
	in, _ := NewInferrer(InferOptions{})
	in.ObserveRows([]flatten.Row{{ID: 1, Index: -1, Fields: fl("a", kNum, "1")}})
	ts, _ := in.Tables("T")
	p, err := PlanChanges(desc(t, DescRow{Name: "A", Type: "NUMBER(1,0)", Comment: "a"}), ts[0], Evolution{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "ALTER TABLE \"T\" ADD COLUMN \"_ID\" NUMBER(20,0);\n"
	if got := string(p.AppendSQL(nil, DDLOptions{NotNull: true})); got != want {
		t.Errorf("AppendSQL() = %q, want %q", got, want)
	}
}

func TestPlanShortNames(t *testing.T) {
	names := NameOptions{MaxLength: 16}
	rows := desc(t, DescRow{Name: "A_VERY_LONG_NAM", Type: "NUMBER(3,0)", Comment: "x"})
	in, _ := NewInferrer(InferOptions{Names: names, DetectTime: true})
	in.Observe(fl("x", kStr, "2024-01-01T00:00:00"))
	in.Observe(fl("x", kStr, "2024-01-01T00:00:01"))
	ts, _ := in.Tables("T")
	for range 3 { // fallbacks of fallbacks stay within the limit
		p, err := PlanChanges(rows, ts[0], Evolution{}, PlanOptions{Names: names})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Columns {
			if len(c.Name) > 16 {
				t.Errorf("column %q longer than 16", c.Name)
			}
		}
		if len(p.Changes) != 1 {
			t.Fatalf("Changes = %v, want one fallback column", p.Changes)
		}
		c := p.Changes[0].Column
		rows = append(rows, ExistingColumn{Name: c.Name, Type: Type{Kind: Varchar, Length: 1}, Nullable: true, Comment: c.Path})
	}
}
