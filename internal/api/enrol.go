package api

import (
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// The enrolment routes' shapes (docs/PROTOCOL.md, "Enrolment over HTTP").

// Pin is a side's authority key as a device pins it.
type Pin struct {
	Side        string `json:"side"`
	Key         string `json:"key"` // b64u Ed25519 public key
	Fingerprint string `json:"fingerprint"`
}

// NewPins shows a line's pins.
func NewPins(ps []trust.Pin) []Pin {
	out := make([]Pin, len(ps))
	for i, p := range ps {
		out[i] = Pin{Side: p.Side, Key: trust.B64(p.Key), Fingerprint: trust.Fingerprint(p.Key)}
	}
	return out
}

// LineInfo answers GET /api/lines/{name}; `hotline line show --json` prints
// it and `hotline device install --pins` reads it.
type LineInfo struct {
	Name  string `json:"name"`
	Sides []Pin  `json:"sides"`
}

// EnrolBody is the body of POST /api/enrol: a demo link's token and the
// device's signed request.
type EnrolBody struct {
	Token   string        `json:"token"`
	Request trust.Request `json:"request"`
}

// MaxToken bounds a demo link's token.
const MaxToken = 128

// ParseEnrol decodes a POST /api/enrol body; the request is verified by
// internal/enrol.
func ParseEnrol(data []byte) (EnrolBody, error) {
	var b EnrolBody
	if err := Decode(data, &b); err != nil {
		return EnrolBody{}, err
	}
	if b.Token == "" || len(b.Token) > MaxToken {
		return EnrolBody{}, invalid("token is missing or too long")
	}
	return b, nil
}

// Enrolled answers POST /api/enrol: the credential the demo authority
// signed, the line's pins, and the demo's call.
type Enrolled struct {
	Credential trust.Credential `json:"credential"`
	Pins       []Pin            `json:"pins"`
	Line       string           `json:"line"`
	Call       string           `json:"call,omitempty"`
}

// SubmitBody is the body of POST /api/requests: a request for the side's
// officer.
type SubmitBody struct {
	Line    string        `json:"line"`
	Request trust.Request `json:"request"`
}

// ParseSubmit decodes a POST /api/requests body.
func ParseSubmit(data []byte) (SubmitBody, error) {
	var b SubmitBody
	if err := Decode(data, &b); err != nil {
		return SubmitBody{}, err
	}
	if err := protocol.ValidID("line name", b.Line); err != nil {
		return SubmitBody{}, invalid("%v", err)
	}
	return b, nil
}

// Submitted answers POST /api/requests.
type Submitted struct {
	ID   string `json:"id"`
	Pins []Pin  `json:"pins"`
}

// Pending is a request waiting for an officer (public data only).
type Pending struct {
	ID      string        `json:"id"`
	Request trust.Request `json:"request"`
	Created int64         `json:"created"`
}

// PendingList answers GET /api/requests?line=L&side=S.
type PendingList struct {
	Requests []Pending `json:"requests"`
}

// ApproveBody is the body of POST /api/requests/{id}/credential.
type ApproveBody struct {
	Credential trust.Credential `json:"credential"`
}

// ParseApprove decodes a POST /api/requests/{id}/credential body; the
// credential is verified by internal/enrol.
func ParseApprove(data []byte) (ApproveBody, error) {
	var b ApproveBody
	err := Decode(data, &b)
	return b, err
}

// Request states, as RequestStatus and the answer to an approval say them.
const (
	StatePending  = "pending"
	StateApproved = "approved"
)

// RequestStatus answers GET /api/requests/{id} (Credential and Pins once
// approved) and, with State alone, POST /api/requests/{id}/credential.
type RequestStatus struct {
	State      string            `json:"state"`
	Credential *trust.Credential `json:"credential,omitempty"`
	Pins       []Pin             `json:"pins,omitempty"`
	Line       string            `json:"line,omitempty"`
}
