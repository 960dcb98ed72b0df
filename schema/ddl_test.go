package schema

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// inferDocs flattens every document of docs and infers the tables called
// name.
func inferDocs(tb testing.TB, docs [][]byte, fo flatten.Options, so InferOptions, name string) []Table {
	tb.Helper()
	f, err := flatten.New(fo)
	if err != nil {
		tb.Fatal(err)
	}
	so.Separator = fo.Separator
	in, err := NewInferrer(so)
	if err != nil {
		tb.Fatal(err)
	}
	var fields []flatten.Field
	var rows []flatten.Row
	for i, d := range docs {
		if fo.Arrays == flatten.ArraysTables {
			rows, err = f.AppendRows(rows[:0], d)
			in.ObserveRows(rows)
		} else {
			fields, err = f.Append(fields[:0], d)
			in.Observe(fields)
		}
		if err != nil {
			tb.Fatalf("document %d: %v", i, err)
		}
	}
	ts, err := in.Tables(name)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

func readLines(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var docs [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			docs = append(docs, bytes.Clone(sc.Bytes()))
		}
	}
	return docs
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func tablesSQL(ts []Table, o DDLOptions) []byte {
	var out []byte
	for _, t := range ts {
		out = AppendCreateTable(out, t, o)
		for _, c := range t.Collisions {
			out = append(out, "-- "+c.String()+"\n"...)
		}
	}
	return out
}

func TestCreateTableGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/ddl/*.ndjson")
	if len(files) == 0 {
		t.Fatal("no testdata/ddl/*.ndjson")
	}
	for _, file := range files {
		base := strings.TrimSuffix(filepath.Base(file), ".ndjson")
		t.Run(base, func(t *testing.T) {
			fo := flatten.Options{}
			if strings.HasSuffix(base, ".tables") {
				fo.Arrays = flatten.ArraysTables
			}
			ts := inferDocs(t, readLines(t, file), fo, InferOptions{DetectTime: true}, strings.ToUpper(strings.Split(base, ".")[0]))
			checkGolden(t, strings.TrimSuffix(file, ".ndjson")+".sql", tablesSQL(ts, DDLOptions{IfNotExists: true}))
		})
	}
}

// TestCreateTableCorpus infers the benchmark corpus (a separate module,
// skipped when absent) and compares the DDL with golden files.
func TestCreateTableCorpus(t *testing.T) {
	tests := []struct {
		file string
		fo   flatten.Options
		so   InferOptions
	}{
		{"github_events.ndjson", flatten.Options{}, InferOptions{DetectTime: true}},
		{"twitter_statuses.ndjson", flatten.Options{Separator: "__"}, InferOptions{}},
		{"citm_catalog.json", flatten.Options{}, InferOptions{}},
		{"github_events.ndjson", flatten.Options{Arrays: flatten.ArraysTables, MaxDepth: 3}, InferOptions{}},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(strings.TrimSuffix(tt.file, ".ndjson"), ".json")
		golden := filepath.Join("testdata", "ddl", "corpus_"+name+"_"+tt.fo.Arrays.String()+".sql")
		t.Run(filepath.Base(golden), func(t *testing.T) {
			path := filepath.Join("..", "testdata", "corpus", tt.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("corpus absent: %v", err)
			}
			docs := readLines(t, path)
			if strings.HasSuffix(tt.file, ".json") {
				data, _ := os.ReadFile(path)
				docs = [][]byte{data}
			}
			ts := inferDocs(t, docs, tt.fo, tt.so, strings.ToUpper(name))
			checkGolden(t, golden, tablesSQL(ts, DDLOptions{}))
		})
	}
}

func TestCreateTableOptions(t *testing.T) {
	tb := Table{Name: `we"ird`, Columns: []Column{
		{Name: IDColumn, Type: num(20, 0), System: true},
		{Name: "A", Path: "a", Type: vc(3)},
		{Name: "B", Path: "it's", Type: kt(Float), Nullable: true},
	}}
	got := CreateTable(tb, DDLOptions{NotNull: true, Qualifier: []string{"DB", "PUBLIC"}})
	want := `CREATE TABLE "DB"."PUBLIC"."we""ird" (
  "_ID" NUMBER(20,0) NOT NULL,
  "A" VARCHAR(3) NOT NULL COMMENT 'a',
  "B" FLOAT COMMENT 'it''s'
);
`
	if got != want {
		t.Errorf("CreateTable() =\n%s\nwant\n%s", got, want)
	}
	got = CreateTable(tb, DDLOptions{NoComments: true, IfNotExists: true})
	if strings.Contains(got, "COMMENT") || strings.Contains(got, "NOT NULL COMMENT") || !strings.HasPrefix(got, `CREATE TABLE IF NOT EXISTS "we""ird"`) {
		t.Errorf("CreateTable(NoComments, IfNotExists) =\n%s", got)
	}
}

// TestEvolveCorpusGolden creates a table from the first half of a corpus
// file, reads it back as DESC TABLE rows and plans the second half against
// it; the ALTER statements are compared with a golden file.
func TestEvolveCorpusGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sizing Sizing
	}{
		{"github_events.ndjson", SizeExact},
		{"github_events.ndjson", SizeRounded},
		{"twitter_statuses.ndjson", SizeExact},
		{"twitter_statuses.ndjson", SizeRounded},
	} {
		name := tc.name
		golden := filepath.Join("testdata", "ddl", "evolve_"+strings.TrimSuffix(name, ".ndjson")+"_"+tc.sizing.String()+".sql")
		t.Run(filepath.Base(golden), func(t *testing.T) {
			path := filepath.Join("..", "testdata", "corpus", name)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("corpus absent: %v", err)
			}
			docs := readLines(t, path)
			half := len(docs) / 2
			t1 := inferDocs(t, docs[:half], flatten.Options{}, InferOptions{DetectTime: true, Sizing: tc.sizing}, "T")[0]
			p1, err := PlanChanges(nil, t1, Evolution{}, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []DescRow
			for _, c := range p1.Columns {
				rows = append(rows, DescRow{Name: c.Name, Type: c.Type.String(), Kind: "COLUMN", Null: "Y", Comment: c.Comment()})
			}
			existing := make([]ExistingColumn, 0, len(rows))
			for _, r := range rows {
				c, _, err := r.Column()
				if err != nil {
					t.Fatal(err)
				}
				existing = append(existing, c)
			}
			t2 := inferDocs(t, docs[half:], flatten.Options{}, InferOptions{DetectTime: true, Sizing: tc.sizing}, "T")[0]
			p2, err := PlanChanges(existing, t2, Evolution{}, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := p2.AppendSQL(nil, DDLOptions{IfNotExists: true})
			checkGolden(t, golden, out)
			// Every record of the second half routes to a column.
			f, _ := flatten.New(flatten.Options{})
			for _, d := range docs[half:] {
				fields, err := f.Append(nil, d)
				if err != nil {
					t.Fatal(err)
				}
				if _, discards, _ := p2.Filter(nil, fields); len(discards) > 0 {
					t.Fatalf("Filter discards %+v", discards)
				}
			}
		})
	}
}
