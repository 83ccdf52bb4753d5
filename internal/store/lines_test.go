package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLines(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	keyE, keyW := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if err := s.AddSide(ctx, Side{Name: "east", AuthorityKey: keyE}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSide(ctx, Side{Name: "east", AuthorityKey: keyE}); err != nil {
		t.Fatalf("same side again: %v", err)
	}
	if err := s.AddSide(ctx, Side{Name: "east", AuthorityKey: keyW}); !errors.Is(err, ErrExists) {
		t.Fatalf("side with another key: %v", err)
	}
	if err := s.AddSide(ctx, Side{Name: "west", AuthorityKey: keyE}); !errors.Is(err, ErrExists) {
		t.Fatalf("another side with the same key: %v", err)
	}
	if err := s.AddSide(ctx, Side{Name: "west", AuthorityKey: keyW, TimeZone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLine(ctx, "demo", "east", "east"); err == nil {
		t.Fatal("line with one side twice accepted")
	}
	if err := s.AddLine(ctx, "demo", "east", "nowhere"); err == nil {
		t.Fatal("line to an unknown side accepted")
	}
	if err := s.AddLine(ctx, "demo", "east", "west"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLine(ctx, "demo", "west", "east"); !errors.Is(err, ErrExists) {
		t.Fatalf("same line name, other sides: %v", err)
	}
	l, err := s.Line(ctx, "demo")
	if err != nil || l.A.Name != "east" || !bytes.Equal(l.B.AuthorityKey, keyW) || l.B.TimeZone != "America/New_York" || l.A.TimeZone != "UTC" {
		t.Fatalf("Line = %+v, %v", l, err)
	}
	if _, err := s.Line(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown line: %v", err)
	}
	ls, err := s.Lines(ctx)
	if err != nil || len(ls) != 1 {
		t.Fatalf("Lines = %v, %v", ls, err)
	}
}

func TestEnrolTokens(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	s.AddSide(ctx, Side{Name: "east", AuthorityKey: bytes.Repeat([]byte{1}, 32)})
	s.AddSide(ctx, Side{Name: "west", AuthorityKey: bytes.Repeat([]byte{2}, 32)})
	if err := s.AddLine(ctx, "demo", "east", "west"); err != nil {
		t.Fatal(err)
	}
	grant := EnrolToken{Line: "demo", Side: "east", Name: "Alice", Call: "demo", Roles: []string{"principal", "adviser"}, Expires: now.Add(time.Hour)}
	if err := s.AddEnrolToken(ctx, "tok", grant); err != nil {
		t.Fatal(err)
	}
	// A failing use leaves the token unused.
	boom := errors.New("boom")
	if err := s.UseEnrolToken(ctx, "tok", func(EnrolToken) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing use: %v", err)
	}
	var got EnrolToken
	if err := s.UseEnrolToken(ctx, "tok", func(g EnrolToken) error { got = g; return nil }); err != nil {
		t.Fatal(err)
	}
	if got.Name != "Alice" || len(got.Roles) != 2 || got.Roles[1] != "adviser" || got.Call != "demo" {
		t.Fatalf("grant %+v", got)
	}
	if err := s.UseEnrolToken(ctx, "tok", func(EnrolToken) error { return nil }); !errors.Is(err, ErrUsed) {
		t.Fatalf("second use: %v", err)
	}
	if err := s.UseEnrolToken(ctx, "nope", func(EnrolToken) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	grant.Expires = now
	s.AddEnrolToken(ctx, "old", grant)
	if err := s.UseEnrolToken(ctx, "old", func(EnrolToken) error { return nil }); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestEnrolmentRequests(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.AddSide(ctx, Side{Name: "east", AuthorityKey: bytes.Repeat([]byte{1}, 32)})
	s.AddSide(ctx, Side{Name: "west", AuthorityKey: bytes.Repeat([]byte{2}, 32)})
	s.AddLine(ctx, "demo", "east", "west")
	for i := range MaxPendingRequests {
		if err := s.AddEnrolmentRequest(ctx, EnrolmentRequest{ID: fmt.Sprint("r", i), Line: "demo", Side: "east", Request: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEnrolmentRequest(ctx, EnrolmentRequest{ID: "over", Line: "demo", Side: "east", Request: "{}"}); !errors.Is(err, ErrTooMany) {
		t.Fatalf("over the bound: %v", err)
	}
	if err := s.AddEnrolmentRequest(ctx, EnrolmentRequest{ID: "r0", Line: "demo", Side: "west", Request: "{}"}); err == nil {
		t.Fatal("duplicate id accepted")
	}
	if err := s.AddEnrolmentRequest(ctx, EnrolmentRequest{ID: "x", Line: "nope", Side: "west", Request: "{}"}); err == nil {
		t.Fatal("request for an unknown line accepted")
	}
	if err := s.ApproveRequest(ctx, "r1", `{"body":"b","sig":"s"}`); err != nil {
		t.Fatal(err)
	}
	if err := s.ApproveRequest(ctx, "r1", `{}`); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second approval: %v", err)
	}
	p, err := s.PendingRequests(ctx, "demo", "east")
	if err != nil || len(p) != MaxPendingRequests-1 {
		t.Fatalf("pending: %d, %v", len(p), err)
	}
	r, err := s.EnrolmentRequest(ctx, "r1")
	if err != nil || r.Credential != `{"body":"b","sig":"s"}` || r.Approved.IsZero() {
		t.Fatalf("approved request %+v, %v", r, err)
	}

	// A rejected request leaves the pending list (and the bound), stays
	// readable as rejected, and can be neither approved nor rejected again.
	if err := s.RejectRequest(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.RejectRequest(ctx, "r2"), s.ApproveRequest(ctx, "r2", `{}`), s.RejectRequest(ctx, "r1")} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("on a request no longer pending: %v, want ErrNotFound", err)
		}
	}
	if r, _ := s.EnrolmentRequest(ctx, "r2"); r.Rejected.IsZero() || r.Pending() {
		t.Errorf("rejected request %+v", r)
	}
	if p, _ := s.PendingRequests(ctx, "demo", "east"); len(p) != MaxPendingRequests-2 {
		t.Errorf("%d pending after a rejection", len(p))
	}

	// Expiry deletes what no officer approved before the cutoff, rejected
	// requests included, and keeps approved ones.
	n, err := s.DeleteExpiredRequests(ctx, time.Now().Add(time.Hour))
	if err != nil || n != MaxPendingRequests-1 {
		t.Fatalf("expired %d (%v), want %d", n, err, MaxPendingRequests-1)
	}
	if _, err := s.EnrolmentRequest(ctx, "r1"); err != nil {
		t.Errorf("approved request expired: %v", err)
	}
	if _, err := s.EnrolmentRequest(ctx, "r2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rejected request kept past expiry: %v", err)
	}
}
