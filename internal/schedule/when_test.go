package schedule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// whenCase: requester zone, now, input; the instant wanted (RFC 3339) or
// the error; substrings the note or error message must contain.
type whenCase struct {
	name   string
	zone   string
	now    string
	in     string
	want   string
	err    error
	note   string // substring of the note ("" : no note)
	errMsg string // substring of the error message
}

// whenCases are checked by TestParseWhen and, from a process that cannot
// see the host's zoneinfo, by TestEmbeddedTZData.
var whenCases = []whenCase{
	// 2026-11-21 06:04 UTC is 01:04 in New York (EST, UTC-5) and 09:04 in
	// Moscow (MSK, UTC+3, no DST since 2014).
	{name: "now", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "now", want: "2026-11-21T06:04:00Z"},
	{name: "in 2h", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "in 2h", want: "2026-11-21T08:04:00Z"},
	{name: "in 90m", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "in 90m", want: "2026-11-21T07:34:00Z"},
	{name: "in 1h30m", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "in 1h30m", want: "2026-11-21T07:34:00Z"},
	{name: "at 18:00 Moscow from New York", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "at 18:00 Europe/Moscow", want: "2026-11-21T15:00:00Z"},
	{name: "at 23:30 tomorrow in the requester's zone", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "at 23:30 tomorrow", want: "2026-11-23T04:30:00Z"},
	{name: "at a date in Moscow", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "at 2027-03-28 18:00 Europe/Moscow", want: "2027-03-28T15:00:00Z"},
	{name: "at UTC", zone: "Europe/Moscow", now: "2026-11-21T06:04:00Z", in: "at 18:00 UTC", want: "2026-11-21T18:00:00Z"},
	{name: "the current minute is now", zone: "America/New_York", now: "2026-11-21T06:04:30Z", in: "at 01:04", want: "2026-11-21T06:04:00Z"},
	{name: "a passed time is tomorrow", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "at 01:03", want: "2026-11-22T06:03:00Z"},
	{name: "a passed time today is an error", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "at 00:30 today", err: ErrPast, errMsg: "00:30 America/New_York (Sat 21 Nov)"},
	{name: "later today", zone: "America/New_York", now: "2026-11-21T06:04:00Z", in: "at 10:00 today", want: "2026-11-21T15:00:00Z"},

	// Days are the named zone's: at 23:00 in New York it is already the
	// 22nd in Moscow.
	{name: "Moscow's today from New York's night", zone: "America/New_York", now: "2026-11-22T04:00:00Z", in: "at 18:00 Europe/Moscow", want: "2026-11-22T15:00:00Z"},
	{name: "Moscow's tomorrow from New York's night", zone: "America/New_York", now: "2026-11-22T04:00:00Z", in: "at 18:00 tomorrow Europe/Moscow", want: "2026-11-23T15:00:00Z"},
	{name: "New York's tomorrow at New York's night", zone: "America/New_York", now: "2026-11-22T04:00:00Z", in: "at 18:00 tomorrow", want: "2026-11-22T23:00:00Z"},

	// New York springs forward on 2027-03-14 at 02:00 EST → 03:00 EDT;
	// Moscow does not move. 2027-03-13 17:00 UTC is 12:00 EST.
	{name: "tomorrow across spring forward", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 23:30 tomorrow", want: "2027-03-15T03:30:00Z"},
	// "tomorrow" is the next date, not 24 hours on: from 23:45 EST on the
	// 13th, 24 hours later is already the 15th; from 00:30 EDT on 7
	// November, 24 hours later is still the 7th.
	{name: "tomorrow from late on the eve of spring forward", zone: "America/New_York", now: "2027-03-14T04:45:00Z", in: "at 23:30 tomorrow", want: "2027-03-15T03:30:00Z"},
	{name: "tomorrow from just after midnight on fall back day", zone: "America/New_York", now: "2027-11-07T04:30:00Z", in: "at 09:00 tomorrow", want: "2027-11-08T14:00:00Z"},
	{name: "noon tomorrow is 23 hours away", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 12:00 tomorrow", want: "2027-03-14T16:00:00Z"},
	{name: "in 24h is elapsed time", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "in 24h", want: "2027-03-14T17:00:00Z"},
	{name: "the gap tomorrow", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 02:30 tomorrow", err: ErrNonexistent, errMsg: "from 02:00 EST to 03:00 EDT"},
	{name: "the gap's last minute", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-03-14 02:59 America/New_York", err: ErrNonexistent, errMsg: "02:59 on 2027-03-14 in America/New_York"},
	{name: "just before the gap", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-03-14 01:59 America/New_York", want: "2027-03-14T06:59:00Z"},
	{name: "just after the gap", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-03-14 03:00 America/New_York", want: "2027-03-14T07:00:00Z"},
	{name: "Moscow has no gap", zone: "Europe/Moscow", now: "2027-03-13T17:00:00Z", in: "at 02:30 tomorrow", want: "2027-03-13T23:30:00Z"},
	{name: "Moscow has no gap, named from New York", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-03-14 02:30 Europe/Moscow", want: "2027-03-13T23:30:00Z"},

	// Berlin springs forward on 2027-03-28 at 02:00 CET → 03:00 CEST.
	{name: "Berlin's gap", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-03-28 02:30 Europe/Berlin", err: ErrNonexistent, errMsg: "from 02:00 CET to 03:00 CEST"},
	{name: "New York has no gap on Berlin's day", zone: "Europe/Berlin", now: "2027-03-13T17:00:00Z", in: "at 2027-03-28 02:30 America/New_York", want: "2027-03-28T06:30:00Z"},

	// New York falls back on 2027-11-07 at 02:00 EDT → 01:00 EST: 01:30
	// happens at 05:30 and 06:30 UTC.
	{name: "fall back takes the first", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-11-07 01:30 America/New_York", want: "2027-11-07T05:30:00Z", note: "taken as the first, 01:30 EDT (UTC-04:00), 1h before the second, 01:30 EST (UTC-05:00)"},
	{name: "fall back, first passed", zone: "America/New_York", now: "2027-11-07T06:45:00Z", in: "at 01:50", want: "2027-11-07T06:50:00Z", note: "taken as the second, 01:50 EST (UTC-05:00), since the first, 01:50 EDT (UTC-04:00), has passed"},
	{name: "fall back, both passed", zone: "America/New_York", now: "2027-11-07T06:45:00Z", in: "at 01:30", want: "2027-11-08T06:30:00Z"},
	{name: "fall back, today, both passed", zone: "America/New_York", now: "2027-11-07T06:45:00Z", in: "at 01:30 today", err: ErrPast},
	{name: "tomorrow across fall back", zone: "America/New_York", now: "2027-11-06T16:00:00Z", in: "at 12:00 tomorrow", want: "2027-11-07T17:00:00Z"},
	// Berlin falls back on 2027-10-31 at 03:00 CEST → 02:00 CET.
	{name: "Berlin's fall back", zone: "America/New_York", now: "2027-03-13T17:00:00Z", in: "at 2027-10-31 02:30 Europe/Berlin", want: "2027-10-31T00:30:00Z", note: "02:30 on 2027-10-31 happens twice in Europe/Berlin"},

	// Zones with half-hour offsets and a half-hour DST shift.
	{name: "Kolkata", zone: "Asia/Kolkata", now: "2027-03-13T17:00:00Z", in: "at 09:00 tomorrow", want: "2027-03-14T03:30:00Z"},
	{name: "Lord Howe's half-hour gap", zone: "Australia/Lord_Howe", now: "2027-03-13T17:00:00Z", in: "at 2027-10-03 02:15 Australia/Lord_Howe", err: ErrNonexistent, errMsg: "from 02:00 +1030 to 02:30 +11"},

	// Syntax and range.
	{name: "empty", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "", err: ErrSyntax},
	{name: "word", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "later", err: ErrSyntax, errMsg: "start with now, in or at"},
	{name: "upper case", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "Now", err: ErrSyntax},
	{name: "now and more", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "now please", err: ErrSyntax},
	{name: "double space", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at  18:00", err: ErrSyntax},
	{name: "leading space", zone: "UTC", now: "2026-11-21T06:04:00Z", in: " now", err: ErrSyntax},
	{name: "at alone", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at", err: ErrSyntax},
	{name: "one-digit hour", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 8:00", err: ErrSyntax, errMsg: "want HH:MM"},
	{name: "hour 24", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 24:00", err: ErrSyntax, errMsg: "out of range"},
	{name: "minute 60", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:60", err: ErrSyntax},
	{name: "seconds", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00:00", err: ErrSyntax},
	{name: "pm", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 6pm", err: ErrSyntax},
	{name: "typo in tomorrow", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 tomorow", err: ErrSyntax, errMsg: `"tomorow" is neither today, tomorrow nor a zone`},
	{name: "unknown zone", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 Mars/Olympus_Mons", err: ErrZone},
	{name: "Local zone", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 Local", err: ErrSyntax},
	{name: "zone path", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 ../../etc/passwd", err: ErrZone},
	{name: "zone then day", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 Europe/Moscow tomorrow", err: ErrSyntax, errMsg: `unexpected "tomorrow"`},
	{name: "two days", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 tomorrow today", err: ErrSyntax},
	{name: "date and day", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2027-01-01 18:00 tomorrow", err: ErrSyntax},
	{name: "date without time", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2027-01-01", err: ErrSyntax},
	{name: "time before date", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 2027-01-01", err: ErrSyntax},
	{name: "30 February", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2027-02-30 18:00", err: ErrSyntax, errMsg: "does not exist"},
	{name: "29 February of a leap year", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2028-02-29 18:00", want: "2028-02-29T18:00:00Z"},
	{name: "29 February of another year", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2027-02-29 18:00", err: ErrSyntax},
	{name: "month 13", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2027-13-01 18:00", err: ErrSyntax},
	{name: "short date", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2027-1-01 18:00", err: ErrSyntax},
	{name: "past date", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2020-01-01 18:00", err: ErrPast},
	{name: "too far", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2035-01-01 18:00", err: ErrTooFar},
	{name: "two years ahead", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2028-11-20 06:04", want: "2028-11-20T06:04:00Z"},
	{name: "two years and a minute", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 2028-11-20 06:05", err: ErrTooFar},
	{name: "in the most", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 9999h59m", want: "2028-01-11T22:03:00Z"},
	{name: "in nothing", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in", err: ErrSyntax},
	{name: "in zero", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 0m", err: ErrSyntax, errMsg: "not positive"},
	{name: "in negative", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in -2h", err: ErrSyntax},
	{name: "in days", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 2d", err: ErrSyntax},
	{name: "in minutes then hours", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 30m2h", err: ErrSyntax},
	{name: "in hours twice", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 1h1h", err: ErrSyntax},
	{name: "in five digits", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 00001h", err: ErrSyntax},
	{name: "in bare number", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 2", err: ErrSyntax},
	{name: "in two words", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "in 2 h", err: ErrSyntax},
	{name: "too long", zone: "UTC", now: "2026-11-21T06:04:00Z", in: "at 18:00 " + strings.Repeat("x", MaxWhenLen), err: ErrSyntax, errMsg: "at most 96 bytes"},
}

// checkWhen runs one case; it reports through t and is shared with the
// zoneinfo-less child process.
func checkWhen(t *testing.T, c whenCase) {
	t.Helper()
	zone := mustZone(t, c.zone)
	w, err := ParseWhenNote(c.in, zone, utc(c.now))
	if c.err != nil {
		if !errors.Is(err, c.err) {
			t.Fatalf("ParseWhen(%q) = %v, %v; want %v", c.in, w.At, err, c.err)
		}
		if !strings.Contains(err.Error(), c.errMsg) {
			t.Errorf("error %q does not contain %q", err, c.errMsg)
		}
		return
	}
	if err != nil {
		t.Fatalf("ParseWhen(%q): %v", c.in, err)
	}
	if !w.At.Equal(utc(c.want)) {
		t.Errorf("ParseWhen(%q) = %s, want %s", c.in, w.At.UTC().Format(time.RFC3339), c.want)
	}
	if (c.note == "") != (w.Note == "") || !strings.Contains(w.Note, c.note) {
		t.Errorf("note %q, want one containing %q", w.Note, c.note)
	}
	at, err := ParseWhen(c.in, zone, utc(c.now))
	if err != nil || !at.Equal(w.At) {
		t.Errorf("ParseWhen and ParseWhenNote disagree: %v, %v", at, err)
	}
}

func TestParseWhen(t *testing.T) {
	for _, c := range whenCases {
		t.Run(c.name, func(t *testing.T) { checkWhen(t, c) })
	}
	if _, err := ParseWhen("now", nil, t0); !errors.Is(err, ErrZone) {
		t.Errorf("nil requester zone: %v", err)
	}
}

// describeCases: the same instant in both sides' zones, in the weeks when
// only one of the two has changed its clocks.
var describeCases = []struct {
	at    string
	zones [2]string
	want  string
}{
	{"2026-11-21T15:00:00Z", [2]string{"Europe/Moscow", "America/New_York"}, "18:00 Europe/Moscow (Sat 21 Nov) = 10:00 America/New_York (Sat 21 Nov)"},
	// Moscow–New York: 8 h in winter, 7 h once New York springs forward.
	{"2027-03-13T15:00:00Z", [2]string{"Europe/Moscow", "America/New_York"}, "18:00 Europe/Moscow (Sat 13 Mar) = 10:00 America/New_York (Sat 13 Mar)"},
	{"2027-03-15T15:00:00Z", [2]string{"Europe/Moscow", "America/New_York"}, "18:00 Europe/Moscow (Mon 15 Mar) = 11:00 America/New_York (Mon 15 Mar)"},
	{"2027-11-06T15:00:00Z", [2]string{"Europe/Moscow", "America/New_York"}, "18:00 Europe/Moscow (Sat 6 Nov) = 11:00 America/New_York (Sat 6 Nov)"},
	{"2027-11-08T15:00:00Z", [2]string{"Europe/Moscow", "America/New_York"}, "18:00 Europe/Moscow (Mon 8 Nov) = 10:00 America/New_York (Mon 8 Nov)"},
	// A late call crosses the date line between the capitals.
	{"2027-03-19T23:00:00Z", [2]string{"Europe/Moscow", "America/New_York"}, "02:00 Europe/Moscow (Sat 20 Mar) = 19:00 America/New_York (Fri 19 Mar)"},
	// Berlin–New York: 6 h, then 5 h from 14 to 28 March 2027 (New York
	// has moved, Berlin not yet), then 6 h again; 5 h again from 31 October
	// to 7 November 2027 (Berlin has moved back, New York not yet).
	{"2027-03-12T17:00:00Z", [2]string{"Europe/Berlin", "America/New_York"}, "18:00 Europe/Berlin (Fri 12 Mar) = 12:00 America/New_York (Fri 12 Mar)"},
	{"2027-03-20T17:00:00Z", [2]string{"Europe/Berlin", "America/New_York"}, "18:00 Europe/Berlin (Sat 20 Mar) = 13:00 America/New_York (Sat 20 Mar)"},
	{"2027-03-29T16:00:00Z", [2]string{"Europe/Berlin", "America/New_York"}, "18:00 Europe/Berlin (Mon 29 Mar) = 12:00 America/New_York (Mon 29 Mar)"},
	{"2027-10-30T16:00:00Z", [2]string{"Europe/Berlin", "America/New_York"}, "18:00 Europe/Berlin (Sat 30 Oct) = 12:00 America/New_York (Sat 30 Oct)"},
	{"2027-11-02T17:00:00Z", [2]string{"Europe/Berlin", "America/New_York"}, "18:00 Europe/Berlin (Tue 2 Nov) = 13:00 America/New_York (Tue 2 Nov)"},
	{"2027-11-08T17:00:00Z", [2]string{"Europe/Berlin", "America/New_York"}, "18:00 Europe/Berlin (Mon 8 Nov) = 12:00 America/New_York (Mon 8 Nov)"},
}

func TestDescribe(t *testing.T) {
	for _, c := range describeCases {
		a, b := mustZone(t, c.zones[0]), mustZone(t, c.zones[1])
		if got := Describe(utc(c.at), a, b); got != c.want {
			t.Errorf("Describe(%s) =\n %s\nwant\n %s", c.at, got, c.want)
		}
	}
	moscow := mustZone(t, "Europe/Moscow")
	at := utc("2026-11-21T15:00:00Z")
	for _, tt := range []struct {
		name  string
		zones []*time.Location
		want  string
	}{
		{"no zones: the time's own", nil, "15:00 UTC (Sat 21 Nov)"},
		{"nil is UTC", []*time.Location{nil}, "15:00 UTC (Sat 21 Nov)"},
		{"both sides in one zone", []*time.Location{moscow, mustZone(t, "Europe/Moscow")}, "18:00 Europe/Moscow (Sat 21 Nov)"},
	} {
		if got := Describe(at, tt.zones...); got != tt.want {
			t.Errorf("%s: Describe = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := Describe(at.In(moscow)); got != "18:00 Europe/Moscow (Sat 21 Nov)" {
		t.Errorf("Describe in its own zone = %q", got)
	}
}

// TestResolveAgainstScan checks resolve against brute force: it counts, for
// every wall-clock minute of three days around each of 2027's changes in
// New York, Berlin and Lord Howe, how many instants show it, by stepping
// through time minute by minute, and expects resolve to report a gap for 0,
// the instant for 1 and the earlier of two, with a note, for 2. Every zone
// is checked in every window, so each also sees the others' change days.
func TestResolveAgainstScan(t *testing.T) {
	farPast := utc("2000-01-01T00:00:00Z")
	windows := []string{"2027-03-13", "2027-03-27", "2027-04-03", "2027-10-02", "2027-10-30", "2027-11-06"}
	// Minutes skipped and repeated in each window, from the zones' 2027
	// rules: New York and Berlin change by an hour, Lord Howe by half an
	// hour (forward on 3 October, back on 4 April), Moscow never.
	want := map[string][2]int{
		"America/New_York 2027-03-13":    {60, 0},
		"America/New_York 2027-11-06":    {0, 60},
		"Europe/Berlin 2027-03-27":       {60, 0},
		"Europe/Berlin 2027-10-30":       {0, 60},
		"Australia/Lord_Howe 2027-04-03": {0, 30},
		"Australia/Lord_Howe 2027-10-02": {30, 0},
	}
	for _, zn := range []string{"America/New_York", "Europe/Berlin", "Europe/Moscow", "Australia/Lord_Howe"} {
		zone := mustZone(t, zn)
		for _, w0 := range windows {
			from, _ := time.ParseInLocation("2006-01-02", w0, zone)
			first := civilOf(from)
			last := first.addDays(3)
			seen := map[string][]time.Time{}
			for at := from.Add(-24 * time.Hour); at.Before(from.Add(4 * 24 * time.Hour)); at = at.Add(time.Minute) {
				k := at.In(zone).Format("2006-01-02 15:04")
				seen[k] = append(seen[k], at)
			}
			gaps, overlaps := 0, 0
			for day := first; day != last; day = day.addDays(1) {
				for m := 0; m < 24*60; m++ {
					hh, mm := m/60, m%60
					key := fmt.Sprintf("%s %02d:%02d", day, hh, mm)
					w, err := resolve(day, hh, mm, zone, farPast)
					switch inst := seen[key]; len(inst) {
					case 0:
						gaps++
						if !errors.Is(err, ErrNonexistent) || !strings.Contains(err.Error(), " to ") {
							t.Fatalf("%s %s does not exist; resolve = %v, %v", zn, key, w.At, err)
						}
					case 1:
						if err != nil || !w.At.Equal(inst[0]) || w.Note != "" {
							t.Fatalf("%s %s is %v; resolve = %v, %q, %v", zn, key, inst[0], w.At, w.Note, err)
						}
					case 2:
						overlaps++
						if err != nil || !w.At.Equal(inst[0]) || !strings.Contains(w.Note, "taken as the first") {
							t.Fatalf("%s %s is %v; resolve = %v, %q, %v", zn, key, inst, w.At, w.Note, err)
						}
					default:
						t.Fatalf("%s %s shows %d times", zn, key, len(inst))
					}
				}
			}
			if got, w := [2]int{gaps, overlaps}, want[zn+" "+w0]; got != w {
				t.Errorf("%s, 3 days from %s: %d minutes missing, %d repeated; want %d, %d", zn, w0, gaps, overlaps, w[0], w[1])
			}
		}
	}
}

func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"2h": 2 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute,
		"0h5m": 5 * time.Minute, "9999m": 9999 * time.Minute, "1m": time.Minute,
	} {
		if got, err := parseSpan(in); err != nil || got != want {
			t.Errorf("parseSpan(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "h", "2", "2x", "2H", "1.5h", "1h30", "1m1h", "1m1m", "12345m", "0h", "0m", "0h0m", "+2h", "2h 30m"} {
		if got, err := parseSpan(in); err == nil {
			t.Errorf("parseSpan(%q) = %s, want an error", in, got)
		}
	}
}

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"UTC", "Europe/Moscow", "America/New_York", "America/Argentina/Buenos_Aires", "Etc/GMT+3", "EST5EDT"} {
		if z, err := LoadZone(ok); err != nil || z.String() != ok {
			t.Errorf("LoadZone(%q) = %v, %v", ok, z, err)
		}
	}
	for _, bad := range []string{"", "Local", "Europe/Moscow ", "/etc/localtime", "Europe/../UTC", "Europe\\Moscow", "Mars/Olympus"} {
		if _, err := LoadZone(bad); !errors.Is(err, ErrZone) {
			t.Errorf("LoadZone(%q) = %v, want ErrZone", bad, err)
		}
	}
}
