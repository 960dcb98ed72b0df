package schema

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
	"go.yaml.in/yaml/v3"
)

// contractTests are documents with the rules each breaks, under the orders
// contract in testdata/contract (native and JSON Schema).
var contractTests = []struct {
	doc    string
	rules  string // native violations, "path:rule " each
	schema string // JSON Schema keywords that fail, "path:keyword " each
}{
	{`{"id": 1, "status": "open"}`, "", ""},
	{`{"id": 7, "status": "closed", "customer": {"name": "Ann"}, "total": 12.5, "meta": {"a": [1], "b": "x"}}`, "", ""},
	{`{"id": 1, "status": "open", "customer": {"name": null}}`, "", ""},
	{`{"status": "open"}`, "id:required ", ":required "},
	{`{"id": 0, "status": "pending"}`, "id:min status:enum ", "id:minimum status:enum "},
	{`{"id": "1", "status": "open", "total": -1}`, "id:type total:min ", "id:type total:minimum "},
	{`{"id": 1, "status": "open", "customer": {"name": "a much too long name"}}`, "customer.name:max_length ", "customer.name:maxLength "},
	{`{"id": 1, "status": "open", "extra": true}`, "extra:unknown ", ":additionalProperties "},
	{`{"id": 1, "status": "open", "total": 1e7}`, "total:max ", "total:maximum "},
	{`{"id": 1, "status": "open", "meta": {}}`, "", ""},
	{`{"id": 1, "status": "open", "meta": []}`, "meta:type ", "meta:type "},
	{`{"id": 1, "status": "open", "metadata": 1}`, "metadata:unknown ", ":additionalProperties "},
}

func loadContract(t testing.TB, file string) Contract {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c Contract
	if strings.HasSuffix(file, ".yaml") {
		c, err = ParseContractYAML(data)
	} else {
		c, err = ParseContractJSON(data)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func violations(err error) string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	s := ""
	for _, v := range ve.Violations {
		s += v.Path + ":" + v.Rule + " "
	}
	return s
}

func TestContractFormatsAgree(t *testing.T) {
	y := loadContract(t, "testdata/contract/orders.yaml")
	j := loadContract(t, "testdata/contract/orders.json")
	if !reflect.DeepEqual(y, j) {
		t.Errorf("YAML contract = %+v, JSON contract = %+v, want equal", y, j)
	}
}

func TestValidator(t *testing.T) {
	v, err := NewValidator(loadContract(t, "testdata/contract/orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := flatten.New(flatten.Options{})
	for _, tt := range contractTests {
		fields, err := f.Append(nil, []byte(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		err = v.Validate(fields)
		if got := violations(err); got != tt.rules {
			t.Errorf("Validate(%s) = %v, want violations %q", tt.doc, err, tt.rules)
		}
		if tt.rules == "" && err != nil || tt.rules != "" && !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%s) = %v, want ErrInvalid iff violations", tt.doc, err)
		}
	}
}

func TestViolationValueCut(t *testing.T) {
	v, _ := NewValidator(Contract{Fields: []Rule{{Path: "s", Types: []string{"number"}}}})
	long := strings.Repeat("é", 100)
	err := v.Validate([]flatten.Field{{Path: []byte("s"), Kind: flatten.String, Value: []byte(long)}})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 1 {
		t.Fatalf("Validate() = %v", err)
	}
	if got := ve.Violations[0].Value; len(got) > MaxViolationValue+len("…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("Value = %q, want a valid prefix of at most %d bytes", got, MaxViolationValue)
	}
}

func TestContractErrors(t *testing.T) {
	one, two := 1, 0
	bad := []Contract{
		{Fields: []Rule{{Path: "a"}, {Path: "a"}}},
		{Fields: []Rule{{Path: "a", Types: []string{"int"}}}},
		{Fields: []Rule{{Path: "a", MinLength: &one, MaxLength: &two}}},
		{Fields: []Rule{{Path: "a", Min: new(2.0), Max: new(1.0)}}},
	}
	for _, c := range bad {
		if _, err := NewValidator(c); !errors.Is(err, ErrOptions) {
			t.Errorf("NewValidator(%+v) = %v, want ErrOptions", c, err)
		}
	}
	if _, err := ParseContractJSON([]byte(`{"fields": [], "allow": true}`)); !errors.Is(err, ErrOptions) {
		t.Errorf("ParseContractJSON(unknown key) = %v, want ErrOptions", err)
	}
	if _, err := ParseContractYAML([]byte("fields: []\nallow: true\n")); !errors.Is(err, ErrOptions) {
		t.Errorf("ParseContractYAML(unknown key) = %v, want ErrOptions", err)
	}
}

func TestValidatorAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts differ under -race and coverage")
	}
	v, _ := NewValidator(loadContract(t, "testdata/contract/orders.yaml"))
	f, _ := flatten.New(flatten.Options{})
	fields, _ := f.Append(nil, []byte(contractTests[1].doc))
	if a := testing.AllocsPerRun(100, func() {
		if err := v.Validate(fields); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Validate(valid record) allocates %v times, want 0", a)
	}
}

// BenchmarkValidate measures the per-record cost of the native contract,
// flattening included, as a pipeline pays it (package jsonschema has the
// JSON Schema counterpart).
func BenchmarkValidate(b *testing.B) {
	doc := []byte(contractTests[1].doc)
	b.Run("orders/contract", func(b *testing.B) {
		v, _ := NewValidator(loadContract(b, "testdata/contract/orders.yaml"))
		f, _ := flatten.New(flatten.Options{})
		var fields []flatten.Field
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			fields, _ = f.Append(fields[:0], doc)
			if err := v.Validate(fields); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

func TestValidationErrorMessage(t *testing.T) {
	v, _ := NewValidator(Contract{Fields: []Rule{{Path: "id", Required: true}, {Path: "n", Types: []string{"number"}}}})
	err := v.Validate([]flatten.Field{{Path: []byte("n"), Kind: flatten.String, Value: []byte("x")}})
	want := `schema: record violates the contract: type at "n": kind string not allowed (value "x"); required at "id": missing`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

func TestContractFor(t *testing.T) {
	docs := readLines(t, "testdata/ddl/events.json.ndjson")
	tb := inferDocs(t, docs, flatten.Options{}, InferOptions{DetectTime: true, MaxObjectKeys: 1}, "EVENTS")[0]
	c := ContractFor(tb, "")
	// It survives a YAML round trip.
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseContractYAML(data)
	if err != nil {
		t.Fatalf("ParseContractYAML(%s): %v", data, err)
	}
	v, err := NewValidator(c2)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := flatten.New(flatten.Options{})
	for _, d := range docs {
		fields, _ := f.Append(nil, d)
		if err := v.Validate(fields); err != nil {
			t.Errorf("Validate(%s) = %v, want nil (the contract of its own sample)", d, err)
		}
	}
	fields, _ := f.Append(nil, []byte(`{"id": "x", "type": "a much longer type than seen", "new": 1}`))
	if got := violations(v.Validate(fields)); got != "id:type type:max_length new:unknown created_at:required score:required public:required " {
		t.Errorf("Validate(new record) violations = %q", got)
	}
}
