package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// FuzzInferPlan flattens newline-separated documents, infers their tables
// and checks: every observed value is accepted by its column's type; the DDL
// types parse back; and planning the same batch against the table it created
// (read back as DESC TABLE rows) changes nothing and routes every value.
func FuzzInferPlan(f *testing.F) {
	files, _ := filepath.Glob("testdata/ddl/*.ndjson")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Add([]byte("{\"a\":1}\n{\"a\":\"x\"}\n{\"a\":1e400}\n{\"a\":123456789012345678901234567890123456789}"), false)
	f.Add([]byte("{\"n\":1.5}\n{\"n\":12345678901234567890123456789012345678}\n{\"n\":true}"), false)
	f.Add([]byte("{\"t\":\"2024-01-01\"}\n{\"t\":\"2024-01-01T00:00:00Z\"}\n{\"t\":{}}"), true)
	f.Fuzz(func(t *testing.T, data []byte, tables bool) {
		batch, ts := inferBatch(t, data, tables)
		checkMergeEqualsWhole(t, batch)
		checkOwnContracts(t, ts, batch)
		plans := planAgainstItself(t, ts)
		for _, rows := range batch {
			for _, r := range rows {
				p := plans[string(r.Table)]
				if p == nil {
					t.Fatalf("no table for %q", r.Table)
				}
				kept, discards, drop := p.Filter(nil, r.Fields)
				if drop || len(discards) > 0 || len(kept) != len(r.Fields) {
					t.Fatalf("table %q: Filter(%v) discards %v", r.Table, r.Fields, discards)
				}
			}
		}
	})
}

// inferBatch flattens the documents of data (one a line; invalid ones are
// skipped) and infers their tables with small limits. It returns the rows of
// each document, copied, and the tables.
func inferBatch(t *testing.T, data []byte, tables bool) ([][]flatten.Row, []Table) {
	opts := flatten.Options{}
	if tables {
		opts.Arrays = flatten.ArraysTables
	}
	fl, err := flatten.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := NewInferrer(InferOptions{DetectTime: true, MaxObjectKeys: 3, MaxColumns: 8})
	var batch [][]flatten.Row
	for _, doc := range bytes.Split(data, []byte("\n")) {
		rows, err := fl.AppendRows(nil, doc)
		if err != nil {
			continue
		}
		in.ObserveRows(rows)
		// Keep copies: rows alias the flattener's buffers.
		var kept []flatten.Row
		for _, r := range rows {
			r.Table = bytes.Clone(r.Table)
			fs := make([]flatten.Field, len(r.Fields))
			for i, x := range r.Fields {
				fs[i] = flatten.Field{Path: bytes.Clone(x.Path), Value: bytes.Clone(x.Value), Kind: x.Kind}
			}
			r.Fields = fs
			kept = append(kept, r)
		}
		batch = append(batch, kept)
	}
	ts, err := in.Tables("T")
	if err != nil {
		t.Fatal(err)
	}
	return batch, ts
}

// checkMergeEqualsWhole: merging the Inferrers of two halves equals
// observing everything (without limits, whose collapses depend on order).
func checkMergeEqualsWhole(t *testing.T, batch [][]flatten.Row) {
	whole, _ := NewInferrer(InferOptions{DetectTime: true, MaxObjectKeys: -1, MaxColumns: -1})
	first, _ := NewInferrer(InferOptions{DetectTime: true, MaxObjectKeys: -1, MaxColumns: -1})
	second, _ := NewInferrer(InferOptions{DetectTime: true, MaxObjectKeys: -1, MaxColumns: -1})
	for i, rows := range batch {
		whole.ObserveRows(rows)
		if i < len(batch)/2 {
			first.ObserveRows(rows)
		} else {
			second.ObserveRows(rows)
		}
	}
	if err := first.Merge(second); err != nil {
		t.Fatal(err)
	}
	tw, _ := whole.Tables("T")
	tm, _ := first.Tables("T")
	if !reflect.DeepEqual(tw, tm) {
		t.Fatalf("merged tables differ:\n%+v\nwant\n%+v", tm, tw)
	}
}

// checkOwnContracts: the contract made from a table accepts every record it
// came from.
func checkOwnContracts(t *testing.T, ts []Table, batch [][]flatten.Row) {
	validators := map[string]*Validator{}
	for _, tb := range ts {
		v, err := NewValidator(ContractFor(tb, ""))
		if err != nil {
			t.Fatalf("NewValidator(ContractFor(%s)): %v", tb.Name, err)
		}
		validators[tb.Path] = v
	}
	for _, rows := range batch {
		for _, r := range rows {
			if err := validators[string(r.Table)].Validate(r.Fields); err != nil {
				t.Fatalf("table %q: record %v violates its own contract: %v", r.Table, r.Fields, err)
			}
		}
	}
}

// planAgainstItself reads each table back as DESC TABLE rows (checking that
// its DDL types parse back) and plans it against itself, with its column
// comments and, without them, with a saved mapping: no plan may change
// anything. It returns the plans by table path.
func planAgainstItself(t *testing.T, ts []Table) map[string]*Plan {
	plans := map[string]*Plan{}
	for _, tb := range ts {
		var rows []DescRow
		for _, c := range tb.Columns {
			sql := c.Type.String()
			pt, err := ParseType(sql)
			if err != nil || pt != c.Type && !(c.Type.Kind == Unknown && pt.Kind == Variant) {
				t.Fatalf("ParseType(%q) = %v, %v; want %v", sql, pt, err, c.Type)
			}
			rows = append(rows, DescRow{Name: c.Name, Type: sql, Kind: "COLUMN", Null: "Y", Comment: c.Comment()})
		}
		_ = CreateTable(tb, DDLOptions{})
		existing := desc(t, rows...)
		p, err := PlanChanges(existing, tb, Evolution{Mode: Freeze}, PlanOptions{})
		if err != nil {
			t.Fatalf("planning table %s against itself: %v\n%s", tb.Name, err, CreateTable(tb, DDLOptions{}))
		}
		if len(p.Changes) != 0 {
			t.Fatalf("planning table %s against itself: %v", tb.Name, p.Changes)
		}
		plans[tb.Path] = p
		pc, err := PlanChanges(nil, tb, Evolution{}, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range existing {
			existing[i].Comment = ""
		}
		p2, err := PlanChanges(existing, tb, Evolution{Mode: Freeze}, PlanOptions{Mappings: pc.Mappings()})
		if err != nil || len(p2.Changes) != 0 {
			t.Fatalf("planning table %s against itself without comments: %v, %v", tb.Name, p2, err)
		}
	}
	return plans
}

// FuzzValueType checks that the type inferred for a value accepts it, and
// that types print and parse back.
func FuzzValueType(f *testing.F) {
	for _, s := range []string{"0", "-1.50", "1e400", "123456789012345678901234567890123456789", "0.000000000000000000000000000000000000001",
		"2024-02-29", "2024-01-02T03:04:05.123+05:30", "héllo", "true"} {
		f.Add(s, uint8(flatten.Number))
		f.Add(s, uint8(flatten.String))
	}
	f.Fuzz(func(t *testing.T, v string, k uint8) {
		kind := flatten.Kind(k%6 + 1)
		if kind == flatten.Number && (!json.Valid([]byte(v)) || v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return // not a number literal
		}
		for _, detect := range []bool{false, true} {
			typ := ValueType(kind, []byte(v), detect)
			if !typ.Accepts(kind, []byte(v), detect) {
				t.Fatalf("ValueType(%v, %q) = %v does not accept the value", kind, v, typ)
			}
			if typ.Kind != Unknown {
				back, err := ParseType(typ.String())
				if err != nil || back != typ {
					t.Fatalf("ParseType(%q) = %v, %v, want %v", typ.String(), back, err, typ)
				}
			}
		}
		_, _ = ParseType(v) // never panics
	})
}

// FuzzValidate checks that validating any flattened document never panics
// and reports well-formed violations.
func FuzzValidate(f *testing.F) {
	for _, tt := range contractTests {
		f.Add([]byte(tt.doc))
	}
	c := loadContract(f, "testdata/contract/orders.yaml")
	v, err := NewValidator(c)
	if err != nil {
		f.Fatal(err)
	}
	fl, _ := flatten.New(flatten.Options{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		fields, err := fl.Append(nil, doc)
		if err != nil {
			return
		}
		err = v.Validate(fields)
		var ve *ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("Validate = %v, not a *ValidationError", err)
		}
		if ve != nil {
			for _, x := range ve.Violations {
				if x.Rule == "" || len(x.Value) > MaxViolationValue+len("…") {
					t.Fatalf("bad violation %+v", x)
				}
			}
		}
	})
}
