package flatten

import (
	"strconv"
)

func (f *Flattener) syntaxErr(off int, msg string) error {
	return &SyntaxError{Offset: int64(off), Path: string(f.path), Err: &syntaxMsg{msg}}
}

func (f *Flattener) nestingErr(off int) error {
	return &PathError{Offset: int64(off), Path: string(f.path), Err: ErrNesting}
}

// syntaxMsg is a syntax error's description; it wraps ErrSyntax.
type syntaxMsg struct{ msg string }

func (e *syntaxMsg) Error() string { return "flatten: " + e.msg }
func (e *syntaxMsg) Unwrap() error { return ErrSyntax }

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}
