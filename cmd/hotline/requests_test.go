package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// TestAuthorityQueue: the officer lists the side's requests, approves one
// and rejects another from the command line, signed in with the authority
// file; each requester reads the outcome; the other side's officer sees
// none of them.
func TestAuthorityQueue(t *testing.T) {
	tier.Integration(t)
	ctx := context.Background()
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir}, nil)
	anon := anonClient(t, srv)
	submit := func(name string) string { return submitRequest(t, anon, name) }
	yes, no := submit("East Yes"), submit("East No")
	east := filepath.Join(dir, "demo", "authority-east.json")
	west := filepath.Join(dir, "demo", "authority-west.json")
	q := []string{"--server", srv.URL(), "--line", demo.Line}

	out, _, err := runCmd(append([]string{"authority", "requests", "--key", east}, q...)...)
	if err != nil || !strings.Contains(out, yes) || !strings.Contains(out, `"East No"`) {
		t.Fatalf("east's queue: %v\n%s", err, out)
	}
	if out, _, err := runCmd(append([]string{"authority", "requests", "--key", west}, q...)...); err != nil || strings.Contains(out, yes) {
		t.Fatalf("west's queue: %v\n%s", err, out)
	}
	if _, _, err := runCmd(append([]string{"authority", "approve", "--key", east, "--id", yes, "--valid", "24h"}, q...)...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(append([]string{"authority", "reject", "--key", west, "--id", no}, q...)...); err == nil {
		t.Error("west's officer rejected east's request")
	}
	if _, _, err := runCmd(append([]string{"authority", "reject", "--key", east, "--id", no}, q...)...); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{yes: api.StateApproved, no: api.StateRejected} {
		var st api.RequestStatus
		if _, err := anon.Do(ctx, "GET", "/api/requests/"+id, nil, &st); err != nil || st.State != want {
			t.Errorf("request %s: %+v %v, want %s", id, st, err, want)
		}
	}
	if out, _, err := runCmd(append([]string{"authority", "requests", "--key", east}, q...)...); err != nil || !strings.Contains(out, "no request is waiting") {
		t.Errorf("east's queue at the end: %v\n%s", err, out)
	}
	if _, _, err := runCmd("authority", "reject", "--key", east, "--id", no); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("reject without --server: %v", err)
	}
}

// anonClient is an API client without a session, for srv.
func anonClient(t *testing.T, srv *servertest.Server) *apiclient.Client {
	t.Helper()
	c, err := apiclient.New(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// submitRequest asks the demo line's east officer to enrol a fresh device
// as an adviser named name, and returns the request's id.
func submitRequest(t *testing.T, anon *apiclient.Client, name string) string {
	t.Helper()
	dev, _ := trust.NewDevice()
	req, err := dev.Request(demo.East, name, []role.Role{role.Adviser}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var sub api.Submitted
	if _, err := anon.Do(context.Background(), "POST", "/api/requests", api.SubmitBody{Line: demo.Line, Request: req}, &sub); err != nil {
		t.Fatal(err)
	}
	return sub.ID
}
