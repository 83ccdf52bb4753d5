package trust

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

func TestSessionProof(t *testing.T) {
	d := mustDevice(t, 30)
	nonce := bytes.Repeat([]byte{7}, NonceSize)
	proof := d.SessionProof(nonce, "localhost", "demo")
	if len(proof) != SignatureSize {
		t.Fatalf("proof of %d bytes", len(proof))
	}
	if err := VerifySessionProof(d.SigPublic(), nonce, "localhost", "demo", proof); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{8}, NonceSize)
	for name, err := range map[string]error{
		"other nonce": VerifySessionProof(d.SigPublic(), other, "localhost", "demo", proof),
		"other line":  VerifySessionProof(d.SigPublic(), nonce, "localhost", "demo2", proof),
		// A server that relayed our challenge gets a proof for its own
		// name, which the real server (another name) refuses.
		"other server": VerifySessionProof(d.SigPublic(), nonce, "relay.example", "demo", proof),
		"other port":   VerifySessionProof(d.SigPublic(), nonce, "localhost:8443", "demo", proof),
		"other key":    VerifySessionProof(mustDevice(t, 40).SigPublic(), nonce, "localhost", "demo", proof),
	} {
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	for name, err := range map[string]error{
		"short nonce": VerifySessionProof(d.SigPublic(), nonce[:31], "localhost", "demo", proof),
		"short proof": VerifySessionProof(d.SigPublic(), nonce, "localhost", "demo", proof[:63]),
		"short key":   VerifySessionProof(d.SigPublic()[:31], nonce, "localhost", "demo", proof),
		"no server":   VerifySessionProof(d.SigPublic(), nonce, "", "demo", proof),
	} {
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if SessionProof(d.SigPrivate(), nonce[:16], "localhost", "demo") != nil {
		t.Error("proof made for a short nonce")
	}
	// The message is exactly label || nonce || str16(server) || str16(line).
	msg := append([]byte("hotline-api-session-v2\x00"), nonce...)
	msg = append(msg, 0, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't')
	msg = append(msg, 0, 4, 'd', 'e', 'm', 'o')
	if !ed25519.Verify(d.SigPublic(), msg, proof) {
		t.Error("proof is not over the documented message")
	}
}

// A join proof never opens an API session and a session proof never joins
// a call, whatever names are chosen: the context labels differ.
func TestSessionAndJoinProofsAreNotInterchangeable(t *testing.T) {
	d := mustDevice(t, 50)
	nonce := bytes.Repeat([]byte{9}, NonceSize)
	for _, c := range []struct{ line, call string }{{"demo", "x"}, {"demo", ""}, {"d", "emo"}} {
		join := d.JoinProof(nonce, "localhost", c.line, c.call)
		if err := VerifySessionProof(d.SigPublic(), nonce, "localhost", c.line, join); !errors.Is(err, ErrBadSignature) {
			t.Errorf("join proof (%q, %q) accepted as a session proof: %v", c.line, c.call, err)
		}
		if err := VerifySessionProof(d.SigPublic(), nonce, "localhost", c.line+c.call, join); !errors.Is(err, ErrBadSignature) {
			t.Errorf("join proof (%q, %q) accepted as a session proof for %q: %v", c.line, c.call, c.line+c.call, err)
		}
	}
	session := d.SessionProof(nonce, "localhost", "demo")
	for _, call := range []string{"", "x", "demo"} {
		if err := VerifyJoinProof(d.SigPublic(), nonce, "localhost", "demo", call, session); !errors.Is(err, ErrBadSignature) {
			t.Errorf("session proof accepted as a join proof for call %q: %v", call, err)
		}
	}
}
