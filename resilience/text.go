package resilience

import "fmt"

// The enums of this package implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return.
// (AlertKind, Status and Unit are strings already.)

var (
	stateNames   = []string{StateClosed: "closed", StateOpen: "open", StateHalfOpen: "half-open"}
	outcomeNames = []string{Success: "success", Failure: "failure", Ignore: "ignore"}
)

func marshalEnum(names []string, v int, typ string) ([]byte, error) {
	if v >= 0 && v < len(names) {
		return []byte(names[v]), nil
	}
	return nil, fmt.Errorf("%w: unknown %s %d", ErrOptions, typ, v)
}

func unmarshalEnum(names []string, text []byte, typ string) (int, error) {
	for i, n := range names {
		if string(text) == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown %s %q (want one of %q)", ErrOptions, typ, text, names)
}

// MarshalText returns the name String returns.
func (s State) MarshalText() ([]byte, error) { return marshalEnum(stateNames, int(s), "State") }

// UnmarshalText sets s from "closed", "open" or "half-open".
func (s *State) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(stateNames, text, "State")
	if err == nil {
		*s = State(v)
	}
	return err
}

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(?)"
}

// MarshalText returns the name String returns.
func (o Outcome) MarshalText() ([]byte, error) { return marshalEnum(outcomeNames, int(o), "Outcome") }

// UnmarshalText sets o from "success", "failure" or "ignore".
func (o *Outcome) UnmarshalText(text []byte) error {
	v, err := unmarshalEnum(outcomeNames, text, "Outcome")
	if err == nil {
		*o = Outcome(v)
	}
	return err
}
