package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxWhenLen bounds a time request; the longest valid one is far shorter.
const MaxWhenLen = 96

// Errors of ParseWhen and LoadZone (ErrPast and ErrTooFar are in state.go).
var (
	ErrSyntax      = errors.New("cannot read the time")
	ErrZone        = errors.New("unknown time zone")
	ErrNonexistent = errors.New("time does not exist")
)

// LoadZone loads an IANA time zone by name from the tz database embedded in
// the binary (zone.go), never from the host's: the two sides' servers and
// clients must agree on every offset whatever their hosts have installed,
// and minimal containers have no zoneinfo at all. Unlike time.LoadLocation
// it refuses "" and "Local" (they mean the host's zone, which differs
// between the sides' machines) and anything that is not shaped like a zone
// name.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, fmt.Errorf("%w %q", ErrZone, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+') {
			return nil, fmt.Errorf("%w %q: not an IANA zone name", ErrZone, name)
		}
	}
	return embeddedZone(name)
}

// When is a parsed time request.
type When struct {
	At time.Time // the instant, in Zone
	// Zone is the zone the request was read in: the one it named, else the
	// requester's.
	Zone *time.Location
	// Note is set when the wall time happened twice and the earlier instant
	// was taken; show it to the requester.
	Note string
}

// ParseWhen reads a time request (grammar in the package documentation) in
// requesterZone at now. An ambiguous wall time resolves to its earlier
// instant; ParseWhenNote also returns a note saying so.
func ParseWhen(s string, requesterZone *time.Location, now time.Time) (time.Time, error) {
	w, err := ParseWhenNote(s, requesterZone, now)
	return w.At, err
}

// ParseWhenNote is ParseWhen with the zone read and the ambiguity note.
func ParseWhenNote(s string, requesterZone *time.Location, now time.Time) (When, error) {
	if requesterZone == nil {
		return When{}, fmt.Errorf("%w: no requester zone", ErrZone)
	}
	if len(s) > MaxWhenLen {
		return When{}, fmt.Errorf("%w: %d bytes, at most %d bytes", ErrSyntax, len(s), MaxWhenLen)
	}
	f := strings.Split(s, " ")
	for _, t := range f {
		if t == "" {
			return When{}, fmt.Errorf("%w %q: separate words by single spaces", ErrSyntax, s)
		}
	}
	w, err := parseWords(f, requesterZone, now)
	if err != nil {
		return When{}, err
	}
	if now.Sub(w.At) >= Grace {
		return When{}, fmt.Errorf("%w: %s", ErrPast, Describe(w.At, w.Zone))
	}
	if w.At.Sub(now) > MaxAhead {
		return When{}, fmt.Errorf("%w: %s is more than two years ahead", ErrTooFar, Describe(w.At, w.Zone))
	}
	return w, nil
}

const usage = `want "now", "in 2h", "in 1h30m", "at 18:00", "at 23:30 tomorrow", "at 18:00 Europe/Moscow" or "at 2027-03-28 18:00 Europe/Moscow"`

func parseWords(f []string, zone *time.Location, now time.Time) (When, error) {
	bad := func(why string, args ...any) (When, error) {
		return When{}, fmt.Errorf("%w %q: %s; %s", ErrSyntax, strings.Join(f, " "), fmt.Sprintf(why, args...), usage)
	}
	switch f[0] {
	case "now":
		if len(f) != 1 {
			return bad("nothing may follow now")
		}
		return When{At: now.In(zone), Zone: zone}, nil
	case "in":
		if len(f) != 2 {
			return bad("in takes one span like 2h or 90m")
		}
		d, err := parseSpan(f[1])
		if err != nil {
			return bad("%v", err)
		}
		return When{At: now.Add(d).In(zone), Zone: zone}, nil
	case "at":
	default:
		return bad("start with now, in or at")
	}
	rest := f[1:]
	if len(rest) == 0 {
		return bad("at needs a time")
	}
	// Optional date first.
	var date *civilDate
	if strings.Contains(rest[0], "-") {
		d, err := parseDate(rest[0])
		if err != nil {
			return bad("%v", err)
		}
		date = &d
		rest = rest[1:]
		if len(rest) == 0 {
			return bad("the date needs a time")
		}
	}
	hh, mm, err := parseClock(rest[0])
	if err != nil {
		return bad("%v", err)
	}
	rest = rest[1:]
	day := ""
	if len(rest) > 0 && (rest[0] == "today" || rest[0] == "tomorrow") {
		if date != nil {
			return bad("a date and %s together", rest[0])
		}
		day, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		z, err := LoadZone(rest[0])
		if err != nil {
			if strings.Contains(rest[0], "/") || rest[0] == "UTC" {
				return When{}, err
			}
			return bad("%q is neither today, tomorrow nor a zone", rest[0])
		}
		zone, rest = z, rest[1:]
	}
	if len(rest) > 0 {
		return bad("unexpected %q", rest[0])
	}

	today := civilOf(now.In(zone))
	switch {
	case date != nil:
		return resolve(*date, hh, mm, zone, now)
	case day == "today":
		return resolve(today, hh, mm, zone, now)
	case day == "tomorrow":
		return resolve(today.addDays(1), hh, mm, zone, now)
	}
	// No day: the next such time, today if it has not passed.
	w, err := resolve(today, hh, mm, zone, now)
	if err != nil {
		return When{}, err
	}
	if now.Sub(w.At) >= Grace {
		return resolve(today.addDays(1), hh, mm, zone, now)
	}
	return w, nil
}

// parseSpan reads "2h", "90m", "1h30m": hours then minutes, each 1–4
// digits, at least one, the total positive. Days are left out on purpose:
// "in 1d" would be ambiguous across a DST change (24 h or the same hour?).
func parseSpan(s string) (time.Duration, error) {
	var total time.Duration
	rest, seen := s, ""
	for rest != "" {
		i := 0
		for i < len(rest) && i < 5 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 4 || i == len(rest) {
			return 0, fmt.Errorf("span %q: want 1–4 digits then h or m", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		unit := rest[i]
		switch {
		case unit == 'h' && seen == "":
			total += time.Duration(n) * time.Hour
		case unit == 'm' && (seen == "" || seen == "h"):
			total += time.Duration(n) * time.Minute
		default:
			return 0, fmt.Errorf("span %q: units are h then m, each once", s)
		}
		seen = string(unit)
		rest = rest[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("span %q is not positive", s)
	}
	return total, nil
}

func parseClock(s string) (hh, mm int, err error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, 0, fmt.Errorf("time %q: want HH:MM, 24-hour", s)
	}
	hh, _ = strconv.Atoi(s[:2])
	mm, _ = strconv.Atoi(s[3:])
	if hh > 23 || mm > 59 {
		return 0, 0, fmt.Errorf("time %q: out of range", s)
	}
	return hh, mm, nil
}

// civilDate is a day on the calendar, without a zone.
type civilDate struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// addDays counts on the calendar in UTC, where every day has 24 hours, so
// that "tomorrow" is the next date even on a 23- or 25-hour day.
func (c civilDate) addDays(n int) civilDate {
	return civilOf(time.Date(c.y, c.m, c.d+n, 12, 0, 0, 0, time.UTC))
}

func (c civilDate) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, c.m, c.d) }

func parseDate(s string) (civilDate, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[:4]) || !digits(s[5:7]) || !digits(s[8:]) {
		return civilDate{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:])
	c := civilDate{y, time.Month(m), d}
	// time.Date normalises 02-30 to 03-02; a date that does not survive
	// the round trip does not exist.
	if m < 1 || m > 12 || d < 1 || civilOf(time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)) != c {
		return civilDate{}, fmt.Errorf("date %q does not exist", s)
	}
	return c, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// resolve finds the instant at which zone's clocks read day hh:mm.
//
// time.Date does not say which instant it picks in a fall-back overlap nor
// that a spring-forward time does not exist, so this tries each UTC offset
// the zone uses within two days of the date and keeps those under which the
// wall time reads back unchanged: none is a gap (an error), two an overlap.
// Of two, the earlier is taken, unless it has passed at now and the later
// has not ("at 01:50" said at 01:45 in the repeated hour means in five
// minutes); the note says which was taken.
func resolve(day civilDate, hh, mm int, zone *time.Location, now time.Time) (When, error) {
	naive := time.Date(day.y, day.m, day.d, hh, mm, 0, 0, time.UTC)
	var offsets []int
	for h := -48; h <= 48; h += 12 {
		_, off := naive.Add(time.Duration(h) * time.Hour).In(zone).Zone()
		if !containsInt(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var found []time.Time
	for _, off := range offsets {
		t := naive.Add(-time.Duration(off) * time.Second).In(zone)
		if civilOf(t) == day && t.Hour() == hh && t.Minute() == mm && t.Second() == 0 {
			if !containsTime(found, t) {
				found = append(found, t)
			}
		}
	}
	wall := fmt.Sprintf("%02d:%02d on %s", hh, mm, day)
	switch len(found) {
	case 0:
		return When{}, fmt.Errorf("%w: %s in %s falls in the gap when clocks go forward%s",
			ErrNonexistent, wall, zone, gapText(naive, offsets, zone))
	case 1:
		return When{At: found[0], Zone: zone}, nil
	}
	first, second := found[0], found[1]
	if second.Before(first) {
		first, second = second, first
	}
	if now.Sub(first) >= Grace && now.Sub(second) < Grace {
		note := fmt.Sprintf("%s happens twice in %s (clocks go back); taken as the second, %s, since the first, %s, has passed",
			wall, zone, abbrev(second), abbrev(first))
		return When{At: second, Zone: zone, Note: note}, nil
	}
	note := fmt.Sprintf("%s happens twice in %s (clocks go back); taken as the first, %s, %s before the second, %s",
		wall, zone, abbrev(first), span(second.Sub(first)), abbrev(second))
	return When{At: first, Zone: zone, Note: note}, nil
}

// gapText names the skipped hour: " (from 02:00 EST to 03:00 EDT)".
func gapText(naive time.Time, offsets []int, zone *time.Location) string {
	for _, off := range offsets {
		// Under the offset in force before the jump, the wall time maps
		// to an instant just after it; that instant's zone period begins
		// at the transition.
		t := naive.Add(-time.Duration(off) * time.Second).In(zone)
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			continue
		}
		before := start.Add(-time.Nanosecond).In(zone)
		_, offBefore := before.Zone()
		_, offAfter := start.In(zone).Zone()
		if offBefore != off || offAfter <= offBefore {
			continue
		}
		from := start.In(time.FixedZone(zoneName(before), offBefore))
		return fmt.Sprintf(" (from %s %s to %s %s)", from.Format("15:04"), zoneName(before), start.In(zone).Format("15:04"), zoneName(start.In(zone)))
	}
	return ""
}

func zoneName(t time.Time) string {
	n, _ := t.Zone()
	return n
}

// abbrev is "01:30 EDT (UTC-04:00)".
func abbrev(t time.Time) string {
	return t.Format("15:04 MST (UTC-07:00)")
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func containsTime(xs []time.Time, x time.Time) bool {
	for _, y := range xs {
		if y.Equal(x) {
			return true
		}
	}
	return false
}

// Describe shows t in each zone, joined by " = ":
// "18:00 Europe/Moscow (Sat 21 Nov) = 10:00 America/New_York (Sat 21 Nov)".
// With no zones it uses t's own; a nil zone is UTC; a zone named twice is
// shown once.
func Describe(t time.Time, zones ...*time.Location) string {
	if len(zones) == 0 {
		zones = []*time.Location{t.Location()}
	}
	var parts []string
	var seen []string
	for _, z := range zones {
		if z == nil {
			z = time.UTC
		}
		if containsString(seen, z.String()) {
			continue
		}
		seen = append(seen, z.String())
		lt := t.In(z)
		parts = append(parts, fmt.Sprintf("%s %s (%s)", lt.Format("15:04"), z, lt.Format("Mon 2 Jan")))
	}
	return strings.Join(parts, " = ")
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
