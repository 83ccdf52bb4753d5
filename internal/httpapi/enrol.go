package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/enrol"
	"hotline/internal/limit"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// The enrolment routes (docs/PROTOCOL.md, "Enrolment over HTTP").
func (a *API) enrolRoutes() {
	if a.cfg.Enrol == nil {
		return
	}
	a.mux.HandleFunc("POST /api/enrol", a.enrolDemo)
	a.mux.HandleFunc("POST /api/requests", a.submitRequest)
	a.mux.HandleFunc("GET /api/requests/{id}", a.requestStatus)
	a.mux.HandleFunc("POST /api/requests/{id}/credential", a.approveRequest)
	a.mux.HandleFunc("GET /api/lines/{name}", a.lineInfo)
	// The side's officer only (docs/API.md, "Officer sessions"): the
	// pending list holds names and keys a stranger has no business reading.
	a.mux.HandleFunc("POST /api/session/officer", a.openOfficerSession)
	a.mux.HandleFunc("GET /api/requests", a.officerAuthed(a.pendingRequests))
	a.mux.HandleFunc("POST /api/requests/{id}/reject", a.officerAuthed(a.rejectRequest))
}

// openOfficerSession signs a side's officer in: the authority key the
// server pins for that side of the line signed a fresh challenge.
func (a *API) openOfficerSession(w http.ResponseWriter, r *http.Request) {
	in, ok := readBody(w, r, api.ParseOfficerSignIn)
	if !ok {
		return
	}
	if a.refuseOrigin(w, r, in.Line) {
		return
	}
	if !a.keys.useNonce(in.Nonce) {
		unauthorized(w, "unknown, used or expired nonce: ask POST /api/session/challenge for a fresh one")
		return
	}
	if err := a.cfg.Enrol.VerifyOfficer(r.Context(), in.Line, in.Side, in.Nonce, in.Proof); err != nil {
		if errors.Is(err, enrol.ErrNotFound) || errors.Is(err, trust.ErrBadSignature) || errors.Is(err, trust.ErrMalformed) {
			unauthorized(w, "not the authority of side "+in.Side+" on line "+in.Line+": "+err.Error())
			return
		}
		a.reply(w, nil, err)
		return
	}
	token, exp := a.keys.open(session{caller: booking.Caller{Line: in.Line, Side: in.Side, Name: "officer of " + in.Side}, officer: true, origin: crossOriginOf(r)})
	writeJSON(w, http.StatusOK, api.OfficerSession{Token: token, Expires: exp.Unix(), Line: in.Line, Side: in.Side})
}

func (a *API) enrolDemo(w http.ResponseWriter, r *http.Request) {
	in, ok := readBody(w, r, api.ParseEnrol)
	if !ok {
		return
	}
	res, err := a.cfg.Enrol.Demo(r.Context(), in.Token, in.Request)
	a.reply(w, res, err)
}

func (a *API) submitRequest(w http.ResponseWriter, r *http.Request) {
	// Anyone may ask, so each address may ask only so often: a stranger
	// must not fill a side's queue of pending requests.
	if a.cfg.EnrolLimit != nil && !a.cfg.EnrolLimit.Allow(limit.AddressKey(r.RemoteAddr)) {
		if a.cfg.Metrics != nil {
			a.cfg.Metrics.RateLimited("enrol_request")
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.cfg.EnrolLimit.Every().Seconds()))))
		writeError(w, http.StatusTooManyRequests, "too many enrolment requests from this address; try again later")
		return
	}
	in, ok := readBody(w, r, api.ParseSubmit)
	if !ok || a.refuseOrigin(w, r, in.Line) {
		return
	}
	res, err := a.cfg.Enrol.Submit(r.Context(), in.Line, in.Request)
	if err == nil {
		w.Header().Set("Location", "/api/requests/"+res.ID)
		writeJSON(w, http.StatusCreated, res)
		return
	}
	a.reply(w, nil, err)
}

// pendingRequests lists the requests of the officer's side; ?line= and
// ?side=, if given, must be the session's.
func (a *API) pendingRequests(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	if (q.Has("line") && q.Get("line") != s.caller.Line) || (q.Has("side") && q.Get("side") != s.caller.Side) {
		writeError(w, http.StatusForbidden, "an officer session lists its own side's requests only")
		return
	}
	ps, err := a.cfg.Enrol.PendingFor(r.Context(), s.caller.Line, s.caller.Side)
	a.reply(w, api.PendingList{Requests: ps}, err)
}

func (a *API) rejectRequest(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	if protocol.ValidID("request id", id) != nil {
		writeError(w, http.StatusNotFound, "no such request")
		return
	}
	err := a.cfg.Enrol.Reject(r.Context(), id, s.caller.Line, s.caller.Side)
	a.reply(w, api.RequestStatus{State: api.StateRejected}, err)
}

func (a *API) requestStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if protocol.ValidID("request id", id) != nil {
		writeError(w, http.StatusNotFound, "no such request")
		return
	}
	st, err := a.cfg.Enrol.StatusOf(r.Context(), id)
	a.reply(w, st, err)
}

func (a *API) approveRequest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if protocol.ValidID("request id", id) != nil {
		writeError(w, http.StatusNotFound, "no such request")
		return
	}
	in, ok := readBody(w, r, api.ParseApprove)
	if !ok {
		return
	}
	err := a.cfg.Enrol.Approve(r.Context(), id, in.Credential)
	a.reply(w, api.RequestStatus{State: api.StateApproved}, err)
}

func (a *API) lineInfo(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if protocol.ValidID("line name", name) != nil {
		writeError(w, http.StatusNotFound, "no such line")
		return
	}
	if a.refuseOrigin(w, r, name) {
		return
	}
	li, err := a.cfg.Enrol.Line(r.Context(), name)
	a.reply(w, li, err)
}

// reply writes v, or maps err to a status: the one place where enrolment
// errors become HTTP statuses.
func (a *API) reply(w http.ResponseWriter, v any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, enrol.ErrInvalid), errors.Is(err, enrol.ErrMismatch), errors.Is(err, enrol.ErrNoDemo):
		status = http.StatusBadRequest
	case errors.Is(err, enrol.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, enrol.ErrGone):
		status = http.StatusGone
	case errors.Is(err, enrol.ErrNotPending):
		status = http.StatusConflict
	case errors.Is(err, enrol.ErrTooMany):
		status = http.StatusTooManyRequests
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		a.cfg.Log.Error("enrolment", "err", err)
		msg = "internal error"
	}
	writeError(w, status, msg)
}

// readBody reads a bounded JSON body and parses it with one of
// internal/api's parsers (strict, bounded: 400 for anything they refuse).
// Only application/json is accepted: a cross-site form cannot send it
// without a CORS preflight, which this server never grants.
func readBody[T any](w http.ResponseWriter, r *http.Request, parse func([]byte) (T, error)) (T, bool) {
	var zero T
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return zero, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", api.MaxBody))
		return zero, false
	}
	v, err := parse(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return zero, false
	}
	return v, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers a refusal with api.Error's body.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.Error{Message: msg})
}
