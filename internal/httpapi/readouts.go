package httpapi

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"html/template"
	"net/http"
	"time"

	"hotline/internal/api"
	"hotline/internal/audit"
	"hotline/internal/markdown"
	"hotline/internal/protocol"
	"hotline/internal/store"
)

// MaxReadouts bounds the readouts one list, page or feed shows.
const MaxReadouts = 500

// The readout routes (docs/API.md, "Readouts"): publishing is
// authenticated by the readout's own signature; reading is public, since
// readouts are press releases.
func (a *API) readoutRoutes() {
	if a.cfg.Record == nil || a.cfg.Booking == nil {
		return
	}
	a.mux.HandleFunc("POST /api/lines/{line}/readouts", a.publishReadout)
	a.mux.HandleFunc("GET /api/lines/{line}/readouts", a.listReadouts)
	a.mux.HandleFunc("GET /lines/{line}/readouts.atom", a.readoutFeed)
	a.mux.HandleFunc("GET /lines/{line}/readouts", a.readoutPage)
}

func (a *API) publishReadout(w http.ResponseWriter, r *http.Request) {
	line, st, pins, ok := a.readStatement(w, r)
	if !ok {
		return
	}
	rb, id, err := audit.OpenReadout(st, pins)
	if err != nil {
		writeError(w, http.StatusForbidden, "readout refused: "+err.Error())
		return
	}
	if d := time.Since(time.Unix(rb.Published, 0)); rb.Line != line || d > statementSkew || d < -statementSkew {
		writeError(w, http.StatusBadRequest, "the readout is of another line, or not published now")
		return
	}
	ctx := r.Context()
	if c, err := a.cfg.Booking.Call(ctx, rb.Call); err != nil || c.Line.Name != line {
		writeError(w, http.StatusNotFound, "no call "+rb.Call+" on line "+line)
		return
	}
	if rb.Corrects != "" {
		old, err := a.cfg.Record.Readout(ctx, rb.Corrects)
		if err != nil || old.Line != line || old.Call != rb.Call || old.Side != rb.Side {
			writeError(w, http.StatusBadRequest, "corrects names no readout of "+rb.Side+" on call "+rb.Call)
			return
		}
	}
	if a.tooMany(w, id.DeviceID) {
		return
	}
	rid, _ := audit.ReadoutID(st) // the body decoded in OpenReadout
	signed, _ := json.Marshal(st)
	out, err := a.cfg.Record.AddReadout(ctx, store.Readout{ID: rid, Line: line, Call: rb.Call, Side: rb.Side, Name: id.Name,
		Published: time.Unix(rb.Published, 0).UTC(), Corrects: rb.Corrects, Signed: string(signed)}, id.DeviceID)
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "readout "+rid+" is already published")
		return
	}
	if err != nil {
		a.callError(w, err)
		return
	}
	w.Header().Set("Location", "/lines/"+line+"/readouts#r-"+rid)
	writeJSON(w, http.StatusCreated, api.ReadoutPublished{ID: rid, Seq: out.Seq})
}

// readouts loads a line's readouts for showing; false: answered already.
func (a *API) readouts(w http.ResponseWriter, r *http.Request) (string, []api.Readout, bool) {
	line := r.PathValue("line")
	if protocol.ValidID("line", line) != nil {
		writeError(w, http.StatusNotFound, "no such line")
		return "", nil, false
	}
	if _, err := a.cfg.Booking.Pins(r.Context(), line); err != nil {
		a.callError(w, err)
		return "", nil, false
	}
	rs, err := a.cfg.Record.Readouts(r.Context(), line, MaxReadouts)
	if err != nil {
		a.callError(w, err)
		return "", nil, false
	}
	out := []api.Readout{}
	for _, x := range rs {
		st, err := audit.ParseSigned([]byte(x.Signed))
		var body audit.ReadoutBody
		if err == nil {
			body, err = audit.PeekReadout(st)
		}
		if err != nil { // stored only after verification: a changed row
			a.cfg.Log.Error("readout unreadable", "id", x.ID, "err", err)
			continue
		}
		out = append(out, api.Readout{ID: x.ID, Call: x.Call, Side: x.Side, Name: x.Name, Published: x.Published.Unix(),
			Corrects: x.Corrects, Text: body.Text, Seq: x.Seq, Signed: json.RawMessage(x.Signed)})
	}
	return line, out, true
}

func (a *API) listReadouts(w http.ResponseWriter, r *http.Request) {
	if line, rs, ok := a.readouts(w, r); ok {
		writeJSON(w, http.StatusOK, api.ReadoutList{Line: line, Readouts: rs})
	}
}

// Atom (RFC 4287) of a line's readouts, newest first.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	Title     string      `xml:"title"`
	ID        string      `xml:"id"`
	Updated   string      `xml:"updated"`
	Published string      `xml:"published"`
	Author    atomAuthor  `xml:"author"`
	Link      atomLink    `xml:"link"`
	Content   atomContent `xml:"content"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"` // escaped HTML (markdown.HTML)
}

// baseURL is the URL the client reached the server by.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func readoutTitle(x api.Readout) string {
	t := "Readout of " + x.Side + " on call " + x.Call
	if x.Corrects != "" {
		t += " (correction of " + x.Corrects + ")"
	}
	return t
}

func (a *API) readoutFeed(w http.ResponseWriter, r *http.Request) {
	line, rs, ok := a.readouts(w, r)
	if !ok {
		return
	}
	page := baseURL(r) + "/lines/" + line + "/readouts"
	f := atomFeed{Title: "Readouts of line " + line, ID: page, Updated: time.Unix(0, 0).UTC().Format(time.RFC3339),
		Link: []atomLink{{Rel: "self", Href: page + ".atom"}, {Rel: "alternate", Href: page}}}
	for i := len(rs) - 1; i >= 0; i-- {
		x := rs[i]
		at := time.Unix(x.Published, 0).UTC().Format(time.RFC3339)
		if i == len(rs)-1 {
			f.Updated = at
		}
		f.Entries = append(f.Entries, atomEntry{Title: readoutTitle(x), ID: "urn:hotline:readout:" + x.ID, Updated: at, Published: at,
			Author: atomAuthor{x.Name + " (" + x.Side + ")"}, Link: atomLink{Rel: "alternate", Href: page + "#r-" + x.ID},
			Content: atomContent{Type: "html", Body: markdown.HTML(x.Text)}})
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		a.callError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(out)
}

// pageCall is one booked call on the readouts page: each side's readouts.
type pageCall struct {
	Call  string
	Sides []pageSide
}

type pageSide struct {
	Side     string
	Readouts []pageReadout
}

type pageReadout struct {
	api.Readout
	When string
	HTML template.HTML // markdown.HTML: escaped text in tags of its own
}

var readoutPage = template.Must(template.New("readouts").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Readouts of line {{.Line}}</title>
<link rel="stylesheet" href="/static/style.css"><link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="alternate" type="application/atom+xml" href="/lines/{{.Line}}/readouts.atom"></head>
<body class="readouts"><h1>Readouts of line {{.Line}}</h1>
<p>Each side publishes its own readout; nothing here is joint. Every readout is signed by its side's device: <code>hotline readout verify</code> checks it. <a href="/lines/{{.Line}}/readouts.atom">Atom feed</a>.</p>
{{range .Calls}}<section class="call" id="call-{{.Call}}"><h2>Call {{.Call}}</h2><div class="sides">
{{range .Sides}}<div class="side" data-side="{{.Side}}"><h3>{{.Side}}</h3>
{{range .Readouts}}<article class="readout" id="r-{{.ID}}" data-id="{{.ID}}"><p class="meta">{{.Name}}, {{.When}}{{if .Corrects}} — corrects <a href="#r-{{.Corrects}}">{{.Corrects}}</a>{{end}}</p>
<div class="text">{{.HTML}}</div></article>
{{else}}<p class="none">No readout.</p>{{end}}</div>
{{end}}</div></section>
{{else}}<p>No readouts yet.</p>{{end}}</body></html>
`))

// readoutPage serves a line's readouts: under each call, both sides side
// by side, each side's in the order published.
func (a *API) readoutPage(w http.ResponseWriter, r *http.Request) {
	line, rs, ok := a.readouts(w, r)
	if !ok {
		return
	}
	l, err := a.cfg.Booking.Line(r.Context(), line)
	if err != nil {
		a.callError(w, err)
		return
	}
	var calls []pageCall
	index := map[string]int{}
	for _, x := range rs {
		i, seen := index[x.Call]
		if !seen {
			i = len(calls)
			index[x.Call] = i
			calls = append(calls, pageCall{Call: x.Call, Sides: []pageSide{{Side: l.A.Name}, {Side: l.B.Name}}})
		}
		for j := range calls[i].Sides {
			if calls[i].Sides[j].Side == x.Side {
				calls[i].Sides[j].Readouts = append(calls[i].Sides[j].Readouts, pageReadout{Readout: x,
					When: time.Unix(x.Published, 0).UTC().Format("2006-01-02 15:04 UTC"), HTML: template.HTML(markdown.HTML(x.Text))})
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := readoutPage.Execute(w, map[string]any{"Line": line, "Calls": calls}); err != nil {
		a.cfg.Log.Debug("readouts page", "err", err)
	}
}
