package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var normalizeTests = []struct {
	path string
	o    NameOptions
	want string
}{
	{"meta.k", NameOptions{}, "META_K"},
	{"a_b", NameOptions{}, "A_B"},
	{"user/name", NameOptions{Separator: "/"}, "USER_NAME"},
	{"a__b", NameOptions{Separator: "__"}, "A_B"},
	{"0day", NameOptions{}, "_0DAY"},
	{"$ref", NameOptions{}, "_$REF"},
	{"a$b", NameOptions{}, "A$B"},
	{"", NameOptions{}, "_"},
	{"héllo wörld", NameOptions{}, "H_LLO_W_RLD"},
	{`a"b`, NameOptions{}, "A_B"},
	{"Mixed.Case", NameOptions{Case: Preserve}, "Mixed_Case"},
	{"x; DROP TABLE t", NameOptions{}, "X__DROP_TABLE_T"},
	{strings.Repeat("a", 300), NameOptions{}, strings.Repeat("A", 246) + "_" + "hash"},
	{strings.Repeat("b", 20), NameOptions{MaxLength: 16}, strings.Repeat("B", 7) + "_" + "hash"},
}

func TestNormalize(t *testing.T) {
	for _, tt := range normalizeTests {
		t.Run(tt.path, func(t *testing.T) {
			got := string(Normalize(nil, tt.path, tt.o))
			want := tt.want
			if strings.HasSuffix(want, "_hash") {
				want = strings.TrimSuffix(want, "_hash") + string(appendHashSuffix(nil, tt.path))
				max := tt.o.MaxLength
				if max == 0 {
					max = MaxIdentLength
				}
				if len(got) != max {
					t.Errorf("len(Normalize(%q)) = %d, want %d", tt.path, len(got), max)
				}
			}
			if got != want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.path, got, want)
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A_B", `"A_B"`},
		{`a"b`, `"a""b"`},
		{`"`, `""""`},
		{"", `""`},
		{"x\x00y", "\"x\uFFFDy\""},
		{"\xff", "\"\uFFFD\""},
		{"ümlaut", `"ümlaut"`},
	}
	for _, tt := range tests {
		if got := string(QuoteIdent(nil, tt.in)); got != tt.want {
			t.Errorf("QuoteIdent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuoteString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.b", `'a.b'`},
		{"it's", `'it''s'`},
		{`back\slash`, `'back\\slash'`},
		{"nl\n", `'nl\x0A'`},
		{"\xff", "'\uFFFD'"},
	}
	for _, tt := range tests {
		if got := string(QuoteString(nil, tt.in)); got != tt.want {
			t.Errorf("QuoteString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// unquoteIdent reads one quoted identifier token: it fails if s is not
// exactly one.
func unquoteIdent(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		if in[i] == '"' {
			if i+1 >= len(in) || in[i+1] != '"' {
				return "", false // the identifier would end early: injection
			}
			i++
		}
		b.WriteByte(in[i])
	}
	return b.String(), true
}

func unquoteString(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		switch in[i] {
		case '\'':
			if i+1 >= len(in) || in[i+1] != '\'' {
				return "", false
			}
			i++
		case '\\':
			if i+1 >= len(in) {
				return "", false
			}
			i++
			if in[i] == 'x' {
				if i+3 > len(in) {
					return "", false
				}
				var c byte
				for _, h := range []byte(in[i+1 : i+3]) {
					c = c<<4 | byte(strings.IndexByte("0123456789ABCDEF", h))
				}
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(in[i])
	}
	return b.String(), true
}

func FuzzQuote(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(tt.path)
	}
	f.Add(`"; DROP TABLE x; --`)
	f.Add(`a""b`)
	f.Add(`'\'`)
	f.Fuzz(func(t *testing.T, s string) {
		q := string(QuoteIdent(nil, s))
		got, ok := unquoteIdent(q)
		if !ok {
			t.Fatalf("QuoteIdent(%q) = %q is not one identifier", s, q)
		}
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && got != s {
			t.Fatalf("QuoteIdent(%q) = %q reads back as %q", s, q, got)
		}
		l := string(QuoteString(nil, s))
		gotS, ok := unquoteString(l)
		if !ok {
			t.Fatalf("QuoteString(%q) = %q is not one literal", s, l)
		}
		if utf8.ValidString(s) && gotS != s {
			t.Fatalf("QuoteString(%q) = %q reads back as %q", s, l, gotS)
		}
		n := string(Normalize(nil, s, NameOptions{}))
		if len(n) == 0 || len(n) > MaxIdentLength || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") != "" {
			t.Fatalf("Normalize(%q) = %q, not a plain identifier", s, n)
		}
		if n[0] >= '0' && n[0] <= '9' || n[0] == '$' {
			t.Fatalf("Normalize(%q) = %q starts with %q", s, n, n[0])
		}
	})
}

func TestNamerCollisions(t *testing.T) {
	orders := [][]string{{"a.b", "a_b", "A.B"}, {"A.B", "a_b", "a.b"}, {"a_b", "a.b", "A.B"}}
	var first []Mapping
	for _, paths := range orders {
		n, err := NewNamer(NameOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.NameAll(paths)
		ms := n.Mappings()
		if first == nil {
			first = ms
		}
		if got, want := mustJSON(t, ms), mustJSON(t, first); got != want {
			t.Errorf("NameAll(%q) = %s, want %s (order independent)", paths, got, want)
		}
		if got := n.Name("A.B"); got != "A_B" {
			t.Errorf("Name(%q) = %q, want A_B (smallest path keeps the plain name)", "A.B", got)
		}
		if got := len(n.Collisions()); got != 2 {
			t.Errorf("len(Collisions()) = %d, want 2", got)
		}
	}
	// A loaded mapping wins over order.
	n, _ := NewNamer(NameOptions{})
	if err := n.Load([]Mapping{{Path: "a_b", Name: "A_B"}}); err != nil {
		t.Fatal(err)
	}
	n.NameAll([]string{"a.b", "a_b"})
	if got := n.Name("a_b"); got != "A_B" {
		t.Errorf("after Load, Name(a_b) = %q, want A_B", got)
	}
	if got := n.Name("a.b"); got == "A_B" || !strings.HasPrefix(got, "A_B_") {
		t.Errorf("after Load, Name(a.b) = %q, want A_B_<hash>", got)
	}
	// Reserved names are never given out.
	r, _ := NewNamer(NameOptions{}, "_ID")
	if got := r.Name("_id"); got == "_ID" {
		t.Errorf("Name(_id) = %q with _ID reserved", got)
	}
}

func TestNamerLoadErrors(t *testing.T) {
	tests := [][]Mapping{
		{{Path: "a", Name: "A"}, {Path: "b", Name: "A"}},
		{{Path: "a", Name: "A"}, {Path: "a", Name: "B"}},
		{{Path: "a", Name: ""}},
	}
	for _, ms := range tests {
		n, _ := NewNamer(NameOptions{})
		if err := n.Load(ms); !errors.Is(err, ErrMapping) {
			t.Errorf("Load(%v) = %v, want ErrMapping", ms, err)
		}
		if len(n.Mappings()) != 0 {
			t.Errorf("Load(%v) changed the namer on error", ms)
		}
	}
	if _, err := NewNamer(NameOptions{MaxLength: 300}); !errors.Is(err, ErrOptions) {
		t.Errorf("NewNamer(MaxLength 300) = %v, want ErrOptions", err)
	}
}

func TestMappingRoundTrip(t *testing.T) {
	n, _ := NewNamer(NameOptions{})
	n.NameAll([]string{"x.y", "x_y", "z"})
	data, err := json.Marshal(n.Mappings())
	if err != nil {
		t.Fatal(err)
	}
	var ms []Mapping
	if err := json.Unmarshal(data, &ms); err != nil {
		t.Fatal(err)
	}
	m, _ := NewNamer(NameOptions{})
	if err := m.Load(ms); err != nil {
		t.Fatal(err)
	}
	m.NameAll([]string{"x_y", "new"}) // a process seeing paths in another batch
	for _, p := range []string{"x.y", "x_y", "z"} {
		if got, want := m.Name(p), n.Name(p); got != want {
			t.Errorf("after reload Name(%q) = %q, want %q", p, got, want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
