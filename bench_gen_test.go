package flatpipe_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strconv"
	"testing"
	"unicode/utf8"
)

// The generated input: NDJSON of realistic nested events (user, session,
// device, geo, items[], free-form props) built by a deterministic generator
// with a fixed seed, so every run and every machine flattens the same bytes.
// It is built in memory, once per process. The records stress what the
// corpus files cover only lightly: strings needing escapes (quotes,
// backslashes, control characters, \/, \uXXXX with surrogate pairs), raw
// UTF-8, integers above 2^53 and 2^64, long decimals and exponents, -0, nulls,
// empty {} and [], arrays of arrays, and keys that vary from record to record.
// No key contains '.', and no object repeats a key, so no flattener sees a
// path collision.

const (
	// generatedSeed fixes the generated input. Changing it, or the
	// generator, changes the benchmark: say so in BENCHMARKS.md.
	generatedSeed = 0x5eedf1a7
	// generatedSize is the size the generated input reaches (whole records).
	generatedSize = 100_000_000
)

// genRand is splitmix64: tiny, fast and fixed forever, unlike math/rand's
// derived functions, whose output may change between Go releases.
type genRand struct{ s uint64 }

func (r *genRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *genRand) intn(n int) int         { return int(r.next() % uint64(n)) }
func (r *genRand) chance(pct int) bool    { return r.intn(100) < pct }
func (r *genRand) pick(s []string) string { return s[r.intn(len(s))] }

// generateEvents returns whole NDJSON records, each ending in '\n', until at
// least minBytes are written. A shorter output is a prefix of a longer one.
func generateEvents(minBytes int) []byte {
	r := &genRand{s: generatedSeed}
	out := make([]byte, 0, minBytes+4096)
	for seq := 0; len(out) < minBytes; seq++ {
		out = appendEvent(out, r, seq)
		out = append(out, '\n')
	}
	return out
}

var (
	genNames = []string{"Ana", "José Álvarez", "Zoë", "Łukasz", "渡辺 健", "Jürgen Müller", "Ελένη", "Анна",
		"محمد", "Sam 😀", "O'Brien", "Renée \"René\" Dupont", "Nguyễn Văn A", "Kim 김", "Tanaka\tTab"}
	genCities = []string{"Zürich", "São Paulo", "Kraków", "東京", "Reykjavík", "New York", "Москва", "القاهرة",
		"Montréal", "Ho Chi Minh City", "Wien", "Ōsaka"}
	genCountries = []string{"CH", "BR", "PL", "JP", "IS", "US", "RU", "EG", "CA", "VN", "AT", "DE"}
	genTypes     = []string{"page_view", "click", "add_to_cart", "purchase", "signup", "search", "logout"}
	genOS        = []string{"iOS", "Android", "Windows", "macOS", "Linux", "ChromeOS"}
	genUAs       = []string{
		`Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148`,
		`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36`,
		`curl/8.5.0`,
		`Bot "crawler" v2 \ experimental`,
	}
	genPaths = []string{"/", "/search?q=caf%C3%A9&page=2", "/products/shoes/running", "/cart",
		`/checkout?step="payment"`, "/help/faq#returns", "/用户/设置"}
	genNotes = []string{
		"line one\nline two\n\ttabbed",
		`she said "hi" and left \o/`,
		"control \x01\x02 chars and a bell \x07",
		"emoji 😀🎉 and CJK 一二三",
		"path C:\\Users\\me\\file.txt",
		"",
		"trailing space ",
		"carriage\r\nreturn",
		"\u2028 line separator \u2029",
	}
	genProducts = []string{"Trail Runner 2", "Café Crème 250g", "Wool Socks (3-pack)", "「限定」Tea Set",
		"USB-C Cable 2m", `12" Pizza Stone`, "Ñandú Plush"}
	genAttrKeys = []string{"color", "size", "größe", "材料", "material", "fit", "season", "weight_g"}
	genAttrVals = []string{"red", "M", "XL", "cotton", "綿", "slim", "winter", "350", "navy/white"}
	genUTMKeys  = []string{"source", "medium", "campaign", "term", "content"}
	genPropKeys = func() []string {
		k := make([]string, 30)
		for i := range k {
			k[i] = "p" + strconv.Itoa(i)
		}
		k[7] = "clé"
		k[8] = "キー"
		k[9] = "with space"
		k[10] = "slash/key"
		k[11] = "quote\"key"
		k[12] = ""
		return k
	}()
)

func appendEvent(b []byte, r *genRand, seq int) []byte {
	b = append(b, `{"event_id":"evt_`...)
	b = strconv.AppendUint(b, r.next(), 16)
	b = append(b, `","type":`...)
	b = appendJSONString(b, r.pick(genTypes), false)
	b = append(b, `,"ts":`...)
	b = appendTimestamp(b, r, seq)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"version":3`...)

	b = append(b, `,"user":{"id":`...)
	b = appendBigInt(b, r)
	b = append(b, `,"anonymous":`...)
	b = strconv.AppendBool(b, r.chance(20))
	b = append(b, `,"name":`...)
	b = appendJSONString(b, r.pick(genNames), r.chance(30))
	b = append(b, `,"email":`...)
	if r.chance(25) {
		b = append(b, "null"...)
	} else {
		b = append(b, `"user`...)
		b = strconv.AppendInt(b, int64(r.intn(1_000_000)), 10)
		b = append(b, `@example.com"`...)
	}
	b = append(b, `,"age":`...)
	if r.chance(40) {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(16+r.intn(70)), 10)
	}
	b = append(b, `,"score":`...)
	b = appendDecimal(b, r)
	b = append(b, `,"tags":`...)
	b = appendStringArray(b, r, []string{"vip", "beta", "newsletter", "churn-risk", "ünïcödé"}, 4)
	b = append(b, `,"prefs":`...)
	if r.chance(35) {
		b = append(b, "{}"...)
	} else {
		b = append(b, `{"lang":"de-CH","theme":`...)
		b = appendJSONString(b, r.pick([]string{"dark", "light", "system"}), false)
		b = append(b, `,"notifications":{"email":`...)
		b = strconv.AppendBool(b, r.chance(50))
		b = append(b, `,"push":`...)
		b = strconv.AppendBool(b, r.chance(50))
		b = append(b, `,"quiet_hours":[]}}`...)
	}
	if r.chance(70) {
		b = append(b, `,"address":{"street":`...)
		b = appendJSONString(b, strconv.Itoa(1+r.intn(300))+" "+r.pick(genCities)+" Straße", r.chance(20))
		b = append(b, `,"city":`...)
		b = appendJSONString(b, r.pick(genCities), r.chance(30))
		b = append(b, `,"zip":`...)
		b = appendJSONString(b, strconv.Itoa(10000+r.intn(89999)), false)
		b = append(b, `,"geo":`...)
		b = appendLatLon(b, r)
		b = append(b, '}')
	}
	b = append(b, '}')

	b = append(b, `,"session":{"id":"s-`...)
	b = strconv.AppendUint(b, r.next()>>20, 36)
	b = append(b, `","started_at":`...)
	b = appendTimestamp(b, r, seq-r.intn(50))
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, int64(r.intn(3_600_000)), 10)
	b = append(b, `,"referrer":`...)
	if r.chance(40) {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, "https://example.com"+r.pick(genPaths), r.chance(50))
	}
	b = append(b, `,"utm":{`...)
	for i, k := range genUTMKeys {
		if r.chance(40) {
			continue
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = appendJSONString(b, k, false)
		b = append(b, ':')
		b = appendJSONString(b, k+"-"+strconv.Itoa(i*r.intn(9)), false)
	}
	b = append(b, `},"pages":[`...)
	for i, n := 0, r.intn(5); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"path":`...)
		b = appendJSONString(b, r.pick(genPaths), r.chance(30))
		b = append(b, `,"ms":`...)
		b = strconv.AppendInt(b, int64(r.intn(20000)), 10)
		b = append(b, '}')
	}
	b = append(b, "]}"...)

	b = append(b, `,"device":{"os":`...)
	b = appendJSONString(b, r.pick(genOS), false)
	b = append(b, `,"os_version":"`...)
	b = strconv.AppendInt(b, int64(10+r.intn(8)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(r.intn(10)), 10)
	b = append(b, `.`...)
	b = strconv.AppendInt(b, int64(r.intn(10)), 10)
	b = append(b, `","ua":`...)
	b = appendJSONString(b, r.pick(genUAs), r.chance(50))
	b = append(b, `,"screen":{"w":`...)
	b = strconv.AppendInt(b, int64(320+r.intn(3500)), 10)
	b = append(b, `,"h":`...)
	b = strconv.AppendInt(b, int64(480+r.intn(2000)), 10)
	b = append(b, `,"dpr":`...)
	b = append(b, r.pick([]string{"1", "1.5", "2.0", "2.75", "3"})...)
	b = append(b, `},"battery":`...)
	if r.chance(50) {
		b = append(b, "null"...)
	} else {
		b = append(b, "0."...)
		b = strconv.AppendInt(b, int64(r.intn(100)), 10)
	}
	b = append(b, `,"sensors":[]}`...)

	b = append(b, `,"geo":{"country":`...)
	b = appendJSONString(b, r.pick(genCountries), false)
	b = append(b, `,"city":`...)
	b = appendJSONString(b, r.pick(genCities), r.chance(30))
	b = append(b, `,"point":`...)
	b = appendLatLon(b, r)
	b = append(b, `,"accuracy_m":`...)
	b = append(b, r.pick([]string{"1.5e2", "12", "0.75", "3E+1", "2.5E-1"})...)
	b = append(b, `,"ip":"203.0.113.`...)
	b = strconv.AppendInt(b, int64(r.intn(256)), 10)
	b = append(b, `"}`...)

	b = append(b, `,"items":[`...)
	for i, n := 0, r.intn(6); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":"SKU-`...)
		b = strconv.AppendInt(b, int64(r.intn(100000)), 10)
		b = append(b, `","name":`...)
		b = appendJSONString(b, r.pick(genProducts), r.chance(30))
		b = append(b, `,"qty":`...)
		b = strconv.AppendInt(b, int64(1+r.intn(5)), 10)
		b = append(b, `,"price":`...)
		b = strconv.AppendInt(b, int64(r.intn(500)), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(10+r.intn(90)), 10)
		b = append(b, `,"currency":"EUR","discount":`...)
		b = append(b, r.pick([]string{"null", "-0.0", "0.15", "0", "1e-2"})...)
		b = append(b, `,"attrs":{`...)
		for j, k := range genAttrKeys {
			if r.chance(60) {
				continue
			}
			if b[len(b)-1] != '{' {
				b = append(b, ',')
			}
			b = appendJSONString(b, k, r.chance(20))
			b = append(b, ':')
			if j == len(genAttrKeys)-1 {
				b = strconv.AppendInt(b, int64(r.intn(2000)), 10)
			} else {
				b = appendJSONString(b, r.pick(genAttrVals), r.chance(20))
			}
		}
		b = append(b, `},"tags":`...)
		b = appendStringArray(b, r, []string{"sale", "new", "eco", "limited"}, 3)
		b = append(b, '}')
	}
	b = append(b, ']')

	b = append(b, `,"props":{`...)
	for i, k := range genPropKeys {
		if r.chance(75) {
			continue
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = appendJSONString(b, k, r.chance(30))
		b = append(b, ':')
		b = appendPropValue(b, r, i)
	}
	b = append(b, '}')

	if r.chance(60) {
		b = append(b, `,"note":`...)
		if r.chance(20) {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, r.pick(genNotes), r.chance(40))
		}
	}
	if r.chance(15) {
		b = append(b, `,"matrix":[[1,2,3],[4.5,-6e3,[]],[],[[null,true,false]]]`...)
	}
	b = append(b, `,"flags":[true,false,null]}`...)
	return b
}

func appendPropValue(b []byte, r *genRand, i int) []byte {
	switch r.intn(10) {
	case 0:
		return append(b, "null"...)
	case 1:
		return strconv.AppendBool(b, r.chance(50))
	case 2:
		return strconv.AppendInt(b, int64(r.next()>>uint(1+r.intn(40))), 10)
	case 3:
		return appendDecimal(b, r)
	case 4:
		return append(b, r.pick([]string{"6.02214076e23", "-1.5E-7", "-0", "0.1", "1e10", "-273.15"})...)
	case 5:
		return appendJSONString(b, r.pick(genNotes), r.chance(50))
	case 6:
		return append(b, r.pick([]string{"{}", "[]", `{"a":{}}`, `[[]]`})...)
	case 7:
		b = append(b, `{"k":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"nested":{"deeper":{"deepest":[`...)
		b = appendBigInt(b, r)
		return append(b, `,"x"]}}}`...)
	case 8:
		return appendStringArray(b, r, genCities, 5)
	default:
		return appendJSONString(b, r.pick(genProducts), r.chance(50))
	}
}

// appendTimestamp writes an RFC 3339 time string derived from seq.
func appendTimestamp(b []byte, r *genRand, seq int) []byte {
	if seq < 0 {
		seq = 0
	}
	s := seq % 86400
	b = append(b, `"2026-11-`...)
	b = appendPad2(b, 1+seq/86400%28)
	b = append(b, 'T')
	b = appendPad2(b, s/3600)
	b = append(b, ':')
	b = appendPad2(b, s/60%60)
	b = append(b, ':')
	b = appendPad2(b, s%60)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(100+r.intn(900)), 10)
	return append(b, `Z"`...)
}

func appendPad2(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// appendBigInt writes an integer id: mostly below 2^63, often above 2^53,
// sometimes above 2^64 (20 to 23 digits).
func appendBigInt(b []byte, r *genRand) []byte {
	switch r.intn(10) {
	case 0:
		b = strconv.AppendUint(b, r.next()|1<<63, 10)
		b = strconv.AppendInt(b, int64(r.intn(1000)), 10)
		return b
	case 1, 2:
		return strconv.AppendInt(b, int64(r.intn(1_000_000)), 10)
	default:
		return strconv.AppendUint(b, r.next()>>1, 10)
	}
}

// appendDecimal writes a decimal with up to 19 fractional digits, sometimes
// negative, sometimes with an exponent.
func appendDecimal(b []byte, r *genRand) []byte {
	if r.chance(30) {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, int64(r.intn(1000)), 10)
	b = append(b, '.')
	frac := strconv.FormatUint(r.next()%1e19, 10)
	b = append(b, frac[:1+r.intn(len(frac))]...)
	if r.chance(15) {
		b = append(b, r.pick([]string{"e5", "E-3", "e+12"})...)
	}
	return b
}

func appendLatLon(b []byte, r *genRand) []byte {
	b = append(b, `{"lat":`...)
	b = strconv.AppendFloat(b, float64(int64(r.next()%180_000_000)-90_000_000)/1e6, 'f', -1, 64)
	b = append(b, `,"lon":`...)
	b = strconv.AppendFloat(b, float64(int64(r.next()%360_000_000)-180_000_000)/1e6, 'f', -1, 64)
	return append(b, '}')
}

func appendStringArray(b []byte, r *genRand, pool []string, max int) []byte {
	b = append(b, '[')
	for i, n := 0, r.intn(max+1); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, r.pick(pool), r.chance(25))
	}
	return append(b, ']')
}

// appendJSONString writes s as a JSON string. Quotes, backslashes and
// control characters are always escaped; with ascii set, '/' becomes \/ and
// every non-ASCII character a \uXXXX escape (a surrogate pair above U+FFFF).
func appendJSONString(b []byte, s string, ascii bool) []byte {
	const hex = "0123456789abcdef"
	u4 := func(b []byte, c rune) []byte {
		return append(b, '\\', 'u', hex[c>>12&15], hex[c>>8&15], hex[c>>4&15], hex[c&15])
	}
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"':
			b = append(b, `\"`...)
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c < 0x20:
			b = u4(b, c)
		case c == '/' && ascii:
			b = append(b, `\/`...)
		case c >= 0x80 && ascii:
			if c > 0xFFFF {
				c -= 0x10000
				b = u4(b, 0xD800+(c>>10))
				b = u4(b, 0xDC00+(c&0x3FF))
			} else {
				b = u4(b, c)
			}
		default:
			b = utf8.AppendRune(b, c)
		}
	}
	return append(b, '"')
}

// TestGeneratedEvents checks that the generator is deterministic, that its
// records are valid JSON objects, and that it covers what it claims to.
func TestGeneratedEvents(t *testing.T) {
	const size = 1 << 20
	a := generateEvents(size)
	if len(a) < size {
		t.Fatalf("generateEvents(%d) gave %d bytes", size, len(a))
	}
	if b := generateEvents(size); !bytes.Equal(a, b) {
		t.Fatal("generateEvents is not deterministic")
	}
	if small := generateEvents(size / 4); !bytes.HasPrefix(a, small) {
		t.Fatal("a shorter generated input is not a prefix of a longer one")
	}
	lines := splitLines(a)
	if len(lines) < 100 {
		t.Fatalf("%d records in %d bytes", len(lines), len(a))
	}
	for i, l := range lines {
		if !json.Valid(l) || l[0] != '{' {
			t.Fatalf("record %d is not a JSON object: %.200s", i, l)
		}
	}
	twoTo64 := new(big.Int).Lsh(big.NewInt(1), 64)
	var bigAbove64, bigAbove53 bool
	for _, l := range lines[:200] {
		leaves, err := refFlatten(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, lf := range leaves {
			if n, ok := new(big.Int).SetString(lf.value, 10); ok && lf.path != "seq" {
				bigAbove64 = bigAbove64 || n.Cmp(twoTo64) > 0
				bigAbove53 = bigAbove53 || n.BitLen() > 53
			}
		}
	}
	if !bigAbove53 || !bigAbove64 {
		t.Errorf("no integers above 2^53 (%v) or 2^64 (%v)", bigAbove53, bigAbove64)
	}
	for _, want := range []string{`\"`, `\\`, `\n`, `\u00`, `\ud83d`, `\/`, `null`, `:{}`, `:[]`, `-0`, `e+12`, "😀", "東京", `"":`} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("generated input lacks %q", want)
		}
	}
	sum := sha256.Sum256(generateEvents(64 << 10))
	t.Logf("first 64 KiB of generated records: sha256 %s", hex.EncodeToString(sum[:8]))
}
