package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
	"github.com/flatpipe/flatpipe/schema/jsonschema"
)

// checker runs the optional per-record checks: a contract on the flattened
// fields and a JSON Schema on the document. It is not safe for concurrent
// use (the contract's Validator keeps scratch space).
type checker struct {
	contract *schema.Validator
	js       *jsonschema.Schema
}

func newChecker(c *Config) (*checker, error) {
	ck := &checker{}
	var errs []error
	if c.Contract != "" {
		b, err := os.ReadFile(c.Contract)
		if err != nil {
			errs = append(errs, fmt.Errorf("contract: %w", err))
		} else {
			var ct schema.Contract
			if strings.EqualFold(filepath.Ext(c.Contract), ".json") {
				ct, err = schema.ParseContractJSON(b)
			} else {
				ct, err = schema.ParseContractYAML(b)
			}
			if err == nil {
				if ct.Separator == "" {
					ct.Separator = c.Sep
				}
				ck.contract, err = schema.NewValidator(ct)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("contract %s: %w", c.Contract, err))
			}
		}
	}
	if c.JSONSchema != "" {
		b, err := os.ReadFile(c.JSONSchema)
		if err == nil {
			ck.js, err = jsonschema.Compile(b, c.Sep)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("json_schema %s: %w", c.JSONSchema, err))
		}
	}
	return ck, errors.Join(errs...)
}

// document checks a raw document (JSON Schema), before flattening.
func (ck *checker) document(doc []byte) error {
	if ck.js == nil {
		return nil
	}
	return ck.js.Validate(doc)
}

// fields checks a flattened record (contract).
func (ck *checker) fields(fs []flatten.Field) error {
	if ck.contract == nil {
		return nil
	}
	return ck.contract.Validate(fs)
}
