package enrol

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// TestPendingExpiry: a request no officer answered within the time leaves
// the officer's list and the bound on pending requests, its device reads
// 410, and it can no longer be approved or rejected; an approved request
// stays.
func TestPendingExpiry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := demo.Provision(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, nil, time.Hour)
	now := time.Now()
	s.now = func() time.Time { return now }
	east := d.Authority(demo.East)

	submit := func(name string) (string, trust.Request) {
		dev, _ := trust.NewDevice()
		req, err := dev.Request(demo.East, name, []role.Role{role.Adviser}, now)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := s.Submit(ctx, demo.Line, req)
		if err != nil {
			t.Fatal(err)
		}
		return sub.ID, req
	}
	old, oldReq := submit("Old")
	approved, approvedReq := submit("Approved")
	cred, _ := east.Sign(approvedReq, now, now.Add(24*time.Hour))
	if err := s.Approve(ctx, approved, cred); err != nil {
		t.Fatal(err)
	}
	// A full queue refuses more...
	for range store.MaxPendingRequests - 1 {
		submit("Filler")
	}
	dev, _ := trust.NewDevice()
	over, _ := dev.Request(demo.East, "Over", []role.Role{role.Adviser}, now)
	if _, err := s.Submit(ctx, demo.Line, over); !errors.Is(err, ErrTooMany) {
		t.Fatalf("over the bound: %v", err)
	}
	// ... until its requests expire (the store dates them by the wall
	// clock; the service's is moved past the hour).
	now = time.Now().Add(time.Hour + time.Second)
	ps, err := s.PendingFor(ctx, demo.Line, demo.East)
	if err != nil || len(ps) != 0 {
		t.Fatalf("pending after the hour: %d %v, want none", len(ps), err)
	}
	if _, err := s.Submit(ctx, demo.Line, over); err != nil {
		t.Fatalf("a request once the others expired: %v", err)
	}
	if _, err := s.StatusOf(ctx, old); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrGone) {
		t.Errorf("status of an expired request: %v", err)
	}
	oldCred, _ := east.Sign(oldReq, now, now.Add(time.Hour))
	if err := s.Approve(ctx, old, oldCred); err == nil {
		t.Error("an expired request was approved")
	}
	if err := s.Reject(ctx, old, demo.Line, demo.East); err == nil {
		t.Error("an expired request was rejected")
	}
	if st, err := s.StatusOf(ctx, approved); err != nil || st.State != api.StateApproved {
		t.Errorf("approved request after the hour: %+v %v", st, err)
	}
}
