package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

var subtreeTests = []struct{ doc, want string }{
	{`{"m":{"1":{"name":"a","n":1},"2":{"name":"b"}},"x":1}`, `{"1":{"name":"a","n":1},"2":{"name":"b"}}`},
	{`{"m":{"a":{"b":{"c":1}},"d":[1,{}],"e":{},"f":null,"g":"q\"\n"}}`, `{"a":{"b":{"c":1}},"d":[1,{}],"e":{},"f":null,"g":"q\"\n"}`},
	{`{"m":{}}`, `{}`},
	{`{"m":"scalar"}`, `"scalar"`},
	{`{"x":1}`, `null`},
	{`{"m":{"a":{"b":1,"c":{"d":2}},"e":3}}`, `{"a":{"b":1,"c":{"d":2}},"e":3}`},
	{`{"m":{"t\tk\u0001\"\\":"l\nr\r"}}`, `{"t\tk\u0001\"\\":"l\nr\r"}`},
}

func TestAppendSubtree(t *testing.T) {
	f, _ := flatten.New(flatten.Options{})
	for _, tt := range subtreeTests {
		fields, err := f.Append(nil, []byte(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendSubtree(nil, fields, "m", ".")); got != tt.want {
			t.Errorf("AppendSubtree(%s) = %s, want %s", tt.doc, got, tt.want)
		}
	}
}

func decodeNumber(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// FuzzAppendSubtree checks that flattening {"m": doc} and rebuilding m gives
// doc back (encoding/json as the oracle).
func FuzzAppendSubtree(f *testing.F) {
	for _, tt := range subtreeTests {
		f.Add([]byte(tt.want))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		want, err := decodeNumber(doc)
		if err != nil || bytes.Contains(doc, []byte(`\u0000`)) || bytes.IndexByte(doc, 0) >= 0 {
			return
		}
		if _, ok := want.(map[string]any); !ok {
			return
		}
		fl, _ := flatten.New(flatten.Options{Separator: "\x00"})
		wrapped := append(append([]byte(`{"m":`), doc...), '}')
		fields, err := fl.Append(nil, wrapped)
		if err != nil {
			return // duplicate keys, invalid UTF-8, ...
		}
		out := AppendSubtree(nil, fields, "m", "\x00")
		got, err := decodeNumber(out)
		if err != nil {
			t.Fatalf("AppendSubtree(%s) = %s, not JSON: %v", doc, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("AppendSubtree(%s) = %s", doc, out)
		}
	})
}
