package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/trust"
)

// A call requested by the east operator, accepted by the west principal,
// started by the east principal and ended by the west operator; each side
// sees it in both capitals' time, and the history shows who took part.
func TestCallFlow(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	eastPr := l.login(demo.East, "East Principal", role.Principal)
	westOp := l.login(demo.West, "West Operator", role.Operator)
	westPr := l.login(demo.West, "West Principal", role.Principal)

	res := l.do("POST", "/api/calls", eastOp, callBody())
	var c api.Call
	res.decode(t, http.StatusCreated, &c)
	if loc := res.header.Get("Location"); loc != "/api/calls/"+c.ID {
		t.Errorf("Location %q", loc)
	}
	if c.State != "requested" || c.InitiatingSide != "east" || c.Kind != "video" || c.DurationMinutes != 120 || c.Version != 1 ||
		len(c.Participants["east"]) != 2 || len(c.Participants["west"]) != 0 || len(c.Transitions) != 1 ||
		c.Transitions[0].Name != "East Operator" || c.Transitions[0].Side != "east" {
		t.Fatalf("requested: %+v", c)
	}
	// The west side sees the request in its own time as well as east's.
	ls := l.list(westPr)
	if len(ls) != 1 || ls[0].ID != c.ID {
		t.Fatalf("west lists %+v", ls)
	}
	start := ls[0].ScheduledStart
	east, west := start.Local[0], start.Local[1]
	if east.Side != "east" || east.Time[11:] != "18:00:00" || east.Zone != "Europe/Moscow" || west.Side != "west" || west.Zone != "America/New_York" {
		t.Fatalf("start %+v", start)
	}
	utc, _ := time.Parse(time.RFC3339, start.UTC)
	if want := utc.In(zone(t, "America/New_York")).Format("2006-01-02T15:04:05"); west.Time != want {
		t.Fatalf("west's local time %s, want %s", west.Time, want)
	}

	named := map[string]any{"version": 1, "participants": []map[string]any{{"name": "West Principal", "roles": []string{"principal"}}}}
	c = l.act(westPr, c.ID, "accept", named)
	if c.State != "accepted" || c.Version != 2 || len(c.Participants["west"]) != 1 || c.Transitions[1].Name != "West Principal" {
		t.Fatalf("accepted: %+v", c)
	}
	c = l.act(eastPr, c.ID, "start", nil)
	if c.State != "live" || c.ActualStart == nil || c.ActualSeconds == nil {
		t.Fatalf("live: %+v", c)
	}
	live := booking.LiveName(demo.Line, c.ID)
	st, ctx, now := l.srv.Store(), context.Background(), time.Now()
	for _, err := range []error{
		st.Joined(ctx, live, "p-east", "East Principal", now),
		st.Joined(ctx, live, "p-west", "West Principal", now),
		st.Left(ctx, "p-east", now),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c = l.act(westOp, c.ID, "end", map[string]any{})
	if c.State != "ended" || c.ActualEnd == nil || c.Version != 4 || len(c.Transitions) != 4 {
		t.Fatalf("ended: %+v", c)
	}
	want := []struct{ event, side, name string }{
		{"request", "east", "East Operator"}, {"accept", "west", "West Principal"},
		{"start", "east", "East Principal"}, {"end", "west", "West Operator"},
	}
	got := l.call(westOp, c.ID)
	for i, w := range want {
		tr := got.Transitions[i]
		if tr.Event != w.event || tr.Side != w.side || tr.Name != w.name || len(tr.At.Local) != 2 {
			t.Errorf("transition %d: %+v, want %+v", i, tr, w)
		}
	}
	if len(l.list(eastOp)) != 0 {
		t.Error("an ended call is still listed as upcoming")
	}
	var hist api.CallList
	l.do("GET", "/api/history?line=demo", eastPr, nil).decode(t, http.StatusOK, &hist)
	if len(hist.Calls) != 1 || hist.Calls[0].ID != c.ID || hist.Calls[0].InitiatingSide != "east" || hist.Calls[0].ActualSeconds == nil {
		t.Fatalf("history %+v", hist)
	}
	ss := hist.Calls[0].Sessions
	if len(ss) != 2 || ss[0].Name != "East Principal" || ss[0].Left == nil || ss[1].Name != "West Principal" || len(ss[0].Joined.Local) != 2 {
		t.Fatalf("who took part: %+v", ss)
	}
	if hist.Line.Name != demo.Line || len(hist.Line.Sides) != 2 || hist.Line.Sides[0].Zone != "Europe/Moscow" {
		t.Fatalf("history line %+v", hist.Line)
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestDeclineAndCancel(t *testing.T) {
	l := startLine(t)
	westOp := l.login(demo.West, "West Operator", role.Operator)
	eastPr := l.login(demo.East, "East Principal", role.Principal)
	a := l.request(westOp, callBody())
	if c := l.act(eastPr, a.ID, "decline", nil); c.State != "declined" || c.Transitions[1].Side != "east" {
		t.Fatalf("declined %+v", c)
	}
	b := l.request(westOp, callBody())
	if c := l.act(westOp, b.ID, "cancel", nil); c.State != "cancelled" {
		t.Fatalf("withdrawn %+v", c)
	}
	c := l.request(eastPr, callBody())
	l.act(westOp, c.ID, "accept", nil)
	if c := l.act(westOp, c.ID, "cancel", nil); c.State != "cancelled" || c.Transitions[2].Name != "West Operator" {
		t.Fatalf("accepted call called off: %+v", c)
	}
	var hist api.CallList
	l.do("GET", "/api/history", westOp, nil).decode(t, http.StatusOK, &hist)
	if len(hist.Calls) != 3 {
		t.Fatalf("history has %d calls", len(hist.Calls))
	}
}

// An illegal transition is 409 and changes nothing; so is one made on a
// version that is no longer current.
func TestIllegalTransition(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	westOp := l.login(demo.West, "West Operator", role.Operator)
	c := l.request(eastOp, callBody())
	l.do("POST", "/api/calls/"+c.ID+"/end", westOp, nil).refused(t, "end a request", http.StatusConflict, "cannot end a call that is requested")
	l.do("POST", "/api/calls/"+c.ID+"/start", westOp, nil).refused(t, "start a request", http.StatusConflict, "illegal transition")
	l.act(westOp, c.ID, "accept", nil)
	l.do("POST", "/api/calls/"+c.ID+"/accept", westOp, nil).refused(t, "accept twice", http.StatusConflict, "cannot accept a call that is accepted")
	l.do("POST", "/api/calls/"+c.ID+"/decline", westOp, nil).refused(t, "decline an accepted call", http.StatusConflict, "illegal transition")
	l.do("POST", "/api/calls/"+c.ID+"/start", westOp, map[string]any{"version": 1}).refused(t, "stale version", http.StatusConflict, "version 2, not 1")
	l.do("POST", "/api/calls/"+c.ID+"/ring", westOp, nil).refused(t, "unknown action", http.StatusNotFound, "no such call or action")
	l.do("POST", "/api/calls/c-aaaaaaaaaaaa/accept", westOp, nil).refused(t, "unknown call", http.StatusNotFound, "no call")
	got := l.call(eastOp, c.ID)
	if got.State != "accepted" || got.Version != 2 || len(got.Transitions) != 2 {
		t.Fatalf("refusals changed the call: %+v", got)
	}
}

// Advisers, interpreters and press officers may neither request nor answer
// a call; the press and monitors get no session at all; nobody accepts
// their own side's request; nothing is stored for a refusal.
func TestRoleAndSideRefusals(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	eastPr := l.login(demo.East, "East Principal", role.Principal)
	westOp := l.login(demo.West, "West Operator", role.Operator)
	outsiders := map[string]string{
		"west adviser":       l.login(demo.West, "West Adviser", role.Adviser),
		"west interpreter":   l.login(demo.West, "West Interpreter", role.Interpreter),
		"west press officer": l.login(demo.West, "West Press Officer", role.PressOfficer),
	}
	// Roles without API rights get no session (they would only hold memory).
	for _, r := range []role.Role{role.Press, role.Monitor} {
		dev := l.device(demo.West, "West "+string(r), r)
		n := l.nonce()
		l.do("POST", "/api/session", "", map[string]any{"line": demo.Line, "credential": dev.Credential, "nonce": trust.B64(n),
			"proof": trust.B64(dev.SessionProof(n, l.name(), demo.Line))}).refused(t, string(r)+" signs in", http.StatusForbidden, "no use for the API")
	}
	for who, tok := range outsiders {
		l.do("POST", "/api/calls", tok, callBody()).refused(t, who+" requests", http.StatusForbidden, "not allowed")
	}
	if ls := l.list(eastOp); len(ls) != 0 {
		t.Fatalf("refused requests stored: %+v", ls)
	}
	c := l.request(eastOp, callBody())
	for who, tok := range outsiders {
		for _, ev := range []string{"accept", "decline"} {
			l.do("POST", "/api/calls/"+c.ID+"/"+ev, tok, nil).refused(t, who+" "+ev+"s", http.StatusForbidden, "not allowed")
		}
	}
	l.do("POST", "/api/calls/"+c.ID+"/accept", eastPr, nil).refused(t, "east accepts its own request", http.StatusForbidden, "only the other side may accept")
	l.do("POST", "/api/calls/"+c.ID+"/decline", eastOp, nil).refused(t, "east declines its own request", http.StatusForbidden, "wrong side")
	l.do("POST", "/api/calls/"+c.ID+"/cancel", westOp, nil).refused(t, "west withdraws east's request", http.StatusForbidden, "declines it instead")
	l.do("GET", "/api/history", outsiders["west adviser"], nil).refused(t, "adviser reads history", http.StatusForbidden, "view_history")
	l.do("GET", "/api/calls?line=other", eastOp, nil).refused(t, "another line", http.StatusForbidden, "this session is for line demo")
	got := l.call(westOp, c.ID)
	if got.State != "requested" || got.Version != 1 || len(got.Transitions) != 1 || len(got.Participants["west"]) != 0 {
		t.Fatalf("refusals changed the call: %+v", got)
	}
}

// Bad, oversized and unknown-field bodies are refused with 4xx and a clear
// error, and store nothing.
func TestBadBodies(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	westOp := l.login(demo.West, "West Operator", role.Operator)
	with := func(k string, v any) map[string]any { b := callBody(); b[k] = v; return b }
	cases := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"not JSON", `{"line":`, http.StatusBadRequest, "bad JSON"},
		{"unknown field", with("colour", "red"), http.StatusBadRequest, "unknown field"},
		{"trailing data", `{"line":"demo"} {}`, http.StatusBadRequest, "trailing data"},
		{"array", `[]`, http.StatusBadRequest, "one JSON object"},
		{"wrong type", with("duration_minutes", "2h"), http.StatusBadRequest, "bad JSON"},
		{"unknown kind", with("kind", "telegram"), http.StatusBadRequest, "telegram"},
		{"unreadable time", with("when", "soonish"), http.StatusBadRequest, "cannot read the time"},
		{"past time", with("when", "at 2020-01-01 10:00"), http.StatusBadRequest, "in the past"},
		{"DST gap", with("when", "at 2027-03-14 02:30 America/New_York"), http.StatusBadRequest, "does not exist"},
		{"unknown zone", with("when", "at 18:00 Mars/Olympus"), http.StatusBadRequest, "unknown time zone"},
		{"too long", with("duration_minutes", 13*60), http.StatusBadRequest, "duration_minutes"},
		{"agenda line break", with("agenda", []string{"a\nb"}), http.StatusBadRequest, "agenda item 1"},
		{"unknown role", with("participants", []map[string]any{{"name": "X", "roles": []string{"king"}}}), http.StatusBadRequest, "unknown role"},
		{"oversized", with("agenda", []string{strings.Repeat("x", 70<<10)}), http.StatusRequestEntityTooLarge, "body over 65536 bytes"},
	}
	for _, tc := range cases {
		l.do("POST", "/api/calls", eastOp, tc.body).refused(t, tc.name, tc.status, tc.want)
	}
	// Not JSON at all: a form post is refused before it is read.
	req, _ := http.NewRequest("POST", l.srv.URL()+"/api/calls", strings.NewReader("line=demo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+eastOp)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %v %v", res.StatusCode, err)
	} else {
		res.Body.Close()
	}
	if ls := l.list(eastOp); len(ls) != 0 {
		t.Fatalf("bad bodies stored calls: %+v", ls)
	}
	c := l.request(eastOp, callBody())
	for name, body := range map[string]any{
		"unknown field":     `{"state":"accepted"}`,
		"not an object":     `"accept"`,
		"negative version":  `{"version":-1}`,
		"bad participant":   `{"participants":[{"name":"","roles":["adviser"]}]}`,
		"named on decline":  `{"participants":[{"name":"X","roles":["adviser"]}]}`,
		"participant twice": `{"participants":[{"name":"X","roles":["adviser"]},{"name":"X","roles":["principal"]}]}`,
	} {
		ev := "accept"
		if name == "named on decline" {
			ev = "decline"
		}
		if res := l.do("POST", "/api/calls/"+c.ID+"/"+ev, westOp, body); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, res.status, res.body)
		}
	}
	if got := l.call(westOp, c.ID); got.State != "requested" || got.Version != 1 {
		t.Fatalf("bad transition bodies changed the call: %+v", got)
	}
}

// Every calls route needs a session token.
func TestUnauthenticated(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	c := l.request(eastOp, callBody())
	routes := []struct{ method, path string }{
		{"GET", "/api/calls"}, {"POST", "/api/calls"}, {"GET", "/api/calls/" + c.ID},
		{"POST", "/api/calls/" + c.ID + "/accept"}, {"POST", "/api/calls/" + c.ID + "/cancel"},
		{"GET", "/api/history"}, {"GET", "/calls/" + c.ID + ".ics"}, {"GET", "/api/session"},
	}
	for _, r := range routes {
		res := l.do(r.method, r.path, "", nil)
		res.refused(t, r.method+" "+r.path+" without a token", http.StatusUnauthorized, "authentication required")
		if !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s: WWW-Authenticate %q", r.method, r.path, res.header.Get("WWW-Authenticate"))
		}
		l.do(r.method, r.path, "bm90LWEtdG9rZW4", nil).refused(t, r.method+" "+r.path+" with an unknown token", http.StatusUnauthorized, "unknown or expired session token")
	}
	// A closed session is closed.
	tok := l.login(demo.East, "East Principal", role.Principal)
	var who struct{ Name, Side, Device string }
	l.do("GET", "/api/session", tok, nil).decode(t, http.StatusOK, &who)
	if who.Name != "East Principal" || who.Side != "east" || len(who.Device) != 16 {
		t.Fatalf("session info %+v", who)
	}
	if res := l.do("DELETE", "/api/session", tok, nil); res.status != http.StatusNoContent {
		t.Fatalf("close session: %d", res.status)
	}
	l.do("GET", "/api/calls", tok, nil).refused(t, "closed session", http.StatusUnauthorized, "unknown or expired")
	if got := l.call(eastOp, c.ID); got.State != "requested" || got.Version != 1 {
		t.Fatalf("unauthenticated requests changed the call: %+v", got)
	}
}

// A session needs a fresh nonce, used once, a credential valid for the
// line and a session proof (not a join proof) by the credential's key.
func TestSessionRefusals(t *testing.T) {
	l := startLine(t)
	dev := l.device(demo.East, "East Operator", role.Operator)
	other := l.device(demo.East, "Someone Else", role.Operator)
	open := func(line string, cred any, nonce, proof []byte) reply {
		return l.do("POST", "/api/session", "", map[string]any{"line": line, "credential": cred, "nonce": trust.B64(nonce), "proof": trust.B64(proof)})
	}
	// A good session spends its nonce: replaying the same request fails.
	n := l.nonce()
	body := map[string]any{"line": demo.Line, "credential": dev.Credential, "nonce": trust.B64(n), "proof": trust.B64(dev.SessionProof(n, l.name(), demo.Line))}
	if res := l.do("POST", "/api/session", "", body); res.status != http.StatusOK {
		t.Fatalf("session: %d %s", res.status, res.body)
	}
	l.do("POST", "/api/session", "", body).refused(t, "replayed nonce", http.StatusUnauthorized, "unknown, used or expired nonce")

	made := bytes.Repeat([]byte{7}, 32)
	open(demo.Line, dev.Credential, made, dev.SessionProof(made, l.name(), demo.Line)).refused(t, "nonce never issued", http.StatusUnauthorized, "nonce")
	n = l.nonce()
	open(demo.Line, dev.Credential, n, other.SessionProof(n, l.name(), demo.Line)).refused(t, "proof by another key", http.StatusUnauthorized, "proof does not verify")
	n = l.nonce()
	open(demo.Line, dev.Credential, n, dev.JoinProof(n, "localhost", demo.Line, "")).refused(t, "join proof", http.StatusUnauthorized, "proof does not verify")
	n = l.nonce()
	open(demo.Line, dev.Credential, n, dev.SessionProof(n, l.name(), "other")).refused(t, "proof for another line", http.StatusUnauthorized, "proof does not verify")
	n = l.nonce()
	open("other", dev.Credential, n, dev.SessionProof(n, l.name(), "other")).refused(t, "unknown line", http.StatusUnauthorized, "unknown line")
	// A proof made for another server (one that relayed this server's
	// challenge to the device) opens no session here.
	n = l.nonce()
	open(demo.Line, dev.Credential, n, dev.SessionProof(n, "relay.example", demo.Line)).refused(t, "proof for another server", http.StatusUnauthorized, "proof does not verify")
	n = l.nonce()
	open(demo.Line, dev.Credential, n, dev.SessionProof(n, "127.0.0.1:1", demo.Line)).refused(t, "proof for another port", http.StatusUnauthorized, "proof does not verify")
	// A failed attempt spends the nonce too.
	open(demo.Line, dev.Credential, n, dev.SessionProof(n, l.name(), demo.Line)).refused(t, "nonce of a failed attempt", http.StatusUnauthorized, "nonce")
	n = l.nonce()
	forged := *dev.Credential
	forged.Sig = other.Credential.Sig
	open(demo.Line, forged, n, dev.SessionProof(n, l.name(), demo.Line)).refused(t, "forged credential", http.StatusUnauthorized, "credential not valid")
	n = l.nonce()
	l.do("POST", "/api/session", "", map[string]any{"line": demo.Line, "credential": dev.Credential, "nonce": "short", "proof": trust.B64(dev.SessionProof(n, l.name(), demo.Line))}).
		refused(t, "malformed nonce", http.StatusBadRequest, "nonce must be 32")
	l.do("POST", "/api/session", "", map[string]any{"line": demo.Line, "extra": 1}).refused(t, "unknown field", http.StatusBadRequest, "unknown field")
}

// The .ics export parses with an iCalendar library, field by field.
func TestICS(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	westPr := l.login(demo.West, "West Principal", role.Principal)
	c := l.request(eastOp, callBody())
	c = l.act(westPr, c.ID, "accept", nil)
	res := l.do("GET", c.ICS, westPr, nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.Contains(res.header.Get("Content-Disposition"), c.ID+".ics") {
		t.Fatalf("ics: %d %v %s", res.status, res.header, res.body)
	}
	cal, err := ical.NewDecoder(bytes.NewReader(res.body)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, res.body)
	}
	fields(t, cal.Props, map[string]string{ical.PropVersion: "2.0", ical.PropProductID: schedule.ProdID, ical.PropMethod: "PUBLISH"})
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	fields(t, ev.Props, map[string]string{
		ical.PropUID:     c.ID + ".demo.east.west@hotline",
		ical.PropSummary: "Video call: east and west (line demo)",
	})
	start, err := ev.DateTimeStart(time.UTC)
	if err != nil || start.UTC().Format(time.RFC3339) != c.ScheduledStart.UTC {
		t.Errorf("DTSTART %v (%v), want %s", start, err, c.ScheduledStart.UTC)
	}
	end, err := ev.DateTimeEnd(time.UTC)
	if err != nil || end.UTC().Format(time.RFC3339) != c.ScheduledEnd.UTC {
		t.Errorf("end %v (%v), want %s", end, err, c.ScheduledEnd.UTC)
	}
	if d, err := ev.Props.Get(ical.PropDuration).Duration(); err != nil || d != 2*time.Hour {
		t.Errorf("DURATION %v %v", d, err)
	}
	if st, err := ev.Status(); err != nil || st != ical.EventConfirmed {
		t.Errorf("STATUS %v %v", st, err)
	}
	if n, err := ev.Props.Get(ical.PropSequence).Int(); err != nil || n != 1 {
		t.Errorf("SEQUENCE %d %v", n, err)
	}
	created, err := ev.Props.Get(ical.PropCreated).DateTime(time.UTC)
	if err != nil || created.UTC().Format(time.RFC3339) != c.Transitions[0].At.UTC {
		t.Errorf("CREATED %v %v, want %s", created, err, c.Transitions[0].At.UTC)
	}
	desc, err := ev.Props.Text(ical.PropDescription)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Call " + c.ID + " on line demo, video, requested by east.",
		"Start: " + c.ScheduledStart.Text,
		"Expected duration: 2h",
		"Status: accepted",
		"1. Opening; remarks, by both principals",
		"2. Grain corridor",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("DESCRIPTION lacks %q:\n%s", want, desc)
		}
	}
	l.do("GET", "/calls/"+c.ID, westPr, nil).refused(t, "without .ics", http.StatusNotFound, "calendar")
	l.do("GET", "/calls/c-aaaaaaaaaaaa.ics", westPr, nil).refused(t, "unknown call", http.StatusNotFound, "no call")
}

// fields checks text properties, each present once with its value.
func fields(t *testing.T, props ical.Props, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got, err := props.Text(name); err != nil || got != w || len(props.Values(name)) != 1 {
			t.Errorf("%s: %q (%v, %d times), want %q once", name, got, err, len(props.Values(name)), w)
		}
	}
}

// Across the next daylight-saving change of New York (Moscow has none),
// the same 18:00 in Moscow is one hour apart in New York on the days
// before and after, and every field says so.
func TestBothZonesAcrossOneSidedDST(t *testing.T) {
	l := startLine(t)
	eastOp := l.login(demo.East, "East Operator", role.Operator)
	ny, msk := zone(t, "America/New_York"), zone(t, "Europe/Moscow")
	_, change := time.Now().In(ny).ZoneBounds() // the next change of New York's clocks
	if time.Until(change) < 3*24*time.Hour {
		// Two days before it would be past: take the change after.
		_, change = change.Add(time.Hour).In(ny).ZoneBounds()
	}
	for _, day := range []time.Time{change.AddDate(0, 0, -2), change.AddDate(0, 0, 2)} {
		date := day.In(msk).Format("2006-01-02")
		body := callBody()
		body["when"] = "at " + date + " 18:00"
		c := l.request(eastOp, body)
		moscow := time.Date(day.In(msk).Year(), day.In(msk).Month(), day.In(msk).Day(), 18, 0, 0, 0, msk)
		inNY := moscow.In(ny)
		st := c.ScheduledStart
		if st.UTC != moscow.UTC().Format(time.RFC3339) {
			t.Errorf("%s: UTC %s, want %s", date, st.UTC, moscow.UTC().Format(time.RFC3339))
		}
		e, w := st.Local[0], st.Local[1]
		if e.Time != date+"T18:00:00" || e.Offset != "+03:00" || e.Abbrev != "MSK" {
			t.Errorf("%s: east %+v", date, e)
		}
		abbrev, _ := inNY.Zone()
		if w.Time != inNY.Format("2006-01-02T15:04:05") || w.Offset != inNY.Format("-07:00") || w.Abbrev != abbrev {
			t.Errorf("%s: west %+v, want %s", date, w, inNY)
		}
		if !strings.Contains(st.Text, "18:00 Europe/Moscow") || !strings.Contains(st.Text, inNY.Format("15:04")+" America/New_York") {
			t.Errorf("%s: text %q", date, st.Text)
		}
	}
	ls := l.list(eastOp)
	if len(ls) != 2 {
		t.Fatalf("%d calls", len(ls))
	}
	before, after := ls[0].ScheduledStart.Local[1], ls[1].ScheduledStart.Local[1]
	if before.Offset == after.Offset || before.Time[11:] == after.Time[11:] {
		t.Fatalf("New York's times do not move across its change: %+v, %+v", before, after)
	}
	if ls[0].ScheduledStart.Local[0].Time[11:] != ls[1].ScheduledStart.Local[0].Time[11:] {
		t.Fatal("Moscow's times moved")
	}
}
