package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hotline/internal/api"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// callLine is a real server on 127.0.0.1 with the demo line, and device
// files for the people of the tests, by name.
type callLine struct {
	t       *testing.T
	url     string
	devices map[string]string
}

func startCallLine(t *testing.T) *callLine {
	t.Helper()
	srv := servertest.Start(t, server.Config{}, nil)
	l := &callLine{t: t, url: srv.URL(), devices: map[string]string{}}
	for _, p := range []struct {
		side, name string
		role       role.Role
	}{
		{demo.East, "East Operator", role.Operator}, {demo.East, "East Principal", role.Principal},
		{demo.West, "West Principal", role.Principal}, {demo.West, "West Adviser", role.Adviser},
	} {
		l.devices[p.name] = srv.DeviceFile(t, p.side, p.name, p.role)
	}
	return l
}

// run runs `hotline call SUB ARGS... --server --device --line` as who.
func (l *callLine) run(who, sub string, args ...string) (string, error) {
	l.t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"call", sub}, args...)
	full = append(full, "--server", l.url, "--device", l.devices[who], "--line", demo.Line)
	err := run(context.Background(), full, &out, &errOut)
	return out.String(), err
}

func (l *callLine) must(who, sub string, args ...string) string {
	l.t.Helper()
	out, err := l.run(who, sub, args...)
	if err != nil {
		l.t.Fatalf("%s: call %s %q: %v", who, sub, args, err)
	}
	return out
}

func (l *callLine) callJSON(who, sub string, args ...string) api.Call {
	l.t.Helper()
	var c api.Call
	if err := json.Unmarshal([]byte(l.must(who, sub, append(args, "--json")...)), &c); err != nil {
		l.t.Fatal(err)
	}
	return c
}

func (l *callLine) upcoming(who string) []api.Call {
	l.t.Helper()
	var ls api.CallList
	if err := json.Unmarshal([]byte(l.must(who, "list", "--json")), &ls); err != nil {
		l.t.Fatal(err)
	}
	return ls.Calls
}

// bothZones checks that a line of output shows a time in both capitals.
func bothZones(t *testing.T, what, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Europe/Moscow (") != strings.Contains(line, "America/New_York (") {
			t.Errorf("%s: a time in one zone only: %q", what, line)
		}
	}
	if !strings.Contains(out, "Europe/Moscow (") {
		t.Errorf("%s shows no time:\n%s", what, out)
	}
}

func TestCallCommands(t *testing.T) {
	l := startCallLine(t)
	c := l.callJSON("East Operator", "request", "--kind", "phone", "--when", "at 18:00 Europe/Moscow", "--duration", "45m",
		"--public-opening", "10m",
		"--agenda", "Preparing the negotiations", "--agenda", "Dates", "--adviser", "East Adviser", "--participant", "East Principal=principal")
	if c.State != "requested" || c.Kind != "phone" || c.DurationMinutes != 45 || c.PublicOpeningMinutes != 10 || len(c.Agenda) != 2 ||
		len(c.Participants["east"]) != 2 || c.Participants["east"][0].Roles[0] != "adviser" || c.Participants["east"][1].Name != "East Principal" {
		t.Fatalf("requested %+v", c)
	}
	// The other side's list shows it, every time in both capitals.
	out := l.must("West Principal", "list")
	if !strings.Contains(out, c.ID+"  phone call, requested, requested by east") || !strings.Contains(out, "18:00 Europe/Moscow") {
		t.Fatalf("list:\n%s", out)
	}
	bothZones(t, "list", out)

	// The ID may stand before or after the flags.
	out = l.must("West Principal", "accept", c.ID, "--adviser", "West Adviser", "--version", "1")
	if !strings.Contains(out, "phone call, accepted") || !strings.Contains(out, "named (west)  West Adviser (adviser)") {
		t.Fatalf("accept:\n%s", out)
	}
	bothZones(t, "accept", out)
	out = l.must("East Principal", "show", "--json", c.ID)
	var shown api.Call
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.State != "accepted" || shown.Version != 2 {
		t.Fatalf("show --json: %+v %v", shown, err)
	}
	out = l.must("East Principal", "show", c.ID)
	for _, want := range []string{"requested by  east", "agenda        1. Preparing the negotiations", "accepted  by West Principal (west)", "expected      45m", "version       2"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	bothZones(t, "show", out)
	ics := l.must("West Adviser", "show", c.ID, "--ics")
	if !strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n") || !strings.Contains(ics, "UID:"+c.ID+".demo.east.west@hotline") {
		t.Fatalf("show --ics:\n%s", ics)
	}

	l.must("East Principal", "start", c.ID)
	out = l.must("West Principal", "end", c.ID)
	if !strings.Contains(out, "phone call, ended") || !strings.Contains(out, "went live") || !strings.Contains(out, "held for") {
		t.Fatalf("end:\n%s", out)
	}
	out = l.must("East Principal", "history")
	if !strings.Contains(out, c.ID+"  phone call, ended, requested by east") {
		t.Fatalf("history:\n%s", out)
	}
	bothZones(t, "history", out)
	if out := l.must("West Principal", "list"); !strings.Contains(out, "no upcoming calls") {
		t.Fatalf("list after the end:\n%s", out)
	}

	d := l.callJSON("West Principal", "request", "--when", "in 2h")
	if d := l.callJSON("East Operator", "decline", d.ID); d.State != "declined" {
		t.Fatalf("decline: %+v", d)
	}
	e := l.callJSON("West Principal", "request", "--when", "at 23:30 tomorrow")
	if e := l.callJSON("West Principal", "cancel", e.ID); e.State != "cancelled" || e.Transitions[1].Name != "West Principal" {
		t.Fatalf("cancel: %+v", e)
	}
}

// Bad input is refused with a clear error and a non-zero exit, and
// nothing is stored, whether the command or the server refuses it.
// TestCallInterpreterLanguages: --participant NAME=interpreter:LANG+LANG
// books an interpreter for some of the call's languages; the call shows it.
func TestCallInterpreterLanguages(t *testing.T) {
	l := startCallLine(t)
	c := l.callJSON("East Operator", "request", "--when", "in 2h", "--language", "ru", "--language", "en", "--language", "fr",
		"--participant", "East Interpreter=interpreter:ru+en", "--participant", "East Relay=interpreter")
	ps := c.Participants["east"]
	if len(ps) != 2 || !slices.Equal(ps[0].Interprets, []string{"ru", "en"}) || ps[1].Interprets != nil || !slices.Equal(c.Languages, []string{"ru", "en", "fr"}) {
		t.Fatalf("requested %+v", c)
	}
	if out := l.must("West Principal", "show", c.ID); !strings.Contains(out, "East Interpreter (interpreter: ru+en); East Relay (interpreter)") {
		t.Errorf("show:\n%s", out)
	}
}

func TestCallCommandRefusals(t *testing.T) {
	l := startCallLine(t)
	c := l.callJSON("East Operator", "request", "--when", "in 1h")
	// A device made but never enrolled has no credential to sign in with.
	unenrolled := filepath.Join(t.TempDir(), "unenrolled.device")
	if err := run(context.Background(), []string{"device", "init", "--out", unenrolled}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		who, sub string
		args     []string
		want     string
	}{
		{"East Operator", "request", nil, "--when is required"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--kind", "telegram"}, `kind "telegram"`},
		{"East Operator", "request", []string{"--when", "at 18:00", "--duration", "90s"}, "whole minutes"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--duration", "soon"}, "whole minutes"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--duration", "13h"}, "from 1m to 12h"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--duration", "45m", "--public-opening", "50m"}, "within the call"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--participant", "Anna"}, "want NAME=ROLE"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--participant", "Anna=queen"}, "unknown role"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--participant", "Anna=adviser:ru"}, "only the interpreter role takes languages"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--participant", "Anna=interpreter:"}, "only the interpreter role takes languages"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--language", "ru", "--participant", "Anna=interpreter:fr"}, "not one of the call's languages"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--adviser", " Anna"}, "participant 1"},
		{"East Operator", "request", []string{"--when", "at 18:00", "--agenda", "a\tb"}, "agenda item 1"},
		{"East Operator", "request", []string{"--when", "whenever"}, "cannot read the time"},
		{"East Operator", "request", []string{"--when", "at 2020-01-01 10:00"}, "in the past"},
		{"East Operator", "request", []string{"--when", "now", "extra"}, "unexpected argument"},
		{"East Operator", "request", []string{"--when", "now", "--nope"}, "flag provided but not defined"},
		{"West Adviser", "request", []string{"--when", "now"}, "HTTP 403"},
		{"East Principal", "accept", []string{c.ID}, "only the other side may accept"},
		{"West Adviser", "accept", []string{c.ID}, "not allowed"},
		{"West Principal", "end", []string{c.ID}, "HTTP 409"},
		{"West Principal", "accept", []string{c.ID, "--version", "5"}, "HTTP 409"},
		{"West Principal", "accept", []string{c.ID, "--version", "-1"}, "negative"},
		{"West Principal", "accept", nil, "which call?"},
		{"West Principal", "accept", []string{"no/such"}, "call ID"},
		{"West Principal", "show", []string{"c-aaaaaaaaaaaa"}, "HTTP 404"},
		{"West Principal", "show", []string{c.ID, "--ics", "--json"}, "exclude each other"},
		{"West Principal", "decline", []string{c.ID, "--adviser", "X"}, "flag provided but not defined"},
	}
	for _, tc := range cases {
		if _, err := l.run(tc.who, tc.sub, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: call %s %q = %v, want an error mentioning %q", tc.who, tc.sub, tc.args, err, tc.want)
		}
	}
	// Flags of the command itself, and the device.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"call"}, "request, accept"},
		{[]string{"call", "ring"}, `unknown subcommand "ring"`},
		{[]string{"call", "list", "--device", l.devices["East Operator"], "--line", demo.Line}, "--server is required"},
		{[]string{"call", "list", "--server", l.url, "--line", demo.Line}, "--device is required"},
		{[]string{"call", "list", "--server", l.url, "--device", l.devices["East Operator"]}, "--line is required"},
		{[]string{"call", "list", "--server", l.url, "--device", l.devices["East Operator"], "--line", "no line"}, "--line"},
		{[]string{"call", "list", "--server", "ftp://x", "--device", l.devices["East Operator"], "--line", demo.Line}, "http:// or https://"},
		{[]string{"call", "list", "--server", l.url, "--device", unenrolled, "--line", demo.Line}, "not enrolled"},
		{[]string{"call", "list", "--server", l.url, "--device", filepath.Join(t.TempDir(), "none"), "--line", demo.Line}, "no such file"},
		{[]string{"call", "list", "--server", l.url, "--device", l.devices["East Operator"], "--line", "other"}, "unknown line"},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	ls := l.upcoming("East Operator")
	if len(ls) != 1 || ls[0].ID != c.ID || ls[0].State != "requested" || ls[0].Version != 1 {
		t.Fatalf("refusals stored or changed something: %+v", ls)
	}
}
