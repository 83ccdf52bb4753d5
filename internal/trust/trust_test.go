package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
)

// seed returns a 32-byte seed filled with b, for fixed test keys.
func seed(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

var t0 = time.Unix(1_795_000_000, 0)

func mustAuthority(t testing.TB, side string, b byte) *Authority {
	t.Helper()
	a, err := AuthorityFromSeed(side, seed(b))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustDevice(t testing.TB, b byte) *Device {
	t.Helper()
	d, err := DeviceFromSeeds(seed(b), seed(b+1))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// enrolled returns a device of side east, its credential valid from t0 for
// 30 days, and the line's pins (east and west).
func enrolled(t testing.TB) (*Device, Credential, []Pin) {
	t.Helper()
	east, west := mustAuthority(t, "east", 1), mustAuthority(t, "west", 2)
	d := mustDevice(t, 10)
	req, err := d.Request("east", "Alice", []role.Role{role.Principal}, t0)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := east.Sign(req, t0, t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return d, cred, []Pin{east.Pin(), west.Pin()}
}

func TestValidSide(t *testing.T) {
	for _, s := range []string{"east", "a", "side-2", strings.Repeat("z", 32)} {
		if err := ValidSide(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "East", "east side", "ost_", strings.Repeat("z", 33), "é", "a.b"} {
		if ValidSide(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestValidDisplayName(t *testing.T) {
	for _, s := range []string{"Alice", "A", "Jean-Luc Picard", "Zoë 🙂", "李雷", strings.Repeat("x", 64), strings.Repeat("é", 64)} {
		if err := ValidDisplayName(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", " Alice", "Alice ", "a\tb", "a\nb", "a\u00a0b", "a\u2028b", "a\x7fb", strings.Repeat("x", 65), "\xff"} {
		if ValidDisplayName(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestB64Strict(t *testing.T) {
	if got := B64([]byte{0xfb, 0xff}); got != "-_8" {
		t.Fatalf("B64 = %q", got)
	}
	if b, err := DecodeB64("-_8"); err != nil || !bytes.Equal(b, []byte{0xfb, 0xff}) {
		t.Fatalf("decode: %x %v", b, err)
	}
	// Padding, the standard alphabet, non-zero trailing bits, line breaks
	// and a length no encoding has are all refused.
	for _, s := range []string{"-_8=", "+/8", "-_9", "-_\n8", "A", "ab cd"} {
		if _, err := DecodeB64(s); !errors.Is(err, ErrBase64) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestIDs(t *testing.T) {
	pub := mustDevice(t, 10).SigPublic()
	h := sha256.Sum256(pub)
	if got, want := DeviceID(pub), hex.EncodeToString(h[:8]); got != want || len(got) != 16 {
		t.Errorf("DeviceID %q, want %q", got, want)
	}
	// The sender tag hashes the device key with the stay's participant id
	// (spelt out here): every join of a device has its own tag, and so its
	// own 65,536 epochs.
	th := sha256.Sum256(append(append([]byte("hotline-sender-tag-v1\x00"), pub...), 0, 5, 'p', '-', 'o', 'n', 'e'))
	tag := binary.BigEndian.Uint32(th[:4])
	if SenderTag(pub, "p-one") != tag {
		t.Errorf("SenderTag %x, want %x", SenderTag(pub, "p-one"), tag)
	}
	if SenderTag(pub, "p-two") == tag || SenderTag(pub, "p-on") == tag {
		t.Error("another stay of the device has its sender tag")
	}
	kid := KID(pub, "p-one", 0xbeef)
	if kid != uint64(tag)<<16|0xbeef || kid > MaxKID {
		t.Errorf("KID %x", kid)
	}
	gotTag, epoch, ok := SplitKID(kid)
	if !ok || gotTag != tag || epoch != 0xbeef {
		t.Errorf("SplitKID: %x %x %v", gotTag, epoch, ok)
	}
	if _, _, ok := SplitKID(MaxKID + 1); ok {
		t.Error("SplitKID accepted a KID above 2^48-1")
	}

	a := mustAuthority(t, "east", 1)
	fh := sha256.Sum256(append([]byte("hotline-authority-v1\x00"), a.Public...))
	want := strings.ToUpper(hex.EncodeToString(fh[:16]))
	fp := Fingerprint(a.Public)
	if strings.ReplaceAll(fp, " ", "") != want || len(strings.Fields(fp)) != 8 || len(fp) != 39 {
		t.Errorf("Fingerprint %q, want the groups of %s", fp, want)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	d := mustDevice(t, 10)
	req, err := d.Request("east", "Zoë", []role.Role{role.Adviser, role.Interpreter}, t0)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := VerifyRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Side != "east" || rb.Name != "Zoë" || len(rb.Roles) != 2 || rb.Roles[1] != role.Interpreter ||
		!rb.SigKey.Equal(d.SigPublic()) || !bytes.Equal(rb.KEMKey, d.KEMPublic()) || !rb.Created.Equal(t0) || rb.DeviceID != d.ID() {
		t.Fatalf("request body %+v", rb)
	}
	body, _ := DecodeB64(req.Body)
	want := `{"v":1,"side":"east","name":"Zoë","roles":["adviser","interpreter"],"sig_key":"` + B64(d.SigPublic()) +
		`","kem_key":"` + B64(d.KEMPublic()) + `","created":1795000000}`
	if string(body) != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	// Its JSON form parses back.
	back, err := ParseRequest(Signed(req).MarshalIndent())
	if err != nil || back != req {
		t.Fatalf("ParseRequest: %v", err)
	}
}

func TestNewRequestRefusesInvalid(t *testing.T) {
	d := mustDevice(t, 10)
	cases := []struct {
		side, name string
		roles      []role.Role
	}{
		{"East", "Alice", []role.Role{role.Principal}},
		{"east", " Alice", []role.Role{role.Principal}},
		{"east", "Alice", nil},
		{"east", "Alice", []role.Role{role.Press, role.Press}},
		{"east", "Alice", []role.Role{"boss"}},
	}
	for _, c := range cases {
		if _, err := d.Request(c.side, c.name, c.roles, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := d.Request("east", "Alice", []role.Role{role.Principal}, time.Unix(-1, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("negative time: %v", err)
	}
}

// signBody signs arbitrary body bytes as a request of d.
func signRequestBody(d *Device, body string) Request {
	return Request{Body: B64([]byte(body)), Sig: B64(ed25519.Sign(d.SigPrivate(), append([]byte(labelEnrolment), body...)))}
}

// Bodies that are signed correctly but are not exactly the canonical JSON
// of valid fields are refused as malformed, before the signature.
func TestRequestStrictBody(t *testing.T) {
	d := mustDevice(t, 10)
	sk, kk := B64(d.SigPublic()), B64(d.KEMPublic())
	good := fmt.Sprintf(`{"v":1,"side":"east","name":"Alice","roles":["principal"],"sig_key":"%s","kem_key":"%s","created":1795000000}`, sk, kk)
	if _, err := VerifyRequest(signRequestBody(d, good)); err != nil {
		t.Fatalf("good body: %v", err)
	}
	bad := map[string]string{
		"space":          strings.Replace(good, `"v":1,`, `"v": 1,`, 1),
		"newline":        good + "\n",
		"reordered":      strings.Replace(good, `"v":1,"side":"east",`, `"side":"east","v":1,`, 1),
		"duplicate key":  strings.Replace(good, `"v":1,`, `"v":1,"v":1,`, 1),
		"key case":       strings.Replace(good, `"side"`, `"Side"`, 1),
		"unknown field":  strings.Replace(good, `"v":1,`, `"v":1,"x":2,`, 1),
		"float":          strings.Replace(good, `1795000000`, `1795000000.0`, 1),
		"exponent":       strings.Replace(good, `1795000000`, `1.795e9`, 1),
		"escaped char":   strings.Replace(good, `"Alice"`, `"\u0041lice"`, 1),
		"trailing data":  good + "{}",
		"version 2":      strings.Replace(good, `"v":1`, `"v":2`, 1),
		"null roles":     strings.Replace(good, `["principal"]`, `null`, 1),
		"no roles":       strings.Replace(good, `["principal"]`, `[]`, 1),
		"unknown role":   strings.Replace(good, `"principal"`, `"boss"`, 1),
		"repeated role":  strings.Replace(good, `["principal"]`, `["principal","principal"]`, 1),
		"bad side":       strings.Replace(good, `"east"`, `"East"`, 1),
		"bad name":       strings.Replace(good, `"Alice"`, `"Alice "`, 1),
		"short sig_key":  strings.Replace(good, sk, sk[:40], 1),
		"short kem_key":  strings.Replace(good, kk, kk[:1600], 1),
		"padded sig_key": strings.Replace(good, sk, sk+"=", 1),
		"negative time":  strings.Replace(good, `1795000000`, `-1`, 1),
		"time over 2^53": strings.Replace(good, `1795000000`, `9007199254740992`, 1),
		"string time":    strings.Replace(good, `1795000000`, `"1795000000"`, 1),
		"not an object":  `[]`,
		"invalid UTF-8":  strings.Replace(good, `"Alice"`, "\"Al\xffce\"", 1),
		"U+2028 in name": strings.Replace(good, `"Alice"`, "\"Al\u2028ce\"", 1),
		"too long":       strings.Replace(good, `"v":1,`, `"v":1,`+strings.Repeat(" ", 4096), 1),
	}
	for name, body := range bad {
		if _, err := VerifyRequest(signRequestBody(d, body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRequestSignature(t *testing.T) {
	d := mustDevice(t, 10)
	req, err := d.Request("east", "Alice", []role.Role{role.Principal}, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by another key than the one it names.
	other := mustDevice(t, 20)
	body, _ := DecodeB64(req.Body)
	forged := Request{Body: req.Body, Sig: B64(ed25519.Sign(other.SigPrivate(), append([]byte(labelEnrolment), body...)))}
	if _, err := VerifyRequest(forged); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged: %v", err)
	}
	// A request's signature is not a credential's: the labels differ.
	asCred := Request{Body: req.Body, Sig: B64(ed25519.Sign(d.SigPrivate(), append([]byte(labelCredential), body...)))}
	if _, err := VerifyRequest(asCred); !errors.Is(err, ErrBadSignature) {
		t.Errorf("credential label: %v", err)
	}
	for name, r := range map[string]Request{
		"empty":           {},
		"short sig":       {Body: req.Body, Sig: req.Sig[:80]},
		"padded body":     {Body: req.Body + "=", Sig: req.Sig},
		"std alphabet":    {Body: "+" + req.Body[1:], Sig: req.Sig},
		"body over limit": {Body: strings.Repeat("A", 5464), Sig: req.Sig},
	} {
		if _, err := VerifyRequest(r); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseSignedStrict(t *testing.T) {
	for _, s := range []string{
		``, `{}`, `{"body":"x"}`, `{"body":"x","sig":"y","z":1}`, `{"body":"x","sig":"y"} {}`, `[]`,
		`{"body":"x","sig":"y"}` + strings.Repeat(" ", 8192),
	} {
		if _, err := ParseCredential([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", s, err)
		}
	}
	if c, err := ParseCredential([]byte(` {"sig":"y","body":"x"}` + "\n")); err != nil || c.Body != "x" || c.Sig != "y" {
		t.Errorf("valid envelope: %+v %v", c, err)
	}
}

func TestCredentialValid(t *testing.T) {
	d, cred, pins := enrolled(t)
	id, err := VerifyCredential(cred, pins, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if id.Side != "east" || id.Name != "Alice" || !id.HasRole(role.Principal) || id.HasRole(role.Press) ||
		!id.SigKey.Equal(d.SigPublic()) || !bytes.Equal(id.KEMKey, d.KEMPublic()) || !id.Authority.Equal(pins[0].Key) ||
		!id.Issued.Equal(t0) || !id.Expires.Equal(t0.Add(30*24*time.Hour)) || id.DeviceID != d.ID() {
		t.Fatalf("identity %+v", id)
	}
	// The device sees its own identity the same way.
	d.Credential, d.Pins = &cred, pins
	if mine, err := d.Identity(t0); err != nil || mine.DeviceID != id.DeviceID {
		t.Fatalf("device identity: %v", err)
	}
}

// The validity window: issued ≤ now + 5 min and now < expires, to the second.
func TestCredentialWindow(t *testing.T) {
	_, cred, pins := enrolled(t)
	expires := t0.Add(30 * 24 * time.Hour)
	cases := []struct {
		now  time.Time
		want error
	}{
		{t0.Add(-ClockSkew), nil},
		{t0.Add(-ClockSkew - time.Second), ErrNotYetValid},
		// now counts in whole seconds (Unix time, rounded down).
		{t0.Add(-ClockSkew + 999*time.Millisecond), nil},
		{t0.Add(-ClockSkew - time.Millisecond), ErrNotYetValid},
		{expires.Add(-time.Second), nil},
		{expires, ErrExpired},
		{expires.Add(time.Hour), ErrExpired},
	}
	for _, c := range cases {
		_, err := VerifyCredential(cred, pins, c.now)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("at %v: %v, want %v", c.now.Sub(t0), err, c.want)
		}
	}
}

func TestCredentialRefused(t *testing.T) {
	d, cred, pins := enrolled(t)
	east, west := mustAuthority(t, "east", 1), mustAuthority(t, "west", 2)
	foreign := mustAuthority(t, "east", 3) // an "east" that is not this line's
	req, _ := d.Request("east", "Alice", []role.Role{role.Principal}, t0)
	fromForeign, _ := foreign.Sign(req, t0, t0.Add(time.Hour))

	// Signed by the west authority for an east device: build the body
	// directly, as a misbehaving officer could.
	w := credentialWire{V: 1, Authority: B64(west.Public),
		subject: subject{Side: "east", Name: "Alice", Roles: []string{"principal"}, SigKey: B64(d.SigPublic()), KEMKey: B64(d.KEMPublic())}, Issued: t0.Unix(), Expires: t0.Add(time.Hour).Unix()}
	body, _ := canonicalJSON(&w)
	wrongSide := Credential{Body: B64(body), Sig: B64(ed25519.Sign(west.private, append([]byte(labelCredential), body...)))}

	b, _ := DecodeB64(cred.Body)
	tampered := Credential{Body: B64(bytes.Replace(b, []byte(`"Alice"`), []byte(`"Alicf"`), 1)), Sig: cred.Sig}
	sig, _ := DecodeB64(cred.Sig)
	sig[0] ^= 1
	badSig := Credential{Body: cred.Body, Sig: B64(sig)}

	cases := map[string]struct {
		c    Credential
		pins []Pin
		want error
	}{
		"foreign authority": {fromForeign, pins, ErrUnknownAuthority},
		"no pins":           {cred, nil, ErrUnknownAuthority},
		"wrong side":        {wrongSide, pins, ErrSideMismatch},
		"pinned for west":   {cred, []Pin{{Side: "west", Key: east.Public}}, ErrSideMismatch},
		"tampered body":     {tampered, pins, ErrBadSignature},
		"bad signature":     {badSig, pins, ErrBadSignature},
		"request as cred":   {Credential(req), pins, ErrMalformed},
		"empty":             {Credential{}, pins, ErrMalformed},
	}
	for name, c := range cases {
		if _, err := VerifyCredential(c.c, c.pins, t0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A valid credential of another device is not this device's.
	other := mustDevice(t, 30)
	other.Credential, other.Pins = &cred, pins
	if _, err := other.Identity(t0); !errors.Is(err, ErrNotThisDevice) {
		t.Errorf("other device: %v", err)
	}
}

func TestSign(t *testing.T) {
	east := mustAuthority(t, "east", 1)
	d := mustDevice(t, 10)
	westReq, _ := d.Request("west", "Bob", []role.Role{role.Press}, t0)
	if _, err := east.Sign(westReq, t0, t0.Add(time.Hour)); !errors.Is(err, ErrSideMismatch) {
		t.Errorf("west request: %v", err)
	}
	req, _ := d.Request("east", "Bob", []role.Role{role.Press}, t0)
	if _, err := east.Sign(req, t0, t0); !errors.Is(err, ErrMalformed) {
		t.Errorf("expires = issued: %v", err)
	}
	bad := req
	bad.Sig = B64(make([]byte, 64))
	if _, err := east.Sign(bad, t0, t0.Add(time.Hour)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad request signature: %v", err)
	}
	cred, err := east.Sign(req, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := DecodeB64(cred.Body)
	want := `{"v":1,"authority":"` + B64(east.Public) + `","side":"east","name":"Bob","roles":["press"],"sig_key":"` +
		B64(d.SigPublic()) + `","kem_key":"` + B64(d.KEMPublic()) + `","issued":1795000000,"expires":1795003600}`
	if string(body) != want {
		t.Fatalf("credential body\n%s\nwant\n%s", body, want)
	}
	// Printing an authority shows no key material.
	for _, s := range []string{fmt.Sprint(east), fmt.Sprintf("%v %+v %#v %s", east, east, east, east)} {
		if strings.Contains(s, B64(seed(1))) || strings.Contains(s, fmt.Sprint(seed(1))) || !strings.Contains(s, east.Fingerprint()) {
			t.Errorf("printed: %s", s)
		}
	}
}

func TestJoinProof(t *testing.T) {
	d := mustDevice(t, 10)
	nonce := bytes.Repeat([]byte{7}, 32)
	proof := d.JoinProof(nonce, "h.example", "demo", "x")
	if len(proof) != 64 {
		t.Fatalf("proof %d bytes", len(proof))
	}
	if err := VerifyJoinProof(d.SigPublic(), nonce, "h.example", "demo", "x", proof); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{8}, 32)
	for name, err := range map[string]error{
		"other nonce": VerifyJoinProof(d.SigPublic(), other, "h.example", "demo", "x", proof),
		"other line":  VerifyJoinProof(d.SigPublic(), nonce, "h.example", "demo2", "x", proof),
		"other call":  VerifyJoinProof(d.SigPublic(), nonce, "h.example", "demo", "y", proof),
		// str16 framing: "de"+"mox" is not "dem"+"ox".
		"shifted names": VerifyJoinProof(d.SigPublic(), nonce, "h.example", "dem", "ox", proof),
		"other server":  VerifyJoinProof(d.SigPublic(), nonce, "relay.example", "demo", "x", proof),
		"other port":    VerifyJoinProof(d.SigPublic(), nonce, "h.example:8443", "demo", "x", proof),
		"other key":     VerifyJoinProof(mustDevice(t, 20).SigPublic(), nonce, "h.example", "demo", "x", proof),
	} {
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := VerifyJoinProof(d.SigPublic(), nonce[:31], "h.example", "demo", "x", proof); !errors.Is(err, ErrMalformed) {
		t.Errorf("short nonce: %v", err)
	}
	if err := VerifyJoinProof(d.SigPublic(), nonce, "h.example", "demo", "x", proof[:63]); !errors.Is(err, ErrMalformed) {
		t.Errorf("short proof: %v", err)
	}
	if JoinProof(d.SigPrivate(), nonce[:16], "h.example", "demo", "x") != nil {
		t.Error("proof made for a short nonce")
	}
	if JoinProof(d.SigPrivate(), nonce, "", "demo", "x") != nil {
		t.Error("proof made for no server name")
	}
	// The message is exactly label || nonce || str16(server) || str16(line) || str16(call).
	msg := append([]byte("hotline-join-v3\x00"), nonce...)
	msg = append(msg, 0, 9, 'h', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e')
	msg = append(msg, 0, 4, 'd', 'e', 'm', 'o', 0, 1, 'x')
	if !ed25519.Verify(d.SigPublic(), msg, proof) {
		t.Error("proof is not over the spec's message")
	}
}

func TestServerName(t *testing.T) {
	for _, c := range []struct {
		in   string
		tls  bool
		want string
	}{
		{"Hotline.Example.ORG", true, "hotline.example.org"},
		{"hotline.example.org:443", true, "hotline.example.org"},
		{"hotline.example.org:443", false, "hotline.example.org:443"},
		{"hotline.example.org:80", false, "hotline.example.org"},
		{"127.0.0.1:8443", true, "127.0.0.1:8443"},
		{"[::1]:443", true, "[::1]"},
	} {
		if got := ServerName(c.in, c.tls); got != c.want {
			t.Errorf("ServerName(%q, %v) = %q, want %q", c.in, c.tls, got, c.want)
		}
	}
}
