package e2ee_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// testdata/trust.json: the shared vectors of the trust layer, made here by
// the Go code and checked by the browser's (test/browser/trust_test.go).
//
//	go test ./internal/e2ee/ -run TestTrustVectors -update   rewrites the file
//	go test ./internal/e2ee/ -run TestTrustVectors           checks it
//
// Everything but the key messages is deterministic and is regenerated and
// compared byte for byte; HPKE sealing is randomised, so the key messages
// of the file are checked by opening them with OpenKey instead.
var updateVectors = flag.Bool("update", false, "rewrite testdata/trust.json")

const trustVectorsPath = "../../testdata/trust.json"

type tvFile struct {
	Note        string         `json:"note"`
	Pins        []tvPin        `json:"pins"`
	Authorities []tvAuthority  `json:"authorities"`
	Devices     []tvDevice     `json:"devices"`
	Requests    []tvRequest    `json:"requests"`
	Credentials []tvCredential `json:"credentials"`
	JoinProofs  []tvJoin       `json:"join_proofs"`
	KeyMessages []tvKeyMsg     `json:"key_messages"`
	Codes       []tvCode       `json:"codes"`
	B64         []tvB64        `json:"b64"`
	Names       []tvName       `json:"names"`
}

type tvPin struct {
	Side string `json:"side"`
	Key  string `json:"key"`
}

type tvAuthority struct {
	Label       string `json:"label"`
	Side        string `json:"side"`
	Seed        string `json:"seed"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
}

type tvDevice struct {
	Label    string `json:"label"`
	SigSeed  string `json:"sig_seed"`
	KEMSeed  string `json:"kem_seed"`
	SigKey   string `json:"sig_key"`
	KEMKey   string `json:"kem_key"`
	DeviceID string `json:"device_id"`
	// Participant is the id of one stay in a call (the key messages' ids);
	// SenderTag and KIDs are of that stay. Rejoin is another stay of the
	// device: another tag, so epochs afresh.
	Participant string  `json:"participant"`
	SenderTag   uint32  `json:"sender_tag"`
	KIDs        []tvKID `json:"kids"`
	Rejoin      struct {
		Participant string `json:"participant"`
		SenderTag   uint32 `json:"sender_tag"`
	} `json:"rejoin"`
}

type tvKID struct {
	Epoch uint16 `json:"epoch"`
	KID   uint64 `json:"kid"`
}

type tvOutcome struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

type tvRequest struct {
	Label   string       `json:"label"`
	Device  int          `json:"device"`
	Inputs  *tvReqInputs `json:"inputs,omitempty"` // present when the JS must make the same request
	Request trust.Signed `json:"request"`
	Body    string       `json:"body_text"` // the body decoded, for readers
	Expect  tvOutcome    `json:"expect"`
}

type tvReqInputs struct {
	Side    string   `json:"side"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Created int64    `json:"created"`
}

type tvCredential struct {
	Label      string       `json:"label"`
	Credential trust.Signed `json:"credential"`
	Now        int64        `json:"now"`
	Expect     tvCredExpect `json:"expect"`
}

type tvCredExpect struct {
	OK        bool     `json:"ok"`
	Reason    string   `json:"reason,omitempty"`
	Side      string   `json:"side,omitempty"`
	Name      string   `json:"name,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	SigKey    string   `json:"sig_key,omitempty"`
	Authority string   `json:"authority,omitempty"`
	Issued    int64    `json:"issued,omitempty"`
	Expires   int64    `json:"expires,omitempty"`
	DeviceID  string   `json:"device_id,omitempty"`
}

type tvJoin struct {
	Label  string `json:"label"`
	Device int    `json:"device"`
	Nonce  string `json:"nonce"`
	Server string `json:"server"`
	Line   string `json:"line"`
	Call   string `json:"call"`
	Proof  string `json:"proof"`
	Valid  bool   `json:"valid"`
}

type tvKeyMsg struct {
	Label   string    `json:"label"`
	From    int       `json:"from"`
	To      int       `json:"to"`
	KID     uint64    `json:"kid"`
	Line    string    `json:"line"`
	Call    string    `json:"call"`
	FromID  string    `json:"from_id"` // participant ids the message travels between
	ToID    string    `json:"to_id"`
	Sealed  string    `json:"sealed"`
	Sig     string    `json:"sig"`
	Expect  tvOutcome `json:"expect"`
	BaseKey string    `json:"base_key,omitempty"` // when expect.ok
}

type tvCode struct {
	Label   string         `json:"label"`
	Line    string         `json:"line"`
	Call    string         `json:"call"`
	Members []tvCodeMember `json:"members"`
	Code    string         `json:"code"`
}

type tvCodeMember struct {
	SigKey  string `json:"sig_key"`
	KID     uint64 `json:"kid"`
	BaseKey string `json:"base_key"`
}

type tvB64 struct {
	S  string `json:"s"`
	OK bool   `json:"ok"`
}

type tvName struct {
	Kind string `json:"kind"` // "side" or "display"
	S    string `json:"s"`
	OK   bool   `json:"ok"`
}

// credReason is the wire name of a verification outcome, the same in the
// browser (static/e2ee/trust.js).
func credReason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{trust.ErrMalformed, "malformed"},
		{trust.ErrUnknownAuthority, "unknown_authority"},
		{trust.ErrSideMismatch, "side_mismatch"},
		{trust.ErrBadSignature, "bad_signature"},
		{trust.ErrNotYetValid, "not_yet_valid"},
		{trust.ErrExpired, "expired"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "error: " + err.Error()
}

// keyReason is the wire name of OpenKey's outcome (static/e2ee/keymsg.js).
func keyReason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{e2ee.ErrKeyMalformed, "malformed"},
		{e2ee.ErrKeyWrongSender, "wrong_sender"},
		{e2ee.ErrKeySignature, "bad_signature"},
		{e2ee.ErrKeyOpen, "open_failed"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "error: " + err.Error()
}

// vecSeed is a fixed 32-byte seed named by a label.
func vecSeed(label string) []byte {
	h := sha256.Sum256([]byte("hotline test vector: " + label))
	return h[:]
}

const vecT = 1_795_000_000 // the vectors' "now", Unix seconds

type vecWorld struct {
	t           *testing.T
	authSeeds   [][]byte
	authorities []*trust.Authority // east, west, foreign east
	devices     []*trust.Device    // alice (east), bob (west), carol (east)
	ids         []*trust.Identity
	pins        []trust.Pin
}

func newVecWorld(t *testing.T) *vecWorld {
	w := &vecWorld{t: t}
	for _, a := range []struct{ label, side string }{{"east", "east"}, {"west", "west"}, {"foreign", "east"}} {
		s := vecSeed("authority " + a.label)
		auth, err := trust.AuthorityFromSeed(a.side, s)
		if err != nil {
			t.Fatal(err)
		}
		w.authSeeds = append(w.authSeeds, s)
		w.authorities = append(w.authorities, auth)
	}
	w.pins = []trust.Pin{w.authorities[0].Pin(), w.authorities[1].Pin()}
	for _, label := range []string{"alice", "bob", "carol"} {
		d, err := trust.DeviceFromSeeds(vecSeed("device "+label+" sig"), vecSeed("device "+label+" kem"))
		if err != nil {
			t.Fatal(err)
		}
		w.devices = append(w.devices, d)
	}
	return w
}

// signRaw signs arbitrary body bytes with a seed's key under label, the
// way a broken or hostile signer could.
func signRaw(seed []byte, label string, body []byte) trust.Signed {
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), append([]byte(label), body...))
	return trust.Signed{Body: trust.B64(body), Sig: trust.B64(sig)}
}

func decoded(s string) []byte {
	b, err := trust.DecodeB64(s)
	if err != nil {
		panic(err)
	}
	return b
}

func (w *vecWorld) request(d int, side, name string, roles []role.Role, created int64) trust.Request {
	req, err := w.devices[d].Request(side, name, roles, time.Unix(created, 0))
	if err != nil {
		w.t.Fatal(err)
	}
	return req
}

func (w *vecWorld) sign(a int, req trust.Request, issued, expires int64) trust.Credential {
	c, err := w.authorities[a].Sign(req, time.Unix(issued, 0), time.Unix(expires, 0))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func buildTrustVectors(t *testing.T) *tvFile {
	w := newVecWorld(t)
	f := &tvFile{Note: "Shared vectors of hotline's trust layer (docs/PROTOCOL.md, \"Trust and key protocol\"). " +
		"Generated by `go test ./internal/e2ee/ -run TestTrustVectors -update`; checked by that test without -update and by test/browser/trust_test.go. " +
		"Binary values are b64u; seeds are SHA-256(\"hotline test vector: \" + label). Times are Unix seconds."}
	for _, p := range w.pins {
		f.Pins = append(f.Pins, tvPin{Side: p.Side, Key: trust.B64(p.Key)})
	}
	for i, a := range w.authorities {
		f.Authorities = append(f.Authorities, tvAuthority{
			Label: []string{"east", "west", "foreign east (not pinned)"}[i], Side: a.Side,
			Seed: trust.B64(w.authSeeds[i]), PublicKey: trust.B64(a.Public), Fingerprint: a.Fingerprint(),
		})
	}
	pid := []string{"p-alice", "p-bob", "p-carol"}
	for i, d := range w.devices {
		label := []string{"alice", "bob", "carol"}[i]
		dv := tvDevice{Label: label, SigSeed: trust.B64(vecSeed("device " + label + " sig")), KEMSeed: trust.B64(vecSeed("device " + label + " kem")),
			SigKey: trust.B64(d.SigPublic()), KEMKey: trust.B64(d.KEMPublic()), DeviceID: d.ID(),
			Participant: pid[i], SenderTag: trust.SenderTag(d.SigPublic(), pid[i])}
		for _, e := range []uint16{0, 1, 0x1234, 0xffff} {
			dv.KIDs = append(dv.KIDs, tvKID{Epoch: e, KID: trust.KID(d.SigPublic(), pid[i], e)})
		}
		dv.Rejoin.Participant = "3f9c2a1b7d4e5f6" + string(rune('0'+i))
		dv.Rejoin.SenderTag = trust.SenderTag(d.SigPublic(), dv.Rejoin.Participant)
		if dv.Rejoin.SenderTag == dv.SenderTag {
			t.Fatalf("%s: a rejoin kept the sender tag", label)
		}
		f.Devices = append(f.Devices, dv)
	}

	// Requests.
	aliceReq := w.request(0, "east", "Alice", []role.Role{role.Principal}, vecT)
	bobReq := w.request(1, "west", "Zoë Ångström-李", []role.Role{role.Adviser, role.Interpreter}, vecT-60)
	carolReq := w.request(2, "east", "Carol", []role.Role{role.Operator, role.Monitor}, vecT)
	aliceBody := decoded(aliceReq.Body)
	reordered := bytes.Replace(aliceBody, []byte(`{"v":1,"side":"east",`), []byte(`{"side":"east","v":1,`), 1)
	reqs := []struct {
		label  string
		dev    int
		in     *tvReqInputs
		req    trust.Request
		expect tvOutcome
	}{
		{"alice", 0, &tvReqInputs{"east", "Alice", []string{"principal"}, vecT}, aliceReq, tvOutcome{OK: true}},
		{"bob: non-ASCII name, two roles", 1, &tvReqInputs{"west", "Zoë Ångström-李", []string{"adviser", "interpreter"}, vecT - 60}, bobReq, tvOutcome{OK: true}},
		{"carol", 2, &tvReqInputs{"east", "Carol", []string{"operator", "monitor"}, vecT}, carolReq, tvOutcome{OK: true}},
		{"signed by another key than sig_key", 0, nil, trust.Request(signRaw(vecSeed("device bob sig"), "hotline-enrolment-v1\x00", aliceBody)), tvOutcome{Reason: "bad_signature"}},
		{"signed with the credential label", 0, nil, trust.Request(signRaw(vecSeed("device alice sig"), "hotline-credential-v1\x00", aliceBody)), tvOutcome{Reason: "bad_signature"}},
		{"keys out of order", 0, nil, trust.Request(signRaw(vecSeed("device alice sig"), "hotline-enrolment-v1\x00", reordered)), tvOutcome{Reason: "malformed"}},
	}
	for _, r := range reqs {
		f.Requests = append(f.Requests, tvRequest{Label: r.label, Device: r.dev, Inputs: r.in, Request: trust.Signed(r.req),
			Body: string(decoded(r.req.Body)), Expect: r.expect})
	}

	// Credentials.
	day := int64(24 * 3600)
	aliceCred := w.sign(0, aliceReq, vecT, vecT+30*day)
	bobCred := w.sign(1, bobReq, vecT-60, vecT+7*day)
	carolCred := w.sign(0, carolReq, vecT, vecT+30*day)
	body := func(authority int, side, name string, roles []string, d int, issued, expires int64) []byte {
		var b strings.Builder
		rs, _ := json.Marshal(roles)
		b.WriteString(`{"v":1,"authority":"` + trust.B64(w.authorities[authority].Public) + `","side":"` + side + `","name":` + jsonString(name) +
			`,"roles":` + string(rs) + `,"sig_key":"` + trust.B64(w.devices[d].SigPublic()) + `","kem_key":"` + trust.B64(w.devices[d].KEMPublic()) +
			`","issued":` + itoa(int(issued)) + `,"expires":` + itoa(int(expires)) + `}`)
		return []byte(b.String())
	}
	east, west := vecSeed("authority east"), vecSeed("authority west")
	const credLabel = "hotline-credential-v1\x00"
	aliceCredBody := decoded(aliceCred.Body)
	if !bytes.Equal(aliceCredBody, body(0, "east", "Alice", []string{"principal"}, 0, vecT, vecT+30*day)) {
		t.Fatal("hand-made body differs from Sign's")
	}
	flippedSig := decoded(aliceCred.Sig)
	flippedSig[10] ^= 0x40
	shortKEM := bytes.Replace(aliceCredBody, []byte(trust.B64(w.devices[0].KEMPublic())), []byte(trust.B64(w.devices[0].KEMPublic()[:1215])), 1)
	creds := []struct {
		label string
		c     trust.Signed
		now   int64
	}{
		{"alice: valid", trust.Signed(aliceCred), vecT + 3600},
		{"bob: valid, west, non-ASCII name", trust.Signed(bobCred), vecT},
		{"carol: valid", trust.Signed(carolCred), vecT + 29*day},
		{"issued exactly 5 minutes ahead", trust.Signed(w.sign(0, aliceReq, vecT+300, vecT+day)), vecT},
		{"issued 5 minutes and 1 second ahead", trust.Signed(w.sign(0, aliceReq, vecT+301, vecT+day)), vecT},
		{"expired: now = expires", trust.Signed(aliceCred), vecT + 30*day},
		{"valid: now = expires - 1", trust.Signed(aliceCred), vecT + 30*day - 1},
		{"expired long ago", trust.Signed(bobCred), vecT + 365*day},
		{"signed by a foreign authority", trust.Signed(w.sign(2, aliceReq, vecT, vecT+day)), vecT},
		{"west key signs an east credential", signRaw(west, credLabel, body(1, "east", "Alice", []string{"principal"}, 0, vecT, vecT+day)), vecT},
		{"tampered body (name)", trust.Signed{Body: trust.B64(bytes.Replace(aliceCredBody, []byte(`"Alice"`), []byte(`"Alina"`), 1)), Sig: aliceCred.Sig}, vecT},
		{"tampered body (roles)", trust.Signed{Body: trust.B64(bytes.Replace(aliceCredBody, []byte(`["principal"]`), []byte(`["monitor"]`), 1)), Sig: aliceCred.Sig}, vecT},
		{"flipped signature bit", trust.Signed{Body: aliceCred.Body, Sig: trust.B64(flippedSig)}, vecT},
		{"signed by the device, not the authority", signRaw(vecSeed("device alice sig"), credLabel, aliceCredBody), vecT},
		{"signed with the enrolment label", signRaw(east, "hotline-enrolment-v1\x00", aliceCredBody), vecT},
		{"non-canonical: a space", signRaw(east, credLabel, bytes.Replace(aliceCredBody, []byte(`"v":1,`), []byte(`"v": 1,`), 1)), vecT},
		{"non-canonical: escaped letter", signRaw(east, credLabel, bytes.Replace(aliceCredBody, []byte(`"Alice"`), []byte(`"\u0041lice"`), 1)), vecT},
		{"U+2028 in the name", signRaw(east, credLabel, body(0, "east", "Al\u2028ice", []string{"principal"}, 0, vecT, vecT+day)), vecT},
		{"unknown role", signRaw(east, credLabel, body(0, "east", "Alice", []string{"boss"}, 0, vecT, vecT+day)), vecT},
		{"repeated role", signRaw(east, credLabel, body(0, "east", "Alice", []string{"press", "press"}, 0, vecT, vecT+day)), vecT},
		{"name with a trailing space", signRaw(east, credLabel, body(0, "east", "Alice ", []string{"principal"}, 0, vecT, vecT+day)), vecT},
		{"expires before issued", signRaw(east, credLabel, body(0, "east", "Alice", []string{"principal"}, 0, vecT+day, vecT)), vecT},
		{"lifetime exactly 400 days", signRaw(east, credLabel, body(0, "east", "Alice", []string{"principal"}, 0, vecT, vecT+400*day)), vecT},
		{"lifetime 400 days and a second", signRaw(east, credLabel, body(0, "east", "Alice", []string{"principal"}, 0, vecT, vecT+400*day+1)), vecT},
		{"kem_key one byte short", signRaw(east, credLabel, shortKEM), vecT},
		{"version 2", signRaw(east, credLabel, bytes.Replace(aliceCredBody, []byte(`"v":1`), []byte(`"v":2`), 1)), vecT},
		{"a request is not a credential", trust.Signed(aliceReq), vecT},
		{"padded base64url", trust.Signed{Body: aliceCred.Body + "=", Sig: aliceCred.Sig}, vecT},
	}
	for _, c := range creds {
		tc := tvCredential{Label: c.label, Credential: c.c, Now: c.now}
		id, err := trust.VerifyCredential(trust.Credential(c.c), w.pins, time.Unix(c.now, 0))
		if err != nil {
			tc.Expect = tvCredExpect{Reason: credReason(err)}
		} else {
			roles := make([]string, len(id.Roles))
			for i, r := range id.Roles {
				roles[i] = string(r)
			}
			tc.Expect = tvCredExpect{OK: true, Side: id.Side, Name: id.Name, Roles: roles, SigKey: trust.B64(id.SigKey),
				Authority: trust.B64(id.Authority), Issued: id.Issued.Unix(), Expires: id.Expires.Unix(), DeviceID: id.DeviceID}
		}
		f.Credentials = append(f.Credentials, tc)
	}

	// Identities for the key messages.
	for i, c := range []trust.Credential{aliceCred, bobCred, carolCred} {
		id, err := trust.VerifyCredential(c, w.pins, time.Unix(vecT, 0))
		if err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
		w.ids = append(w.ids, id)
	}

	// Join proofs.
	n1, n2 := vecSeed("nonce 1"), vecSeed("nonce 2")
	const srv1, srv2 = "hotline.example.org", "[::1]:8443"
	p1 := trust.JoinProof(w.devices[0].SigPrivate(), n1, srv1, "demo", "x")
	p2 := trust.JoinProof(w.devices[1].SigPrivate(), n2, srv2, "line-2", "Call.b_c")
	f.JoinProofs = []tvJoin{
		{"alice", 0, trust.B64(n1), srv1, "demo", "x", trust.B64(p1), true},
		{"bob", 1, trust.B64(n2), srv2, "line-2", "Call.b_c", trust.B64(p2), true},
		{"alice's proof for another call", 0, trust.B64(n1), srv1, "demo", "y", trust.B64(p1), false},
		{"alice's proof with another nonce", 0, trust.B64(n2), srv1, "demo", "x", trust.B64(p1), false},
		{"alice's proof, names re-split", 0, trust.B64(n1), srv1, "dem", "ox", trust.B64(p1), false},
		{"alice's proof checked with bob's key", 1, trust.B64(n1), srv1, "demo", "x", trust.B64(p1), false},
		{"alice's proof presented to another server", 0, trust.B64(n1), "relay.example.org", "demo", "x", trust.B64(p1), false},
		{"alice's proof presented on another port", 0, trust.B64(n1), srv1 + ":8443", "demo", "x", trust.B64(p1), false},
		{"alice's proof, server and line re-split", 0, trust.B64(n1), srv1 + "d", "emo", "x", trust.B64(p1), false},
	}
	for _, j := range f.JoinProofs {
		err := trust.VerifyJoinProof(w.devices[j.Device].SigPublic(), decoded(j.Nonce), j.Server, j.Line, j.Call, decoded(j.Proof))
		if (err == nil) != j.Valid {
			t.Fatalf("join proof %q: %v", j.Label, err)
		}
	}

	// Key messages, sealed now (randomised), between the participant ids
	// of the devices' stays (pid, above).
	base1, base2, base3 := vecSeed("base key 1")[:16], vecSeed("base key 2")[:16], vecSeed("base key 3")[:16]
	seal := func(from, to int, epoch uint16, line, call string, key []byte) (uint64, []byte, []byte) {
		kid := trust.KID(w.ids[from].SigKey, pid[from], epoch)
		sealed, sig, err := e2ee.SealKey(w.devices[from].SigPrivate(), w.ids[from].SigKey, w.ids[to], kid, line, call, pid[from], pid[to], key)
		if err != nil {
			t.Fatal(err)
		}
		return kid, sealed, sig
	}
	resign := func(from, to int, kid uint64, sealed []byte) []byte {
		m := append([]byte("hotline-key-v2\x00"), w.ids[to].SigKey...)
		m = append(m, byte(kid>>56), byte(kid>>48), byte(kid>>40), byte(kid>>32), byte(kid>>24), byte(kid>>16), byte(kid>>8), byte(kid))
		m, _ = trust.AppendStr16(m, pid[from])
		m, _ = trust.AppendStr16(m, pid[to])
		return ed25519.Sign(w.devices[from].SigPrivate(), append(m, sealed...))
	}
	k1, s1, g1 := seal(0, 1, 0, "demo", "x", base1)
	k2, s2, g2 := seal(0, 1, 0xffff, "line-2", "Call.b_c", base2)
	k3, s3, g3 := seal(1, 0, 7, "demo", "x", base3)
	k4, s4, g4 := seal(2, 1, 1, "demo", "x", base1)
	badSig := bytes.Clone(g1)
	badSig[63] ^= 1
	tampered := bytes.Clone(s1)
	tampered[1130] ^= 0x80
	tamperedEnc := bytes.Clone(s1)
	tamperedEnc[100] ^= 0x01
	kms := []tvKeyMsg{
		{Label: "alice → bob, epoch 0", From: 0, To: 1, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
		{Label: "alice → bob, epoch 65535, other line and call", From: 0, To: 1, KID: k2, Line: "line-2", Call: "Call.b_c", Sealed: trust.B64(s2), Sig: trust.B64(g2)},
		{Label: "bob → alice, epoch 7", From: 1, To: 0, KID: k3, Line: "demo", Call: "x", Sealed: trust.B64(s3), Sig: trust.B64(g3)},
		{Label: "carol → bob, epoch 1", From: 2, To: 1, KID: k4, Line: "demo", Call: "x", Sealed: trust.B64(s4), Sig: trust.B64(g4)},
		{Label: "flipped signature bit", From: 0, To: 1, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(badSig)},
		{Label: "another epoch than signed", From: 0, To: 1, KID: k1 + 1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
		{Label: "kid with carol's tag, from alice", From: 0, To: 1, KID: trust.KID(w.ids[2].SigKey, pid[2], 0), Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
		{Label: "alice's message claimed as carol's", From: 2, To: 1, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
		{Label: "tampered ciphertext, re-signed", From: 0, To: 1, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(tampered), Sig: trust.B64(resign(0, 1, k1, tampered))},
		{Label: "tampered enc, re-signed", From: 0, To: 1, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(tamperedEnc), Sig: trust.B64(resign(0, 1, k1, tamperedEnc))},
		{Label: "for bob, re-signed for carol", From: 0, To: 2, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(resign(0, 2, k1, s1))},
		{Label: "opened for another call", From: 0, To: 1, KID: k1, Line: "demo", Call: "y", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
		{Label: "sealed one byte short", From: 0, To: 1, KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1[:1151]), Sig: trust.B64(g1)},
		{Label: "replayed after alice rejoined (another sender id)", From: 0, To: 1, FromID: "p-alice-2", KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
		{Label: "replayed to bob's next stay (another recipient id)", From: 0, To: 1, ToID: "p-bob-2", KID: k1, Line: "demo", Call: "x", Sealed: trust.B64(s1), Sig: trust.B64(g1)},
	}
	for i := range kms {
		if kms[i].FromID == "" {
			kms[i].FromID = pid[kms[i].From]
		}
		if kms[i].ToID == "" {
			kms[i].ToID = pid[kms[i].To]
		}
	}
	fillKeyExpectations(t, w, kms)
	f.KeyMessages = kms

	// Verification codes.
	members := []tvCodeMember{
		{trust.B64(w.ids[1].SigKey), k3, trust.B64(base3)},
		{trust.B64(w.ids[0].SigKey), k1, trust.B64(base1)},
		{trust.B64(w.ids[2].SigKey), k4, trust.B64(base1)},
	}
	for _, c := range []tvCode{
		{Label: "alice alone", Line: "demo", Call: "x", Members: members[1:2]},
		{Label: "alice and bob", Line: "demo", Call: "x", Members: members[:2]},
		{Label: "three members, unsorted", Line: "demo", Call: "x", Members: members},
		{Label: "three members, another call", Line: "demo", Call: "x2", Members: members},
		{Label: "alice and bob, bob's next epoch", Line: "demo", Call: "x", Members: []tvCodeMember{members[1], {members[0].SigKey, k3 + 1, trust.B64(base2)}}},
	} {
		var ms []e2ee.CodeMember
		for _, m := range c.Members {
			ms = append(ms, e2ee.CodeMember{SigKey: decoded(m.SigKey), KID: m.KID, BaseKey: decoded(m.BaseKey)})
		}
		c.Code = e2ee.VerificationCode(c.Line, c.Call, ms)
		f.Codes = append(f.Codes, c)
	}

	// Strict base64url and names, so both implementations refuse the same.
	for _, s := range []string{"", "AA", "AAA", "AAAA", "-_8", "_w", "_x", "AB", "A", "AA==", "AA=", "+/8", "-_\n8", " AA", "A A", "AAAAA"} {
		_, err := trust.DecodeB64(s)
		f.B64 = append(f.B64, tvB64{S: s, OK: err == nil})
	}
	for _, s := range []string{"east", "a", "side-2", strings.Repeat("z", 32), "", "East", "east side", "ost_", strings.Repeat("z", 33), "é", "a.b"} {
		f.Names = append(f.Names, tvName{Kind: "side", S: s, OK: trust.ValidSide(s) == nil})
	}
	for _, s := range []string{"Alice", "A", "Zoë Ångström-李", "🙂 x", strings.Repeat("x", 64), strings.Repeat("é", 64), strings.Repeat("🙂", 64),
		"", " Alice", "Alice ", "a\tb", "a\nb", "a\u00a0b", "a\u2028b", "a\u200bb", "a\x7fb", "a\u00adb", strings.Repeat("x", 65), strings.Repeat("🙂", 65), "a  b"} {
		f.Names = append(f.Names, tvName{Kind: "display", S: s, OK: trust.ValidDisplayName(s) == nil})
	}
	return f
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// fillKeyExpectations opens each key message with OpenKey and records the
// outcome; the labels say what each should be, and this checks it.
func fillKeyExpectations(t *testing.T, w *vecWorld, kms []tvKeyMsg) {
	want := map[string]string{
		"flipped signature bit":                              "bad_signature",
		"replayed after alice rejoined (another sender id)":  "wrong_sender", // her next stay's KIDs carry another tag
		"replayed to bob's next stay (another recipient id)": "bad_signature",
		"another epoch than signed":                          "bad_signature",
		"kid with carol's tag, from alice":                   "wrong_sender",
		"alice's message claimed as carol's":                 "wrong_sender",
		"tampered ciphertext, re-signed":                     "open_failed",
		"tampered enc, re-signed":                            "open_failed",
		"for bob, re-signed for carol":                       "open_failed",
		"opened for another call":                            "open_failed",
		"sealed one byte short":                              "malformed",
	}
	for i := range kms {
		k := &kms[i]
		key, err := e2ee.OpenKey(w.devices[k.To], w.ids[k.From], k.KID, k.Line, k.Call, k.FromID, k.ToID, decoded(k.Sealed), decoded(k.Sig))
		k.Expect, k.BaseKey = tvOutcome{OK: err == nil}, ""
		if err != nil {
			k.Expect.Reason = keyReason(err)
		} else {
			k.BaseKey = trust.B64(key)
		}
		if k.Expect.Reason != want[k.Label] {
			t.Errorf("key message %q: %q, want %q", k.Label, k.Expect.Reason, want[k.Label])
		}
	}
}

func encodeVectors(t *testing.T, f *tvFile) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTrustVectors(t *testing.T) {
	gen := buildTrustVectors(t)
	if *updateVectors {
		if err := os.WriteFile(trustVectorsPath, encodeVectors(t, gen), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", trustVectorsPath)
		return
	}
	data, err := os.ReadFile(trustVectorsPath)
	if err != nil {
		t.Fatalf("%v (make it with -update)", err)
	}
	var file tvFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	if len(file.KeyMessages) != len(gen.KeyMessages) {
		t.Fatalf("%d key messages in the file, %d made", len(file.KeyMessages), len(gen.KeyMessages))
	}
	// The file's own key messages must give the outcomes recorded with
	// them; with those in place, the whole file must be what we make.
	w := newVecWorld(t)
	for _, c := range []int{0, 1, 2} {
		id, err := trust.VerifyCredential(trust.Credential(file.Credentials[c].Credential), w.pins, time.Unix(vecT, 0))
		if err != nil {
			t.Fatal(err)
		}
		w.ids = append(w.ids, id)
	}
	opened := append([]tvKeyMsg(nil), file.KeyMessages...)
	fillKeyExpectations(t, w, opened)
	for i := range opened {
		if opened[i].Expect != file.KeyMessages[i].Expect || opened[i].BaseKey != file.KeyMessages[i].BaseKey {
			t.Errorf("key message %q: OpenKey gives %+v %q, the file says %+v %q", opened[i].Label,
				opened[i].Expect, opened[i].BaseKey, file.KeyMessages[i].Expect, file.KeyMessages[i].BaseKey)
		}
		gen.KeyMessages[i].Sealed, gen.KeyMessages[i].Sig = file.KeyMessages[i].Sealed, file.KeyMessages[i].Sig
	}
	if got := encodeVectors(t, gen); !bytes.Equal(got, data) {
		t.Fatalf("%s is not what the code makes; if the change is intended, run with -update", trustVectorsPath)
	}
}
