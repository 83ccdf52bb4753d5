package e2ee_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"testing"

	"hotline/internal/e2ee"
)

// codeBySpec computes the verification code straight from the formula of
// docs/PROTOCOL.md, "Verification code", for members already sorted.
func codeBySpec(line, call string, sorted []e2ee.CodeMember) string {
	in := []byte("hotline-verification-v1\x00")
	in = binary.BigEndian.AppendUint16(in, uint16(len(line)))
	in = append(in, line...)
	in = binary.BigEndian.AppendUint16(in, uint16(len(call)))
	in = append(in, call...)
	for _, m := range sorted {
		in = append(in, m.SigKey...)
		in = binary.BigEndian.AppendUint64(in, m.KID)
		c := []byte("hotline-key-commitment-v1\x00")
		c = binary.BigEndian.AppendUint64(c, m.KID)
		c = append(c, m.BaseKey...)
		ch := sha256.Sum256(c)
		in = append(in, ch[:]...)
	}
	h := sha256.Sum256(in)
	return fmt.Sprintf("%04d %04d %04d %04d %04d",
		binary.BigEndian.Uint16(h[0:])%10000, binary.BigEndian.Uint16(h[2:])%10000, binary.BigEndian.Uint16(h[4:])%10000,
		binary.BigEndian.Uint16(h[6:])%10000, binary.BigEndian.Uint16(h[8:])%10000)
}

func codeMembers() []e2ee.CodeMember {
	return []e2ee.CodeMember{
		{SigKey: bytes.Repeat([]byte{0xc0}, 32), KID: 0xc0c0c0c00001, BaseKey: bytes.Repeat([]byte{3}, 16)},
		{SigKey: bytes.Repeat([]byte{0x10}, 32), KID: 0x101010100000, BaseKey: bytes.Repeat([]byte{1}, 16)},
		{SigKey: bytes.Repeat([]byte{0x80}, 32), KID: 0x80808080ffff, BaseKey: bytes.Repeat([]byte{2}, 16)},
	}
}

func TestVerificationCode(t *testing.T) {
	ms := codeMembers()
	code := e2ee.VerificationCode("demo", "x", ms)
	if !regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4} \d{4}$`).MatchString(code) {
		t.Fatalf("code %q", code)
	}
	sorted := append([]e2ee.CodeMember(nil), ms...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i].SigKey, sorted[j].SigKey) < 0 })
	if want := codeBySpec("demo", "x", sorted); code != want {
		t.Fatalf("code %q, spec gives %q", code, want)
	}
	// Any order of members gives the same code, and the caller's slice is
	// left as it was.
	rev := []e2ee.CodeMember{ms[2], ms[0], ms[1]}
	if got := e2ee.VerificationCode("demo", "x", rev); got != code {
		t.Errorf("order changed the code: %q", got)
	}
	if rev[0].KID != ms[2].KID {
		t.Error("VerificationCode reordered its argument")
	}
	// Everything it commits to changes it.
	changed := map[string]string{
		"line":     e2ee.VerificationCode("demo2", "x", ms),
		"call":     e2ee.VerificationCode("demo", "y", ms),
		"framing":  e2ee.VerificationCode("dem", "ox", ms),
		"members":  e2ee.VerificationCode("demo", "x", ms[:2]),
		"base key": e2ee.VerificationCode("demo", "x", []e2ee.CodeMember{ms[0], ms[1], {SigKey: ms[2].SigKey, KID: ms[2].KID, BaseKey: bytes.Repeat([]byte{9}, 16)}}),
		"kid":      e2ee.VerificationCode("demo", "x", []e2ee.CodeMember{ms[0], ms[1], {SigKey: ms[2].SigKey, KID: ms[2].KID + 1, BaseKey: ms[2].BaseKey}}),
	}
	for what, c := range changed {
		if c == code {
			t.Errorf("changing the %s left the code %q", what, code)
		}
	}
	if e2ee.VerificationCode(string(make([]byte, 70000)), "x", ms) != "" {
		t.Error("a line name too long for str16 gave a code")
	}
}
