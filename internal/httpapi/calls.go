package httpapi

import (
	"net/http"
	"strings"
	"time"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/protocol"
	"hotline/internal/schedule"
)

// The calls API (docs/API.md): every route needs an API session.
func (a *API) callRoutes() {
	if a.cfg.Booking == nil {
		return
	}
	a.sessionRoutes()
	a.mux.HandleFunc("GET /api/calls", a.authed(a.listCalls(false)))
	a.mux.HandleFunc("POST /api/calls", a.authed(a.requestCall))
	a.mux.HandleFunc("GET /api/calls/{id}", a.authed(a.showCall))
	a.mux.HandleFunc("POST /api/calls/{id}/{event}", a.authed(a.transition))
	a.mux.HandleFunc("GET /api/history", a.authed(a.listCalls(true)))
	a.mux.HandleFunc("GET /calls/{file}", a.authed(a.callICS))
}

// transitions are the events a caller may post; request is POST /api/calls.
var transitions = map[string]schedule.Event{
	"accept":  schedule.EventAccept,
	"decline": schedule.EventDecline,
	"cancel":  schedule.EventCancel,
	"start":   schedule.EventStart,
	"end":     schedule.EventEnd,
}

// lineParam is the line a list is asked for: ?line=L, or the session's.
func lineParam(r *http.Request, s session) string {
	if l := r.URL.Query().Get("line"); l != "" {
		return l
	}
	return s.caller.Line
}

// listCalls answers GET /api/calls (upcoming and live calls) and, with
// past set, GET /api/history (past calls with who took part).
func (a *API) listCalls(past bool) func(http.ResponseWriter, *http.Request, session) {
	return func(w http.ResponseWriter, r *http.Request, s session) {
		ctx, line, now := r.Context(), lineParam(r, s), time.Now()
		out := api.CallList{Calls: []api.Call{}}
		var l schedule.Line
		var err error
		if past {
			var ps []booking.Past
			l, ps, err = a.cfg.Booking.History(ctx, s.caller, line)
			for _, p := range ps {
				out.Calls = append(out.Calls, p.API(now))
			}
		} else {
			var cs []booking.Call
			l, cs, err = a.cfg.Booking.List(ctx, s.caller, line)
			for _, c := range cs {
				ac := c.API(now)
				ac.Readiness = a.goNoGo(ctx, c)
				out.Calls = append(out.Calls, ac)
			}
		}
		if err != nil {
			a.callError(w, err)
			return
		}
		out.Line = api.NewLine(l)
		writeJSON(w, http.StatusOK, out)
	}
}

func (a *API) requestCall(w http.ResponseWriter, r *http.Request, s session) {
	req, ok := readBody(w, r, api.ParseRequest)
	if !ok {
		return
	}
	c, note, err := a.cfg.Booking.Request(r.Context(), s.caller, req)
	if err != nil {
		a.callError(w, err)
		return
	}
	out := c.API(time.Now())
	out.Note = note
	w.Header().Set("Location", "/api/calls/"+c.ID)
	writeJSON(w, http.StatusCreated, out)
}

// callID is the {id} of the path, or "" when it cannot be a call's.
func callID(r *http.Request) string {
	id := r.PathValue("id")
	if protocol.ValidID("call id", id) != nil {
		return ""
	}
	return id
}

func (a *API) showCall(w http.ResponseWriter, r *http.Request, s session) {
	id := callID(r)
	if id == "" {
		writeError(w, http.StatusNotFound, "no such call")
		return
	}
	c, err := a.cfg.Booking.View(r.Context(), s.caller, id)
	if err != nil {
		a.callError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.API(time.Now()))
}

func (a *API) transition(w http.ResponseWriter, r *http.Request, s session) {
	id := callID(r)
	ev, ok := transitions[r.PathValue("event")]
	if id == "" || !ok {
		writeError(w, http.StatusNotFound, "no such call or action: POST /api/calls/{id}/accept, decline, cancel, start or end")
		return
	}
	// The body is optional: no body at all is an empty one.
	var in api.Transition
	if r.ContentLength != 0 {
		if in, ok = readBody(w, r, api.ParseTransition); !ok {
			return
		}
	}
	c, err := a.cfg.Booking.Transition(r.Context(), s.caller, id, ev, in)
	if err != nil {
		a.callError(w, err)
		return
	}
	if why, ends := liveEnds[ev]; ends && a.cfg.Registry != nil {
		// Ending (or calling off) the booked call ends its live call
		// everywhere: every member is told who and why, and is dropped
		// (docs/PROTOCOL.md, "End of a call"). The booking is written
		// first, so that the gate refuses a member who tries to come back.
		a.cfg.Registry.End(booking.LiveName(c.Line.Name, c.ID), s.caller.Name+" ("+s.caller.Side+")", why)
	}
	writeJSON(w, http.StatusOK, c.API(time.Now()))
}

// liveEnds are the transitions that end the live call, with the reason its
// members are given.
var liveEnds = map[schedule.Event]string{
	schedule.EventEnd:    "the call was ended",
	schedule.EventCancel: "the call was called off",
}

// callICS serves /calls/{id}.ics. It takes the same bearer token as the
// API, not a token in the URL: URLs end up in logs, browser history and
// Referer headers, and a calendar feed's link would outlive the session.
// Clients download the file and import it.
func (a *API) callICS(w http.ResponseWriter, r *http.Request, s session) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok || protocol.ValidID("call id", id) != nil {
		writeError(w, http.StatusNotFound, "no such calendar file: /calls/{id}.ics")
		return
	}
	ics, err := a.cfg.Booking.ICS(r.Context(), s.caller, id)
	if err != nil {
		a.callError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.ics"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(ics)
}

// callStatuses maps the workflow's errors to statuses: the one place where
// that happens for the calls API.
var callStatuses = []errorStatus{
	{booking.ErrInvalid, http.StatusBadRequest},
	{booking.ErrForbidden, http.StatusForbidden},
	{booking.ErrNotFound, http.StatusNotFound},
	{booking.ErrConflict, http.StatusConflict},
}

func (a *API) callError(w http.ResponseWriter, err error) {
	a.writeFailure(w, "calls API", err, callStatuses)
}
