package jsonschema_test

import (
	"errors"
	"os"
	"testing"

	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/schema/jsonschema"
)

// tests are documents with the JSON Schema keywords each breaks, under the
// orders schema in testdata (the same documents as schema's contract tests).
var tests = []struct {
	doc    string
	schema string // "path:keyword " each
}{
	{`{"id": 1, "status": "open"}`, ""},
	{`{"id": 7, "status": "closed", "customer": {"name": "Ann"}, "total": 12.5, "meta": {"a": [1], "b": "x"}}`, ""},
	{`{"id": 1, "status": "open", "customer": {"name": null}}`, ""},
	{`{"status": "open"}`, ":required "},
	{`{"id": 0, "status": "pending"}`, "id:minimum status:enum "},
	{`{"id": "1", "status": "open", "total": -1}`, "id:type total:minimum "},
	{`{"id": 1, "status": "open", "customer": {"name": "a much too long name"}}`, "customer.name:maxLength "},
	{`{"id": 1, "status": "open", "extra": true}`, ":additionalProperties "},
	{`{"id": 1, "status": "open", "total": 1e7}`, "total:maximum "},
	{`{"id": 1, "status": "open", "meta": {}}`, ""},
	{`{"id": 1, "status": "open", "meta": []}`, "meta:type "},
	{`{"id": 1, "status": "open", "metadata": 1}`, ":additionalProperties "},
}

func violations(err error) string {
	var ve *schema.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	s := ""
	for _, v := range ve.Violations {
		s += v.Path + ":" + v.Rule + " "
	}
	return s
}

func compileOrders(t testing.TB) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile("testdata/orders.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonschema.Compile(data, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidate(t *testing.T) {
	s := compileOrders(t)
	for _, tt := range tests {
		err := s.Validate([]byte(tt.doc))
		if got := violations(err); got != tt.schema {
			t.Errorf("Validate(%s) = %v, want violations %q", tt.doc, err, tt.schema)
		}
		if (tt.schema != "") != errors.Is(err, schema.ErrInvalid) {
			t.Errorf("Validate(%s) = %v, want ErrInvalid iff violations", tt.doc, err)
		}
	}
	err := s.Validate([]byte(`{"id": 1,`))
	if got := violations(err); got != ":syntax " {
		t.Errorf("Validate(bad JSON) = %v, want a syntax violation", err)
	}
}

func TestCompileRejectsBadSchemas(t *testing.T) {
	for _, bad := range []string{`{`, `{"$ref": "http://example.com/x.json"}`, `{"type": 5}`} {
		if _, err := jsonschema.Compile([]byte(bad), ""); !errors.Is(err, schema.ErrOptions) {
			t.Errorf("Compile(%s) = %v, want ErrOptions", bad, err)
		}
	}
}

func TestArrayPaths(t *testing.T) {
	s, err := jsonschema.Compile([]byte(`{"type":"object","properties":{"xs":{"type":"array","items":{"type":"object","properties":{"v":{"type":"integer"}}}}}}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate([]byte(`{"xs":[{"v":1},{"v":"two"}]}`))
	var ve *schema.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Path != "xs/1/v" || ve.Violations[0].Value != `"two"` {
		t.Errorf("Validate() = %#v, want one violation at xs/1/v with value \"two\"", err)
	}
}

// BenchmarkValidate is the JSON Schema counterpart of schema's
// BenchmarkValidate/orders/contract, on the same record.
func BenchmarkValidate(b *testing.B) {
	doc := []byte(tests[1].doc)
	b.Run("orders/jsonschema", func(b *testing.B) {
		s := compileOrders(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if err := s.Validate(doc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// FuzzValidate checks that validating any document never panics and gives
// nil or a *schema.ValidationError.
func FuzzValidate(f *testing.F) {
	for _, tt := range tests {
		f.Add([]byte(tt.doc))
	}
	s := compileOrders(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := s.Validate(doc)
		var ve *schema.ValidationError
		if err != nil && (!errors.As(err, &ve) || len(ve.Violations) == 0) {
			t.Fatalf("Validate(%q) = %v, not a *ValidationError with violations", doc, err)
		}
	})
}
