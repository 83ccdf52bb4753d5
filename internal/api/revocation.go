package api

import "hotline/internal/trust"

// RevocationBody is the body of POST /api/lines/{name}/revocations
// (docs/API.md, "Revocation"): a side's revocation list as its authority
// signed it (hotline authority revoke). It needs no session: the
// authority's signature is the authorisation.
type RevocationBody struct {
	Revocation trust.Revocation `json:"revocation"`
}

// ParseRevocation decodes a POST /api/lines/{name}/revocations body; the
// list is verified by internal/revocation.
func ParseRevocation(data []byte) (RevocationBody, error) {
	var b RevocationBody
	if err := Decode(data, &b); err != nil {
		return b, err
	}
	if b.Revocation.Body == "" || b.Revocation.Sig == "" {
		return b, invalid("revocation: body and sig are required")
	}
	return b, nil
}

// RevocationState answers it: the side's list now in force.
type RevocationState struct {
	Line    string   `json:"line"`
	Side    string   `json:"side"`
	Serial  int64    `json:"serial"`
	Devices []string `json:"devices"`
}
