package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// The API session routes (docs/API.md, "Authentication"): a device proves
// it holds the signing key of a credential valid for the line, and gets a
// bearer token for the calls API.
func (a *API) sessionRoutes() {
	a.mux.HandleFunc("POST /api/session", a.openSession)
	a.mux.HandleFunc("GET /api/session", a.authed(a.sessionInfo))
	a.mux.HandleFunc("DELETE /api/session", a.authed(a.closeSession))
}

func (a *API) sessionChallenge(w http.ResponseWriter, r *http.Request) {
	nonce, exp := a.keys.challenge()
	writeJSON(w, http.StatusOK, api.Challenge{Nonce: trust.B64(nonce), Expires: exp.Unix()})
}

// newSession shows an API session (without its token).
func newSession(s session) api.Session {
	c := s.caller
	return api.Session{Expires: s.expires.Unix(), Line: c.Line, Side: c.Side, Name: c.Name, Roles: api.Roles(c.Roles), Device: c.Device}
}

func (a *API) openSession(w http.ResponseWriter, r *http.Request) {
	in, ok := readBody(w, r, api.ParseSignIn)
	if !ok {
		return
	}
	// The nonce is spent by this attempt, whatever comes next.
	if !a.keys.useNonce(in.Nonce) {
		unauthorized(w, "unknown, used or expired nonce: ask POST /api/session/challenge for a fresh one")
		return
	}
	if a.refuseOrigin(w, r, in.Line) {
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
	// The proof signs the name the client reached this server by, as a
	// join proof does: one made for another server (which relayed our
	// challenge) opens nothing here.
	server := a.serverName(r)
	if server == "" {
		unauthorized(w, "the request came by a name or address that is not this server's")
		return
	}
	if err := trust.VerifySessionProof(id.SigKey, in.Nonce, server, in.Line, in.Proof); err != nil {
		unauthorized(w, "the proof does not verify with the credential's key for this server ("+server+
			`; proofs are signed under "hotline-api-session-v2"): `+err.Error())
		return
	}
	if a.revoked(in.Line, id.DeviceID) {
		unauthorized(w, "credential not valid for line "+in.Line+": the device was revoked by its side's authority")
		return
	}
	// A credential whose roles may do nothing the API offers (press,
	// monitor) gets no session: it would only hold memory.
	if !mayUseAPI(id.Roles) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("roles %v have no use for the API: no session", id.Roles))
		return
	}
	c := booking.Caller{Line: in.Line, Side: id.Side, Name: id.Name, Device: id.DeviceID, Roles: id.Roles}
	token, exp := a.keys.open(session{caller: c, expires: id.Expires, origin: crossOriginOf(r)})
	out := newSession(session{caller: c, expires: exp})
	out.Token = token
	writeJSON(w, http.StatusOK, out)
}

func (a *API) sessionInfo(w http.ResponseWriter, r *http.Request, s session) {
	writeJSON(w, http.StatusOK, newSession(s))
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

// apiActions are what the calls API does; a session needs a role allowed
// one of them.
var apiActions = []role.Action{
	role.ViewSchedule, role.ViewHistory, role.RequestCall, role.AcceptCall, role.DeclineCall,
	role.CancelCall, role.StartCall, role.EndCall, role.EditAgenda,
}

func mayUseAPI(rs []role.Role) bool {
	return slices.ContainsFunc(apiActions, func(a role.Action) bool { return role.AllowedAny(rs, a) })
}

// authed runs h for requests that carry the token of an open device
// session, and answers 401 to the others (403 to an officer's session).
func (a *API) authed(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return a.withSession(false, h)
}

// officerAuthed runs h for requests that carry the token of an open
// officer session (403 to a device's session).
func (a *API) officerAuthed(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return a.withSession(true, h)
}

func (a *API) withSession(officer bool, h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
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
		if s.origin != crossOriginOf(r) {
			writeError(w, http.StatusForbidden, "this session was opened from another origin")
			return
		}
		// A device revoked since it signed in loses its session at once.
		if !s.officer && a.revoked(s.caller.Line, s.caller.Device) {
			a.keys.close(token)
			unauthorized(w, "the device was revoked by its side's authority: its session is closed")
			return
		}
		if s.officer != officer {
			what := map[bool]string{false: "a device's session (POST /api/session)", true: "an officer's session (POST /api/session/officer)"}[officer]
			writeError(w, http.StatusForbidden, "this route needs "+what)
			return
		}
		h(w, r, s)
	}
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
	writeError(w, http.StatusUnauthorized, msg)
}
