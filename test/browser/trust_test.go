package browser

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// The browser's trust layer (internal/web/static/e2ee/) against Go's: the
// shared vectors, then live interop in both directions. The JS side is
// test/browser/harness/trust_vectors.js.

// countTrustVectors is how many checks the JS module must report for the
// vector files: one per authority, device, KID, request, credential, join
// proof, key message, code, base64url case and name in testdata/trust.json;
// one for RFC 9180's key pair, one per published encryption and export;
// one per X-Wing vector.
func countTrustVectors(t *testing.T) int {
	t.Helper()
	type list = []json.RawMessage
	var tv struct {
		Authorities list `json:"authorities"`
		Devices     []struct {
			KIDs list `json:"kids"`
		} `json:"devices"`
		Requests    list `json:"requests"`
		Credentials list `json:"credentials"`
		JoinProofs  list `json:"join_proofs"`
		KeyMessages list `json:"key_messages"`
		Codes       list `json:"codes"`
		B64         list `json:"b64"`
		Names       list `json:"names"`
	}
	var rfc struct {
		Encryptions list `json:"encryptions"`
		Exports     list `json:"exports"`
	}
	var xw struct {
		Vectors list `json:"vectors"`
	}
	for path, v := range map[string]any{"trust.json": &tv, "rfc9180-a1-1.json": &rfc, "xwing-kem.json": &xw} {
		data, err := os.ReadFile(filepath.Join("../../testdata", path))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if len(tv.KeyMessages) == 0 || len(tv.Credentials) == 0 || len(rfc.Encryptions) != 6 || len(xw.Vectors) == 0 {
		t.Fatalf("vector files look empty")
	}
	n := len(tv.Authorities) + len(tv.Devices) + len(tv.Requests) + len(tv.Credentials) + len(tv.JoinProofs) +
		len(tv.KeyMessages) + len(tv.Codes) + len(tv.B64) + len(tv.Names)
	for _, d := range tv.Devices {
		n += len(d.KIDs)
	}
	return n + 1 + len(rfc.Encryptions) + len(rfc.Exports) + len(xw.Vectors)
}

// TestTrustVectorsJS: the browser's modules agree with every shared vector.
func TestTrustVectorsJS(t *testing.T) {
	want := countTrustVectors(t)
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/trust_vectors.js", map[string]string{"mode": "vectors"})
	if r.Checked != want {
		t.Errorf("JS checked %d vectors, the files hold %d", r.Checked, want)
	}
	b.checkConsole()
}

type jsDevice struct {
	Request trust.Request `json:"request"`
	SigPub  string        `json:"sigPub"`
	KEMPub  string        `json:"kemPub"`
}

func b64pins(pins ...trust.Pin) []map[string]string {
	out := make([]map[string]string, len(pins))
	for i, p := range pins {
		out[i] = map[string]string{"side": p.Side, "key": trust.B64(p.Key)}
	}
	return out
}

// browserEnrolled makes device keys and a request in the browser, checks
// the request in Go, signs it with east and has the browser verify its
// credential against the line's pins. It returns the browser's identity.
func browserEnrolled(t *testing.T, b *browser, east, west *trust.Authority, now time.Time) *trust.Identity {
	t.Helper()
	r := runJSModule(t, b, "/harness/trust_vectors.js", map[string]any{"mode": "device", "request": map[string]any{
		"side": "east", "name": "Browser Zoë", "roles": []string{"principal", "adviser"}, "created": now.Unix()}})
	var dev jsDevice
	if err := json.Unmarshal(r.Data, &dev); err != nil {
		t.Fatal(err)
	}
	rb, err := trust.VerifyRequest(dev.Request)
	if err != nil {
		t.Fatalf("Go refuses the browser's request: %v", err)
	}
	if rb.Side != "east" || rb.Name != "Browser Zoë" || len(rb.Roles) != 2 || rb.Roles[1] != role.Adviser ||
		trust.B64(rb.SigKey) != dev.SigPub || trust.B64(rb.KEMKey) != dev.KEMPub || rb.Created.Unix() != now.Unix() {
		t.Fatalf("request body %+v", rb)
	}
	cred, err := east.Sign(dev.Request, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r = runJSModule(t, b, "/harness/trust_vectors.js", map[string]any{"mode": "verify", "credential": cred,
		"pins": b64pins(east.Pin(), west.Pin()), "now": now.Unix()})
	var seen struct{ Name, Side, DeviceID string }
	if err := json.Unmarshal(r.Data, &seen); err != nil {
		t.Fatal(err)
	}
	id, err := trust.VerifyCredential(cred, []trust.Pin{east.Pin(), west.Pin()}, now)
	if err != nil {
		t.Fatal(err)
	}
	if seen.Name != id.Name || seen.Side != "east" || seen.DeviceID != id.DeviceID {
		t.Fatalf("the browser reads %+v, Go %+v", seen, id)
	}
	return id
}

func goDevice(t *testing.T, a *trust.Authority, pins []trust.Pin, now time.Time) (*trust.Device, *trust.Identity) {
	t.Helper()
	d, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	req, err := d.Request(a.Side, "Go endpoint", []role.Role{role.Interpreter}, now)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Sign(req, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.Credential, d.Pins = &cred, pins
	id, err := d.Identity(now)
	if err != nil {
		t.Fatal(err)
	}
	return d, id
}

// TestTrustInteropJS: a browser-made request gets a Go credential the
// browser accepts; a browser join proof verifies in Go; the officer's page
// loads a Go-written, passphrase-sealed authority file and signs a Go
// device's request into a credential Go accepts.
func TestTrustInteropJS(t *testing.T) {
	east, _ := trust.NewAuthority("east")
	west, _ := trust.NewAuthority("west")
	now := time.Now()
	b, _ := jsHarness(t)
	me := browserEnrolled(t, b, east, west, now)

	nonce := make([]byte, 32)
	rand.Read(nonce)
	r := runJSModule(t, b, "/harness/trust_vectors.js", map[string]any{"mode": "join", "nonce": trust.B64(nonce), "server": "hotline.example:8443", "line": "demo", "call": "talks"})
	var jp struct{ Proof string }
	if err := json.Unmarshal(r.Data, &jp); err != nil {
		t.Fatal(err)
	}
	proof, err := trust.DecodeB64(jp.Proof)
	if err != nil {
		t.Fatal(err)
	}
	if err := trust.VerifyJoinProof(me.SigKey, nonce, "hotline.example:8443", "demo", "talks", proof); err != nil {
		t.Fatalf("browser join proof: %v", err)
	}
	if err := trust.VerifyJoinProof(me.SigKey, nonce, "hotline.example:8443", "demo", "other", proof); !errors.Is(err, trust.ErrBadSignature) {
		t.Fatalf("browser join proof for another call: %v", err)
	}
	if err := trust.VerifyJoinProof(me.SigKey, nonce, "other.example:8443", "demo", "talks", proof); !errors.Is(err, trust.ErrBadSignature) {
		t.Fatalf("browser join proof for another server: %v", err)
	}

	// The officer's page.
	path := filepath.Join(t.TempDir(), "west.json")
	const pass = "pässphrase with spaces"
	if err := west.Save(path, []byte(pass), false); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(path)
	d, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	req, err := d.Request("west", "Go endpoint", []role.Role{role.Press}, now)
	if err != nil {
		t.Fatal(err)
	}
	r = runJSModule(t, b, "/harness/trust_vectors.js", map[string]any{"mode": "authority", "file": string(file), "passphrase": pass,
		"side": "west", "request": req, "issued": now.Unix(), "expires": now.Add(24 * time.Hour).Unix()})
	var signed struct {
		Credential  trust.Credential
		PublicKey   string
		Fingerprint string
	}
	if err := json.Unmarshal(r.Data, &signed); err != nil {
		t.Fatal(err)
	}
	if signed.PublicKey != trust.B64(west.Public) || signed.Fingerprint != west.Fingerprint() {
		t.Errorf("browser loaded key %s (%s), want %s", signed.PublicKey, signed.Fingerprint, west.Fingerprint())
	}
	id, err := trust.VerifyCredential(signed.Credential, []trust.Pin{east.Pin(), west.Pin()}, now)
	if err != nil {
		t.Fatalf("Go refuses the browser-signed credential: %v", err)
	}
	if !id.SigKey.Equal(d.SigPublic()) || id.Side != "west" || !id.HasRole(role.Press) || id.Expires.Unix() != now.Add(24*time.Hour).Unix() {
		t.Fatalf("browser-signed identity %+v", id)
	}
	b.checkConsole()
}

// TestKeyMsgInteropJS: the browser seals its key to a Go device and Go
// opens it with OpenKey; Go seals to the browser's KEM key and the browser
// opens it (and refuses it for another call).
func TestKeyMsgInteropJS(t *testing.T) {
	east, _ := trust.NewAuthority("east")
	west, _ := trust.NewAuthority("west")
	pins := []trust.Pin{east.Pin(), west.Pin()}
	now := time.Now()
	b, _ := jsHarness(t)
	me := browserEnrolled(t, b, east, west, now)
	d, dID := goDevice(t, west, pins, now)

	base := make([]byte, 16)
	rand.Read(base)
	r := runJSModule(t, b, "/harness/trust_vectors.js", map[string]any{"mode": "seal", "recipientSigPub": trust.B64(dID.SigKey),
		"recipientKemPub": trust.B64(dID.KEMKey), "epoch": 3, "line": "demo", "call": "talks", "baseKey": trust.B64(base)})
	var sealed struct {
		KID         uint64
		Sealed, Sig string
	}
	if err := json.Unmarshal(r.Data, &sealed); err != nil {
		t.Fatal(err)
	}
	if sealed.KID != trust.KID(me.SigKey, "browser", 3) {
		t.Fatalf("browser kid %d, want %d", sealed.KID, trust.KID(me.SigKey, "browser", 3))
	}
	s, _ := trust.DecodeB64(sealed.Sealed)
	sig, _ := trust.DecodeB64(sealed.Sig)
	key, err := e2ee.OpenKey(d, me, sealed.KID, "demo", "talks", "browser", "go", s, sig)
	if err != nil {
		t.Fatalf("Go cannot open the browser's key message: %v", err)
	}
	if !bytes.Equal(key, base) {
		t.Fatalf("opened %x, sealed %x", key, base)
	}

	rand.Read(base)
	kid := trust.KID(dID.SigKey, "go", 5)
	s, sig, err = e2ee.SealKey(d.SigPrivate(), dID.SigKey, me, kid, "demo", "talks", "go", "browser", base)
	if err != nil {
		t.Fatal(err)
	}
	r = runJSModule(t, b, "/harness/trust_vectors.js", map[string]any{"mode": "open", "senderSigPub": trust.B64(dID.SigKey),
		"kid": kid, "line": "demo", "call": "talks", "sealed": trust.B64(s), "sig": trust.B64(sig)})
	var opened struct{ BaseKey string }
	if err := json.Unmarshal(r.Data, &opened); err != nil {
		t.Fatal(err)
	}
	if opened.BaseKey != trust.B64(base) {
		t.Fatalf("browser opened %s, Go sealed %s", opened.BaseKey, trust.B64(base))
	}
	b.checkConsole()
}
