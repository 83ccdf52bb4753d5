package trust

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// MaxKID is the largest KID: a 32-bit sender tag and a 16-bit epoch
// (docs/PROTOCOL.md, "Key messages").
const MaxKID = 1<<48 - 1

// DeviceID names a device: the first 8 bytes of SHA-256(sig_key) in
// lower-case hex, 16 digits (docs/PROTOCOL.md, "Credential").
func DeviceID(sigKey []byte) string {
	h := sha256.Sum256(sigKey)
	return hex.EncodeToString(h[:8])
}

// labelSenderTag separates the sender tag's hash from every other hash of
// a sig_key (the device id is the plain SHA-256 of it).
const labelSenderTag = "hotline-sender-tag-v1\x00"

// SenderTag is the first 4 bytes of
// SHA-256("hotline-sender-tag-v1\0" || sig_key || str16(participant id)) as
// a big-endian u32 (docs/PROTOCOL.md, "Key messages"): the high bits of
// every KID the device sends in one stay in the call (participant is the id
// the server gave that stay), so a KID names its sender, and every join
// has its own 65,536 epochs. Participant ids are short (protocol.ValidID);
// one longer than a str16 holds counts by its first 65,535 bytes.
func SenderTag(sigKey []byte, participant string) uint32 {
	b := make([]byte, 0, len(labelSenderTag)+len(sigKey)+2+len(participant))
	b = append(append(b, labelSenderTag...), sigKey...)
	p := participant[:min(len(participant), 0xffff)]
	b = append(binary.BigEndian.AppendUint16(b, uint16(len(p))), p...)
	h := sha256.Sum256(b)
	return binary.BigEndian.Uint32(h[:4])
}

// KID is (sender_tag << 16) | epoch, the SFrame key id (RFC 9605 §4.3) of
// the sender's key for that epoch of the stay participant.
func KID(sigKey []byte, participant string, epoch uint16) uint64 {
	return uint64(SenderTag(sigKey, participant))<<16 | uint64(epoch)
}

// SplitKID splits a KID into its sender tag and epoch; ok is false for a
// value above MaxKID, which no sender makes.
func SplitKID(kid uint64) (tag uint32, epoch uint16, ok bool) {
	if kid > MaxKID {
		return 0, 0, false
	}
	return uint32(kid >> 16), uint16(kid), true
}

// Fingerprint is what officers read to each other out of band:
// SHA-256("hotline-authority-v1\0" || pub), first 16 bytes, as 8 groups of
// 4 upper-case hex digits (docs/PROTOCOL.md, "Keys").
func Fingerprint(pub []byte) string {
	h := sha256.Sum256(append([]byte(labelAuthority), pub...))
	s := strings.ToUpper(hex.EncodeToString(h[:16]))
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i : i+4])
	}
	return b.String()
}
