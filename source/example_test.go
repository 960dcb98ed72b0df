package source_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flatpipe/flatpipe/source"
	"github.com/klauspost/compress/gzip"
)

func ExampleScanner() {
	in := "{\"id\":1}\r\n\n{\"id\":2,\"tags\":[\"a]\"]}\n"
	sc, err := source.NewScanner(strings.NewReader(in), source.Options{Format: source.NDJSON})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sc.Close()
	for sc.Scan() {
		fmt.Printf("record %d line %d offset %d: %s\n", sc.Number(), sc.Line(), sc.Offset(), sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// record 1 line 1 offset 0: {"id":1}
	// record 2 line 3 offset 11: {"id":2,"tags":["a]"]}
}

func ExampleScanner_array() {
	sc, err := source.NewScanner(strings.NewReader(`[{"a":1}, "x]", 3`), source.Options{Format: source.Array})
	if err != nil {
		fmt.Println(err)
		return
	}
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

func ExampleReader_ReadObject() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n"))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "events.ndjson.gz"), buf.Bytes(), 0o644)

	objs, _ := source.ListLocal(dir)
	r, _ := source.NewReader(source.ReaderOptions{Format: source.NDJSON})
	for _, obj := range objs {
		pos, err := r.ReadObject(context.Background(), obj, source.Position{}, func(rec source.Record) error {
			fmt.Printf("%s line %d: %s\n", filepath.Base(rec.Object.Key), rec.Line, rec.Data)
			return nil
		})
		fmt.Println(pos.Records, "records,", pos.Offset, "bytes,", err)
	}
	// Output:
	// events.ndjson.gz line 1: {"id":1}
	// events.ndjson.gz line 2: {"id":2}
	// events.ndjson.gz line 3: {"id":3}
	// 3 records, 27 bytes, <nil>
}
