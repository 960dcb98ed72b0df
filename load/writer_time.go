package load

import (
	"strings"

	"github.com/flatpipe/flatpipe/schema"
)

// timeKind is how a column's type holds time values.
type timeKind uint8

const (
	notTime  timeKind = iota
	timeDate          // DATE
	timeNTZ           // TIMESTAMP_NTZ: wall clock, any offset ignored
	timeLTZ           // TIMESTAMP_LTZ: an instant
	timeTZ            // TIMESTAMP_TZ: an instant and its offset
)

// timeKindOf returns the time kind of a column type. TIMESTAMP_LTZ, which
// schema reads as Other, is recognized by its name (TIMESTAMP_LTZ(9),
// TIMESTAMPLTZ, TIMESTAMP WITH LOCAL TIME ZONE); a plain TIMESTAMP is
// TIMESTAMP_NTZ, Snowflake's default TIMESTAMP_TYPE_MAPPING.
func timeKindOf(t schema.Type) timeKind {
	switch t.Kind {
	case schema.Date:
		return timeDate
	case schema.TimestampNTZ:
		return timeNTZ
	case schema.TimestampTZ:
		return timeTZ
	case schema.Other:
		r := strings.TrimSpace(t.Raw)
		if i := strings.IndexByte(r, '('); i >= 0 {
			r = strings.TrimSpace(r[:i])
		}
		switch {
		case strings.EqualFold(r, "TIMESTAMP_LTZ"), strings.EqualFold(r, "TIMESTAMPLTZ"),
			strings.EqualFold(r, "TIMESTAMP WITH LOCAL TIME ZONE"):
			return timeLTZ
		case strings.EqualFold(r, "TIMESTAMP"):
			return timeNTZ
		}
	}
	return notTime
}

// wallTime is a date or timestamp as written in one of the forms that
// Snowflake's AUTO detection reads: YYYY-MM-DD, optionally followed by T
// or a space and hh:mm:ss with an optional fraction of up to 9 digits, and
// then optionally by a zone (Z, ±hh, ±hhmm or ±hh:mm), itself optionally
// after one space: "2024-01-02", "2024-01-02T03:04:05.123Z",
// "2024-01-02 03:04:05 +05:00".
type wallTime struct {
	days   int64 // days of the wall-clock date since 1970-01-01
	nanos  int64 // nanoseconds since the wall-clock midnight
	offset int64 // seconds east of UTC (0 without a zone)
	zone   bool  // a zone was written
	date   bool  // a date alone
}

// parseWallTime parses v without allocating.
func parseWallTime(v []byte) (wallTime, bool) {
	var t wallTime
	num := func(b []byte) (int64, bool) {
		var n int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, len(b) > 0
	}
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return t, false
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) {
		return t, false
	}
	t.days = daysFromCivil(y, mo, d)
	if len(v) == 10 {
		t.date = true
		return t, true
	}
	if len(v) < 19 || (v[10] != 'T' && v[10] != ' ') || v[13] != ':' || v[16] != ':' {
		return t, false
	}
	h, ok1 := num(v[11:13])
	mi, ok2 := num(v[14:16])
	s, ok3 := num(v[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 59 {
		return t, false
	}
	t.nanos = ((h*60+mi)*60 + s) * 1e9
	rest := v[19:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return t, false
		}
		frac, _ := num(rest[1:n])
		for i := n - 1; i < 9; i++ {
			frac *= 10
		}
		t.nanos += frac
		rest = rest[n:]
	}
	if len(rest) > 1 && rest[0] == ' ' {
		rest = rest[1:]
	}
	switch {
	case len(rest) == 0:
		return t, true
	case len(rest) == 1 && rest[0] == 'Z':
		t.zone = true
		return t, true
	case rest[0] != '+' && rest[0] != '-':
		return t, false
	}
	var oh, om int64
	var ok bool
	switch len(rest) {
	case 3: // ±hh
		oh, ok = num(rest[1:3])
	case 5: // ±hhmm
		oh, ok1 = num(rest[1:3])
		om, ok2 = num(rest[3:5])
		ok = ok1 && ok2
	case 6: // ±hh:mm
		oh, ok1 = num(rest[1:3])
		om, ok2 = num(rest[4:6])
		ok = ok1 && ok2 && rest[3] == ':'
	}
	if !ok || oh > 23 || om > 59 {
		return t, false
	}
	t.offset = (oh*60 + om) * 60
	if rest[0] == '-' {
		t.offset = -t.offset
	}
	t.zone = true
	return t, true
}

// Nanoseconds since the epoch fit an int64 from 1677-09-21 to 2262-04-11;
// maxNanoDays keeps a day's margin on each side.
const maxNanoDays = 106750

// wallNanos returns the wall clock as nanoseconds since the epoch, as if it
// were UTC (TIMESTAMP_NTZ); ok is false outside the range of int64.
func (t wallTime) wallNanos() (int64, bool) {
	if t.days < -maxNanoDays || t.days > maxNanoDays {
		return 0, false
	}
	return t.days*86400e9 + t.nanos, true
}

// instantNanos returns the instant as nanoseconds since the epoch; a time
// written without a zone is taken as UTC.
func (t wallTime) instantNanos() (int64, bool) {
	n, ok := t.wallNanos()
	return n - t.offset*1e9, ok
}

// timeFits reports whether v, a string, loads into a column of kind k as a
// time, and, for Parquet (typed), whether it fits the Parquet type: a DATE
// takes a date alone; TIMESTAMP_NTZ a date or a timestamp, with or without
// zone (Snowflake ignores the zone); TIMESTAMP_LTZ and TIMESTAMP_TZ a date
// or a timestamp. Parquet's TIMESTAMP(NANOS) holds 1677-09-22 to 2262-04-10.
func timeFits(k timeKind, v []byte, typed bool) bool {
	t, ok := parseWallTime(v)
	if !ok {
		return false
	}
	switch k {
	case timeDate:
		return t.date
	case timeNTZ:
		if typed {
			_, ok = t.wallNanos()
		}
		return ok
	case timeLTZ, timeTZ:
		if typed {
			_, ok = t.instantNanos()
		}
		return ok
	}
	return false
}

func daysInMonth(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
