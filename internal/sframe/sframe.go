// Package sframe implements hotline's end-to-end frame encryption: SFrame
// (RFC 9605) with cipher suite AES_128_GCM_SHA256_128, applied per encoded
// media frame, with a few leading bytes of each frame left in clear (and
// authenticated) so that RTP packetization still works. docs/PROTOCOL.md,
// "Frame encryption (SFrame, RFC 9605)", is the specification; the browser's
// copy is internal/web/static/e2ee/sframe.js, and both are pinned by the
// shared vectors in testdata/sframe.json and RFC 9605's own in
// testdata/rfc9605.json.
//
// An encrypted frame is
//
//	clear || header || AES-GCM(key, salt XOR CTR, aad = header || clear, rest of frame)
//
// Layers: Key is one KID's derived key and salt (RFC 9605 §4.4.2) with the
// bare SFrame Seal/Open (§4.4.3, §4.4.4); Sender adds the counter that never
// repeats under a key; Receiver adds keys by KID and a replay window. The
// package knows nothing of members, epochs or key delivery (internal/e2ee
// does): a KID is just a number here.
package sframe

import "errors"

// CipherSuite is AES_128_GCM_SHA256_128, RFC 9605 §4.5 and §8.1.
const CipherSuite = 0x0004

// Sizes of cipher suite 0x0004 (RFC 9605 §4.5, Table 1) and of the frame
// format.
const (
	BaseKeyLen   = 16 // the sender's random base key (docs/PROTOCOL.md, "Keys")
	KeyLen       = 16 // AEAD.Nk
	NonceLen     = 12 // AEAD.Nn
	TagLen       = 16 // AEAD.Nt
	MaxHeaderLen = 17 // config byte + 8-byte KID + 8-byte CTR (RFC 9605 §4.3)
	// Overhead is the most an encrypted frame is longer than the frame.
	Overhead = MaxHeaderLen + TagLen
	// ReplayWindow is how many CTR values, ending at the highest one
	// accepted for a KID, a Receiver remembers (RFC 9605 §9.3 leaves
	// anti-replay to the application; this is RFC 3711 §3.3.2's scheme).
	// One KID's CTRs count every track of its sender, and a receiver's
	// tracks go through separate pipelines that can fall behind one
	// another: 1024 CTRs are about 12 s of 50 audio and 30 video frames a
	// second (128, 1.6 s, refused honest video frames on a loaded
	// machine). A multiple of 64.
	ReplayWindow = 1024
)

// Errors. Every error returned by this package wraps exactly one of them.
var (
	// ErrMalformed: the bytes are not an SFrame frame (header does not
	// parse, is not minimally encoded, or is too short for a tag).
	ErrMalformed = errors.New("sframe: malformed frame")
	// ErrUnknownKID: no key for the frame's KID (RFC 9605 §4.4.4 lets the
	// caller buffer such a frame until the key arrives).
	ErrUnknownKID = errors.New("sframe: unknown KID")
	// ErrAuth: the AEAD tag does not verify: the clear bytes, the header
	// or the ciphertext were altered, or the key is wrong.
	ErrAuth = errors.New("sframe: authentication failed")
	// ErrReplay: an authentic frame whose CTR was already accepted, or is
	// older than the replay window.
	ErrReplay = errors.New("sframe: replayed frame")
	// ErrNoKey: the Sender has no key yet.
	ErrNoKey = errors.New("sframe: no sending key")
	// ErrCounterExhausted: the key has used every CTR value; RFC 9605 §7.4
	// says a sender MUST refuse to encrypt twice with one key and nonce.
	ErrCounterExhausted = errors.New("sframe: counter exhausted for this key")
	// ErrKIDReused: the Sender already encrypted under this KID; starting
	// it again at CTR 0 could repeat a (key, nonce) pair (RFC 9605 §9.1).
	ErrKIDReused = errors.New("sframe: KID already used by this sender")
	// ErrKeyLength: a base key is not BaseKeyLen bytes.
	ErrKeyLength = errors.New("sframe: base key must be 16 bytes")
)

// Kind says which clear-prefix rule applies to a frame.
type Kind uint8

const (
	Audio Kind = iota + 1 // Opus
	Video                 // VP8
)

func (k Kind) String() string {
	switch k {
	case Audio:
		return "audio"
	case Video:
		return "video"
	}
	return "unknown"
}

// Clear-prefix lengths (docs/PROTOCOL.md table). VP8: the 3-byte frame tag
// of every frame, plus the 7-byte start code and dimensions of a key frame
// (RFC 6386 §9.1), which the RTP packetizer reads. Opus: the TOC byte.
const (
	clearVP8Key   = 10
	clearVP8Delta = 3
	clearOpus     = 1
)

// prefixLen is the clear-prefix rule before it is capped at the frame's
// length. first is the frame's first byte (ignored for audio).
func prefixLen(kind Kind, first byte) int {
	switch kind {
	case Audio:
		return clearOpus
	case Video:
		// VP8 frame tag, bit 0 of the first byte: 0 = key frame (RFC 6386 §9.1).
		if first&1 == 0 {
			return clearVP8Key
		}
		return clearVP8Delta
	}
	return 0
}

// ClearBytes is how many bytes at the start of frame stay in clear: VP8 key
// frame 10, VP8 delta frame 3, Opus 1, anything else 0, and never more than
// len(frame).
func ClearBytes(kind Kind, frame []byte) int {
	if len(frame) == 0 {
		return 0
	}
	return min(prefixLen(kind, frame[0]), len(frame))
}
