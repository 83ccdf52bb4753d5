package trust

import (
	"bytes"
	"errors"
	"testing"
)

// TestOfficerProof: an officer's sign-in verifies with its side's
// authority key for that nonce, line and side only, and is never a
// device's session proof (its own label).
func TestOfficerProof(t *testing.T) {
	east, _ := NewAuthority("east")
	west, _ := NewAuthority("west")
	nonce := bytes.Repeat([]byte{7}, NonceSize)
	p := east.OfficerProof(nonce, "demo")
	if err := VerifyOfficerProof(east.Public, nonce, "demo", "east", p); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{8}, NonceSize)
	for what, err := range map[string]error{
		"another side's key": VerifyOfficerProof(west.Public, nonce, "demo", "east", p),
		"another side":       VerifyOfficerProof(east.Public, nonce, "demo", "west", p),
		"another line":       VerifyOfficerProof(east.Public, nonce, "other", "east", p),
		"another nonce":      VerifyOfficerProof(east.Public, other, "demo", "east", p),
		"as a session proof": VerifySessionProof(east.Public, nonce, "localhost", "demo", p),
	} {
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", what, err)
		}
	}
	if err := VerifyOfficerProof(east.Public, nonce[:31], "demo", "east", p); !errors.Is(err, ErrMalformed) {
		t.Errorf("short nonce: %v", err)
	}
	if east.OfficerProof(nonce[:31], "demo") != nil {
		t.Error("a proof over a short nonce")
	}
}
