package browser

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/role"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// fakeEnrolAPI is a small stand-in for the server's enrolment routes
// (docs/PROTOCOL.md request and answer shapes), enough to drive the
// /enrol and /officer views: demo tokens, requests waiting for an officer,
// credentials posted back. It checks what it receives with internal/trust,
// as the real server must.
type fakeEnrolAPI struct {
	t          *testing.T
	line, call string
	east, west *trust.Authority
	pins       []trust.Pin

	mu       sync.Mutex
	tokens   map[string]demoGrant
	used     map[string]bool
	requests map[string]*fakeRequest
	order    []string
	demoHits int
	// issued records every credential this API signed or accepted.
	issued []trust.Credential
}

type demoGrant struct {
	side, name string
	roles      []string
	// what the answer does wrong, for the page's checks: "" (nothing),
	// "pins" (pins of a foreign authority), "device" (a credential for
	// another device's keys)
	spoil string
}

type fakeRequest struct {
	id, line string
	req      trust.Request
	body     *trust.RequestBody
	created  time.Time
	cred     *trust.Credential
}

func newFakeEnrolAPI(t *testing.T, mux *http.ServeMux) *fakeEnrolAPI {
	f := &fakeEnrolAPI{
		t: t, line: "east-west", call: "summit",
		east: newAuthority(t, "east"), west: newAuthority(t, "west"),
		tokens: map[string]demoGrant{}, used: map[string]bool{}, requests: map[string]*fakeRequest{},
	}
	f.pins = []trust.Pin{f.east.Pin(), f.west.Pin()}
	mux.HandleFunc("POST /api/enrol", f.demo)
	mux.HandleFunc("POST /api/requests", f.submit)
	mux.HandleFunc("GET /api/requests", f.pending)
	mux.HandleFunc("GET /api/requests/{id}", f.status)
	mux.HandleFunc("POST /api/requests/{id}/credential", f.approve)
	return f
}

func pinsJSON(ps []trust.Pin) []map[string]string {
	var out []map[string]string
	for _, p := range ps {
		out = append(out, map[string]string{"side": p.Side, "key": trust.B64(p.Key), "fingerprint": trust.Fingerprint(p.Key)})
	}
	return out
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSONResponse(w, status, map[string]string{"error": msg})
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}

func (f *fakeEnrolAPI) demo(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token   string        `json:"token"`
		Request trust.Request `json:"request"`
	}
	if !decodeStrict(w, r, &in) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.demoHits++
	g, ok := f.tokens[in.Token]
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "unknown enrolment link")
		return
	case f.used[in.Token]:
		apiError(w, http.StatusGone, "this enrolment link was already used")
		return
	}
	body, err := trust.VerifyRequest(in.Request)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	var roles []string
	for _, ro := range body.Roles {
		roles = append(roles, string(ro))
	}
	if body.Side != g.side || body.Name != g.name || !slices.Equal(roles, g.roles) {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("this link enrols %s %v of side %s", g.name, g.roles, g.side))
		return
	}
	f.used[in.Token] = true
	req := in.Request
	if g.spoil == "device" {
		other, err := trust.NewDevice()
		if err != nil {
			f.t.Error(err)
		}
		req, err = other.Request(g.side, g.name, body.Roles, time.Now())
		if err != nil {
			f.t.Error(err)
		}
	}
	a := f.east
	if g.side == "west" {
		a = f.west
	}
	now := time.Now()
	cred, err := a.Sign(req, now, now.Add(30*24*time.Hour))
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	pins := f.pins
	if g.spoil == "pins" {
		pins = []trust.Pin{newAuthority(f.t, "east").Pin(), f.west.Pin()}
	}
	f.issued = append(f.issued, cred)
	writeJSONResponse(w, http.StatusOK, map[string]any{"credential": cred, "pins": pinsJSON(pins), "line": f.line, "call": f.call})
}

func (f *fakeEnrolAPI) submit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Line    string        `json:"line"`
		Request trust.Request `json:"request"`
	}
	if !decodeStrict(w, r, &in) {
		return
	}
	if in.Line != f.line {
		apiError(w, http.StatusNotFound, "unknown line")
		return
	}
	body, err := trust.VerifyRequest(in.Request)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := f.add(in.Line, in.Request, body)
	writeJSONResponse(w, http.StatusCreated, map[string]any{"id": id, "pins": pinsJSON(f.pins)})
}

// add stores a request as pending and returns its id.
func (f *fakeEnrolAPI) add(line string, req trust.Request, body *trust.RequestBody) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[id] = &fakeRequest{id: id, line: line, req: req, body: body, created: time.Now()}
	f.order = append(f.order, id)
	return id
}

func (f *fakeEnrolAPI) pending(w http.ResponseWriter, r *http.Request) {
	line, side := r.URL.Query().Get("line"), r.URL.Query().Get("side")
	if line == "" || side == "" {
		apiError(w, http.StatusBadRequest, "line and side are required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, id := range f.order {
		p := f.requests[id]
		if p.line == line && p.body.Side == side && p.cred == nil {
			out = append(out, map[string]any{"id": p.id, "request": p.req, "created": p.created.Unix()})
		}
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{"requests": out})
}

func (f *fakeEnrolAPI) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.requests[r.PathValue("id")]
	switch {
	case p == nil:
		apiError(w, http.StatusNotFound, "unknown request")
	case p.cred == nil:
		writeJSONResponse(w, http.StatusOK, map[string]any{"state": "pending", "line": p.line})
	default:
		writeJSONResponse(w, http.StatusOK, map[string]any{"state": "approved", "credential": p.cred, "pins": pinsJSON(f.pins), "line": p.line})
	}
}

// approve accepts a credential only if it is valid for the line and names
// exactly the request's keys.
func (f *fakeEnrolAPI) approve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Credential trust.Credential `json:"credential"`
	}
	if !decodeStrict(w, r, &in) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.requests[r.PathValue("id")]
	if p == nil {
		apiError(w, http.StatusNotFound, "unknown request")
		return
	}
	id, err := trust.VerifyCredential(in.Credential, f.pins, time.Now())
	if err != nil {
		apiError(w, http.StatusBadRequest, "credential: "+err.Error())
		return
	}
	if !id.SigKey.Equal(p.body.SigKey) || string(id.KEMKey) != string(p.body.KEMKey) || id.Name != p.body.Name || id.Side != p.body.Side {
		apiError(w, http.StatusBadRequest, "the credential is not for this request")
		return
	}
	c := in.Credential
	p.cred = &c
	f.issued = append(f.issued, c)
	writeJSONResponse(w, http.StatusOK, map[string]any{})
}

// shotDir is where screenshots go: $HOTLINE_SCREENSHOTS if set (to look at
// them), else the test's temporary folder.
func shotDir(t *testing.T) string {
	if d := os.Getenv("HOTLINE_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

// text is an element's textContent ("" if there is none).
func text(b *browser, id string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.getElementById(%q)?.textContent ?? ""`, id))
}

// waitState waits until the page section's data-state is want (failing at
// once on "error" unless that is what is wanted).
func waitState(b *browser, section, want string) {
	b.t.Helper()
	servertest.Eventually(b.t, fmt.Sprintf("%s: #%s to be %s", b.name, section, want), func() (bool, string) {
		s := eval[string](b, fmt.Sprintf(`document.getElementById(%q).dataset.state ?? ""`, section))
		if s == "error" && want != "error" {
			b.t.Fatalf("%s: #%s shows an error: %s", b.name, section, text(b, "enrol-error")+text(b, "officer-error"))
		}
		return s == want, s
	})
}

// storedIdentity is what identity.js holds in the page's IndexedDB.
type storedIdentity struct {
	Has        bool             `json:"has"`
	Line       string           `json:"line"`
	Credential trust.Credential `json:"credential"`
	Pins       []jsPin          `json:"pins"`
	RequestID  string           `json:"requestId"`
	SigPub     string           `json:"sigPub"`
}

func loadStored(b *browser) storedIdentity {
	b.t.Helper()
	return eval[storedIdentity](b, `import('/static/e2ee/identity.js').then((m) => m.loadIdentity()).then((i) => i ? {
		has: true, line: i.line ?? '', credential: i.credential ?? {body: '', sig: ''}, pins: i.pins ?? [],
		requestId: i.requestId ?? '', sigPub: Array.from(i.sigPub, (x) => x.toString(16).padStart(2, '0')).join('')} : {has: false})`)
}

// TestE2EEEnrolDemo: /enrol?token=… makes the device keys, gets a
// credential from the (fake) server, checks it and keeps it; it shows who
// the device is and both fingerprints, and refuses used links, answers
// whose credential does not verify against the pins it came with, and
// credentials for another device's keys.
func TestE2EEEnrolDemo(t *testing.T) {
	url, mux, _ := e2eeSite(t)
	f := newFakeEnrolAPI(t, mux)
	// Roles in the link's order, not the page's: the grant is an exact list.
	alice := demoGrant{side: "east", name: "Alice East", roles: []string{"adviser", "principal"}}
	f.tokens["good"] = alice
	spoiledPins, spoiledDevice := alice, alice
	spoiledPins.spoil, spoiledDevice.spoil = "pins", "device"
	f.tokens["badpins"] = spoiledPins
	f.tokens["otherdevice"] = spoiledDevice
	link := func(token string) string {
		return fmt.Sprintf("%s/enrol?token=%s&side=east&name=Alice%%20East&roles=adviser,principal", url, token)
	}

	b := newBrowser(t, "device", 1000, 800)
	b.open(link("good"))
	waitState(b, "enrol-page", "enrolled")
	want := map[string]string{
		"enrol-who-name":  "Alice East",
		"enrol-who-side":  "east",
		"enrol-who-roles": "Adviser, Principal",
		"enrol-who-line":  f.line,
		"fp-east":         f.east.Fingerprint(),
		"fp-west":         f.west.Fingerprint(),
	}
	for id, w := range want {
		if got := text(b, id); got != w {
			t.Errorf("#%s = %q, want %q", id, got, w)
		}
	}
	st := loadStored(b)
	f.mu.Lock()
	issued := f.issued[0]
	f.mu.Unlock()
	if !st.Has || st.Credential != issued || st.Line != f.line || len(st.Pins) != 2 {
		t.Fatalf("stored identity %+v; issued %+v", st, issued)
	}
	who, err := trust.VerifyCredential(st.Credential, f.pins, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := text(b, "enrol-who-device"); got != who.DeviceID || hex.EncodeToString(who.SigKey) != st.SigPub {
		t.Errorf("device shown %q, credential's %s, stored key %s", got, who.DeviceID, st.SigPub)
	}
	if href := eval[string](b, `document.getElementById('enrol-join').getAttribute('href')`); href != "/call/summit?line=east-west" {
		t.Errorf("join link %q", href)
	}
	if p := eval[string](b, `location.pathname + location.search`); p != "/enrol" {
		t.Errorf("the used token stays in the address: %q", p)
	}
	b.screenshot(filepath.Join(shotDir(t), "enrol-demo.png"))

	// A reload shows the stored enrolment without asking the server.
	b.open(url + "/enrol")
	waitState(b, "enrol-page", "enrolled")
	if got := text(b, "enrol-who-name"); got != "Alice East" {
		t.Errorf("after reload: name %q", got)
	}

	// Refusals: each leaves the stored credential as it was.
	for _, c := range []struct{ token, shows string }{
		{"good", "already used"},               // 410 from the server
		{"nosuch", "unknown enrolment link"},   // 404
		{"badpins", "does not verify"},         // pins of a foreign authority
		{"otherdevice", "not for this device"}, // someone else's keys
	} {
		b.open(link(c.token))
		waitState(b, "enrol-page", "error")
		if msg := text(b, "enrol-error"); !strings.Contains(msg, c.shows) {
			t.Errorf("token %s: error shown %q, want it to say %q", c.token, msg, c.shows)
		}
		if visible := eval[bool](b, `!document.getElementById('enrol-error').hidden`); !visible {
			t.Errorf("token %s: the error is not visible", c.token)
		}
		if now := loadStored(b); now.Credential != issued || now.SigPub != st.SigPub {
			t.Errorf("token %s: the stored identity changed: %+v", c.token, now)
		}
	}
	// The refusals above are answered 410 and 404, which Chromium logs as
	// failed resource loads; nothing else may be in the console.
	checkConsoleExcept(b, "/api/enrol", "status of 410", "status of 404")
}

// checkConsoleExcept is checkConsole allowing the network errors that a
// test provokes on purpose: messages about url that mention one of codes.
func checkConsoleExcept(b *browser, url string, codes ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		s := m.String()
		expected := !m.IsException() && strings.Contains(m.URL+s, url) && slices.ContainsFunc(codes, func(c string) bool { return strings.Contains(s, c) })
		if !expected {
			b.t.Errorf("%s: console %s (%s:%d)", b.name, s, m.URL, m.Line)
		}
	}
}

// TestE2EEEnrolOfficer: a device asks on /enrol, an officer approves on
// /officer with an encrypted authority file (written by internal/trust)
// that never leaves the officer's browser, and the device picks up the
// credential by itself.
func TestE2EEEnrolOfficer(t *testing.T) {
	url, mux, seen := e2eeSite(t)
	f := newFakeEnrolAPI(t, mux)
	dir := t.TempDir()
	file := filepath.Join(dir, "east.authority")
	const pass = "correct horse battery staple"
	if err := f.east.Save(file, []byte(pass), false); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var af struct {
		Encrypted struct{ Ciphertext, Salt string } `json:"encrypted"`
	}
	if err := json.Unmarshal(raw, &af); err != nil || af.Encrypted.Ciphertext == "" {
		t.Fatalf("authority file %s: %v", raw, err)
	}
	// Another east device waits too: the officer must approve the right one.
	other, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	otherReq, err := other.Request("east", "Someone Else", []role.Role{role.Adviser}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherBody, err := trust.VerifyRequest(otherReq)
	if err != nil {
		t.Fatal(err)
	}
	otherID := f.add(f.line, otherReq, otherBody)

	// The device asks.
	dev := newBrowser(t, "device", 1000, 800)
	dev.open(url + "/enrol")
	waitState(dev, "enrol-page", "form")
	dev.do(
		chromedp.SendKeys(chromedp.ID("enrol-line"), f.line),
		chromedp.SendKeys(chromedp.ID("enrol-side"), "east"),
		chromedp.SendKeys(chromedp.ID("enrol-name"), "Alice East"),
		chromedp.Click(chromedp.CSS(`#enrol-roles input[value="principal"]`)),
		chromedp.Click(chromedp.CSS(`#enrol-roles input[value="interpreter"]`)),
		chromedp.Click(chromedp.ID("enrol-submit")),
	)
	waitState(dev, "enrol-page", "pending")
	reqID, devID := text(dev, "enrol-request-id"), text(dev, "enrol-device-id")
	f.mu.Lock()
	p := f.requests[reqID]
	f.mu.Unlock()
	if p == nil || p.body.DeviceID != devID || p.body.Name != "Alice East" {
		t.Fatalf("request %q device %q; the server has %+v", reqID, devID, p)
	}
	if st := loadStored(dev); st.RequestID != reqID || st.Line != f.line {
		t.Errorf("pending request not stored: %+v", st)
	}
	dev.screenshot(filepath.Join(shotDir(t), "enrol-pending.png"))

	// The officer opens the authority file: a wrong passphrase first.
	off := newBrowser(t, "officer", 1100, 900)
	off.open(url + "/officer")
	off.do(
		chromedp.SetUploadFiles(chromedp.ID("officer-file"), []string{file}),
		chromedp.SendKeys(chromedp.ID("officer-pass"), "wrong"),
		chromedp.SendKeys(chromedp.ID("officer-line"), f.line),
		chromedp.Click(chromedp.ID("officer-open")),
	)
	servertest.Eventually(t, "the wrong passphrase to be refused", func() (bool, string) {
		msg := text(off, "officer-error")
		return strings.Contains(msg, "could not be opened"), msg
	})
	if s := eval[string](off, `document.getElementById('officer-page').dataset.state`); s != "locked" {
		t.Errorf("officer page state %q after a wrong passphrase", s)
	}
	off.do(chromedp.SendKeys(chromedp.ID("officer-pass"), pass), chromedp.Click(chromedp.ID("officer-open")))
	waitState(off, "officer-page", "open")
	if fp := text(off, "officer-fp"); fp != f.east.Fingerprint() {
		t.Errorf("officer sees fingerprint %q, want %q", fp, f.east.Fingerprint())
	}
	servertest.Eventually(t, "both requests listed", func() (bool, string) {
		n := eval[string](off, `document.getElementById('officer-page').dataset.requests ?? ''`)
		return n == "2", n
	})
	off.screenshot(filepath.Join(shotDir(t), "officer.png"))
	row := fmt.Sprintf(`.request[data-id=%q]`, reqID)
	if got := eval[string](off, fmt.Sprintf(`document.querySelector('%s').textContent`, row)); !strings.Contains(got, devID) || !strings.Contains(got, "Alice East") || !strings.Contains(got, "Principal, Interpreter") {
		t.Errorf("request row shows %q; want the device id %s, name and roles", got, devID)
	}

	// Approve Alice's request for 7 days.
	off.do(
		chromedp.SetValue(chromedp.ID("officer-days"), "7"),
		chromedp.Click(chromedp.CSS(row+" .request-approve")),
	)
	servertest.Eventually(t, "the approval to be sent", func() (bool, string) {
		n := eval[string](off, `document.getElementById('officer-page').dataset.approved ?? ''`)
		return n == "1", n + " " + eval[string](off, `document.querySelector('.request-msg:not([hidden])')?.textContent ?? ''`)
	})
	f.mu.Lock()
	cred, otherCred := f.requests[reqID].cred, f.requests[otherID].cred
	f.mu.Unlock()
	if cred == nil || otherCred != nil {
		t.Fatalf("approved: alice %v, the other device %v", cred != nil, otherCred != nil)
	}
	who, err := trust.VerifyCredential(*cred, f.pins, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d := who.Expires.Sub(who.Issued); d != 7*24*time.Hour || who.Side != "east" || who.DeviceID != devID {
		t.Errorf("credential: valid %v, side %s, device %s", d, who.Side, who.DeviceID)
	}

	// The device notices by itself.
	waitState(dev, "enrol-page", "enrolled")
	if st := loadStored(dev); st.Credential != *cred || st.RequestID != "" {
		t.Errorf("device stored %+v, want the approved credential and no pending request", st)
	}
	for id, w := range map[string]string{"enrol-who-name": "Alice East", "enrol-who-roles": "Principal, Interpreter", "fp-east": f.east.Fingerprint(), "fp-west": f.west.Fingerprint()} {
		if got := text(dev, id); got != w {
			t.Errorf("device #%s = %q, want %q", id, got, w)
		}
	}

	// Nothing of the authority file or its passphrase reached the server.
	if seen.count() == 0 {
		t.Fatal("no request body was recorded at all")
	}
	for _, secret := range []string{af.Encrypted.Ciphertext, af.Encrypted.Salt, pass, "hotline_authority"} {
		if seen.contains(secret) {
			t.Errorf("the server received part of the authority file or its passphrase (%q)", secret)
		}
	}
	if v := eval[string](off, `document.getElementById('officer-pass').value`); v != "" {
		t.Errorf("the passphrase stays in the form: %q", v)
	}
	dev.checkConsole()
	off.checkConsole()
}
