package snowflaketest

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Statement type ids, as gosnowflake reads them.
const (
	stmtSelect = 0x1000
	stmtInsert = 0x3100
	stmtUpdate = 0x3200
	stmtDelete = 0x3300
	stmtMerge  = 0x3400
	stmtCopy   = 0x3600
	stmtDDL    = 0x6000
)

// rowType is one entry of a JSON result's rowtype.
type rowType struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Precision  int64  `json:"precision"`
	Scale      int64  `json:"scale"`
	Length     int64  `json:"length"`
	ByteLength int64  `json:"byteLength"`
	Nullable   bool   `json:"nullable"`
}

// result is what one statement returns.
type result struct {
	typeID  int64
	rowtype []rowType
	rowset  [][]*string
	raw     map[string]any // replaces rowtype/rowset (PUT replies)
	job     *copyJob       // a COPY's rejected rows, for VALIDATE
}

func textCol(name string) rowType {
	return rowType{Name: name, Type: "text", Length: 16777216, ByteLength: 16777216, Nullable: true}
}

func fixedCol(name string) rowType {
	return rowType{Name: name, Type: "fixed", Precision: 19, Nullable: true}
}

var reDecimal = regexp.MustCompile(`^DECIMAL\((\d+),\s*(\d+)\)$`)

// snowType maps a DuckDB type name to a rowtype entry.
func snowType(name, duckType string) rowType {
	t := strings.ToUpper(duckType)
	rt := rowType{Name: name, Nullable: true}
	switch {
	case reDecimal.MatchString(t):
		m := reDecimal.FindStringSubmatch(t)
		rt.Type = "fixed"
		rt.Precision, _ = strconv.ParseInt(m[1], 10, 64)
		rt.Scale, _ = strconv.ParseInt(m[2], 10, 64)
	case t == "TINYINT", t == "SMALLINT", t == "INTEGER", t == "BIGINT", t == "UTINYINT", t == "USMALLINT", t == "UINTEGER", t == "UBIGINT":
		rt.Type, rt.Precision = "fixed", 19
	case t == "HUGEINT", t == "UHUGEINT":
		rt.Type, rt.Precision = "fixed", 38
	case t == "FLOAT", t == "DOUBLE":
		rt.Type = "real"
	case t == "BOOLEAN":
		rt.Type = "boolean"
	case t == "DATE":
		rt.Type = "date"
	case t == "TIME", t == "TIME WITH TIME ZONE":
		rt.Type, rt.Scale = "time", 9
	case t == "TIMESTAMP", t == "TIMESTAMP_NS", t == "TIMESTAMP_MS", t == "TIMESTAMP_S":
		rt.Type, rt.Scale = "timestamp_ntz", 9
	case t == "TIMESTAMP WITH TIME ZONE", t == "TIMESTAMPTZ":
		rt.Type, rt.Scale = "timestamp_ltz", 9
	case isTZStruct(t):
		rt.Type, rt.Scale = "timestamp_tz", 9
	case t == "JSON":
		rt.Type = "variant"
	case t == "BLOB":
		rt.Type, rt.Length, rt.ByteLength = "binary", 8388608, 8388608
	case strings.HasSuffix(t, "[]"), strings.HasPrefix(t, "LIST"):
		rt.Type = "array"
	case strings.HasPrefix(t, "STRUCT"), strings.HasPrefix(t, "MAP"):
		rt.Type = "object"
	default:
		rt.Type, rt.Length, rt.ByteLength = "text", 16777216, 16777216
	}
	return rt
}

// queryRows runs a query on the session's connection and converts the
// result. JSON columns are read back as text (duckdb-go decodes them), by
// running the query again with casts, which is safe for a query.
func queryRows(ctx context.Context, conn *sql.Conn, q string) (*result, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, err
	}
	hasJSON := false
	for _, ct := range cts {
		if strings.EqualFold(ct.DatabaseTypeName(), "JSON") {
			hasJSON = true
		}
	}
	if hasJSON {
		rows.Close()
		var sel, alias []string
		for i, ct := range cts {
			a := fmt.Sprintf("__c%d", i+1)
			alias = append(alias, a)
			if strings.EqualFold(ct.DatabaseTypeName(), "JSON") {
				sel = append(sel, "CAST("+a+" AS VARCHAR) AS "+quoteIdent(ct.Name()))
			} else {
				sel = append(sel, a+" AS "+quoteIdent(ct.Name()))
			}
		}
		wrapped := "SELECT " + strings.Join(sel, ", ") + " FROM (" + q + "\n) AS __q(" + strings.Join(alias, ", ") + ")"
		rows, err = conn.QueryContext(ctx, wrapped)
		if err != nil {
			return nil, err
		}
	}
	defer rows.Close()
	res := &result{typeID: stmtSelect}
	for _, ct := range cts {
		res.rowtype = append(res.rowtype, snowType(ct.Name(), ct.DatabaseTypeName()))
	}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]*string, len(cts))
		for i, v := range vals {
			row[i] = formatValue(v, res.rowtype[i].Type)
		}
		res.rowset = append(res.rowset, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(res.rowtype) == 0 {
		res.rowtype = []rowType{textCol("status")}
	}
	return res, nil
}

// formatValue renders a DuckDB value the way Snowflake's JSON result
// format does for the column's Snowflake type.
func formatValue(v any, typ string) *string {
	if v == nil {
		return nil
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		if typ == "binary" {
			s = strings.ToUpper(hex.EncodeToString(x))
		} else {
			s = string(x)
		}
	case bool:
		s = "0"
		if x {
			s = "1"
		}
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, int, uint:
		s = fmt.Sprint(x)
	case *big.Int:
		s = x.String()
	case duckdb.Decimal:
		s = formatDecimal(x)
	case float32:
		s = strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		switch typ {
		case "date":
			s = strconv.FormatInt(floorDiv(x.Unix(), 86400), 10)
		case "time":
			sec := int64(x.Hour()*3600 + x.Minute()*60 + x.Second())
			s = fmt.Sprintf("%d.%09d", sec, x.Nanosecond())
		default:
			s = fmt.Sprintf("%d.%09d", x.Unix(), x.Nanosecond())
		}
	case duckdb.UUID:
		s = x.String()
	case map[string]any:
		if typ != "timestamp_tz" {
			return formatJSON(x)
		}
		at, _ := x["sf_instant"].(time.Time)
		off, _ := x["sf_offset"].(int16)
		s = fmt.Sprintf("%d.%09d %d", at.Unix(), at.Nanosecond(), int(off)+1440)
	default:
		return formatJSON(x)
	}
	return &s
}

// formatJSON renders a composite value as JSON text.
func formatJSON(x any) *string {
	b, err := json.Marshal(x)
	s := string(b)
	if err != nil {
		s = fmt.Sprint(x)
	}
	return &s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// formatDecimal renders a decimal with exactly its scale's digits, as
// Snowflake does for NUMBER(p,s) ("10.50").
func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	neg := d.Value.Sign() < 0
	digits := new(big.Int).Abs(d.Value).String()
	sc := int(d.Scale)
	if sc > 0 {
		if len(digits) <= sc {
			digits = strings.Repeat("0", sc-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-sc] + "." + digits[len(digits)-sc:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}
