package schema

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSONSchema validates whole documents against a JSON Schema (draft 2020-12
// unless the schema's $schema says otherwise), using
// github.com/santhosh-tekuri/jsonschema/v6. It never loads anything: a $ref
// to another document fails at compile time. Validating decodes the document
// into Go values first, so it allocates per record and costs several times a
// Validator's work (BenchmarkValidate); see the package documentation for
// when to use which.
//
// A JSONSchema is safe for concurrent use.
type JSONSchema struct {
	sch *jsonschema.Schema
	sep string
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema: refusing to load %q: JSONSchema does no I/O", url)
}

// CompileJSONSchema compiles schema. sep is the separator used to write the
// paths of violations ("" means "."). Errors wrap ErrOptions.
func CompileJSONSchema(schema []byte, sep string) (*JSONSchema, error) {
	if sep == "" {
		sep = "."
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("%w: JSON Schema: %w", ErrOptions, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	const url = "mem:///schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%w: JSON Schema: %w", ErrOptions, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%w: JSON Schema: %w", ErrOptions, err)
	}
	return &JSONSchema{sch: sch, sep: sep}, nil
}

// Validate checks one document and returns nil or a *ValidationError listing
// every failing keyword, sorted by path: the instance path (keys joined by the separator),
// the keyword as Rule, and the offending value cut short. A document that is
// not JSON is one violation with Rule "syntax".
func (s *JSONSchema) Validate(doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &ValidationError{Violations: []Violation{{Rule: "syntax", Msg: err.Error(), Value: cutValue(doc)}}}
	}
	err = s.sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &ValidationError{Violations: []Violation{{Rule: "schema", Msg: err.Error()}}}
	}
	var vs []Violation
	var walk func(u *jsonschema.OutputUnit)
	walk = func(u *jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			toks := pointerTokens(u.InstanceLocation)
			rule := "schema"
			if kw := pointerTokens(u.KeywordLocation); len(kw) > 0 {
				rule = kw[len(kw)-1]
			}
			val := ""
			if x, ok := lookup(v, toks); ok {
				if b, err := json.Marshal(x); err == nil {
					val = cutValue(b)
				}
			}
			vs = append(vs, Violation{Path: strings.Join(toks, s.sep), Rule: rule, Value: val, Msg: u.Error.String()})
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(ve.BasicOutput())
	// The library visits properties in map order: sort for stable reports.
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Rule, b.Rule))
	})
	if len(vs) == 0 {
		vs = append(vs, Violation{Rule: "schema", Msg: ve.Error()})
	}
	return &ValidationError{Violations: vs}
}

func pointerTokens(p string) []string {
	if p == "" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

func lookup(v any, toks []string) (any, bool) {
	for _, t := range toks {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[t]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
