package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ProdID identifies the product that wrote an .ics (RFC 5545 §3.7.3).
const ProdID = "-//hotline//hotline call workflow//EN"

// maxLine is the longest content line before folding, in octets, not
// counting the CRLF (RFC 5545 §3.1).
const maxLine = 75

// utcStamp is the DATE-TIME form with the UTC designator (§3.3.5, FORM #2).
const utcStamp = "20060102T150405Z"

// ICS renders c as an iCalendar object (RFC 5545) with one VEVENT, for
// calendar programs to import; now is the DTSTAMP. The same call always
// gets the same UID, so a re-import (after an accept or a cancel) updates
// the event instead of adding one, and SEQUENCE counts the revisions.
func ICS(c Call, now time.Time) []byte {
	var b strings.Builder
	line := func(name, value string) {
		b.WriteString(fold(name + ":" + value))
		b.WriteString("\r\n")
	}
	line("BEGIN", "VCALENDAR")
	line("PRODID", escapeText(ProdID))
	line("VERSION", "2.0")
	line("CALSCALE", "GREGORIAN")
	// §3.7.2 / RFC 5546 §3.2: PUBLISH posts an event that needs no reply.
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", escapeText(UID(c)))
	line("DTSTAMP", now.UTC().Format(utcStamp))
	if n := len(c.History); n > 0 {
		line("CREATED", c.History[0].At.UTC().Format(utcStamp))
		line("LAST-MODIFIED", c.History[n-1].At.UTC().Format(utcStamp))
		// §3.8.7.4: incremented on each significant revision; each
		// transition after the request is one.
		line("SEQUENCE", strconv.Itoa(n-1))
	}
	// UTC, so no VTIMEZONE is needed and no importer can misread a zone;
	// the description carries both sides' local times for people.
	line("DTSTART", c.ScheduledStart.UTC().Format(utcStamp))
	line("DURATION", icsDuration(c.ExpectedDuration))
	line("SUMMARY", escapeText(summary(c)))
	line("DESCRIPTION", escapeText(description(c)))
	line("STATUS", icsStatus(c.State))
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// UID is the call's iCalendar UID (§3.8.4.7): the call, its line and both
// sides, so both sides' servers export the same UID for the same call.
func UID(c Call) string {
	return fmt.Sprintf("%s.%s.%s.%s@hotline", c.ID, c.Line.Name, c.Line.A.Name, c.Line.B.Name)
}

func summary(c Call) string {
	kind := "Video call"
	if c.Kind == Phone {
		kind = "Phone call"
	}
	return fmt.Sprintf("%s: %s and %s (line %s)", kind, c.Line.A.Name, c.Line.B.Name, c.Line.Name)
}

// description is plain text; the initiating side's time comes first.
func description(c Call) string {
	zones := []*time.Location{c.Line.A.Zone, c.Line.B.Zone}
	if c.InitiatingSide == c.Line.B.Name {
		zones[0], zones[1] = zones[1], zones[0]
	}
	var b strings.Builder
	kind := "video"
	if c.Kind == Phone {
		kind = "phone (voice only)"
	}
	fmt.Fprintf(&b, "Call %s on line %s, %s, requested by %s.\n", c.ID, c.Line.Name, kind, c.InitiatingSide)
	fmt.Fprintf(&b, "Start: %s\n", Describe(c.ScheduledStart, zones...))
	fmt.Fprintf(&b, "Expected duration: %s\n", span(c.ExpectedDuration))
	fmt.Fprintf(&b, "Status: %s\n", c.State)
	if !c.ActualStart.IsZero() {
		fmt.Fprintf(&b, "Went live: %s\n", Describe(c.ActualStart, zones...))
	}
	if !c.ActualEnd.IsZero() {
		fmt.Fprintf(&b, "Ended: %s, after %s\n", Describe(c.ActualEnd, zones...), span(c.ActualEnd.Sub(c.ActualStart)))
	}
	if len(c.Agenda) > 0 {
		b.WriteString("\nAgenda:\n")
		for i, item := range c.Agenda {
			fmt.Fprintf(&b, "%d. %s\n", i+1, item)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// icsStatus maps a state to VEVENT STATUS (§3.8.1.11): a request not yet
// answered is tentative, a declined or cancelled one cancelled.
func icsStatus(s State) string {
	switch s {
	case StateAccepted, StateLive, StateEnded:
		return "CONFIRMED"
	case StateDeclined, StateCancelled:
		return "CANCELLED"
	}
	return "TENTATIVE"
}

// icsDuration writes dur-value (§3.3.6) for whole minutes: PT2H, PT45M,
// PT1H30M. Call durations are validated to whole minutes under 12 h.
func icsDuration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	s := "PT"
	if h > 0 {
		s += strconv.Itoa(h) + "H"
	}
	if m > 0 || h == 0 {
		s += strconv.Itoa(m) + "M"
	}
	return s
}

// span is a duration for people: "2h", "45m", "1h30m", "30s" below a minute.
func span(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}

// escapeText writes a TEXT value (§3.3.11): backslash, semicolon and comma
// are escaped with a backslash and a line break becomes \n. CRLF and a lone
// CR count as one line break. Other control characters are not allowed in
// TEXT (TSAFE-CHAR admits only HTAB among them) and are dropped; invalid
// UTF-8 becomes U+FFFD, since the content is UTF-8 (§3.1.4, §6).
func escapeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == ';' || c == ',':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t' || c >= 0x20 && c != 0x7f:
			b.WriteByte(c) // multi-octet UTF-8 passes through byte by byte
		}
	}
	return b.String()
}

// fold splits a content line into lines of at most 75 octets (§3.1): every
// continuation line starts with one space, which unfolding removes with the
// CRLF before it. Splits fall between UTF-8 sequences, never inside one, so
// that each physical line is valid UTF-8 on its own. The CRLFs are inserted
// here; the caller ends the last line.
func fold(s string) string {
	if len(s) <= maxLine {
		return s
	}
	var b strings.Builder
	limit := maxLine // the first line has no leading space
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8 at all: cut anywhere rather than loop
			cut = limit
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = maxLine - 1
	}
	b.WriteString(s)
	return b.String()
}
