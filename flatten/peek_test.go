package flatten_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/flatpipe/flatpipe/flatten"
)

func TestPeek(t *testing.T) {
	doc := []byte(`{"type":"purchase","user":{"id":505874924095815681,"name":"Zo\u00eb"},"items":[{"sku":"x"}],"ok":true,"n":null}`)
	tests := []struct {
		keys []string
		want string
		kind flatten.Kind
	}{
		{[]string{"type"}, "purchase", flatten.String},
		{[]string{"user", "id"}, "505874924095815681", flatten.Number},
		{[]string{"user", "name"}, "Zoë", flatten.String},
		{[]string{"items", "[0]", "sku"}, "x", flatten.String},
		{[]string{"ok"}, "true", flatten.Bool},
		{[]string{"n"}, "null", flatten.Null},
		{[]string{"user"}, `{"id":505874924095815681,"name":"Zo\u00eb"}`, flatten.Object},
	}
	for _, tt := range tests {
		got, kind, err := flatten.Peek(doc, tt.keys...)
		if err != nil || string(got) != tt.want || kind != tt.kind {
			t.Errorf("Peek(%v) = %q, %v, %v; want %q, %v", tt.keys, got, kind, err, tt.want, tt.kind)
		}
	}
	if _, _, err := flatten.Peek(doc, "missing"); !errors.Is(err, flatten.ErrNotFound) {
		t.Errorf("Peek(missing) error = %v, want ErrNotFound", err)
	}
	if _, _, err := flatten.Peek([]byte(`{"a":`), "a"); err == nil || errors.Is(err, flatten.ErrNotFound) {
		t.Errorf("Peek(truncated) error = %v, want a syntax error", err)
	}
}

func ExamplePeek() {
	doc := []byte(`{"event":{"type":"refund"},"amount":-30.00}`)
	typ, _, err := flatten.Peek(doc, "event", "type")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(typ))
	// Output: refund
}

// FuzzPeek checks that Peek never panics, whatever the document and keys.
func FuzzPeek(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"c\u00e9"}}`), "a", "b")
	f.Add([]byte(`{"a":[1,{"b":2}]}`), "a", "[1]")
	f.Add([]byte(`{"a":`), "a", "")
	f.Fuzz(func(t *testing.T, doc []byte, k1, k2 string) {
		flatten.Peek(doc, k1)
		flatten.Peek(doc, k1, k2)
	})
}
