package snowflaketest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// namedFormat is a CREATE FILE FORMAT definition.
type namedFormat struct {
	key, db, sch, name string
	typ                string
	opts               []string          // "KEY = value" source texts, in order
	parsed             map[string]optVal // the same, parsed
	created            time.Time
	owner, comment     string
}

// fileFormatDDL answers CREATE [OR REPLACE] [TEMPORARY] FILE FORMAT [IF NOT
// EXISTS] name [TYPE = …] [options] [COMMENT = '…'] and DROP FILE FORMAT
// [IF EXISTS] name. The options are validated as a COPY would validate
// them.
func (e *Emulator) fileFormatDDL(ctx context.Context, s *session, d ddlArgs) (*result, error) {
	key, db, sch, name, err := objectKey(s, d.names)
	if err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	old := e.ext.formats[key]
	e.ext.mu.Unlock()
	switch d.verb {
	case "DROP":
		if old == nil {
			return missingObject(d, "File format", key, name)
		}
		e.ext.mu.Lock()
		delete(e.ext.formats, key)
		e.ext.mu.Unlock()
		return status(name + " successfully dropped."), nil
	case "ALTER":
		return nil, unsupported("ALTER FILE FORMAT")
	}
	if old != nil && !d.replace {
		return objectExists(d, name)
	}
	f := &namedFormat{key: key, db: db, sch: sch, name: name, created: e.now(), owner: s.role}
	ws := d.ws
	opts, end, err := parseOptions(ws, d.end)
	if err != nil {
		return nil, err
	}
	if end < len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error line 1 at position %d unexpected '%s'.", ws[end].pos, ws[end].text)
	}
	if c, ok := opts["COMMENT"]; ok {
		f.comment = c.s
		delete(opts, "COMMENT")
	}
	if _, ok := opts["FORMAT_NAME"]; ok {
		return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid property 'FORMAT_NAME' for 'FILE FORMAT'")
	}
	if _, err := buildFormat(opts); err != nil {
		return nil, err
	}
	f.typ = "CSV"
	if t, ok := opts["TYPE"]; ok {
		f.typ = strings.ToUpper(t.s)
	}
	f.parsed = opts
	// Keep each option's source text, to inline it where the format is named.
	for i := d.end; i < len(ws); {
		j := i + 1
		if j < len(ws) && ws[j].text == "=" {
			j++
		}
		if j < len(ws) && ws[j].text == "(" {
			depth := 0
			for ; j < len(ws); j++ {
				if ws[j].text == "(" {
					depth++
				} else if ws[j].text == ")" {
					depth--
					if depth == 0 {
						break
					}
				}
			}
		}
		if j >= len(ws) {
			j = len(ws) - 1
		}
		src := d.text[ws[i].pos : ws[j].pos+len(ws[j].text)]
		if !ws[i].is("COMMENT") {
			f.opts = append(f.opts, src)
		}
		i = j + 1
		if i < len(ws) && ws[i].text == "," {
			i++
		}
	}
	e.ext.mu.Lock()
	e.ext.formats[key] = f
	e.ext.mu.Unlock()
	return status("File format " + name + " successfully created."), nil
}

// lookupFormat resolves a format name.
func (e *Emulator) lookupFormat(s *session, names []string) (*namedFormat, error) {
	key, _, _, _, err := objectKey(s, names)
	if err != nil {
		return nil, err
	}
	e.ext.mu.Lock()
	f := e.ext.formats[key]
	e.ext.mu.Unlock()
	if f == nil {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nFile format '%s' does not exist or not authorized.", strings.Join(names, "."))
	}
	return f, nil
}

// inlineFormatNames rewrites FILE_FORMAT = (FORMAT_NAME = 'f' …) and
// FILE_FORMAT = f in COPY, CREATE STAGE, ALTER STAGE and CREATE PIPE into
// the named format's options, so the rest of the emulator sees an inline
// file format. It reports whether it changed the statement.
func (e *Emulator) inlineFormatNames(s *session, req **queryRequest, toks, ws *[]token) (bool, error) {
	w := *ws
	switch {
	case w[0].is("COPY"), w[0].is("CREATE"), w[0].is("ALTER"):
	default:
		return false, nil
	}
	text := (*req).SQLText
	tk := *toks
	var b strings.Builder
	last := 0
	changed := false
	for i := 0; i < len(tk); i++ {
		if !tk[i].is("FILE_FORMAT") {
			continue
		}
		eq := nextTok(tk, i+1)
		if eq < 0 || tk[eq].text != "=" {
			continue
		}
		v := nextTok(tk, eq+1)
		if v < 0 {
			continue
		}
		var names []string
		var rest []string
		endTok := v
		if tk[v].text == "(" {
			c := matchingParen(tk, v)
			if c < 0 {
				continue
			}
			endTok = c
			inner := words(tk[v+1 : c])
			for j := 0; j < len(inner); j++ {
				if inner[j].is("FORMAT_NAME") {
					k := j + 1
					if k < len(inner) && inner[k].text == "=" {
						k++
					}
					if k >= len(inner) {
						return false, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: FORMAT_NAME needs a value")
					}
					if inner[k].kind == tkString {
						for _, t := range words(lex(unquoteString(inner[k].text))) {
							if t.text != "." {
								names = append(names, identName(t))
							}
						}
						k++
					} else {
						var n int
						names, n = parseName(inner, k)
						k = n
					}
					// Keep the other options, in their source text.
					if j > 0 {
						rest = append(rest, text[inner[0].pos:inner[j-1].pos+len(inner[j-1].text)])
					}
					if k < len(inner) {
						rest = append(rest, text[inner[k].pos:inner[len(inner)-1].pos+len(inner[len(inner)-1].text)])
					}
					break
				}
			}
			if names == nil {
				continue
			}
			for _, r := range rest {
				if slices.ContainsFunc(words(lex(r)), func(t token) bool { return t.is("TYPE") }) {
					return false, sqlErr(errFileFormat, "22023", "SQL compilation error:\nFORMAT_NAME and TYPE are mutually exclusive in the file format specification.")
				}
			}
		} else if tk[v].kind == tkWord || tk[v].kind == tkQuoted || tk[v].kind == tkString {
			if tk[v].kind == tkString {
				for _, t := range words(lex(unquoteString(tk[v].text))) {
					if t.text != "." {
						names = append(names, identName(t))
					}
				}
			} else {
				var n int
				names, n = nameAt(tk, v)
				endTok = n - 1
			}
		} else {
			continue
		}
		f, err := e.lookupFormat(s, names)
		if err != nil {
			return false, err
		}
		b.WriteString(text[last:tk[v].pos])
		b.WriteString("(" + strings.Join(append(append([]string{}, f.opts...), rest...), " ") + ")")
		last = tk[endTok].pos + len(tk[endTok].text)
		changed = true
		i = endTok
	}
	if !changed {
		return false, nil
	}
	b.WriteString(text[last:])
	nr := **req
	nr.SQLText = b.String()
	*req = &nr
	*toks = lex(nr.SQLText)
	nws := stageStrings(words(*toks))
	for len(nws) > 0 && nws[len(nws)-1].text == ";" {
		*toks = (*toks)[:lastIndex(*toks, nws[len(nws)-1])]
		nws = nws[:len(nws)-1]
	}
	*ws = nws
	return true, nil
}

// descFileFormat answers DESC FILE FORMAT: one row per option given.
func (e *Emulator) descFileFormat(_ context.Context, s *session, names []string) (*result, error) {
	f, err := e.lookupFormat(s, names)
	if err != nil {
		return nil, err
	}
	res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("property"), textCol("property_type"), textCol("property_value"), textCol("property_default")}}
	keys := make([]string, 0, len(f.parsed))
	for k := range f.parsed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := f.parsed[k]
		val, typ := v.s, "String"
		if v.list != nil {
			val, typ = "["+strings.Join(v.list, ", ")+"]", "List"
		}
		res.rowset = append(res.rowset, []*string{strp(k), strp(typ), strp(val), nil})
	}
	return res, nil
}

// showFileFormats answers SHOW FILE FORMATS.
func (e *Emulator) showFileFormats(match func(db, sch, name string) bool) *result {
	e.ext.mu.Lock()
	var list []*namedFormat
	for _, f := range e.ext.formats {
		if match(f.db, f.sch, f.name) {
			list = append(list, f)
		}
	}
	e.ext.mu.Unlock()
	sortBy(list, func(f *namedFormat) string { return f.key })
	res := &result{typeID: stmtSelect, rowtype: []rowType{timeCol("created_on"), textCol("name"), textCol("database_name"),
		textCol("schema_name"), textCol("type"), textCol("owner"), textCol("comment"), textCol("format_options"), textCol("owner_role_type")}}
	for _, f := range list {
		m := map[string]any{}
		for k, v := range f.parsed {
			if v.list != nil {
				m[k] = v.list
			} else {
				m[k] = v.s
			}
		}
		js, _ := json.Marshal(m)
		res.rowset = append(res.rowset, []*string{ltz(f.created), strp(f.name), strp(f.db), strp(f.sch), strp(f.typ),
			strp(f.owner), strp(f.comment), strp(string(js)), strp("ROLE")})
	}
	return res
}
