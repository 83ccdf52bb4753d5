package browser

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/chromedp/chromedp"

	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// The schedule page (/schedule, internal/web/static/schedule.js) and the API
// session proof it signs in with (e2ee/session-proof.js).

// TestScheduleSessionProofJS: the browser builds the session message byte
// for byte as Go does and, from the vectors' seeds, makes the very proofs
// of testdata/session.json (Ed25519 is deterministic); a proof made with a
// fresh non-extractable key verifies in Go, for that line only.
func TestScheduleSessionProofJS(t *testing.T) {
	data, err := os.ReadFile("../../testdata/session.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []json.RawMessage `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil || len(file.Vectors) == 0 {
		t.Fatalf("testdata/session.json: %v (%d vectors)", err, len(file.Vectors))
	}
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/session_vectors.js", map[string]string{"mode": "vectors"})
	if want := len(file.Vectors) + 2; r.Checked != want {
		t.Errorf("JS checked %d cases, want %d (every vector, the short nonce and the missing server name)", r.Checked, want)
	}

	nonce := make([]byte, trust.NonceSize)
	rand.Read(nonce)
	r = runJSModule(t, b, "/harness/session_vectors.js", map[string]string{"mode": "sign", "nonce": trust.B64(nonce), "server": "Hotline.Example:8443", "line": "demo"})
	var signed struct{ SigPub, Proof string }
	if err := json.Unmarshal(r.Data, &signed); err != nil {
		t.Fatal(err)
	}
	pub, errK := trust.DecodeB64(signed.SigPub)
	proof, errP := trust.DecodeB64(signed.Proof)
	if errK != nil || errP != nil {
		t.Fatalf("browser answer %+v: %v %v", signed, errK, errP)
	}
	if err := trust.VerifySessionProof(pub, nonce, "hotline.example:8443", "demo", proof); err != nil {
		t.Fatalf("Go refuses the browser's session proof: %v", err)
	}
	if err := trust.VerifySessionProof(pub, nonce, "hotline.example:8443", "demo2", proof); !errors.Is(err, trust.ErrBadSignature) {
		t.Errorf("the browser's proof for line demo opens demo2: %v", err)
	}
	if err := trust.VerifySessionProof(pub, nonce, "relay.example:8443", "demo", proof); !errors.Is(err, trust.ErrBadSignature) {
		t.Errorf("the browser's proof for hotline.example opens a session on another server: %v", err)
	}
	if err := trust.VerifyJoinProof(pub, nonce, "localhost", "demo", "", proof); !errors.Is(err, trust.ErrBadSignature) {
		t.Errorf("the browser's session proof is accepted as a join proof: %v", err)
	}
	b.checkConsole()
}

// schedCard is the CSS selector of a call's card in the upcoming list.
func schedCard(id string) string { return fmt.Sprintf(`#sched-calls [data-call-id=%q]`, id) }

// schedCardState is the data-state of a call's card ("" when it is not shown).
func schedCardState(b *browser, id string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.dataset.state ?? ""`, schedCard(id)))
}

// waitSchedCard waits until a call's card shows state.
func waitSchedCard(b *browser, id, state string) {
	b.t.Helper()
	servertest.Eventually(b.t, fmt.Sprintf("%s: call %s shown %s", b.name, id, state), func() (bool, string) {
		s := schedCardState(b, id)
		return s == state, s + " " + text(b, "sched-error")
	})
}

// schedActions lists the data-action of the buttons and links on a call's card.
func schedActions(b *browser, id string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.dataset.action)`, schedCard(id)+" [data-action]"))
}

// schedCardText is the text of a part of a call's card.
func schedCardText(b *browser, id, sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, schedCard(id)+" "+sel))
}

// schedAttr is an attribute of the first element that sel matches.
func schedAttr(b *browser, sel, name string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.getAttribute(%q) ?? ""`, sel, name))
}

// schedVisible tells whether the element with this id is shown.
func schedVisible(b *browser, id string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && !e.hidden && e.getClientRects().length > 0; })()`, id))
}

// requestThroughForm fills the "Request a call" form and sends it.
func requestThroughForm(b *browser, kind, when, minutes, agenda, advisers, languages string) {
	b.t.Helper()
	// Set the other fields as a whole (chromedp's SetValue refuses an
	// empty value); the time is typed as a person does.
	set := map[string]string{"sched-kind": kind, "sched-when": "", "sched-duration": minutes, "sched-agenda": agenda, "sched-advisers": advisers, "sched-languages": languages}
	js, err := json.Marshal(set)
	if err != nil {
		b.t.Fatal(err)
	}
	if !eval[bool](b, fmt.Sprintf(`Object.entries(%s).every(([id, v]) => { document.getElementById(id).value = v; return document.getElementById(id).value === v; })`, js)) {
		b.t.Fatalf("%s: could not fill the request form with %s", b.name, js)
	}
	b.do(chromedp.SendKeys(chromedp.ID("sched-when"), when), chromedp.Click(chromedp.ID("sched-request-submit")))
}

// openSchedule opens /schedule and waits for the page's state.
func openSchedule(b *browser, base, state string) {
	b.t.Helper()
	b.open(base + "/schedule")
	servertest.Eventually(b.t, fmt.Sprintf("%s: the schedule page to be %s", b.name, state), func() (bool, string) {
		s := eval[string](b, `document.getElementById('schedule-page').dataset.state ?? ""`)
		return s == state, s + " " + text(b, "sched-message")
	})
}

// tomorrowAt is 18:00 tomorrow on loc's clocks, as the server reads
// "at 18:00 tomorrow <loc>" at the instant now.
func tomorrowAt(now time.Time, loc *time.Location) time.Time {
	d := now.In(loc).AddDate(0, 0, 1)
	return time.Date(d.Year(), d.Month(), d.Day(), 18, 0, 0, 0, loc)
}

// TestSchedule: the east operator requests a call through the page; the
// west operator sees it in both capitals' time (checked against Go's tz
// conversion) and accepts it through the page; east sees it accepted. A
// west adviser sees the call but no controls; a refused request shows the
// server's reason and changes nothing; a withdrawn request moves to the
// history; an unenrolled browser and the press get a clear message.
func TestSchedule(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	nyc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}

	// Not enrolled yet: a message and the way to enrol.
	adv := newBrowser(t, "west adviser", 1100, 900)
	openSchedule(adv, base, "unenrolled")
	if href := schedAttr(adv, "#sched-enrol-link", "href"); href != "/enrol" {
		t.Errorf("unenrolled page links to %q, want /enrol", href)
	}

	east := newBrowser(t, "east operator", 1280, 1000)
	east.enrolAs(base, demo.East, "East Operator", role.Operator)
	openSchedule(east, base, "ready")
	if who := text(east, "sched-who"); !strings.Contains(who, "East Operator") || !strings.Contains(who, "east side") || !strings.Contains(who, "Operator") {
		t.Errorf("east sees itself as %q", who)
	}
	for _, z := range []string{"Europe/Moscow", "America/New_York"} {
		if c := eval[string](east, fmt.Sprintf(`document.querySelector('#sched-clocks [data-zone=%q] .sched-clock-now')?.textContent ?? ""`, z)); len(c) < 5 || c[2] != ':' {
			t.Errorf("east's clock for %s shows %q", z, c)
		}
	}
	if !schedVisible(east, "sched-request") || !schedVisible(east, "sched-past") {
		t.Errorf("an operator's page lacks the request form or the history")
	}

	// A time the server cannot read: its reason next to the form, no call.
	requestThroughForm(east, "video", "at 25:00", "120", "Opening", "", "")
	servertest.Eventually(t, "the refusal of a bad time", func() (bool, string) {
		msg := text(east, "sched-request-error")
		return schedVisible(east, "sched-request-error") && strings.Contains(msg, "HTTP 400"), msg
	})
	if n := eval[string](east, `document.getElementById('schedule-page').dataset.calls`); n != "0" {
		t.Errorf("after a refused request the page shows %s calls", n)
	}
	if v := eval[string](east, `document.getElementById('sched-when').value`); v != "at 25:00" {
		t.Errorf("the refused request's time was cleared: %q", v)
	}

	// The real request.
	before := tomorrowAt(time.Now(), msk)
	requestThroughForm(east, "video", "at 18:00 tomorrow Europe/Moscow", "120", "Opening\nGrain corridor\n", "East Adviser", "ru, en")
	servertest.Eventually(t, "east's request to be listed", func() (bool, string) {
		n := eval[string](east, `document.getElementById('schedule-page').dataset.calls ?? ""`)
		return n == "1" && schedVisible(east, "sched-request-ok"), n + " " + text(east, "sched-request-error")
	})
	after := tomorrowAt(time.Now(), msk)
	id := eval[string](east, `document.querySelector('#sched-calls [data-call-id]').dataset.callId`)
	if got := schedCardState(east, id); got != "requested" {
		t.Fatalf("east's new call %s is %q", id, got)
	}
	if a := schedActions(east, id); slices.Contains(a, "accept") || slices.Contains(a, "decline") || !slices.Contains(a, "cancel") || !slices.Contains(a, "ics") || slices.Contains(a, "join") {
		t.Errorf("east (the initiating side) is offered %v on its own request; want cancel and ics only", a)
	}
	if href := schedAttr(east, schedCard(id)+` [data-action="ics"]`, "href"); href != "/calls/"+id+".ics" {
		t.Errorf("calendar link %q", href)
	}
	// The languages typed in the form ("ru, en") are the call's, in the API
	// and on the card; a call requested without any shows none.
	cl, err := apiclient.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SignIn(context.Background(), srv.Device(t, demo.East, "East Operator", role.Operator), demo.Line); err != nil {
		t.Fatal(err)
	}
	if c, err := cl.Call(context.Background(), id); err != nil || !slices.Equal(c.Languages, []string{"ru", "en"}) {
		t.Errorf("the API shows call %s with languages %q (%v), want [ru en]", id, c.Languages, err)
	}
	if got := eval[[]string](east, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.dataset.language)`, schedCard(id)+" .sched-languages [data-language]")); !slices.Equal(got, []string{"ru", "en"}) {
		t.Errorf("east's card shows languages %q, want [ru en]", got)
	}
	if v := eval[string](east, `document.getElementById('sched-languages').value`); v != "" {
		t.Errorf("the languages field keeps %q after the request", v)
	}
	east.screenshot(shotDir(t) + "/schedule-east-requested.png")

	// A west adviser sees the request, with no controls to answer or request.
	adv.enrolAs(base, demo.West, "West Adviser", role.Adviser)
	openSchedule(adv, base, "ready")
	waitSchedCard(adv, id, "requested")
	if a := schedActions(adv, id); slices.Contains(a, "accept") || slices.Contains(a, "decline") || slices.Contains(a, "cancel") || !slices.Contains(a, "ics") {
		t.Errorf("the adviser is offered %v; want the calendar only", a)
	}
	if schedVisible(adv, "sched-request") || schedVisible(adv, "sched-past") || schedVisible(adv, "sched-waiting") {
		t.Errorf("the adviser's page shows the request form, the history or a request to answer")
	}
	if eval[bool](adv, `document.querySelector('#sched-request-submit, [data-action="accept"], [data-action="decline"]')?.offsetParent != null`) {
		t.Errorf("the adviser's page has a visible request or answer control")
	}

	// The west operator: the request in both capitals' time, to answer.
	west := newBrowser(t, "west operator", 1280, 1000)
	west.enrolAs(base, demo.West, "West Operator", role.Operator)
	openSchedule(west, base, "ready")
	waitSchedCard(west, id, "requested")
	checkTimes := func(b *browser) {
		b.t.Helper()
		mskText := schedCardText(b, id, `.sched-times [data-zone="Europe/Moscow"]`)
		nycText := schedCardText(b, id, `.sched-times [data-zone="America/New_York"]`)
		for _, start := range []time.Time{before, after} {
			m, n := start.In(msk), start.In(nyc)
			if strings.Contains(mskText, m.Format("15:04")) && strings.Contains(mskText, m.Format("Mon 2 Jan 2006")) &&
				strings.Contains(nycText, n.Format("15:04")) && strings.Contains(nycText, n.Format("Mon 2 Jan 2006")) {
				return
			}
		}
		t.Errorf("%s shows Moscow %q and New York %q; want %s and %s", b.name, mskText, nycText,
			before.In(msk).Format("15:04 Mon 2 Jan 2006 MST"), before.In(nyc).Format("15:04 Mon 2 Jan 2006 MST"))
	}
	checkTimes(west)
	if !strings.Contains(schedCardText(west, id, `.sched-times [data-zone="America/New_York"]`), "your side") {
		t.Errorf("west's own zone is not marked as its side")
	}
	if got := eval[string](west, fmt.Sprintf(`document.querySelector(%q).dataset.needs ?? ""`, schedCard(id))); got != "answer" || !schedVisible(west, "sched-waiting") {
		t.Errorf("the request is not marked as waiting for west's answer (%q)", got)
	}
	all := schedCardText(west, id, "")
	for _, want := range []string{"Video call", "Opening", "Grain corridor", "East Adviser", "East Operator", "2 h", "Interpretation", "ru · en"} {
		if !strings.Contains(all, want) {
			t.Errorf("west's card lacks %q: %s", want, all)
		}
	}
	if a := schedActions(west, id); !slices.Contains(a, "accept") || !slices.Contains(a, "decline") || slices.Contains(a, "cancel") {
		t.Errorf("west is offered %v; want accept and decline", a)
	}
	west.screenshot(shotDir(t) + "/schedule-west-to-answer.png")

	// West accepts through the page; both pages show it accepted.
	west.do(chromedp.Click(schedCard(id) + ` [data-action="accept"]`))
	waitSchedCard(west, id, "accepted")
	if a := schedActions(west, id); !slices.Contains(a, "join") || !slices.Contains(a, "cancel") || slices.Contains(a, "accept") {
		t.Errorf("west is offered %v on the accepted call; want join and cancel", a)
	}
	if href := schedAttr(west, schedCard(id)+` [data-action="join"]`, "href"); href != "/call/"+id+"?line="+demo.Line {
		t.Errorf("join link %q", href)
	}
	waitSchedCard(east, id, "accepted")
	checkTimes(east)
	if a := schedActions(east, id); !slices.Contains(a, "join") || !slices.Contains(a, "cancel") || !slices.Contains(a, "ics") {
		t.Errorf("east is offered %v on the accepted call", a)
	}

	// The calendar link fetches the file with the session's token and hands
	// it to the browser as a Blob download: catch the Blob on its way.
	eval[bool](east, `(() => { const make = URL.createObjectURL; window.icsSeen = '';
		URL.createObjectURL = (b) => { b.text().then((s) => { window.icsSeen = s; }); return make.call(URL, b); }; return true; })()`)
	east.do(chromedp.Click(schedCard(id) + ` [data-action="ics"]`))
	servertest.Eventually(t, "the .ics file", func() (bool, string) {
		s := eval[string](east, `window.icsSeen`)
		return strings.Contains(s, "END:VCALENDAR"), s + schedCardText(east, id, ".sched-call-error")
	})
	// RFC 5545 §3.1: a folded line continues after CRLF and one space.
	if s := strings.ReplaceAll(eval[string](east, `window.icsSeen`), "\r\n ", ""); !strings.Contains(s, "UID:"+id+".") || !strings.Contains(s, "STATUS:CONFIRMED") || !strings.Contains(s, "Grain corridor") {
		t.Errorf("the downloaded calendar file:\n%s", s)
	}
	waitSchedCard(adv, id, "accepted")
	if a := schedActions(adv, id); !slices.Contains(a, "join") || slices.Contains(a, "cancel") {
		t.Errorf("the adviser is offered %v on the accepted call; want join, not cancel", a)
	}

	// East withdraws a second request (two clicks: arm, confirm); it moves
	// to both operators' history.
	requestThroughForm(east, "phone", "in 3h", "30", "", "", "")
	var id2 string
	servertest.Eventually(t, "the phone call to be listed", func() (bool, string) {
		id2 = eval[string](east, `document.querySelector('#sched-calls [data-kind="phone"]')?.dataset.callId ?? ""`)
		return id2 != "", text(east, "sched-request-error")
	})
	if l := schedCardText(east, id2, ".sched-languages"); !strings.Contains(l, "none") {
		t.Errorf("a call without languages shows %q", l)
	}
	east.do(chromedp.Click(schedCard(id2)+` [data-action="cancel"]`), chromedp.Click(schedCard(id2)+` [data-action="cancel"]`))
	for _, b := range []*browser{east, west} {
		servertest.Eventually(t, b.name+": the withdrawn call in the history", func() (bool, string) {
			s := eval[string](b, fmt.Sprintf(`document.querySelector('#sched-history [data-call-id=%q]')?.dataset.state ?? ""`, id2))
			return s == "cancelled" && schedCardState(b, id2) == "", s
		})
	}
	if h := eval[string](west, fmt.Sprintf(`document.querySelector('#sched-history [data-call-id=%q]').textContent`, id2)); !strings.Contains(h, "Phone call") || !strings.Contains(h, "East Operator") {
		t.Errorf("west's history entry: %s", h)
	}
	if schedCardState(east, id) != "accepted" {
		t.Errorf("withdrawing the second call changed the first")
	}

	// The press may not see the schedule.
	adv.enrolAs(base, demo.West, "West Press", role.Press)
	openSchedule(adv, base, "forbidden")
	if msg := text(adv, "sched-message"); !strings.Contains(msg, "Press") || !strings.Contains(msg, "schedule") {
		t.Errorf("the press sees %q", msg)
	}

	// The only console errors allowed: the 400 provoked on purpose.
	checkConsoleExcept(east, "/api/calls", "status of 400")
	west.checkClean()
	adv.checkClean()
	// Stop the pages' polling before the server closes, so that no request
	// is cut off half-way.
	for _, b := range []*browser{east, west, adv} {
		b.navigate("about:blank")
	}
}
