package schema

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxIdentLength is Snowflake's limit on the length of an identifier.
const MaxIdentLength = 255

// Case selects the letter case of normalized names.
type Case uint8

const (
	// Upper upper-cases ASCII letters, as Snowflake resolves unquoted
	// identifiers. Default.
	Upper Case = iota
	// Preserve keeps the case of ASCII letters.
	Preserve
)

// NameOptions configures Normalize and a Namer. The zero value is the default.
type NameOptions struct {
	// Separator is the flattener's path separator; it becomes "_". Default ".".
	Separator string
	// Case of ASCII letters. Default Upper.
	Case Case
	// MaxLength is the longest name made; longer names are cut and given a
	// hash suffix. Default and maximum MaxIdentLength. At least 16.
	MaxLength int
}

func (o NameOptions) withDefaults() (NameOptions, error) {
	if o.Separator == "" {
		o.Separator = "."
	}
	if o.MaxLength == 0 {
		o.MaxLength = MaxIdentLength
	}
	if o.MaxLength < 16 || o.MaxLength > MaxIdentLength {
		return o, fmt.Errorf("%w: MaxLength %d not in [16, %d]", ErrOptions, o.MaxLength, MaxIdentLength)
	}
	if o.Case > Preserve {
		return o, fmt.Errorf("%w: unknown Case %d", ErrOptions, o.Case)
	}
	return o, nil
}

// pathHash is the stable hash used in name suffixes: 64-bit FNV-1a of the path.
func pathHash(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()
}

func appendHashSuffix(dst []byte, path string) []byte {
	var b [8]byte
	h := pathHash(path)
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	var x [8]byte
	hex.Encode(x[:], b[:4])
	dst = append(dst, '_')
	return append(dst, strings.ToUpper(string(x[:]))...)
}

// Normalize appends the column name for path to dst (see the package
// documentation, "Identifiers"). It does not resolve collisions; a Namer does.
// Invalid options are replaced by their defaults.
func Normalize(dst []byte, path string, o NameOptions) []byte {
	o, err := o.withDefaults()
	if err != nil {
		o = NameOptions{Separator: o.Separator}
		o, _ = o.withDefaults()
	}
	start := len(dst)
	for i := 0; i < len(path); {
		if strings.HasPrefix(path[i:], o.Separator) {
			dst = append(dst, '_')
			i += len(o.Separator)
			continue
		}
		c := path[i]
		switch {
		case c >= 'a' && c <= 'z':
			if o.Case == Upper {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '$':
			dst = append(dst, c)
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, '_')
			i++
		default:
			_, n := utf8.DecodeRuneInString(path[i:])
			dst = append(dst, '_')
			i += n
		}
	}
	if len(dst) == start || (dst[start] >= '0' && dst[start] <= '9') || dst[start] == '$' {
		dst = append(dst, 0)
		copy(dst[start+1:], dst[start:])
		dst[start] = '_'
	}
	if len(dst)-start > o.MaxLength {
		dst = dst[:start+o.MaxLength-9]
		dst = appendHashSuffix(dst, path)
	}
	return dst
}

// QuoteIdent appends name as a double-quoted Snowflake identifier to dst,
// doubling every embedded double quote. Invalid UTF-8 is replaced by U+FFFD
// and NUL by U+FFFD, so the result is always one well-formed identifier.
func QuoteIdent(dst []byte, name string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(name); {
		c := name[i]
		if c == '"' {
			dst = append(dst, '"', '"')
			i++
			continue
		}
		if c != 0 && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(name[i:])
		if c == 0 || r == utf8.RuneError && n == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, name[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// QuoteString appends s as a single-quoted Snowflake string literal to dst:
// a quote is doubled, a backslash doubled, control characters written as
// \xHH escapes, invalid UTF-8 replaced by U+FFFD.
func QuoteString(dst []byte, s string) []byte {
	const hexd = "0123456789ABCDEF"
	dst = append(dst, '\'')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			dst = append(dst, '\'', '\'')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', hexd[c>>4], hexd[c&15])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(dst, '\'')
}

// Mapping is one entry of a saved path → column name mapping.
type Mapping struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// Collision reports that Path normalized to a name already used by Other and
// was given Name instead.
type Collision struct {
	Path  string // the path that lost the plain name
	Other string // the path that holds it
	Plain string // the normalized name both wanted
	Name  string // the name Path got
}

func (c Collision) String() string {
	return fmt.Sprintf("path %q and %q both normalize to %s; %q is named %s", c.Other, c.Path, c.Plain, c.Path, c.Name)
}

// A Namer maps paths to unique column names of one table and remembers the
// mapping. Load it with the table's existing mapping (Load, or NewNamer's
// reserved names) before naming new paths, so the names of the paths already
// in the table do not change.
//
// A Namer is not safe for concurrent use.
type Namer struct {
	opts       NameOptions
	byPath     map[string]string
	byName     map[string]string // name → path ("" path and reserved: see reserved)
	reserved   map[string]bool
	collisions []Collision
	buf        []byte
}

// NewNamer returns a Namer with no mapping. Names in reserved (system
// columns such as "_ID") are never given to a path.
func NewNamer(o NameOptions, reserved ...string) (*Namer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Namer{opts: o, byPath: map[string]string{}, byName: map[string]string{}, reserved: map[string]bool{}}
	for _, r := range reserved {
		n.reserved[r] = true
	}
	return n, nil
}

// ErrMapping reports a mapping that maps one path to two names or two paths
// to one name.
var ErrMapping = errors.New("schema: inconsistent name mapping")

// Load adds saved or existing mappings. It fails, leaving n unchanged, if an
// entry would map one path to two names or two paths to one name.
func (n *Namer) Load(ms []Mapping) error {
	for i, m := range ms {
		if m.Name == "" {
			return fmt.Errorf("%w: empty name for path %q", ErrMapping, m.Path)
		}
		if old, ok := n.byPath[m.Path]; ok && old != m.Name {
			return fmt.Errorf("%w: path %q named %s and %s", ErrMapping, m.Path, old, m.Name)
		}
		if old, ok := n.byName[m.Name]; ok && old != m.Path || n.reserved[m.Name] {
			return fmt.Errorf("%w: name %s used by path %q and %q", ErrMapping, m.Name, old, m.Path)
		}
		for _, p := range ms[:i] {
			if p.Name == m.Name && p.Path != m.Path || p.Path == m.Path && p.Name != m.Name {
				return fmt.Errorf("%w: entries %q→%s and %q→%s", ErrMapping, p.Path, p.Name, m.Path, m.Name)
			}
		}
	}
	for _, m := range ms {
		n.byPath[m.Path] = m.Name
		n.byName[m.Name] = m.Path
	}
	return nil
}

// Lookup returns the name mapped to path, if any. It does not allocate.
func (n *Namer) Lookup(path []byte) (string, bool) {
	s, ok := n.byPath[string(path)]
	return s, ok
}

func (n *Namer) taken(name string) bool {
	_, ok := n.byName[name]
	return ok || n.reserved[name]
}

// Name returns path's name, assigning one if path has none: the normalized
// name if free, else the normalized name with a hash suffix of the path (a
// Collision is recorded). Assigning is deterministic given the mapping so
// far; NameAll makes it independent of the order of new paths.
func (n *Namer) Name(path string) string {
	if s, ok := n.byPath[path]; ok {
		return s
	}
	n.buf = Normalize(n.buf[:0], path, n.opts)
	plain := string(n.buf)
	name := plain
	if n.taken(name) {
		cut := len(n.buf)
		if cut > n.opts.MaxLength-9 {
			cut = n.opts.MaxLength - 9
		}
		n.buf = appendHashSuffix(n.buf[:cut], path)
		name = string(n.buf)
		for k := 2; n.taken(name); k++ {
			suffix := fmt.Sprintf("_%d", k)
			base := string(n.buf)
			if len(base)+len(suffix) > n.opts.MaxLength {
				base = base[:n.opts.MaxLength-len(suffix)]
			}
			name = base + suffix
		}
		n.collisions = append(n.collisions, Collision{Path: path, Other: n.byName[plain], Plain: plain, Name: name})
	}
	n.byPath[path] = name
	n.byName[name] = path
	return name
}

// NameAll names every path of paths that has no name yet, in byte order of
// the paths, so the result does not depend on the order paths were seen.
func (n *Namer) NameAll(paths []string) {
	ps := slices.Clone(paths)
	slices.Sort(ps)
	for _, p := range ps {
		n.Name(p)
	}
}

// Collisions returns the collisions resolved so far, in the order they were.
func (n *Namer) Collisions() []Collision { return slices.Clone(n.collisions) }

// Mappings returns the mapping, sorted by path, for saving (it marshals to
// JSON) and for Load.
func (n *Namer) Mappings() []Mapping {
	ms := make([]Mapping, 0, len(n.byPath))
	for p, s := range n.byPath {
		ms = append(ms, Mapping{Path: p, Name: s})
	}
	slices.SortFunc(ms, func(a, b Mapping) int { return strings.Compare(a.Path, b.Path) })
	return ms
}
