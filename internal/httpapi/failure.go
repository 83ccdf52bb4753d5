package httpapi

import (
	"context"
	"errors"
	"net/http"
)

// errorStatus pairs a sentinel error with the status it becomes.
type errorStatus struct {
	err    error
	status int
}

// writeFailure answers err with the status of the first sentinel in table
// that it wraps, and its message. An error of no listed kind is a fault of
// the server: it is logged, and the client gets 500 without the details.
func (a *API) writeFailure(w http.ResponseWriter, what string, err error, table []errorStatus) {
	for _, e := range table {
		if errors.Is(err, e.err) {
			writeError(w, e.status, err.Error())
			return
		}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away mid-request: nobody to answer, nothing wrong.
		a.cfg.Log.Debug(what, "err", err)
		return
	}
	a.cfg.Log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}
