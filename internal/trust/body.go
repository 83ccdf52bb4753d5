package trust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Signed is the shape of requests and credentials on the wire
// (docs/PROTOCOL.md, "Enrolment request", "Credential"): the b64u of the
// body's JSON bytes and the b64u of an Ed25519 signature over them. The
// body is kept exactly as it was signed; nobody re-serialises it.
type Signed struct {
	Body string `json:"body"`
	Sig  string `json:"sig"`
}

// Request is a device's enrolment request, signed with its own key.
type Request Signed

// Credential is a request signed by a side's authority.
type Credential Signed

// ErrMalformed is returned for anything that does not decode as the spec
// says: bad base64url, a body over 4096 bytes, JSON that is not exactly the
// canonical object, a wrong version, an invalid name, role or key length.
var ErrMalformed = errors.New("malformed")

// ParseRequest decodes a request's JSON form ({"body","sig"}) strictly.
func ParseRequest(data []byte) (Request, error) {
	var s Signed
	err := decodeSigned(data, &s)
	return Request(s), err
}

// ParseCredential decodes a credential's JSON form ({"body","sig"}) strictly.
func ParseCredential(data []byte) (Credential, error) {
	var s Signed
	err := decodeSigned(data, &s)
	return Credential(s), err
}

// maxSignedJSON bounds the JSON form of a request or credential: the b64u
// of a 4096-byte body, a signature, and room for the keys and spaces.
const maxSignedJSON = 8192

func decodeSigned(data []byte, s *Signed) error {
	if len(data) > maxSignedJSON {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(data), maxSignedJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	if s.Body == "" || s.Sig == "" {
		return fmt.Errorf("%w: body or sig missing", ErrMalformed)
	}
	return nil
}

// MarshalIndent is the JSON form of a request or credential, as files hold it.
func (s Signed) MarshalIndent() []byte {
	b, _ := json.MarshalIndent(s, "", "  ") // two strings cannot fail
	return append(b, '\n')
}

// WriteFile writes the JSON form to path atomically (mode 0600), refusing
// to replace an existing file (the error wraps fs.ErrExist).
func (s Signed) WriteFile(path string) error {
	return writeFileAtomic(path, s.MarshalIndent(), true)
}

// open decodes the envelope: the body's bytes (1..4096) and a 64-byte
// signature. Nothing in the body is believed yet.
func (s Signed) open() (body, sig []byte, err error) {
	if len(s.Body) > b64.EncodedLen(MaxBodySize) {
		return nil, nil, fmt.Errorf("%w: body longer than %d bytes", ErrMalformed, MaxBodySize)
	}
	body, err = DecodeB64(s.Body)
	if err != nil || len(body) == 0 {
		return nil, nil, fmt.Errorf("%w: body: not base64url or empty", ErrMalformed)
	}
	sig, err = decodeB64Len("sig", s.Sig, SignatureSize)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return body, sig, nil
}

// decodeBody decodes a signed body into v, a pointer to one of the wire
// structs below, and requires the body to be canonical: byte for byte what
// canonicalJSON(v) gives. Canonical means the fields in the order of the
// spec, no spaces, no escapes beyond what JSON.stringify writes. Requiring
// it leaves no room for duplicate keys, keys in another case (which Go's
// decoder would match), numbers such as 1.0 or 1e3, or anything else two
// JSON parsers might read differently: the Go and browser verifiers see the
// same fields or both refuse the body.
func decodeBody(body []byte, v any) error {
	if len(body) > MaxBodySize {
		return fmt.Errorf("%w: body is %d bytes, at most %d", ErrMalformed, len(body), MaxBodySize)
	}
	return DecodeCanonical(body, v)
}

// DecodeCanonical decodes data into v (a pointer to a struct whose fields
// are in the order the spec gives) strictly, and requires data to be
// canonical, as decodeBody explains. The caller bounds data's size. Other
// signed and hashed bodies use it too (internal/audit).
func DecodeCanonical(body []byte, v any) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: body is not UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the body's object", ErrMalformed)
	}
	canon, err := canonicalJSON(v)
	if err != nil || !bytes.Equal(canon, body) {
		return fmt.Errorf("%w: body is not in canonical form", ErrMalformed)
	}
	return nil
}

// Canonical is v's canonical JSON (see canonicalJSON).
func Canonical(v any) ([]byte, error) { return canonicalJSON(v) }

// canonicalJSON encodes v the way JSON.stringify does in the browser: Go's
// encoder without HTML escaping writes the same bytes for every string a
// valid body holds (both escape only '"', '\\' and control characters;
// Go also escapes U+2028 and U+2029, which the browser's canonical form
// escapes too, see static/e2ee/trust.js).
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkTime bounds a time field to 0..MaxTime.
func checkTime(what string, t int64) error {
	if t < 0 || t > MaxTime {
		return fmt.Errorf("%w: %s %d out of range", ErrMalformed, what, t)
	}
	return nil
}
