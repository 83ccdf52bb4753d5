package httpapi

import (
	"errors"
	"net/http"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/call"
	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// The segment routes (docs/API.md, "Segments"): read a live call's segment,
// and post a marker signed by the caller's own device to change it.
func (a *API) segmentRoutes() {
	if a.cfg.Booking == nil || a.cfg.Registry == nil {
		return
	}
	a.mux.HandleFunc("GET /api/live/{line}/{call}/segment", a.authed(a.showSegment))
	a.mux.HandleFunc("POST /api/live/{line}/{call}/segment", a.authed(a.postSegment))
}

// segmentStatuses maps the segment's errors to statuses.
var segmentStatuses = []errorStatus{
	{call.ErrNoCall, http.StatusNotFound},
	{call.ErrMarkerSeq, http.StatusConflict},
	{call.ErrSameSegment, http.StatusConflict},
	{marker.ErrWrongCall, http.StatusBadRequest},
	{marker.ErrNotAllowed, http.StatusForbidden},
	{trust.ErrMalformed, http.StatusBadRequest},
	{booking.ErrNotFound, http.StatusNotFound},
}

// liveName is the live call's name of the path, or false (404 written)
// when the caller's session is for another line.
func liveName(w http.ResponseWriter, r *http.Request, s session) (line, name string, ok bool) {
	line, c := r.PathValue("line"), r.PathValue("call")
	if line != s.caller.Line || protocol.ValidID("call", c) != nil {
		writeError(w, http.StatusNotFound, "no such live call on the session's line")
		return "", "", false
	}
	return line, c, true
}

func (a *API) showSegment(w http.ResponseWriter, r *http.Request, s session) {
	line, c, ok := liveName(w, r, s)
	if !ok {
		return
	}
	seg, m, err := a.cfg.Registry.SegmentOf(line + "/" + c)
	if err != nil {
		a.writeFailure(w, "segment", err, segmentStatuses)
		return
	}
	writeJSON(w, http.StatusOK, segmentOf(line, c, seg, m))
}

func segmentOf(line, c, seg string, m *protocol.Marker) api.Segment {
	out := api.Segment{Line: line, Call: c, Segment: seg, Marker: m}
	if m != nil {
		out.Seq = m.Seq
	}
	return out
}

// postSegment relays a marker: the server checks it as every client will
// (so that a bad one is refused with a reason rather than ignored by
// everyone), and that the caller signed it with this session's device.
func (a *API) postSegment(w http.ResponseWriter, r *http.Request, s session) {
	line, c, ok := liveName(w, r, s)
	if !ok {
		return
	}
	m, ok := readBody(w, r, api.ParseMarker)
	if !ok {
		return
	}
	pins, err := a.cfg.Booking.Pins(r.Context(), line)
	if err != nil {
		a.writeFailure(w, "segment", err, segmentStatuses)
		return
	}
	who, err := marker.Verify(m, line, c, pins, a.keys.now())
	if errors.Is(err, trust.ErrBadSignature) {
		writeError(w, http.StatusBadRequest, "the marker's signature does not verify: "+err.Error())
		return
	}
	if err != nil {
		a.writeFailure(w, "segment", err, segmentStatuses)
		return
	}
	if who.DeviceID != s.caller.Device {
		writeError(w, http.StatusForbidden, "a marker is posted by the device that signed it")
		return
	}
	if err := a.cfg.Registry.SetSegment(line+"/"+c, m); err != nil {
		a.writeFailure(w, "segment", err, segmentStatuses)
		return
	}
	a.cfg.Log.Info("segment", "call", line+"/"+c, "segment", m.Segment, "seq", m.Seq, "by", who.Name)
	writeJSON(w, http.StatusOK, segmentOf(line, c, m.Segment, &m))
}
