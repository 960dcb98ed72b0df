package enumtext

import (
	"errors"
	"testing"
)

var errOpts = errors.New("test: invalid options")

type color uint8

type level int

var (
	colorText = Enum[color]{Type: "Color", Names: []string{1: "red", 2: "green", 3: "red"}, Err: errOpts}
	levelText = Enum[level]{Type: "Level", Names: []string{"low", "high"}, Err: errOpts}
)

func TestString(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{colorText.String(1), "red"},
		{colorText.String(2), "green"},
		{colorText.String(3), "red"},
		{colorText.String(0), "Color(0)"},
		{colorText.String(200), "Color(200)"},
		{levelText.String(1), "high"},
		{levelText.String(-1), "Level(-1)"},
		{levelText.String(2), "Level(2)"},
	} {
		if tt.got != tt.want {
			t.Errorf("String = %q, want %q", tt.got, tt.want)
		}
	}
}

func TestMarshal(t *testing.T) {
	if b, err := colorText.Marshal(2); string(b) != "green" || err != nil {
		t.Errorf("Marshal(2) = %q, %v, want green", b, err)
	}
	for _, v := range []color{0, 4, 255} {
		if b, err := colorText.Marshal(v); !errors.Is(err, errOpts) || b != nil {
			t.Errorf("Marshal(%d) = %q, %v, want an error wrapping errOpts", v, b, err)
		}
	}
	if _, err := levelText.Marshal(-3); err == nil || err.Error() != "test: invalid options: unknown Level(-3)" {
		t.Errorf("Marshal(-3) error = %v", err)
	}
}

func TestUnmarshal(t *testing.T) {
	for _, tt := range []struct {
		text string
		want color
	}{
		{"green", 2},
		{"red", 3}, // the last of equal names
	} {
		var c color
		if err := colorText.Unmarshal([]byte(tt.text), &c); err != nil || c != tt.want {
			t.Errorf("Unmarshal(%q) = %d, %v, want %d", tt.text, c, err, tt.want)
		}
	}
	c := color(2)
	for _, text := range []string{"", "Red", "Color(1)", "blue"} {
		err := colorText.Unmarshal([]byte(text), &c)
		if !errors.Is(err, errOpts) || c != 2 {
			t.Errorf("Unmarshal(%q) = %d, %v, want 2 unchanged and an error wrapping errOpts", text, c, err)
		}
	}
	err := colorText.Unmarshal([]byte("blue"), &c)
	if want := `test: invalid options: unknown Color "blue" (want red or green)`; err == nil || err.Error() != want {
		t.Errorf("Unmarshal(blue) error = %v, want %s", err, want)
	}
	var l level
	if err := levelText.Unmarshal([]byte("high"), &l); err != nil || l != 1 {
		t.Errorf("Unmarshal(high) = %d, %v, want 1", l, err)
	}
}

// TestRoundTrip: every named value marshals to its String and back to a
// value with that name.
func TestRoundTrip(t *testing.T) {
	for v := range color(len(colorText.Names)) {
		if colorText.Names[v] == "" {
			continue
		}
		b, err := colorText.Marshal(v)
		if err != nil || string(b) != colorText.String(v) {
			t.Fatalf("Marshal(%d) = %q, %v, want %q", v, b, err, colorText.String(v))
		}
		var back color
		if err := colorText.Unmarshal(b, &back); err != nil || colorText.String(back) != string(b) {
			t.Errorf("Unmarshal(%q) = %d, %v", b, back, err)
		}
	}
}
