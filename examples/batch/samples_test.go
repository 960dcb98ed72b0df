package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/samples from the generator")

// sampleFiles generates the sample data kept in testdata/samples: orders
// (nested objects, arrays kept as VARIANT, decimals, timestamps, nulls; the
// second month gains a "coupon" key, so the table evolves), and click events
// of another shape in the same table. A few records of each file are bad on
// purpose: invalid JSON, nesting deeper than the job's limit, invalid UTF-8.
// The output is a pure function of the code (fixed seeds).
func sampleFiles() map[string][]byte {
	files := map[string][]byte{}
	id := 0
	files["orders-2026-01.ndjson.gz"] = genOrders(&id, 1, 1500, false, 1)
	files["orders-2026-02.ndjson.gz"] = genOrders(&id, 2, 1500, true, 2)
	files["clicks-2026-02.ndjson.gz"] = genClicks(&id, 1200, 3)
	return files
}

// genOrders generates n order records (ids from *id+1), some bad.
func genOrders(id *int, month, n int, coupons bool, seed uint64) []byte {
	cities := []string{"Lyon", "Zürich", "São Paulo", "Kraków", "Osaka", "Nairobi", "Reykjavík", "Austin"}
	names := []string{"Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", `Dennis "dmr"`, "Frances"}
	skus := []string{"A-100", "B-200", "C-300", "D-400", "E-500"}
	{
		r := rand.New(rand.NewPCG(seed, 1))
		var b bytes.Buffer
		for i := range n {
			*id++
			id := *id
			switch {
			case i%400 == 17:
				fmt.Fprintf(&b, "{\"id\":%d,\"type\":\"order\",\"customer\":{\"id\":%d,\n", id, r.IntN(1000))
				continue
			case i%500 == 250:
				fmt.Fprintf(&b, "{\"id\":%d,\"type\":\"order\",\"deep\":%s1%s}\n", id, strings.Repeat(`{"x":`, 80), strings.Repeat("}", 80))
				continue
			}
			cust := r.IntN(1000)
			fmt.Fprintf(&b, `{"id":%d,"type":"order","customer":{"id":%d,"name":%q,"address":{"city":%q,"zip":"%05d"}},`,
				id, cust, names[cust%len(names)], cities[cust%len(cities)], r.IntN(100000))
			b.WriteString(`"items":[`)
			total := 0
			for k := range 1 + r.IntN(3) {
				if k > 0 {
					b.WriteByte(',')
				}
				q, p := 1+r.IntN(5), 100+r.IntN(9900)
				total += q * p
				fmt.Fprintf(&b, `{"sku":%q,"qty":%d,"price":%d.%02d}`, skus[r.IntN(len(skus))], q, p/100, p%100)
			}
			fmt.Fprintf(&b, `],"total":%d.%02d,"placed_at":"2026-%02d-%02dT%02d:%02d:%02dZ","paid":%t`,
				total/100, total%100, month, 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(4) > 0)
			if r.IntN(5) == 0 {
				b.WriteString(`,"note":null`)
			} else if r.IntN(4) == 0 {
				fmt.Fprintf(&b, `,"note":"leave at door\tline %d\nsecond line, \"quoted\" \\ backslash"`, i)
			}
			if coupons && r.IntN(3) == 0 {
				fmt.Fprintf(&b, `,"coupon":"SAVE%d"`, 5*(1+r.IntN(4)))
			}
			b.WriteString("}\n")
		}
		return b.Bytes()
	}
}

// genClicks generates n click events (ids from *id+1), some bad.
func genClicks(id *int, n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	pages := []string{"/", "/cart", "/checkout", "/search?q=json+%26+go", "/p/ü"}
	for i := range n {
		*id++
		id := *id
		if i%300 == 123 {
			fmt.Fprintf(&b, "{\"id\":%d,\"type\":\"click\",\"session\":\"\xff\xfe\"}\n", id)
			continue
		}
		fmt.Fprintf(&b, `{"id":%d,"type":"click","session":"s-%06x","page":{"url":%q,"referrer":`, id, r.IntN(1<<24), pages[r.IntN(len(pages))])
		if r.IntN(3) == 0 {
			b.WriteString("null")
		} else {
			fmt.Fprintf(&b, "%q", "https://example.com"+pages[r.IntN(len(pages))])
		}
		fmt.Fprintf(&b, `},"ts":"2026-02-%02dT%02d:%02d:%02d.%03dZ","device":{"os":%q,"mobile":%t},"latency_ms":%d}`+"\n",
			1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000), []string{"linux", "ios", "android", "windows"}[r.IntN(4)], r.IntN(2) == 0, r.IntN(2000))
	}
	return b.Bytes()
}

// TestSamples checks that testdata/samples holds what the generator makes
// (decompressed, so a change in gzip's output does not matter); -update
// rewrites them.
func TestSamples(t *testing.T) {
	dir := filepath.Join("testdata", "samples")
	for name, want := range sampleFiles() {
		path := filepath.Join(dir, name)
		if *update {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			zw.Write(want)
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestSamples -update)", err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (run go test -run TestSamples -update)", path)
		}
	}
}
