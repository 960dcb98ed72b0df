package snowflaketest

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const uploadPrefix = "/_snowflaketest/upload/"

// upload is the target of a presigned upload URL.
type upload struct {
	file string // absolute file path
}

// stageRef is a resolved stage reference such as @%T/dir or @s/dir.
type stageRef struct {
	kind    string // "user", "table", "named"
	db, sch string
	name    string // table or stage name
	dir     string // the stage's root directory
	sub     string // path inside the stage, "" or "a/b/"-style without leading slash
	prefix  string // prefix of file names in LIST and COPY results
	url     string // external stages: s3://bucket/path/
	ext     *extStage
}

// optVal is the value of an option: a scalar, a list, or nested options.
type optVal struct {
	s    string
	list []string
	sub  map[string]optVal
}

// parseOptions parses KEY = VALUE pairs from ws[i:] until the end or a
// token stop reports true.
func parseOptions(ws []token, i int) (map[string]optVal, int, error) {
	opts := map[string]optVal{}
	for i < len(ws) {
		if ws[i].text == ")" {
			return opts, i, nil
		}
		if ws[i].kind != tkWord {
			return nil, i, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error unexpected '%s'.", ws[i].text)
		}
		key := ws[i].upper()
		i++
		if i < len(ws) && ws[i].text == "=" {
			i++
		} else if i >= len(ws) || ws[i].text != "(" {
			return nil, i, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: missing '=' after %s.", key)
		}
		if i >= len(ws) {
			return nil, i, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: missing value for %s.", key)
		}
		t := ws[i]
		switch {
		case t.text == "(":
			j := i + 1
			isMap := j+1 < len(ws) && ws[j].kind == tkWord && ws[j+1].text == "="
			if isMap {
				sub, end, err := parseOptions(ws, j)
				if err != nil {
					return nil, end, err
				}
				opts[key] = optVal{sub: sub}
				i = end + 1
				continue
			}
			var list []string
			for j < len(ws) && ws[j].text != ")" {
				if ws[j].text != "," {
					list = append(list, scalarText(ws[j]))
				}
				j++
			}
			opts[key] = optVal{list: list}
			i = j + 1
		default:
			opts[key] = optVal{s: scalarText(t)}
			i++
		}
		if i < len(ws) && ws[i].text == "," {
			i++
		}
	}
	return opts, i, nil
}

func scalarText(t token) string {
	switch t.kind {
	case tkString:
		return unquoteString(t.text)
	case tkWord:
		return strings.ToUpper(t.text)
	case tkQuoted:
		return identName(t)
	}
	return t.text
}

func boolOpt(o map[string]optVal, key string, def bool) (bool, error) {
	v, ok := o[key]
	if !ok {
		return def, nil
	}
	switch strings.ToUpper(v.s) {
	case "TRUE", "1", "YES", "ON":
		return true, nil
	case "FALSE", "0", "NO", "OFF":
		return false, nil
	}
	return false, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter '%s'", v.s, key)
}

// resolveStage resolves a @stage token for session s.
func (e *Emulator) resolveStage(ctx context.Context, s *session, tok string, mustExist bool) (*stageRef, error) {
	ref := strings.TrimPrefix(tok, "@")
	namePart, sub := ref, ""
	inQ := false
	for i := 0; i < len(ref); i++ {
		if ref[i] == '"' {
			inQ = !inQ
		}
		if ref[i] == '/' && !inQ {
			namePart, sub = ref[:i], strings.TrimLeft(ref[i+1:], "/")
			break
		}
	}
	if strings.Contains(sub, "..") {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid stage path '%s'", tok)
	}
	if namePart == "~" {
		dir := filepath.Join(e.stageRoot, "_users", fileSafe(s.user))
		return &stageRef{kind: "user", name: s.user, dir: dir, sub: sub}, nil
	}
	parts := lexNameParts(namePart)
	if len(parts) == 0 || len(parts) > 3 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\ninvalid stage name '%s'", tok)
	}
	last := parts[len(parts)-1]
	table := strings.HasPrefix(last, "%")
	if table {
		last = strings.TrimPrefix(last, "%")
	}
	db, sch := s.db, s.schema
	switch len(parts) {
	case 2:
		sch = parts[0]
	case 3:
		db, sch = parts[0], parts[1]
	}
	last = normName(last)
	if db == "" || sch == "" {
		return nil, sqlErr(errNoCurrentDB, "22000", "Cannot perform operation. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.")
	}
	sr := &stageRef{db: db, sch: sch, name: last, sub: sub}
	if table {
		sr.kind = "table"
		sr.dir = filepath.Join(e.stageRoot, fileSafe(db), fileSafe(sch), "_tables", fileSafe(last))
		if mustExist {
			if _, err := e.tableColumns(ctx, s, db, sch, last); err != nil {
				return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nStage '%s.%s.%%%s' does not exist or not authorized.", db, sch, last)
			}
		}
		return sr, nil
	}
	sr.kind = "named"
	sr.prefix = strings.ToLower(last) + "/"
	sr.dir = filepath.Join(e.stageRoot, fileSafe(db), fileSafe(sch), "_stages", fileSafe(last))
	if _, err := os.Stat(sr.dir); err != nil && mustExist {
		return nil, sqlErr(errDoesNotExist, "02000", "SQL compilation error:\nStage '%s.%s.%s' does not exist or not authorized.", db, sch, last)
	}
	if err := e.loadExternal(sr); err != nil {
		return nil, err
	}
	return sr, nil
}

// location is the stage's location as COPY_HISTORY shows it.
func (sr *stageRef) location() string {
	switch sr.kind {
	case "user":
		return "@~/" + sr.sub
	case "table":
		return "@" + sr.db + "." + sr.sch + ".%" + sr.name + "/" + sr.sub
	case "external":
		return sr.url
	}
	return "@" + sr.db + "." + sr.sch + "." + sr.name + "/" + sr.sub
}

// lexNameParts splits a dotted name, keeping quotes for normName.
func lexNameParts(s string) []string {
	var parts []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			inQ = !inQ
		}
		if c == '.' && !inQ {
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(parts, cur.String())
}

// stageFormatFile is where a named stage's FILE_FORMAT is kept.
func (sr *stageRef) formatFile() string { return sr.dir + ".format.json" }

func (e *Emulator) stageDDL(ctx context.Context, s *session, verb string, ws []token, n int, names []string, replace, ifExists, ifNotExists bool) (*result, error) {
	if len(names) == 0 {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: stage name expected")
	}
	qual := make([]string, len(names))
	for i, nm := range names {
		qual[i] = quoteIdent(nm)
	}
	sr, err := e.resolveStage(ctx, s, "@"+strings.Join(qual, "."), false)
	if err != nil {
		return nil, err
	}
	_, statErr := os.Stat(sr.dir)
	exists := statErr == nil
	switch verb {
	case "DROP":
		if !exists {
			return missingObject(ddlArgs{ifExists: ifExists}, "Stage", sr.db+"."+sr.sch+"."+sr.name, sr.name)
		}
		if err := os.RemoveAll(sr.dir); err != nil {
			return nil, fmt.Errorf("snowflaketest: drop stage: %w", err)
		}
		_ = os.Remove(sr.formatFile())
		_ = os.Remove(sr.externalFile())
		return status(sr.name + " successfully dropped."), nil
	case "CREATE":
		if err := e.ensureSchema(ctx, sr.db, sr.sch); err != nil {
			return nil, err
		}
		_, after := parseName(ws, n)
		opts, _, err := parseOptions(ws, after)
		if err != nil {
			return nil, err
		}
		for k := range opts {
			switch k {
			case "FILE_FORMAT", "COMMENT", "COPY_OPTIONS", "URL", "STORAGE_INTEGRATION", "CREDENTIALS", "ENCRYPTION":
			case "DIRECTORY":
				return nil, unsupported("CREATE STAGE with DIRECTORY")
			default:
				return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid property '%s' for 'STAGE'", k)
			}
		}
		ext, err := newExternal(opts)
		if err != nil {
			return nil, err
		}
		if exists && !replace {
			return objectExists(ddlArgs{ifNotExists: ifNotExists}, sr.name)
		}
		if exists {
			if err := os.RemoveAll(sr.dir); err != nil {
				return nil, fmt.Errorf("snowflaketest: replace stage: %w", err)
			}
		}
		if err := os.MkdirAll(sr.dir, 0o755); err != nil {
			return nil, fmt.Errorf("snowflaketest: create stage: %w", err)
		}
		ff := map[string]string{}
		if v, ok := opts["FILE_FORMAT"]; ok {
			for k, sv := range v.sub {
				ff[k] = sv.s
				if sv.list != nil {
					b, _ := json.Marshal(sv.list)
					ff[k] = "\x00" + string(b)
				}
			}
		}
		b, _ := json.Marshal(ff)
		if err := os.WriteFile(sr.formatFile(), b, 0o644); err != nil {
			return nil, fmt.Errorf("snowflaketest: create stage: %w", err)
		}
		_ = os.Remove(sr.externalFile())
		if ext != nil {
			b, _ := json.Marshal(ext)
			if err := os.WriteFile(sr.externalFile(), b, 0o600); err != nil {
				return nil, fmt.Errorf("snowflaketest: create stage: %w", err)
			}
		}
		return status("Stage area " + sr.name + " successfully created."), nil
	}
	return nil, unsupported(verb + " STAGE")
}

// stageFormat returns the FILE_FORMAT stored with a named stage.
func (sr *stageRef) stageFormat() map[string]optVal {
	out := map[string]optVal{}
	b, err := os.ReadFile(sr.formatFile())
	if err != nil {
		return out
	}
	var m map[string]string
	if json.Unmarshal(b, &m) != nil {
		return out
	}
	for k, v := range m {
		if strings.HasPrefix(v, "\x00") {
			var l []string
			_ = json.Unmarshal([]byte(v[1:]), &l)
			out[k] = optVal{list: l}
		} else {
			out[k] = optVal{s: v}
		}
	}
	return out
}

// rePut splits a PUT statement: the source (quoted or not) and the rest.
// The source is taken from the raw text because file:// contains "//",
// which starts a comment elsewhere in Snowflake SQL.
var rePut = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*put\s+(?:'((?:[^']|'')*)'|(\S+))\s+(.*)$`)

// put answers PUT file://... @stage.
func (e *Emulator) put(ctx context.Context, s *session, text, host string) (*result, error) {
	m := rePut.FindStringSubmatch(text)
	if m == nil {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: PUT needs a file URL and a stage")
	}
	srcURL := m[2]
	if m[1] != "" {
		srcURL = strings.ReplaceAll(m[1], "''", "'")
	}
	ws := stageStrings(words(lex(m[3])))
	for len(ws) > 0 && ws[len(ws)-1].text == ";" {
		ws = ws[:len(ws)-1]
	}
	si := 0
	if len(ws) == 0 || ws[0].kind != tkStage {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: PUT needs a file URL and a stage")
	}
	local, ok := strings.CutPrefix(srcURL, "file://")
	if !ok {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nPUT source must be a file:// URL")
	}
	sr, err := e.resolveStage(ctx, s, ws[si].text, true)
	if err != nil {
		return nil, err
	}
	if sr.ext != nil {
		return nil, unsupported("PUT to an external stage (upload the files to " + sr.url + " with an S3 client)")
	}
	opts, _, err := parseOptions(ws, si+1)
	if err != nil {
		return nil, err
	}
	autoCompress, err := boolOpt(opts, "AUTO_COMPRESS", true)
	if err != nil {
		return nil, err
	}
	overwrite, err := boolOpt(opts, "OVERWRITE", false)
	if err != nil {
		return nil, err
	}
	parallel := 4
	if v, ok := opts["PARALLEL"]; ok {
		p, err := strconv.Atoi(v.s)
		if err != nil || p < 1 || p > 99 {
			return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value [%s] for parameter 'PARALLEL'", v.s)
		}
		parallel = p
	}
	srcComp := "auto_detect"
	if v, ok := opts["SOURCE_COMPRESSION"]; ok {
		srcComp = strings.ToLower(v.s)
	}
	for k := range opts {
		switch k {
		case "AUTO_COMPRESS", "OVERWRITE", "PARALLEL", "SOURCE_COMPRESSION":
		default:
			return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid parameter '%s' for PUT", k)
		}
	}
	target := filepath.Join(sr.dir, filepath.FromSlash(sr.sub))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return nil, fmt.Errorf("snowflaketest: put: %w", err)
	}
	stageInfo := map[string]any{}
	if e.opts.PutMode == PutLocalFS {
		base := path.Base(local)
		if overwrite && !strings.ContainsAny(base, "*?[") {
			_ = os.Remove(filepath.Join(target, base))
			_ = os.Remove(filepath.Join(target, base+".gz"))
		}
		stageInfo["locationType"] = "LOCAL_FS"
		stageInfo["location"] = target
	} else {
		name := path.Base(local)
		if i := strings.LastIndexAny(name, "*?]"); i >= 0 {
			name = name[i+1:]
		}
		id := randomHex(16)
		e.locked(func() {
			e.uploads[id] = upload{file: filepath.Join(target, name)}
		})
		rel := e.relStage(target)
		stageInfo["locationType"] = "GCS"
		stageInfo["location"] = "snowflaketest/" + filepath.ToSlash(rel) + "/"
		stageInfo["path"] = filepath.ToSlash(rel) + "/"
		stageInfo["region"] = "local"
		stageInfo["presignedUrl"] = "http://" + host + uploadPrefix + id
	}
	return &result{typeID: stmtSelect, raw: map[string]any{
		"command":           "UPLOAD",
		"src_locations":     []string{local},
		"sourceCompression": srcComp,
		"autoCompress":      autoCompress,
		"overwrite":         overwrite,
		"parallel":          parallel,
		"threshold":         209715200,
		"stageInfo":         stageInfo,
		"rowtype":           []rowType{textCol("source")},
		"rowset":            [][]*string{},
	}}, nil
}

// handleUpload receives the bytes of a presigned upload.
func (e *Emulator) handleUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, uploadPrefix)
	e.mu.Lock()
	u, ok := e.uploads[id]
	e.mu.Unlock()
	if !ok {
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(u.file), ".upload-*")
	if err != nil {
		http.Error(w, "cannot store upload", http.StatusInternalServerError)
		return
	}
	h := sha256.New()
	_, err = io.Copy(tmp, io.TeeReader(r.Body, h))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), u.file)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		http.Error(w, "cannot store upload", http.StatusInternalServerError)
		return
	}
	e.hashes.put(u.file, hex.EncodeToString(h.Sum(nil)))
	w.WriteHeader(http.StatusOK)
}

// stageFile is one file of a stage.
type stageFile struct {
	rel  string // path relative to the stage root, slash-separated
	abs  string
	size int64
	mod  time.Time
	// External stages: the object's ETag, and remote set (abs is empty
	// until the object is fetched).
	etag   string
	remote bool
}

// listStage returns the stage's files under sr.sub, sorted by path.
func listStage(sr *stageRef) ([]stageFile, error) {
	if sr.ext != nil {
		return listExternal(context.Background(), sr)
	}
	var out []stageFile
	root := sr.dir
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".upload-") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, sr.sub) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, stageFile{rel: rel, abs: p, size: info.Size(), mod: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snowflaketest: list stage: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

func patternOpt(opts map[string]optVal) (*regexp.Regexp, error) {
	v, ok := opts["PATTERN"]
	if !ok {
		return nil, nil
	}
	re, err := regexp.Compile("^(?:" + v.s + ")$")
	if err != nil {
		return nil, sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid regular expression '%s'", v.s)
	}
	return re, nil
}

// stagedFiles resolves the stage named by LIST or REMOVE (verb) and returns
// its files that match the statement's PATTERN, with their stage-relative
// names.
func (e *Emulator) stagedFiles(ctx context.Context, s *session, ws []token, verb string) ([]stagedFile, error) {
	if len(ws) < 2 || ws[1].kind != tkStage {
		return nil, sqlErr(errSyntax, "42000", "SQL compilation error:\nsyntax error: %s needs a stage", verb)
	}
	sr, err := e.resolveStage(ctx, s, ws[1].text, true)
	if err != nil {
		return nil, err
	}
	opts, _, err := parseOptions(ws, 2)
	if err != nil {
		return nil, err
	}
	re, err := patternOpt(opts)
	if err != nil {
		return nil, err
	}
	files, err := listStage(sr)
	if err != nil {
		return nil, err
	}
	var out []stagedFile
	for _, f := range files {
		name := sr.prefix + f.rel
		if re == nil || re.MatchString(name) {
			out = append(out, stagedFile{name: name, file: f, sr: sr})
		}
	}
	return out, nil
}

// stagedFile is a stage file with its name as LIST shows it.
type stagedFile struct {
	name string
	file stageFile
	sr   *stageRef
}

func (e *Emulator) list(ctx context.Context, s *session, ws []token) (*result, error) {
	files, err := e.stagedFiles(ctx, s, ws, "LIST")
	if err != nil {
		return nil, err
	}
	res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("name"), fixedCol("size"), textCol("md5"), textCol("last_modified")}}
	for _, sf := range files {
		sum := sf.file.etag
		if !sf.file.remote {
			var err error
			if sum, err = fileMD5(sf.file.abs); err != nil {
				return nil, err
			}
		}
		res.rowset = append(res.rowset, []*string{strp(sf.name), strp(itoa(sf.file.size)), strp(sum),
			strp(sf.file.mod.UTC().Format(http.TimeFormat))})
	}
	return res, nil
}

func (e *Emulator) remove(ctx context.Context, s *session, ws []token) (*result, error) {
	files, err := e.stagedFiles(ctx, s, ws, "REMOVE")
	if err != nil {
		return nil, err
	}
	res := &result{typeID: stmtSelect, rowtype: []rowType{textCol("name"), textCol("result")}}
	for _, sf := range files {
		if sf.file.remote {
			if err := removeExternal(ctx, sf.sr, sf.file); err != nil {
				return nil, err
			}
		} else if err := os.Remove(sf.file.abs); err != nil {
			return nil, fmt.Errorf("snowflaketest: remove: %w", err)
		}
		res.rowset = append(res.rowset, []*string{strp(sf.name), strp("removed")})
	}
	return res, nil
}

func fileMD5(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("snowflaketest: stage file: %w", err)
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("snowflaketest: stage file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
