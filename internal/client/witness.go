package client

import (
	"time"

	"hotline/internal/audit"
	"hotline/internal/trust"
)

// Witness signs a statement of what this endpoint sees now (docs/PROTOCOL.md,
// "Witness statements"): its participant id, its own sender key's KID and
// commitment, the fingerprint of the members it verified, the verification
// code (empty while pending) and the segment it is in. The caller hands it
// to the server (apiclient.PostWitness), which appends it to the line's
// call record.
func (c *Client) Witness(segment string) (audit.Signed, error) {
	kid, commitment, keys, code := c.keys.Witness()
	body := audit.WitnessBody{
		V: audit.Version, Line: c.cfg.Line, Call: c.cfg.Call, Participant: c.ID(),
		KID: kid, Commitment: trust.B64(commitment), Roster: trust.B64(audit.RosterFingerprint(keys)),
		Code: code, Segment: segment, At: time.Now().Unix(),
	}
	return audit.Sign(c.cfg.Device, audit.LabelWitness, &body)
}
