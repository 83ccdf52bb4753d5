package booking

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// IDPrefix starts every call id.
const IDPrefix = "c-"

// idChars is how many base32 characters follow the prefix: 60 random bits.
const idChars = 12

// idEncoding is RFC 4648 base32 in lower case (a–z, 2–7), so that an id is a
// valid protocol call name (docs/PROTOCOL.md, "Identifiers and bounds") and
// reads unambiguously aloud.
var idEncoding = base32.NewEncoding(strings.ToLower("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")).WithPadding(base32.NoPadding)

// NewID returns a fresh random call id, "c-" and 12 characters of a–z 2–7,
// e.g. c-7kq2mrx4tp3a. It is the call's name on the live line too.
func NewID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return IDPrefix + idEncoding.EncodeToString(b[:])[:idChars]
}
