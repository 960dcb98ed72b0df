package flatten_test

import (
	"fmt"

	"github.com/flatpipe/flatpipe/flatten"
)

func Example() {
	f, err := flatten.New(flatten.Options{Arrays: flatten.ArraysIndex})
	if err != nil {
		panic(err)
	}
	doc := []byte(`{"id":505874924095815681,"user":{"name":"Zoë","tags":["a",null]},"meta":{}}`)
	fields, err := f.Append(nil, doc)
	if err != nil {
		panic(err)
	}
	for _, fl := range fields {
		fmt.Printf("%s = %s (%v)\n", fl.Path, fl.Value, fl.Kind)
	}
	// Output:
	// id = 505874924095815681 (number)
	// user.name = Zoë (string)
	// user.tags.0 = a (string)
	// user.tags.1 = null (null)
	// meta = {} (object)
}

func ExampleFlattener_Append_arraysJSON() {
	f, _ := flatten.New(flatten.Options{}) // defaults: ArraysJSON, ".", CollisionError
	fields, _ := f.Append(nil, []byte(`{"order":{"id":1,"items":[ {"sku":"x"} ]}}`))
	for _, fl := range fields {
		fmt.Printf("%s = %s\n", fl.Path, fl.Value)
	}
	// Output:
	// order.id = 1
	// order.items = [{"sku":"x"}]
}

func ExampleFlattener_AppendRows() {
	f, _ := flatten.New(flatten.Options{Arrays: flatten.ArraysTables})
	rows, _ := f.AppendRowsKey(nil, []byte(`{"order":7,"items":[{"sku":"x"},{"sku":"y"}]}`), []byte("orders.ndjson#1"))
	for _, r := range rows {
		fmt.Printf("table=%q index=%d child=%v:", r.Table, r.Index, r.ParentID == rows[0].ID)
		for _, fl := range r.Fields {
			fmt.Printf(" %s=%s", fl.Path, fl.Value)
		}
		fmt.Println()
	}
	// Output:
	// table="" index=-1 child=false: order=7
	// table="items" index=0 child=true: sku=x
	// table="items" index=1 child=true: sku=y
}

func ExampleOptions_collision() {
	doc := []byte(`{"a.b":1,"a":{"b":2}}`)
	f, _ := flatten.New(flatten.Options{})
	_, err := f.Append(nil, doc)
	fmt.Println(err)
	f, _ = flatten.New(flatten.Options{OnCollision: flatten.CollisionLast})
	fields, _ := f.Append(nil, doc)
	fmt.Printf("%s = %s\n", fields[0].Path, fields[0].Value)
	// Output:
	// flatten: path collision at offset 18 (path "a.b")
	// a.b = 2
}
