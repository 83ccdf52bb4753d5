package sframe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// Key is the key and salt derived from one KID's base key (RFC 9605
// §4.4.2). It is immutable, so Seal and Open may be called concurrently.
type Key struct {
	kid  uint64
	aead cipher.AEAD
	salt [NonceLen]byte
	base [BaseKeyLen]byte // kept only to recognise the same key added again
}

// NewKey derives the SFrame key and salt for kid from a 16-byte base key.
func NewKey(kid uint64, baseKey []byte) (*Key, error) {
	if len(baseKey) != BaseKeyLen {
		return nil, fmt.Errorf("%w (got %d)", ErrKeyLength, len(baseKey))
	}
	key, salt, _, err := deriveKeySalt(kid, baseKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sframe: %w", err)
	}
	aead, err := cipher.NewGCM(block) // 12-byte nonce, 16-byte tag: Nn, Nt of suite 0x0004
	if err != nil {
		return nil, fmt.Errorf("sframe: %w", err)
	}
	k := &Key{kid: kid, aead: aead}
	copy(k.salt[:], salt)
	copy(k.base[:], baseKey)
	return k, nil
}

// KID is the key's KID.
func (k *Key) KID() uint64 { return k.kid }

// sameBase reports whether baseKey is the base key k was derived from.
func (k *Key) sameBase(baseKey []byte) bool {
	return subtle.ConstantTimeCompare(k.base[:], baseKey) == 1
}

// Labels of RFC 9605 §4.4.2; the KID and cipher suite are appended.
const (
	keyLabel  = "SFrame 1.0 Secret key "
	saltLabel = "SFrame 1.0 Secret salt "
)

// label is prefix || u64(kid) || u16(cipher suite): the KID as a full 8-byte
// big-endian integer, not the header's compact form (RFC 9605 §4.4.2).
func label(prefix string, kid uint64) []byte {
	b := make([]byte, 0, len(prefix)+10)
	b = append(b, prefix...)
	b = binary.BigEndian.AppendUint64(b, kid)
	return binary.BigEndian.AppendUint16(b, CipherSuite)
}

// deriveKeySalt is derive_key_salt of RFC 9605 §4.4.2 with HKDF-SHA256;
// it also returns sframe_secret, an intermediate value the RFC's test
// vectors print.
func deriveKeySalt(kid uint64, baseKey []byte) (key, salt, secret []byte, err error) {
	// HKDF-Extract("", base_key): an empty salt (RFC 5869 §2.2 treats it
	// as HashLen zero bytes, which HMAC makes the same thing).
	secret, err = hkdf.Extract(sha256.New, baseKey, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sframe: %w", err)
	}
	key, err = hkdf.Expand(sha256.New, secret, string(label(keyLabel, kid)), KeyLen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sframe: %w", err)
	}
	salt, err = hkdf.Expand(sha256.New, secret, string(label(saltLabel, kid)), NonceLen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sframe: %w", err)
	}
	return key, salt, secret, nil
}

// scratch holds the nonce and AAD of one Seal or Open. They cannot live on
// the stack: handing a slice to the cipher.AEAD interface makes it escape,
// which would cost allocations per frame. Sender and Receiver each own one,
// used under their mutex, so their steady state allocates nothing and Key
// stays immutable.
type scratch struct {
	nonce [NonceLen]byte
	aad   [MaxHeaderLen + 47]byte // a header and more than any clear prefix
}

// aadFor is header || metadata (RFC 9605 §4.4.3), in s when it fits.
func (s *scratch) aadFor(header, metadata []byte) []byte {
	if len(header)+len(metadata) > len(s.aad) {
		return append(append(make([]byte, 0, len(header)+len(metadata)), header...), metadata...)
	}
	n := copy(s.aad[:], header)
	n += copy(s.aad[n:], metadata)
	return s.aad[:n]
}

// nonce is sframe_salt XOR CTR, the CTR as a 12-byte (Nn) big-endian
// integer (RFC 9605 §4.4.3): only the last 8 bytes can change.
func (k *Key) nonce(s *scratch, ctr uint64) []byte {
	n := s.nonce[:]
	copy(n, k.salt[:])
	binary.BigEndian.PutUint64(n[NonceLen-8:], binary.BigEndian.Uint64(k.salt[NonceLen-8:])^ctr)
	return n
}

// Seal appends the SFrame ciphertext header || AEAD ciphertext || tag for
// plaintext under CTR ctr to dst (RFC 9605 §4.4.3). The AAD is
// header || metadata. dst must not overlap plaintext or metadata. The caller
// must never seal twice with one CTR (Sender sees to it).
//
// Seal allocates its scratch space; Sender.Encrypt does not.
func (k *Key) Seal(dst []byte, ctr uint64, metadata, plaintext []byte) []byte {
	return k.seal(new(scratch), dst, ctr, metadata, plaintext)
}

func (k *Key) seal(s *scratch, dst []byte, ctr uint64, metadata, plaintext []byte) []byte {
	h := len(dst)
	dst = AppendHeader(dst, k.kid, ctr)
	return k.aead.Seal(dst, k.nonce(s, ctr), plaintext, s.aadFor(dst[h:], metadata))
}

// Open authenticates and decrypts an SFrame ciphertext (header || AEAD
// ciphertext || tag) sealed with this key and the same metadata (RFC 9605
// §4.4.4), appending the plaintext to dst. It returns the frame's CTR. It
// does no replay checking (Receiver does). On error dst is returned as it
// was, though bytes beyond its length may have been overwritten. dst must
// not overlap sframe. Open allocates its scratch space; Receiver.Decrypt
// does not.
func (k *Key) Open(dst, sframe, metadata []byte) (ctr uint64, out []byte, err error) {
	kid, ctr, n, err := ParseHeader(sframe)
	if err != nil {
		return 0, dst, err
	}
	if kid != k.kid {
		return ctr, dst, fmt.Errorf("%w: frame has KID %d, key is for %d", ErrUnknownKID, kid, k.kid)
	}
	out, err = k.open(new(scratch), dst, sframe[:n], sframe[n:], metadata, ctr)
	return ctr, out, err
}

// open is Open after the header has been parsed.
func (k *Key) open(s *scratch, dst, header, ciphertext, metadata []byte, ctr uint64) ([]byte, error) {
	if len(ciphertext) < TagLen {
		return dst, fmt.Errorf("%w: %d bytes after the header, shorter than a tag", ErrMalformed, len(ciphertext))
	}
	out, err := k.aead.Open(dst, k.nonce(s, ctr), ciphertext, s.aadFor(header, metadata))
	if err != nil {
		return dst, fmt.Errorf("%w (KID %d, CTR %d)", ErrAuth, k.kid, ctr)
	}
	return out, nil
}
