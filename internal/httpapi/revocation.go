package httpapi

import (
	"errors"
	"net/http"

	"hotline/internal/api"
	"hotline/internal/revocation"
	"hotline/internal/trust"
)

// revocationRoutes: a side's authority posts its signed revocation list
// (docs/API.md, "Revocation"). The signature is the authorisation, so the
// route needs no session; the server stores the list only if it verifies
// against the line's pins and its serial is newer, and applies it at once.
func (a *API) revocationRoutes() {
	a.mux.HandleFunc("POST /api/lines/{name}/revocations", a.submitRevocation)
}

func (a *API) submitRevocation(w http.ResponseWriter, r *http.Request) {
	in, ok := readBody(w, r, api.ParseRevocation)
	if !ok {
		return
	}
	line := r.PathValue("name")
	l, err := a.cfg.Revocation.Submit(r.Context(), line, in.Revocation)
	switch {
	case err == nil:
		devices := l.Devices
		if devices == nil {
			devices = []string{}
		}
		writeJSON(w, http.StatusOK, api.RevocationState{Line: l.Line, Side: l.Side, Serial: l.Serial, Devices: devices})
	case errors.Is(err, revocation.ErrUnknownLine):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, trust.ErrOldSerial):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, trust.ErrMalformed), errors.Is(err, trust.ErrLineMismatch):
		writeError(w, http.StatusBadRequest, "revocation list: "+err.Error())
	case errors.Is(err, trust.ErrUnknownAuthority), errors.Is(err, trust.ErrSideMismatch), errors.Is(err, trust.ErrBadSignature):
		writeError(w, http.StatusForbidden, "revocation list not signed by an authority of line "+line+": "+err.Error())
	default:
		a.reply(w, nil, err)
	}
}

// revoked reports whether a device's credential was revoked on line.
func (a *API) revoked(line, device string) bool {
	return a.cfg.Revocation != nil && a.cfg.Revocation.Revoked(line, device)
}
