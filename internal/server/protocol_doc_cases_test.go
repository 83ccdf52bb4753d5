package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/trust"
)

// checkErrorCodes: the codes table names exactly the protocol package's
// codes, and each documented code is sent in a case that provokes it, the
// connection then going on or closing as the table's last column says.
func checkErrorCodes(t *testing.T, doc string) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	rows := mdTable(t, doc, "code", "meaning", "connection")
	defined := protocolCodes(t)
	documented := map[string]bool{}
	for _, r := range rows {
		code := strings.Trim(r[0], "`")
		documented[code] = true
		if defined[code] == "" {
			t.Errorf("PROTOCOL.md documents the error code %q, which internal/protocol does not define", code)
		}
	}
	for code, name := range defined {
		if !documented[code] {
			t.Errorf("internal/protocol.%s = %q is not in PROTOCOL.md's table of error codes", name, code)
		}
	}

	east := func(name string, roles ...role.Role) *trust.Device {
		return srv.Device(t, demo.East, name, roles...)
	}
	fresh := func(msg string) outcome {
		c, ctx, _ := rawSession(t, srv)
		write(t, ctx, c, msg)
		return afterError(t, ctx, c)
	}
	joinedThen := func(call, msg string) outcome {
		c, ctx, _ := joined(t, srv, east("Member of "+call), call, nil)
		write(t, ctx, c, msg)
		return afterError(t, ctx, c)
	}
	scenarios := map[string]func() outcome{
		protocol.CodeBadMessage: func() outcome { return fresh(`{"type":"sing"}`) },
		protocol.CodeState:      func() outcome { return fresh(`{"type":"unpublish","track":"cam0"}`) },
		protocol.CodeRefused:    func() outcome { return joinedThen("codes1", `{"type":"unpublish","track":"nothing"}`) },
		protocol.CodeVersion: func() outcome {
			c, ctx, nonce := rawSession(t, srv)
			write(t, ctx, c, strings.Replace(joinJSON(t, east("Future"), nonce, "codes2", nil), `"version":3`, `"version":4`, 1))
			return afterError(t, ctx, c)
		},
		protocol.CodeUnauthorized: func() outcome {
			c, ctx, nonce := rawSession(t, srv)
			nonce[0] ^= 1
			write(t, ctx, c, joinJSON(t, east("Replayer"), nonce, "codes2", nil))
			return afterError(t, ctx, c)
		},
		protocol.CodeTooLarge: func() outcome {
			c, ctx := rawConn(t, srv)
			_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"leave","pad":"`+strings.Repeat("x", protocol.MaxMessageBytes)+`"}`))
			return afterError(t, ctx, c)
		},
		protocol.CodeRateLimited: func() outcome {
			c, ctx := rawConn(t, srv)
			for range 400 {
				if c.Write(ctx, websocket.MessageText, []byte(`{"type":"leave","x":1}`)) != nil {
					break
				}
			}
			// The first error of a flood is a bad_message (the unknown
			// field); the rate limit's own comes once the burst is spent.
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return outcome{status: closedWith(t, err)}
				}
				if e, ok := decodeServer(t, data).(*protocol.ErrorMsg); ok && e.Code == protocol.CodeRateLimited {
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return outcome{e.Code, closedWith(t, err)}
						}
					}
				}
			}
		},
		protocol.CodeForbidden: func() outcome {
			// An east principal removes a west principal: not its side.
			c, ctx, _ := joined(t, srv, east("East Principal"), "codes3", nil)
			_, _, westID := joined(t, srv, srv.Device(t, demo.West, "West Principal"), "codes3", nil)
			write(t, ctx, c, `{"type":"remove","participant":"`+westID+`"}`)
			o := afterError(t, ctx, c)
			// And an adviser may not remove at all; the message says so once.
			a, actx, _ := joined(t, srv, east("East Adviser", role.Adviser), "codes3", nil)
			write(t, actx, a, `{"type":"remove","participant":"`+westID+`"}`)
			if ao := afterError(t, actx, a); ao.code != protocol.CodeForbidden {
				t.Errorf("an adviser's remove: %+v", ao)
			}
			return o
		},
		protocol.CodeRemoved: func() outcome {
			r, ctx, _ := joined(t, srv, east("Remover"), "codes4", nil)
			v, vctx, vid := joined(t, srv, east("Removed"), "codes4", nil)
			write(t, ctx, r, `{"type":"remove","participant":"`+vid+`"}`)
			return afterError(t, vctx, v)
		},
	}
	for _, r := range rows {
		code := strings.Trim(r[0], "`")
		run := scenarios[code]
		if run == nil {
			t.Logf("no scenario provokes %q (documented: %s)", code, r[2])
			continue
		}
		delete(scenarios, code)
		o := run()
		checkOutcome(t, "error "+code, o, code, r[2])
	}
	for code := range scenarios {
		t.Errorf("the server sends %q, which PROTOCOL.md's table does not document", code)
	}
}

// checkOutcome compares what a scenario saw with a row: the code wanted
// (none if the cell says the server does not send it), and the connection
// going on (the cell starts "goes on" or "none") or closing with a status
// the cell names.
func checkOutcome(t *testing.T, what string, o outcome, code, cell string) {
	t.Helper()
	if strings.HasPrefix(cell, "not sent") {
		code = ""
	}
	if o.code != code {
		t.Errorf("%s: the server sent the code %q, PROTOCOL.md says %q", what, o.code, code)
	}
	goesOn := strings.HasPrefix(cell, "goes on") || strings.HasPrefix(cell, "none")
	switch {
	case o.status == 0 && !goesOn:
		t.Errorf("%s: the connection goes on; PROTOCOL.md says %q", what, cell)
	case o.status != 0 && !containsInt(closesWith(cell), int(o.status)):
		t.Errorf("%s: the connection closed with %d; PROTOCOL.md says %q", what, o.status, cell)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// checkJoinRefusals: each row of the Join section's table, found by what
// its first cell says, gets the error and the close it names.
func checkJoinRefusals(t *testing.T, doc string) {
	srv := startServer(t, server.Config{MaxParticipants: 2})
	defer srv.Close()
	rows := mdTable(t, doc, "the join", "error", "close")
	east := func(name string, roles ...role.Role) *trust.Device {
		return srv.Device(t, demo.East, name, roles...)
	}
	try := func(dev *trust.Device, call string, tracks []protocol.TrackInfo, mod func(string) string, nonceMod func([]byte)) outcome {
		c, ctx, nonce := rawSession(t, srv)
		if nonceMod != nil {
			nonceMod(nonce)
		}
		msg := joinJSON(t, dev, nonce, call, tracks)
		if mod != nil {
			msg = mod(msg)
		}
		write(t, ctx, c, msg)
		return afterError(t, ctx, c)
	}
	scenarios := map[string]func() outcome{
		"version other than 2": func() outcome {
			return try(east("Old"), "join1", nil, func(m string) string { return strings.Replace(m, `"version":3`, `"version":1`, 1) }, nil)
		},
		"proof that does not verify": func() outcome {
			return try(east("Forger"), "join1", nil, nil, func(n []byte) { n[1] ^= 1 })
		},
		"booked call that is not accepted or live": func() outcome {
			by := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
			c, _, err := booking.New(srv.Store()).Request(context.Background(), by, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			return try(east("Early"), c.ID, nil, nil, nil)
		},
		"resume a session": func() outcome {
			return try(east("Taker"), "join2", nil, func(m string) string {
				return strings.Replace(m, `"type":"join"`, `"type":"join","resume":"0123456789abcdef"`, 1)
			}, nil)
		},
		"call full": func() outcome {
			joined(t, srv, east("First"), "join3", nil)
			joined(t, srv, east("Second"), "join3", nil)
			return try(east("Third"), "join3", nil, nil, nil)
		},
		"live call that was ended": func() outcome {
			joined(t, srv, east("Ender"), "join6", nil)
			srv.Registry().End(callKey("join6"), "Doc (east)", "over")
			return try(east("Latecomer"), "join6", nil, nil, nil)
		},
		"may not publish": func() outcome {
			return try(east("Wall", role.Monitor), "join4", []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}}, nil, nil)
		},
		"second join": func() outcome {
			dev := east("Eager")
			c, ctx, _ := joined(t, srv, dev, "join5", nil)
			write(t, ctx, c, joinJSON(t, dev, make([]byte, trust.NonceSize), "join5", nil))
			return afterError(t, ctx, c)
		},
	}
	for _, r := range rows {
		var key string
		for k := range scenarios {
			if strings.Contains(strings.ReplaceAll(r[0], "`", ""), k) {
				key = k
			}
		}
		if key == "" {
			t.Logf("no scenario for the join refusal %q", r[0])
			continue
		}
		run := scenarios[key]
		delete(scenarios, key)
		checkOutcome(t, "a join that "+r[0], run(), strings.Trim(r[1], "`"), r[2])
	}
	for k := range scenarios {
		t.Errorf("the join refusal %q is not in PROTOCOL.md's table", k)
	}
}

// checkCloseStatuses: every close status the server is seen to use is in
// the table, and each documented one has a case that gets it.
func checkCloseStatuses(t *testing.T, doc string) {
	srv := startServer(t, server.Config{AnswerTimeout: 300 * time.Millisecond})
	defer srv.Close()
	rows := mdTable(t, doc, "status", "when")
	closed := func(c *websocket.Conn, ctx context.Context) websocket.StatusCode {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return closedWith(t, err)
			}
		}
	}
	scenarios := map[websocket.StatusCode]func() websocket.StatusCode{
		websocket.StatusNormalClosure: func() websocket.StatusCode {
			c, ctx, _ := joined(t, srv, demoDevice(t, srv, "Leaver"), "close1", nil)
			write(t, ctx, c, `{"type":"leave"}`)
			return closed(c, ctx)
		},
		websocket.StatusGoingAway: func() websocket.StatusCode {
			other := startServer(t, server.Config{})
			c, ctx, _ := joined(t, other, demoDevice(t, other, "Stayer"), "close2", nil)
			if err := other.Close(); err != nil {
				t.Error(err)
			}
			return closed(c, ctx)
		},
		websocket.StatusUnsupportedData: func() websocket.StatusCode {
			c, ctx := rawConn(t, srv)
			_ = c.Write(ctx, websocket.MessageBinary, []byte{1})
			return closed(c, ctx)
		},
		websocket.StatusPolicyViolation: func() websocket.StatusCode {
			c, ctx, nonce := rawSession(t, srv)
			write(t, ctx, c, strings.Replace(joinJSON(t, demoDevice(t, srv, "Old"), nonce, "close3", nil), `"version":3`, `"version":1`, 1))
			return closed(c, ctx)
		},
		websocket.StatusMessageTooBig: func() websocket.StatusCode {
			c, ctx := rawConn(t, srv)
			_ = c.Write(ctx, websocket.MessageText, []byte(strings.Repeat(" ", protocol.MaxMessageBytes+1)))
			return closed(c, ctx)
		},
		websocket.StatusCode(protocol.CloseEnded): func() websocket.StatusCode {
			c, ctx, _ := joined(t, srv, demoDevice(t, srv, "Ended"), "close5", nil)
			srv.Registry().End(callKey("close5"), "Doc (east)", "the document says so")
			return closed(c, ctx)
		},
		websocket.StatusInternalError: func() websocket.StatusCode {
			// An offer nobody answers.
			c, ctx, _ := joined(t, srv, demoDevice(t, srv, "Silent"), "close4", []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}})
			return closed(c, ctx)
		},
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[0])
		run := scenarios[websocket.StatusCode(n)]
		if run == nil {
			t.Logf("no scenario closes with %s (%s)", r[0], r[1])
			continue
		}
		delete(scenarios, websocket.StatusCode(n))
		if got := run(); got != websocket.StatusCode(n) {
			t.Errorf("the case for %d (%s) closed with %d", n, r[1], got)
		}
	}
	for s := range scenarios {
		t.Errorf("the server closes with %d, which PROTOCOL.md's table does not list", s)
	}
}

// checkMatrix: the permission matrix in "Lobby and roles" is internal/role's,
// every action welcome.may can name, for every role.
func checkMatrix(t *testing.T, doc string) {
	header := []string{"action"}
	for _, r := range role.All {
		header = append(header, string(r))
	}
	rows := mdTable(t, doc, header...)
	seen := map[role.Action]bool{}
	for _, r := range rows {
		a, err := role.ParseAction(strings.Trim(r[0], "`"))
		if err != nil {
			t.Errorf("PROTOCOL.md's matrix: %v", err)
			continue
		}
		seen[a] = true
		for i, rl := range role.All {
			doc := r[i+1] == "yes"
			if doc != role.Allowed(rl, a) {
				t.Errorf("PROTOCOL.md says %s may %s: %v; internal/role: %v", rl, a, doc, role.Allowed(rl, a))
			}
		}
	}
	for _, a := range role.Actions {
		if !seen[a] {
			t.Errorf("the action %s (welcome.may can name it) is not in PROTOCOL.md's matrix", a)
		}
	}
}
