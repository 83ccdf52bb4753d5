package protocol

// Validation of decoded messages: identifiers, names, base64url fields and
// each message type's own rules. Decode runs these before any other package
// sees a message.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"hotline/internal/trust"
)

// ValidName checks a display name: the rule of internal/trust (a name
// comes from a credential), applied to what the server relays.
func ValidName(s string) error { return trust.ValidDisplayName(s) }

// ValidID checks a call name or track id: 1..MaxIDBytes of [A-Za-z0-9._-].
func ValidID(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > MaxIDBytes {
		return fmt.Errorf("%s is %d bytes long, at most %d allowed", what, len(s), MaxIDBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%s may contain only letters, digits, '.', '-' and '_'", what)
		}
	}
	return nil
}

func validKind(k string) error {
	if k != KindAudio && k != KindVideo {
		return fmt.Errorf("kind %q is neither %q nor %q", truncate(k, 16), KindAudio, KindVideo)
	}
	return nil
}

func validTracks(ts []TrackInfo, allowEmpty bool) error {
	if len(ts) == 0 && !allowEmpty {
		return errors.New("no tracks")
	}
	if len(ts) > MaxTracks {
		return fmt.Errorf("%d tracks, at most %d allowed", len(ts), MaxTracks)
	}
	seen := make(map[string]bool, len(ts))
	for _, t := range ts {
		if err := t.validate(); err != nil {
			return err
		}
		if seen[t.ID] {
			return fmt.Errorf("track id %q appears twice", t.ID)
		}
		seen[t.ID] = true
	}
	return nil
}

func (t *TrackInfo) validate() error {
	if err := ValidID("track id", t.ID); err != nil {
		return err
	}
	if err := validKind(t.Kind); err != nil {
		return err
	}
	if t.Source != "" {
		if err := ValidID("track source", t.Source); err != nil {
			return err
		}
	}
	if t.Language != "" {
		return ValidLanguage(t.Language)
	}
	return nil
}

func checkType(got, want string) error {
	if got != want {
		return fmt.Errorf("type %q where %q was expected", got, want)
	}
	return nil
}

func (m *Join) validate() error {
	if err := checkType(m.Type, TypeJoin); err != nil {
		return err
	}
	if m.Version <= 0 {
		return errors.New("version is missing")
	}
	if err := ValidID("line name", m.Line); err != nil {
		return err
	}
	if err := ValidID("call name", m.Call); err != nil {
		return err
	}
	if err := m.Credential.validate(); err != nil {
		return err
	}
	if err := validB64u("proof", m.Proof, SigB64Len, SigB64Len); err != nil {
		return err
	}
	if m.Resume != "" {
		if err := ValidID("resume", m.Resume); err != nil {
			return err
		}
	}
	return validTracks(m.Tracks, true)
}

func (c *Credential) validate() error {
	if err := validB64u("credential body", c.Body, 1, MaxCredentialBody); err != nil {
		return err
	}
	return validB64u("credential signature", c.Sig, SigB64Len, SigB64Len)
}

// validB64u checks that s is base64url without padding, of a length in
// [min, max]. (The bytes are decoded by whoever uses them.)
func validB64u(what, s string, min, max int) error {
	if len(s) < min || len(s) > max {
		if min == max {
			return fmt.Errorf("%s must be %d base64url characters, not %d", what, min, len(s))
		}
		return fmt.Errorf("%s must be %d to %d base64url characters, not %d", what, min, max, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%s is not base64url without padding", what)
		}
	}
	return nil
}

func (m *Challenge) validate() error {
	if err := checkType(m.Type, TypeChallenge); err != nil {
		return err
	}
	if m.Version <= 0 {
		return errors.New("version is missing")
	}
	return validB64u("nonce", m.Nonce, NonceB64Len, NonceB64Len)
}

func (m *Key) validate() error {
	if err := checkType(m.Type, TypeKey); err != nil {
		return err
	}
	if m.From != "" {
		return errors.New("a client's key message names the recipient (to), not from")
	}
	if err := ValidID("to", m.To); err != nil {
		return err
	}
	return m.validateBody()
}

func (m *Key) validateBody() error {
	if m.KID > MaxKID {
		return fmt.Errorf("kid %d exceeds %d", m.KID, uint64(MaxKID))
	}
	if err := validB64u("sealed", m.Sealed, SealedB64Len, SealedB64Len); err != nil {
		return err
	}
	return validB64u("sig", m.Sig, SigB64Len, SigB64Len)
}

// serverKey is a key message as the server relays it (with from, not to).
type serverKey struct{ Key }

func (m *serverKey) validate() error {
	if err := checkType(m.Type, TypeKey); err != nil {
		return err
	}
	if m.To != "" {
		return errors.New("a relayed key message names the sender (from), not to")
	}
	if err := ValidID("from", m.From); err != nil {
		return err
	}
	return m.validateBody()
}

func (m *Publish) validate() error {
	if err := checkType(m.Type, TypePublish); err != nil {
		return err
	}
	return validTracks(m.Tracks, false)
}

func (m *Unpublish) validate() error {
	if err := checkType(m.Type, TypeUnpublish); err != nil {
		return err
	}
	return ValidID("track id", m.Track)
}

func (m *SDP) validate() error {
	if m.Type != TypeAnswer && m.Type != TypeOffer {
		return fmt.Errorf("type %q is not an SDP type", m.Type)
	}
	if m.SDP == "" {
		return errors.New("sdp is empty")
	}
	if len(m.SDP) > MaxSDPBytes {
		return fmt.Errorf("sdp of %d bytes exceeds %d", len(m.SDP), MaxSDPBytes)
	}
	if m.Type == TypeAnswer && (len(m.Send) > 0 || len(m.Receive) > 0) {
		return errors.New("an answer carries no send or receive table")
	}
	for _, s := range m.Send {
		if err := ValidID("mid", s.Mid); err != nil {
			return err
		}
		if err := ValidID("track id", s.Track); err != nil {
			return err
		}
	}
	for _, r := range m.Receive {
		if err := ValidID("mid", r.Mid); err != nil {
			return err
		}
		if err := ValidID("participant id", r.Participant); err != nil {
			return err
		}
		if err := ValidName(r.Name); err != nil {
			return err
		}
		ti := TrackInfo{ID: r.Track, Kind: r.Kind, Source: r.Source, Language: r.Language}
		if err := ti.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (m *Candidate) validate() error {
	if err := checkType(m.Type, TypeCandidate); err != nil {
		return err
	}
	c := m.Candidate
	if len(c.Candidate) > MaxCandidateBytes {
		return fmt.Errorf("candidate of %d bytes exceeds %d", len(c.Candidate), MaxCandidateBytes)
	}
	if c.SDPMid != nil {
		if err := ValidID("sdpMid", *c.SDPMid); err != nil {
			return err
		}
	}
	if c.UsernameFragment != nil && len(*c.UsernameFragment) > 256 {
		return errors.New("usernameFragment too long")
	}
	return nil
}

func (m *Leave) validate() error { return checkType(m.Type, TypeLeave) }

func (m *RestartICE) validate() error { return checkType(m.Type, TypeRestartICE) }

func (m *ParticipantAction) validate() error {
	switch m.Type {
	case TypeRemove, TypeAdmit, TypeCallIn, TypeSendOut:
	default:
		return fmt.Errorf("%q is not a participant action", m.Type)
	}
	return ValidID("participant id", m.Participant)
}

func (m *Welcome) validate() error {
	if err := checkType(m.Type, TypeWelcome); err != nil {
		return err
	}
	if err := ValidID("participant id", m.ID); err != nil {
		return err
	}
	if err := ValidID("line name", m.Line); err != nil {
		return err
	}
	if len(m.May) > 64 {
		return errors.New("too many actions")
	}
	for _, a := range m.May {
		if err := ValidID("action", a); err != nil {
			return err
		}
	}
	if len(m.ICEServers) > MaxICEServers {
		return errors.New("too many ICE servers")
	}
	for _, is := range m.ICEServers {
		if err := is.validate(); err != nil {
			return err
		}
	}
	return ValidID("call name", m.Call)
}

func (is *ICEServer) validate() error {
	if len(is.URLs) == 0 || len(is.URLs) > MaxICEURLs {
		return fmt.Errorf("an ICE server needs 1 to %d URLs", MaxICEURLs)
	}
	for _, u := range is.URLs {
		if len(u) > MaxICEURLBytes || !printableASCII(u) {
			return errors.New("ICE server URL too long or not printable ASCII")
		}
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") && !strings.HasPrefix(u, "stun:") {
			return fmt.Errorf("ICE server URL %q: the scheme must be turn, turns or stun", truncate(u, 32))
		}
	}
	if len(is.Username) > MaxICEAuthBytes || len(is.Credential) > MaxICEAuthBytes ||
		!printableASCII(is.Username) || !printableASCII(is.Credential) {
		return errors.New("ICE server username or credential too long or not printable ASCII")
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (m *Roster) validate() error {
	if err := checkType(m.Type, TypeRoster); err != nil {
		return err
	}
	if m.Segment != SegmentPrivate && m.Segment != SegmentPublic {
		return fmt.Errorf("roster segment %q is not private or public", truncate(m.Segment, 32))
	}
	if m.Marker != nil {
		if err := m.Marker.Validate(); err != nil {
			return err
		}
		if m.Marker.Segment != m.Segment {
			return fmt.Errorf("roster segment %q but its marker says %q", m.Segment, m.Marker.Segment)
		}
	}
	if m.Opening < 0 || m.Opening > MaxOpening {
		return fmt.Errorf("roster opening %d ms: want 0 to %d", m.Opening, MaxOpening)
	}
	if len(m.Participants) > MaxParticipants {
		return fmt.Errorf("roster of %d participants, at most %d allowed", len(m.Participants), MaxParticipants)
	}
	// One revocation list per side of the line (docs/PROTOCOL.md,
	// "Revocation"); the same envelope and bounds as a credential.
	if len(m.Revocations) > MaxRevocationLists {
		return fmt.Errorf("roster of %d revocation lists, at most %d allowed", len(m.Revocations), MaxRevocationLists)
	}
	for _, r := range m.Revocations {
		if err := r.validate(); err != nil {
			return fmt.Errorf("revocation list: %w", err)
		}
	}
	for _, p := range m.Participants {
		if err := ValidID("participant id", p.ID); err != nil {
			return err
		}
		if err := ValidName(p.Name); err != nil {
			return err
		}
		if err := ValidID("device id", p.Device); err != nil {
			return err
		}
		if err := p.Credential.validate(); err != nil {
			return err
		}
		switch p.State {
		case StateIn, StateWaiting, StateBench:
		default:
			return fmt.Errorf("roster state %q is not in, waiting or bench", p.State)
		}
		if err := ValidListening(p.Listening); err != nil {
			return err
		}
		if err := validTracks(p.Tracks, true); err != nil {
			return err
		}
	}
	return m.validInterpretation()
}

// ValidListening checks a listening choice: ListenFloor, or a language tag
// (BCP 47 shape: a 2–3 letter language, then subtags of 1–8 letters or
// digits, at most 35 bytes).
func ValidListening(s string) error {
	if s == ListenFloor {
		return nil
	}
	bad := fmt.Errorf("listening %q is not %q or a language tag", truncate(s, 40), ListenFloor)
	if len(s) > 35 {
		return bad
	}
	for i, sub := range strings.Split(s, "-") {
		if i == 0 && (len(sub) < 2 || len(sub) > 3) || len(sub) < 1 || len(sub) > 8 {
			return bad
		}
		for _, r := range sub {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return bad
			}
		}
	}
	return nil
}

func (m *Ended) validate() error {
	if err := checkType(m.Type, TypeEnded); err != nil {
		return err
	}
	if len(m.By) > 256 || len(m.Reason) > 1024 {
		return errors.New("ended: by or reason too long")
	}
	return nil
}

func (m *ErrorMsg) validate() error {
	if err := checkType(m.Type, TypeError); err != nil {
		return err
	}
	if m.Code == "" || len(m.Code) > 64 || len(m.Message) > 4096 {
		return errors.New("malformed error")
	}
	return nil
}

// MaxMarkerSeq bounds a marker's sequence number: far more segment
// changes than any talk has, and exact in a JavaScript number.
const MaxMarkerSeq = 1 << 20

// Validate checks a segment marker's fields (the signature and the
// credential are checked by internal/marker).
func (m *Marker) Validate() error {
	if err := ValidID("marker line", m.Line); err != nil {
		return err
	}
	if err := ValidID("marker call", m.Call); err != nil {
		return err
	}
	if m.Segment != SegmentPrivate && m.Segment != SegmentPublic {
		return fmt.Errorf("marker segment %q is not private or public", truncate(m.Segment, 32))
	}
	if m.Seq < 1 || m.Seq > MaxMarkerSeq {
		return fmt.Errorf("marker seq %d out of 1..%d", m.Seq, MaxMarkerSeq)
	}
	if m.At <= 0 || m.At > 1<<53 {
		return fmt.Errorf("marker time %d out of range", m.At)
	}
	if err := m.Credential.validate(); err != nil {
		return err
	}
	return validB64u("marker signature", m.Sig, SigB64Len, SigB64Len)
}

// MaxMarkerBytes bounds a marker's JSON form (a credential and a few
// short fields).
const MaxMarkerBytes = 8 << 10

// DecodeMarker decodes one marker's JSON strictly (unknown fields and
// trailing data are errors) and validates it.
func DecodeMarker(data []byte) (Marker, error) {
	var m Marker
	if len(data) > MaxMarkerBytes {
		return m, fmt.Errorf("marker of %d bytes, at most %d", len(data), MaxMarkerBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Marker{}, fmt.Errorf("marker: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Marker{}, errors.New("marker: data after the object")
	}
	if err := m.Validate(); err != nil {
		return Marker{}, err
	}
	return m, nil
}
