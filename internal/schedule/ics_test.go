package schedule

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
)

// checkWire checks the octets of an .ics: CRLF line ends only, no line
// over 75 octets, each line valid UTF-8 on its own (no sequence split by a
// fold), continuation lines starting with one space (RFC 5545 §3.1).
func checkWire(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.HasSuffix(b, []byte("END:VCALENDAR\r\n")) {
		t.Fatalf("not framed by BEGIN/END:VCALENDAR with CRLF:\n%q", b)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 on its own: %q", i+1, l)
		}
		if l == "" || l == " " {
			t.Errorf("line %d is empty", i+1)
		}
	}
}

// parseEvent decodes b with github.com/emersion/go-ical and returns the
// calendar and its only event.
func parseEvent(t *testing.T, b []byte) (*ical.Calendar, ical.Event) {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	return cal, evs[0]
}

func text(t *testing.T, props ical.Props, name string) string {
	t.Helper()
	p := props.Get(name)
	if p == nil {
		t.Fatalf("no %s", name)
	}
	if n := len(props.Values(name)); n != 1 {
		t.Fatalf("%d %s properties", n, name)
	}
	s, err := p.Text()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestICSFields(t *testing.T) {
	req := testRequest(t)
	req.Agenda = []string{
		"Opening; remarks, by both principals",
		`Strategic stability: "New START" follow-up \ verification`,
		"Переговоры о зерне, Чёрное море; 黑海",
		"Prisoner exchange 🕊",
	}
	// 18:00 Moscow on 21 November 2026 is 10:00 in New York.
	req.Start = utc("2026-11-21T15:00:00Z")
	req.ExpectedDuration = 2*time.Hour + 15*time.Minute
	c, err := NewCall(req, eastPrincipal, t0)
	if err != nil {
		t.Fatal(err)
	}
	stamp := utc("2026-11-21T07:00:00Z")
	b := ICS(c, stamp)
	checkWire(t, b)
	cal, ev := parseEvent(t, b)

	for name, want := range map[string]string{
		"PRODID": ProdID, "VERSION": "2.0", "CALSCALE": "GREGORIAN", "METHOD": "PUBLISH",
	} {
		if got := text(t, cal.Props, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := text(t, ev.Props, "UID"); got != "c1.demo.east.west@hotline" {
		t.Errorf("UID = %q", got)
	}
	for name, want := range map[string]time.Time{"DTSTAMP": stamp, "DTSTART": req.Start, "CREATED": t0, "LAST-MODIFIED": t0} {
		p := ev.Props.Get(name)
		if p == nil || !strings.HasSuffix(p.Value, "Z") {
			t.Fatalf("%s = %+v, want a UTC DATE-TIME", name, p)
		}
		got, err := p.DateTime(nil)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	if d, err := ev.Props.Get("DURATION").Duration(); err != nil || d != req.ExpectedDuration {
		t.Errorf("DURATION = %v, %v", d, err)
	}
	if end, err := ev.DateTimeEnd(nil); err != nil || !end.Equal(utc("2026-11-21T17:15:00Z")) {
		t.Errorf("end from DTSTART + DURATION = %v, %v", end, err)
	}
	if got := text(t, ev.Props, "SUMMARY"); got != "Video call: east and west (line demo)" {
		t.Errorf("SUMMARY = %q", got)
	}
	if n, err := ev.Props.Get("SEQUENCE").Int(); err != nil || n != 0 {
		t.Errorf("SEQUENCE = %d, %v", n, err)
	}
	wantDesc := "Call c1 on line demo, video, requested by east.\n" +
		"Start: 18:00 Europe/Moscow (Sat 21 Nov) = 10:00 America/New_York (Sat 21 Nov)\n" +
		"Expected duration: 2h15m\n" +
		"Status: requested\n" +
		"\n" +
		"Agenda:\n" +
		"1. Opening; remarks, by both principals\n" +
		"2. Strategic stability: \"New START\" follow-up \\ verification\n" +
		"3. Переговоры о зерне, Чёрное море; 黑海\n" +
		"4. Prisoner exchange 🕊"
	if got := text(t, ev.Props, "DESCRIPTION"); got != wantDesc {
		t.Errorf("DESCRIPTION =\n%s\nwant\n%s", got, wantDesc)
	}
	if st, err := ev.Status(); err != nil || st != ical.EventTentative {
		t.Errorf("STATUS = %v, %v", st, err)
	}
	// The escapes themselves, as RFC 5545 §3.3.11 writes them.
	unfolded := strings.ReplaceAll(string(b), "\r\n ", "")
	for _, want := range []string{`Opening\; remarks\, by`, `follow-up \\ verification`, `(Sat 21 Nov)\nExpected`, `Переговоры о зерне\, Чёрное море\; 黑海`} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("unfolded .ics lacks %q", want)
		}
	}

	// The same call exported again later: same UID, new DTSTAMP.
	if b2 := ICS(c, stamp.Add(time.Hour)); !bytes.Contains(b2, []byte("UID:c1.demo.east.west@hotline\r\n")) || bytes.Equal(b, b2) {
		t.Error("a later export should keep the UID and change DTSTAMP")
	}
}

func TestICSStatus(t *testing.T) {
	for _, tt := range []struct {
		state  State
		status ical.EventStatus
		seq    int
		desc   []string // substrings of DESCRIPTION
	}{
		{StateRequested, ical.EventTentative, 0, []string{"Status: requested"}},
		{StateAccepted, ical.EventConfirmed, 1, []string{"Status: accepted"}},
		{StateLive, ical.EventConfirmed, 2, []string{"Status: live", "Went live: 11:00 Europe/Moscow (Sat 21 Nov) = 03:00 America/New_York (Sat 21 Nov)"}},
		{StateEnded, ical.EventConfirmed, 3, []string{"Status: ended", "Ended: 12:00 Europe/Moscow (Sat 21 Nov) = 04:00 America/New_York (Sat 21 Nov), after 1h"}},
		{StateDeclined, ical.EventCancelled, 1, []string{"Status: declined"}},
		{StateCancelled, ical.EventCancelled, 1, []string{"Status: cancelled"}},
	} {
		t.Run(string(tt.state), func(t *testing.T) {
			c := callIn(t, tt.state)
			b := ICS(c, t0)
			checkWire(t, b)
			_, ev := parseEvent(t, b)
			if st, err := ev.Status(); err != nil || st != tt.status {
				t.Errorf("STATUS = %v, %v; want %v", st, err, tt.status)
			}
			if n, err := ev.Props.Get("SEQUENCE").Int(); err != nil || n != tt.seq {
				t.Errorf("SEQUENCE = %d, %v; want %d", n, err, tt.seq)
			}
			lm, err := ev.Props.DateTime("LAST-MODIFIED", nil)
			if err != nil || !lm.Equal(c.History[len(c.History)-1].At) {
				t.Errorf("LAST-MODIFIED = %v, %v", lm, err)
			}
			desc := text(t, ev.Props, "DESCRIPTION")
			for _, want := range tt.desc {
				if !strings.Contains(desc, want) {
					t.Errorf("DESCRIPTION lacks %q:\n%s", want, desc)
				}
			}
		})
	}
}

func TestICSPhoneFromWest(t *testing.T) {
	req := testRequest(t)
	req.Kind = Phone
	req.Agenda = nil
	req.ExpectedDuration = 45 * time.Minute
	c, err := NewCall(req, westPrincipal, t0)
	if err != nil {
		t.Fatal(err)
	}
	b := ICS(c, t0)
	checkWire(t, b)
	_, ev := parseEvent(t, b)
	if got := text(t, ev.Props, "SUMMARY"); got != "Phone call: east and west (line demo)" {
		t.Errorf("SUMMARY = %q", got)
	}
	if got := ev.Props.Get("DURATION").Value; got != "PT45M" {
		t.Errorf("DURATION = %q", got)
	}
	desc := text(t, ev.Props, "DESCRIPTION")
	// The initiator's time first; no agenda section without an agenda.
	if !strings.Contains(desc, "phone (voice only), requested by west") ||
		!strings.Contains(desc, "Start: 10:00 America/New_York (Sat 21 Nov) = 18:00 Europe/Moscow (Sat 21 Nov)") ||
		strings.Contains(desc, "Agenda") {
		t.Errorf("DESCRIPTION:\n%s", desc)
	}
}

// TestICSLongDescription: twenty agenda items at the length limit, in
// scripts of one to four octets per character, fold into many lines, none
// over 75 octets or split inside a character, and come back intact.
func TestICSLongDescription(t *testing.T) {
	req := testRequest(t)
	req.Agenda = nil
	pieces := []string{"a", "é", "Ж", "語", "🕊", ";", ",", "\\"}
	for i := 0; i < MaxAgendaItems; i++ {
		var item strings.Builder
		for j := i; item.Len()+len(pieces[j%len(pieces)]) <= MaxAgendaItemBytes; j++ {
			item.WriteString(pieces[j%len(pieces)])
		}
		req.Agenda = append(req.Agenda, item.String())
	}
	c, err := NewCall(req, eastPrincipal, t0)
	if err != nil {
		t.Fatal(err)
	}
	b := ICS(c, t0)
	checkWire(t, b)
	folds := bytes.Count(b, []byte("\r\n "))
	if folds < 50 {
		t.Errorf("only %d folds for a description of over 4 KB", folds)
	}
	_, ev := parseEvent(t, b)
	desc := text(t, ev.Props, "DESCRIPTION")
	for i, item := range req.Agenda {
		if !strings.Contains(desc, "\n"+strconv.Itoa(i+1)+". "+item+"\n") && !strings.HasSuffix(desc, "\n"+strconv.Itoa(i+1)+". "+item) {
			t.Errorf("agenda item %d did not come back intact", i+1)
		}
	}
	if desc != description(c) {
		t.Error("DESCRIPTION differs from what was written")
	}
}

func TestEscapeText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a,b;c\\d", `a\,b\;c\\d`},
		{"line\nnext", `line\nnext`},
		{"crlf\r\nnext", `crlf\nnext`},
		{"cr\rnext", `cr\nnext`},
		{"two\n\nbreaks", `two\n\nbreaks`},
		{"\\n is not a newline", `\\n is not a newline`},
		{"colon: and \"quotes\"", "colon: and \"quotes\""},
		{"tab\tkept", "tab\tkept"},
		{"nul\x00bell\x07del\x7f gone", "nulbelldel gone"},
		{"bad \xff octet", "bad \uFFFD octet"},
		{"Чёрное море, 黑海; 🕊", `Чёрное море\, 黑海\; 🕊`},
		{"", ""},
	} {
		if got := escapeText(tt.in); got != tt.want {
			t.Errorf("escapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	for _, tt := range []struct {
		name, in string
		want     []string // physical lines
	}{
		{"short", "SUMMARY:x", []string{"SUMMARY:x"}},
		{"exactly 75", a(75), []string{a(75)}},
		{"76", a(76), []string{a(75), " a"}},
		{"75 + 74 + 1", a(150), []string{a(75), " " + a(74), " a"}},
		{"2-octet char across the boundary", a(74) + "é", []string{a(74), " é"}},
		{"3-octet char across the boundary", a(73) + "語a", []string{a(73), " 語a"}},
		{"4-octet char across the boundary", a(72) + "🕊" + a(3), []string{a(72), " 🕊" + a(3)}},
		{"4-octet char ending at 75", a(71) + "🕊" + "b", []string{a(71) + "🕊", " b"}},
	} {
		got := strings.Split(fold(tt.in), "\r\n")
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: fold = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestICSDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "PT1M", 45 * time.Minute: "PT45M", time.Hour: "PT1H",
		90 * time.Minute: "PT1H30M", 2 * time.Hour: "PT2H", 12 * time.Hour: "PT12H", 0: "PT0M",
	} {
		if got := icsDuration(d); got != want {
			t.Errorf("icsDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
