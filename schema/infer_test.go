package schema

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// fl builds fields from path, kind, value triples.
func fl(args ...any) []flatten.Field {
	var fs []flatten.Field
	for i := 0; i+2 < len(args); i += 3 {
		fs = append(fs, flatten.Field{Path: []byte(args[i].(string)), Kind: args[i+1].(flatten.Kind), Value: []byte(args[i+2].(string))})
	}
	return fs
}

const (
	kNull = flatten.Null
	kBool = flatten.Bool
	kNum  = flatten.Number
	kStr  = flatten.String
	kObj  = flatten.Object
	kArr  = flatten.Array
)

func colSummary(t Table) string {
	s := ""
	for _, c := range t.Columns {
		n := ""
		if c.Nullable {
			n = "?"
		}
		if c.Subtree {
			n += "*"
		}
		s += fmt.Sprintf("%s=%s%s ", c.Name, c.Type, n)
	}
	return s
}

func TestInfer(t *testing.T) {
	tests := []struct {
		name    string
		opts    InferOptions
		records [][]flatten.Field
		want    string
	}{
		{"scalars", InferOptions{}, [][]flatten.Field{
			fl("id", kNum, "1", "name", kStr, "ab", "ok", kBool, "true"),
			fl("id", kNum, "12345", "name", kStr, "äbcd", "ok", kBool, "false"),
		}, "ID=NUMBER(5,0) NAME=VARCHAR(4) OK=BOOLEAN "},
		{"nullable", InferOptions{}, [][]flatten.Field{
			fl("a", kNum, "1", "b", kNull, "null"),
			fl("a", kNum, "2.5"),
			fl("a", kNull, "null", "c", kStr, "x"),
		}, "A=NUMBER(2,1)? B=VARIANT? C=VARCHAR(1)? "},
		{"number to float to varchar", InferOptions{}, [][]flatten.Field{
			fl("n", kNum, "1", "f", kNum, "1"),
			fl("n", kNum, "1e3", "f", kStr, "seven"),
			fl("n", kNum, "2", "f", kNum, "1234567"),
		}, "N=FLOAT F=VARCHAR(7) "},
		{"containers", InferOptions{}, [][]flatten.Field{
			fl("tags", kArr, `["a"]`, "meta", kObj, "{}", "mixed", kNum, "1"),
			fl("tags", kArr, `[]`, "meta", kArr, "[]", "mixed", kObj, `{"a":1}`),
		}, "TAGS=ARRAY META=VARIANT MIXED=VARIANT "},
		{"time on", InferOptions{DetectTime: true}, [][]flatten.Field{
			fl("d", kStr, "2024-01-01", "ts", kStr, "2024-01-01T00:00:00", "s", kStr, "2024-01-01"),
			fl("d", kStr, "2024-01-02", "ts", kStr, "2024-01-01T00:00:00+01:00", "s", kStr, "soon"),
		}, "D=DATE TS=TIMESTAMP_TZ S=VARCHAR(10) "},
		{"time off", InferOptions{}, [][]flatten.Field{
			fl("d", kStr, "2024-01-01"),
		}, "D=VARCHAR(10) "},
		{"collision", InferOptions{}, [][]flatten.Field{
			fl("a_b", kNum, "1", "a.b", kNum, "2"),
		}, "A_B_" + string(appendHashSuffix(nil, "a_b"))[1:] + "=NUMBER(1,0) A_B=NUMBER(1,0) "},
		{"wide object", InferOptions{MaxObjectKeys: 3}, [][]flatten.Field{
			fl("id", kNum, "1", "events.1.name", kStr, "x", "events.2.name", kStr, "y"),
			fl("id", kNum, "2", "events.3.name", kStr, "x", "events.4.name", kStr, "y", "events.4.when", kNum, "5"),
			fl("id", kNum, "3", "events.9.name", kStr, "x"),
		}, "ID=NUMBER(1,0) EVENTS=VARIANT?* "},
		{"column limit", InferOptions{MaxColumns: 4}, [][]flatten.Field{
			fl("id", kNum, "1", "big.1.x", kNum, "1", "big.1.y", kNum, "1", "big.2.x", kNum, "1", "small.a", kNum, "1", "small.b", kNum, "1"),
		}, "ID=NUMBER(1,0) SMALL_A=NUMBER(1,0) BIG=VARIANT?* SMALL_B=NUMBER(1,0) "},
		{"wide object below a column", InferOptions{MaxObjectKeys: 2}, [][]flatten.Field{
			fl("a.k", kStr, "x", "a.m.1", kNum, "1", "a.m.2", kNum, "1", "a.m.3", kNum, "1"),
		}, "A_K=VARCHAR(1) A_M=VARIANT?* "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := NewInferrer(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.records {
				in.Observe(r)
			}
			ts, err := in.Tables("T")
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 {
				t.Fatalf("Tables() = %d tables, want 1", len(ts))
			}
			if got := colSummary(ts[0]); got != tt.want {
				t.Errorf("columns = %q, want %q", got, tt.want)
			}
			if ts[0].Records != int64(len(tt.records)) {
				t.Errorf("Records = %d, want %d", ts[0].Records, len(tt.records))
			}
		})
	}
}

func TestInferRows(t *testing.T) {
	in, _ := NewInferrer(InferOptions{})
	in.ObserveRows([]flatten.Row{
		{ID: 1, Index: -1, Fields: fl("id", kNum, "1")},
		{Table: []byte("items"), ID: 2, ParentID: 1, Index: 0, Fields: fl("sku", kStr, "A1", "qty", kNum, "2")},
		{Table: []byte("items"), ID: 3, ParentID: 1, Index: 1, Fields: fl("sku", kStr, "B22")},
		{Table: []byte("items.tags"), ID: 4, ParentID: 2, Index: 0, Fields: fl("value", kStr, "x")},
	})
	ts, err := in.Tables("orders")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, cols string }{
		{"orders", "_ID=NUMBER(20,0) ID=NUMBER(1,0) "},
		{"orders__ITEMS", "_ID=NUMBER(20,0) _PARENT_ID=NUMBER(20,0) _INDEX=NUMBER(10,0) SKU=VARCHAR(3) QTY=NUMBER(1,0)? "},
		{"orders__ITEMS_TAGS", "_ID=NUMBER(20,0) _PARENT_ID=NUMBER(20,0) _INDEX=NUMBER(10,0) VALUE=VARCHAR(1) "},
	}
	if len(ts) != len(want) {
		t.Fatalf("Tables() = %d tables, want %d", len(ts), len(want))
	}
	for i, w := range want {
		if ts[i].Name != w.name || colSummary(ts[i]) != w.cols {
			t.Errorf("table %d = %s %q, want %s %q", i, ts[i].Name, colSummary(ts[i]), w.name, w.cols)
		}
	}
}

func TestInferWideOrderIndependent(t *testing.T) {
	// The object becomes wide at its 4th key whichever record brings it.
	in, _ := NewInferrer(InferOptions{MaxObjectKeys: 3})
	for i := range 10 {
		in.Observe(fl("m."+strconv.Itoa(i), kNum, "1"))
	}
	ts, _ := in.Tables("T")
	if got := colSummary(ts[0]); got != "M=VARIANT?* " {
		t.Errorf("columns = %q, want one subtree column M", got)
	}
}

func TestInferAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts differ under -race and coverage")
	}
	in, _ := NewInferrer(InferOptions{DetectTime: true, MaxObjectKeys: 4})
	recs := [][]flatten.Field{
		fl("id", kNum, "123", "name", kStr, "héllo", "ok", kBool, "true", "price", kNum, "1.25",
			"when", kStr, "2024-01-01T00:00:00Z", "tags", kArr, `["a"]`, "none", kNull, "null",
			"m.1", kNum, "1", "m.2", kNum, "1", "m.3", kNum, "1", "m.4", kNum, "1", "m.5", kNum, "1"),
		fl("id", kNum, "9", "m.77", kNum, "1", "price", kNum, "1e3", "name", kStr, "a long non-ASCII string: Zoë Ångström, 東京, ünïcödé"),
	}
	for _, r := range recs {
		in.Observe(r)
	}
	for _, r := range recs {
		r := r
		if a := testing.AllocsPerRun(100, func() { in.Observe(r) }); a != 0 {
			t.Errorf("Observe(%d fields) allocates %v times per record, want 0", len(r), a)
		}
	}
	rows := []flatten.Row{
		{ID: 1, Index: -1, Fields: recs[0]},
		{Table: []byte("items"), ID: 2, ParentID: 1, Fields: fl("sku", kStr, "A1", "qty", kNum, "2")},
	}
	in.ObserveRows(rows)
	if a := testing.AllocsPerRun(100, func() { in.ObserveRows(rows) }); a != 0 {
		t.Errorf("ObserveRows allocates %v times per document, want 0", a)
	}
}

func BenchmarkObserve(b *testing.B) {
	rec := fl("id", kNum, "123", "name", kStr, "héllo", "ok", kBool, "true", "price", kNum, "1.25",
		"when", kStr, "2024-01-01T00:00:00Z", "tags", kArr, `["a"]`, "none", kNull, "null", "a.b.c", kStr, "deep")
	size := 0
	for _, f := range rec {
		size += len(f.Path) + len(f.Value)
	}
	in, _ := NewInferrer(InferOptions{DetectTime: true})
	in.Observe(rec)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		in.Observe(rec)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkInfer measures flattening plus observing corpus records against
// flattening alone, so the difference is the inference cost.
func BenchmarkInfer(b *testing.B) {
	for _, name := range []string{"github_events.ndjson", "twitter_statuses.ndjson"} {
		for _, impl := range []string{"flatten", "flatten+observe"} {
			b.Run(name+"/"+impl, func(b *testing.B) {
				docs := corpusDocs(b, name)
				size := 0
				for _, d := range docs {
					size += len(d)
				}
				f, _ := flatten.New(flatten.Options{})
				in, _ := NewInferrer(InferOptions{DetectTime: true})
				var fields []flatten.Field
				for _, d := range docs { // warm-up: every column exists
					fields, _ = f.Append(fields[:0], d)
					in.Observe(fields)
				}
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					for _, d := range docs {
						fields, _ = f.Append(fields[:0], d)
						if impl != "flatten" {
							in.Observe(fields)
						}
					}
				}
				b.ReportMetric(float64(b.N*len(docs))/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

func TestInferMerge(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts InferOptions
		recs [][]flatten.Field
	}{
		{"scalars", InferOptions{}, [][]flatten.Field{
			fl("id", kNum, "1", "name", kStr, "ab"),
			fl("id", kNum, "1.25", "x", kBool, "true"),
			fl("id", kStr, "seven", "name", kNull, "null"),
			fl("name", kStr, "abcdef", "y", kArr, "[]"),
		}},
		{"wide", InferOptions{MaxObjectKeys: 2}, [][]flatten.Field{
			fl("id", kNum, "1", "m.a", kNum, "1"),
			fl("id", kNum, "2", "m.b", kNum, "1"),
			fl("id", kNum, "3", "m.c", kNum, "1", "m.d", kNum, "1"),
			fl("id", kNum, "4", "m.a", kNum, "1"),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			one, _ := NewInferrer(tt.opts)
			a, _ := NewInferrer(tt.opts)
			b, _ := NewInferrer(tt.opts)
			for i, r := range tt.recs {
				one.Observe(r)
				if i < 2 {
					a.Observe(r)
				} else {
					b.Observe(r)
				}
			}
			if err := a.Merge(b); err != nil {
				t.Fatal(err)
			}
			want, _ := one.Tables("T")
			got, _ := a.Tables("T")
			if g, w := colSummary(got[0]), colSummary(want[0]); g != w || got[0].Records != want[0].Records {
				t.Errorf("merged = %q (%d records), want %q (%d records)", g, got[0].Records, w, want[0].Records)
			}
		})
	}
	a, _ := NewInferrer(InferOptions{})
	b, _ := NewInferrer(InferOptions{Separator: "/"})
	if err := a.Merge(b); !errors.Is(err, ErrOptions) {
		t.Errorf("Merge(different separator) = %v, want ErrOptions", err)
	}
}

func TestSizing(t *testing.T) {
	recs := [][]flatten.Field{fl("s", kStr, "abcdefghijklmnopq", "n", kNum, "12.5", "b", kNum, "12345678901")}
	tests := []struct {
		z    Sizing
		want string
	}{
		{SizeExact, "S=VARCHAR(17) N=NUMBER(3,1) B=NUMBER(11,0) "},
		{SizeRounded, "S=VARCHAR(32) N=NUMBER(9,1) B=NUMBER(18,0) "},
		{SizeMax, "S=VARCHAR(16777216) N=NUMBER(38,1) B=NUMBER(38,0) "},
	}
	for _, tt := range tests {
		in, err := NewInferrer(InferOptions{Sizing: tt.z})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			in.Observe(r)
		}
		ts, _ := in.Tables("T")
		if got := colSummary(ts[0]); got != tt.want {
			t.Errorf("Sizing %v: columns = %q, want %q", tt.z, got, tt.want)
		}
	}
	if _, err := NewInferrer(InferOptions{Sizing: 9}); !errors.Is(err, ErrOptions) {
		t.Errorf("NewInferrer(Sizing 9) = %v, want ErrOptions", err)
	}
}

func TestTableColumn(t *testing.T) {
	tb := infer(t, "T", fl("a.b", kNum, "1"))
	if c, ok := tb.Column("a.b"); !ok || c.Name != "A_B" {
		t.Errorf("Column(a.b) = %v, %v", c, ok)
	}
	if _, ok := tb.Column("zz"); ok {
		t.Error("Column(zz) found")
	}
}
