package lambdaenv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("lambdaenv: invalid configuration")

// Var documents one environment variable.
type Var struct {
	// Name is the variable's name, e.g. "FLATPIPE_MODE".
	Name string
	// Default is the value used when the variable is unset or empty; ""
	// means none.
	Default string
	// Required makes an unset variable an error.
	Required bool
	// Secret keeps the value out of errors.
	Secret bool
	// Doc says what the variable does, in one sentence or two (Markdown).
	Doc string
}

// LookupFunc reads one variable, as os.LookupEnv does.
type LookupFunc func(name string) (string, bool)

// Env reads the variables of a table. Problems are collected and returned
// together by Err. The zero value is not usable; call NewEnv.
type Env struct {
	lookup LookupFunc
	vars   map[string]Var
	errs   []error
}

// NewEnv returns an Env reading the variables of vars through lookup.
func NewEnv(lookup LookupFunc, vars []Var) *Env {
	m := make(map[string]Var, len(vars))
	for _, v := range vars {
		m[v.Name] = v
	}
	return &Env{lookup: lookup, vars: m}
}

// Overlay returns a LookupFunc that answers the names in values itself and
// asks lookup for the others (to hand a secret fetched at start-up to code
// that reads the environment).
func Overlay(lookup LookupFunc, values map[string]string) LookupFunc {
	return func(name string) (string, bool) {
		if v, ok := values[name]; ok {
			return v, true
		}
		return lookup(name)
	}
}

func (e *Env) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%w: %s: %s", ErrConfig, name, fmt.Sprintf(format, args...)))
}

// String returns the variable's value, its default when unset or empty, and
// records an error when it is required and missing or not in the table.
func (e *Env) String(name string) string {
	v, ok := e.vars[name]
	if !ok {
		e.fail(name, "not a documented variable")
		return ""
	}
	s, _ := e.lookup(name)
	s = strings.TrimSpace(s)
	if s == "" {
		s = v.Default
	}
	if s == "" && v.Required {
		e.fail(name, "must be set")
	}
	return s
}

func (e *Env) quote(name, s string) string {
	if e.vars[name].Secret {
		return "(value hidden)"
	}
	return strconv.Quote(s)
}

// OneOf returns the variable's value, which must be one of choices (or
// empty, when the variable is optional and has no default).
func (e *Env) OneOf(name string, choices ...string) string {
	s := e.String(name)
	if s == "" {
		return ""
	}
	for _, c := range choices {
		if s == c {
			return s
		}
	}
	e.fail(name, "%s is not one of %s", e.quote(name, s), strings.Join(choices, ", "))
	return ""
}

// Bool returns the variable as a boolean (strconv.ParseBool); unset means
// false unless the default says otherwise.
func (e *Env) Bool(name string) bool {
	s := e.String(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		e.fail(name, "%s is not a boolean", e.quote(name, s))
	}
	return b
}

// Int returns the variable as a non-negative integer; unset means 0 unless
// the default says otherwise.
func (e *Env) Int(name string) int {
	s := e.String(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		e.fail(name, "%s is not a non-negative integer", e.quote(name, s))
		return 0
	}
	return n
}

// Duration returns the variable as a non-negative time.Duration ("30s").
func (e *Env) Duration(name string) time.Duration {
	s := e.String(name)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		e.fail(name, "%s is not a non-negative duration such as 30s", e.quote(name, s))
		return 0
	}
	return d
}

// S3URL returns the bucket and key prefix of an "s3://bucket/prefix/"
// variable. A prefix that is not empty is given a trailing slash.
func (e *Env) S3URL(name string) (bucket, prefix string) {
	s := e.String(name)
	if s == "" {
		return "", ""
	}
	rest, ok := strings.CutPrefix(s, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" {
		e.fail(name, "%s is not an s3://bucket/prefix/ URL", e.quote(name, s))
		return "", ""
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix
}

// Require records an error naming name when cond is false, with why as the
// reason (for rules between variables: "needed when FLATPIPE_MODE=s3").
func (e *Env) Require(cond bool, name, why string) {
	if !cond {
		e.fail(name, "%s", why)
	}
}

// Err returns every problem met so far, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// Markdown renders vars as a Markdown table: variable, default, description.
func Markdown(vars []Var) string {
	var b strings.Builder
	b.WriteString("| variable | default | description |\n|---|---|---|\n")
	for _, v := range vars {
		def := "–"
		switch {
		case v.Default != "":
			def = "`" + v.Default + "`"
		case v.Required:
			def = "required"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Doc, "|", `\|`))
	}
	return b.String()
}
