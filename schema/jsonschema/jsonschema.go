// Package jsonschema validates whole JSON documents against a JSON Schema
// (draft 2020-12 unless the schema's $schema says otherwise), reporting
// violations as schema.ValidationError, with github.com/santhosh-tekuri/jsonschema/v6.
//
// It lives apart from package schema so that only its users pay for that
// library and its dependencies (regular expressions, x/text): a loader that
// infers types and checks records with a schema.Contract links none of it.
// Validating decodes each document into Go values first, so it allocates per
// record and costs several times a schema.Validator's work (see
// schema's BenchmarkValidate and this package's); use it when a schema
// already exists or when it needs what a Contract lacks (conditionals,
// patterns, formats, references within the schema).
//
// # Concurrency
//
// A Schema is safe for concurrent use.
//
// # Errors
//
// Compile's errors wrap schema.ErrOptions; Validate returns nil or a
// *schema.ValidationError (errors.Is schema.ErrInvalid).
//
// # Stability
//
// New in this release (split out of package schema); may change before v1.
package jsonschema

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flatpipe/flatpipe/schema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema. It never loads anything: a $ref to
// another document fails at compile time. It is safe for concurrent use.
type Schema struct {
	sch *sjs.Schema
	sep string
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("jsonschema: refusing to load %q: a Schema does no I/O", url)
}

// Compile compiles a JSON Schema document. sep is the separator used to
// write the paths of violations ("" means "."). Errors wrap
// schema.ErrOptions.
func Compile(doc []byte, sep string) (*Schema, error) {
	if sep == "" {
		sep = "."
	}
	v, err := sjs.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("%w: JSON Schema: %w", schema.ErrOptions, err)
	}
	c := sjs.NewCompiler()
	c.DefaultDraft(sjs.Draft2020)
	c.UseLoader(noLoader{})
	const url = "mem:///schema.json"
	if err := c.AddResource(url, v); err != nil {
		return nil, fmt.Errorf("%w: JSON Schema: %w", schema.ErrOptions, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%w: JSON Schema: %w", schema.ErrOptions, err)
	}
	return &Schema{sch: sch, sep: sep}, nil
}

// Validate checks one document and returns nil or a *ValidationError listing
// every failing keyword, sorted by path: the instance path (keys joined by the separator),
// the keyword as Rule, and the offending value cut short. A document that is
// not JSON is one violation with Rule "syntax".
func (s *Schema) Validate(doc []byte) error {
	v, err := sjs.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &schema.ValidationError{Violations: []schema.Violation{{Rule: "syntax", Msg: err.Error(), Value: cutValue(doc)}}}
	}
	err = s.sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *sjs.ValidationError
	if !errors.As(err, &ve) {
		return &schema.ValidationError{Violations: []schema.Violation{{Rule: "schema", Msg: err.Error()}}}
	}
	var vs []schema.Violation
	var walk func(u *sjs.OutputUnit)
	walk = func(u *sjs.OutputUnit) {
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
			vs = append(vs, schema.Violation{Path: strings.Join(toks, s.sep), Rule: rule, Value: val, Msg: u.Error.String()})
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(ve.BasicOutput())
	// The library visits properties in map order: sort for stable reports.
	slices.SortStableFunc(vs, func(a, b schema.Violation) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Rule, b.Rule))
	})
	if len(vs) == 0 {
		vs = append(vs, schema.Violation{Rule: "schema", Msg: ve.Error()})
	}
	return &schema.ValidationError{Violations: vs}
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

// cutValue cuts v to at most schema.MaxViolationValue bytes, on a UTF-8
// boundary, marking a cut with "…", as package schema does.
func cutValue(v []byte) string {
	if len(v) <= schema.MaxViolationValue {
		return string(v)
	}
	cut := schema.MaxViolationValue
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	return string(v[:cut]) + "…"
}
