package snowflaketest

import (
	"strconv"
	"strings"
	"time"
)

// cronSpec is a task SCHEDULE = 'USING CRON <minute> <hour> <day of
// month> <month> <day of week> <time zone>': lists, ranges, steps and *,
// month and day names; as in cron, a day matches when the day of month or
// the day of week does if both are restricted. Snowflake's L, W and #
// forms are not supported.
type cronSpec struct {
	min, hour, dom, month, dow uint64
	domAll, dowAll             bool
	loc                        *time.Location
}

var (
	cronMonths = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	cronDays   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// parseCron reads the text after USING CRON.
func parseCron(expr string) (*cronSpec, error) {
	f := strings.Fields(expr)
	bad := func(why string) error {
		return sqlErr(errFileFormat, "22023", "SQL compilation error:\ninvalid value ['USING CRON %s'] for parameter 'SCHEDULE': %s", expr, why)
	}
	if len(f) != 6 {
		return nil, bad("want five fields and a time zone")
	}
	loc, err := time.LoadLocation(f[5])
	if err != nil {
		return nil, bad("unknown time zone " + f[5])
	}
	c := &cronSpec{loc: loc, domAll: f[2] == "*" || f[2] == "?", dowAll: f[4] == "*" || f[4] == "?"}
	for i, p := range []struct {
		dst      *uint64
		lo, hi   int
		names    []string
		nameBase int
	}{{&c.min, 0, 59, nil, 0}, {&c.hour, 0, 23, nil, 0}, {&c.dom, 1, 31, nil, 0}, {&c.month, 1, 12, cronMonths, 1}, {&c.dow, 0, 7, cronDays, 0}} {
		bits, err := cronField(f[i], p.lo, p.hi, p.names, p.nameBase)
		if se, ok := err.(*SQLError); ok {
			return nil, se
		}
		if err != nil {
			return nil, bad(err.Error())
		}
		*p.dst = bits
	}
	if c.dow&(1<<7) != 0 { // 7 is Sunday too
		c.dow |= 1
	}
	return c, nil
}

type cronErr string

func (e cronErr) Error() string { return string(e) }

// cronField parses one field into a bit set of the values it allows.
func cronField(s string, lo, hi int, names []string, base int) (uint64, error) {
	num := func(v string) (int, error) {
		for i, n := range names {
			if strings.EqualFold(v, n) {
				return i + base, nil
			}
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, cronErr("value " + v + " out of range")
		}
		return n, nil
	}
	var bits uint64
	for _, part := range strings.Split(s, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, cronErr("bad step " + stepText)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*" || rng == "?":
		case strings.ContainsAny(rng, "LW#"):
			return 0, unsupported("CRON L, W and # forms")
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = num(a); err != nil {
				return 0, err
			}
			if to, err = num(b); err != nil {
				return 0, err
			}
			if to < from {
				return 0, cronErr("empty range " + rng)
			}
		default:
			n, err := num(rng)
			if err != nil {
				return 0, err
			}
			from, to = n, n
			if hasStep {
				to = hi
			}
		}
		for v := from; v <= to; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

// next returns the first whole minute after t that the schedule matches
// (within five years; the zero time if none).
func (c *cronSpec) next(t time.Time) time.Time {
	m := t.In(c.loc).Truncate(time.Minute).Add(time.Minute)
	end := m.AddDate(5, 0, 0)
	for m.Before(end) {
		if c.month&(1<<int(m.Month())) == 0 {
			m = time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, c.loc)
			continue
		}
		domOK := c.dom&(1<<m.Day()) != 0
		dowOK := c.dow&(1<<int(m.Weekday())) != 0
		dayOK := domOK && dowOK
		if !c.domAll && !c.dowAll {
			dayOK = domOK || dowOK
		}
		if !dayOK {
			m = time.Date(m.Year(), m.Month(), m.Day()+1, 0, 0, 0, 0, c.loc)
			continue
		}
		if c.hour&(1<<m.Hour()) == 0 {
			m = time.Date(m.Year(), m.Month(), m.Day(), m.Hour()+1, 0, 0, 0, c.loc)
			continue
		}
		if c.min&(1<<m.Minute()) == 0 {
			m = m.Add(time.Minute)
			continue
		}
		return m
	}
	return time.Time{}
}
