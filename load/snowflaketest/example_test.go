package snowflaketest_test

import (
	"fmt"
	"log"

	"github.com/flatpipe/flatpipe/load/snowflaketest"
)

// A test starts an emulator and talks to it through the real gosnowflake
// driver with database/sql.
func ExampleNewServer() {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()

	if _, err := db.Exec("create table people (id int, name string)"); err != nil {
		log.Fatal(err)
	}
	res, err := db.Exec("insert into people values (?, ?), (?, ?)", 1, "ann", 2, "bob")
	if err != nil {
		log.Fatal(err)
	}
	n, _ := res.RowsAffected()
	fmt.Println("inserted", n)

	var name string
	if err := db.QueryRow("select name from people where id = ?", 2).Scan(&name); err != nil {
		log.Fatal(err)
	}
	fmt.Println(name)
	// Output:
	// inserted 2
	// bob
}

// Unsupported statements fail with a Snowflake-shaped error instead of
// succeeding silently.
func ExampleServer_OpenDB_unsupported() {
	srv, err := snowflaketest.NewServer(snowflaketest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	db := srv.OpenDB()
	defer db.Close()

	_, err = db.Exec("SHOW WAREHOUSES")
	fmt.Println(err)
	// Output:
	// 000002 (0A000): Unsupported feature 'SHOW WAREHOUSES' (snowflaketest does not implement it; see FIDELITY.md).
}
