package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/trust"
)

// officer signs side's officer in with authority a (which may not be the
// side's) and returns the answer.
func (l *testLine) officer(side string, a *trust.Authority) reply {
	l.t.Helper()
	n := l.nonce()
	return l.do("POST", "/api/session/officer", "", map[string]any{
		"line": demo.Line, "side": side, "nonce": trust.B64(n), "proof": trust.B64(a.OfficerProof(n, demo.Line))})
}

// submit posts a fresh device's request for an officer of side from the
// loopback address src.
func (l *testLine) submit(src, side, name string) reply {
	l.t.Helper()
	dev, err := trust.NewDevice()
	if err != nil {
		l.t.Fatal(err)
	}
	req, err := dev.Request(side, name, []role.Role{role.Adviser}, time.Now())
	if err != nil {
		l.t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]any{"line": demo.Line, "request": req})
	cl := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext}}
	res, err := cl.Post(l.srv.URL()+"/api/requests", "application/json", bytes.NewReader(data))
	if err != nil {
		l.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: body}
}

// TestEnrolmentRequestsGuarded: the pending list is the side's officer's
// alone (signed in with the side's authority key; not a stranger, not a
// device, not the other side's officer); the officer rejects a request,
// which its device then reads; anonymous requests are rate-limited per
// address, and the limit is counted in the metrics.
func TestEnrolmentRequestsGuarded(t *testing.T) {
	l := startLineWith(t, server.Config{MetricsListen: "127.0.0.1:0", Limits: server.Limits{EnrolBurst: 3, EnrolEvery: time.Hour}})
	east, west := l.srv.Demo.Authority(demo.East), l.srv.Demo.Authority(demo.West)

	var ids []string
	for i := range 3 {
		var sub api.Submitted
		l.submit("127.0.0.1", demo.East, "East Adviser "+string(rune('A'+i))).decode(t, http.StatusCreated, &sub)
		ids = append(ids, sub.ID)
	}
	over := l.submit("127.0.0.1", demo.East, "One Too Many")
	over.refused(t, "fourth request from one address", http.StatusTooManyRequests, "too many enrolment requests")
	if ra := over.header.Get("Retry-After"); ra != "3600" {
		t.Errorf("Retry-After %q, want 3600 (one request an hour in this test)", ra)
	}
	if r := l.submit("127.0.0.2", demo.East, "Another Address"); r.status != http.StatusCreated {
		t.Fatalf("a request from another address: %d %s", r.status, r.body)
	}
	res, err := http.Get(l.srv.MetricsURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(m, []byte(`hotline_rate_limited_total{route="enrol_request"} 1`)) {
		t.Errorf("the refusal is not counted in /metrics")
	}

	// Nobody but the east officer lists east's requests.
	l.do("GET", "/api/requests?line=demo&side=east", "", nil).refused(t, "anonymous list", http.StatusUnauthorized, "authentication required")
	op := l.login(demo.East, "East Operator", role.Operator)
	l.do("GET", "/api/requests?line=demo&side=east", op, nil).refused(t, "a device's session lists", http.StatusForbidden, "officer")
	l.officer(demo.East, west).refused(t, "west's authority signs in as east's officer", http.StatusUnauthorized, "not the authority")
	var westOff, eastOff api.OfficerSession
	l.officer(demo.West, west).decode(t, http.StatusOK, &westOff)
	l.officer(demo.East, east).decode(t, http.StatusOK, &eastOff)
	l.do("GET", "/api/requests?line=demo&side=east", westOff.Token, nil).refused(t, "west's officer lists east", http.StatusForbidden, "its own side")
	l.do("GET", "/api/calls", eastOff.Token, nil).refused(t, "an officer session on the calls API", http.StatusForbidden, "device")
	var list api.PendingList
	l.do("GET", "/api/requests?line=demo&side=east", eastOff.Token, nil).decode(t, http.StatusOK, &list)
	if len(list.Requests) != 4 || list.Requests[0].Expires <= list.Requests[0].Created {
		t.Fatalf("east's officer sees %+v, want 4 requests with an expiry", list.Requests)
	}

	// Rejection: only by the side's officer; the device reads it; it can
	// be neither approved nor rejected again.
	l.do("POST", "/api/requests/"+ids[0]+"/reject", westOff.Token, nil).refused(t, "west rejects east's request", http.StatusNotFound, "request")
	l.do("POST", "/api/requests/"+ids[0]+"/reject", op, nil).refused(t, "a device rejects", http.StatusForbidden, "officer")
	l.do("POST", "/api/requests/"+ids[0]+"/reject", "", nil).refused(t, "a stranger rejects", http.StatusUnauthorized, "authentication")
	var st api.RequestStatus
	l.do("POST", "/api/requests/"+ids[0]+"/reject", eastOff.Token, nil).decode(t, http.StatusOK, &st)
	l.do("GET", "/api/requests/"+ids[0], "", nil).decode(t, http.StatusOK, &st)
	if st.State != api.StateRejected || st.Credential != nil {
		t.Fatalf("the device reads %+v, want rejected", st)
	}
	l.do("POST", "/api/requests/"+ids[0]+"/reject", eastOff.Token, nil).refused(t, "second rejection", http.StatusConflict, "not pending")
	l.do("POST", "/api/requests/"+ids[0]+"/credential", "", map[string]any{"credential": map[string]string{"body": "e30", "sig": "AA"}}).
		refused(t, "approval of a rejected request", http.StatusConflict, "not pending")
	l.do("GET", "/api/requests?line=demo&side=east", eastOff.Token, nil).decode(t, http.StatusOK, &list)
	if len(list.Requests) != 3 {
		t.Fatalf("%d listed after a rejection, want 3", len(list.Requests))
	}
	for _, p := range list.Requests {
		if p.ID == ids[0] {
			t.Fatal("the rejected request is still listed")
		}
	}
	if !strings.Contains(string(l.do("GET", "/api/requests/"+ids[1], "", nil).body), `"pending"`) {
		t.Error("another request is no longer pending")
	}
}
