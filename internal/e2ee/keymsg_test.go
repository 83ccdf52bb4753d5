package e2ee_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/role"
	"hotline/internal/trust"
)

var kmT0 = time.Unix(1_795_000_000, 0)

// kmParty is an enrolled device of side east and its verified identity;
// b picks its fixed seeds.
func kmParty(t testing.TB, b byte) (*trust.Device, *trust.Identity) {
	t.Helper()
	east, err := trust.AuthorityFromSeed("east", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d, err := trust.DeviceFromSeeds(bytes.Repeat([]byte{b}, 32), bytes.Repeat([]byte{b + 1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	req, err := d.Request("east", "member", []role.Role{role.Principal}, kmT0)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := east.Sign(req, kmT0, kmT0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.Credential, d.Pins = &cred, []trust.Pin{east.Pin()}
	id, err := d.Identity(kmT0)
	if err != nil {
		t.Fatal(err)
	}
	return d, id
}

var kmBaseKey = []byte("0123456789abcdef")

func TestKeyMsgRoundTrip(t *testing.T) {
	a, aID := kmParty(t, 10)
	b, bID := kmParty(t, 20)
	kid := trust.KID(aID.SigKey, "a", 3)
	sealed, sig, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, kid, "demo", "x", "a", "b", kmBaseKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 1152 || len(sig) != 64 {
		t.Fatalf("sealed %d bytes, sig %d", len(sealed), len(sig))
	}
	key, err := e2ee.OpenKey(b, aID, kid, "demo", "x", "a", "b", sealed, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, kmBaseKey) {
		t.Fatalf("opened %x", key)
	}
	// Sealing is randomised (a fresh X-Wing encapsulation each time).
	again, _, _ := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, kid, "demo", "x", "a", "b", kmBaseKey)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same key are equal")
	}
}

// The wire format is the spec's, byte for byte: open with crypto/hpke and
// check the signature over bytes assembled here from docs/PROTOCOL.md.
func TestKeyMsgSpecBytes(t *testing.T) {
	a, aID := kmParty(t, 10)
	b, bID := kmParty(t, 20)
	kid := trust.KID(aID.SigKey, "a", 7)
	sealed, sig, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, kid, "demo", "call-1", "a", "b", kmBaseKey)
	if err != nil {
		t.Fatal(err)
	}
	info := []byte("hotline-sframe-key-v1\x00")
	info = append(info, aID.SigKey...)
	info = append(info, bID.SigKey...)
	info = binary.BigEndian.AppendUint64(info, kid)
	info = append(info, 0, 4, 'd', 'e', 'm', 'o', 0, 6, 'c', 'a', 'l', 'l', '-', '1')
	// base mode, X-Wing, HKDF-SHA256, AES-128-GCM, empty aad
	pt, err := hpke.Open(b.KEMPrivate(), hpke.HKDFSHA256(), hpke.AES128GCM(), info, sealed)
	if err != nil || !bytes.Equal(pt, kmBaseKey) {
		t.Fatalf("hpke.Open with the spec's info: %x %v", pt, err)
	}
	signed := []byte("hotline-key-v2\x00")
	signed = append(signed, bID.SigKey...)
	signed = binary.BigEndian.AppendUint64(signed, kid)
	signed = append(signed, 0, 1, 'a', 0, 1, 'b') // str16(sender id), str16(recipient id)
	signed = append(signed, sealed...)
	if !ed25519.Verify(aID.SigKey, signed, sig) {
		t.Fatal("signature is not over the spec's bytes")
	}
}

func TestKeyMsgRefused(t *testing.T) {
	a, aID := kmParty(t, 10)
	b, bID := kmParty(t, 20)
	c, cID := kmParty(t, 30)
	kid := trust.KID(aID.SigKey, "a", 3)
	sealed, sig, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, kid, "demo", "x", "a", "b", kmBaseKey)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 1
		return b
	}
	// resign signs altered sealed bytes as the real sender would, so that
	// only HPKE can notice.
	resign := func(s []byte, to *trust.Identity, kid uint64) []byte {
		m := []byte("hotline-key-v2\x00")
		m = append(m, to.SigKey...)
		m = binary.BigEndian.AppendUint64(m, kid)
		m = append(m, 0, 1, 'a', 0, 1, 'b')
		return ed25519.Sign(a.SigPrivate(), append(m, s...))
	}
	tamperedEnc, tamperedCT := flip(sealed, 5), flip(sealed, 1140)
	cases := []struct {
		name        string
		me          *trust.Device
		from        *trust.Identity
		kid         uint64
		line, call  string
		sealed, sig []byte
		want        error
	}{
		{"flipped signature", b, aID, kid, "demo", "x", sealed, flip(sig, 0), e2ee.ErrKeySignature},
		{"other epoch", b, aID, kid + 1, "demo", "x", sealed, sig, e2ee.ErrKeySignature},
		{"kid of another sender", b, aID, trust.KID(cID.SigKey, "a", 3), "demo", "x", sealed, sig, e2ee.ErrKeyWrongSender},
		{"claimed by another sender", b, cID, kid, "demo", "x", sealed, sig, e2ee.ErrKeyWrongSender},
		// The sender tag hashes the participant id: a KID of the sender's
		// earlier stay (another id) names another sender.
		{"kid of another stay of the sender", b, aID, trust.KID(aID.SigKey, "a-before", 3), "demo", "x", sealed, sig, e2ee.ErrKeyWrongSender},
		{"sent to someone else", c, aID, kid, "demo", "x", sealed, sig, e2ee.ErrKeySignature},
		{"someone else, re-signed", c, aID, kid, "demo", "x", sealed, resign(sealed, cID, kid), e2ee.ErrKeyOpen},
		{"tampered enc", b, aID, kid, "demo", "x", tamperedEnc, resign(tamperedEnc, bID, kid), e2ee.ErrKeyOpen},
		{"tampered ciphertext", b, aID, kid, "demo", "x", tamperedCT, resign(tamperedCT, bID, kid), e2ee.ErrKeyOpen},
		{"other line", b, aID, kid, "demo2", "x", sealed, sig, e2ee.ErrKeyOpen},
		{"other call", b, aID, kid, "demo", "y", sealed, sig, e2ee.ErrKeyOpen},
		{"short sealed", b, aID, kid, "demo", "x", sealed[:1151], sig, e2ee.ErrKeyMalformed},
		{"short sig", b, aID, kid, "demo", "x", sealed, sig[:63], e2ee.ErrKeyMalformed},
		{"kid above 2^48", b, aID, kid | 1<<48, "demo", "x", sealed, sig, e2ee.ErrKeyMalformed},
	}
	// A replay after a rejoin: the same bytes relayed as from the sender's
	// next stay in the call (another participant id: its KIDs carry
	// another sender tag), or to the recipient's (the signature binds both
	// ids).
	for name, c := range map[string]struct {
		ids  [2]string
		want error
	}{"from the sender's next stay": {[2]string{"a2", "b"}, e2ee.ErrKeyWrongSender}, "to the recipient's next stay": {[2]string{"a", "b2"}, e2ee.ErrKeySignature}} {
		if _, err := e2ee.OpenKey(b, aID, kid, "demo", "x", c.ids[0], c.ids[1], sealed, sig); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	for _, tc := range cases {
		key, err := e2ee.OpenKey(tc.me, tc.from, tc.kid, tc.line, tc.call, "a", "b", tc.sealed, tc.sig)
		if !errors.Is(err, tc.want) || key != nil {
			t.Errorf("%s: %x %v, want %v", tc.name, key, err, tc.want)
		}
	}

	// SealKey refuses what no honest sender does.
	if _, _, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, kid, "demo", "x", "a", "b", kmBaseKey[:15]); !errors.Is(err, e2ee.ErrKeyMalformed) {
		t.Errorf("short base key: %v", err)
	}
	if _, _, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, trust.KID(bID.SigKey, "b", 0), "demo", "x", "a", "b", kmBaseKey); !errors.Is(err, e2ee.ErrKeyWrongSender) {
		t.Errorf("another sender's kid: %v", err)
	}
	if _, _, err := e2ee.SealKey(c.SigPrivate(), aID.SigKey, bID, kid, "demo", "x", "a", "b", kmBaseKey); !errors.Is(err, e2ee.ErrKeyMalformed) {
		t.Errorf("mismatched private key: %v", err)
	}
	bad := *bID
	bad.KEMKey = bytes.Repeat([]byte{0xff}, trust.KEMKeySize) // not a valid ML-KEM key
	if _, _, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, &bad, kid, "demo", "x", "a", "b", kmBaseKey); !errors.Is(err, e2ee.ErrKeyMalformed) {
		t.Errorf("invalid kem_key: %v", err)
	}
}

// BenchmarkKeyDelivery10: one sender seals and signs its key for 10
// members, and each member checks and opens its message: what a rekey
// costs the call. delivery-ns is the cost of one delivery (seal + sign +
// verify + open).
func BenchmarkKeyDelivery10(b *testing.B) {
	const n = 10
	sender, sID := kmParty(b, 100)
	devs := make([]*trust.Device, n)
	ids := make([]*trust.Identity, n)
	for i := range devs {
		devs[i], ids[i] = kmParty(b, byte(110+2*i))
	}
	kid := trust.KID(sID.SigKey, "a", 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range devs {
			sealed, sig, err := e2ee.SealKey(sender.SigPrivate(), sID.SigKey, ids[i], kid, "demo", "x", "a", "b", kmBaseKey)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e2ee.OpenKey(devs[i], sID, kid, "demo", "x", "a", "b", sealed, sig); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "delivery-ns")
}

// FuzzOpenKey: OpenKey takes kid, sealed and sig from the network. It must
// never panic, and since nobody but the sender can sign, whatever it accepts
// is a message the sender made: for this kid, line and call, holding its
// base key. (Fuzz workers are separate processes, each sealing its own
// copy, so the check cannot compare with one particular seal.)
//
//	go test -run XXX -fuzz FuzzOpenKey -fuzztime 30s -fuzzminimizetime 1s ./internal/e2ee/
func FuzzOpenKey(f *testing.F) {
	a, aID := kmParty(f, 10)
	b, bID := kmParty(f, 20)
	kid := trust.KID(aID.SigKey, "a", 3)
	sealed, sig, err := e2ee.SealKey(a.SigPrivate(), aID.SigKey, bID, kid, "demo", "x", "a", "b", kmBaseKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kid, sealed, sig, "demo", "x")
	f.Add(kid+1, sealed[:100], sig[:10], "", "")
	f.Fuzz(func(t *testing.T, k uint64, s, g []byte, line, call string) {
		key, err := e2ee.OpenKey(b, aID, k, line, call, "a", "b", s, g)
		if err != nil {
			for _, want := range []error{e2ee.ErrKeyMalformed, e2ee.ErrKeyWrongSender, e2ee.ErrKeySignature, e2ee.ErrKeyOpen} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if k != kid || line != "demo" || call != "x" || !bytes.Equal(key, kmBaseKey) {
			t.Fatalf("accepted a message the sender did not make: kid %d line %q call %q key %x", k, line, call, key)
		}
	})
}
