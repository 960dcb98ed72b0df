package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
	"go.yaml.in/yaml/v3"
)

// Rule is what a Contract says about one path.
type Rule struct {
	// Path is the flattened path the rule is about.
	Path string `json:"path" yaml:"path"`
	// Below also allows every path below Path (Path, the separator, more):
	// a sub-document whose keys are not known in advance. The checks apply
	// to the field at Path only.
	Below bool `json:"below,omitempty" yaml:"below,omitempty"`
	// Required fails a record without the path (a JSON null counts as
	// present; exclude "null" from Types to forbid it).
	Required bool `json:"required,omitempty" yaml:"required,omitempty"`
	// Types are the allowed kinds: "null", "bool", "number", "string",
	// "object", "array". Empty allows every kind.
	Types []string `json:"types,omitempty" yaml:"types,omitempty"`
	// MinLength and MaxLength bound a string's length in characters.
	MinLength *int `json:"min_length,omitempty" yaml:"min_length,omitempty"`
	MaxLength *int `json:"max_length,omitempty" yaml:"max_length,omitempty"`
	// Min and Max bound a number (compared as float64).
	Min *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	// Enum lists the allowed values, as their flattened text ("true",
	// "42", "red"); empty allows every value.
	Enum []string `json:"enum,omitempty" yaml:"enum,omitempty"`
}

// Contract is a declarative description of valid records, written once as a
// Go value or loaded with ParseContractJSON or ParseContractYAML; compile it
// with NewValidator. It is a plain value, safe for concurrent use while
// nobody modifies it:
//
//	allow_unknown: false
//	fields:
//	  - {path: id, required: true, types: [number], min: 1}
//	  - {path: status, types: [string], enum: [open, closed]}
//	  - {path: meta, below: true}
type Contract struct {
	// AllowUnknown accepts paths no rule names. Default false: an unknown
	// path is a violation.
	AllowUnknown bool `json:"allow_unknown,omitempty" yaml:"allow_unknown,omitempty"`
	// Separator is the flattener's path separator, used by Below. Default
	// ".".
	Separator string `json:"separator,omitempty" yaml:"separator,omitempty"`
	// Fields are the rules, one per path.
	Fields []Rule `json:"fields" yaml:"fields"`
}

// ParseContractJSON reads a Contract from JSON; unknown keys are errors.
func ParseContractJSON(data []byte) (Contract, error) {
	var c Contract
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Contract{}, fmt.Errorf("%w: contract: %w", ErrOptions, err)
	}
	return c, nil
}

// ParseContractYAML reads a Contract from YAML; unknown keys are errors.
func ParseContractYAML(data []byte) (Contract, error) {
	var c Contract
	d := yaml.NewDecoder(bytes.NewReader(data))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil {
		return Contract{}, fmt.Errorf("%w: contract: %w", ErrOptions, err)
	}
	return c, nil
}

type compiledRule struct {
	path     string
	required bool
	kinds    uint8 // bit per flatten.Kind; 0 allows all
	minLen   int
	maxLen   int
	min, max float64
	hasMin   bool
	hasMax   bool
	enum     map[string]struct{}
	below    string // Path + separator, for Below rules
}

// Validator checks flattened records against a Contract. Validating a valid
// record allocates nothing.
//
// A Validator is not safe for concurrent use (it keeps per-record scratch
// space); use one per goroutine.
type Validator struct {
	allowUnknown bool
	rules        []compiledRule
	exact        map[string]int
	prefixes     []int
	required     []int
	seen         []uint32
	gen          uint32
}

var kindByName = map[string]flatten.Kind{
	"null": flatten.Null, "bool": flatten.Bool, "boolean": flatten.Bool, "number": flatten.Number,
	"string": flatten.String, "object": flatten.Object, "array": flatten.Array,
}

// NewValidator compiles c. It fails with an error wrapping ErrOptions on a
// duplicate path, an unknown type name or an empty range.
func NewValidator(c Contract) (*Validator, error) {
	v := &Validator{allowUnknown: c.AllowUnknown, exact: map[string]int{}}
	sep := c.Separator
	if sep == "" {
		sep = "."
	}
	for i, r := range c.Fields {
		cr := compiledRule{path: r.Path, required: r.Required, maxLen: math.MaxInt, min: math.Inf(-1), max: math.Inf(1)}
		if _, dup := v.exact[r.Path]; dup {
			return nil, fmt.Errorf("%w: contract: path %q has two rules", ErrOptions, r.Path)
		}
		if r.Below {
			cr.below = r.Path + sep
		}
		for _, t := range r.Types {
			k, ok := kindByName[strings.ToLower(t)]
			if !ok {
				return nil, fmt.Errorf("%w: contract rule %q: unknown type %q", ErrOptions, r.Path, t)
			}
			cr.kinds |= 1 << k
		}
		if r.MinLength != nil {
			cr.minLen = *r.MinLength
		}
		if r.MaxLength != nil {
			cr.maxLen = *r.MaxLength
		}
		if r.Min != nil {
			cr.min, cr.hasMin = *r.Min, true
		}
		if r.Max != nil {
			cr.max, cr.hasMax = *r.Max, true
		}
		if cr.minLen > cr.maxLen || cr.min > cr.max || cr.minLen < 0 {
			return nil, fmt.Errorf("%w: contract rule %q: empty range", ErrOptions, r.Path)
		}
		if len(r.Enum) > 0 {
			cr.enum = map[string]struct{}{}
			for _, e := range r.Enum {
				cr.enum[e] = struct{}{}
			}
		}
		if r.Below {
			v.prefixes = append(v.prefixes, i)
		}
		v.exact[r.Path] = i
		if r.Required {
			v.required = append(v.required, i)
		}
		v.rules = append(v.rules, cr)
	}
	v.seen = make([]uint32, len(v.rules))
	return v, nil
}

// rule finds the rule of path: its own, or (below true) the Below rule of a
// sub-document holding it.
func (v *Validator) rule(path []byte) (i int, below, ok bool) {
	if i, ok := v.exact[string(path)]; ok {
		return i, false, true
	}
	for _, i := range v.prefixes {
		if strings.HasPrefix(bytesToString(path), v.rules[i].below) {
			return i, true, true
		}
	}
	return 0, false, false
}

// Validate checks one record's fields and returns nil or a *ValidationError
// listing every violation, with offending values cut to MaxViolationValue
// bytes. The caller wraps it with the record's position.
func (v *Validator) Validate(fields []flatten.Field) error {
	v.gen++
	if v.gen == 0 {
		clear(v.seen)
		v.gen = 1
	}
	var vs []Violation
	for _, f := range fields {
		i, below, ok := v.rule(f.Path)
		if !ok {
			if !v.allowUnknown {
				vs = append(vs, Violation{Path: string(f.Path), Rule: "unknown", Value: cutValue(f.Value), Msg: "no rule allows this path"})
			}
			continue
		}
		v.seen[i] = v.gen
		if below {
			continue
		}
		r := &v.rules[i]
		if r.kinds != 0 && r.kinds&(1<<f.Kind) == 0 {
			vs = append(vs, Violation{Path: string(f.Path), Rule: "type", Value: cutValue(f.Value), Msg: "kind " + f.Kind.String() + " not allowed"})
			continue
		}
		switch f.Kind {
		case flatten.String:
			if r.minLen > 0 || r.maxLen < math.MaxInt {
				n := runeCount(f.Value)
				if n < r.minLen {
					vs = append(vs, Violation{Path: string(f.Path), Rule: "min_length", Value: cutValue(f.Value), Msg: "shorter than " + strconv.Itoa(r.minLen)})
				} else if n > r.maxLen {
					vs = append(vs, Violation{Path: string(f.Path), Rule: "max_length", Value: cutValue(f.Value), Msg: "longer than " + strconv.Itoa(r.maxLen)})
				}
			}
		case flatten.Number:
			if r.hasMin || r.hasMax {
				x, err := strconv.ParseFloat(bytesToString(f.Value), 64)
				switch {
				case err != nil && !math.IsInf(x, 0):
					vs = append(vs, Violation{Path: string(f.Path), Rule: "type", Value: cutValue(f.Value), Msg: "not a number"})
				case x < r.min:
					vs = append(vs, Violation{Path: string(f.Path), Rule: "min", Value: cutValue(f.Value), Msg: "less than " + strconv.FormatFloat(r.min, 'g', -1, 64)})
				case x > r.max:
					vs = append(vs, Violation{Path: string(f.Path), Rule: "max", Value: cutValue(f.Value), Msg: "greater than " + strconv.FormatFloat(r.max, 'g', -1, 64)})
				}
			}
		}
		if r.enum != nil {
			if _, ok := r.enum[string(f.Value)]; !ok {
				vs = append(vs, Violation{Path: string(f.Path), Rule: "enum", Value: cutValue(f.Value), Msg: "not one of the allowed values"})
			}
		}
	}
	for _, i := range v.required {
		if v.seen[i] != v.gen {
			vs = append(vs, Violation{Path: v.rules[i].path, Rule: "required", Msg: "missing"})
		}
	}
	if len(vs) > 0 {
		return &ValidationError{Violations: vs}
	}
	return nil
}

// ContractFor returns a contract that every record the table was inferred
// from satisfies: a rule per column with the kinds its type takes, "null"
// when the column is nullable, Required when it is not, and the VARCHAR
// length as MaxLength; a subtree column also allows every path below it
// (sep is the flattener's separator, "" meaning "."). Unknown paths are not
// allowed. Edit it and save it (it marshals to JSON and YAML) to freeze what
// a sample looked like.
func ContractFor(t Table, sep string) Contract {
	if sep == "" {
		sep = "."
	}
	c := Contract{Separator: sep}
	for _, col := range t.Columns {
		if col.System {
			continue
		}
		r := Rule{Path: col.Path, Required: !col.Nullable}
		switch col.Type.Kind {
		case Boolean:
			r.Types = []string{"bool"}
		case Number, Float:
			r.Types = []string{"number"}
		case Date, TimestampNTZ, TimestampTZ:
			r.Types = []string{"string"}
		case Varchar:
			r.Types = []string{"bool", "number", "string"}
			n := col.Type.Length
			r.MaxLength = &n
		case Object:
			r.Types = []string{"object"}
		case Array:
			r.Types = []string{"array"}
		}
		if r.Types != nil && col.Nullable {
			r.Types = append(r.Types, "null")
		}
		r.Below = col.Subtree
		c.Fields = append(c.Fields, r)
	}
	return c
}
