package snowflaketest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// show answers SHOW TABLES, SHOW STAGES and SHOW PIPES [LIKE 'pattern']
// [IN {ACCOUNT | DATABASE [db] | SCHEMA [db.]schema}] with the columns a
// loader reads (name, database_name, schema_name, kind or type, ...).
// Other SHOW commands are unsupported.
func (e *Emulator) show(ctx context.Context, s *session, ws []token) (*result, error) {
	i := 1
	if i < len(ws) && ws[i].is("TERSE") {
		i++
	}
	if i >= len(ws) {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: SHOW needs an object kind")
	}
	kind := ws[i].upper()
	i++
	var like *regexp.Regexp
	if i+1 < len(ws) && ws[i].is("LIKE") && ws[i+1].kind == tkString {
		like = likeRegexp(unquoteString(ws[i+1].text))
		i += 2
	}
	db, sch := s.db, s.schema
	if i < len(ws) && ws[i].is("IN") {
		i++
		scope := "SCHEMA"
		if i < len(ws) && (ws[i].is("ACCOUNT") || ws[i].is("DATABASE") || ws[i].is("SCHEMA")) {
			scope = ws[i].upper()
			i++
		}
		names, end := parseName(ws, i)
		i = end
		switch scope {
		case "ACCOUNT":
			db, sch = "", ""
		case "DATABASE":
			sch = ""
			if len(names) == 1 {
				db = names[0]
			}
		default:
			switch len(names) {
			case 1:
				sch = names[0]
			case 2:
				db, sch = names[0], names[1]
			}
		}
	}
	if i < len(ws) && !ws[i].is("STARTS") && !ws[i].is("LIMIT") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error unexpected '%s'.", ws[i].text)
	}
	match := func(name, d, sc string) bool {
		return (like == nil || like.MatchString(name)) && (db == "" || strings.EqualFold(d, db)) && (sch == "" || strings.EqualFold(sc, sch))
	}
	created := strp(time.Unix(0, 0).UTC().Format(time.RFC3339))
	switch kind {
	case "TABLES":
		rows, err := s.conn.QueryContext(ctx, `SELECT database_name, schema_name, table_name, coalesce(comment, ''), coalesce(estimated_size, 0), temporary
			FROM duckdb_tables() WHERE NOT internal ORDER BY database_name, schema_name, table_name`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("created_on"), textCol("name"), textCol("database_name"), textCol("schema_name"),
			textCol("kind"), textCol("comment"), textCol("cluster_by"), fixedCol("rows"), fixedCol("bytes"), textCol("owner"), textCol("retention_time")}}
		for rows.Next() {
			var d, sc, name, comment string
			var n int64
			var temp bool
			if err := rows.Scan(&d, &sc, &name, &comment, &n, &temp); err != nil {
				return nil, err
			}
			if strings.HasPrefix(name, "_sfcopy_") || strings.HasPrefix(name, "_sfemu_") || !match(name, d, sc) {
				continue
			}
			k := "TABLE"
			if temp {
				k = "TEMPORARY"
			}
			res.rowset = append(res.rowset, []*string{created, strp(name), strp(d), strp(sc), strp(k), strp(comment), strp(""),
				strp(strconv.FormatInt(n, 10)), strp("0"), strp(s.role), strp("1")})
		}
		return res, rows.Err()
	case "STAGES":
		res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("created_on"), textCol("name"), textCol("database_name"), textCol("schema_name"),
			textCol("url"), textCol("has_credentials"), textCol("has_encryption_key"), textCol("owner"), textCol("comment"), textCol("region"),
			textCol("type"), textCol("cloud"), textCol("notification_channel"), textCol("storage_integration")}}
		dirs, _ := filepath.Glob(filepath.Join(e.stageRoot, "*", "*", "_stages", "*"))
		sort.Strings(dirs)
		for _, dir := range dirs {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				continue
			}
			parts := strings.Split(filepath.ToSlash(dir[len(e.stageRoot)+1:]), "/")
			if len(parts) != 4 {
				continue
			}
			d, sc, name := unFileSafe(parts[0]), unFileSafe(parts[1]), unFileSafe(parts[3])
			if strings.EqualFold(name, "SYSTEM$BIND") || !match(name, d, sc) {
				continue
			}
			sr := &stageRef{dir: dir}
			if err := e.loadExternal(sr); err != nil {
				return nil, err
			}
			url, typ, creds, cloud, integ := "", "INTERNAL", "false", (*string)(nil), (*string)(nil)
			if sr.ext != nil {
				url, typ, cloud = sr.ext.URL, "EXTERNAL", strp("AWS")
				if sr.ext.KeyID != "" {
					creds = "true"
				}
				if sr.ext.Integration != "" {
					integ = strp(sr.ext.Integration)
				}
			}
			res.rowset = append(res.rowset, []*string{created, strp(name), strp(d), strp(sc), strp(url), strp(creds), strp("false"), strp(s.role),
				strp(""), nil, strp(typ), cloud, nil, integ})
		}
		return res, nil
	case "PIPES":
		res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("created_on"), textCol("name"), textCol("database_name"), textCol("schema_name"),
			textCol("definition"), textCol("owner"), textCol("notification_channel"), textCol("comment"), textCol("integration"), textCol("pattern"),
			textCol("error_integration")}}
		var ps []*pipe
		e.locked(func() {
			for _, p := range e.pipes {
				ps = append(ps, p)
			}
		})
		sort.Slice(ps, func(a, b int) bool {
			return ps[a].db+"."+ps[a].sch+"."+ps[a].name < ps[b].db+"."+ps[b].sch+"."+ps[b].name
		})
		for _, p := range ps {
			if !match(p.name, p.db, p.sch) {
				continue
			}
			res.rowset = append(res.rowset, []*string{created, strp(p.name), strp(p.db), strp(p.sch), strp(p.copySQL), strp(s.role), nil, strp(""), nil, nil, nil})
		}
		return res, nil
	}
	if h, ok := showHandlers[kind]; ok {
		return h(e, ctx, s, showStmt{like: like, db: db, schema: sch})
	}
	return nil, unsupported("SHOW " + kind)
}

// likeRegexp compiles a SQL LIKE pattern (case-insensitive, as SHOW
// matches).
func likeRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// unFileSafe reverses fileSafe.
func unFileSafe(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
