package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"hotline/internal/api"
	"hotline/internal/audit"
	"hotline/internal/booking"
	"hotline/internal/limit"
	"hotline/internal/protocol"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// RecordBook is where a line's call record is kept (internal/store).
type RecordBook interface {
	Record(ctx context.Context, line string, limit int) ([]string, error)
	AppendRecord(ctx context.Context, e audit.Entry) (audit.Entry, error)
	AddReadout(ctx context.Context, r store.Readout, device string) (store.Readout, error)
	Readouts(ctx context.Context, line string, limit int) ([]store.Readout, error)
	Readout(ctx context.Context, id string) (store.Readout, error)
}

// A device adds at most statementBurst statements to the record at once,
// then one per statementEvery: a member cannot flood the record.
const (
	statementEvery = 2 * time.Second
	statementBurst = 10
	statementKeys  = 4096
)

// statementSkew bounds how far a witness statement's time may be from the
// server's clock.
const statementSkew = 5 * time.Minute

// The call record routes (docs/API.md, "Call record"): the export needs an
// API session on the line; a head or a witness statement is authenticated
// by its own signature.
func (a *API) recordRoutes() {
	if a.cfg.Record == nil || a.cfg.Booking == nil {
		return
	}
	a.statements = limit.NewRate(statementEvery, statementBurst, statementKeys)
	a.mux.HandleFunc("GET /api/lines/{line}/record", a.authed(a.exportRecord))
	a.mux.HandleFunc("POST /api/lines/{line}/record/heads", a.postHead)
	a.mux.HandleFunc("POST /api/lines/{line}/record/witness", a.postWitness)
	a.readoutRoutes()
}

func (a *API) exportRecord(w http.ResponseWriter, r *http.Request, s session) {
	line := r.PathValue("line")
	if line != s.caller.Line {
		writeError(w, http.StatusForbidden, "your API session is for line "+s.caller.Line)
		return
	}
	entries, err := a.cfg.Record.Record(r.Context(), line, audit.MaxEntries)
	if err != nil {
		a.callError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, audit.Export{Record: 1, Line: line, Entries: entries})
}

// readStatement reads a signed statement's body and the line's pins.
func (a *API) readStatement(w http.ResponseWriter, r *http.Request) (string, audit.Signed, []trust.Pin, bool) {
	line := r.PathValue("line")
	if protocol.ValidID("line", line) != nil {
		writeError(w, http.StatusNotFound, "no such line")
		return "", audit.Signed{}, nil, false
	}
	if a.refuseOrigin(w, r, line) {
		return "", audit.Signed{}, nil, false
	}
	st, ok := readBody(w, r, audit.ParseSigned)
	if !ok {
		return "", st, nil, false
	}
	pins, err := a.cfg.Booking.Pins(r.Context(), line)
	if err != nil {
		a.callError(w, err)
		return "", st, nil, false
	}
	return line, st, pins, true
}

// postHead appends an operator's signed head, if it matches the record.
func (a *API) postHead(w http.ResponseWriter, r *http.Request) {
	line, st, pins, ok := a.readStatement(w, r)
	if !ok {
		return
	}
	h, id, err := audit.OpenHead(st, pins)
	if err != nil {
		writeError(w, http.StatusForbidden, "signed head refused: "+err.Error())
		return
	}
	if h.Line != line {
		writeError(w, http.StatusBadRequest, "the head is of line "+h.Line)
		return
	}
	// The head must be of an entry the record holds, with its hash: a
	// head that does not match is not appended (the signer's own copy
	// shows the mismatch).
	entries, err := a.cfg.Record.Record(r.Context(), line, int(min(h.Seq, audit.MaxEntries)))
	if err != nil {
		a.callError(w, err)
		return
	}
	if uint64(len(entries)) < h.Seq || trust.B64(audit.Hash([]byte(entries[h.Seq-1]))) != h.Hash {
		writeError(w, http.StatusConflict, fmt.Sprintf("the record's entry %d is not the one signed", h.Seq))
		return
	}
	a.appendStatement(w, r, audit.Entry{Line: line, Kind: audit.Head, Call: "", Device: id.DeviceID, Name: id.Name, Side: id.Side, Statement: &st})
}

// postWitness appends a member's witness statement: signed by the device
// of the participant it names, who is in the call now.
func (a *API) postWitness(w http.ResponseWriter, r *http.Request) {
	line, st, pins, ok := a.readStatement(w, r)
	if !ok {
		return
	}
	wb, id, err := audit.OpenWitness(st, pins)
	if err != nil {
		writeError(w, http.StatusForbidden, "witness statement refused: "+err.Error())
		return
	}
	if d := time.Since(time.Unix(wb.At, 0)); wb.Line != line || d > statementSkew || d < -statementSkew {
		writeError(w, http.StatusBadRequest, "the statement is of another line, or not of now")
		return
	}
	m, in := a.cfg.Registry.Member(booking.LiveName(line, wb.Call), wb.Participant)
	if !in || m.Device != id.DeviceID {
		writeError(w, http.StatusForbidden, "witness statement refused: its signer is not participant "+wb.Participant+" of call "+wb.Call)
		return
	}
	a.appendStatement(w, r, audit.Entry{Line: line, Kind: audit.Witness, Call: wb.Call, Participant: wb.Participant,
		Device: id.DeviceID, Name: id.Name, Side: id.Side, Statement: &st})
}

// tooMany answers 429 when device has added too many statements lately.
func (a *API) tooMany(w http.ResponseWriter, device string) bool {
	if a.statements.Allow(device) {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(statementEvery/time.Second)))
	writeError(w, http.StatusTooManyRequests, "too many statements from this device: wait")
	return true
}

func (a *API) appendStatement(w http.ResponseWriter, r *http.Request, e audit.Entry) {
	if a.tooMany(w, e.Device) {
		return
	}
	e.At = time.Now().UnixMilli()
	e, err := a.cfg.Record.AppendRecord(r.Context(), e)
	if err != nil {
		a.callError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.RecordAppended{Seq: e.Seq})
}
