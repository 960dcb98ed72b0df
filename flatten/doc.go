// Package flatten turns one JSON document into flat fields: a path and a value
// per leaf, with zero heap allocations per document in steady state.
package flatten
