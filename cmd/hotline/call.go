package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
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
	cl, err := signIn(ctx, cmd.server, cmd.device, cmd.line, tlsConfig)
	if err != nil {
		return fmt.Errorf("call %s: %w", cmd.name, err)
	}
	if err := cmd.run(ctx, cl); err != nil {
		return fmt.Errorf("call %s: %w", cmd.name, certs.Explain(err))
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
	request                    api.RequestBody    // checked with the server's own parser
	transition                 api.TransitionBody // likewise (accept)
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
		opening                  time.Duration
		agenda, advisers, people stringList
		languages                stringList
	)
	transition := isTransition(c.name)
	takesID := transition || c.name == "show"
	named := c.name == "request" || c.name == "accept"
	if c.name == "request" {
		fs.StringVar(&kind, "kind", "video", "`video` or phone (voice only)")
		fs.StringVar(&when, "when", "", `when, e.g. "now", "in 2h", "at 18:00 Europe/Moscow", "at 23:30 tomorrow" (required; without a zone, your side's)`)
		fs.StringVar(&duration, "duration", "1h", "expected `duration` in whole minutes, e.g. 45m or 2h")
		fs.DurationVar(&opening, "public-opening", 0, "book a public opening for the press of this `duration` (whole minutes, e.g. 10m; a principal's, press officer's or operator's client asks to open it when the call starts, and closes it at its end)")
		fs.Var(&agenda, "agenda", "an agenda `item` (repeatable)")
		fs.Var(&languages, "language", "an interpretation `language` of the call, a BCP 47 tag such as ru or en (repeatable)")
	}
	if named {
		fs.Var(&advisers, "adviser", "`name` of an adviser of your side on the call (repeatable)")
		fs.Var(&people, "participant", "`NAME=ROLE[,ROLE]` of your side on the call, e.g. \"Anna Petrova=principal\"; an interpreter limited to some languages: \"Ivan Petrov=interpreter:ru+en\" (repeatable)")
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
		c.transition = api.TransitionBody{Version: c.version, Participants: participants}
		if _, err := apiclient.CheckTransition(c.transition); err != nil {
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
	if opening < 0 || opening%time.Minute != 0 || opening > d {
		return fmt.Errorf("call request: --public-opening %v: want whole minutes within the call's %v", opening, d)
	}
	c.request = api.RequestBody{
		Line: c.line, Kind: kind, When: when, DurationMinutes: int64(d / time.Minute), Agenda: agenda, Participants: participants,
		Languages:            languages,
		PublicOpeningMinutes: int64(opening / time.Minute),
	}
	if _, err := apiclient.CheckRequest(c.request); err != nil {
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

// participantsOf turns --adviser NAME and --participant NAME=ROLES into
// the API's participants. The interpreter role may carry the languages the
// interpreter may serve: NAME=interpreter:LANG[+LANG] ("interprets").
func participantsOf(advisers, people []string) ([]api.Participant, error) {
	var out []api.Participant
	for _, a := range advisers {
		out = append(out, api.Participant{Name: a, Roles: []string{"adviser"}})
	}
	for _, p := range people {
		i := strings.LastIndexByte(p, '=')
		if i < 0 {
			return nil, fmt.Errorf("--participant %q: want NAME=ROLE[,ROLE], e.g. \"Anna Petrova=principal\"", p)
		}
		part := api.Participant{Name: p[:i]}
		for _, r := range strings.Split(p[i+1:], ",") {
			r, langs, limited := strings.Cut(r, ":")
			if limited {
				if r != "interpreter" || langs == "" {
					return nil, fmt.Errorf("--participant %q: only the interpreter role takes languages, as interpreter:LANG[+LANG], e.g. \"Ivan Petrov=interpreter:ru+en\"", p)
				}
				part.Interprets = strings.Split(langs, "+")
			}
			part.Roles = append(part.Roles, r)
		}
		out = append(out, part)
	}
	return out, nil
}

func (c *callCommand) run(ctx context.Context, cl *apiclient.Client) error {
	switch c.name {
	case "list", "history":
		list := cl.Calls
		if c.name == "history" {
			list = cl.History
		}
		l, err := list(ctx, c.line)
		if err != nil || c.json {
			return c.printJSON(l, err)
		}
		printList(c.stdout, c.name, l)
		return nil
	case "show":
		if c.ics {
			raw, err := cl.ICS(ctx, c.id)
			if err == nil {
				_, err = c.stdout.Write(raw)
			}
			return err
		}
		return c.showCall(cl.Call(ctx, c.id))
	case "request":
		return c.showCall(cl.Request(ctx, c.request))
	}
	body := c.transition
	body.Version = c.version
	return c.showCall(cl.Transition(ctx, c.id, c.name, body))
}

// printJSON prints the API's JSON of v.
func (c *callCommand) printJSON(v any, err error) error {
	if err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", raw)
	return err
}

func (c *callCommand) showCall(call api.Call, err error) error {
	if err != nil || c.json {
		return c.printJSON(call, err)
	}
	printCall(c.stdout, call)
	return nil
}

// signIn loads the device and opens an API session on line with it
// (docs/API.md, "Authentication").
func signIn(ctx context.Context, server, devicePath, line string, tlsConfig *tls.Config) (*apiclient.Client, error) {
	cl, err := apiclient.New(server, certs.HTTPClient(tlsConfig, 30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	dev, err := trust.LoadDevice(devicePath)
	if err != nil {
		return nil, err
	}
	if err := cl.SignIn(ctx, dev, line); err != nil {
		return nil, fmt.Errorf("device %s: %w", devicePath, certs.Explain(err))
	}
	return cl, nil
}

// printList shows the upcoming calls or the history, each time in both
// sides' zones.
func printList(w io.Writer, what string, l api.CallList) {
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
func printCall(w io.Writer, c api.Call) {
	fmt.Fprintf(w, "call %s on line %s (%s): %s call, %s\n", c.ID, c.Line.Name, sidesText(c.Line), c.Kind, c.State)
	if c.Note != "" {
		fmt.Fprintf(w, "note: %s\n", c.Note)
	}
	row(w, "requested by", c.InitiatingSide)
	row(w, "start", c.ScheduledStart.Text)
	row(w, "end", c.ScheduledEnd.Text)
	row(w, "expected", minutes(c.DurationMinutes))
	if c.PublicOpeningMinutes > 0 {
		row(w, "public opening", minutes(c.PublicOpeningMinutes)+" for the press")
	}
	printActual(w, c)
	for i, item := range c.Agenda {
		row(w, firstOnly(i, "agenda"), fmt.Sprintf("%d. %s", i+1, item))
	}
	for _, side := range c.Line.Sides {
		var names []string
		for _, p := range c.Participants[side.Name] {
			who := p.Name + " (" + strings.Join(p.Roles, ", ")
			if len(p.Interprets) > 0 {
				who += ": " + strings.Join(p.Interprets, "+")
			}
			names = append(names, who+")")
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

func printActual(w io.Writer, c api.Call) {
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
func sidesText(l api.Line) string {
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
