package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

// TestPlanModesGiveSameReasonsOnEveryPath runs each of the four kinds of
// change a batch can need (a new column, a widening in place, a widening of
// a fallback column, a new fallback column) under each mode, and checks
// that the mode is applied the same way on every path: Evolve makes the
// change; Freeze lists exactly that change in the *FrozenError; DiscardRow
// and DiscardValue reject the path with the change's Reason and the batch's
// type, and Filter discards the offending value (or row) saying so.
func TestPlanModesGiveSameReasonsOnEveryPath(t *testing.T) {
	existing := desc(t,
		DescRow{Name: "ID", Type: "NUMBER(3,0)", Comment: "id"},
		DescRow{Name: "ID__V_VARCHAR", Type: "VARCHAR(3)", Comment: "id"},
		DescRow{Name: "NAME", Type: "VARCHAR(5)", Comment: "name"},
		DescRow{Name: "OK", Type: "BOOLEAN", Comment: "ok"},
	)
	cases := []struct {
		name string
		rec  []flatten.Field
		path string
		kind ChangeKind
	}{
		{"new column", fl("extra", kNum, "1"), "extra", ChangeAdd},
		{"widen in place", fl("name", kStr, "a long name"), "name", ChangeWiden},
		{"widen a fallback", fl("id", kStr, "abcdef"), "id", ChangeWiden},
		{"new fallback", fl("ok", kNum, "12"), "ok", ChangeAdd},
	}
	for _, tc := range cases {
		batch := infer(t, "T", tc.rec)
		evolved, err := PlanChanges(existing, batch, Evolution{}, PlanOptions{})
		if err != nil {
			t.Fatalf("%s: Evolve: %v", tc.name, err)
		}
		if len(evolved.Changes) != 1 || evolved.Changes[0].Kind != tc.kind || evolved.Changes[0].Reason == "" {
			t.Fatalf("%s: Evolve planned %v, want one change of kind %d with a reason", tc.name, evolved.Changes, tc.kind)
		}
		want := evolved.Changes[0]
		for _, m := range []Mode{Freeze, DiscardRow, DiscardValue} {
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) {
				p, err := PlanChanges(existing, batch, Evolution{Columns: map[string]Mode{tc.path: m}}, PlanOptions{})
				if m == Freeze {
					var fe *FrozenError
					if !errors.As(err, &fe) || len(fe.Changes) != 1 || fmt.Sprint(fe.Changes[0]) != fmt.Sprint(want) || fe.Changes[0].Reason != want.Reason {
						t.Fatalf("PlanChanges = %v, want a *FrozenError with %v", err, want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Changes) != 0 || len(p.Rejected) != 1 {
					t.Fatalf("Changes %v, Rejected %v; want no change and one rejection", p.Changes, p.Rejected)
				}
				r := p.Rejected[0]
				if r.Path != tc.path || r.Mode != m || r.Reason != want.Reason || r.Type != batch.Columns[0].Type {
					t.Errorf("Rejected = %+v, want path %q, mode %v, reason %q, type %v", r, tc.path, m, want.Reason, batch.Columns[0].Type)
				}
				kept, discards, dropRow := p.Filter(nil, tc.rec)
				if len(kept) != 0 || len(discards) != 1 || dropRow != (m == DiscardRow) {
					t.Fatalf("Filter = %v, %v, %v; want one discard, dropRow %v", kept, discards, dropRow, m == DiscardRow)
				}
				if d := discards[0]; d.Path != tc.path || !strings.Contains(d.Reason, m.String()) || !strings.Contains(d.Reason, want.Reason) {
					t.Errorf("discard %+v, want path %q and a reason naming %v and %q", d, tc.path, m, want.Reason)
				}
			})
		}
	}
}
