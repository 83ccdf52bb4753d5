// Package protocol defines hotline's signalling messages (docs/PROTOCOL.md) and
// decodes them with bounds: every message is size-limited, strictly typed
// (unknown fields are errors) and validated before any other package sees it.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"hotline/internal/trust"
)

// Version is the signalling protocol version. A client states it in "join";
// the server refuses any other value with CodeVersion. Version 2 added
// authentication (challenge, credential, proof) and end-to-end key messages.
// Version 3 made the KID's sender tag hash the participant id as well as the
// device key (each stay in a call has its own epochs), and the API session
// proof sign the server's name (hotline-api-session-v2): a version 2
// client's KIDs would be refused as another sender's, so it is told
// "version", not left to fail later.
const Version = 3

// Bounds on what a peer may send. They are part of the protocol: a message
// that exceeds one is refused with an error, never truncated.
const (
	MaxMessageBytes   = 128 << 10          // one WebSocket message
	MaxSDPBytes       = 100 << 10          // an SDP blob inside a message
	MaxCandidateBytes = 1024               // one ICE candidate line
	MaxNameRunes      = trust.MaxNameRunes // display names
	MaxIDBytes        = 64                 // call names and track ids
	MaxTracks         = 8                  // tracks one participant may publish at once
	// MaxParticipants bounds the members of one call, and so the entries
	// of a roster, which is sent whole and must fit in MaxMessageBytes. A
	// roster entry at every field's bound (a credential with a 64-character
	// name, a 32-byte side and every role; 8 tracks; names escaped at six
	// bytes a character) is about 4.9 KB (TestMaxRosterFits measures it),
	// so 20 entries take about 99 KB, three quarters of the limit: the
	// rest is headroom for fields that later versions add to entries.
	MaxParticipants = 20
	// MaxRevocationLists bounds a roster's revocation lists: one per side
	// of the line.
	MaxRevocationLists = 2
	// A credential's body is at most 4096 bytes (docs/PROTOCOL.md), so its
	// base64url form at most 5462 characters.
	MaxCredentialBody = 5462
	SigB64Len         = 86   // an Ed25519 signature (64 bytes) in base64url
	NonceB64Len       = 43   // a 32-byte challenge nonce in base64url
	SealedB64Len      = 1536 // a sealed SFrame key: 1120-byte X-Wing enc + 32 bytes, base64url
	MaxKID            = 1<<48 - 1
)

// Message types. Client → server: join, publish, unpublish, answer, candidate,
// key, admit, call_in, send_out, remove, restart_ice, leave. Server → client: challenge, welcome, roster, offer,
// candidate, key, error, ended.
const (
	TypeChallenge  = "challenge"
	TypeKey        = "key"
	TypeJoin       = "join"
	TypePublish    = "publish"
	TypeUnpublish  = "unpublish"
	TypeAnswer     = "answer"
	TypeCandidate  = "candidate"
	TypeLeave      = "leave"
	TypeRemove     = "remove"
	TypeAdmit      = "admit"
	TypeCallIn     = "call_in"
	TypeSendOut    = "send_out"
	TypeRestartICE = "restart_ice"

	TypeWelcome = "welcome"
	TypeRoster  = "roster"
	TypeOffer   = "offer"
	TypeError   = "error"
	TypeEnded   = "ended"
)

// Roster states of a participant (PROTOCOL.md, "Lobby and roles").
const (
	StateIn      = "in"      // takes part in the media
	StateWaiting = "waiting" // in the lobby
	StateBench   = "bench"   // an adviser not in the room
)

// Segments of a call (PROTOCOL.md, "Routing"): which part of the talks is
// on. Every call is private for now; the public segment (the opening the
// press receives) comes with the press.
const (
	SegmentPrivate = "private"
	SegmentPublic  = "public"
)

// ListenFloor is a member's listening choice when it hears the floor; a
// listener may pick one of the call's languages (a BCP 47 tag) instead.
const ListenFloor = "floor"

// Track kinds.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

// Error codes carried by an "error" message. Each has one meaning; clients
// switch on the code, the message text is for people.
const (
	CodeBadMessage   = "bad_message"  // not JSON, unknown type or field, or a value out of bounds
	CodeTooLarge     = "too_large"    // message larger than MaxMessageBytes
	CodeRateLimited  = "rate_limited" // too many messages; the connection is closed if it goes on
	CodeVersion      = "version"      // unsupported protocol version
	CodeState        = "state"        // a valid message at the wrong moment (e.g. publish before join)
	CodeRefused      = "refused"      // the server will not do it (call full, duplicate track id, ...)
	CodeUnauthorized = "unauthorized" // join without a valid credential and proof for the line
	CodeInternal     = "internal"     // the server failed; the client may retry
	CodeForbidden    = "forbidden"    // the participant's roles or side do not allow this action; nothing changed
	CodeRemoved      = "removed"      // this participant was removed from the call; the connection closes
)

// Sentinel errors of Decode; all wrap into *Error with CodeBadMessage.
var (
	ErrTooLarge    = errors.New("message too large")
	ErrUnknownType = errors.New("unknown message type")
	ErrInvalid     = errors.New("invalid message")
	ErrVersion     = errors.New("unsupported protocol version")
)

// Error is a protocol error: it is what the server sends back as an "error"
// message, and what Decode returns.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, for errors.Is; not sent on the wire
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with the given code.
func Errorf(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Envelope is the common header of every message: its type.
type Envelope struct {
	Type string `json:"type"`
}

// TrackInfo describes a track that a client publishes.
type TrackInfo struct {
	ID     string `json:"id"`     // client-chosen, unique within the participant
	Kind   string `json:"kind"`   // "audio" or "video"
	Source string `json:"source"` // free label such as "camera", "camera2", "mic"; shown to others
	// Language: an interpretation channel's language (source
	// "interpretation"); the server sets it from the interpreter's booth.
	Language string `json:"language,omitempty"`
}

// Credential is a device's credential as the wire carries it: the signed
// body's bytes and the authority's signature, both base64url (internal/trust
// verifies it; this package only bounds it).
type Credential struct {
	Body string `json:"body"`
	Sig  string `json:"sig"`
}

// Challenge is the server's first message: the nonce the join proof signs.
type Challenge struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	Nonce   string `json:"nonce"`
}

// Join is the client's first message.
type Join struct {
	Type       string      `json:"type"`
	Version    int         `json:"version"`
	Line       string      `json:"line"`
	Call       string      `json:"call"`
	Credential Credential  `json:"credential"`
	Proof      string      `json:"proof"`  // Ed25519 signature over the challenge, line and call
	Tracks     []TrackInfo `json:"tracks"` // may be empty: receive-only
	// Resume names this device's session (its participant id) to carry on
	// over this new socket, after the previous one was lost: same id,
	// PeerConnection, keys and membership (docs/PROTOCOL.md, "Resuming").
	Resume string `json:"resume,omitempty"`
}

// Key carries one sealed SFrame base key from its sender to one member.
// Client → server names the recipient in To; server → client names the
// sender in From. The server cannot read Sealed.
type Key struct {
	Type   string `json:"type"`
	To     string `json:"to,omitempty"`
	From   string `json:"from,omitempty"`
	KID    uint64 `json:"kid"`
	Sealed string `json:"sealed"`
	Sig    string `json:"sig"`
}

// Publish asks the server to receive more tracks; the server answers with an offer.
type Publish struct {
	Type   string      `json:"type"`
	Tracks []TrackInfo `json:"tracks"`
}

// Unpublish stops one published track.
type Unpublish struct {
	Type  string `json:"type"`
	Track string `json:"track"`
}

// SDP carries an offer (server → client) or an answer (client → server).
type SDP struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
	// Offer only: which mids the client sends on and what each receiving mid carries.
	Send    []SendMid    `json:"send,omitempty"`
	Receive []ReceiveMid `json:"receive,omitempty"`
}

// SendMid tells the client to send its track Track on transceiver Mid.
type SendMid struct {
	Mid   string `json:"mid"`
	Track string `json:"track"`
}

// ReceiveMid tells the client what arrives on transceiver Mid.
type ReceiveMid struct {
	Mid         string `json:"mid"`
	Participant string `json:"participant"` // participant id
	Name        string `json:"name"`
	Track       string `json:"track"` // the publisher's track id
	Kind        string `json:"kind"`
	Source      string `json:"source"`
	Language    string `json:"language,omitempty"` // an interpretation channel's
}

// Candidate carries one trickled ICE candidate, either direction. An empty
// Candidate.Candidate means end of candidates.
type Candidate struct {
	Type      string  `json:"type"`
	Candidate ICEInit `json:"candidate"`
}

// ICEInit mirrors the browser's RTCIceCandidateInit.
type ICEInit struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Leave ends the session politely.
type Leave struct {
	Type string `json:"type"`
}

// RestartICE asks the server for an offer that restarts ICE (new
// credentials, fresh candidates on both ends), because the client's network
// changed or its connection went "disconnected" or "failed". The server
// always offers (docs/PROTOCOL.md, "Who offers"), so a client cannot restart
// ICE by itself; the session, its keys and its membership stay as they are.
type RestartICE struct {
	Type string `json:"type"`
}

// ParticipantAction is an action on another participant of one's own side
// (docs/PROTOCOL.md, "Lobby and roles"): admit from the lobby, call an
// adviser in, send an adviser out to the bench, or remove from the call.
// The actor's roles must allow it.
type ParticipantAction struct {
	Type        string `json:"type"` // TypeAdmit, TypeCallIn, TypeSendOut or TypeRemove
	Participant string `json:"participant"`
}

// Welcome answers a successful join.
type Welcome struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	ID      string `json:"id"` // this participant's id
	Line    string `json:"line"`
	Call    string `json:"call"`
	// May lists the actions (internal/role names) this participant's roles
	// allow, so that a client offers only those; the server enforces them.
	May []string `json:"may"`
	// Resumed: this welcome answers a join with "resume"; the session
	// carries on (an offer restarting ICE follows).
	Resumed bool `json:"resumed,omitempty"`
	// ICEServers are the server's own TURN relay, with credentials for this
	// session only, for clients whose network drops UDP (docs/PROTOCOL.md,
	// "Media through firewalls"). Absent: no relay.
	ICEServers []ICEServer `json:"ice_servers,omitempty"`
}

// ICEServer has the shape of the browser's RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"` // turn: or turns: URIs (RFC 7065)
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// Bounds on welcome's ice_servers.
const (
	MaxICEServers   = 4
	MaxICEURLs      = 8
	MaxICEURLBytes  = 256
	MaxICEAuthBytes = 128
)

// Roster lists the call's participants, sent to everyone on every change.
type Roster struct {
	Type string `json:"type"`
	// Segment is the call's segment (SegmentPrivate, SegmentPublic): with
	// each entry's state, roles and listening choice it decides who
	// receives whose media and keys (internal/route).
	Segment      string        `json:"segment"`
	Participants []RosterEntry `json:"participants"`
	// Languages and Mode: the call's interpretation (interpret.go);
	// absent when the call has no languages.
	Languages []string `json:"languages,omitempty"`
	Mode      string   `json:"mode,omitempty"`
	// Revocations are the sides' current signed revocation lists
	// (docs/PROTOCOL.md, "Revocation"), at most one per side; clients
	// verify them against their pins and treat a listed member as a
	// forgery.
	Revocations []Credential `json:"revocations,omitempty"`
	// Marker is the signed statement of the last segment change (absent
	// before the first): a client takes the segment from it, never from
	// Segment alone (PROTOCOL.md, "Segments").
	Marker *Marker `json:"marker,omitempty"`
	// Opening is the public opening booked with the call, in milliseconds
	// (absent: none): a plan, the server's word. A client that may run the
	// segment offers to open it and closes it that long after the marker
	// that opened it (PROTOCOL.md, "Segments", "A booked opening"); it
	// opens nothing by itself.
	Opening int64 `json:"opening,omitempty"`
}

// MaxOpening bounds Roster.Opening: a day, in milliseconds.
const MaxOpening = 24 * 60 * 60 * 1000

// Marker is a segment marker (PROTOCOL.md, "Segments"): a device whose
// roles may run the public segment states that the call Line/Call enters
// Segment as its Seq-th change, at At (Unix milliseconds), and signs it
// with its key; Credential is the signer's. The server relays it in every
// roster; it cannot make one.
type Marker struct {
	Line       string     `json:"line"`
	Call       string     `json:"call"`
	Segment    string     `json:"segment"`
	Seq        uint32     `json:"seq"`
	At         int64      `json:"at"`
	Credential Credential `json:"credential"`
	Sig        string     `json:"sig"`
}

// RosterEntry is one participant as others see it. Clients verify
// Credential themselves and take the name from it, not from Name.
type RosterEntry struct {
	ID         string     `json:"id"`
	Device     string     `json:"device"`
	Name       string     `json:"name"`
	Credential Credential `json:"credential"`
	// State: "in" (takes part in the media), "waiting" (in the lobby) or
	// "bench" (an adviser not in the room); see PROTOCOL.md, "Lobby and roles".
	State string `json:"state"`
	// Listening: what the member listens to: ListenFloor or one of the
	// call's languages (an interpreter's relay source).
	Listening string      `json:"listening"`
	Tracks    []TrackInfo `json:"tracks"`
	// Interprets: the language of the booth an interpreter sits in; Live:
	// its microphone is the booth's live one; HandOver: it offers the
	// microphone to its partner.
	Interprets string `json:"interprets,omitempty"`
	Live       bool   `json:"live,omitempty"`
	HandOver   bool   `json:"hand_over,omitempty"`
}

// Ended tells every member that the call was ended for everyone (End call
// on the schedule page, the API or the command line); the server then
// closes the connection with CloseEnded. By names who ended it, Reason why.
type Ended struct {
	Type   string `json:"type"`
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// CloseEnded is the WebSocket close status after an "ended" message
// (RFC 6455 §7.4.2: 4000–4999 are for applications). A client that sees it
// does not rejoin on its own: the call is over.
const CloseEnded = 4001

// ErrorMsg is the wire form of an error.
type ErrorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"` // type of the message that caused it, when known
}

// Decode parses one client → server message. It returns one of *Join,
// *Publish, *Unpublish, *SDP (type answer), *Candidate, *Key, *ParticipantAction, *RestartICE, *Leave
// or an interpretation message (*Interpretation, *Interpret, *Listen, *BoothAction), already
// validated, or an *Error with CodeBadMessage or CodeTooLarge.
func Decode(data []byte) (any, error) {
	return decode(data, func(typ string) validator {
		switch typ {
		case TypeJoin:
			return &Join{}
		case TypePublish:
			return &Publish{}
		case TypeUnpublish:
			return &Unpublish{}
		case TypeAnswer:
			return &SDP{}
		case TypeCandidate:
			return &Candidate{}
		case TypeKey:
			return &Key{}
		case TypeLeave:
			return &Leave{}
		case TypeRestartICE:
			return &RestartICE{}
		case TypeRemove, TypeAdmit, TypeCallIn, TypeSendOut:
			return &ParticipantAction{}
		}
		return decodeInterpretation(typ)
	})
}

// DecodeServer parses one server → client message: *Challenge, *Welcome,
// *Roster, *SDP (type offer), *Candidate, *Key, *ErrorMsg or *Ended. Clients use it; it is as strict
// as Decode so that a hostile server cannot feed a client unbounded input.
func DecodeServer(data []byte) (any, error) {
	msg, err := decode(data, func(typ string) validator {
		switch typ {
		case TypeChallenge:
			return &Challenge{}
		case TypeKey:
			return &serverKey{}
		case TypeWelcome:
			return &Welcome{}
		case TypeRoster:
			return &Roster{}
		case TypeOffer:
			return &SDP{}
		case TypeCandidate:
			return &Candidate{}
		case TypeError:
			return &ErrorMsg{}
		case TypeEnded:
			return &Ended{}
		}
		return nil
	})
	if k, ok := msg.(*serverKey); ok {
		return &k.Key, nil
	}
	return msg, err
}

type validator interface{ validate() error }

// decode bounds the size, reads the type, then decodes strictly into the
// struct that forType picks (nil: a type this direction does not carry).
func decode(data []byte, forType func(string) validator) (any, error) {
	if len(data) > MaxMessageBytes {
		return nil, Errorf(CodeTooLarge, ErrTooLarge, "message of %d bytes exceeds %d", len(data), MaxMessageBytes)
	}
	var env Envelope
	// The envelope is decoded leniently (other fields are the type's business).
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, Errorf(CodeBadMessage, ErrInvalid, "not a JSON object: %v", err)
	}
	msg := forType(env.Type)
	if msg == nil {
		return nil, Errorf(CodeBadMessage, ErrUnknownType, "unknown message type %q", truncate(env.Type, 32))
	}
	if env.Type == TypeJoin {
		// The version is checked before the strict decode: a client of
		// another version sends other fields, and must hear "version", not
		// "unknown field".
		var v struct {
			Version int `json:"version"`
		}
		if json.Unmarshal(data, &v) == nil && v.Version != 0 && v.Version != Version {
			return nil, Errorf(CodeVersion, ErrVersion, "protocol version %d is not supported; this server speaks %d", v.Version, Version)
		}
	}
	if err := strictUnmarshal(data, msg); err != nil {
		return nil, Errorf(CodeBadMessage, ErrInvalid, "%s: %v", env.Type, err)
	}
	if err := msg.validate(); err != nil {
		return nil, Errorf(CodeBadMessage, ErrInvalid, "%s: %v", env.Type, err)
	}
	return msg, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
