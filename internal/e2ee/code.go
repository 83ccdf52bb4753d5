package e2ee

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"hotline/internal/trust"
)

// Labels of the verification code (docs/PROTOCOL.md, "Verification code").
const (
	labelVerification = "hotline-verification-v1\x00"
	labelCommitment   = "hotline-key-commitment-v1\x00"
)

// CodeMember is one verified member as the code sees it: its signing key
// and its current key's KID and base key (the client's own included).
type CodeMember struct {
	SigKey  []byte
	KID     uint64
	BaseKey []byte
}

// VerificationCode is the code the principals read aloud:
//
//	h = SHA-256("hotline-verification-v1\0" || str16(line) || str16(call) ||
//	            for each member, sorted by sig_key bytes:
//	              sig_key || u64(kid) || SHA-256("hotline-key-commitment-v1\0" || u64(kid) || base_key))
//	code = 5 groups of 4 digits, group i = u16(h[2i..2i+2]) mod 10000
//
// Equal codes mean both clients see the same members holding the same keys;
// the commitment keeps the base keys themselves out of the hash input. The
// order of members does not matter (they are sorted here). It returns ""
// when line or call is longer than 65535 bytes, which no valid name is.
func VerificationCode(line, call string, members []CodeMember) string {
	h := sha256.New()
	b, err := trust.AppendStr16([]byte(labelVerification), line)
	if err == nil {
		b, err = trust.AppendStr16(b, call)
	}
	if err != nil {
		return ""
	}
	h.Write(b)
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(x, y CodeMember) int { return bytes.Compare(x.SigKey, y.SigKey) })
	for _, m := range sorted {
		h.Write(m.SigKey)
		h.Write(binary.BigEndian.AppendUint64(nil, m.KID))
		h.Write(KeyCommitment(m.KID, m.BaseKey))
	}
	sum := h.Sum(nil)
	groups := make([]string, 5)
	for i := range groups {
		groups[i] = fmt.Sprintf("%04d", binary.BigEndian.Uint16(sum[2*i:])%10000)
	}
	return strings.Join(groups, " ")
}

// KeyCommitment is SHA-256("hotline-key-commitment-v1\0" || u64(kid) ||
// base_key): what the verification code and a witness statement
// (internal/audit) say of a sender key, never the key.
func KeyCommitment(kid uint64, baseKey []byte) []byte {
	c := sha256.New()
	c.Write([]byte(labelCommitment))
	c.Write(binary.BigEndian.AppendUint64(nil, kid))
	c.Write(baseKey)
	return c.Sum(nil)
}
