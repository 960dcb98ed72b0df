package flatten_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flatpipe/flatpipe/flatten"
)

func mustNew(t testing.TB, opts flatten.Options) *flatten.Flattener {
	t.Helper()
	f, err := flatten.New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return f
}

// show renders fields as "path=value(kind)" joined by spaces.
func show(fields []flatten.Field) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s(%v)", f.Path, f.Value, f.Kind)
	}
	return b.String()
}

var (
	index = flatten.Options{Arrays: flatten.ArraysIndex}
	dflt  = flatten.Options{}
)

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		opts flatten.Options
		in   string
		want string
	}{
		{"nested object", dflt, `{"a":{"b":1,"c":"x"}}`, `a.b=1(number) a.c=x(string)`},
		{"document order kept", dflt, `{"z":1,"a":2,"m":3}`, `z=1(number) a=2(number) m=3(number)`},
		{"root empty object", dflt, `{}`, ``},
		{"root empty object with space", dflt, " { \n } ", ``},
		{"root scalar", dflt, `42`, `=42(number)`},
		{"root string", dflt, `"hi"`, `=hi(string)`},
		{"root null", dflt, `null`, `=null(null)`},
		{"root array json mode", dflt, `[1, 2 ,{"a" : 3}]`, `=[1,2,{"a":3}](array)`},
		{"root array index mode", index, `[1,{"a":2}]`, `0=1(number) 1.a=2(number)`},
		{"root empty array index mode", index, `[ ]`, `=[](array)`},
		{"root empty array json mode", dflt, `[]`, `=[](array)`},
		{"empty key at root", dflt, `{"":1}`, `=1(number)`},
		{"empty key nested under empty key", dflt, `{"":{"":1}}`, `.=1(number)`},
		{"empty key below named key", dflt, `{"a":{"":{"b":1}}}`, `a..b=1(number)`},
		{"empty containers kept", dflt, `{"a":{},"b":[],"c":{"d":{ }}}`, `a={}(object) b=[](array) c.d={}(object)`},
		{"empty containers kept index", index, `{"a":[[],{}]}`, `a.0=[](array) a.1={}(object)`},
		{"null is a field", dflt, `{"a":null}`, `a=null(null)`},
		{"bools", dflt, `{"t":true,"f":false}`, `t=true(bool) f=false(bool)`},
		{"numbers verbatim", dflt, `{"a":12345678901234567890123,"b":1E400,"c":-0.000,"d":1.10,"e":-1e-7}`,
			`a=12345678901234567890123(number) b=1E400(number) c=-0.000(number) d=1.10(number) e=-1e-7(number)`},
		{"escapes unescaped", dflt, `{"k\"ey":"a\\b\/c\n\u00e9\ud83d\ude00"}`, "k\"ey=a\\b/c\né😀(string)"},
		{"lone surrogate becomes U+FFFD", dflt, `{"a":"\ud800x"}`, "a=\uFFFDx(string)"},
		{"kept array compact", dflt, "{\"a\":[ 1 ,\n\t\"x y\" , { \"b\" : [ ] } ]}", `a=[1,"x y",{"b":[]}](array)`},
		{"kept array keeps escapes as written", dflt, `{"a":["\u0041 \n"]}`, `a=["\u0041 \n"](array)`},
		{"index mode paths", index, `{"a":[{"b":1},{"b":[2,3]}]}`, `a.0.b=1(number) a.1.b.0=2(number) a.1.b.1=3(number)`},
		{"separator", flatten.Options{Separator: "__"}, `{"a":{"b":1}}`, `a__b=1(number)`},
		{"max depth keeps object whole", flatten.Options{MaxDepth: 1}, `{"a":{"b": {"c":1}},"d":2}`, `a={"b":{"c":1}}(object) d=2(number)`},
		{"max depth 2", flatten.Options{MaxDepth: 2}, `{"a":{"b":{"c":1},"x":1}}`, `a.b={"c":1}(object) a.x=1(number)`},
		{"max depth counts indices", flatten.Options{MaxDepth: 2, Arrays: flatten.ArraysIndex}, `{"a":[[1],2]}`, `a.0=[1](array) a.1=2(number)`},
		{"max depth root array index", flatten.Options{MaxDepth: 1, Arrays: flatten.ArraysIndex}, `[[1],{"a":1},3]`, `0=[1](array) 1={"a":1}(object) 2=3(number)`},
		{"collision first", flatten.Options{OnCollision: flatten.CollisionFirst}, `{"a":1,"b":2,"a":3}`, `a=1(number) b=2(number)`},
		{"collision last", flatten.Options{OnCollision: flatten.CollisionLast}, `{"a":1,"b":2,"a":3}`, `a=3(number) b=2(number)`},
		{"collision dotted key first", flatten.Options{OnCollision: flatten.CollisionFirst}, `{"a":{"b":1},"a.b":2}`, `a.b=1(number)`},
		{"collision dotted key last", flatten.Options{OnCollision: flatten.CollisionLast}, `{"a.b":1,"a":{"b":"x"}}`, `a.b=x(string)`},
		{"dotted key without collision", dflt, `{"a.b":1,"a":{"c":2}}`, `a.b=1(number) a.c=2(number)`},
		{"duplicate key with distinct subpaths is no collision", dflt, `{"a":{"b":1},"a":{"c":2}}`, `a.b=1(number) a.c=2(number)`},
		{"same key in different objects", dflt, `{"a":{"k":1},"b":{"k":1}}`, `a.k=1(number) b.k=1(number)`},
		{"include", flatten.Options{Include: []string{"a.b", "c"}}, `{"a":{"b":{"x":1},"bb":2},"c":3,"d":4}`, `a.b.x=1(number) c=3(number)`},
		{"include prefix only does not emit", flatten.Options{Include: []string{"a.b"}}, `{"a":5}`, ``},
		{"exclude", flatten.Options{Exclude: []string{"a.b"}}, `{"a":{"b":{"x":1},"bb":2},"c":3}`, `a.bb=2(number) c=3(number)`},
		{"include and exclude", flatten.Options{Include: []string{"a"}, Exclude: []string{"a.b"}}, `{"a":{"b":1,"c":2},"d":3}`, `a.c=2(number)`},
		{"include kept array", flatten.Options{Include: []string{"a"}}, `{"a":[1,2],"b":[3]}`, `a=[1,2](array)`},
		{"unicode keys and values", dflt, `{"日本":{"語":"テキスト"}}`, `日本.語=テキスト(string)`},
		{"whitespace everywhere", index, " \r\n\t{ \"a\" :\n[ 1 , 2 ] } \n", `a.0=1(number) a.1=2(number)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, tt.opts)
			got, err := f.Append(nil, []byte(tt.in))
			if err != nil {
				t.Fatalf("Append(%q) error: %v", tt.in, err)
			}
			if s := show(got); s != tt.want {
				t.Errorf("Append(%q) = %q, want %q", tt.in, s, tt.want)
			}
			// The reference flattener agrees (tables mode and filters
			// excepted).
			if len(tt.opts.Include)+len(tt.opts.Exclude) == 0 {
				ref, err := referenceFlatten([]byte(tt.in), tt.opts)
				if err != nil {
					t.Fatalf("reference(%q): %v", tt.in, err)
				}
				if !sameRef(toRef(got), ref) {
					t.Errorf("Append(%q) = %v, reference %v", tt.in, toRef(got), ref)
				}
			}
		})
	}
}

func TestAppendKeepsDst(t *testing.T) {
	f := mustNew(t, dflt)
	dst, err := f.Append(nil, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	// A second document appends after the first; only the latest call's
	// fields are guaranteed valid, but dst's length must grow.
	got, err := f.Append(dst, []byte(`{"b":2,"a":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[1].Path) != "b" || string(got[2].Path) != "a" {
		t.Errorf("Append(dst) = %s, want 3 fields", show(got))
	}
	// Collisions are checked within one document only.
	got2, err := f.Append(got[:0], []byte(`{"a":1,"a":2}`))
	if !errors.Is(err, flatten.ErrCollision) || len(got2) != 0 {
		t.Errorf("Append(dup) = %v, %v; want ErrCollision and dst unchanged", show(got2), err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     flatten.Options
		in       string
		target   error
		offset   int64
		path     string
		contains string
	}{
		{"empty input", dflt, ``, flatten.ErrSyntax, 0, "", "unexpected end"},
		{"only space", dflt, "  \n", flatten.ErrSyntax, 3, "", "unexpected end"},
		{"trailing garbage", dflt, `{"a":1} x`, flatten.ErrSyntax, 8, "a", "after top-level value"},
		{"two values", dflt, `1 2`, flatten.ErrSyntax, 2, "", "after top-level value"},
		{"bad literal", dflt, `{"a":{"b":tru}}`, flatten.ErrSyntax, 13, "a.b", "invalid literal"},
		{"leading zero", dflt, `{"a":01}`, flatten.ErrSyntax, 6, "a", "expected ','"},
		{"bare minus", dflt, `{"a":-}`, flatten.ErrSyntax, 6, "a", "invalid number"},
		{"trailing comma object", dflt, `{"a":1,}`, flatten.ErrSyntax, 7, "a", "expected string for object key"},
		{"trailing comma array index", index, `{"a":[1,]}`, flatten.ErrSyntax, 8, "a.1", "looking for beginning of value"},
		{"trailing comma array json", dflt, `{"a":[1,]}`, flatten.ErrSyntax, 8, "a", "looking for beginning of value"},
		{"control char in string", dflt, "{\"a\":\"x\ty\"}", flatten.ErrSyntax, 7, "a", "control character"},
		{"bad escape", dflt, `{"a":"\x"}`, flatten.ErrSyntax, 7, "a", "invalid escape"},
		{"bad unicode escape", dflt, `{"a":"\u12G4"}`, flatten.ErrSyntax, 10, "a", "invalid \\u escape"},
		{"unterminated string", dflt, `{"a":"abc`, flatten.ErrSyntax, 9, "a", "unterminated string"},
		{"invalid utf8 value", dflt, "{\"a\":\"\xff\"}", flatten.ErrSyntax, 6, "a", "invalid UTF-8"},
		{"invalid utf8 key", dflt, "{\"\xc3\":1}", flatten.ErrSyntax, 1, "", "invalid UTF-8"},
		{"missing colon", dflt, `{"a" 1}`, flatten.ErrSyntax, 5, "a", "expected ':'"},
		{"unclosed object", dflt, `{"a":1`, flatten.ErrSyntax, 6, "a", "unexpected end"},
		{"unclosed array kept", dflt, `{"a":[1,2`, flatten.ErrSyntax, 9, "a", "unexpected end"},
		{"single quotes", dflt, `{'a':1}`, flatten.ErrSyntax, 1, "", "expected string"},
		{"BOM", dflt, "\xef\xbb\xbf{}", flatten.ErrSyntax, 0, "", "invalid character"},
		{"collision", dflt, `{"a":{"b":1},"a.b":2}`, flatten.ErrCollision, 19, "a.b", ""},
		{"duplicate key", dflt, `{"x":1,"x":1}`, flatten.ErrCollision, 11, "x", ""},
		{"nesting", flatten.Options{MaxNesting: 3}, `{"a":{"b":{"c":{}}}}`, flatten.ErrNesting, 15, "a.b.c", ""},
		{"nesting in kept array", flatten.Options{MaxNesting: 3}, `{"a":[[[1]]]}`, flatten.ErrNesting, 7, "a", ""},
		{"nesting exactly at limit ok", flatten.Options{MaxNesting: 3}, `{"a":{"b":{"c":1}}}`, nil, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, tt.opts)
			got, err := f.Append(nil, []byte(tt.in))
			if tt.target == nil {
				if err != nil {
					t.Fatalf("Append(%q) error %v, want none", tt.in, err)
				}
				return
			}
			if !errors.Is(err, tt.target) {
				t.Fatalf("Append(%q) = %s, %v; want error wrapping %v", tt.in, show(got), err, tt.target)
			}
			if got != nil {
				t.Errorf("Append(%q) returned %d fields with an error", tt.in, len(got))
			}
			var off int64
			var path string
			var se *flatten.SyntaxError
			var pe *flatten.PathError
			switch {
			case errors.As(err, &se):
				off, path = se.Offset, se.Path
			case errors.As(err, &pe):
				off, path = pe.Offset, pe.Path
			default:
				t.Fatalf("Append(%q) error %T is neither *SyntaxError nor *PathError", tt.in, err)
			}
			if off != tt.offset || path != tt.path {
				t.Errorf("Append(%q) error at offset %d path %q, want %d %q (%v)", tt.in, off, path, tt.offset, tt.path, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("Append(%q) error %q does not contain %q", tt.in, err, tt.contains)
			}
		})
	}
}

func TestDeepNestingNoStackOverflow(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, opts := range []flatten.Options{dflt, index, {Arrays: flatten.ArraysTables}} {
		f := mustNew(t, opts)
		var err error
		if opts.Arrays == flatten.ArraysTables {
			_, err = f.AppendRows(nil, []byte(`{"a":`+deep+`}`))
		} else {
			_, err = f.Append(nil, []byte(`{"a":`+deep+`}`))
		}
		if !errors.Is(err, flatten.ErrNesting) {
			t.Errorf("%v: deep document error = %v, want ErrNesting", opts.Arrays, err)
		}
	}
	// With a raised limit the same document flattens without overflow.
	f := mustNew(t, flatten.Options{Arrays: flatten.ArraysIndex, MaxNesting: 200000})
	got, err := f.Append(nil, []byte(deep))
	if err != nil || len(got) != 1 {
		t.Fatalf("deep index = %d fields, %v", len(got), err)
	}
	if want := strings.Repeat("0.", 99998) + "0"; string(got[0].Path) != want {
		t.Errorf("deep path has length %d, want %d", len(got[0].Path), len(want))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []flatten.Options{{MaxDepth: -1}, {MaxNesting: -1}, {Arrays: 9}, {OnCollision: 9}} {
		if _, err := flatten.New(o); !errors.Is(err, flatten.ErrOptions) {
			t.Errorf("New(%+v) = %v, want an error wrapping ErrOptions", o, err)
		}
	}
}

// TestZeroFlattener checks that a zero Flattener works with the default
// options: the same fields as New(Options{}) gives, in both Append and
// AppendRows.
func TestZeroFlattener(t *testing.T) {
	doc := []byte(`{"a":{"b":1},"c":[1,{"d":null}],"e":"x"}`)
	want, err := mustNew(t, flatten.Options{}).Append(nil, doc)
	if err != nil {
		t.Fatal(err)
	}
	var f flatten.Flattener
	got, err := f.Append(nil, doc)
	if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("zero Flattener: Append = %q, %v, want %q", got, err, want)
	}
	var g flatten.Flattener
	rows, err := g.AppendRows(nil, doc)
	if err != nil || len(rows) != 1 || fmt.Sprintf("%q", rows[0].Fields) != fmt.Sprintf("%q", want) {
		t.Errorf("zero Flattener: AppendRows = %+v, %v", rows, err)
	}
	var h flatten.Flattener
	if o := h.Options(); o.Separator != "." || o.MaxNesting != flatten.DefaultMaxNesting {
		t.Errorf("zero Flattener: Options() = %+v, want the defaults", o)
	}
}

// TestEnumText checks that every enum's text form is the name String
// returns, both ways, and that unknown names and values wrap ErrOptions.
func TestEnumText(t *testing.T) {
	type enum interface {
		String() string
		MarshalText() ([]byte, error)
	}
	check := func(v enum, unmarshal func([]byte) (enum, error)) {
		t.Helper()
		b, err := v.MarshalText()
		if err != nil || string(b) != v.String() {
			t.Errorf("%T(%v).MarshalText() = %q, %v, want %q", v, v, b, err, v.String())
			return
		}
		back, err := unmarshal(b)
		if err != nil || back != v {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", b, back, err, v)
		}
	}
	for _, m := range []flatten.ArrayMode{flatten.ArraysJSON, flatten.ArraysIndex, flatten.ArraysTables} {
		check(m, func(b []byte) (enum, error) { var x flatten.ArrayMode; err := x.UnmarshalText(b); return x, err })
	}
	for _, p := range []flatten.CollisionPolicy{flatten.CollisionError, flatten.CollisionFirst, flatten.CollisionLast} {
		check(p, func(b []byte) (enum, error) { var x flatten.CollisionPolicy; err := x.UnmarshalText(b); return x, err })
	}
	for _, k := range []flatten.Kind{flatten.Null, flatten.Bool, flatten.Number, flatten.String, flatten.Object, flatten.Array} {
		check(k, func(b []byte) (enum, error) { var x flatten.Kind; err := x.UnmarshalText(b); return x, err })
	}
	var m flatten.ArrayMode
	if err := m.UnmarshalText([]byte("JSON")); !errors.Is(err, flatten.ErrOptions) {
		t.Errorf("ArrayMode.UnmarshalText(JSON) = %v, want ErrOptions", err)
	}
	if _, err := flatten.Kind(0).MarshalText(); !errors.Is(err, flatten.ErrOptions) {
		t.Errorf("Kind(0).MarshalText() = %v, want ErrOptions", err)
	}
	if s := flatten.CollisionPolicy(9).String(); s != "CollisionPolicy(9)" {
		t.Errorf("CollisionPolicy(9).String() = %q", s)
	}
}

func TestAppendInTablesMode(t *testing.T) {
	f := mustNew(t, flatten.Options{Arrays: flatten.ArraysTables})
	if _, err := f.Append(nil, []byte(`{}`)); !errors.Is(err, flatten.ErrMode) {
		t.Errorf("Append in tables mode: %v, want ErrMode", err)
	}
}

// TestReuseDoesNotLeak flattens documents of varying size with one Flattener
// and checks each against a fresh one.
func TestReuseDoesNotLeak(t *testing.T) {
	docs := []string{
		`{"a":[1,2,3],"b":{"c":"\u00e9"}}`,
		`{"x":1}`,
		`{"a":{"a":{"a":"a\nb"}},"b":[{"c":[]}]}`,
		`[1,2]`,
		`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5}`,
	}
	for _, opts := range []flatten.Options{dflt, index} {
		reused := mustNew(t, opts)
		var fields []flatten.Field
		for round := 0; round < 3; round++ {
			for _, d := range docs {
				var err error
				fields, err = reused.Append(fields[:0], []byte(d))
				if err != nil {
					t.Fatal(err)
				}
				fresh, _ := mustNew(t, opts).Append(nil, []byte(d))
				if show(fields) != show(fresh) {
					t.Errorf("reused Append(%q) = %s, fresh %s", d, show(fields), show(fresh))
				}
			}
		}
	}
}

// TestCorpusAgainstReference compares every corpus document (and every
// NDJSON record) with the encoding/json reference flattener.
func TestCorpusAgainstReference(t *testing.T) {
	for _, in := range benchInputs {
		data := readCorpus(t, in)
		docs := [][]byte{data}
		if filepath.Ext(in) == ".ndjson" {
			docs = splitLines(data)
		}
		for _, opts := range []flatten.Options{dflt, index, {MaxDepth: 3, Arrays: flatten.ArraysIndex}, {Separator: "/"}} {
			f := mustNew(t, opts)
			var fields []flatten.Field
			for i, d := range docs {
				var err error
				fields, err = f.Append(fields[:0], d)
				if err != nil {
					t.Fatalf("%s#%d %+v: %v", in, i, opts, err)
				}
				ref, err := referenceFlatten(d, opts)
				if err != nil {
					t.Fatalf("%s#%d reference: %v", in, i, err)
				}
				if got := toRef(fields); !sameRef(got, ref) {
					t.Fatalf("%s#%d %+v: %d fields differ from reference's %d (first difference: %s)", in, i, opts, len(got), len(ref), firstDiff(got, ref))
				}
			}
		}
	}
}

func firstDiff(a, b []refField) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("#%d %+v vs %+v", i, a[i], b[i])
		}
	}
	return "length"
}

// TestJSONTestSuite runs the JSONTestSuite corpus: every n_ file is rejected,
// every y_ file accepted (the two duplicate-key files are collisions under
// the default policy and accepted under CollisionLast), and every i_ file
// finishes without panic; i_ outcomes are logged and pinned in
// testdata/jsontestsuite_i_outcomes.txt.
func TestJSONTestSuite(t *testing.T) {
	dir := filepath.Join("testdata", "jsontestsuite", "test_parsing")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 318 {
		t.Fatalf("found %d JSONTestSuite files, want 318", len(entries))
	}
	modes := []flatten.Options{dflt, index, {Arrays: flatten.ArraysTables}}
	var iOutcomes []string
	for _, e := range entries {
		name := e.Name()
		doc, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, opts := range modes {
			f := mustNew(t, opts)
			var err error
			if opts.Arrays == flatten.ArraysTables {
				_, err = f.AppendRows(nil, doc)
			} else {
				_, err = f.Append(nil, doc)
			}
			dup := strings.HasPrefix(name, "y_object_duplicated_key")
			switch {
			case strings.HasPrefix(name, "n_"):
				if err == nil {
					t.Errorf("%s (%v): accepted, want rejected", name, opts.Arrays)
				}
			case strings.HasPrefix(name, "y_") && dup:
				if !errors.Is(err, flatten.ErrCollision) {
					t.Errorf("%s (%v): %v, want ErrCollision", name, opts.Arrays, err)
				}
				last := opts
				last.OnCollision = flatten.CollisionLast
				if _, err := mustNew(t, last).Append(nil, doc); opts.Arrays != flatten.ArraysTables && err != nil {
					t.Errorf("%s with CollisionLast: %v", name, err)
				}
			case strings.HasPrefix(name, "y_"):
				if err != nil {
					t.Errorf("%s (%v): rejected: %v", name, opts.Arrays, err)
				}
			case strings.HasPrefix(name, "i_") && opts.Arrays == flatten.ArraysJSON:
				outcome := "accepted"
				if err != nil {
					outcome = "rejected"
				}
				iOutcomes = append(iOutcomes, name+" "+outcome)
			}
		}
	}
	got := strings.Join(iOutcomes, "\n") + "\n"
	golden := filepath.Join("testdata", "jsontestsuite_i_outcomes.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("i_ outcomes changed:\n%s\nwant:\n%s", got, want)
	}
}

// TestInvalidUTF8Rejected pins the UTF-8 policy: RFC 8259 requires UTF-8, so
// invalid bytes in keys or strings are syntax errors; valid multibyte text
// passes through byte for byte.
func TestInvalidUTF8Rejected(t *testing.T) {
	f := mustNew(t, dflt)
	for _, s := range []string{"\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xe6\x97"} {
		doc := []byte(`{"a":"` + s + `"}`)
		if utf8.Valid(doc) {
			t.Fatalf("test input %q is valid UTF-8", s)
		}
		if _, err := f.Append(nil, doc); !errors.Is(err, flatten.ErrSyntax) {
			t.Errorf("Append(%q) = %v, want ErrSyntax", doc, err)
		}
	}
}

func sameRef(a, b []refField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
