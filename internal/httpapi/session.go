package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"hotline/internal/booking"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// The API session routes (docs/API.md, "Authentication"): a device proves
// it holds the signing key of a credential valid for the line, and gets a
// bearer token for the calls API.
func (a *API) sessionRoutes() {
	a.mux.HandleFunc("POST /api/session/challenge", a.sessionChallenge)
	a.mux.HandleFunc("POST /api/session", a.openSession)
	a.mux.HandleFunc("GET /api/session", a.authed(a.sessionInfo))
	a.mux.HandleFunc("DELETE /api/session", a.authed(a.closeSession))
}

func (a *API) sessionChallenge(w http.ResponseWriter, r *http.Request) {
	nonce, exp := a.keys.challenge()
	writeJSON(w, http.StatusOK, map[string]any{"nonce": trust.B64(nonce), "expires": exp.Unix()})
}

// sessionJSON answers POST and GET /api/session.
type sessionJSON struct {
	Token   string   `json:"token,omitempty"`
	Expires int64    `json:"expires"`
	Line    string   `json:"line"`
	Side    string   `json:"side"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Device  string   `json:"device"`
}

func newSessionJSON(s session) sessionJSON {
	c := s.caller
	roles := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = string(r)
	}
	return sessionJSON{Expires: s.expires.Unix(), Line: c.Line, Side: c.Side, Name: c.Name, Roles: roles, Device: c.Device}
}

func (a *API) openSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Line       string           `json:"line"`
		Credential trust.Credential `json:"credential"`
		Nonce      string           `json:"nonce"`
		Proof      string           `json:"proof"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if err := protocol.ValidID("line", in.Line); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	nonce, errN := trust.DecodeB64(in.Nonce)
	proof, errP := trust.DecodeB64(in.Proof)
	if errN != nil || errP != nil || len(nonce) != trust.NonceSize || len(proof) != trust.SignatureSize {
		writeError(w, http.StatusBadRequest, "nonce must be 32 and proof 64 bytes, in base64url without padding")
		return
	}
	// The nonce is spent by this attempt, whatever comes next.
	if !a.keys.useNonce(nonce) {
		unauthorized(w, "unknown, used or expired nonce: ask POST /api/session/challenge for a fresh one")
		return
	}
	pins, err := a.cfg.Booking.Pins(r.Context(), in.Line)
	if errors.Is(err, booking.ErrNotFound) {
		unauthorized(w, "unknown line "+in.Line)
		return
	}
	if err != nil {
		a.callError(w, err)
		return
	}
	id, err := trust.VerifyCredential(in.Credential, pins, a.keys.now())
	if err != nil {
		unauthorized(w, "credential not valid for line "+in.Line+": "+err.Error())
		return
	}
	if err := trust.VerifySessionProof(id.SigKey, nonce, in.Line, proof); err != nil {
		unauthorized(w, "the proof does not verify with the credential's key: "+err.Error())
		return
	}
	c := booking.Caller{Line: in.Line, Side: id.Side, Name: id.Name, Device: id.DeviceID, Roles: id.Roles}
	token, exp := a.keys.open(c, id.Expires)
	out := newSessionJSON(session{caller: c, expires: exp})
	out.Token = token
	writeJSON(w, http.StatusOK, out)
}

func (a *API) sessionInfo(w http.ResponseWriter, r *http.Request, s session) {
	writeJSON(w, http.StatusOK, newSessionJSON(s))
}

func (a *API) closeSession(w http.ResponseWriter, r *http.Request, s session) {
	token, _ := bearer(r)
	a.keys.close(token)
	w.WriteHeader(http.StatusNoContent)
}

// bearer is the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 128 {
		return "", false
	}
	return token, true
}

// authed runs h for requests that carry the token of an open session, and
// answers 401 to the others.
func (a *API) authed(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			unauthorized(w, "authentication required: send Authorization: Bearer <token> from POST /api/session")
			return
		}
		s, ok := a.keys.lookup(token)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hotline", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown or expired session token: open a new session")
			return
		}
		h(w, r, s)
	}
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
	writeError(w, http.StatusUnauthorized, msg)
}
