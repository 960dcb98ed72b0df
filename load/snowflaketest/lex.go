package snowflaketest

import (
	"strings"
)

// tokKind classifies a token of Snowflake SQL text.
type tokKind int

const (
	tkSpace  tokKind = iota // whitespace and comments
	tkWord                  // unquoted identifier or keyword
	tkQuoted                // "quoted identifier"
	tkString                // 'string literal' (also $$dollar$$ strings)
	tkNumber                // numeric literal
	tkStage                 // @stage reference, including its path
	tkParam                 // ? or :1 bind placeholder
	tkPunct                 // any other character or operator
)

// token is one lexical unit; text is its source text.
type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the statement
}

// upper returns the upper-cased text of a word token, or "" for other kinds.
func (t token) upper() string {
	if t.kind != tkWord {
		return ""
	}
	return strings.ToUpper(t.text)
}

// is reports whether t is the keyword kw (case-insensitive).
func (t token) is(kw string) bool { return t.kind == tkWord && strings.EqualFold(t.text, kw) }

// lex splits Snowflake SQL into tokens. It never fails: an unterminated
// literal runs to the end of the text, and DuckDB reports the syntax error.
func lex(s string) []token {
	var toks []token
	i := 0
	for i < len(s) {
		start := i
		c := s[i]
		var k tokKind
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			for i < len(s) && strings.IndexByte(" \t\n\r\f", s[i]) >= 0 {
				i++
			}
			k = tkSpace
		case c == '-' && strings.HasPrefix(s[i:], "--"), c == '/' && strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			k = tkSpace
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 4
			}
			k = tkSpace
		case c == '\'':
			i++
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					i += 2
					continue
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			k = tkString
		case c == '$' && strings.HasPrefix(s[i:], "$$"):
			j := strings.Index(s[i+2:], "$$")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 4
			}
			k = tkString
		case c == '"':
			i++
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			k = tkQuoted
		case c == '@':
			i++
			depth := 0
			for i < len(s) {
				ch := s[i]
				if ch == '"' {
					j := strings.IndexByte(s[i+1:], '"')
					if j < 0 {
						i = len(s)
						break
					}
					i += j + 2
					continue
				}
				if ch == '(' {
					depth++
				}
				if ch == ')' {
					if depth == 0 {
						break
					}
					depth--
				}
				if strings.IndexByte(" \t\n\r;,'", ch) >= 0 {
					break
				}
				i++
			}
			k = tkStage
		case c == '?':
			i++
			k = tkParam
		case c == ':' && i+1 < len(s) && isDigit(s[i+1]) && (i == 0 || s[i-1] != ':'):
			i++
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			k = tkParam
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
				i++
			}
			if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
				j := i + 1
				if j < len(s) && (s[j] == '+' || s[j] == '-') {
					j++
				}
				if j < len(s) && isDigit(s[j]) {
					i = j
					for i < len(s) && isDigit(s[i]) {
						i++
					}
				}
			}
			k = tkNumber
		case isWordStart(c):
			for i < len(s) && isWordChar(s[i]) {
				i++
			}
			k = tkWord
		default:
			i++
			if i < len(s) {
				switch s[start : i+1] {
				case "::", "||", "<=", ">=", "<>", "!=", "->", "=>":
					i++
				}
			}
			k = tkPunct
		}
		toks = append(toks, token{kind: k, text: s[start:i], pos: start})
	}
	return toks
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isWordStart(c byte) bool { return c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isWordChar(c byte) bool  { return isWordStart(c) || isDigit(c) || c == '$' }

// words returns the non-space tokens of toks.
func words(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tkSpace {
			out = append(out, t)
		}
	}
	return out
}

// identName returns the Snowflake name of an identifier token: unquoted
// names fold to upper case, quoted names keep their case.
func identName(t token) string {
	switch t.kind {
	case tkQuoted:
		body := strings.TrimSuffix(strings.TrimPrefix(t.text, `"`), `"`)
		return strings.ReplaceAll(body, `""`, `"`)
	default:
		return strings.ToUpper(t.text)
	}
}

// quoteIdent quotes a name for DuckDB.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteString quotes a string literal for DuckDB.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// unquoteString returns the value of a string literal token.
func unquoteString(text string) string {
	if strings.HasPrefix(text, "$$") {
		return strings.TrimSuffix(text[2:], "$$")
	}
	if len(text) < 2 {
		return ""
	}
	body := strings.TrimSuffix(text[1:], "'")
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\'' && i+1 < len(body) && body[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		if c == '\\' && i+1 < len(body) {
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(body[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
