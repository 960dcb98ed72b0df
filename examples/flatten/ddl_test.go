package main

import (
	"strings"
	"testing"
)

func TestDDL(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		args   []string
		tables []string // table names in order
		has    []string // lines the output must contain
		hasnt  []string
		stderr string
	}{
		{"all records", "", []string{"-ddl", "EVENTS", "testdata/events.ndjson"},
			[]string{"EVENTS"}, []string{`"USER_ID" NUMBER(18,0) COMMENT 'user.id'`, `"TS" TIMESTAMP_TZ COMMENT 'ts'`, `"GEO_LAT" NUMBER(6,4)`}, nil, "from 4 record(s)"},
		{"sample", "", []string{"-ddl", "EVENTS", "-sample", "1", "testdata/events.ndjson"},
			[]string{"EVENTS"}, []string{`"USER_ID" NUMBER(18,0)`}, []string{`"GEO_LAT"`, `"PAGE_URL"`}, "from 1 record(s)"},
		{"tables", "", []string{"-ddl", "EVENTS", "-arrays", "tables", "testdata/events.ndjson"},
			[]string{"EVENTS", "EVENTS__ITEMS", "EVENTS__ITEMS_NOTES", "EVENTS__TAGS"}, []string{`"_PARENT_ID" NUMBER(20,0) NOT NULL`, `"_INDEX" NUMBER(10,0) NOT NULL`}, nil, ""},
		{"sizing", "", []string{"-ddl", "EVENTS", "-sizing", "rounded", "testdata/events.ndjson"},
			[]string{"EVENTS"}, []string{`"USER_ID" NUMBER(18,0)`, `"EVENT_ID" VARCHAR(16)`}, nil, ""},
		{"collision and quoting", "{\"a_b\":1,\"a\":{\"b\":\"x\"},\"x\\\"y\":true}\n", []string{"-ddl", `my"table`},
			[]string{`my""table`}, []string{`"A_B" VARCHAR(1) COMMENT 'a.b'`, `"X_Y" BOOLEAN COMMENT 'x"y'`}, nil, `both normalize to A_B`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runCLI(t, tt.in, tt.args...)
			if code != 0 {
				t.Fatalf("flatten %v: exit %d, stderr %q", tt.args, code, errs)
			}
			stmts := strings.SplitAfter(out, ";\n")
			if stmts[len(stmts)-1] != "" {
				t.Errorf("output does not end with \";\\n\": %q", out)
			}
			stmts = stmts[:len(stmts)-1]
			if len(stmts) != len(tt.tables) {
				t.Fatalf("flatten %v printed %d statements, want %d:\n%s", tt.args, len(stmts), len(tt.tables), out)
			}
			for i, name := range tt.tables {
				if want := `CREATE TABLE "` + name + `" (`; !strings.HasPrefix(stmts[i], want) {
					t.Errorf("statement %d = %q, want prefix %q", i, stmts[i][:min(len(stmts[i]), 60)], want)
				}
			}
			for _, h := range tt.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tt.hasnt {
				if strings.Contains(out, h) {
					t.Errorf("output has %q:\n%s", h, out)
				}
			}
			if !strings.Contains(errs, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", errs, tt.stderr)
			}
		})
	}
}

func TestDDLBadInput(t *testing.T) {
	out, errs, code := runCLI(t, "{\"a\":1}\n{bad\n", "-ddl", "T")
	if code != 1 || !strings.Contains(out, `"A" NUMBER(1,0)`) || !strings.Contains(errs, "record 2") {
		t.Errorf("flatten -ddl on a bad record = %q, %q, %d; want the table from good records, the error on stderr, exit 1", out, errs, code)
	}
	if _, _, code := runCLI(t, "", "-ddl", "T", "-sample", "-1"); code != 2 {
		t.Errorf("flatten -sample -1: exit %d, want 2", code)
	}
	if _, _, code := runCLI(t, "", "-ddl", "T", "-sizing", "huge"); code != 2 {
		t.Errorf("flatten -sizing huge: exit %d, want 2", code)
	}
}
