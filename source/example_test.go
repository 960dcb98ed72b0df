package source_test

import (
	"fmt"
	"strings"

	"github.com/flatpipe/flatpipe/source"
)

func ExampleScanner() {
	in := "{\"id\":1}\r\n\n{\"id\":2,\"tags\":[\"a]\"]}\n"
	sc := source.NewScanner(strings.NewReader(in), source.NDJSON)
	defer sc.Close()
	for sc.Scan() {
		fmt.Printf("record %d line %d offset %d: %s\n", sc.Record(), sc.Line(), sc.Offset(), sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// record 1 line 1 offset 0: {"id":1}
	// record 2 line 3 offset 11: {"id":2,"tags":["a]"]}
}

func ExampleScanner_array() {
	sc := source.NewScanner(strings.NewReader(`[{"a":1}, "x]", 3`), source.Array)
	defer sc.Close()
	for sc.Scan() {
		fmt.Printf("%s\n", sc.Bytes())
	}
	fmt.Println(sc.Err())
	// Output:
	// {"a":1}
	// "x]"
	// source: syntax error at offset 17 (line 1): unterminated array
}
