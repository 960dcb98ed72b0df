package flatten

import "errors"

// Flattener flattens JSON documents. It is not safe for concurrent use; use
// one Flattener per goroutine.
type Flattener struct {
	opts Options
}

// New returns a Flattener for opts, or an error if opts is invalid.
func New(opts Options) (*Flattener, error) {
	return &Flattener{opts: opts}, nil
}

// Append flattens doc and appends its fields to dst.
func (f *Flattener) Append(dst []Field, doc []byte) ([]Field, error) {
	return dst, errors.New("flatten: not implemented yet")
}

// AppendRows flattens doc into rows (ArraysTables).
func (f *Flattener) AppendRows(dst []Row, doc []byte) ([]Row, error) {
	return dst, errors.New("flatten: not implemented yet")
}
