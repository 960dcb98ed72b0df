package flatten_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/flatpipe/flatpipe/flatten"
)

func TestPeek(t *testing.T) {
	doc := []byte(`{"type":"purchase","user":{"id":505874924095815681,"name":"Zo\u00eb"},"items":[{"sku":"x"}, 2],"ok":true,"n":null,"e\u0078":1}`)
	tests := []struct {
		keys []string
		want string
		kind flatten.Kind
	}{
		{[]string{"type"}, "purchase", flatten.String},
		{[]string{"user", "id"}, "505874924095815681", flatten.Number},
		{[]string{"user", "name"}, "Zoë", flatten.String},
		{[]string{"items", "[0]", "sku"}, "x", flatten.String},
		{[]string{"items", "[1]"}, "2", flatten.Number},
		{[]string{"ok"}, "true", flatten.Bool},
		{[]string{"n"}, "null", flatten.Null},
		{[]string{"ex"}, "1", flatten.Number},
		{[]string{"user"}, `{"id":505874924095815681,"name":"Zo\u00eb"}`, flatten.Object},
	}
	var f flatten.Flattener
	for _, tt := range tests {
		got, kind, err := f.Peek(doc, tt.keys...)
		if err != nil || string(got) != tt.want || kind != tt.kind {
			t.Errorf("Peek(%v) = %q, %v, %v; want %q, %v", tt.keys, got, kind, err, tt.want, tt.kind)
		}
	}
	for _, keys := range [][]string{{"missing"}, {"items", "[2]"}, {"items", "0"}, {"items", "[01]"}, {"items", "[-1]"}, {"type", "x"}} {
		if _, _, err := f.Peek(doc, keys...); !errors.Is(err, flatten.ErrNotFound) {
			t.Errorf("Peek(%q) error = %v, want ErrNotFound", keys, err)
		}
	}
}

// TestPeekIsStrict checks that Peek rejects what Append rejects, even past
// the value it was asked for, and refuses to pick one of duplicate keys.
func TestPeekIsStrict(t *testing.T) {
	var f flatten.Flattener
	for _, doc := range []string{`{"a":1,}`, `{"a":1} x`, `{"a":1,"b":[1,]}`, "{\"a\":1,\"b\":\"\xff\"}", "\xef\xbb\xbf{\"a\":1}", ``, ` `} {
		if _, _, err := f.Peek([]byte(doc), "a"); !errors.Is(err, flatten.ErrSyntax) {
			t.Errorf("Peek(%q, a) error = %v, want ErrSyntax", doc, err)
		}
		if _, err := f.Append(nil, []byte(doc)); !errors.Is(err, flatten.ErrSyntax) {
			t.Errorf("Append(%q) error = %v, want ErrSyntax (the premise of this test)", doc, err)
		}
	}
	_, _, err := f.Peek([]byte(`{"a":{"b":1,"b":2}}`), "a", "b")
	var pe *flatten.PathError
	if !errors.As(err, &pe) || !errors.Is(err, flatten.ErrCollision) || pe.Path != "a.b" {
		t.Errorf("Peek(duplicate key) error = %v, want a collision at a.b", err)
	}
	if v, _, err := f.Peek([]byte(`{"a":{"b":1,"b":2},"c":3}`), "c"); err != nil || string(v) != "3" {
		t.Errorf("Peek(c) beside a duplicate elsewhere = %q, %v, want 3", v, err)
	}
}

func TestPeekNoAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts are not meaningful under -race or coverage")
	}
	doc := []byte(`{"type":"p\u00e9","items":[{"sku":"x"},{"sku":"y"}],"n":1}`)
	var f flatten.Flattener
	f.Peek(doc, "type")
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := f.Peek(doc, "items", "[1]", "sku"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Peek(doc, "type"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Peek allocates %v times per call, want 0", allocs)
	}
}

func ExampleFlattener_Peek() {
	doc := []byte(`{"event":{"type":"refund"},"amount":-30.00}`)
	var f flatten.Flattener
	typ, _, err := f.Peek(doc, "event", "type")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(typ))
	// Output: refund
}

// node is the oracle's view of a JSON value: duplicate keys are kept.
type node struct {
	Kind    flatten.Kind
	Text    string // scalars: the string's value or the literal
	Keys    []string
	Members []*node // object members (with Keys) or array elements
}

// decodeNode reads one value with encoding/json's tokenizer.
func decodeNode(d *json.Decoder) (*node, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		n := &node{Kind: flatten.Array}
		if tok == '{' {
			n.Kind = flatten.Object
		}
		for d.More() {
			if n.Kind == flatten.Object {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.Keys = append(n.Keys, k.(string))
			}
			m, err := decodeNode(d)
			if err != nil {
				return nil, err
			}
			n.Members = append(n.Members, m)
		}
		_, err := d.Token()
		return n, err
	case string:
		return &node{Kind: flatten.String, Text: tok}, nil
	case json.Number:
		return &node{Kind: flatten.Number, Text: string(tok)}, nil
	case bool:
		return &node{Kind: flatten.Bool, Text: strconv.FormatBool(tok)}, nil
	}
	return &node{Kind: flatten.Null, Text: "null"}, nil
}

func decodeDoc(b []byte) (*node, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return decodeNode(d)
}

// oraclePeek navigates the oracle's tree: the value, ErrNotFound or
// ErrCollision.
func oraclePeek(n *node, keys []string) (*node, error) {
	for _, k := range keys {
		switch n.Kind {
		case flatten.Object:
			var found *node
			for i, key := range n.Keys {
				if key == k {
					if found != nil {
						return nil, flatten.ErrCollision
					}
					found = n.Members[i]
				}
			}
			if found == nil {
				return nil, flatten.ErrNotFound
			}
			n = found
		case flatten.Array:
			if len(k) < 2 {
				return nil, flatten.ErrNotFound
			}
			i, err := strconv.Atoi(k[1 : len(k)-1])
			if err != nil || "["+strconv.Itoa(i)+"]" != k || i < 0 || i >= len(n.Members) {
				return nil, flatten.ErrNotFound
			}
			n = n.Members[i]
		default:
			return nil, flatten.ErrNotFound
		}
	}
	return n, nil
}

// FuzzPeek compares Peek with an oracle built on encoding/json: a document
// encoding/json rejects is a syntax error for Peek; a valid UTF-8 document it
// accepts is not, and then Peek finds what the oracle finds (the same value,
// ErrNotFound or a collision).
func FuzzPeek(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"c\u00e9"}}`), "a", "b")
	f.Add([]byte(`{"a":[1,{"b":2}]}`), "a", "[1]")
	f.Add([]byte(`{"a":{"b":1,"b":2}}`), "a", "b")
	f.Add([]byte(`{"a": [ {"x" : [1, 2.5e3, "\ud800"]} ] }`), "a", "[0]")
	f.Add([]byte(`{"a":`), "a", "")
	f.Add([]byte(`[true,null,{}]`), "[2]", "")
	var fl flatten.Flattener
	f.Fuzz(func(t *testing.T, doc []byte, k1, k2 string) {
		for _, keys := range [][]string{{k1}, {k1, k2}} {
			v, kind, err := fl.Peek(doc, keys...)
			if !json.Valid(doc) {
				if !errors.Is(err, flatten.ErrSyntax) {
					t.Fatalf("Peek(%q, %q) on invalid JSON = %q, %v, want ErrSyntax", doc, keys, v, err)
				}
				continue
			}
			if !utf8.Valid(doc) || bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) {
				continue // flatten is stricter than encoding/json here
			}
			want, err0 := decodeDoc(doc)
			if err0 != nil {
				t.Fatalf("oracle cannot decode a valid document %q: %v", doc, err0)
			}
			if errors.Is(err, flatten.ErrNesting) {
				continue // beyond MaxNesting
			}
			wantNode, wantErr := oraclePeek(want, keys)
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Fatalf("Peek(%q, %q) = %q, %v, want %v", doc, keys, v, err, wantErr)
				}
				continue
			}
			if err != nil || kind != wantNode.Kind {
				t.Fatalf("Peek(%q, %q) = %q, %v, %v, want kind %v", doc, keys, v, kind, err, wantNode.Kind)
			}
			switch kind {
			case flatten.Object, flatten.Array:
				got, err := decodeDoc(v)
				if err != nil || !reflect.DeepEqual(got, wantNode) {
					t.Fatalf("Peek(%q, %q) = %s, which is not the oracle's value", doc, keys, v)
				}
			default:
				if string(v) != wantNode.Text {
					t.Fatalf("Peek(%q, %q) = %q, want %q", doc, keys, v, wantNode.Text)
				}
			}
		}
	})
}
