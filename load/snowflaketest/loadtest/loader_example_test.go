package loadtest_test

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"os"
	"strconv"

	"github.com/flatpipe/flatpipe/flatten"
	"github.com/flatpipe/flatpipe/load"
	"github.com/flatpipe/flatpipe/load/snowflaketest"
	"github.com/flatpipe/flatpipe/load/stagefile"
	"github.com/flatpipe/flatpipe/schema"
)

// The whole flow: nested JSON is flattened, its table inferred, written to
// staged files, and loaded into Snowflake (here the emulator) by a Loader,
// which creates the table, PUTs the files and COPYs them with a result per
// file.
func Example_loader() {
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())

	// In production: cfg, err := load.ConfigFromEnv().
	cfg := load.Config{Account: "emulator", User: "TEST", Password: "test", Database: "TEST_DB", Schema: "PUBLIC",
		Host: u.Hostname(), Port: port, Protocol: "http"}
	db, err := cfg.OpenDB()
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	docs := []string{
		`{"id": 1, "user": {"name": "ada", "langs": ["en", "fr"]}, "amount": 10.50}`,
		`{"id": 2, "user": {"name": "grace"}, "amount": 7.25, "note": "second"}`,
	}
	fl, _ := flatten.New(flatten.Options{})
	inf, _ := schema.NewInferrer(schema.InferOptions{})
	var fields []flatten.Field
	for _, d := range docs {
		fields, _ = fl.Append(fields[:0], []byte(d))
		inf.Observe(fields)
	}
	tables, _ := inf.Tables("EVENTS")

	dir, _ := os.MkdirTemp("", "staged")
	defer os.RemoveAll(dir)
	w, err := stagefile.NewWriter(stagefile.WriterOptions{Dir: dir, Table: tables[0].Name, Columns: tables[0].Columns})
	if err != nil {
		log.Fatal(err)
	}
	for i, d := range docs {
		fields, _ = fl.Append(fields[:0], []byte(d))
		if err := w.Write(int64(i+1), fields); err != nil {
			log.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil {
		log.Fatal(err)
	}

	l, err := load.NewLoader(db, load.LoaderOptions{Table: "events"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := l.Load(context.Background(), tables[0], files)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Files {
		fmt.Println(f.Status, f.RowsLoaded, "of", f.File.Rows)
	}

	rows, err := db.Query(`SELECT ID, USER_NAME, USER_LANGS, AMOUNT, NOTE FROM events ORDER BY ID`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, amount string
		var langs, note *string
		if err := rows.Scan(&id, &name, &langs, &amount, &note); err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, name, deref(langs), amount, deref(note))
	}
	// Output:
	// LOADED 2 of 2
	// 1 ada ["en","fr"] 10.50 NULL
	// 2 grace NULL 7.25 second
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}
