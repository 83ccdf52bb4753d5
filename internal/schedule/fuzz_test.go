package schedule

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
)

// fuzzZones include half-hour and 45-minute offsets and Lord Howe's
// half-hour DST, where off-by-an-hour assumptions break.
var fuzzZones = []string{"UTC", "Europe/Moscow", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata", "America/St_Johns"}

// FuzzParseWhen: ParseWhen never panics; it fails only with its sentinels;
// what it accepts lies in [now − Grace, now + MaxAhead]; and the result,
// written back as "at DATE HH:MM ZONE", parses to the same wall clock at an
// instant no later than itself (the earlier of a repeated hour, or the
// start of the same minute).
func FuzzParseWhen(f *testing.F) {
	for _, c := range whenCases {
		zi := 0
		for i, n := range fuzzZones {
			if n == c.zone {
				zi = i
			}
		}
		f.Add(c.in, uint8(zi), utc(c.now).Unix())
	}
	f.Add("at 01:30 tomorrow", uint8(2), utc("2027-11-06T06:00:00Z").Unix())
	f.Add("at 02:15 tomorrow", uint8(4), utc("2027-10-02T06:00:00Z").Unix())
	f.Add("in 9999h59m", uint8(5), utc("2026-11-21T06:04:00Z").Unix())
	zones := make([]*time.Location, len(fuzzZones))
	for i, n := range fuzzZones {
		zones[i] = mustZone(f, n)
	}
	lo, hi := utc("2000-01-01T00:00:00Z").Unix(), utc("2100-01-01T00:00:00Z").Unix()
	f.Fuzz(func(t *testing.T, s string, zi uint8, nowUnix int64) {
		zone := zones[int(zi)%len(zones)]
		if nowUnix < lo || nowUnix > hi {
			nowUnix = lo + (nowUnix%(hi-lo)+(hi-lo))%(hi-lo)
		}
		now := time.Unix(nowUnix, 0).UTC()
		w, err := ParseWhenNote(s, zone, now)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrZone) && !errors.Is(err, ErrPast) &&
				!errors.Is(err, ErrTooFar) && !errors.Is(err, ErrNonexistent) {
				t.Fatalf("ParseWhen(%q): error without a sentinel: %v", s, err)
			}
			return
		}
		if now.Sub(w.At) >= Grace || w.At.Sub(now) > MaxAhead || w.Zone == nil {
			t.Fatalf("ParseWhen(%q) at %v = %v in %v: out of range", s, now, w.At, w.Zone)
		}
		again, err := ParseWhenNote(s, zone, now)
		if err != nil || !again.At.Equal(w.At) || again.Note != w.Note {
			t.Fatalf("ParseWhen(%q) is not deterministic", s)
		}
		local := w.At.In(w.Zone)
		back := "at " + local.Format("2006-01-02 15:04") + " " + w.Zone.String()
		r, err := ParseWhenNote(back, zone, now)
		if err != nil {
			t.Fatalf("ParseWhen(%q) = %v, but %q: %v", s, w.At, back, err)
		}
		if r.At.In(w.Zone).Format("2006-01-02 15:04") != local.Format("2006-01-02 15:04") || r.At.After(w.At) {
			t.Fatalf("ParseWhen(%q) = %v, but %q = %v", s, w.At, back, r.At)
		}
		_ = Describe(w.At, zone, w.Zone)
	})
}

// normalizeText is what escapeText promises to preserve: valid UTF-8 (bad
// octets as U+FFFD), every line break (CRLF, CR, LF) as LF, and no other
// control character but HTAB.
func normalizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// unfold and unescape are written here from RFC 5545 §3.1 and §3.3.11,
// independently of fold and escapeText.
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

func unescape(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			if s[i] == ';' || s[i] == ',' {
				t.Fatalf("unescaped %q in %q", s[i], s)
			}
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			t.Fatalf("trailing backslash in %q", s)
		}
		switch s[i] {
		case '\\', ';', ',':
			b.WriteByte(s[i])
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			t.Fatalf("bad escape \\%c in %q", s[i], s)
		}
	}
	return b.String()
}

// FuzzTextFold: for any text, the folded, escaped content line is valid on
// the wire (75 octets, whole UTF-8 sequences, no bare CR or LF), unfolding
// and unescaping it gives back the (normalised) text, and go-ical reads the
// same text from it.
func FuzzTextFold(f *testing.F) {
	for _, s := range []string{"", "a,b;c\\d\n", "crlf\r\nlone cr\r", "Переговоры; 黑海, 🕊", strings.Repeat("é", 100), strings.Repeat("🕊,", 40), "\x00\xff\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := fold("DESCRIPTION:" + escapeText(s))
		phys := strings.Split(line, "\r\n")
		for i, p := range phys {
			if len(p) > maxLine || !utf8.ValidString(p) || strings.ContainsAny(p, "\r\n") {
				t.Fatalf("physical line %d %q: %d octets", i, p, len(p))
			}
			if i > 0 && (len(p) < 2 || p[0] != ' ') {
				t.Fatalf("continuation line %d %q", i, p)
			}
		}
		value, ok := strings.CutPrefix(unfold(line), "DESCRIPTION:")
		if !ok {
			t.Fatalf("unfolded line lost its name: %q", unfold(line))
		}
		want := normalizeText(s)
		if got := unescape(t, value); got != want {
			t.Fatalf("round trip of %q = %q, want %q", s, got, want)
		}
		cal := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + line + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		c, err := ical.NewDecoder(bytes.NewReader([]byte(cal))).Decode()
		if err != nil {
			t.Fatalf("go-ical: %v", err)
		}
		got, err := c.Events()[0].Props.Text("DESCRIPTION")
		if err != nil || got != want {
			t.Fatalf("go-ical reads %q, %v; want %q", got, err, want)
		}
	})
}

// FuzzICS: any call that NewCall accepts exports to an .ics that go-ical
// reads back with the same agenda, start and duration.
func FuzzICS(f *testing.F) {
	f.Add("c1", "Opening; remarks, by both", "Чёрное море, 黑海", int64(9*3600), uint16(120), true)
	f.Add("x.y-z_9", "\\", "🕊", int64(60), uint16(1), false)
	line := testLine(f)
	f.Fuzz(func(t *testing.T, id, item1, item2 string, startOff int64, minutes uint16, video bool) {
		kind := Phone
		if video {
			kind = Video
		}
		req := Request{ID: id, Line: line, Kind: kind, Start: t0.Add(time.Duration(startOff) * time.Second),
			ExpectedDuration: time.Duration(minutes) * time.Minute, Agenda: []string{item1, item2}}
		c, err := NewCall(req, eastOperator, t0)
		if err != nil {
			return
		}
		b := ICS(c, t0)
		checkWire(t, b)
		_, ev := parseEvent(t, b)
		desc := text(t, ev.Props, "DESCRIPTION")
		if !strings.HasSuffix(desc, "\nAgenda:\n1. "+item1+"\n2. "+item2) {
			t.Fatalf("agenda lost: %q", desc)
		}
		if got := text(t, ev.Props, "UID"); got != UID(c) {
			t.Fatalf("UID %q, want %q", got, UID(c))
		}
		start, err := ev.DateTimeStart(nil)
		if err != nil || !start.Equal(c.ScheduledStart.Truncate(time.Second)) {
			t.Fatalf("DTSTART %v, %v; want %v", start, err, c.ScheduledStart)
		}
		if d, err := ev.Props.Get("DURATION").Duration(); err != nil || d != c.ExpectedDuration {
			t.Fatalf("DURATION %v, %v", d, err)
		}
	})
}
