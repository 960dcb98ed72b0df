package resilience

import "errors"

// ErrOptions is wrapped by every error a constructor returns for invalid
// options or arguments.
var ErrOptions = errors.New("resilience: invalid options")

// ErrPreconditionFailed is what an ObjectStore returns (wrapped or as is)
// when a conditional write's condition does not hold: HTTP 412
// PreconditionFailed, and also 409 ConditionalRequestConflict, which S3
// returns when two conditional writes to one key race.
var ErrPreconditionFailed = errors.New("resilience: precondition failed")

// ErrNotFound is what an ObjectStore returns (wrapped or as is) for a
// missing object, and what checkpoint stores return for a missing checkpoint.
var ErrNotFound = errors.New("resilience: not found")
