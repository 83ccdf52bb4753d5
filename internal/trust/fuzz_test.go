package trust

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"hotline/internal/role"
)

// Fuzz targets for every decoder of bytes from the network or a file. Run
// each with e.g.
//
//	go test -run XXX -fuzz FuzzCredentialBody -fuzztime 30s -fuzzminimizetime 1s ./internal/trust/
//
// (the default minimisation time of 60 s per new input would eat the whole
// run: the seeds are kilobytes long).

// FuzzCredentialBody: the strict body decoder never panics, and whatever
// it accepts is valid and canonical: re-encoding the identity it returns
// gives back exactly the input bytes.
func FuzzCredentialBody(f *testing.F) {
	_, cred, _ := enrolled(f)
	body, _ := DecodeB64(cred.Body)
	f.Add(body)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"v":1}`))
	f.Add([]byte(`{"v":1.0,"authority":"","side":"","name":"","roles":null,"sig_key":"","kem_key":"","issued":0,"expires":0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var w credentialWire
		if decodeBody(body, &w) != nil {
			return
		}
		id, err := w.parse()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse error %v is not ErrMalformed", err)
			}
			return
		}
		roles := make([]string, len(id.Roles))
		for i, r := range id.Roles {
			roles[i] = string(r)
		}
		again, err := canonicalJSON(&credentialWire{V: 1, Authority: B64(id.Authority),
			subject: subject{Side: id.Side, Name: id.Name, Roles: roles, SigKey: B64(id.SigKey), KEMKey: B64(id.KEMKey)}, Issued: id.Issued.Unix(), Expires: id.Expires.Unix()})
		if err != nil || !bytes.Equal(again, body) {
			t.Fatalf("accepted a body that does not round-trip:\n%q\n%q", body, again)
		}
		if ValidSide(id.Side) != nil || ValidDisplayName(id.Name) != nil || len(body) > MaxBodySize || !id.Issued.Before(id.Expires) {
			t.Fatalf("accepted invalid fields: %+v", id)
		}
	})
}

// FuzzRequestBody: the same for request bodies.
func FuzzRequestBody(f *testing.F) {
	req, err := mustDevice(f, 10).Request("east", "Zoë", []role.Role{role.Principal, role.Press}, t0)
	if err != nil {
		f.Fatal(err)
	}
	body, _ := DecodeB64(req.Body)
	f.Add(body)
	f.Add([]byte(`{"v":1,"side":"east"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var w requestWire
		if decodeBody(body, &w) != nil {
			return
		}
		rb, err := w.parse()
		if err != nil {
			return
		}
		roles := make([]string, len(rb.Roles))
		for i, r := range rb.Roles {
			roles[i] = string(r)
		}
		again, err := canonicalJSON(&requestWire{V: 1,
			subject: subject{Side: rb.Side, Name: rb.Name, Roles: roles, SigKey: B64(rb.SigKey), KEMKey: B64(rb.KEMKey)}, Created: rb.Created.Unix()})
		if err != nil || !bytes.Equal(again, body) {
			t.Fatalf("accepted a body that does not round-trip:\n%q\n%q", body, again)
		}
	})
}

// FuzzVerifyCredential: whole credentials in their JSON form, as a roster
// or a file carries them. Never a panic; an accepted credential verifies
// under a pin; any error wraps one of the sentinels.
func FuzzVerifyCredential(f *testing.F) {
	_, cred, pins := enrolled(f)
	f.Add(Signed(cred).MarshalIndent())
	f.Add([]byte(`{"body":"e30","sig":"` + B64(make([]byte, 64)) + `"}`))
	sentinels := []error{ErrMalformed, ErrUnknownAuthority, ErrSideMismatch, ErrBadSignature, ErrNotYetValid, ErrExpired}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCredential(data)
		if err != nil {
			return
		}
		id, err := VerifyCredential(c, pins, t0)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		body, _ := DecodeB64(c.Body)
		sig, _ := DecodeB64(c.Sig)
		if !ed25519.Verify(id.Authority, append([]byte(labelCredential), body...), sig) {
			t.Fatal("accepted a credential whose signature does not verify")
		}
	})
}

// FuzzB64: DecodeB64 accepts exactly the canonical encodings.
func FuzzB64(f *testing.F) {
	for _, s := range []string{"", "-_8", "AA", "AB", "AAA=", "+/", "a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeB64(s)
		if err == nil && B64(b) != s {
			t.Fatalf("%q decodes to %x, which encodes as %q", s, b, B64(b))
		}
	})
}

// FuzzAuthorityFile: authority files never panic the parser; what parses
// has a valid side and a matching key pair.
func FuzzAuthorityFile(f *testing.F) {
	a := mustAuthority(f, "east", 1)
	f.Add([]byte(`{"hotline_authority":1,"side":"east","public_key":"` + B64(a.Public) + `","private_key":"` + B64(seed(1)) + `"}`))
	f.Add([]byte(`{"hotline_authority":1,"side":"east","public_key":"` + B64(a.Public) + `","encrypted":{"kdf":"pbkdf2-sha256","iterations":1,"salt":"","nonce":"","ciphertext":""}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// No passphrase: the fuzzer must not spend its time in PBKDF2.
		b, err := ParseAuthority(data, nil)
		if err != nil {
			return
		}
		if ValidSide(b.Side) != nil || !b.Public.Equal(b.private.Public()) {
			t.Fatalf("parsed an invalid authority %v", b)
		}
	})
}
