package e2ee

import (
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"

	"hotline/internal/trust"
)

// Key messages (docs/PROTOCOL.md, "Key messages"): a sender's 16-byte SFrame
// base key, sealed with HPKE (RFC 9180, base mode) to one member's X-Wing
// key and signed with the sender's Ed25519 key. The server relays them and
// can read none of it.
const (
	labelSFrameKey = "hotline-sframe-key-v1\x00" // HPKE info
	labelKeyMsg    = "hotline-key-v2\x00"        // signature (v2: with both participant ids)

	// BaseKeySize is an SFrame base key's size: Nk of AES_128_GCM_SHA256_128
	// (RFC 9605 §4.4.2).
	BaseKeySize = 16
	// encSize is X-Wing's encapsulated key (draft-connolly-cfrg-xwing-kem §5.1).
	encSize = 1120
	// SealedSize is enc || AES-128-GCM(base key) with its 16-byte tag.
	SealedSize = encSize + BaseKeySize + 16
)

// The suite of key messages: KEM X-Wing (0x647a), KDF HKDF-SHA256 (0x0001),
// AEAD AES-128-GCM (0x0001).
var (
	kem  = hpke.MLKEM768X25519()
	kdf  = hpke.HKDFSHA256()
	aead = hpke.AES128GCM()
)

// Why OpenKey refused a key message. Each error it returns wraps one.
var (
	// ErrKeyMalformed: sizes, KID range, or names that do not fit.
	ErrKeyMalformed = errors.New("key message malformed")
	// ErrKeyWrongSender: the KID's sender tag is not the sender's.
	ErrKeyWrongSender = errors.New("key message KID names another sender")
	// ErrKeySignature: the sender's signature does not verify.
	ErrKeySignature = errors.New("key message signature does not verify")
	// ErrKeyOpen: HPKE does not open (not sealed to us, or for another
	// line, call, KID or sender).
	ErrKeyOpen = errors.New("key message does not open")
)

// keyInfo is the HPKE info: "hotline-sframe-key-v1\0" || sender sig_key ||
// recipient sig_key || u64(kid) || str16(line) || str16(call). Binding all
// of it means a sealed key opens only for the message it was made for.
func keyInfo(from, to []byte, kid uint64, line, call string) ([]byte, error) {
	b := make([]byte, 0, len(labelSFrameKey)+2*ed25519.PublicKeySize+8+4+len(line)+len(call))
	b = append(b, labelSFrameKey...)
	b = append(b, from...)
	b = append(b, to...)
	b = binary.BigEndian.AppendUint64(b, kid)
	b, err := trust.AppendStr16(b, line)
	if err != nil {
		return nil, err
	}
	return trust.AppendStr16(b, call)
}

// keySigned is what the sender signs: "hotline-key-v2\0" || recipient
// sig_key || u64(kid) || str16(sender id) || str16(recipient id) || sealed.
// The participant ids (one stay in the call each, docs/PROTOCOL.md
// "Epochs") bind the message to the two sessions it was made between: a
// server that replays an old key message after its sender rejoined (a new
// id) replays one whose signature no longer verifies.
func keySigned(to []byte, kid uint64, fromID, toID string, sealed []byte) ([]byte, error) {
	b := make([]byte, 0, len(labelKeyMsg)+len(to)+8+4+len(fromID)+len(toID)+len(sealed))
	b = append(b, labelKeyMsg...)
	b = append(b, to...)
	b = binary.BigEndian.AppendUint64(b, kid)
	b, err := trust.AppendStr16(b, fromID)
	if err == nil {
		b, err = trust.AppendStr16(b, toID)
	}
	if err != nil {
		return nil, err
	}
	return append(b, sealed...), nil
}

// SealKey seals the sender's base key for kid to one verified member and
// signs the result. from must be the private half of fromSigKey, and kid
// must carry the sender tag of fromSigKey and fromID: a sender only ever
// sends its own keys, of its current stay.
// fromID and toID are the participant ids of sender and recipient in the
// call (the sender's from welcome, the recipient's from the roster).
func SealKey(from ed25519.PrivateKey, fromSigKey ed25519.PublicKey, to *trust.Identity, kid uint64, line, call, fromID, toID string, baseKey []byte) (sealed, sig []byte, err error) {
	if len(baseKey) != BaseKeySize {
		return nil, nil, fmt.Errorf("%w: base key is %d bytes, want %d", ErrKeyMalformed, len(baseKey), BaseKeySize)
	}
	if len(from) != ed25519.PrivateKeySize || !fromSigKey.Equal(from.Public()) {
		return nil, nil, fmt.Errorf("%w: private key is not fromSigKey's", ErrKeyMalformed)
	}
	tag, _, ok := trust.SplitKID(kid)
	if !ok || tag != trust.SenderTag(fromSigKey, fromID) {
		return nil, nil, fmt.Errorf("%w: kid %d is not the sender's", ErrKeyWrongSender, kid)
	}
	if to == nil || len(to.SigKey) != ed25519.PublicKeySize || len(to.KEMKey) != trust.KEMKeySize {
		return nil, nil, fmt.Errorf("%w: recipient keys", ErrKeyMalformed)
	}
	info, err := keyInfo(fromSigKey, to.SigKey, kid, line, call)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeyMalformed, err)
	}
	pub, err := kem.NewPublicKey(to.KEMKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: recipient kem_key: %v", ErrKeyMalformed, err)
	}
	sealed, err = hpke.Seal(pub, kdf, aead, info, baseKey)
	if err != nil {
		return nil, nil, err
	}
	if len(sealed) != SealedSize {
		return nil, nil, fmt.Errorf("e2ee: sealed key is %d bytes, want %d", len(sealed), SealedSize)
	}
	signed, err := keySigned(to.SigKey, kid, fromID, toID, sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeyMalformed, err)
	}
	return sealed, ed25519.Sign(from, signed), nil
}

// OpenKey checks and opens a key message that from (a verified member)
// sent to me, and returns the 16-byte base key. The checks run cheapest
// first and in the spec's order: KID range and sizes (ErrKeyMalformed), the
// KID's sender tag (ErrKeyWrongSender), the signature (ErrKeySignature),
// then HPKE (ErrKeyOpen). fromID and toID are the participant ids the
// message travelled between (the relayed "from", and this participant's).
// Whether kid's epoch is newer than the sender's
// key already held is the caller's check (Manager).
func OpenKey(me *trust.Device, from *trust.Identity, kid uint64, line, call, fromID, toID string, sealed, sig []byte) ([]byte, error) {
	tag, _, ok := trust.SplitKID(kid)
	if !ok {
		return nil, fmt.Errorf("%w: kid %d above 2^48", ErrKeyMalformed, kid)
	}
	if len(sealed) != SealedSize || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: sealed %d bytes (want %d), sig %d (want %d)", ErrKeyMalformed, len(sealed), SealedSize, len(sig), ed25519.SignatureSize)
	}
	if from == nil || len(from.SigKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: sender key", ErrKeyMalformed)
	}
	if tag != trust.SenderTag(from.SigKey, fromID) {
		return nil, fmt.Errorf("%w: kid %d, sender %s", ErrKeyWrongSender, kid, from.DeviceID)
	}
	mine := me.SigPublic()
	signed, err := keySigned(mine, kid, fromID, toID, sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyMalformed, err)
	}
	if !ed25519.Verify(from.SigKey, signed, sig) {
		return nil, ErrKeySignature
	}
	info, err := keyInfo(from.SigKey, mine, kid, line, call)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyMalformed, err)
	}
	key, err := hpke.Open(me.KEMPrivate(), kdf, aead, info, sealed)
	if err != nil {
		return nil, ErrKeyOpen
	}
	if len(key) != BaseKeySize {
		return nil, fmt.Errorf("%w: base key is %d bytes", ErrKeyOpen, len(key))
	}
	return key, nil
}
