package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/probe"
	"hotline/internal/readiness"
	"hotline/internal/trust"
)

// probeRoutes serve the readiness probes (docs/API.md, "Readiness probes"):
// a probe posts its signed result; the signature and the credential
// authenticate it, so no API session is needed.
func (a *API) probeRoutes() {
	if a.cfg.Readiness == nil {
		return
	}
	a.mux.HandleFunc("POST /api/probe/results", a.probeResult)
}

func (a *API) probeResult(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, probe.MaxReport))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "a probe report is at most 8192 bytes")
		return
	}
	out, err := a.cfg.Readiness.Submit(r.Context(), body)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, out)
	case errors.Is(err, probe.ErrMalformed):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, readiness.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, readiness.ErrUnknownLine), errors.Is(err, probe.ErrNotProbe), errors.Is(err, probe.ErrBadSignature),
		errors.Is(err, probe.ErrNotSigner), errors.Is(err, trust.ErrMalformed), errors.Is(err, trust.ErrUnknownAuthority),
		errors.Is(err, trust.ErrSideMismatch), errors.Is(err, trust.ErrBadSignature), errors.Is(err, trust.ErrExpired),
		errors.Is(err, trust.ErrNotYetValid):
		writeError(w, http.StatusForbidden, err.Error())
	default:
		a.cfg.Log.Error("probe result", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// goNoGo is an upcoming call's badge (nil without readiness, or on an
// error, which is logged: the schedule is shown without it).
func (a *API) goNoGo(ctx context.Context, c booking.Call) *api.Readiness {
	if a.cfg.Readiness == nil {
		return nil
	}
	r, err := a.cfg.Readiness.GoNoGo(ctx, c.Line.Name, c.ScheduledStart)
	if err != nil {
		a.cfg.Log.Warn("go/no-go", "call", c.ID, "err", err)
		return nil
	}
	return &r
}
