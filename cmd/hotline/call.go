package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hotline/internal/booking"
	"hotline/internal/certs"
	"hotline/internal/protocol"
	"hotline/internal/schedule"
	"hotline/internal/trust"
)

// runCall implements `hotline call …`: the call workflow over the HTTP API
// (docs/API.md), authenticated with the device's credential.
func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const subs = "request, accept, decline, cancel, start, end, list, show or history"
	if len(args) == 0 {
		return errors.New("call: " + subs + "?")
	}
	cmd := callCommand{name: args[0], stdout: stdout}
	switch cmd.name {
	case "request", "accept", "decline", "cancel", "start", "end", "list", "show", "history":
	default:
		return fmt.Errorf("call: unknown subcommand %q (%s)", cmd.name, subs)
	}
	if err := cmd.parse(args[1:], stderr); err != nil {
		return err
	}
	tlsConfig, err := cmd.tls()
	if err != nil {
		return fmt.Errorf("call %s: %w", cmd.name, err)
	}
	api, err := openAPI(ctx, cmd.server, cmd.device, cmd.line, tlsConfig)
	if err != nil {
		return fmt.Errorf("call %s: %w", cmd.name, err)
	}
	if err := cmd.run(ctx, api); err != nil {
		return fmt.Errorf("call %s: %w", cmd.name, err)
	}
	return nil
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// callCommand is one `hotline call` invocation, its flags parsed and checked.
type callCommand struct {
	name, server, device, line string
	id                         string // the call, for all but request, list and history
	json, ics                  bool
	version                    int64
	body                       []byte // the request body, checked with the server's own parser
	tls                        func() (*tls.Config, error)
	stdout                     io.Writer
}

func (c *callCommand) parse(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("call "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "", "server base `URL`, e.g. http://127.0.0.1:8080 (required)")
	fs.StringVar(&c.device, "device", "", "enrolled device `file` (from hotline device init/install; required)")
	fs.StringVar(&c.line, "line", "", "line `name` (required)")
	fs.BoolVar(&c.json, "json", false, "print the API's JSON instead of text")
	c.tls = caFlag(fs)
	var (
		kind, when, duration     string
		agenda, advisers, people stringList
	)
	transition := isTransition(c.name)
	takesID := transition || c.name == "show"
	named := c.name == "request" || c.name == "accept"
	if c.name == "request" {
		fs.StringVar(&kind, "kind", "video", "`video` or phone (voice only)")
		fs.StringVar(&when, "when", "", `when, e.g. "now", "in 2h", "at 18:00 Europe/Moscow", "at 23:30 tomorrow" (required; without a zone, your side's)`)
		fs.StringVar(&duration, "duration", "1h", "expected `duration` in whole minutes, e.g. 45m or 2h")
		fs.Var(&agenda, "agenda", "an agenda `item` (repeatable)")
	}
	if named {
		fs.Var(&advisers, "adviser", "`name` of an adviser of your side on the call (repeatable)")
		fs.Var(&people, "participant", "`NAME=ROLE[,ROLE]` of your side on the call, e.g. \"Anna Petrova=principal\" (repeatable)")
	}
	if transition {
		fs.Int64Var(&c.version, "version", 0, "act only if the call is still at this `version` (from show)")
	}
	if c.name == "show" {
		fs.BoolVar(&c.ics, "ics", false, "print the call's iCalendar file (RFC 5545) instead")
	}
	fs.Usage = func() {
		id := ""
		if takesID {
			id = " ID"
		}
		fmt.Fprintf(stderr, "usage: hotline call %s%s --server URL --device FILE --line NAME [flags]\n", c.name, id)
		fs.PrintDefaults()
	}
	// The call id may stand before, between or after the flags.
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if takesID && len(rest) > 0 {
		c.id = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		rest = fs.Args()
	}
	if len(rest) > 0 {
		return fmt.Errorf("call %s: unexpected argument %q", c.name, rest[0])
	}
	for _, req := range []struct{ flag, value string }{{"server", c.server}, {"device", c.device}, {"line", c.line}} {
		if req.value == "" {
			return fmt.Errorf("call %s: --%s is required", c.name, req.flag)
		}
	}
	if err := protocol.ValidID("--line", c.line); err != nil {
		return fmt.Errorf("call %s: %w", c.name, err)
	}
	if takesID {
		if c.id == "" {
			return fmt.Errorf("call %s: which call? give its ID (hotline call list shows them)", c.name)
		}
		if err := protocol.ValidID("call ID", c.id); err != nil {
			return fmt.Errorf("call %s: %w", c.name, err)
		}
	}
	if c.version < 0 {
		return fmt.Errorf("call %s: --version %d is negative", c.name, c.version)
	}
	if c.ics && c.json {
		return fmt.Errorf("call %s: --ics and --json exclude each other", c.name)
	}
	if !named {
		return nil
	}
	participants, err := participantsOf(advisers, people)
	if err != nil {
		return fmt.Errorf("call %s: %w", c.name, err)
	}
	if c.name == "accept" {
		c.body, err = checkedBody(booking.TransitionBody{Version: c.version, Participants: participants}, func(b []byte) error {
			_, err := booking.ParseTransition(b)
			return err
		})
		if err != nil {
			return fmt.Errorf("call accept: %w", err)
		}
		return nil
	}
	if when == "" {
		return errors.New(`call request: --when is required, e.g. --when "at 18:00 Europe/Moscow"`)
	}
	d, err := time.ParseDuration(duration)
	if err != nil || d%time.Minute != 0 || d < schedule.MinDuration || d > schedule.MaxDuration {
		return fmt.Errorf("call request: --duration %q: want whole minutes from 1m to 12h, e.g. 45m or 2h", duration)
	}
	c.body, err = checkedBody(booking.RequestBody{
		Line: c.line, Kind: kind, When: when, DurationMinutes: int64(d / time.Minute), Agenda: agenda, Participants: participants,
	}, func(b []byte) error {
		_, err := booking.ParseRequest(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("call request: %w", err)
	}
	return nil
}

// isTransition: the subcommands that post an event on a call.
func isTransition(name string) bool {
	switch name {
	case "accept", "decline", "cancel", "start", "end":
		return true
	}
	return false
}

// checkedBody encodes a body and checks it with the server's own parser,
// so that bad input is refused here with the server's words, before
// anything is sent.
func checkedBody(v any, check func([]byte) error) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := check(b); err != nil {
		return nil, fmt.Errorf("refused before sending anything: %w", err)
	}
	return b, nil
}

// participantsOf turns --adviser NAME and --participant NAME=ROLES into
// the API's participants.
func participantsOf(advisers, people []string) ([]booking.ParticipantJSON, error) {
	var out []booking.ParticipantJSON
	for _, a := range advisers {
		out = append(out, booking.ParticipantJSON{Name: a, Roles: []string{"adviser"}})
	}
	for _, p := range people {
		i := strings.LastIndexByte(p, '=')
		if i < 0 {
			return nil, fmt.Errorf("--participant %q: want NAME=ROLE[,ROLE], e.g. \"Anna Petrova=principal\"", p)
		}
		out = append(out, booking.ParticipantJSON{Name: p[:i], Roles: strings.Split(p[i+1:], ",")})
	}
	return out, nil
}

func (c *callCommand) run(ctx context.Context, api *apiClient) error {
	switch c.name {
	case "list", "history":
		path := "/api/calls?line=" + url.QueryEscape(c.line)
		if c.name == "history" {
			path = "/api/history?line=" + url.QueryEscape(c.line)
		}
		var l booking.ListJSON
		raw, err := api.do(ctx, "GET", path, nil, &l)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		printList(c.stdout, c.name, l)
		return nil
	case "show":
		if c.ics {
			raw, err := api.do(ctx, "GET", "/calls/"+c.id+".ics", nil, nil)
			if err == nil {
				_, err = c.stdout.Write(raw)
			}
			return err
		}
		return c.showCall(api.do(ctx, "GET", "/api/calls/"+c.id, nil, new(booking.CallJSON)))
	case "request":
		return c.showCall(api.do(ctx, "POST", "/api/calls", c.body, new(booking.CallJSON)))
	}
	body := c.body
	if body == nil && c.version != 0 {
		body, _ = json.Marshal(booking.TransitionBody{Version: c.version})
	}
	return c.showCall(api.do(ctx, "POST", "/api/calls/"+c.id+"/"+c.name, body, new(booking.CallJSON)))
}

func (c *callCommand) printJSON(raw []byte, err error) error {
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", bytes.TrimSpace(raw))
	return err
}

func (c *callCommand) showCall(raw []byte, err error) error {
	if err != nil || c.json {
		return c.printJSON(raw, err)
	}
	var call booking.CallJSON
	if err := json.Unmarshal(raw, &call); err != nil {
		return err
	}
	printCall(c.stdout, call)
	return nil
}

// apiClient talks to the calls API with a session token.
type apiClient struct {
	base  string
	http  *http.Client
	token string
}

// openAPI checks the server URL, loads the device and opens an API session
// on line with it (docs/API.md, "Authentication").
func openAPI(ctx context.Context, server, devicePath, line string, tlsConfig *tls.Config) (*apiClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want an http:// or https:// URL with a host", server)
	}
	dev, err := trust.LoadDevice(devicePath)
	if err != nil {
		return nil, err
	}
	if dev.Credential == nil {
		return nil, fmt.Errorf("device %s is not enrolled yet (hotline device install)", devicePath)
	}
	api := &apiClient{base: strings.TrimSuffix(server, "/"), http: certs.HTTPClient(tlsConfig, 30*time.Second)}
	var ch struct {
		Nonce string `json:"nonce"`
	}
	if _, err := api.do(ctx, "POST", "/api/session/challenge", nil, &ch); err != nil {
		return nil, fmt.Errorf("session challenge: %w", err)
	}
	nonce, err := trust.DecodeB64(ch.Nonce)
	if err != nil || len(nonce) != trust.NonceSize {
		return nil, errors.New("session challenge: the server sent a bad nonce")
	}
	body, _ := json.Marshal(map[string]any{
		"line": line, "credential": dev.Credential, "nonce": ch.Nonce, "proof": trust.B64(dev.SessionProof(nonce, line)),
	})
	var s struct {
		Token string `json:"token"`
	}
	if _, err := api.do(ctx, "POST", "/api/session", body, &s); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	api.token = s.Token
	return api, nil
}

// maxReply bounds what the client reads of an answer.
const maxReply = 4 << 20

// do sends body (JSON, may be nil) and decodes a 2xx answer into out (if
// not nil); it returns the raw answer. An error answer becomes an error
// with the server's message and the status.
func (a *apiClient) do(ctx context.Context, method, path string, body []byte, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return nil, certs.Explain(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxReply))
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return nil, fmt.Errorf("%s (HTTP %d %s)", e.Error, res.StatusCode, http.StatusText(res.StatusCode))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("unreadable answer from the server: %w", err)
		}
	}
	return raw, nil
}

// printList shows the upcoming calls or the history, each time in both
// sides' zones.
func printList(w io.Writer, what string, l booking.ListJSON) {
	fmt.Fprintf(w, "line %s: %s\n", l.Line.Name, sidesText(l.Line))
	if len(l.Calls) == 0 {
		if what == "history" {
			fmt.Fprintln(w, "no past calls")
		} else {
			fmt.Fprintln(w, "no upcoming calls")
		}
	}
	for _, c := range l.Calls {
		fmt.Fprintf(w, "\n%s  %s call, %s, requested by %s\n", c.ID, c.Kind, c.State, c.InitiatingSide)
		row(w, "start", c.ScheduledStart.Text)
		row(w, "expected", minutes(c.DurationMinutes))
		printActual(w, c)
		for _, s := range c.Sessions {
			left := "still in the call"
			if s.Left != nil {
				left = "until " + s.Left.Text
			}
			row(w, "took part", s.Name+", from "+s.Joined.Text+", "+left)
		}
	}
}

// row prints one labelled line of a call.
func row(w io.Writer, label, value string) {
	fmt.Fprintf(w, "  %-13s %s\n", label, value)
}

// firstOnly labels the first row of a list and leaves the others blank.
func firstOnly(i int, label string) string {
	if i > 0 {
		return ""
	}
	return label
}

// printCall shows one call, every time in both sides' zones.
func printCall(w io.Writer, c booking.CallJSON) {
	fmt.Fprintf(w, "call %s on line %s (%s): %s call, %s\n", c.ID, c.Line.Name, sidesText(c.Line), c.Kind, c.State)
	if c.Note != "" {
		fmt.Fprintf(w, "note: %s\n", c.Note)
	}
	row(w, "requested by", c.InitiatingSide)
	row(w, "start", c.ScheduledStart.Text)
	row(w, "end", c.ScheduledEnd.Text)
	row(w, "expected", minutes(c.DurationMinutes))
	printActual(w, c)
	for i, item := range c.Agenda {
		row(w, firstOnly(i, "agenda"), fmt.Sprintf("%d. %s", i+1, item))
	}
	for _, side := range c.Line.Sides {
		var names []string
		for _, p := range c.Participants[side.Name] {
			names = append(names, p.Name+" ("+strings.Join(p.Roles, ", ")+")")
		}
		if len(names) > 0 {
			row(w, "named ("+side.Name+")", strings.Join(names, "; "))
		}
	}
	for i, t := range c.Transitions {
		row(w, firstOnly(i, "history"), fmt.Sprintf("%-9s by %s (%s), %s", t.To, t.Name, t.Side, t.At.Text))
	}
	row(w, "version", fmt.Sprintf("%d (calendar file: hotline call show %s --ics)", c.Version, c.ID))
}

func printActual(w io.Writer, c booking.CallJSON) {
	if c.ActualStart != nil {
		row(w, "went live", c.ActualStart.Text)
	}
	if c.ActualEnd != nil {
		row(w, "ended", c.ActualEnd.Text)
	}
	if c.ActualSeconds != nil {
		row(w, "held for", (time.Duration(*c.ActualSeconds) * time.Second).String())
	}
}

// sidesText is "east (Europe/Moscow) and west (America/New_York)".
func sidesText(l booking.LineJSON) string {
	var parts []string
	for _, s := range l.Sides {
		parts = append(parts, s.Name+" ("+s.Zone+")")
	}
	return strings.Join(parts, " and ")
}

// minutes is a duration for people: 45m, 2h, 1h30m.
func minutes(n int64) string {
	switch h, m := n/60, n%60; {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%02dm", h, m)
	}
}
