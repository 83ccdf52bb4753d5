package apiclient_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// TestClientWorkflow: a real server with the demo line; the client signs
// in with device files' credentials and books a call from request to end,
// and refusals come back as *api.Error with the server's status.
func TestClientWorkflow(t *testing.T) {
	ctx := context.Background()
	srv := servertest.Start(t, server.Config{}, nil)
	signIn := func(side, name string, r role.Role) *apiclient.Client {
		t.Helper()
		dev := srv.Device(t, side, name, r)
		cl, err := apiclient.New(srv.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.SignIn(ctx, dev, demo.Line); err != nil {
			t.Fatal(err)
		}
		if s := cl.Session; s.Side != side || s.Name != name || len(s.Roles) != 1 || s.Roles[0] != string(r) || s.Device != dev.ID() {
			t.Fatalf("session %+v", s)
		}
		return cl
	}
	east, west := signIn(demo.East, "East Operator", role.Operator), signIn(demo.West, "West Principal", role.Principal)

	c, err := east.Request(ctx, api.RequestBody{Line: demo.Line, Kind: "video", When: "in 1h", DurationMinutes: 30, PublicOpeningMinutes: 10,
		Participants: []api.Participant{{Name: "East Principal", Roles: []string{"principal"}}}})
	if err != nil || c.State != "requested" || c.Version != 1 || len(c.Participants["east"]) != 1 {
		t.Fatalf("request: %+v, %v", c, err)
	}
	// The booked public opening is stored and shown to the other side.
	if got, err := west.Call(ctx, c.ID); err != nil || got.PublicOpeningMinutes != 10 {
		t.Fatalf("the public opening as west reads it: %+v, %v", got.PublicOpeningMinutes, err)
	}
	// An opening longer than the call is refused before it is sent.
	if _, err := east.Request(ctx, api.RequestBody{Line: demo.Line, Kind: "video", When: "in 1h", DurationMinutes: 30, PublicOpeningMinutes: 31}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("an opening longer than the call: %v", err)
	}
	// A stale version is the server's 409.
	if _, err := west.Transition(ctx, c.ID, "accept", api.TransitionBody{Version: 7}); apiclient.Status(err) != http.StatusConflict {
		t.Fatalf("stale accept: %v", err)
	}
	for i, ev := range []string{"accept", "start", "end"} {
		if c, err = west.Transition(ctx, c.ID, ev, api.TransitionBody{Version: int64(i + 1)}); err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
	}
	if c.State != "ended" || c.ActualSeconds == nil {
		t.Fatalf("ended: %+v", c)
	}
	h, err := east.History(ctx, "")
	if err != nil || len(h.Calls) != 1 || h.Calls[0].ID != c.ID || h.Calls[0].State != "ended" {
		t.Fatalf("history: %+v, %v", h, err)
	}

	// A body the parser refuses is never sent: nothing stored.
	_, err = east.Request(ctx, api.RequestBody{Line: demo.Line, Kind: "telegram", When: "now", DurationMinutes: 30})
	if !errors.Is(err, apiclient.ErrRefused) || !errors.Is(err, api.ErrInvalid) || apiclient.Status(err) != 0 {
		t.Fatalf("bad kind: %v", err)
	}
	if l, err := east.Calls(ctx, ""); err != nil || len(l.Calls) != 0 {
		t.Fatalf("calls after a refusal: %+v, %v", l, err)
	}
	// Another line's list is 403; after sign-out the token is 401.
	if _, err := east.Calls(ctx, "other"); apiclient.Status(err) != http.StatusForbidden {
		t.Fatalf("other line: %v", err)
	}
	if err := east.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	token := west.Token()
	if err := west.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := west.WithToken(token).Call(ctx, c.ID); apiclient.Status(err) != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %v", err)
	}
}
