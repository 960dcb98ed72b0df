package resilience

import "github.com/flatpipe/flatpipe/internal/enumtext"

// The enums of this package implement encoding.TextMarshaler and
// encoding.TextUnmarshaler with the names their String methods return.
// (AlertKind, Status and Unit are strings already.)

var (
	stateText = enumtext.Enum[State]{Type: "State", Err: ErrOptions, Names: []string{
		StateClosed: "closed", StateOpen: "open", StateHalfOpen: "half-open"}}
	outcomeText = enumtext.Enum[Outcome]{Type: "Outcome", Err: ErrOptions, Names: []string{
		Success: "success", Failure: "failure", Ignore: "ignore"}}
)

// String returns "closed", "open" or "half-open".
func (s State) String() string { return stateText.String(s) }

// MarshalText returns the name String returns.
func (s State) MarshalText() ([]byte, error) { return stateText.Marshal(s) }

// UnmarshalText sets s from "closed", "open" or "half-open".
func (s *State) UnmarshalText(text []byte) error { return stateText.Unmarshal(text, s) }

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string { return outcomeText.String(o) }

// MarshalText returns the name String returns.
func (o Outcome) MarshalText() ([]byte, error) { return outcomeText.Marshal(o) }

// UnmarshalText sets o from "success", "failure" or "ignore".
func (o *Outcome) UnmarshalText(text []byte) error { return outcomeText.Unmarshal(text, o) }
