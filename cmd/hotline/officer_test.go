package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestOfficerPage (THREAT_MODEL.md, "Local client mode"): `hotline
// officer` reads the authority file itself and serves the side's queue on
// a loopback page without any script; a form from that page approves (the
// binary signs) or rejects; a POST from another origin, or without the
// page's token, changes nothing.
func TestOfficerPage(t *testing.T) {
	tier.Integration(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir}, nil)
	anon := anonClient(t, srv)
	submit := func(name string) string { return submitRequest(t, anon, name) }
	yes, no := submit("East Yes"), submit("East No")

	base, done := startPrinting(t, ctx, "officer", "--server", srv.URL(), "--line", demo.Line,
		"--key", filepath.Join(dir, "demo", "authority-east.json"), "--listen", "127.0.0.1:0")
	hc := &http.Client{Timeout: time.Minute}
	get := func() string {
		res, err := hc.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "script") {
			t.Errorf("page policy %q", csp)
		}
		return string(b)
	}
	page := get()
	if !strings.Contains(page, "East Yes") || !strings.Contains(page, `data-id="`+no+`"`) || strings.Contains(page, "<script") {
		t.Fatalf("the page does not list the requests (or has a script):\n%s", page)
	}
	token := between(page, `name="token" value="`, `"`)
	post := func(path, origin string, form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// Forged: another origin with the token, the page's origin without it,
	// no origin at all. Nothing changes.
	for _, c := range []struct {
		origin string
		form   url.Values
	}{
		{"https://elsewhere.example", url.Values{"token": {token}, "id": {yes}, "days": {"7"}}},
		{base, url.Values{"token": {"x" + token}, "id": {yes}, "days": {"7"}}},
		{"", url.Values{"token": {token}, "id": {yes}, "days": {"7"}}},
	} {
		if st := post("/approve", c.origin, c.form); st != http.StatusForbidden {
			t.Errorf("forged approval from %q: %d, want 403", c.origin, st)
		}
	}
	if st := post("/approve", base, url.Values{"token": {token}, "id": {yes}, "days": {"9999"}}); st != http.StatusBadRequest {
		t.Errorf("approval for 9999 days: %d, want 400", st)
	}
	state := func(id string) string {
		var st api.RequestStatus
		if _, err := anon.Do(ctx, "GET", "/api/requests/"+id, nil, &st); err != nil {
			t.Fatal(err)
		}
		return st.State
	}
	if s := state(yes); s != api.StatePending {
		t.Fatalf("after forged approvals the request is %s", s)
	}
	if st := post("/approve", base, url.Values{"token": {token}, "id": {yes}, "days": {"7"}}); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	if st := post("/reject", base, url.Values{"token": {token}, "id": {no}}); st != http.StatusOK {
		t.Fatalf("reject: %d", st)
	}
	if a, r := state(yes), state(no); a != api.StateApproved || r != api.StateRejected {
		t.Fatalf("requests %s and %s, want approved and rejected", a, r)
	}
	if !strings.Contains(get(), "No request is waiting") {
		t.Error("the queue is not empty at the end")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("officer after interrupt: %v", err)
	}
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
