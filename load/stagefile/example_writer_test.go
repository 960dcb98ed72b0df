package stagefile_test

import (
	"fmt"
	"log"
	"os"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load/stagefile"
)

// A Writer turns flattened records into staged files whose columns are the
// table's, and each File says how COPY INTO loads it.
func ExampleWriter() {
	dir, err := os.MkdirTemp("", "stage")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fl, err := flatten.New(flatten.Options{})
	if err != nil {
		log.Fatal(err)
	}
	w, err := stagefile.NewWriter(stagefile.WriterOptions{Dir: dir, Table: "EVENTS", Format: stagefile.CSV, Compression: stagefile.Uncompressed, Source: "s3://bucket/in/events.ndjson"})
	if err != nil {
		log.Fatal(err)
	}
	var fields []flatten.Field
	for i, doc := range []string{
		`{"id":505874924095815681,"user":{"name":"Zoë \"Z\""},"price":1.10}`,
		`{"id":2,"user":{"name":""},"price":null,"tags":["a","b"]}`,
	} {
		if fields, err = fl.Append(fields[:0], []byte(doc)); err != nil {
			log.Fatal(err)
		}
		if err := w.Write(int64(i+1), fields); err != nil {
			log.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Name, f.Rows, f.Columns)
		fmt.Printf("COPY INTO EVENTS FROM @%%EVENTS FILES = ('%s') FILE_FORMAT = (%s) %s\n", f.Name, f.FileFormat(), f.CopyOptions())
		b, _ := os.ReadFile(f.Path)
		fmt.Print(string(b))
	}
	// Output:
	// EVENTS_events.ndjson-5b289b2b_1-2_273f4bd4d138f72d.csv 2 [ID USER_NAME PRICE TAGS]
	// COPY INTO EVENTS FROM @%EVENTS FILES = ('EVENTS_events.ndjson-5b289b2b_1-2_273f4bd4d138f72d.csv') FILE_FORMAT = (TYPE = CSV COMPRESSION = NONE PARSE_HEADER = TRUE FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE NULL_IF = () ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE) MATCH_BY_COLUMN_NAME = CASE_SENSITIVE
	// "ID","USER_NAME","PRICE","TAGS"
	// 505874924095815681,"Zoë ""Z""",1.10,
	// 2,"",,"[""a"",""b""]"
}
