package schema_test

import (
	"errors"
	"fmt"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/schema"
)

// Infer a table from a few records and print its CREATE TABLE statement.
func Example() {
	f, _ := flatten.New(flatten.Options{})
	in, _ := schema.NewInferrer(schema.InferOptions{DetectTime: true})
	var fields []flatten.Field
	for _, doc := range []string{
		`{"id": 1, "user": {"name": "Ann"}, "at": "2024-05-06T07:08:09Z", "price": 9.5}`,
		`{"id": 22, "user": {"name": "Bob", "vip": true}, "at": "2024-05-07T00:00:00Z", "price": 12.25}`,
	} {
		fields, _ = f.Append(fields[:0], []byte(doc))
		in.Observe(fields)
	}
	tables, _ := in.Tables("ORDERS")
	fmt.Print(schema.CreateTable(tables[0], schema.DDLOptions{IfNotExists: true}))
	// Output:
	// CREATE TABLE IF NOT EXISTS "ORDERS" (
	//   "ID" NUMBER(2,0) COMMENT 'id',
	//   "USER_NAME" VARCHAR(3) COMMENT 'user.name',
	//   "AT" TIMESTAMP_TZ COMMENT 'at',
	//   "PRICE" NUMBER(4,2) COMMENT 'price',
	//   "USER_VIP" BOOLEAN COMMENT 'user.vip'
	// );
}

// Plan the change a new batch needs on an existing table, read with DESC
// TABLE.
func ExamplePlanChanges() {
	var existing []schema.ExistingColumn
	for _, r := range []schema.DescRow{
		{Name: "ID", Type: "NUMBER(2,0)", Kind: "COLUMN", Null: "Y", Comment: "id"},
		{Name: "NOTE", Type: "VARCHAR(5)", Kind: "COLUMN", Null: "Y", Comment: "note"},
	} {
		c, _, _ := r.Column()
		existing = append(existing, c)
	}
	f, _ := flatten.New(flatten.Options{})
	in, _ := schema.NewInferrer(schema.InferOptions{})
	fields, _ := f.Append(nil, []byte(`{"id": "A-7", "note": "a longer note", "new": {"k": 1}}`))
	in.Observe(fields)
	tables, _ := in.Tables("T")
	plan, err := schema.PlanChanges(existing, tables[0], schema.Evolution{}, schema.PlanOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(plan.AppendSQL(nil, schema.DDLOptions{})))

	// The same batch on a frozen table fails, naming what it needs.
	_, err = schema.PlanChanges(existing, tables[0], schema.Evolution{Mode: schema.Freeze}, schema.PlanOptions{})
	fmt.Println(errors.Is(err, schema.ErrFrozen))
	// Output:
	// ALTER TABLE "T" ADD COLUMN "ID__V_VARCHAR" VARCHAR(3) COMMENT 'id';
	// ALTER TABLE "T" ALTER COLUMN "NOTE" SET DATA TYPE VARCHAR(13);
	// ALTER TABLE "T" ADD COLUMN "NEW_K" NUMBER(1,0) COMMENT 'new.k';
	// true
}

// Validate records against a contract loaded from YAML.
func ExampleValidator() {
	c, _ := schema.ParseContractYAML([]byte(`
allow_unknown: true
fields:
  - {path: id, required: true, types: [number], min: 1}
  - {path: status, enum: [open, closed]}
`))
	v, _ := schema.NewValidator(c)
	f, _ := flatten.New(flatten.Options{})
	fields, _ := f.Append(nil, []byte(`{"status": "pending", "other": 1}`))
	err := v.Validate(fields)
	var ve *schema.ValidationError
	if errors.As(err, &ve) {
		for _, x := range ve.Violations {
			fmt.Printf("%s: %s %q\n", x.Path, x.Rule, x.Value)
		}
	}
	// Output:
	// status: enum "pending"
	// id: required ""
}

func ExampleCheckDepth() {
	err := schema.CheckDepth([]byte(`{"a":{"b":{"c":[1]}}}`), 3, 1<<20)
	fmt.Println(err, errors.Is(err, schema.ErrTooDeep))
	// Output: schema: nesting too deep (limit 3) at offset 15 true
}

func ExampleQuoteIdent() {
	name := schema.Normalize(nil, `payload."weird key"; DROP TABLE x`, schema.NameOptions{})
	fmt.Println(string(name))
	fmt.Println(string(schema.QuoteIdent(nil, `my "table"`)))
	// Output:
	// PAYLOAD__WEIRD_KEY___DROP_TABLE_X
	// "my ""table"""
}
